"""Do English answers state the asked fact in English? For the English factoid and list
questions of each set, two measures of the answer's English lines (the answer without
its quoted Dutch lines):

- the asked fact (issue 22, item 2): each question is labelled with the kind of fact it
  asks (number, date, person, country, organisation, acronym, yes_no, amount, other) and
  the English keywords a correct English statement of that fact must contain
  (`fact_kind`, `fact_keywords_en`: on the question's own row when it has them, else in
  `eval/labels/english_facts.jsonl`; "A|B" accepts either). "fact in English" = all of a
  question's fact keywords stand in its English lines; reported for the asked kinds
  (every kind but "other") and for "other" apart;
- the old paraphrase measure: the share whose English lines hold at least one reference
  keyword, and the keyword recall of the English lines and of the whole answer.

Also the number of English facts (`Answer.spans`) whose Dutch source is not in the
sentence they cite (should be 0).

    .venv/bin/python scripts/english_facts.py [--split dev|holdout] [--sets NAME ...]
        [--dataset FILE ...] [--by-question]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assembly.library import open_pipeline
from eval.metrics import keyword_in_text, keyword_recall
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "eval" / "data"
LABELS = ROOT / "eval" / "labels" / "english_facts.jsonl"
SPLITS = {
    "dev": ("dev", "extra_dev", "answers_dev", "train_relevance"),
    "holdout": ("holdout", "holdout_v2", "holdout_v3", "holdout_v4"),
}
KINDS = ("number", "date", "person", "country", "organisation", "acronym", "yes_no", "amount")


@dataclass(frozen=True)
class Question:
    """One English factoid or list question with its fact label."""

    id: str
    question: str
    keywords: list[str]
    fact_kind: str
    fact_keywords: list[str]


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


def has_fact(keyword: str, text: str) -> bool:
    """A fact keyword ("A|B": either form) standing in the text."""
    return any(keyword_in_text(form.strip(), text) for form in keyword.split("|"))


def load_labels(path: Path = LABELS) -> dict[tuple[str, str], dict[str, object]]:
    """(set, id) → the label row of `eval/labels/english_facts.jsonl`."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {(row["set"], row["id"]): row for row in rows}


def questions(path: Path, labels: dict[tuple[str, str], dict[str, object]]) -> list[Question]:
    """The set's English factoid and list questions, each with its fact label."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("lang") != "en" or row.get("type") not in ("factoid", "list"):
            continue
        label = row if "fact_kind" in row else labels.get((path.stem, str(row["id"])), {})
        found.append(
            Question(
                id=str(row["id"]),
                question=str(row["question"]),
                keywords=[str(k) for k in row.get("keywords", [])],
                fact_kind=str(label.get("fact_kind", "unlabelled")),
                fact_keywords=[str(k) for k in label.get("fact_keywords_en", [])],  # type: ignore[attr-defined]
            )
        )
    return found


def score(question: Question, answer: Answer) -> dict[str, object]:
    """One question's figures: the asked fact and the old paraphrase keywords."""
    english = "" if answer.refused else english_lines(answer)
    whole = "" if answer.refused else answer.answer
    facts = [has_fact(k, english) for k in question.fact_keywords]
    return {
        "id": question.id,
        "fact_kind": question.fact_kind,
        "fact_in_english": bool(facts) and all(facts),
        "fact_keyword_recall": sum(facts) / len(facts) if facts else 0.0,
        "old_any_keyword": any(keyword_in_text(k, english) for k in question.keywords),
        "old_recall_english": keyword_recall(question.keywords, english) or 0.0,
        "old_recall_answer": keyword_recall(question.keywords, whole) or 0.0,
        "unfounded": unfounded(answer),
        "refused": answer.refused,
    }


def summary(name: str, rows: list[dict[str, object]]) -> dict[str, object]:
    """A set's (or a split's) row of figures."""

    def mean(key: str, subset: Iterable[dict[str, object]]) -> float | None:
        values = [float(r[key]) for r in subset]  # type: ignore[arg-type]
        return round(sum(values) / len(values), 3) if values else None

    asked = [r for r in rows if r["fact_kind"] in KINDS]
    other = [r for r in rows if r["fact_kind"] not in KINDS]
    return {
        "set": name,
        "questions": len(rows),
        "asked_kinds": len(asked),
        "fact_in_english_asked": mean("fact_in_english", asked),
        "fact_keyword_recall_asked": mean("fact_keyword_recall", asked),
        "other": len(other),
        "fact_in_english_other": mean("fact_in_english", other),
        "old_fact_in_english": mean("old_any_keyword", rows),
        "old_keyword_recall_english_lines": mean("old_recall_english", rows),
        "old_keyword_recall_answer": mean("old_recall_answer", rows),
        "english_facts_not_in_cited_sentence": sum(int(r["unfounded"]) for r in rows),  # type: ignore[call-overload]
    }


def by_kind(rows: list[dict[str, object]]) -> dict[str, str]:
    """'carried/asked' per fact kind."""
    kinds = sorted({str(r["fact_kind"]) for r in rows})
    return {
        k: f"{sum(bool(r['fact_in_english']) for r in rows if r['fact_kind'] == k)}/"
        f"{sum(r['fact_kind'] == k for r in rows)}"
        for k in kinds
    }


def run(
    pipeline: Pipeline, paths: list[Path], split: str, per_question: bool
) -> list[dict[str, object]]:
    """Ask every set's questions once; print a row per set, then the split's total."""
    labels = load_labels()
    everything: list[dict[str, object]] = []
    for path in paths:
        rows = []
        for question in questions(path, labels):
            row = score(question, pipeline.ask(question.question))
            rows.append(row)
            if per_question:
                print(json.dumps(row), file=sys.stderr)
        everything += rows
        print(json.dumps(summary(path.stem, rows)))
    print(json.dumps(summary(f"all ({split})", everything) | {"by_kind": by_kind(everything)}))
    return everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    parser.add_argument("--sets", nargs="*", help="bundled set names (default: the split's)")
    parser.add_argument("--dataset", nargs="*", type=Path, help="question files to score")
    parser.add_argument("--by-question", action="store_true", help="each question on stderr")
    args = parser.parse_args()
    paths = [DATA / f"{name}.jsonl" for name in (args.sets or SPLITS[args.split])]
    paths = list(args.dataset) if args.dataset else paths
    missing = [p for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"error: no question file {missing[0]}")
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    split = "given files" if args.dataset else args.split
    run(pipeline, paths, split, args.by_question)


if __name__ == "__main__":
    main()
