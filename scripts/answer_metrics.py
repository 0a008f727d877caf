"""The answer issue's figures on a dataset, for Dutch and English separately.

recall@5 of the evidence quotes; share of answers whose citations all carry verbatim
quotes (each quote found word for word in the cleaned source); refusal rate on
unanswerable and on answerable questions; share of the answered answerable questions
marked `partial`; p50/p95 end-to-end latency of `rag ask`
once the pipeline is loaded (index and model load once, as in `rag ask --questions`);
keyword recall of the answers to answerable questions (refusals count 0). A question with
`follow_up_of` is asked after the question it follows, with that turn as history.

    .venv/bin/python scripts/answer_metrics.py [--dataset FILE.jsonl] [--backend NAME]
        [--document ID ...] [--by-type] [--misses MISSES.jsonl]

`--misses` writes one line per question that misses a target (an unanswerable one
answered, an answerable one refused, evidence not in the top 5, keywords missing), with
the answer's first line, so a report can say which questions miss and why.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from assembly.library import open_pipeline
from eval.dataset import DEFAULT_DATASET, load_dataset
from eval.metrics import evidence_ranks, keyword_recall, recall_at_k
from index.clean import clean_document, corpus_vocabulary
from index.load import load_file
from rag.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--backend", default=None)
    parser.add_argument(
        "--by-type", action="store_true", help="Also one row per language and question type."
    )
    parser.add_argument(
        "--document",
        action="append",
        default=None,
        help="Answer only from this document id (repeatable), e.g. the letter in a mixed index.",
    )
    parser.add_argument("--misses", type=Path, default=None, help="Write the misses here.")
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
    follows = follow_ups(args.dataset)
    pipeline.warm_up()  # what the first Dutch or English question would load
    pipeline.ask(items[0].question, backend=args.backend, documents=args.document)  # warm-up
    rows = []
    answered: dict[str, tuple[str, str]] = {}
    for item in items:
        earlier = answered.get(follows.get(item.id, ""))
        started = time.perf_counter()
        answer = pipeline.ask(
            item.question,
            backend=args.backend,
            history=[earlier] if earlier else (),
            documents=args.document,
        )
        answered[item.id] = (item.question, answer.answer)
        elapsed = (time.perf_counter() - started) * 1000
        ranked = [(h.rank, h.chunk.text) for h in answer.passages]
        ranks = evidence_ranks(item.evidence, ranked) if item.evidence else []
        verbatim = all(
            piece in cleaned[c.document] for c in answer.citations for piece in c.quote.split(" … ")
        )
        rows.append((item, answer, elapsed, recall_at_k(ranks, 5) if ranks else None, verbatim))
    groups = [(lang, None) for lang in ("nl", "en")]
    if args.by_type:
        groups += sorted({(r[0].lang, r[0].type) for r in rows})
    print(
        "| language | type | n | recall@5 | citations verbatim | refused (unanswerable) "
        "| refused (answerable) | partial (answerable) | p50 ms | p95 ms | keyword recall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for lang, kind in groups:
        group = [r for r in rows if r[0].lang == lang and kind in (None, r[0].type)]
        print(f"| {lang} | {kind or 'all'} | " + " | ".join(cells(group)) + " |")
    if args.misses is not None:
        with args.misses.open("w", encoding="utf-8") as out:
            for row in rows:
                missed = misses(row)
                if missed:
                    out.write(json.dumps(missed, ensure_ascii=False) + "\n")


def misses(row: tuple) -> dict | None:
    """What one question misses, or None."""
    item, answer, _, recall, _ = row
    found = []
    if item.type == "unanswerable" and not answer.refused:
        found.append("unanswerable answered")
    if item.type != "unanswerable":
        if answer.refused:
            found.append("answerable refused")
        if recall is not None and recall < 1:
            found.append(f"recall@5 {recall:.2f}")
        kept = keyword_recall(item.keywords, answer.answer) if item.keywords else None
        if kept is not None and kept < 1:
            found.append(f"keywords {kept:.2f}")
    if not found:
        return None
    first = answer.answer.strip().splitlines()[0] if answer.answer.strip() else ""
    return {
        "id": item.id,
        "lang": item.lang,
        "type": item.type,
        "misses": found,
        "question": item.question,
        "answer_opens": first[:160],
    }


def cells(group: list) -> list[str]:
    """One table row's figures for a group of (item, answer, ms, recall, verbatim) rows."""
    recall = [r[3] for r in group if r[3] is not None]
    cited = [r[4] for r in group if r[1].citations]
    unanswerable = [r[1].refused for r in group if r[0].type == "unanswerable"]
    answerable = [r[1].refused for r in group if r[0].type != "unanswerable"]
    partial = [
        getattr(r[1], "answered", "full") == "partial"
        for r in group
        if r[0].type != "unanswerable" and not r[1].refused
    ]
    latency = [r[2] for r in group]
    keywords = [
        keyword_recall(r[0].keywords, r[1].answer) or 0.0
        for r in group
        if r[0].type != "unanswerable" and r[0].keywords
    ]
    return [
        str(len(group)),
        f"{np.mean(recall):.3f}" if recall else "-",
        f"{np.mean(cited):.3f}" if cited else "-",
        _share(unanswerable),
        _share(answerable),
        _share(partial),
        f"{np.percentile(latency, 50):.0f}",
        f"{np.percentile(latency, 95):.0f}",
        f"{np.mean(keywords):.3f}" if keywords else "-",
    ]


def _share(flags: list[bool]) -> str:
    return f"{np.mean(flags):.2f} ({sum(flags)}/{len(flags)})" if flags else "-"


def follow_ups(path: Path) -> dict[str, str]:
    """Follow-up question id → the id of the question it follows (`follow_up_of`)."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        if row.get("follow_up_of"):
            pairs[str(row["id"])] = str(row["follow_up_of"])
    return pairs


if __name__ == "__main__":
    main()
