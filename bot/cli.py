"""The ``articlebot`` command (see SPEC.md): exit 0 on success, 2 on bad usage or input, 1 on failure.

Imports stay inside the commands: ``articlebot ask`` should not pay for what ``ingest`` needs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

log = logging.getLogger("articlebot")


class UsageError(Exception):
    """Bad command-line usage: exit status 2 with a one-line reason."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="articlebot", description="Ask questions about news articles, in any language.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    # -v after the command too ("articlebot ask '…' -v"), as users type it; SUPPRESS keeps a -v given
    # before the command from being reset by the command's own default.
    verbose = _Parser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("ingest", parents=[verbose], help="ingest files, folders, URLs or feeds")
    p.add_argument("targets", nargs="+", metavar="PATH|URL")
    p.add_argument("--collection", default="default")
    p.add_argument("--date", default="", help="publication date (YYYY-MM-DD) for these articles")

    p = sub.add_parser("sources", parents=[verbose], help="list or remove ingested articles")
    p.add_argument("action", choices=["list", "remove"])
    p.add_argument("ids", nargs="*", metavar="ID", help="remove: the articles' ids, files or URLs")
    p.add_argument("--collection", default="default")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("collections", parents=[verbose], help="list the collections and what each holds")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", parents=[verbose], help="answer a question from the articles")
    p.add_argument("question", help="the question, or - to read it from standard input")
    p.add_argument("--collection", default="default")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--prompt", default=None)
    p.add_argument("--since", default="", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", default="", help="only articles published on or before this date")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("repl", parents=[verbose], help="interactive prompt testing")
    p.add_argument("--collection", default="default")

    p = sub.add_parser("watch", parents=[verbose], help="poll RSS/Atom feeds and ingest new or changed items")
    p.add_argument("feeds", nargs="+", metavar="FEED_URL")
    p.add_argument("--every", default="15m", help="interval: 30s, 15m, 2h (default 15m)")
    p.add_argument("--collection", default="default")
    p.add_argument("--once", action="store_true", help="poll once and exit")

    sub.add_parser("discord", parents=[verbose], help="run the Discord bot (needs ARTICLEBOT_DISCORD_TOKEN)")

    p = sub.add_parser("feedback", parents=[verbose], help="list the 👍/👎 votes given in Discord, or export them")
    p.add_argument("--export", type=Path, metavar="FILE.jsonl")

    p = sub.add_parser("eval", parents=[verbose], help="measure retrieval and answer quality")
    p.add_argument("--docs", required=True, type=Path)
    p.add_argument("--questions", required=True, type=Path)
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--retrieval-only", action="store_true")
    p.add_argument("--limit", type=int, default=None, help="ask only the first N questions")
    p.add_argument("--details", type=Path, metavar="FILE.jsonl", help="write one record per question here")
    p.add_argument("--json", action="store_true")
    return parser


def _settings() -> Any:
    from retrieval.settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError: a bad ARTICLEBOT_* value
        first = str(exc).splitlines()
        raise UsageError("invalid setting: " + " ".join(first[1:3]).strip()) from exc


def _engine(settings: Any = None) -> Any:
    from retrieval.engine import Engine

    return Engine(settings or _settings())


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


@contextmanager
def progress_on_stderr(label: str) -> Iterator[Callable[[int, int], None]]:
    """A bar on a terminal; into a pipe or a log, a line each tenth of the way, so that a run of
    twenty minutes (a translated eval) is never silent. stdout stays the result alone."""
    from rich.progress import Progress

    tty = sys.stderr.isatty()
    with Progress(transient=True, disable=not tty) as bar:
        task = bar.add_task(label, total=None)
        tenths = [0]

        def update(done: int, total: int) -> None:
            if tty:
                bar.update(task, completed=done, total=total)
            elif total and done * 10 // total > tenths[0]:
                tenths[0] = done * 10 // total
                print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

        yield update


def cmd_ingest(args: argparse.Namespace) -> int:
    from retrieval.engine import IngestReport

    engine = _engine()
    urls = [t for t in args.targets if _is_url(t)]
    paths = [Path(t) for t in args.targets if not _is_url(t)]
    report = IngestReport()
    with progress_on_stderr("ingesting") as update:

        def progress(done: int, total: int, _title: str) -> None:
            update(done, total)

        if paths:
            report.merge(engine.ingest_paths(paths, args.collection, progress=progress, date=args.date))
        if urls:
            report.merge(engine.ingest_urls(urls, args.collection, progress=progress, date=args.date))
    _print_report(report, args.collection)
    return 2 if report.failed else 0


def cmd_sources(args: argparse.Namespace) -> int:
    engine = _engine()
    if args.action == "remove":
        if not args.ids:
            raise UsageError("sources remove needs an ID (see: articlebot sources list)")
        ids = _as_stored_ids(args.ids, engine.sources(args.collection))
        for source_id, removed in zip(args.ids, engine.remove_sources(ids, args.collection), strict=True):
            print(f"removed '{source_id}' ({_count(removed, 'chunk')}) from collection '{args.collection}'")
        return 0
    if args.ids:
        raise UsageError("sources list takes no ID")
    sources = engine.sources(args.collection)
    if args.json:
        print(json.dumps([s.__dict__ for s in sources], ensure_ascii=False))
        return 0
    for s in sources:
        flag = "" if s.complete else "  [incomplete: ingest again]"
        print(f"{s.id}\t{s.title}\t{s.lang}\t{s.date or 'undated'}\t{_count(s.chunks, 'chunk')}{flag}")
    print(f"{_count(len(sources), 'article')} in collection '{args.collection}'", file=sys.stderr)
    return 0


def _as_stored_ids(typed: list[str], sources: list[Any]) -> list[str]:
    """Files are stored under their absolute path: "samples/x.txt", typed where it was ingested, means it."""
    known = {name for s in sources for name in (s.id, s.source, s.url)}
    out = []
    for name in typed:
        resolved = str(Path(name).expanduser().resolve())
        out.append(resolved if name not in known and "://" not in name and resolved in known else name)
    return out


def cmd_collections(args: argparse.Namespace) -> int:
    infos = _engine().collections()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], ensure_ascii=False))
        return 0
    for info in infos:
        counts = f"{_count(info.articles, 'article')}\t{_count(info.chunks, 'chunk')}"
        print(f"{info.name}\t{counts}\t{info.embedding_model}")
    print(_count(len(infos), "collection"), file=sys.stderr)
    return 0


