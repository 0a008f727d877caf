"""A readable Markdown report of an evaluation run (and of a comparison with an earlier one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval.summary import MAIN_METRICS

LABELS = {
    "recall@1": "Recall@1",
    "recall@3": "Recall@3",
    "recall@5": "Recall@5",
    "recall@10": "Recall@10",
    "mrr": "MRR",
    "ndcg@10": "nDCG@10",
    "keyword_recall": "Keyword recall",
    "answer_similarity": "Answer similarity",
    "language_match": "Language match",
    "text_language_match": "Answer text in question language",
    "citation_recall": "Citation recall",
    "citation_precision": "Citation precision",
    "unsupported_share": "Unsupported sentences",
    "dropped_citations": "Dropped citations / answer",
    "invalid_citations": "Invalid citations / answer",
    "refusal_correct": "Refusal accuracy",
    "refusal_precision": "Refusal precision",
    "refusal_recall": "Refusal recall",
    "wrong_refusal_rate": "Wrong refusals",
    "citation_recall_llm": "Citation recall (LLM judge)",
    "citation_precision_llm": "Citation precision (LLM judge)",
}


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_table(summary: Mapping[str, Any]) -> str:
    """Main metrics: ours (and the baseline with ours/baseline ratios, when it ran)."""
    ours = summary["ours"]["overall"]
    names = [n for n in MAIN_METRICS if n in ours]
    base = summary.get("baseline")
    if not base:
        return table(["Metric", "Ours"], [[LABELS.get(n, n), ours[n]] for n in names])
    ratio = summary.get("ratios", {})
    rows = [[LABELS.get(n, n), ours[n], base["overall"].get(n), ratio.get(n)] for n in names]
    return table(["Metric", "Ours", "Baseline", "Ours / baseline"], rows)


def group_table(groups: Mapping[str, Mapping[str, Any]], metrics: Sequence[str]) -> str:
    header = ["Group", "n", *(LABELS.get(m, m) for m in metrics)]
    rows = [[g, int(s["questions"]), *(s.get(m) for m in metrics)] for g, s in groups.items()]
    return table(header, rows)


def latency_table(latency: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [[stage, v.get("p50"), v.get("p95")] for stage, v in latency.items()]
    return table(["Stage", "p50 ms", "p95 ms"], [[s, fmt(a, 1), fmt(b, 1)] for s, a, b in rows])


def compare_table(changes: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        [LABELS.get(c["metric"], c["metric"]), c["before"], c["after"], c["delta"], c["verdict"]]
        for c in changes
    ]
    return table(["Metric", "Before", "After", "Δ", "Verdict"], rows)


DEFINITIONS = (
    "Retrieval: share of a question's evidence quotes found in passages ranked ≤ k (a linked "
    "footnote shares its passage's rank), MRR and nDCG@10, over answerable questions. "
    "Answers: reference keywords found in the answer, embedding cosine to the reference "
    "answer, answer language = question language (as the answer declares it, and as its "
    "text is written, quotes included). Faithfulness (ALCE, refused answers "
    "excluded): citation recall = share of answer sentences supported by the passages they "
    "cite; citation precision = share of citations that are needed and supportive (a "
    "citation to a passage not given to the answer is wrong); unsupported = share of "
    "sentences no given passage supports. Refusals: precision and recall of refusing "
    "unanswerable questions; wrong refusals = share of answerable questions refused. "
    "Baseline: LangChain RecursiveCharacterTextSplitter (1000/200 characters) over the raw "
    "text, the same embedder, FAISS flat top-4, the same answer backend."
)
RETRIEVAL = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr", "ndcg@10")
ANSWERS = (
    "keyword_recall",
    "answer_similarity",
    "language_match",
    "text_language_match",
    "refusal_correct",
)
FAITH = ("citation_recall", "citation_precision", "unsupported_share", "dropped_citations")


def render_report(summary: Mapping[str, Any], plots: Sequence[str] = ()) -> str:
    """The whole report.md."""
    ours = summary["ours"]
    parts = [
        "# Evaluation report",
        "",
        f"Dataset `{summary['dataset']}` ({summary['questions']} questions), backend "
        f"`{summary['backend']}`, k={summary['k']}, {summary['created']}.",
        "",
        "Command: `" + summary.get("command", "rag eval") + "`",
        "",
        "## Summary",
        "",
        summary_table(summary),
        "",
        DEFINITIONS,
        "",
        "## Retrieval (evidence quotes among the top-k passages)",
        "",
        group_table({"all": ours["overall"], **ours["by_lang"]}, RETRIEVAL),
        "",
        group_table(ours["by_type"], RETRIEVAL),
        "",
        "## Answers",
        "",
        group_table({"all": ours["overall"], **ours["by_lang"], **ours["by_type"]}, ANSWERS),
        "",
        "## Faithfulness (judge: " + summary.get("judge", "verifier") + ")",
        "",
        group_table({"all": ours["overall"], **ours["by_lang"], **ours["by_type"]}, FAITH),
        "",
        "## Refusals",
        "",
        group_table(
            {"all": ours["overall"], **ours["by_lang"]},
            ("refusal_precision", "refusal_recall", "wrong_refusal_rate"),
        ),
        "",
        "## Latency",
        "",
        latency_table(ours["latency_ms"]),
    ]
    if summary.get("baseline"):
        parts += ["", "Baseline latency:", "", latency_table(summary["baseline"]["latency_ms"])]
    verifier = summary.get("verifier")
    if verifier:
        parts += [
            "",
            "## Verifier agreement with labelled pairs",
            "",
            table(["Measure", "Value"], [[k, v] for k, v in verifier.items()]),
        ]
    if summary.get("comparison"):
        parts += [
            "",
            f"## Compared with {summary['comparison']['against']}",
            "",
            compare_table(summary["comparison"]["changes"]),
        ]
    if plots:
        parts += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(parts) + "\n"
