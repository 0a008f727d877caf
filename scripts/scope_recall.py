"""Does a scope keep the letter's answers on a mixed index? recall@5 of the letter's
evidence, per language: the letter alone, a mixed index (the letter plus the synthetic
parliamentary papers of tests/fixtures/parliament) unscoped, and the same mixed index
scoped to the letter; plus how many questions get another document's passage in the
top 5. Retrieval only (`Pipeline.retrieve`), so it is fast and backend-free.

    PYTHONPATH=. .venv/bin/python scripts/scope_recall.py [--dataset FILE.jsonl]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from assembly.library import open_pipeline
from eval.dataset import DEFAULT_DATASET, load_dataset
from eval.metrics import evidence_ranks, recall_at_k
from index.build import build
from index.load import bundled_corpus, load_paths
from rag.retrieval.embeddings import load_embedder
from rag.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "parliament"
LETTER = "eu-geopolitiek-kamerbrief"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    items = [i for i in load_dataset(args.dataset) if i.evidence]
    embedder = load_embedder(Settings().embedding)
    with tempfile.TemporaryDirectory() as folder:
        runs = {}
        for name, paths in (
            ("letter", [bundled_corpus()]),
            ("mixed", [bundled_corpus(), FIXTURES]),
        ):
            settings = Settings(index={"path": Path(folder) / name})
            build(settings, embedder, documents=load_paths(paths))
            pipeline = open_pipeline(settings)
            scopes = {"letter": [None], "mixed": [None, [LETTER]]}[name]
            for scope in scopes:
                label = f"{name} ({'scoped to the letter' if scope else 'unscoped'})"
                runs[label] = [
                    pipeline.retrieve(item.question, 5, documents=scope) for item in items
                ]
    print(
        "| index | language | n | recall@5 (letter evidence) | questions with another "
        "document in the top 5 |"
    )
    print("|---|---|---|---|---|")
    for label, hits_per_item in runs.items():
        for lang in ("nl", "en"):
            rows = [(i, h) for i, h in zip(items, hits_per_item, strict=True) if i.lang == lang]
            recall = []
            others = 0
            for item, hits in rows:
                ranked = [(h.rank, h.chunk.text) for h in hits if h.chunk.doc_id == LETTER]
                value = recall_at_k(evidence_ranks(item.evidence, ranked), 5)
                recall.append(value or 0.0)
                others += any(h.chunk.doc_id != LETTER for h in hits)
            print(f"| {label} | {lang} | {len(rows)} | {np.mean(recall):.3f} | {others} |")


if __name__ == "__main__":
    main()
