"""Prompt templates: shipped ones load; a broken user template is an error naming file and variable,
met where that template is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import BadInputError
from retrieval.prompt_templates import PromptLibrary


def test_shipped_templates_load() -> None:
    library = PromptLibrary()
    assert {"answer", "terse"} <= set(library.names("answer"))
    assert library.names("condense") == ["condense"]
    assert all(t.description for t in library.templates.values())


def test_missing_variable_names_the_file_and_the_variable_when_that_template_is_used(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "bad"\ntemplate = "Question: {question}"\n')
    library = PromptLibrary(tmp_path)
    with pytest.raises(BadInputError) as info:
        library.get("bad")
    assert "bad.toml" in str(info.value) and "{context}" in str(info.value)
    assert library.get("answer").name == "answer", "one bad file does not stop the other templates"
    assert "bad" not in library.names("answer")


def test_a_broken_override_hides_the_shipped_template_until_it_is_fixed(tmp_path: Path) -> None:
    """Falling back to the shipped text would answer with a template the user believes replaced."""
    (tmp_path / "answer.toml").write_text('name = "answer"\nsystem = """never closed\n')
    library = PromptLibrary(tmp_path)
    with pytest.raises(BadInputError, match=r"answer\.toml: cannot be read"):
        library.get("answer")
    (tmp_path / "answer.toml").write_text('name = "answer"\ntemplate = "C: {context}\\nQ: {question}"\n')
    assert library.reload() == []
    assert library.get("answer").template == "C: {context}\nQ: {question}"


def test_user_template_overrides_and_is_used(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\ndescription = "d"\ntemplate = "C: {context}\\nQ: {question}"\n')
    library = PromptLibrary(tmp_path)
    assert library.get("mine").render(context="ctx", question="q")[1] == ("human", "C: ctx\nQ: q")


def test_a_support_check_needs_the_answer_and_may_leave_out_the_question(tmp_path: Path) -> None:
    (tmp_path / "verify.toml").write_text(
        'name = "verify"\nkind = "verify"\ntemplate = "P: {passage}\\nStatement: {answer}"\n')
    rendered = PromptLibrary(tmp_path).get("verify", kind="verify").render(passage="p", question="q", answer="a")
    assert rendered[1] == ("human", "P: p\nStatement: a")

    (tmp_path / "verify.toml").write_text(
        'name = "verify"\nkind = "verify"\ntemplate = "P: {passage}\\nQ: {question}"\n')
    with pytest.raises(BadInputError, match=r"\{answer\}"):
        PromptLibrary(tmp_path).get("verify", kind="verify")