def print_answer(answer: Any) -> None:
    print(answer.answer)
    if answer.sources:
        print("\nSources:")
        for s in answer.sources:
            where = s.url or s.source
            date = f", {s.date}" if s.date else ""
            author = f", {s.author}" if s.author else ""
            print(f"  [{s.n}] {s.title}{date}{author} — {where}")
            print(f"      “{s.snippet}”")


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine()
    question = sys.stdin.read() if args.question == "-" else args.question
    answer = engine.ask(question, args.collection, k=args.k, prompt=args.prompt, since=args.since, until=args.until)
    if args.json:
        print(json.dumps(answer.as_json(), ensure_ascii=False))
    else:
        print_answer(answer)
    return 0


def cmd_repl(args: argparse.Namespace) -> int:
    from bot.repl import run_repl

    return run_repl(_engine(), args.collection)


def _evaluate_with_details(evaluate: Any, engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    with progress_on_stderr("questions") as progress:
        if args.details is None:
            return evaluate(engine, args.docs, args.questions, args.k, args.retrieval_only, args.limit,
                            progress=progress)
        try:
            out = args.details.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.details}: cannot write ({exc.strerror})") from exc
        with out:
            def write(record: dict[str, Any]) -> None:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                out.flush()

            return evaluate(engine, args.docs, args.questions, args.k, args.retrieval_only, args.limit,
                            progress=progress, details=write)


