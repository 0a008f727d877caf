"""One evaluation run end to end: answer (or read answers), score, summarise, write outputs.

Writes into the output folder: `results.jsonl` (one row per question),
`results-baseline.jsonl` (with --baseline), `answers.jsonl` (our answers in the
`rag ask --json` contract, reusable with --answers), `summary.json`, `report.md` and
the PNG plots.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.answers import load_answers
from eval.dataset import DEFAULT_DATASET, display_path, load_dataset
from eval.judges import labelled_pairs, llm_judge, verifier_agreement, verifier_judge
from eval.plots import write_plots
from eval.report import render_report
from eval.runner import Similarity, run_system, score_answers
from eval.summary import compare, compare_latency, grouped, ratios
from rag.answer.render import answer_to_json
from rag.errors import InputError
from rag.settings import Settings

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EvalOptions:
    dataset: Path | None = None
    backend: str | None = None
    out: Path = Path("eval-out")
    k: int | None = None
    baseline: bool = False
    compare: Path | None = None
    answers: Path | None = None
    command: str = "rag eval"


def similarity_of(embedder: Any) -> Similarity:
    """Cosine of answer and reference embeddings (the multilingual embedder)."""

    def similarity(answer: str, reference: str) -> float:
        return float(embedder.similarity([answer], [reference])[0][0])

    return similarity


def run_evaluation(
    settings: Settings, options: EvalOptions, progress: Progress | None = None
) -> dict[str, Any]:
    """Run, score and write everything; returns the summary (also in summary.json)."""
    items = load_dataset(options.dataset)
    before = _previous_summary(options.compare) if options.compare else None
    backend = options.backend or settings.generation.backend
    summary: dict[str, Any] = {
        "dataset": str(options.dataset or display_path(DEFAULT_DATASET)),
        "questions": len(items),
        "backend": backend,
        "k": options.k or settings.retrieval.k,
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": options.command,
        "judge": "verifier",
    }
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    if options.answers is not None:
        from rag.retrieval.embeddings import load_embedder

        embedder = load_embedder(settings.embedding)
        cited = load_answers(options.answers, items)
        judge = verifier_judge(embedder)
        rows = score_answers(items, cited, judge, similarity_of(embedder))
        summary.update(system=f"answers from {options.answers}", questions=len(rows))
        passages = [text for answer in cited.values() for _, text in answer.passages]
    else:
        from assembly.library import open_pipeline

        pipeline = open_pipeline(settings, build_if_missing=True)
        embedder = pipeline.embedder
        judge = verifier_judge(embedder)
        extra = {"llm": llm_judge(backend, settings.generation)} if backend != "extractive" else {}
        if extra:
            summary["judge"] = "verifier (and the answer model as a second judge: *_llm)"
        rows, answers = run_system(
            pipeline,
            items,
            judge,
            k=options.k,
            backend=backend,
            similarity=similarity_of(embedder),
            extra_judges=extra,
            progress=_stage(progress, "ours"),
        )
        summary["system"] = "pipeline"
        _write_jsonl(
            out / "answers.jsonl",
            [answer_to_json(a, item.id) for a, item in zip(answers, items, strict=True)],
        )
        if options.baseline:
            base_rows = _run_baseline(pipeline, items, judge, backend, progress)
            _write_jsonl(out / "results-baseline.jsonl", base_rows)
            summary["baseline"] = grouped(base_rows)
        passages = [chunk.text for chunk in pipeline.store.chunks]
    _write_jsonl(out / "results.jsonl", rows)
    summary["ours"] = grouped(rows)
    if summary.get("baseline"):
        summary["ratios"] = ratios(summary["ours"]["overall"], summary["baseline"]["overall"])
    summary["verifier"] = verifier_agreement(embedder, labelled_pairs(items, passages))
    if before is not None:
        summary["comparison"] = {
            "against": str(options.compare),
            "changes": compare(before["ours"]["overall"], summary["ours"]["overall"])
            + compare_latency(before["ours"].get("latency_ms", {}), summary["ours"]["latency_ms"]),
        }
    plots = write_plots(summary, out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    (out / "report.md").write_text(render_report(summary, plots), encoding="utf-8")
    return summary


def _run_baseline(
    pipeline: Any, items: Sequence[Any], judge: Any, backend: str, progress: Progress | None
) -> list[dict[str, Any]]:
    """Score the plain tutorial pipeline on the same questions."""
    from eval.baseline import BaselinePipeline

    rows, _ = run_system(
        BaselinePipeline(pipeline),
        items,
        judge,
        backend=backend,
        similarity=similarity_of(pipeline.embedder),
        progress=_stage(progress, "baseline"),
    )
    return rows


def _previous_summary(folder: Path) -> dict[str, Any]:
    path = folder / "summary.json" if folder.is_dir() else folder
    if not path.exists():
        raise InputError(
            f"No summary.json in '{folder}'. Pass --compare the --out folder of an earlier "
            "`rag eval` run."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["ours"]["overall"]  # noqa: B018 - shape check
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InputError(f"'{path}' is not a summary.json written by `rag eval`.") from None
    return data


def _stage(progress: Progress | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
