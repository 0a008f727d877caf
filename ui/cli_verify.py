"""`rag verify`: check another system's answers (JSONL) against the passages they cite.

Needs only the embedding model, not an index. Per answer a verdict, per sentence its
support, the best passage and sentence, and why; then a summary table (share supported,
by source when the input names one, agreement with human labels when it carries them).
A line that cannot be checked is reported on stderr with its number and field, and the
rest of the file is still checked.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from rag.errors import RagError
from rag.retrieval.embeddings import load_embedder
from rag.verify.check import SHAPES, InputError, check_lines, summarise
from ui.common import friendly_errors, settings_of


@click.command("verify")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON result a line, then the summary.")
@click.option("--quiet", is_flag=True, help="Only the summary table.")
@click.pass_context
@friendly_errors
def verify_command(ctx: click.Context, path: Path, as_json: bool, quiet: bool) -> None:
    """Check the answers in PATH (JSONL; '-' for stdin) against their passages.

    \b
    Each line: {question?, answer, contexts: [str]}  (RAGAS-style)
               {question?, claim, references: [str]} (AttributionBench)
               or a `rag ask --json` answer.
    \b
    rag verify answers.jsonl
    rag verify answers.jsonl --json > verdicts.jsonl
    """
    settings = settings_of(ctx)
    embedder = load_embedder(settings.embedding)
    results: list[dict[str, Any]] = []
    bad = 0
    for number, outcome in check_lines(embedder, _lines(path)):
        if isinstance(outcome, InputError):
            bad += 1
            click.echo(f"line {number}: {outcome}; skipped.", err=True)
            continue
        outcome["line"] = number
        results.append(outcome)
        if as_json:
            click.echo(json.dumps(outcome, ensure_ascii=False))
        elif not quiet:
            _print_result(outcome)
    summary = summarise(results, bad)
    if as_json:
        click.echo(json.dumps({"summary": summary}, ensure_ascii=False))
    else:
        _print_summary(summary)
    if not results and bad:
        raise RagError(f"No line could be checked; each line needs {SHAPES}.")


def _lines(path: Path) -> Iterator[str]:
    if str(path) == "-":
        yield from sys.stdin
        return
    try:
        handle: TextIO = path.open(encoding="utf-8")
    except OSError as exc:
        raise RagError(f"Cannot read {path} ({exc.strerror}); check the path.") from None
    with handle:
        try:
            yield from handle
        except UnicodeDecodeError:
            raise RagError(f"{path} is not UTF-8 text; save it as UTF-8 JSONL.") from None


def _print_result(result: dict[str, Any]) -> None:
    name = f"#{result['id']}" if result["id"] is not None else f"line {result['line']}"
    click.echo(f"{name}: {result['verdict']} (score {result['score']:.2f})")
    for s in result["sentences"]:
        mark = "✓" if s["supported"] else "✗"
        click.echo(f"  {mark} {s['score']:.2f}  {s['sentence']}")
        click.echo(f"      best: passage {s['passage']}: “{s['best_sentence']}”")
        if s["reasons"]:
            click.echo(f"      why: {'; '.join(s['reasons'])}")


def _print_summary(summary: dict[str, Any]) -> None:
    rows = [("all", summary["all"])] + list(summary.get("by_source", {}).items())
    width = max(len(name) for name, _ in rows)
    click.echo("")
    click.echo(f"{'':{width}}  answers  supported  sentences  supported  mean score")
    for name, r in rows:
        click.echo(
            f"{name:{width}}  {r['answers']:7d}  {r['supported']:9.1%}  {r['sentences']:9d}"
            f"  {r['sentences_supported']:9.1%}  {r['mean_score']:10.2f}"
        )
    if "agreement_macro_f1" in summary:
        f1 = summary["agreement_macro_f1"]
        parts = ", ".join(f"{k} {v:.1f}" for k, v in f1.items() if k != "average")
        click.echo(f"agreement with the labels (macro-F1): {f1['average']:.1f} ({parts})")
    if summary["bad_lines"]:
        click.echo(f"{summary['bad_lines']} line(s) skipped (see above).")
