"""The REPL driven in a pseudo-terminal, as a person types: the fake LLM for exact checks of each
command, and once the real offline LLM for the sample question."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import REPO, SAMPLE

PROMPT = r"\? "


@pytest.fixture
def ingested(cli_env: dict[str, str]) -> dict[str, str]:
    import subprocess

    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(SAMPLE)], env={**cli_env, "COLUMNS": "160"},
                   cwd=REPO, check=True, capture_output=True)
    return {**cli_env, "COLUMNS": "160", "LINES": "50", "TERM": "dumb"}


def spawn(env: dict[str, str], module: str, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", module, *args], env=env, cwd=str(REPO), encoding="utf-8",
                          timeout=120, dimensions=(50, 160))
    child.expect(PROMPT)
    return child


@pytest.fixture
def fake_repl(ingested: dict[str, str]) -> Iterator[pexpect.spawn]:
    child = spawn(ingested, "tests.repl_fake_main")
    yield child
    child.sendline(":quit")
    child.expect(pexpect.EOF)


def say(child: pexpect.spawn, line: str) -> str:
    child.sendline(line)
    child.expect(PROMPT)
    return child.before


def test_fake_llm_question_gets_a_panel_with_sources_and_timings(fake_repl: pexpect.spawn) -> None:
    out = say(fake_repl, "who leads the unity government?")
    assert "Fayez al-Serraj leads the unity government [1]." in out
    assert "libye 2016" in out and "retrieve" in out and "generate" in out and " ms" in out


def test_fake_llm_follow_up_is_condensed_and_history_shows_it(fake_repl: pexpect.spawn) -> None:
    say(fake_repl, "who leads the unity government?")
    out = say(fake_repl, "and who is the UN's man there?")
    assert "Martin Kobler is the envoy" in out
    history = say(fake_repl, ":history")
    assert "standalone: Who is the UN special envoy to Libya?" in history
    assert "1. who leads the unity government?" in history
    say(fake_repl, ":new")
    assert "no questions yet" in say(fake_repl, ":history")


def test_fake_llm_prompt_commands(fake_repl: pexpect.spawn) -> None:
    listing = say(fake_repl, ":prompts")
    assert "answer" in listing and "terse" in listing and "Terse: the answer in a few words" in listing
    assert "prompt: terse" in say(fake_repl, ":prompt terse")
    assert "as few words as possible" in say(fake_repl, ":show")
    assert "no answer prompt named 'nope'" in say(fake_repl, ":prompt nope")
    assert "unknown command :frobnicate" in say(fake_repl, ":frobnicate")
    out = say(fake_repl, ":compare answer terse who leads the unity government?")
    assert out.count("Fayez al-Serraj") >= 2 and "answer" in out and "terse" in out


def test_fake_llm_sources_k_and_llm(fake_repl: pexpect.spawn) -> None:
    assert "no answer yet" in say(fake_repl, ":sources")
    assert "k: 2" in say(fake_repl, ":k 2")
    say(fake_repl, "who leads the unity government?")
    sources = say(fake_repl, ":sources")
    assert "rank" in sources and "0.8" in sources  # cosine scores of the retrieved passages
    assert "llm: extractive" in say(fake_repl, ":llm extractive")
    assert "Martin Kobler" in say(fake_repl, "Who is the UN special envoy to Libya?")


def test_fake_llm_since_and_until(fake_repl: pexpect.spawn) -> None:
    assert "until: 2015-12-31" in say(fake_repl, ":until 2015-12-31")
    refused = say(fake_repl, "who leads the unity government?")
    assert "The articles do not say." in refused and "no article was published in that period" in refused  # undated
    assert "until: no limit" in say(fake_repl, ":until")
    assert "cannot read the date" in say(fake_repl, ":since someday")
    say(fake_repl, ":until 2015-12-31")
    assert "is after until 2015-12-31" in say(fake_repl, ":since 2016-01-01")  # an empty period is refused
    say(fake_repl, ":until")
    say(fake_repl, ":new")
    assert "Fayez al-Serraj" in say(fake_repl, "who leads the unity government?")


def test_fake_llm_save_then_eval_the_saved_set(fake_repl: pexpect.spawn, ingested: dict[str, str],
                                               tmp_path: Path) -> None:
    saved = tmp_path / "regression.jsonl"
    say(fake_repl, "who leads the unity government?")
    assert "saved to" in say(fake_repl, f":save {saved}")
    [record] = [json.loads(line) for line in saved.read_text().splitlines()]
    assert record["question"] == "who leads the unity government?" and record["prompt"] == "answer"
    assert "Fayez al-Serraj" in record["answers"][0] and record["sources"]
    out = say(fake_repl, f":eval {saved} 1")
    assert "1/1 answers contain a gold answer" in out
    say(fake_repl, ":since 2030-01-01")  # the sample is undated: refused, and saved as a question to refuse
    assert "do not say" in say(fake_repl, "who leads the unity government?")
    say(fake_repl, f":save {saved}")
    say(fake_repl, ":since")  # now answered: the saved refusal is the regression the line reports
    out = say(fake_repl, f":eval {saved}")
    assert "1/1 answers contain a gold answer, 0/1 abstained, 0/1 unanswerable refused" in out
    for count in ("abc", "0"):  # a usage line, never a Python message or a run over no questions
        assert "usage: :eval FILE [N]" in say(fake_repl, f":eval {saved} {count}")


def test_fake_llm_a_broken_edit_is_reported_stops_only_its_template_and_opens_again_to_be_fixed(
        ingested: dict[str, str], tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"  # first call breaks the template, the next one mends it
    editor.write_text('#!/bin/sh\nif grep -q "{contxt}" "$1"; then sed -i "s/{contxt}/{context}/" "$1"; '
                      'else sed -i "s/{context}/{contxt}/" "$1"; fi\n')
    editor.chmod(0o755)
    child = spawn({**ingested, "EDITOR": str(editor)}, "tests.repl_fake_main")
    out = say(child, ":edit")
    assert "answer.toml: the template lacks the variable {context}" in out
    assert "lacks the variable {context}" in say(child, "who leads the unity government?")
    assert "lacks the variable {context}" in say(child, ":prompts")

    say(child, ":prompt terse")  # the other templates still answer
    assert "Fayez al-Serraj" in say(child, "who leads the unity government?")
    assert "lacks the variable {context}" in say(child, ":prompt answer")
    assert "!" not in say(child, ":edit").replace("edited and reloaded", "")
    say(child, ":new")  # else the fake LLM reads the question as a follow-up of the first
    assert "Fayez al-Serraj" in say(child, "who leads the unity government?")
    child.sendline(":quit")
    child.expect(pexpect.EOF)


def test_fake_llm_edit_opens_the_editor_and_reloads(ingested: dict[str, str], tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/in one to three sentences/in exactly one sentence/' \"$1\"\n")
    editor.chmod(0o755)
    child = spawn({**ingested, "EDITOR": str(editor)}, "tests.repl_fake_main")
    assert "edited and reloaded" in say(child, ":edit")
    assert "in exactly one sentence" in say(child, ":show")
    child.sendline(":quit")
    child.expect(pexpect.EOF)
    assert (Path(ingested["ARTICLEBOT_HOME"]) / "prompts" / "answer.toml").exists()
    # the edit lasts: the next REPL reads it (it read the shipped template again, the edit lost)
    again = spawn(ingested, "tests.repl_fake_main")
    assert "in exactly one sentence" in say(again, ":show")
    again.sendline(":quit")
    again.expect(pexpect.EOF)


def test_fake_llm_tab_completion_and_history_across_runs(ingested: dict[str, str]) -> None:
    child = spawn(ingested, "tests.repl_fake_main")
    child.send(":sh\t")
    child.sendline("")
    child.expect(PROMPT)
    assert "[system]" in child.before  # ":sh" completed to ":show"
    child.sendline(":quit")
    child.expect(pexpect.EOF)
    history = (Path(ingested["ARTICLEBOT_HOME"]) / "repl_history").read_text()
    assert ":show" in history


@pytest.mark.slow
def test_sample_question_with_the_real_offline_llm(ingested: dict[str, str], gguf: Path) -> None:
    child = spawn({**ingested, "ARTICLEBOT_LLM_MODEL_PATH": str(gguf)}, "bot.cli", "repl")
    out = say(child, "who leads the unity government?")
    assert "Serraj" in out and "libye 2016" in out
    child.sendline(":quit")
    child.expect(pexpect.EOF)
