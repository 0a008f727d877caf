"""The chat tab as plain functions over a `Pipeline`: answering, streaming, and sources.

`respond` answers a question within a conversation and yields a `ChatView` after each
step, so the tab can show the answer as it is written; the last view is final. The rest
picks the sources shown beside the chat: the citations of a turn (or, for a refusal,
its closest passages) as a list, and the card of the one selected. Citation references
are strings "T:M" (turn T, citation marker M) or "T:pN" (turn T, N-th closest passage,
offered with refusals). No Gradio in here; `ui.app` wires these to components.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.types import Answer, Chunk, Citation
from ui.export import export_answer
from ui.markup import answer_html, citation_html, cited_lines, error_html, escape_text, passage_html
from ui.options import AskOptions, pipeline_for

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

EMPTY_PANEL = (
    '<div class="source-empty">Click a citation marker such as <b>[1]</b> in an answer, '
    "or pick one from the list, to see the passage it quotes.</div>"
)
THINKING = '<div class="answer streaming"><i>Searching the documents…</i></div>'


@dataclass
class ChatView:
    """Everything the chat tab shows after a step of answering."""

    messages: list[dict[str, str]]
    answers: list[Answer]
    choices: list[tuple[str, str]] = field(default_factory=list)
    selected: str | None = None
    panel: str = EMPTY_PANEL
    export_path: str | None = None
    notice: str = ""
    done: bool = True
    sources_changed: bool = True


# ---- answering --------------------------------------------------------------------------


def history_of(answers: Sequence[Answer]) -> list[tuple[str, str]]:
    """Earlier (question, answer) pairs, for follow-up questions."""
    return [(a.question, a.answer) for a in answers]


def respond(
    pipeline: Pipeline, question: str, answers: Sequence[Answer], options: AskOptions
) -> Iterator[ChatView]:
    """Answer `question` in the conversation `answers`, streaming; the last view is final."""
    answers = list(answers)
    question = (question or "").strip()
    if not question:
        notice = "Type a question first (Dutch or English)."
        yield ChatView(chat_messages(answers), answers, notice=notice, sources_changed=False)
        return
    base = chat_messages(answers)
    user = {"role": "user", "content": escape_text(question)}

    def pending(content: str) -> list[dict[str, str]]:
        return base + [user, {"role": "assistant", "content": content}]

    yield ChatView(pending(THINKING), answers, done=False)
    text = ""
    try:
        active = pipeline_for(pipeline, options)
        stream = active.stream(
            question, k=options.k, backend=options.backend or None, history=history_of(answers)
        )
        for event in stream:
            if isinstance(event, Answer):
                answers.append(event)
                yield _view_for(pipeline, answers)
                return
            text += event
            partial = f'<div class="answer streaming">{escape_text(text)} ▍</div>'
            yield ChatView(pending(partial), answers, done=False)
    except RagError as exc:
        error = error_html(str(exc))
        yield ChatView(pending(error), answers, notice=str(exc), sources_changed=False)
        return
    yield ChatView(
        base + [user],
        answers,
        notice="No answer came back; please try again.",
        sources_changed=False,
    )


def _view_for(pipeline: Pipeline, answers: list[Answer]) -> ChatView:
    view = ChatView(chat_messages(answers), answers)
    if answers:
        view.choices, view.selected, view.panel = turn_sources(pipeline, answers, len(answers) - 1)
        view.export_path = export_answer(answers[-1])
    return view


def chat_messages(answers: Sequence[Answer]) -> list[dict[str, str]]:
    """The conversation as Chatbot messages (user/assistant pairs, one per turn)."""
    messages: list[dict[str, str]] = []
    for turn, answer in enumerate(answers):
        messages.append({"role": "user", "content": escape_text(answer.question)})
        messages.append({"role": "assistant", "content": answer_html(answer, turn)})
    return messages


def turn_of_message(index: Any) -> int | None:
    """The turn a clicked Chatbot message belongs to (messages come in user/assistant pairs)."""
    if isinstance(index, (list, tuple)):
        index = index[0] if index else None
    return index // 2 if isinstance(index, int) else None


# ---- sources ----------------------------------------------------------------------------


def _shorten(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_label(citation: Citation) -> str:
    """A citation's entry in the source list: marker, lines (and page), section or file."""
    mark = "" if citation.supported else " ⚠"
    short = _shorten(citation.section or citation.document)
    return f"[{citation.marker}] {cited_lines(citation)} · {short}{mark}"


def source_choices(answer: Answer, turn: int) -> list[tuple[str, str]]:
    """(label, ref) pairs for the source list: citations, or closest passages for refusals."""
    if answer.citations:
        return [(citation_label(c), f"{turn}:{c.marker}") for c in answer.citations]
    return [
        (
            f"Passage {n}: lines {h.chunk.line_start}–{h.chunk.line_end} · "
            f"{_shorten(h.chunk.section or h.chunk.document)}",
            f"{turn}:p{n}",
        )
        for n, h in enumerate(answer.passages[:5], start=1)
    ]


def turn_sources(
    pipeline: Pipeline, answers: Sequence[Answer], turn: int
) -> tuple[list[tuple[str, str]], str | None, str]:
    """Source choices of one turn, the first one selected, and its panel."""
    if not 0 <= turn < len(answers):
        return [], None, EMPTY_PANEL
    choices = source_choices(answers[turn], turn)
    if not choices:
        return [], None, EMPTY_PANEL
    selected = choices[0][1]
    return choices, selected, source_panel(pipeline, answers, selected)


def parse_ref(ref: str) -> tuple[int, str] | None:
    """(turn, "M" or "pN") of a reference "T:M" or "T:pN"; None if it is not one."""
    match = re.fullmatch(r"(\d+):(p?\d+)", (ref or "").strip())
    return (int(match.group(1)), match.group(2)) if match else None


def source_panel(pipeline: Pipeline, answers: Sequence[Answer], ref: str | None) -> str:
    """HTML of the passage a reference points at, the quoted sentence(s) highlighted."""
    parsed = parse_ref(ref or "")
    if parsed is None or parsed[0] >= len(answers):
        return EMPTY_PANEL
    answer = answers[parsed[0]]
    key = parsed[1]
    if key.startswith("p"):
        n = int(key[1:])
        if not 1 <= n <= len(answer.passages):
            return EMPTY_PANEL
        closest = answer.passages[n - 1].chunk
        return passage_html(closest, quote="", heading=f"Closest passage {n}")
    citation = next((c for c in answer.citations if c.marker == int(key)), None)
    if citation is None:
        return EMPTY_PANEL
    chunk = find_chunk(pipeline, answer, citation)
    return citation_html(citation, chunk, answer.sentences)


def find_chunk(pipeline: Pipeline, answer: Answer, citation: Citation) -> Chunk | None:
    """The cited passage: from the answer's hits, else the index; None if it is gone."""
    for hit in answer.passages:
        if hit.chunk.chunk_id == citation.chunk_id:
            return hit.chunk
    try:
        return pipeline.store.chunk(citation.chunk_id)
    except Exception:  # noqa: BLE001 - a removed document must not break the panel
        return None
