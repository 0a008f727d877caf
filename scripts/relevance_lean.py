"""Does the relevance verdict lean by language? Its verdicts on whole answers, per language.

For each question of the given sets (asked alone, as `rag ask` would), the answer's
relevance (the verdict on its best cited sentence, `Answer.relevance`): among answerable
questions that were answered, the share judged only `partial` (shown as "may not answer
it directly"); among unanswerable questions that were answered anyway, the share judged
`answers`. Issue 21 found 21 in 25 and 6 in 8 respectively, English and Dutch.

    .venv/bin/python scripts/relevance_lean.py --dataset eval/data/extra_dev.jsonl \\
        --dataset eval/data/dev.jsonl --dataset eval/data/answers_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assembly.library import open_pipeline
from rag.settings import Settings

UNANSWERABLE = ("unanswerable", "tempting_unanswerable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, action="append", required=True)
    args = parser.parse_args()
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    counts: dict[str, dict[str, list[int]]] = {}
    for path in args.dataset:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            answer = pipeline.ask(row["question"])
            if answer.refused or answer.relevance is None:
                continue
            level = answer.relevance.level
            tally = counts.setdefault(row["lang"], {"answerable": [0, 0], "unanswerable": [0, 0]})
            if row["type"] in UNANSWERABLE or row.get("answerable") is False:
                tally["unanswerable"][0] += level == "answers"
                tally["unanswerable"][1] += 1
            else:
                tally["answerable"][0] += level == "partial"
                tally["answerable"][1] += 1
    print("| language | answerable, answered: judged partial", end=" ")
    print("| unanswerable, answered: judged answers |")
    print("|---|---|---|")
    for lang in ("nl", "en"):
        c = counts.get(lang, {"answerable": [0, 0], "unanswerable": [0, 0]})
        print(f"| {lang} | {_share(*c['answerable'])} | {_share(*c['unanswerable'])} |")


def _share(hits: int, total: int) -> str:
    return f"{hits / total:.2f} ({hits}/{total})" if total else "-"


if __name__ == "__main__":
    main()
