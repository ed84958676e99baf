"""``articlebot repl``: try questions and prompt templates interactively, as a conversation.

Follow-ups go through the same condensing step as Discord threads. Commands start with ``:``
(``:help`` lists them); tab completes them, and the input history is kept across runs under
``ARTICLEBOT_HOME``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.columns import Columns
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from retrieval.answering import Answer
from retrieval.errors import ArticlebotError, BadInputError

HELP = {
    ":help": "this list",
    ":new": "start a fresh conversation",
    ":history": "the conversation so far, with the standalone question each turn became",
    ":prompts": "list the answer templates, with descriptions",
    ":prompt NAME": "switch the answer template",
    ":show": "print the active template",
    ":edit": "edit the active template in $EDITOR (a copy in your prompts folder), reload on exit",
    ":reload": "re-read the template files",
    ":sources": "the passages behind the last answer, with their scores",
    ":k N": "how many passages the model sees",
    ":since DATE / :until DATE": "only articles published in that period (no DATE: no limit)",
    ":llm BACKEND": "switch the LLM backend (llamacpp, openai, ollama, extractive)",
    ":compare A B [QUESTION]": "the same question through two templates, side by side",
    ":eval FILE [N]": "ask the first N questions of a questions JSONL file and score the answers",
    ":save [FILE]": "append the last question and answer to a JSONL regression set",
    ":quit": "leave",
}


class Repl:
    """One REPL session over one collection; every command is a method, testable without a terminal."""

    def __init__(self, engine: Any, collection: str, console: Console | None = None) -> None:
        self.engine = engine
        self.collection = collection
        self.console = console or Console(highlight=False)
        self.prompt = engine.settings.default_prompt
        self.k = engine.settings.k
        self.since = ""
        self.until = ""
        self.turns: list[Answer] = []
        self.last: Answer | None = None
        self.commands: dict[str, Callable[[list[str]], None]] = {
            ":help": self.cmd_help, ":new": self.cmd_new, ":history": self.cmd_history,
            ":prompts": self.cmd_prompts, ":prompt": self.cmd_prompt, ":show": self.cmd_show,
            ":edit": self.cmd_edit, ":reload": self.cmd_reload, ":sources": self.cmd_sources, ":k": self.cmd_k,
            ":llm": self.cmd_llm, ":since": self.cmd_since, ":until": self.cmd_until,
            ":compare": self.cmd_compare, ":eval": self.cmd_eval, ":save": self.cmd_save,
        }

    # -- the loop ----------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Run one input line; False when the user leaves."""
        line = line.strip()
        if not line:
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        try:
            if line.startswith(":"):
                name, *args = shlex.split(line)
                command = self.commands.get(name)
                if command is None:
                    raise BadInputError(f"unknown command {name} (:help lists them)")
                command(args)
            else:
                self.ask(line)
        except (ArticlebotError, ValueError) as exc:
            self.console.print(f"[red]error:[/red] {exc}")
        return True

    def ask(self, question: str, prompt: str | None = None, record: bool = True) -> Answer:
        """A conversation turn when ``record``; otherwise a stand-alone question (eval, compare)."""
        history = [(a.standalone_question or a.question, a.answer) for a in self.turns] if record else []
        answer = self.engine.ask(question, self.collection, k=self.k, prompt=prompt or self.prompt,
                                 history=history, since=self.since, until=self.until)
        if record:
            self.turns.append(answer)
            self.last = answer
            self.console.print(self.render(answer))
        return answer

    # -- rendering ---------------------------------------------------------------------------
    def render(self, answer: Answer, title: str | None = None) -> Group:
        style = "yellow" if answer.abstained else "green"
        panel = Panel(Text(answer.answer), title=title or f"answer · {answer.prompt}", border_style=style)
        parts: list[Any] = [panel]
        if answer.sources:
            table = Table(show_header=True, header_style="bold", expand=True)
            table.add_column("#", width=3)
            table.add_column("source")
            table.add_column("score", justify="right", width=6)
            table.add_column("quote")
            for s in answer.sources:
                table.add_row(str(s.n), f"{s.title}\n{s.url or s.source}", f"{s.score:.2f}", s.snippet)
            parts.append(table)
        timings = " · ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items())
        parts.append(Text(timings + (f"  ({answer.reason})" if answer.reason else ""), style="dim"))
        return Group(*parts)

    # -- commands ----------------------------------------------------------------------------
    def cmd_help(self, args: list[str]) -> None:
        table = Table(show_header=False, box=None)
        for name, text in HELP.items():
            table.add_row(name, text)
        self.console.print(table)

    def cmd_new(self, args: list[str]) -> None:
        self.turns.clear()
        self.console.print("(new conversation)")

    def cmd_history(self, args: list[str]) -> None:
        if not self.turns:
            self.console.print("(no questions yet)")
        for i, a in enumerate(self.turns, 1):
            self.console.print(f"{i}. {a.question}\n   → standalone: {a.standalone_question}\n   ← {a.answer}")

    def cmd_prompts(self, args: list[str]) -> None:
        library = self.engine.prompts
        for name in library.names("answer"):
            mark = "*" if name == self.prompt else " "
            self.console.print(f"{mark} {name:12} {library.get(name).description}  ({library.get(name).path})")
        self._report(sorted(library.broken.values()))

    def cmd_prompt(self, args: list[str]) -> None:
        if len(args) != 1:
            raise BadInputError("usage: :prompt NAME")
        library = self.engine.prompts
        problem = library.broken.get(args[0])
        if problem is None:  # a broken one may be chosen, so that :edit opens it to be fixed
            library.get(args[0], kind="answer")
        self.prompt = args[0]
        self.console.print(f"prompt: {self.prompt}")
        self._report([problem] if problem else [])

    def cmd_show(self, args: list[str]) -> None:
        template = self.engine.prompts.get(self.prompt)
        self.console.print(Panel(Text(f"[system]\n{template.system}\n\n[template]\n{template.template}"),
                                 title=f"{template.name} — {template.path}"))

    def cmd_reload(self, args: list[str]) -> None:
        problems = self.engine.prompts.reload()
        self.console.print(f"reloaded {len(self.engine.prompts.templates)} templates")
        self._report(problems)

    def cmd_edit(self, args: list[str]) -> None:
        library = self.engine.prompts
        folder = library.user_dir or self.engine.settings.edited_prompts_dir
        target = folder / f"{self.prompt}.toml"
        if not target.exists():  # a broken template's file is here already: it is opened, to be fixed
            source = library.get(self.prompt).path
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        library.user_dir = folder
        editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
        subprocess.run([*shlex.split(editor), str(target)], check=False)
        problems = library.reload()
        self.console.print(f"edited and reloaded {target}")
        self._report(problems)

    def _report(self, problems: list[str]) -> None:
        """Broken templates are listed where they were just read, not first met at the next question."""
        for problem in problems:
            self.console.print(f"! {problem}")

    def cmd_sources(self, args: list[str]) -> None:
        if self.last is None:
            raise BadInputError("no answer yet")
        table = Table(show_header=True, expand=True)
        for column in ("rank", "score", "title", "passage"):
            table.add_column(column)
        for rank, hit in enumerate(self.last.retrieved, 1):
            table.add_row(str(rank), f"{hit.score:.3f}", hit.metadata.get("title", ""), hit.text[:300])
        self.console.print(table)

    def cmd_k(self, args: list[str]) -> None:
        if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= 50:
            raise BadInputError("usage: :k N (1 to 50)")
        self.k = int(args[0])
        self.console.print(f"k: {self.k}")

    def cmd_since(self, args: list[str]) -> None:
        self.engine.period_filter(args[0] if args else "", self.until)  # refuses an unreadable date, an empty period
        self.since = args[0] if args else ""
        self.console.print(f"since: {self.since or 'no limit'}")

    def cmd_until(self, args: list[str]) -> None:
        self.engine.period_filter(self.since, args[0] if args else "")
        self.until = args[0] if args else ""
        self.console.print(f"until: {self.until or 'no limit'}")

    def cmd_llm(self, args: list[str]) -> None:
        if len(args) != 1:
            raise BadInputError("usage: :llm llamacpp|openai|ollama|extractive")
        self.engine.set_llm_backend(args[0])
        self.console.print(f"llm: {args[0]}")

    def cmd_compare(self, args: list[str]) -> None:
        if len(args) < 2:
            raise BadInputError("usage: :compare A B [QUESTION]")
        a, b = args[0], args[1]
        question = " ".join(args[2:]) or (self.last.standalone_question if self.last else "")
        if not question:
            raise BadInputError("no question to compare: give one, or ask one first")
        panels = [self.render(self.ask(question, prompt=name, record=False), title=name) for name in (a, b)]
        self.console.print(Columns(panels, equal=True, expand=True))

    def cmd_eval(self, args: list[str]) -> None:
        from retrieval.evaluation import contains_answer, read_questions

        if not 1 <= len(args) <= 2 or (len(args) == 2 and not (args[1].isdigit() and int(args[1]) >= 1)):
            raise BadInputError("usage: :eval FILE [N] (N: the first N questions, at least 1)")
        questions = read_questions(Path(args[0]))[: int(args[1]) if len(args) > 1 else None]
        right = abstained = refused = 0
        started = time.perf_counter()
        for q in questions:
            answer = self.ask(q.question, record=False)
            if q.answerable:
                abstained += answer.abstained
                right += (not answer.abstained) and contains_answer(answer.answer, q.answers)
            else:  # a refusal saved with :save: refusing again is right, answering is the regression
                refused += answer.abstained
        n = len(questions)
        answerable = sum(q.answerable for q in questions)
        parts = []
        if answerable:
            parts.append(f"{right}/{answerable} answers contain a gold answer, {abstained}/{answerable} abstained")
        if n - answerable:
            parts.append(f"{refused}/{n - answerable} unanswerable refused")
        self.console.print(f"{self.prompt}: {', '.join(parts)}, "
                           f"{(time.perf_counter() - started) / max(n, 1):.1f} s a question")

    def cmd_save(self, args: list[str]) -> None:
        if self.last is None:
            raise BadInputError("no answer to save yet")
        path = Path(args[0]) if args else self.engine.settings.home / "saved-questions.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"id": uuid.uuid4().hex[:12], "question": self.last.question,
                  "answers": [] if self.last.abstained else [self.last.answer],
                  "answerable": not self.last.abstained, "prompt": self.last.prompt,
                  "sources": [s.as_json() for s in self.last.sources]}
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.console.print(f"saved to {path}")


