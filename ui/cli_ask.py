"""`rag ask` (one question or a JSONL batch) and `rag brief`."""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import click

from assembly.library import open_pipeline
from rag.answer.closest import closest_excerpts
from rag.answer.render import answer_to_json, citations_markdown, excerpt_line
from rag.answer.spans import opening
from rag.backends.registry import backend_names
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer
from ui.briefing import briefing_footnotes
from ui.common import friendly_errors, settings_of
from ui.export_text import footnote_marks, footnote_numbers
from ui.footnote_stream import FootnoteStream
from ui.status import Status

MAX_LINE_BYTES = 64 * 1024  # one question; a longer line is an error line, not read whole
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
DOCUMENT = click.option(
    "--document",
    "documents",
    multiple=True,
    metavar="ID",
    help="Answer only from this document (repeatable; ids: rag index info).",
)
LOADING = "Loading the index and model…"


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
@DOCUMENT
@click.pass_context
@friendly_errors
def ask(
    ctx: click.Context,
    question: str | None,
    questions: Path | None,
    as_json: bool,
    k: int | None,
    backend: str | None,
    documents: tuple[str, ...],
) -> None:
    """Answer QUESTION (Dutch or English) with cited, verified passages.

    \b
    rag ask "Wat zegt de brief over de NAVO-norm van 5%?"
    rag ask --questions questions.jsonl --json > answers.jsonl
    rag ask "Wie heeft de brief ondertekend?" --document eu-geopolitiek-kamerbrief
    """
    if (question is None) == (questions is None):
        raise click.UsageError("Give either a QUESTION or --questions FILE.jsonl.")
    if question is not None and _LONE_SURROGATE.search(question):
        raise RagError("The question is not valid text in your terminal's encoding; retype it.")
    with Status(LOADING) as status:  # on a terminal's stderr only; erased before output
        pipeline = _pipeline(settings_of(ctx), k)
        scope = pipeline.scope(documents)  # an unknown id fails here, before any answer
        if questions is not None:
            pipeline.warm_up()  # what the first questions would load, loaded now
            _batch(pipeline, questions, backend, scope, before_output=status.stop)
            return
        assert question is not None
        if as_json:
            answer = pipeline.ask(question, backend=backend, documents=scope)
            status.stop()
            click.echo(json.dumps(answer_to_json(answer), ensure_ascii=False))
            return
        _stream(pipeline, question, backend, status, scope)


def _stream(
    pipeline: Pipeline,
    question: str,
    backend: str | None,
    status: Status,
    scope: list[str] | None = None,
) -> None:
    """The answer as it is written (the model loads before the first piece), then sources."""
    answer: Answer | None = None
    streamed = ""
    raised = FootnoteStream(pipeline.store.chunks)  # "bij.6" printed as "bij.⁶"
    for event in pipeline.stream(question, backend=backend, documents=scope):
        status.stop()
        if isinstance(event, str):
            click.echo(raised.feed(event), nl=False)
            streamed += event
        else:
            answer = event
    status.stop()
    click.echo(raised.flush())
    if answer is not None:
        _print_sources(pipeline, answer, streamed)


def _print_sources(pipeline: Pipeline, answer: Answer, shown: str = "") -> None:
    """What follows the streamed text `shown`: the asked-for figures and names (unless
    the text already opened with them), the citations, or the closest passages."""
    spans = opening(answer.spans, answer.language) if answer.spans else ""
    if spans and spans not in shown:  # found once the answer is complete
        click.echo(spans)
    if answer.citations:
        click.echo()
        sources = citations_markdown(answer.citations)
        click.echo(footnote_marks(sources, footnote_numbers(answer)))
    elif answer.refused and answer.passages:
        click.echo(
            "\nClosest passages:" if answer.language == "en" else "\nDichtstbijzijnde passages:"
        )
        excerpts = closest_excerpts(
            pipeline.embedder, pipeline.settings.answer, answer.question, answer.passages
        )
        for excerpt in excerpts:
            click.echo(f"  {excerpt_line(excerpt)}")
    unsupported = [s for s in answer.sentences if not s.supported]
    if unsupported:
        click.echo(f"\n⚠ {len(unsupported)} sentence(s) not supported by their citations.")


def _batch(
    pipeline: Pipeline,
    path: Path,
    backend: str | None,
    scope: list[str] | None = None,
    before_output: Callable[[], None] = lambda: None,
) -> None:
    """One JSON line per non-blank input line, in order; a bad line gets an error line
    and the rest go on. Lines are read as bytes, so no byte sequence stops the batch.
    `before_output` is called before each line is printed (it ends the loading status)."""
    if not path.exists():
        raise RagError(
            f'\'{path}\' does not exist. Give a JSONL file with one {{"id", "question"}} per line.'
        )
    with open(path, "rb") as handle:
        for number, line in _numbered_lines(handle):
            if line is None:
                before_output()
                _emit({"id": None, "line": number, "error": _too_long(number)})
            elif line.strip():
                row = _answer_line(pipeline, line, number, backend, scope)
                before_output()
                _emit(row)


def _numbered_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) with a UTF-8 byte-order mark dropped; None for a line over
    MAX_LINE_BYTES, which is skipped without being held in memory."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the line
                line = handle.readline(MAX_LINE_BYTES)
            yield number, None
        else:
            yield number, line


def _too_long(number: int) -> str:
    return f"Line {number} is longer than {MAX_LINE_BYTES // 1024} KiB; shorten the question."


def _emit(row: dict[str, Any]) -> None:
    """Print one JSON line; text that cannot be printed as UTF-8 (lone surrogates in an
    id) is written as JSON escapes instead."""
    text = json.dumps(row, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(row)
    click.echo(text)
    sys.stdout.flush()


def _answer_line(
    pipeline: Pipeline,
    data: bytes,
    number: int,
    backend: str | None,
    scope: list[str] | None = None,
) -> dict[str, Any]:
    try:
        line = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {
            "id": None,
            "line": number,
            "error": f"Line {number} is not UTF-8 text (byte {exc.start + 1} of the line). "
            "Save the file as UTF-8.",
        }
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
    question: str = row["question"]
    if _LONE_SURROGATE.search(question):
        return {
            "id": row.get("id"),
            "line": number,
            "error": f"Line {number}'s question holds a lone surrogate escape (such as "
            "\\ud800), which is no text. Fix or remove it.",
        }
    try:
        answer = pipeline.ask(question, backend=backend, documents=scope)
        return answer_to_json(answer, row.get("id"))
    except RagError as exc:
        return {"id": row.get("id"), "line": number, "question": question, "error": str(exc)}


@click.command("brief")
@click.argument("topic", required=False)
@click.option("--backend", type=click.Choice(backend_names()), default=None, help="Answer backend.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the Markdown briefing to this file.",
)
@DOCUMENT
@click.pass_context
@friendly_errors
def brief(
    ctx: click.Context,
    topic: str | None,
    backend: str | None,
    out: Path | None,
    documents: tuple[str, ...],
) -> None:
    """A short briefing (Markdown) of the documents' positions on TOPIC, every bullet cited.

    Without TOPIC: a briefing on the whole letter, section by section.
    """
    with Status("Loading the index and model, then writing the briefing…"):
        pipeline = _pipeline(settings_of(ctx), None)
        briefing = pipeline.brief(topic, backend=backend, documents=documents)
    markdown = footnote_marks(briefing.markdown, briefing_footnotes(pipeline, briefing))
    click.echo(markdown)
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
