"""Shared fixtures: a private ARTICLEBOT_HOME per test, the real embedding model and Chroma store.

Only the LLM is ever faked, and only where a test needs a deterministic answer: such tests and
the fake itself say "fake" in their names.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402

from retrieval.engine import Engine  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "libye-2016.txt"


class FakeScriptedLLM(BaseChatModel):
    """A fake LLM for deterministic tests: Yes/No checks get ``verdict``, questions get ``reply``.

    ``reply`` may be a function of the last user message (the rendered prompt).
    """

    reply: Any = "Fayez al-Serraj [1]"
    verdict: Any = "Yes"
    calls: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "fake-scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        system = str(messages[0].content)
        user = str(messages[-1].content)
        self.calls.append(user)
        if "Reply with Yes or No only" in system:
            text = self.verdict(user) if callable(self.verdict) else self.verdict
        elif system.startswith("Translate"):
            text = user  # a fake translation: the question as it is
        else:
            text = self.reply(user) if callable(self.reply) else self.reply
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def make_engine(settings: Settings) -> Callable[..., Engine]:
    def build(llm: BaseChatModel | None = None, **overrides: Any) -> Engine:
        return Engine(settings.model_copy(update=overrides), llm=llm)

    return build


@pytest.fixture
def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLEBOT_")}
    env["ARTICLEBOT_HOME"] = str(home)
    return env
