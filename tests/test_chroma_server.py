"""Scale-out: the same CLI against a Chroma server (`chroma run` on 127.0.0.1) via ARTICLEBOT_CHROMA_URL."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class TokenGate:
    """A reverse proxy on 127.0.0.1 in front of the Chroma server, as one deploys it on a network:
    requests without ``Authorization: Bearer <token>`` get 401, the rest are passed on under ``/chroma``."""

    def __init__(self, upstream: str, token: str) -> None:
        gate = self
        self.seen_paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                gate.seen_paths.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {token}" or not self.path.startswith("/chroma/"):
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    body = b'{"error": "Unauthorized", "message": "missing or wrong token"}'
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                answer = httpx.request(self.command, upstream + self.path.removeprefix("/chroma"),
                                       content=self.rfile.read(length) if length else None,
                                       headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
                                       timeout=60)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = _forward  # noqa: N815 - the http.server API

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/chroma"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_chroma_server_behind_a_token_and_a_path(chroma_server: tuple[str, Path, int],
                                                   cli_env: dict[str, str]) -> None:
    gate = TokenGate(chroma_server[0], "s3cret-token")
    try:
        env = {**cli_env, "ARTICLEBOT_CHROMA_URL": gate.url, "ARTICLEBOT_LLM_BACKEND": "extractive"}
        refused = run(env, "ingest", str(SAMPLE))
        assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "ARTICLEBOT_CHROMA_TOKEN" in refused.stderr
        env["ARTICLEBOT_CHROMA_TOKEN"] = "s3cret-token"
        assert run(env, "ingest", str(SAMPLE)).returncode == 0
        answer = json.loads(run(env, "ask", "Who is the UN special envoy to Libya?", "--json").stdout)
        assert "Martin Kobler" in answer["answer"]
        assert all(path.startswith("/chroma/api/v2/") for path in gate.seen_paths)  # the path was kept
        logged = subprocess.run([sys.executable, "-m", "bot.cli", "-v", "sources", "list"], env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=600)
        assert logged.returncode == 0 and "s3cret-token" not in logged.stdout + logged.stderr  # even in debug logs
        leaked = run({**env, "ARTICLEBOT_CHROMA_URL": gate.url.replace("//", "//admin:hunter2@")}, "sources", "list")
        assert leaked.returncode == 2 and "hunter2" not in leaked.stderr and "ARTICLEBOT_CHROMA_TOKEN" in leaked.stderr
    finally:
        gate.close()
