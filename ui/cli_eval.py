"""`rag eval`: evaluate the assistant (or another system's answers) on a question set."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from assembly.progress import ProgressBars
from eval.dataset import DEFAULT_DATASET, bundled_sets, display_path
from rag.backends.registry import backend_names
from ui.common import friendly_errors, settings_of

# Options that take a value, in the order the recorded command line names them.
FLAGS = (
    ("--dataset", "dataset"),
    ("--backend", "backend"),
    ("--k", "k"),
    ("--answers", "answers"),
    ("--compare", "compare_to"),
)


class EvalCommand(click.Command):
    """`rag eval`, whose help ends with the question sets shipped in eval/data/."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for found in bundled_sets():
            languages = ", ".join(f"{n} {lang}" for lang, n in sorted(found.languages.items()))
            purpose = f": {found.purpose}" if found.purpose else ""
            rows.append(
                (display_path(found.path), f"{found.questions} questions ({languages}){purpose}")
            )
        if rows:
            with formatter.section("Bundled question sets (sources: eval/data/README.md)"):
                formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


@click.command("eval", cls=EvalCommand)
@click.option(
    "--dataset",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"JSONL question set (default: {display_path(DEFAULT_DATASET)}; the bundled "
    "sets are listed below).",
)
@click.option(
    "--backend",
    type=click.Choice(backend_names()),
    default=None,
    help="Answer backend (default: from settings). A model backend is also used "
    "as a second faithfulness judge.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("eval-out"),
    show_default=True,
    help="Folder for results.jsonl, summary.json, report.md, PNGs.",
)
@click.option(
    "--k",
    type=click.IntRange(1, 50),
    default=None,
    help="Passages given to the answer step (default: from settings).",
)
@click.option(
    "--baseline",
    is_flag=True,
    help="Also evaluate the plain tutorial pipeline and compare side by side.",
)
@click.option(
    "--compare",
    "compare_to",
    type=click.Path(path_type=Path),
    default=None,
    help="An earlier run's --out folder: report what improved and what regressed.",
)
@click.option(
    "--answers",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Score answers another system produced (JSONL: the `rag ask --json` "
    "form, or {id?, question, answer, passages: [text, ...]}).",
)
@click.pass_context
@friendly_errors
def eval_command(
    ctx: click.Context,
    dataset: Path | None,
    backend: str | None,
    out: Path,
    k: int | None,
    baseline: bool,
    compare_to: Path | None,
    answers: Path | None,
) -> None:
    """Score retrieval, answers, faithfulness, refusals and latency on a question set.

    \b
    Example:  rag eval --baseline --out eval-out   # then read eval-out/report.md
    """
    if answers is not None and baseline:
        raise click.UsageError(
            "--baseline runs our pipeline; it cannot be combined with --answers."
        )
    from eval.evaluate import EvalOptions, run_evaluation  # matplotlib: only for `rag eval`
    from eval.report import summary_table

    settings = settings_of(ctx)
    options = EvalOptions(
        dataset=dataset,
        backend=backend,
        out=out,
        k=k,
        baseline=baseline,
        compare=compare_to,
        answers=answers,
        command=_command_line(ctx.params),
    )
    with ProgressBars(unit=" q") as progress:
        summary = run_evaluation(settings, options, progress)
    click.echo(summary_table(summary))
    comparison = summary.get("comparison")
    if comparison:
        changes = comparison["changes"]
        better = [c["metric"] for c in changes if c["verdict"] == "improved"]
        worse = [c["metric"] for c in changes if c["verdict"] == "regressed"]
        click.echo(f"\nImproved: {', '.join(better) or 'none'}")
        click.echo(f"Regressed: {', '.join(worse) or 'none'}")
    click.echo(f"\nWrote {out}/report.md, summary.json, results.jsonl and plots.")


def _command_line(params: dict[str, Any]) -> str:
    """The command that reproduces this run (recorded in summary.json and report.md)."""
    words = ["rag", "eval"]
    for flag, name in FLAGS:
        if params.get(name) is not None:
            words += [flag, str(params[name])]
    if params.get("baseline"):
        words.append("--baseline")
    words += ["--out", str(params["out"])]
    return " ".join(shlex.quote(w) for w in words)
