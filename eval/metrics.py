"""Evaluation metrics as pure functions: retrieval, answers, refusals and latency.

Retrieval is judged by *evidence ranks*: for every evidence quote of a question, the
rank of the best passage containing it (None: not retrieved). Ranks come from the
retriever, where a linked footnote shares its parent's rank, so cutting at rank ≤ k
keeps a footnote together with the passage it belongs to. Faithfulness (citation
recall/precision) lives in `eval.faithfulness`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from eval.dataset import EvalItem
from eval.textmatch import keyword_in_text, quote_in_passage

RECALL_KS = (1, 3, 5, 10)
NDCG_K = 10


# ---- retrieval ---------------------------------------------------------------------------


def evidence_ranks(quotes: Sequence[str], ranked: Sequence[tuple[int, str]]) -> list[int | None]:
    """For each quote, the best rank among (rank, passage text) pairs that contain it."""
    result: list[int | None] = []
    for quote in quotes:
        found = [rank for rank, text in ranked if quote_in_passage(quote, text)]
        result.append(min(found) if found else None)
    return result


def recall_at_k(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of evidence quotes found at rank ≤ k (None when there is no evidence)."""
    if not ranks:
        return None
    return sum(r is not None and r <= k for r in ranks) / len(ranks)


def recall_cells(items: Iterable[EvalItem], passages: Callable[[str], Sequence[str]]) -> list[str]:
    """Table cells "R@5", "R@10" for Dutch then English: the share of each question's
    evidence quotes in the first 5 / 10 of `passages(question)`, averaged per language."""
    listed = list(items)
    cells = []
    for lang in ("nl", "en"):
        r5, r10 = [], []
        for item in (i for i in listed if i.lang == lang):
            ranked = list(enumerate(passages(item.question)[:10], 1))
            ranks = evidence_ranks(item.evidence, ranked)
            r5.append(recall_at_k(ranks, 5) or 0.0)
            r10.append(recall_at_k(ranks, 10) or 0.0)
        cells += [f"{sum(r5) / len(r5):.3f}", f"{sum(r10) / len(r10):.3f}"]
    return cells


def recall_table(
    items: Iterable[EvalItem],
    rankers: dict[str, Callable[[str], Sequence[str]]],
    first_column: str,
) -> list[str]:
    """A Markdown table: one row of `recall_cells` per ranker (question → passage texts)."""
    listed = list(items)
    lines = [
        f"| {first_column} | nl R@5 | nl R@10 | en R@5 | en R@10 |",
        "|---|---|---|---|---|",
    ]
    for name, passages in rankers.items():
        lines.append(f"| {name} | " + " | ".join(recall_cells(listed, passages)) + " |")
    return lines


def reciprocal_rank(ranks: Sequence[int | None]) -> float | None:
    """1 / rank of the first passage holding any evidence quote; 0 if none was retrieved."""
    if not ranks:
        return None
    found = [r for r in ranks if r is not None]
    return 1.0 / min(found) if found else 0.0


def ndcg_at_k(ranks: Sequence[int | None], k: int = NDCG_K) -> float | None:
    """nDCG with each evidence quote as one relevant item, credited at its rank.

    The ideal places the n quotes at ranks 1..n. A footnote shares its parent's rank, so
    two quotes can be credited at the same rank; the score is capped at 1.
    """
    if not ranks:
        return None
    dcg = sum(1.0 / math.log2(r + 1) for r in ranks if r is not None and r <= k)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(ranks), k) + 1))
    return min(1.0, dcg / ideal)


# ---- answers -----------------------------------------------------------------------------


def keyword_recall(keywords: Sequence[str], answer: str) -> float | None:
    """Share of reference keywords found in the answer (None when there are none)."""
    if not keywords:
        return None
    return sum(keyword_in_text(k, answer) for k in keywords) / len(keywords)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def language_match(answer_language: str | None, question_language: str) -> float | None:
    """1.0 when the answer is in the question's language (None if unknown)."""
    if answer_language is None:
        return None
    return float(answer_language == question_language)


# ---- refusals ----------------------------------------------------------------------------


def refusal_metrics(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """Refusal precision/recall and wrong-refusal rate from (refused, unanswerable) pairs.

    precision: share of refusals that were on unanswerable questions; recall: share of
    unanswerable questions refused; wrong_refusal_rate: share of answerable ones refused.
    """
    items = list(pairs)
    tp = sum(r and u for r, u in items)
    refused = sum(r for r, _ in items)
    unanswerable = sum(u for _, u in items)
    answerable = len(items) - unanswerable
    wrong = sum(r and not u for r, u in items)
    return {
        "refusal_precision": tp / refused if refused else None,
        "refusal_recall": tp / unanswerable if unanswerable else None,
        "wrong_refusal_rate": wrong / answerable if answerable else None,
    }


def refusal_correct(refused: bool, unanswerable: bool) -> bool:
    """A refusal is right exactly on unanswerable questions."""
    return refused == unanswerable


# ---- latency and aggregation -------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100, linear interpolation); None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def latency_summary(timings: Iterable[Mapping[str, float]]) -> dict[str, dict[str, float | None]]:
    """p50/p95 (ms) per stage over answers' timings_ms."""
    stages: dict[str, list[float]] = {}
    for t in timings:
        for stage, ms in t.items():
            stages.setdefault(stage, []).append(float(ms))
    return {
        stage: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": float(len(v))}
        for stage, v in sorted(stages.items())
    }


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None
