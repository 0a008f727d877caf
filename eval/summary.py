"""Aggregate result rows into named metrics: overall, per language, per question type.

Every metric is the mean over the questions where it is defined (retrieval and answer
quality over answerable questions, faithfulness over answers that did not refuse);
refusal metrics and latency percentiles are computed over the whole group. `compare`
sets two summaries side by side, knowing for each metric whether higher is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval.metrics import NDCG_K, RECALL_KS, latency_summary, mean, refusal_metrics

ROW_METRICS = (
    *(f"recall@{k}" for k in RECALL_KS),
    "mrr",
    f"ndcg@{NDCG_K}",
    "keyword_recall",
    "answer_similarity",
    "language_match",
    "text_language_match",
    "citation_recall",
    "citation_precision",
    "unsupported_share",
    "dropped_citations",
    "invalid_citations",
    "refusal_correct",
)
LOWER_IS_BETTER = frozenset(
    {"unsupported_share", "dropped_citations", "invalid_citations", "wrong_refusal_rate"}
)
MAIN_METRICS = (
    "recall@5",
    "mrr",
    f"ndcg@{NDCG_K}",
    "keyword_recall",
    "answer_similarity",
    "language_match",
    "text_language_match",
    "citation_recall",
    "citation_precision",
    "unsupported_share",
    "refusal_precision",
    "refusal_recall",
    "wrong_refusal_rate",
)
TOLERANCE = 0.005


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """The group's metrics (means of per-question values, plus refusal metrics)."""
    names = list(ROW_METRICS) + sorted(
        {
            key
            for row in rows
            for key in row
            if key.startswith(("citation_recall_", "citation_precision_"))
        }
    )
    result: dict[str, float | None] = {"questions": float(len(rows))}
    for name in names:
        result[name] = mean(_number(row.get(name)) for row in rows)
    result.update(refusal_metrics((bool(r["refused"]), r["type"] == "unanswerable") for r in rows))
    return result


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


def grouped(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """overall / by_lang / by_type summaries and latency percentiles."""
    return {
        "overall": summarize(rows),
        "by_lang": {lang: summarize(_where(rows, "lang", lang)) for lang in _values(rows, "lang")},
        "by_type": {t: summarize(_where(rows, "type", t)) for t in _values(rows, "type")},
        "latency_ms": latency_summary(row.get("timings_ms") or {} for row in rows),
    }


def _values(rows: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    return list(dict.fromkeys(str(row[key]) for row in rows))


def _where(rows: Sequence[Mapping[str, Any]], key: str, value: str) -> list[Mapping[str, Any]]:
    return [row for row in rows if str(row[key]) == value]


def ratios(ours: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, float | None]:
    """ours / baseline for the main metrics (None where undefined or the baseline is 0)."""
    result: dict[str, float | None] = {}
    for name in MAIN_METRICS:
        a, b = ours.get(name), baseline.get(name)
        result[name] = a / b if a is not None and b else None
    return result


def compare(
    before: Mapping[str, Any], after: Mapping[str, Any], tolerance: float = TOLERANCE
) -> list[dict[str, Any]]:
    """Metric-by-metric change between two overall summaries, with a verdict each."""
    changes = []
    for name in [n for n in after if n in before and n != "questions"]:
        a, b = before.get(name), after.get(name)
        if a is None or b is None:
            verdict, delta = "n/a", None
        else:
            delta = b - a
            better = -delta if name in LOWER_IS_BETTER else delta
            verdict = (
                "improved"
                if better > tolerance
                else "regressed"
                if better < -tolerance
                else "unchanged"
            )
        changes.append(
            {"metric": name, "before": a, "after": b, "delta": delta, "verdict": verdict}
        )
    return changes


def compare_latency(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """p50/p95 changes per stage (lower is better; 10% counts as a change)."""
    changes = []
    for stage, now in after.items():
        old = before.get(stage)
        if not old:
            continue
        for q in ("p50", "p95"):
            a, b = old.get(q), now.get(q)
            if a is None or b is None:
                continue
            rel = (b - a) / a if a else 0.0
            verdict = "improved" if rel < -0.1 else "regressed" if rel > 0.1 else "unchanged"
            changes.append(
                {
                    "metric": f"{stage} {q} ms",
                    "before": a,
                    "after": b,
                    "delta": b - a,
                    "verdict": verdict,
                }
            )
    return changes
