"""Do English answers state the asked fact in English? Per bundled set, for the English
factoid and list questions that have an answer: the share whose English lines (the
answer without its quoted Dutch lines) hold at least one reference keyword, the keyword
recall of those English lines and of the whole answer, and the number of English facts
(`Answer.spans`) whose Dutch source is not in the sentence they cite (should be 0).

    .venv/bin/python scripts/english_facts.py [--sets dev extra_dev ...]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from assembly.library import open_pipeline
from eval.dataset import load_dataset
from eval.metrics import keyword_in_text, keyword_recall
from rag.settings import Settings
from rag.types import Answer

DATA = Path(__file__).resolve().parents[1] / "eval" / "data"
SETS = ("dev", "extra_dev", "holdout", "holdout_v2", "holdout_v3")


def english_lines(answer: Answer) -> str:
    """The answer without the lines that quote a cited passage."""
    quotes = [" ".join(c.quote.split()) for c in answer.citations]
    kept = []
    for line in answer.answer.splitlines():
        plain = " ".join(re.sub(r"\[\d+\]", " ", line.lstrip("- ")).split())
        if plain and not any(plain in q for q in quotes):
            kept.append(line)
    return "\n".join(kept)


def unfounded(answer: Answer) -> int:
    """English facts whose Dutch source does not stand in the sentence they cite."""
    quotes = {c.marker: c.quote for c in answer.citations}
    return sum(
        source not in quotes.get(span.marker, "") for span in answer.spans for source in span.source
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    args = parser.parse_args()
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    for name in args.sets:
        items = [
            i
            for i in load_dataset(DATA / f"{name}.jsonl")
            if i.lang == "en" and i.type in ("factoid", "list") and i.keywords
        ]
        carried = bad = 0
        english_recall: list[float] = []
        whole_recall: list[float] = []
        for item in items:
            answer = pipeline.ask(item.question)
            english = "" if answer.refused else english_lines(answer)
            carried += any(keyword_in_text(k, english) for k in item.keywords)
            english_recall.append(keyword_recall(item.keywords, english) or 0.0)
            whole = "" if answer.refused else answer.answer
            whole_recall.append(keyword_recall(item.keywords, whole) or 0.0)
            bad += unfounded(answer)
        n = len(items) or 1
        row = {
            "set": name,
            "questions": len(items),
            "fact_in_english": round(carried / n, 3),
            "keyword_recall_english_lines": round(sum(english_recall) / n, 3),
            "keyword_recall_answer": round(sum(whole_recall) / n, 3),
            "english_facts_not_in_cited_sentence": bad,
        }
        print(json.dumps(row))


if __name__ == "__main__":
    main()
