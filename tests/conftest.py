"""Shared fixtures: a private ARTICLEBOT_HOME per test, the real embedding model and Chroma store.

Only the LLM is ever faked (tests/fakes.py in process, tests/llm_server.py over HTTP), and only
where a test needs a deterministic answer: such tests and the fakes themselves say "fake" in their
names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ["ANONYMIZED_TELEMETRY"] = "False"
for _name in list(os.environ):
    if _name.startswith("ARTICLEBOT_"):
        del os.environ[_name]

import pytest  # noqa: E402
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402

from retrieval.engine import Engine  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from tests.fakes import FakeScriptedLLM  # noqa: E402,F401  (re-exported for the tests)
from tests.llm_server import FakeOpenAIServer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "libye-2016.txt"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAIServer]:
    """An OpenAI-compatible server on 127.0.0.1 with fixed replies, shut down after the test."""
    server = FakeOpenAIServer()
    yield server
    server.close()


@pytest.fixture
def make_engine(settings: Settings) -> Iterator[Callable[..., Engine]]:
    """Engines closed after the test: each embedded store holds a dozen file descriptors, and a
    session of a few hundred tests went past 1,024, which pexpect's select() cannot watch."""
    built: list[Engine] = []

    def build(llm: BaseChatModel | None = None, **overrides: Any) -> Engine:
        built.append(Engine(settings.model_copy(update=overrides), llm=llm))
        return built[-1]

    yield build
    for engine in built:
        engine.close()


@pytest.fixture
def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLEBOT_")}
    env["ARTICLEBOT_HOME"] = str(home)
    return env


@pytest.fixture(scope="session")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged LLM joined (and checksum-verified) once for the whole session."""
    from retrieval.llm.model_files import packaged_model_path

    return packaged_model_path(tmp_path_factory.mktemp("models"))
