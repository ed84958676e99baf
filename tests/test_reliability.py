"""Reliability: crash safety, concurrent writers, faulty LLM and store backends — each promise a test."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.errors import LLMError, StoreError
from retrieval.settings import Settings
from tests.conftest import REPO, SAMPLE
from tests.llm_server import FakeOpenAIServer
from tests.test_chroma_server import free_port, start_chroma

NTREX = REPO.parent / "shared" / "eval" / "ntrex-news" / "docs.fr.jsonl"


def write_articles(folder: Path, count: int) -> int:
    """One .txt file an article, from the NTREX French news (or the sample, repeated, without them)."""
    folder.mkdir(parents=True, exist_ok=True)
    if NTREX.exists():
        rows = [json.loads(line) for line in NTREX.read_text(encoding="utf-8").splitlines()][:count]
    else:
        text = SAMPLE.read_text(encoding="utf-8")
        rows = [{"title": f"Article {i}", "text": f"Article numéro {i}. " + text} for i in range(count)]
    for i, row in enumerate(rows):
        (folder / f"a{i:03d}.txt").write_text(row["title"] + "\n" + row["text"], encoding="utf-8")
    return len(rows)


def cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def sources(env: dict[str, str]) -> list[dict[str, object]]:
    return json.loads(cli(env, "sources", "list", "--json").stdout)


def stored_chunks(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'chroma' / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM embeddings").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_kill_9_mid_ingest_then_ingest_again_leaves_every_article_exactly_once(cli_env: dict[str, str],
                                                                               tmp_path: Path) -> None:
    count = write_articles(tmp_path / "news", 30)
    home = Path(cli_env["ARTICLEBOT_HOME"])
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "ingest", str(tmp_path / "news")], env=cli_env,
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while stored_chunks(home) < 20 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = sources(cli_env)
    assert 0 < len(partial) < count  # killed half-way

    again = cli(cli_env, "ingest", str(tmp_path / "news"))
    assert again.returncode == 0, again.stderr
    final = sources(cli_env)
    assert len(final) == count and len({s["id"] for s in final}) == count
    assert all(s["complete"] for s in final)

    clean_env = {**cli_env, "ARTICLEBOT_HOME": str(tmp_path / "clean")}
    cli(clean_env, "ingest", str(tmp_path / "news"))
    assert sum(int(s["chunks"]) for s in final) == sum(int(s["chunks"]) for s in sources(clean_env))


@pytest.mark.slow
def test_two_ingests_on_one_home_are_both_correct(cli_env: dict[str, str], tmp_path: Path) -> None:
    first = write_articles(tmp_path / "one", 6)
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "libye.txt").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    runs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "ingest", str(tmp_path / folder)], env=cli_env,
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for folder in ("one", "two")]
    results = [(r.wait(timeout=600), r.stderr.read()) for r in runs]
    assert [code for code, _ in results] == [0, 0], results
    final = sources(cli_env)
    assert len(final) == first + 1 and all(s["complete"] for s in final)


def test_a_running_engine_follows_what_the_shell_ingests_and_removes(make_engine, cli_env: dict[str, str],  # type: ignore[no-untyped-def]
                                                                     tmp_path: Path) -> None:
    """The bot runs for days while cron or an admin runs ``articlebot ingest`` and ``sources remove``
    on the same home: what they add it finds, what they remove it no longer answers from."""
    engine = make_engine(llm=None)  # the extractive backend: the answer is the article's own sentence
    engine.ingest_paths([SAMPLE])
    question = "Which bridge did the mayor of Lyon open?"
    assert engine.ask(question).abstained
    article = tmp_path / "lyon.txt"
    article.write_text("Le pont Raymond-Barre inauguré à Lyon\n"
                       "Le maire de Lyon a inauguré mardi le pont Raymond-Barre, un nouveau pont sur le Rhône "
                       "réservé aux tramways, aux piétons et aux vélos. Les travaux ont duré trois ans.",
                       encoding="utf-8")
    assert cli(cli_env, "ingest", str(article)).returncode == 0
    answer = engine.ask(question)  # it failed with "Error finding id", and dense search missed the article
    assert not answer.abstained and "Raymond-Barre" in answer.answer
    assert cli(cli_env, "sources", "remove", str(article)).returncode == 0
    assert engine.ask(question).abstained  # no longer answered from a removed article
    assert [s.source for s in engine.sources()] == [str(SAMPLE)]


@pytest.mark.slow
def test_questions_asked_while_another_process_writes_all_get_answers(make_engine,  # type: ignore[no-untyped-def]
                                                                    cli_env: dict[str, str]) -> None:
    """The bot's workers keep answering while ``articlebot ingest`` writes: a question asked mid-write
    once failed with "Error finding id" (chunks its keyword side found, its client could not load)."""
    engine = make_engine(llm=None)
    engine.ingest_paths([SAMPLE])
    failures: list[str] = []
    answered = 0
    writing = True

    def ask() -> None:
        nonlocal answered
        while writing:
            try:
                engine.ask("North Korea nuclear disarmament trust")
                answered += 1
            except Exception as exc:  # every failure is one a user would have seen
                failures.append(f"{type(exc).__name__}: {exc}")

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for thread in askers:
        thread.start()
    try:
        assert cli(cli_env, "ingest", "samples/").returncode == 0
        assert cli(cli_env, "sources", "remove", "ntrex-cnbc.com.6769").returncode == 0
    finally:
        writing = False
        for thread in askers:
            thread.join()
    assert answered and not failures, failures[:3]
    assert len(engine.sources()) == 6


@pytest.mark.parametrize("fault", ["hang", "500", "garbage"])
def test_a_faulty_llm_server_gives_a_clear_error_in_bounded_time_then_service_resumes(
        settings: Settings, llm_server: FakeOpenAIServer, fault: str) -> None:
    engine = Engine(settings.model_copy(update={"llm_backend": "openai", "openai_base_url": llm_server.url,
                                                "llm_timeout_s": 2.0}))  # the LLM built from settings
    engine.ingest_paths([SAMPLE])
    llm_server.mode = fault
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        engine.ask("Who is the UN special envoy to Libya?")
    assert time.monotonic() - started < 15
    assert "language model" in str(info.value) and "\n" not in str(info.value)
    llm_server.mode = "ok"
    assert "Martin Kobler" in engine.ask("Who is the UN special envoy to Libya?").answer


def test_a_chroma_server_that_goes_away_and_comes_back(make_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    path = tmp_path / "chroma-server"
    server = start_chroma(path, port)
    engine = make_engine(llm=None, chroma_url=f"http://127.0.0.1:{port}")
    try:
        engine.ingest_paths([SAMPLE])
        assert "Martin Kobler" in engine.ask("Who is the UN special envoy to Libya?").answer
        server.terminate()
        server.wait(timeout=30)
        started = time.monotonic()
        with pytest.raises(StoreError, match="vector store"):
            engine.ask("Who is the UN special envoy to Libya?")
        assert time.monotonic() - started < 30
        server = start_chroma(path, port)
        assert "Martin Kobler" in engine.ask("Who is the UN special envoy to Libya?").answer
    finally:
        server.terminate()
        server.wait(timeout=30)
