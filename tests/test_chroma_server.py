"""Scale-out: the same CLI against a Chroma server (`chroma run` on 127.0.0.1) via ARTICLEBOT_CHROMA_URL."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SAMPLE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the Chroma server did not start")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    port = free_port()
    process = start_chroma(tmp_path / "chroma-server", port)
    yield f"http://127.0.0.1:{port}", tmp_path / "chroma-server", port
    process.terminate()
    process.wait(timeout=30)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)


def test_ingest_and_ask_through_a_chroma_server(chroma_server: tuple[str, Path, int],
                                                cli_env: dict[str, str]) -> None:
    url, _, _ = chroma_server
    env = {**cli_env, "ARTICLEBOT_CHROMA_URL": url, "ARTICLEBOT_LLM_BACKEND": "extractive"}
    assert run(env, "ingest", str(SAMPLE)).returncode == 0
    answer = json.loads(run(env, "ask", "Who is the UN special envoy to Libya?", "--json").stdout)
    assert "Martin Kobler" in answer["answer"] and answer["sources"]
    assert not (Path(cli_env["ARTICLEBOT_HOME"]) / "chroma").exists()  # nothing went to the embedded store
    # a second process (another bot shard, say) sees the same articles
    listing = run(env, "sources", "list", "--json")
    assert [s["title"] for s in json.loads(listing.stdout)] == ["libye 2016"]


def test_an_unreachable_chroma_server_is_a_clear_error(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "ARTICLEBOT_CHROMA_URL": f"http://127.0.0.1:{free_port()}"}
    result = run(env, "sources", "list")
    assert result.returncode == 1
    assert "vector store" in result.stderr and len(result.stderr.strip().splitlines()) == 1
