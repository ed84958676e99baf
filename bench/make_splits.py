"""Build the evaluation splits used for the answer figures in the README (deterministic).

- xquad: every other paragraph (by doc_id) of docs.es ingested; every 8th English question asked,
  so that about half the questions have their paragraph absent (abstention is measured on those).
  A second sample (every 8th from the 5th on) checks what was calibrated on the first; a third
  (every 8th from the 3rd on), first run on 2026-12-03, had never been looked at before then.
- piaf-fr: every 22nd answerable question and every 5th unanswerable one.

Usage: python bench/make_splits.py OUT_DIR [EVAL_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> int:
    out = Path(sys.argv[1])
    evals = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parents[2] / "shared" / "eval"
    out.mkdir(parents=True, exist_ok=True)
    docs = read(evals / "xquad" / "docs.es.jsonl")
    kept = set(sorted({str(d["doc_id"]) for d in docs})[::2])
    write(out / "docs.es.half.jsonl", [d for d in docs if d["doc_id"] in kept])
    questions = read(evals / "xquad" / "questions.en.jsonl")
    write(out / "questions.en.sample.jsonl", questions[::8])
    write(out / "questions.en.heldout.jsonl", questions[4::8])
    write(out / "questions.en.heldout2.jsonl", questions[2::8])
    piaf = read(evals / "piaf-fr" / "questions.fr.jsonl")
    answerable = [q for q in piaf if q["answerable"]][::22]
    write(out / "piaf.small.jsonl", answerable + [q for q in piaf if not q["answerable"]][::5])
    print(f"splits written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
