"""Calibrate which documents belong in a list across documents (`answer.across_*`):
item recall and precision of the list questions over a grid of the dense weight, the
ratio to the best document and the floor.

For every list or count question of the given sets (types containing "list" or "count")
each document of the asked kind gets its lexical score (the rarity-weighted share of the
subject's concepts in its request and title, or its text) and its dense score (the
subject's cosine with its title and request), computed once as `rag/answer/across.py`
does; the grid then mixes them and keeps the documents within the ratio of the best.

    PYTHONPATH=. .venv/bin/python scripts/multidoc_lists_calibrate.py --index /tmp/mix \\
        [--dataset eval/data/multidoc/dev.jsonl eval/data/multidoc/written_dev.jsonl ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SETS = ("dev.jsonl", "written_dev.jsonl", "holdout.jsonl")
WEIGHTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
RATIOS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
FLOORS = (0.0, 0.2, 0.25, 0.3)


def features(pipeline: Any, row: dict[str, Any], resolve: Any) -> dict[str, Any] | None:
    """The question's candidate documents with their (lexical, dense) scores."""
    from rag.answer import across, members

    wanted = across.asked(row["question"])
    if wanted is None:
        return None
    store = pipeline.store
    documents = [d for d in store.manifest.documents if not wanted.kind or d.kind == wanted.kind]
    every = across._texts(store, across._chunks_by_document(store))
    texts = {d.doc_id: every.get(d.doc_id, frozenset()) for d in documents}
    names = members.names_in(row["question"], documents, texts)
    if names:
        wanted = across.asked(across._without(row["question"], names)) or wanted
    subject = members.subject_text(wanted.subject, names)
    aligner = pipeline.retriever.aligner
    concepts = members.concepts_of(subject, aligner, texts, row.get("lang", ""))
    first = members.asks_first_signer(row["question"])
    signed = any if across._either(row["question"], names) else all
    candidates = [
        d for d in documents if not names or signed(members.signed_by(d, n, first) for n in names)
    ]
    vectors = members.summary_vectors(store, pipeline.embedder, candidates)
    asked_vector = pipeline.embedder.encode_queries([subject])[0]
    scored = []
    for d in candidates:
        asks = wanted.request and bool(d.request)
        have = across._request_words(d) if asks else texts[d.doc_id]
        lexical = members.weighted_share(concepts, have)
        scored.append((d.doc_id, lexical, float(vectors[d.doc_id] @ asked_vector)))
    items = row.get("expected_items") or row.get("items") or row.get("expected_documents")
    return {
        "expected": {resolve(i) for i in items or []},
        "topic": members.has_topic(subject),
        "concepts": bool(concepts),
        "scored": scored,
    }


def chosen(question: dict[str, Any], weight: float, ratio: float, floor: float) -> set[str]:
    """The documents a setting keeps (as `answer_across` does)."""
    if not question["topic"]:
        return {d for d, _, _ in question["scored"]}
    if not question["concepts"]:
        return set()
    scores = {d: (1 - weight) * lex + weight * dense for d, lex, dense in question["scored"]}
    best = max(scores.values(), default=0.0)
    return (
        {d for d, s in scores.items() if s >= max(floor, ratio * best)} if best >= floor else set()
    )


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "multidoc_bench", ROOT / "scripts/multidoc_bench.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument(
        "--dataset", nargs="*", type=Path, default=[ROOT / "eval/data/multidoc" / s for s in SETS]
    )
    args = parser.parse_args()

    from assembly.library import open_pipeline
    from rag.settings import Settings

    settings = Settings()
    settings = settings.model_copy(
        update={"index": settings.index.model_copy(update={"path": args.index})}
    )
    pipeline = open_pipeline(settings)
    resolve = _bench().Resolver(pipeline.documents())  # the benchmark's reference resolver
    rows = [
        json.loads(line)
        for path in args.dataset
        for line in path.open(encoding="utf-8")
        if line.strip()
    ]
    questions = [
        q
        for row in rows
        if any(t in str(row.get("type", "")) for t in ("list", "count"))
        and (q := features(pipeline, row, resolve)) is not None
    ]
    print(f"{len(questions)} list and count questions")
    print("| dense weight | ratio | floor | item recall | item precision |")
    print("|---|---|---|---|---|")
    for weight, ratio, floor in product(WEIGHTS, RATIOS, FLOORS):
        recall, precision = [], []
        for q in questions:
            kept = chosen(q, weight, ratio, floor)
            hit = len(kept & q["expected"])
            recall.append(hit / len(q["expected"]) if q["expected"] else 1.0)
            precision.append(hit / len(kept) if kept else 0.0)
        print(
            f"| {weight} | {ratio} | {floor} | {np.mean(recall):.3f} | {np.mean(precision):.3f} |"
        )


if __name__ == "__main__":
    main()
