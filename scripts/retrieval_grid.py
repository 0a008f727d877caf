"""Recall@5 of the evidence for retrieval settings side by side, per language, with the
paraphrased questions apart: how a retrieval tunable was chosen.

Each argument is a JSON object of `RetrievalSettings` fields; `{}` is the defaults.
Answerable questions with evidence from the development sets only (never a hold-out).

    .venv/bin/python scripts/retrieval_grid.py '{}' '{"align_min_similarity": 0.7}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assembly.library import open_pipeline
from eval.metrics import evidence_ranks, recall_at_k
from rag.pipeline import Pipeline
from rag.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "eval" / "data"
SETS = ("dev.jsonl", "extra_dev.jsonl", "answers_dev.jsonl", "train_relevance.jsonl")


def questions() -> list[dict]:
    rows = [
        json.loads(line)
        for name in SETS
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [
        r for r in rows if r.get("evidence") and r.get("answerable", r["type"] != "unanswerable")
    ]


def main() -> None:
    variants = [json.loads(arg) for arg in sys.argv[1:]] or [{}]
    rows = questions()
    base = open_pipeline(Settings(), build_if_missing=True)
    for variant in variants:
        pipeline = Pipeline(Settings(retrieval=variant), base.store, base.embedder)
        found: dict[str, list[float]] = {}
        for row in rows:
            hits = pipeline.retrieve(row["question"], k=5)
            ranks = evidence_ranks(row["evidence"], [(h.rank, h.chunk.text) for h in hits])
            recall = recall_at_k(ranks, 5) or 0.0
            kind = "paraphrase" if row["type"] == "paraphrase" else "other"
            for key in (f"{row['lang']} all", f"{row['lang']} {kind}"):
                found.setdefault(key, []).append(recall)
        cells = ", ".join(
            f"{k} {sum(v) / len(v):.3f} (n={len(v)})" for k, v in sorted(found.items())
        )
        print(f"{json.dumps(variant)}: {cells}")


if __name__ == "__main__":
    main()
