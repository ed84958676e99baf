"""Turning answers into Discord messages: numbered sources, and clean splits under 2000 characters.

Splits happen at paragraph, line, sentence or word boundaries — never inside a word or a citation
like ``[12]`` — in the spirit of Red-DiscordBot's ``pagify``.
"""

from __future__ import annotations

from discord.utils import escape_markdown

from retrieval.answering import Answer

LIMIT = 2000


def _safe_cut(text: str, limit: int) -> int:
    """Where to cut ``text`` so that the first part is at most ``limit`` characters."""
    if len(text) <= limit:
        return len(text)
    window = text[:limit]
    for pattern in ("\n\n", "\n", ". ", "! ", "? ", " "):
        at = window.rfind(pattern)
        if at > limit // 4:
            cut = at + len(pattern.rstrip(" ")) if pattern.strip() else at
            # never split a citation: move the cut before an unfinished "[12"
            open_bracket = window.rfind("[", 0, cut)
            if open_bracket != -1 and "]" not in window[open_bracket:cut]:
                cut = open_bracket
            return max(cut, 1)
    return limit  # one unbroken run of characters longer than a message: no better place exists


def split_message(text: str, limit: int = LIMIT) -> list[str]:
    parts: list[str] = []
    rest = text.strip()
    while rest:
        cut = _safe_cut(rest, limit)
        part, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if part:
            parts.append(part)
    return parts or [""]


def render_answer(answer: Answer) -> str:
    """The answer, then its sources: number, title (date), link or file name, a short quote.

    Article text reaches the message (a followed feed's titles, a quote, what the model copied), so
    its Markdown is escaped: a title "[Verify your account](https://…)" must not become a link that
    seems to come from the bot, nor a stray ``` swallow the rest of the message."""
    lines = [escape_markdown(answer.answer)]
    if answer.sources:
        lines.append("")
        lines.append("**Sources**")
        for s in answer.sources:
            where = s.url or s.source.rsplit("/", 1)[-1]
            dated = ", ".join(escape_markdown(x) for x in (s.date, s.author) if x)
            date = f" ({dated})" if dated else ""
            link = f"<{where}>" if where.startswith(("http://", "https://")) else f"`{where.replace('`', '')}`"
            quote = escape_markdown(s.snippet[:180].replace("\n", " "))
            lines.append(f"[{s.n}] **{escape_markdown(s.title)}**{date} — {link}\n> {quote}")
    return "\n".join(lines)
