"""PNG plots of an evaluation summary (matplotlib, Agg backend: no display needed).

matplotlib is imported when a plot is drawn, not when this module is: it takes half a
second, which every `rag` command would otherwise pay.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.metrics import RECALL_KS


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def recall_curves(summary: Mapping[str, Any], path: Path) -> Path:
    """Recall@k against k, one line per language (dashed: the baseline, when it ran)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for system, style in (("ours", "-"), ("baseline", "--")):
        result = summary.get(system)
        if not result:
            continue
        groups = {"all": result["overall"], **result["by_lang"]}
        for name, metrics in groups.items():
            values = [metrics.get(f"recall@{k}") for k in RECALL_KS]
            if all(v is None for v in values):
                continue
            ax.plot(
                RECALL_KS,
                [v if v is not None else float("nan") for v in values],
                style,
                marker="o",
                label=f"{system}: {name}",
            )
    ax.set_xlabel("k (passages)")
    ax.set_ylabel("evidence recall@k")
    ax.set_xticks(list(RECALL_KS))
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Retrieval: recall@k per language")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def faithfulness_by_type(summary: Mapping[str, Any], path: Path) -> Path:
    """Citation recall, citation precision and unsupported share per question type."""
    plt = _pyplot()
    by_type = summary["ours"]["by_type"]
    types = list(by_type)
    metrics = ("citation_recall", "citation_precision", "unsupported_share")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        values = [by_type[t].get(metric) for t in types]
        xs = [x + i * width for x in range(len(types))]
        ax.bar(xs, [v or 0.0 for v in values], width, label=metric.replace("_", " "))
        for x, v in zip(xs, values, strict=True):
            if v is None:
                ax.text(x, 0.02, "n/a", ha="center", fontsize=7, rotation=90)
    ax.set_xticks([x + width for x in range(len(types))])
    ax.set_xticklabels(types, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Faithfulness per question type (n/a: every answer refused)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_plots(summary: Mapping[str, Any], out: Path) -> list[str]:
    """Both plots into `out`; returns their file names."""
    return [
        recall_curves(summary, out / "recall_at_k.png").name,
        faithfulness_by_type(summary, out / "faithfulness_by_type.png").name,
    ]
