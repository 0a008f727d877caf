"""`rag ask` (one question or a JSONL batch) and `rag brief`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from assembly.library import open_pipeline
from rag.backends.registry import backend_names
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.render import answer_to_json, citations_markdown
from rag.settings import Settings
from rag.spans import opening
from rag.types import Answer
from ui.common import friendly_errors, settings_of


def _pipeline(settings: Settings, k: int | None) -> Pipeline:
    if k is not None:
        settings = settings.model_copy(
            update={"retrieval": settings.retrieval.model_copy(update={"k": k})}
        )
    return open_pipeline(settings, build_if_missing=True)


@click.command("ask")
@click.argument("question", required=False)
@click.option(
    "--questions",
    type=click.Path(path_type=Path, dir_okay=False),
    help='JSONL file of {"id", "question"} objects; prints one JSON line each.',
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON contract.")
@click.option("--k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.option("--backend", type=click.Choice(backend_names()), default=None, help="Answer backend.")
@click.pass_context
@friendly_errors
def ask(
    ctx: click.Context,
    question: str | None,
    questions: Path | None,
    as_json: bool,
    k: int | None,
    backend: str | None,
) -> None:
    """Answer QUESTION (Dutch or English) with cited, verified passages.

    \b
    rag ask "Wat zegt de brief over de NAVO-norm van 5%?"
    rag ask --questions questions.jsonl --json > answers.jsonl
    """
    if (question is None) == (questions is None):
        raise click.UsageError("Give either a QUESTION or --questions FILE.jsonl.")
    pipeline = _pipeline(settings_of(ctx), k)
    if questions is not None:
        _batch(pipeline, questions, backend)
        return
    assert question is not None
    if as_json:
        click.echo(
            json.dumps(answer_to_json(pipeline.ask(question, backend=backend)), ensure_ascii=False)
        )
        return
    answer: Answer | None = None
    for event in pipeline.stream(question, backend=backend):
        if isinstance(event, str):
            click.echo(event, nl=False)
        else:
            answer = event
    click.echo()
    if answer is not None:
        _print_sources(answer)


def _print_sources(answer: Any) -> None:
    if answer.spans:  # the asked-for figures and names, found once the answer is complete
        click.echo(opening(answer.spans, answer.language))
    if answer.citations:
        click.echo()
        click.echo(citations_markdown(answer.citations))
    elif answer.refused and answer.passages:
        click.echo(
            "\nClosest passages:" if answer.language == "en" else "\nDichtstbijzijnde passages:"
        )
        for hit in answer.passages[:3]:
            c = hit.chunk
            click.echo(
                f"  {c.document}, lines {c.line_start}–{c.line_end} ({c.section}): {c.text[:160]}…"
            )
    unsupported = [s for s in answer.sentences if not s.supported]
    if unsupported:
        click.echo(f"\n⚠ {len(unsupported)} sentence(s) not supported by their citations.")


def _batch(pipeline: Pipeline, path: Path, backend: str | None) -> None:
    if not path.exists():
        raise RagError(
            f'\'{path}\' does not exist. Give a JSONL file with one {{"id", "question"}} per line.'
        )
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            click.echo(
                json.dumps(_answer_line(pipeline, line, number, backend), ensure_ascii=False)
            )
            sys.stdout.flush()


def _answer_line(pipeline: Pipeline, line: str, number: int, backend: str | None) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return {
            "id": None,
            "line": number,
            "error": f"Line {number} is not valid JSON ({exc.msg}).",
        }
    if not isinstance(row, dict) or not isinstance(row.get("question"), str):
        return {
            "id": row.get("id") if isinstance(row, dict) else None,
            "line": number,
            "error": f'Line {number} needs a string field "question".',
        }
    try:
        return answer_to_json(pipeline.ask(row["question"], backend=backend), row.get("id"))
    except RagError as exc:
        return {"id": row.get("id"), "line": number, "question": row["question"], "error": str(exc)}


@click.command("brief")
@click.argument("topic", required=False)
@click.option("--backend", type=click.Choice(backend_names()), default=None, help="Answer backend.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the Markdown briefing to this file.",
)
@click.pass_context
@friendly_errors
def brief(ctx: click.Context, topic: str | None, backend: str | None, out: Path | None) -> None:
    """A short briefing (Markdown) of the documents' positions on TOPIC, every bullet cited.

    Without TOPIC: a briefing on the whole letter, section by section.
    """
    pipeline = _pipeline(settings_of(ctx), None)
    briefing = pipeline.brief(topic, backend=backend)
    click.echo(briefing.markdown)
    if out is not None:
        out.write_text(briefing.markdown, encoding="utf-8")