def cmd_eval(args: argparse.Namespace) -> int:
    import tempfile

    from retrieval.evaluation import evaluate, scratch_settings

    with tempfile.TemporaryDirectory(prefix="articlebot-eval-") as tmp:
        engine = _engine(scratch_settings(_settings(), Path(tmp)))
        try:
            figures = _evaluate_with_details(evaluate, engine, args)
        finally:
            engine.close()  # its store's files, before their folder is removed
    if args.json:
        print(json.dumps(figures))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{args.docs.name} × {args.questions.name}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in figures.items():
            if key == "latency_ms":
                table.add_row("latency p50 / p95 (ms)", f"{value['p50']} / {value['p95']}")
            else:
                table.add_row(key, "—" if value is None else str(value))
        Console().print(table)
    return 0


def parse_interval(text: str) -> float:
    import re

    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"invalid interval {text!r}: use e.g. 30s, 15m, 2h")
    return float(match.group(1)) * {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _print_report(report: Any, collection: str) -> None:
    print(f"{len(report.ingested)} ingested, {len(report.unchanged)} unchanged, {len(report.failed)} failed "
          f"({_count(report.chunks_added, 'chunk')} added) into collection '{collection}'", flush=True)
    for source, reason in report.failed:
        print(f"failed: {reason}" if source in reason else f"failed: {source}: {reason}", file=sys.stderr)


def cmd_watch(args: argparse.Namespace) -> int:
    import time

    from retrieval.errors import ArticlebotError

    interval = parse_interval(args.every)
    bad = [f for f in args.feeds if not _is_url(f)]
    if bad:
        raise UsageError(f"not a feed URL: {bad[0]}")
    engine = _engine()
    while True:
        status = 0  # with --once, what 'ingest' of these feeds would exit with: cron sees a failure
        for feed in args.feeds:
            try:
                report = engine.ingest_feed(feed, args.collection)  # an article page is refused, not re-read
                _print_report(report, args.collection)
                status = status or (2 if report.failed else 0)
            except ArticlebotError as exc:  # a feed that fails now may work at the next poll
                print(f"articlebot: {exc}", file=sys.stderr)
                status = status or exc.exit_code
        if args.once:
            return status
        time.sleep(interval)


def cmd_discord(args: argparse.Namespace) -> int:
    from bot.discord.app import run_bot

    run_bot(_settings())
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from retrieval.feedback import FeedbackLog

    settings = _settings()
    votes = FeedbackLog(settings.feedback_path).votes() if settings.feedback_path.exists() else []
    if args.export:
        try:
            with args.export.open("w", encoding="utf-8") as out:
                for vote in votes:
                    out.write(json.dumps(vote, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise UsageError(f"cannot write {args.export}: {exc.strerror}") from exc
        print(f"exported {len(votes)} votes to {args.export}")
        return 0
    for v in votes:
        mark = "👍" if v["vote"] == "up" else "👎"
        print(f"{v['time']}  {mark}  {v['question'][:70]}  →  {v['answer'][:70]}  [{v['prompt']}]")
    print(f"{len(votes)} votes", file=sys.stderr)
    return 0


COMMANDS = {"ingest": cmd_ingest, "sources": cmd_sources, "collections": cmd_collections, "ask": cmd_ask,
            "repl": cmd_repl, "eval": cmd_eval, "discord": cmd_discord, "feedback": cmd_feedback, "watch": cmd_watch}


def main(argv: list[str] | None = None) -> int:
    from retrieval.errors import ArticlebotError

    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.verbose:
        # trafilatura warns "discarding data: None" for a page it cannot read, beside the one-line
        # error the loader gives for the same page.
        logging.getLogger("trafilatura").setLevel(logging.ERROR)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return 2
    except ArticlebotError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("articlebot: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal failure: one line for the user, the traceback in -v logs
        log.info("internal error", exc_info=True)  # INFO: shown with -v only
        print(f"articlebot: internal error: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
