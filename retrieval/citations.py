"""The "[n]" citations of an answer: one pattern for every step that reads, drops or merges them,
since the checks must agree on what a citation is (the numbers check reading "[2]" as the number
two, or the echo check counting it as a word, would withdraw right answers)."""

from __future__ import annotations

import re
from collections.abc import Iterable

CITATION = re.compile(r"\[(\d+)\]")
_CITATION_RUN = re.compile(r"(?:\s*\[\d+\]){2,}")
_SPACED_CITATION = re.compile(r"\s*\[\d+\]")


def citations_in(text: str) -> list[int]:
    """The numbers cited, in order, repeats kept."""
    return [int(n) for n in CITATION.findall(text)]


def without_citations(text: str, by: str = "") -> str:
    """The text without its citations and the space before each (``by`` in their place)."""
    return _SPACED_CITATION.sub(by, text)


def citation_run(numbers: Iterable[int]) -> str:
    """The numbers as one run of citations after a space, " [1][2]", to end a sentence; '' for none."""
    run = "".join(f"[{n}]" for n in numbers)
    return " " + run if run else ""


def merged_citations(text: str) -> str:
    """Citations side by side as one run, each once: "Ri Yong Ho [1] [1][2] [3]" → "… [1][2][3]"."""
    return _CITATION_RUN.sub(lambda run: citation_run(sorted(set(citations_in(run.group(0))))), text)
