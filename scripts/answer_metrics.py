"""The answer issue's figures on a dataset, for Dutch and English separately.

recall@5 of the evidence quotes; share of answers whose citations all carry verbatim
quotes (each quote found word for word in the cleaned source); refusal rate on
unanswerable and on answerable questions; p50/p95 end-to-end latency of `rag ask`
once the pipeline is loaded (index and model load once, as in `rag ask --questions`).

    .venv/bin/python scripts/answer_metrics.py [--dataset FILE.jsonl] [--backend NAME]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from assembly.library import open_pipeline
from eval.dataset import DEFAULT_DATASET, load_dataset
from eval.metrics import evidence_ranks, recall_at_k
from index.clean import clean_document, corpus_vocabulary
from index.load import load_file
from rag.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--backend", default=None)
    args = parser.parse_args()
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    sources = [load_file(Path(d.source)) for d in pipeline.documents()]
    vocabulary = corpus_vocabulary(s.text for s in sources)
    cleaned = {}
    for source in sources:
        document = clean_document(source, vocabulary)
        notes = " ".join(f"{n.number} {n.text}" for n in document.footnotes)
        cleaned[source.name] = " ".join(f"{document.text} {notes}".split())
    items = load_dataset(args.dataset)
    pipeline.ask(items[0].question, backend=args.backend)  # warm-up, not timed
    rows = []
    for item in items:
        started = time.perf_counter()
        answer = pipeline.ask(item.question, backend=args.backend)
        elapsed = (time.perf_counter() - started) * 1000
        ranked = [(h.rank, h.chunk.text) for h in answer.passages]
        ranks = evidence_ranks(item.evidence, ranked) if item.evidence else []
        verbatim = all(
            piece in cleaned[c.document] for c in answer.citations for piece in c.quote.split(" … ")
        )
        rows.append((item, answer, elapsed, recall_at_k(ranks, 5) if ranks else None, verbatim))
    print(
        "| language | n | recall@5 | citations verbatim | refused (unanswerable) "
        "| refused (answerable) | p50 ms | p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for lang in ("nl", "en"):
        group = [r for r in rows if r[0].lang == lang]
        recall = [r[3] for r in group if r[3] is not None]
        cited = [r[4] for r in group if r[1].citations]
        unanswerable = [r[1].refused for r in group if r[0].type == "unanswerable"]
        answerable = [r[1].refused for r in group if r[0].type != "unanswerable"]
        latency = [r[2] for r in group]
        print(
            f"| {lang} | {len(group)} | {np.mean(recall):.3f} | {np.mean(cited):.3f} "
            f"| {np.mean(unanswerable):.2f} ({sum(unanswerable)}/{len(unanswerable)}) "
            f"| {np.mean(answerable):.2f} ({sum(answerable)}/{len(answerable)}) "
            f"| {np.percentile(latency, 50):.0f} | {np.percentile(latency, 95):.0f} |"
        )


if __name__ == "__main__":
    main()
