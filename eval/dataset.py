"""Evaluation datasets: JSONL rows of questions with reference answers, evidence and keywords.

Each row has id, lang ('nl'/'en'), question, type (factoid, list, reasoning, multi_hop,
summary, unanswerable), answer, evidence (verbatim quotes from the source) and keywords.
The default dataset is the shared dev set, `../shared/eval/dev.jsonl` from the repository
root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO_ROOT / "../shared/eval/dev.jsonl"
QUESTION_TYPES = ("factoid", "list", "reasoning", "multi_hop", "summary", "unanswerable")


@dataclass(frozen=True)
class EvalItem:
    """One dataset question."""

    id: str
    lang: str
    question: str
    type: str
    answer: str = ""
    evidence: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    @property
    def unanswerable(self) -> bool:
        return self.type == "unanswerable"


def load_dataset(path: Path | None = None) -> list[EvalItem]:
    """Read a JSONL dataset (default: the shared dev set), failing clearly on bad input."""
    path = Path(path) if path is not None else DEFAULT_DATASET
    if not path.exists():
        hint = (
            " The default dev set lives in ../shared/eval/dev.jsonl next to the repository;"
            " pass another file with --dataset."
            if path == DEFAULT_DATASET
            else " Check the path given to --dataset."
        )
        raise InputError(f"Dataset '{path.resolve()}' does not exist.{hint}")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = EvalItem(
                id=str(row.get("id") or f"q{number:03d}"),
                lang=str(row.get("lang", "nl")),
                question=str(row["question"]),
                type=str(row.get("type", "factoid")),
                answer=str(row.get("answer", "")),
                evidence=[str(e) for e in row.get("evidence", [])],
                keywords=[str(k) for k in row.get("keywords", [])],
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f"{path}:{number}: not a dataset row ({type(exc).__name__}: {exc}). Each line "
                "must be a JSON object with at least 'question'."
            ) from None
        if item.id in seen:
            raise InputError(f"{path}:{number}: duplicate id '{item.id}'.")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InputError(f"Dataset '{path}' holds no questions.")
    return items
