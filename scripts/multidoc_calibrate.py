"""Calibrate the document-level stage (`rag/retrieval/documents.py`) on development
questions only: the letter's own sets asked in the mixed index (their evidence is the
letter's) and `eval/data/multidoc/dev.jsonl` (motions and the letter).

For each setting in a small grid it asks every question once and reports the letter's
evidence recall@5, the right document first and the evidence recall on the multidoc
questions, and how often an answer asked "which document?".

    .venv/bin/python scripts/multidoc_calibrate.py --index /tmp/md_idx \\
        [--letter-sets eval/data/dev.jsonl eval/data/extra_dev.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from multidoc_bench import Resolver, answer_documents  # noqa: E402

from eval.metrics import evidence_ranks, recall_at_k  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRID = {
    "document_passages": [3, 4],
    "document_keep_ratio": [0.6, 0.7],
    "document_metadata_weight": [0.5],
    "document_limit": [2, 3, 5],
}


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def recall(answer: Any, evidence: list[str]) -> float | None:
    if not evidence:
        return None
    return recall_at_k(
        evidence_ranks(evidence, [(h.rank, h.chunk.text) for h in answer.passages]), 5
    )


def run(pipeline: Any, letter: list[dict[str, Any]], multidoc: list[dict[str, Any]]) -> dict:
    resolve = Resolver(pipeline.documents())
    letter_recall, asked_back, first, evidence = [], 0, [], []
    for row in letter:
        if row.get("type") == "unanswerable" or not row.get("evidence"):
            continue
        answer = pipeline.ask(row["question"])
        asked_back += bool(answer.candidates)
        value = recall(answer, row["evidence"])
        if value is not None:
            letter_recall.append(value)
    for row in multidoc:
        answer = pipeline.ask(row["question"])
        asked_back += bool(answer.candidates)
        expected = [resolve(d) for d in row.get("expected_documents") or []]
        if expected and row.get("type") not in ("list", "count"):
            first.append(answer_documents(answer)[:1] == expected[:1])
        value = recall(answer, row.get("evidence") or [])
        if value is not None:
            evidence.append(value)
    return {
        "letter_recall@5": round(sum(letter_recall) / max(len(letter_recall), 1), 3),
        "doc@1": round(sum(first) / max(len(first), 1), 3),
        "evidence": round(sum(evidence) / max(len(evidence), 1), 3),
        "which_document": asked_back,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument(
        "--letter-sets",
        nargs="*",
        type=Path,
        default=[ROOT / "eval/data/dev.jsonl", ROOT / "eval/data/extra_dev.jsonl"],
    )
    parser.add_argument("--multidoc", type=Path, default=ROOT / "eval/data/multidoc/dev.jsonl")
    args = parser.parse_args()

    from assembly.library import open_pipeline
    from rag.settings import Settings

    settings = Settings()
    settings = settings.model_copy(
        update={"index": settings.index.model_copy(update={"path": args.index})}
    )
    pipeline = open_pipeline(settings)
    pipeline.warm_up()
    letter = [r for path in args.letter_sets for r in rows(path)]
    multidoc = rows(args.multidoc)
    base = pipeline.retriever.settings
    off = base.model_copy(update={"document_stage": False})
    pipeline.retriever.settings = off
    print("stage off", run(pipeline, letter, multidoc))
    for values in itertools.product(*GRID.values()):
        change = dict(zip(GRID, values, strict=True))
        pipeline.retriever.settings = base.model_copy(update=change)
        print(change, run(pipeline, letter, multidoc), flush=True)


if __name__ == "__main__":
    main()
