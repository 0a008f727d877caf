"""Evaluation datasets: JSONL rows of questions with reference answers, evidence and keywords.

Each row has id, lang ('nl'/'en'), question, type (factoid, list, reasoning, multi_hop,
summary, unanswerable), answer, evidence (verbatim quotes from the source) and keywords.
The sets ship in `eval/data/` (its README says where each came from and what it is for);
the default is the development set `eval/data/dev.jsonl`, so evaluation needs nothing
outside the repository. `bundled_sets` lists them for `rag eval --help`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().with_name("data")
DEFAULT_DATASET = DATA_DIR / "dev.jsonl"
# A row of the README's table: | `name.jsonl` | what it is for | ... |
_README_ROW = re.compile(r"^\|\s*`([^`]+\.jsonl)`\s*\|([^|]*)\|", re.MULTILINE)
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
    """Read a JSONL dataset (default: the bundled dev set), failing clearly on bad input."""
    path = Path(path) if path is not None else DEFAULT_DATASET
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise InputError(
            f"Dataset '{path}' {what}. Check the path given to --dataset, or use a bundled "
            f"set (see `rag eval --help`), e.g. {display_path(DEFAULT_DATASET)}."
        )
    items: list[EvalItem] = []
    seen: set[str] = set()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Dataset '{path}' is not UTF-8 text (byte {exc.start + 1}). Save it as UTF-8 JSONL."
        ) from None
    for number, line in enumerate(text.splitlines(), 1):
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


@dataclass(frozen=True)
class BundledSet:
    """A question set shipped in `eval/data/`."""

    path: Path
    questions: int
    languages: dict[str, int]
    purpose: str


def bundled_sets(folder: Path = DATA_DIR) -> list[BundledSet]:
    """The `.jsonl` files in `folder` with their question counts per language and what
    each is for (the `for` column of the folder's README; empty if it says nothing)."""
    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    purposes = {name: purpose.strip() for name, purpose in _README_ROW.findall(text)}
    found = []
    for path in sorted(folder.glob("*.jsonl")):
        languages: dict[str, int] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lang = str(json.loads(line).get("lang", "nl"))
                languages[lang] = languages.get(lang, 0) + 1
        found.append(
            BundledSet(path, sum(languages.values()), languages, purposes.get(path.name, ""))
        )
    return found


def display_path(path: Path) -> str:
    """`path` relative to the repository root when it lies inside it, else as given."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
