"""Prompt templates as data: one TOML file a template, in ``prompts/`` and ``ARTICLEBOT_PROMPTS_DIR``.

A template is validated when loaded: a missing variable is an error naming the file and the
variable, not a confusing failure at question time. User templates override shipped ones of the
same name. A file that fails is reported whenever its template is asked for, and only then: one
bad template in a folder of many does not stop the questions that use the others.
"""

from __future__ import annotations

import logging
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from retrieval.errors import BadInputError

log = logging.getLogger(__name__)

REQUIRED = {
    "answer": {"context", "question"},
    "condense": {"history", "question"},
    "judge": {"passage", "question"},
    "verify": {"passage", "answer"},  # the question is optional: the shipped check reads the answer alone
    "translate": {"question", "language"},
    "polish": {"answer", "language", "source_language"},
}
ALLOWED = {
    "answer": {"context", "question", "language", "today"},
    "condense": {"history", "question", "language"},
    "judge": {"passage", "question"},
    "verify": {"passage", "question", "answer"},
    "translate": {"question", "language"},
    "polish": {"answer", "language", "source_language"},
}


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    kind: str
    description: str
    system: str
    template: str
    path: Path

    def render(self, **values: str) -> list[tuple[str, str]]:
        """(role, text) messages; only the template's own variables are substituted."""
        wanted = _variables(self.system) | _variables(self.template)
        fill = {k: v for k, v in values.items() if k in wanted}
        return [("system", self.system.format(**fill)), ("human", self.template.format(**fill))]

    def messages(self, **values: str) -> list[BaseMessage]:
        """The rendered template as chat messages for the model; an empty system prompt is left out, so
        the model's own default applies rather than an empty one."""
        (_, system), (_, user) = self.render(**values)
        return ([SystemMessage(content=system)] if system.strip() else []) + [HumanMessage(content=user)]


def _variables(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def shipped_dir() -> Path:
    import prompts

    return Path(prompts.__file__).parent


def load_template(path: Path) -> PromptTemplate:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"prompt file {path}: cannot be read ({exc})") from exc
    kind = str(data.get("kind", "answer"))
    if kind not in REQUIRED:
        raise BadInputError(f"prompt file {path}: unknown kind '{kind}' ({', '.join(REQUIRED)})")
    for key in ("template",):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise BadInputError(f"prompt file {path}: missing '{key}'")
    system = str(data.get("system", ""))
    template = str(data["template"])
    try:
        used = _variables(system) | _variables(template)
    except ValueError as exc:
        raise BadInputError(f"prompt file {path}: malformed braces ({exc})") from exc
    missing = sorted(REQUIRED[kind] - used)
    if missing:
        raise BadInputError(f"prompt file {path}: the template lacks the variable {{{missing[0]}}}")
    unknown = sorted(used - ALLOWED[kind])
    if unknown:
        raise BadInputError(f"prompt file {path}: unknown variable {{{unknown[0]}}} (allowed: "
                            + ", ".join(sorted(ALLOWED[kind])) + ")")
    return PromptTemplate(name=str(data.get("name") or path.stem), kind=kind,
                          description=str(data.get("description", "")), system=system,
                          template=template, path=path)


class PromptLibrary:
    """Every template found, by name; :meth:`reload` re-reads the files (the REPL's ``:reload``)."""

    def __init__(self, user_dir: Path | None = None) -> None:
        self.user_dir = user_dir
        self.templates: dict[str, PromptTemplate] = {}
        self.broken: dict[str, str] = {}
        self.reload()

    def reload(self) -> list[str]:
        """Re-read every file; returns what is wrong with those that fail, a line each.

        A broken file hides the shipped template of its name rather than falling back to it: a user
        who edited ``answer.toml`` must not get answers from the old text without knowing.
        """
        found: dict[str, PromptTemplate] = {}
        broken: dict[str, str] = {}
        dirs = [shipped_dir()] + ([self.user_dir] if self.user_dir else [])
        for folder in dirs:
            if folder is None:
                continue
            if not folder.is_dir():
                raise BadInputError(f"prompts folder {folder} does not exist")
            for path in sorted(folder.glob("*.toml")):
                try:
                    template = load_template(path)
                except BadInputError as exc:
                    found.pop(path.stem, None)
                    broken[path.stem] = str(exc)
                    log.info("%s", exc)  # told where it matters: when used, by :reload, at the bot's start
                    continue
                broken.pop(template.name, None)
                found[template.name] = template
        self.templates, self.broken = found, broken
        return sorted(broken.values())

    def get(self, name: str, kind: str = "answer") -> PromptTemplate:
        if name in self.broken:
            raise BadInputError(self.broken[name])
        template = self.templates.get(name)
        if template is None or template.kind != kind:
            names = ", ".join(sorted(n for n, t in self.templates.items() if t.kind == kind))
            raise BadInputError(f"no {kind} prompt named '{name}' (available: {names})")
        return template

    def names(self, kind: str = "answer") -> list[str]:
        return sorted(n for n, t in self.templates.items() if t.kind == kind)
