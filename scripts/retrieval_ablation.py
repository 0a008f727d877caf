"""Which retrieval parts help, per language: recall@5/@10 of the evidence quotes.

Variants, all over the same index and the same bundled embedder:
dense only; BM25 only; BM25 over cross-lingual concepts (term alignment); hybrid with
reciprocal rank fusion; hybrid with relative score fusion (the default), with and without
alignment; the full retriever (adds questions about parts and sections of the document,
MMR and linked footnotes), also with its word pairs or its part/section handling off.

    .venv/bin/python scripts/retrieval_ablation.py [--dataset eval/data/dev.jsonl]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assembly.library import open_pipeline
from eval.dataset import DEFAULT_DATASET, load_dataset
from eval.metrics import recall_table
from rag.query.analysis import analyse
from rag.retrieval.hybrid import HybridRetriever, score_fusion
from rag.settings import Settings

Ranker = Callable[[str], list[int]]


def rrf(rankings: list[list[tuple[int, float]]], k: int = 60) -> list[tuple[int, float]]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: -pair[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    store, retriever = pipeline.store, pipeline.retriever
    fetch = pipeline.settings.retrieval.fetch_k

    def dense(q: str) -> list[tuple[int, float]]:
        return store.dense_search(pipeline.embedder.encode_queries([q])[0], fetch)

    def lexical(q: str, align: bool) -> list[tuple[int, float]]:
        if not align:
            return store.lexical_search(q, fetch)
        return store.concept_search(retriever.aligner.concepts(q), fetch)

    def full(**switches: Any) -> Ranker:
        """The default retriever, with some of its parts switched off through settings."""
        settings = pipeline.settings.retrieval.model_copy(update=switches)
        variant = HybridRetriever(store, pipeline.embedder, settings) if switches else retriever

        def rank(q: str) -> list[int]:
            hits = variant.search(analyse(q), 10)
            return [store.position[h.chunk.chunk_id] for h in hits if h.rank <= 10]

        return rank

    variants: dict[str, Ranker] = {
        "dense only": lambda q: [i for i, _ in dense(q)],
        "BM25 only": lambda q: [i for i, _ in lexical(q, False)],
        "BM25 + alignment": lambda q: [i for i, _ in lexical(q, True)],
        "hybrid RRF, no alignment": lambda q: [i for i, _ in rrf([dense(q), lexical(q, False)])],
        "hybrid RRF + alignment": lambda q: [i for i, _ in rrf([dense(q), lexical(q, True)])],
        "hybrid score fusion, no alignment": lambda q: [
            i for i, _ in score_fusion([dense(q), lexical(q, False)])
        ],
        "hybrid score fusion + alignment": lambda q: [
            i for i, _ in score_fusion([dense(q), lexical(q, True)])
        ],
        "full retriever (default)": full(),
        "full, alignment without word pairs": full(word_pairs=False),
        "full, without document parts and sections": full(document_parts=False),
    }
    items = [item for item in load_dataset(args.dataset) if item.evidence]
    texts = {
        name: lambda q, rank=ranker: [store.chunks[p].text for p in rank(q)]
        for name, ranker in variants.items()
    }
    print("\n".join(recall_table(items, texts, "variant")))


if __name__ == "__main__":
    main()
