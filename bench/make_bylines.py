"""Write the sample news articles with a byline and a date each, for ``bench/byline-questions.jsonl``.

The NTREX articles in ``samples/`` carry neither (see samples/NOTICE), so the authors and dates
given here are made up: they measure whether "Who wrote the article about …?" and "When was it
published?" find the article meant and read its record, not who wrote the real stories.

Usage: python bench/make_bylines.py OUT.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

AUTHORS = ["Marie Dupont", "Jean Martin", "Claire Bernard", "Luc Petit", "Sophie Durand", "Paul Moreau"]


def main() -> int:
    samples = Path(__file__).resolve().parents[1] / "samples" / "ntrex-news-fr.jsonl"
    rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines() if line.strip()]
    with Path(sys.argv[1]).open("w", encoding="utf-8") as out:
        for day, (row, author) in enumerate(zip(rows, AUTHORS, strict=True), 1):
            out.write(json.dumps({**row, "author": author, "date": f"2018-10-{day:02d}"}, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