def _setup_readline(repl: Repl, history_file: Path) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return
    history_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        readline.read_history_file(history_file)
    except (FileNotFoundError, OSError):
        pass
    readline.set_history_length(1000)

    def complete(text: str, state: int) -> str | None:
        buffer = readline.get_line_buffer()
        if buffer.startswith(":prompt ") or buffer.startswith(":compare "):
            options = [n for n in repl.engine.prompts.names("answer") if n.startswith(text)]
        elif buffer.startswith(":llm "):
            options = [n for n in ("llamacpp", "openai", "ollama", "extractive") if n.startswith(text)]
        else:
            options = [c for c in [*repl.commands, ":quit"] if c.startswith(text)]
        return options[state] if state < len(options) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" ")
    readline.parse_and_bind("tab: complete")
    import atexit

    atexit.register(lambda: readline.write_history_file(history_file))


def run_repl(engine: Any, collection: str) -> int:
    repl = Repl(engine, collection)
    _setup_readline(repl, engine.settings.home / "repl_history")
    repl.console.print(f"articlebot REPL — collection '{collection}', prompt '{repl.prompt}'. "
                       "Ask a question; :help lists commands.")
    while True:
        try:
            line = input("? ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            continue
        if not repl.handle(line):
            return 0
        sys.stdout.flush()
