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

from index.metadata import fallback_title
from rag.answer.closest import Excerpt, closest_excerpts
from rag.errors import RagError
from rag.types import Answer, Chunk, Citation
from ui.i18n import text
from ui.markup import (
    answer_html,
    citation_html,
    cited_lines,
    document_view_html,
    error_html,
    escape_text,
    passage_html,
)
from ui.numbering import renumbered
from ui.options import AskOptions, pipeline_for, user_error

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


def empty_panel(lang: str = "en") -> str:
    """The source panel before a citation is opened."""
    return f'<div class="source-empty">{escape_text(text(lang, "source.empty"))}</div>'


def thinking(lang: str = "en") -> str:
    return f'<div class="answer streaming"><i>{escape_text(text(lang, "chat.thinking"))}</i></div>'


EMPTY_PANEL = empty_panel()


@dataclass
class ChatView:
    """Everything the chat tab shows after a step of answering."""

    messages: list[dict[str, str]]
    answers: list[Answer]
    choices: list[tuple[str, str]] = field(default_factory=list)
    selected: str | None = None
    panel: str = EMPTY_PANEL
    notice: str = ""
    done: bool = True
    sources_changed: bool = True


# ---- answering --------------------------------------------------------------------------


def history_of(answers: Sequence[Answer]) -> list[tuple[str, str]]:
    """Earlier (question, answer) pairs, for follow-up questions."""
    return [(a.question, a.answer) for a in answers]


def respond(
    pipeline: Pipeline,
    question: str,
    answers: Sequence[Answer],
    options: AskOptions,
    lang: str = "en",
    documents: Sequence[str] | None = None,
) -> Iterator[ChatView]:
    """Answer `question` in the conversation `answers`, streaming; the last view is final.
    `documents`: the ids the answer may cite (None: all)."""
    answers = list(answers)
    question = (question or "").strip()
    base = chat_messages(answers, lang, pipeline)  # the earlier turns, rendered once
    if not question or (documents is not None and not documents):
        notice = text(lang, "chat.type_first" if not question else "chat.scope_empty")
        yield ChatView(base, answers, notice=notice, sources_changed=False)
        return
    user = {"role": "user", "content": question_html(question)}

    def pending(content: str) -> list[dict[str, str]]:
        return base + [user, {"role": "assistant", "content": content}]

    yield ChatView(pending(thinking(lang)), answers, done=False)
    streamed = ""
    try:
        active = pipeline_for(pipeline, options)
        stream = active.stream(
            question,
            k=options.k,
            backend=options.backend or None,
            history=history_of(answers),
            documents=list(documents) if documents else None,
        )
        for event in stream:
            if isinstance(event, Answer):
                answers.append(renumbered(event))
                yield _view_for(pipeline, answers, lang, base)
                return
            streamed += event
            partial = f'<div class="answer streaming">{escape_text(streamed)} ▍</div>'
            yield ChatView(pending(partial), answers, done=False)
    except RagError as exc:
        message = user_error(exc, options, lang)
        yield ChatView(pending(error_html(message)), answers, notice=message, sources_changed=False)
        return
    yield ChatView(
        base + [user], answers, notice=text(lang, "chat.no_answer"), sources_changed=False
    )


def _view_for(
    pipeline: Pipeline, answers: list[Answer], lang: str, earlier: list[dict[str, str]]
) -> ChatView:
    """The final view: the earlier turns as rendered, then the new answer and its sources."""
    turn = len(answers) - 1
    messages = earlier + turn_messages(answers[turn], turn, lang, pipeline)
    view = ChatView(messages, answers, panel=empty_panel(lang))
    view.choices, view.selected, view.panel = turn_sources(pipeline, answers, turn, lang)
    return view


def question_html(question: str) -> str:
    """A user's question as a chat message: shown as typed (only HTML is escaped, so the
    text stays editable), no links or images."""
    escaped = question.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\[\]()!`*_#])", r"\\\1", escaped)


def chat_messages(
    answers: Sequence[Answer], lang: str = "en", pipeline: Pipeline | None = None
) -> list[dict[str, str]]:
    """The conversation as Chatbot messages (user/assistant pairs, one per turn); with the
    pipeline, refusals show their closest passages' best-matching sentences."""
    messages: list[dict[str, str]] = []
    for turn, answer in enumerate(answers):
        messages += turn_messages(answer, turn, lang, pipeline)
    return messages


def turn_messages(
    answer: Answer, turn: int, lang: str, pipeline: Pipeline | None = None
) -> list[dict[str, str]]:
    """One turn as its question and answer messages."""
    excerpts = closest_of(pipeline, answer) if pipeline and answer.refused else []
    return [
        {"role": "user", "content": question_html(answer.question)},
        {"role": "assistant", "content": answer_html(answer, turn, lang, excerpts)},
    ]


def closest_of(pipeline: Pipeline, answer: Answer) -> list[Excerpt]:
    """A refusal's closest passages: whole when short, else their best sentence."""
    settings = pipeline.settings.answer
    return closest_excerpts(pipeline.embedder, settings, answer.question, answer.passages)


def turn_of_message(index: Any) -> int | None:
    """The turn a clicked Chatbot message belongs to (messages come in user/assistant pairs)."""
    if isinstance(index, (list, tuple)):
        index = index[0] if index else None
    return index // 2 if isinstance(index, int) else None


# ---- sources ----------------------------------------------------------------------------


def _shorten(value: str, limit: int = 48) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def citation_label(citation: Citation, lang: str = "en") -> str:
    """A citation's entry in the source list: marker, lines (and page), section or file."""
    mark = "" if citation.supported else " ⚠"
    short = _shorten(citation.section or citation.document)
    return f"[{citation.marker}] {cited_lines(citation, lang)} · {short}{mark}"


def source_choices(answer: Answer, turn: int, lang: str = "en") -> list[tuple[str, str]]:
    """(label, ref) pairs for the source list: citations, or closest passages for refusals."""
    if answer.citations:
        return [(citation_label(c, lang), f"{turn}:{c.marker}") for c in answer.citations]
    return [
        (
            f"{text(lang, 'source.closest', n=n)}: "
            f"{text(lang, 'answer.lines', start=h.chunk.line_start, end=h.chunk.line_end)} · "
            f"{_shorten(h.chunk.section or h.chunk.document)}",
            f"{turn}:p{n}",
        )
        for n, h in enumerate(answer.passages[:5], start=1)
    ]


def turn_sources(
    pipeline: Pipeline, answers: Sequence[Answer], turn: int, lang: str = "en"
) -> tuple[list[tuple[str, str]], str | None, str]:
    """Source choices of one turn, the first one selected, and its panel."""
    if not 0 <= turn < len(answers):
        return [], None, empty_panel(lang)
    choices = source_choices(answers[turn], turn, lang)
    if not choices:
        return [], None, empty_panel(lang)
    selected = choices[0][1]
    return choices, selected, source_panel(pipeline, answers, selected, lang)


def parse_ref(ref: str) -> tuple[int, str] | None:
    """(turn, "M" or "pN") of a reference "T:M" or "T:pN"; None if it is not one."""
    match = re.fullmatch(r"(\d+):(p?\d+)", (ref or "").strip())
    return (int(match.group(1)), match.group(2)) if match else None


def source_panel(
    pipeline: Pipeline, answers: Sequence[Answer], ref: str | None, lang: str = "en"
) -> str:
    """HTML of the passage a reference points at, the quoted sentence(s) highlighted, and
    the document around it with the cited lines marked."""
    parsed = parse_ref(ref or "")
    if parsed is None or parsed[0] >= len(answers):
        return empty_panel(lang)
    answer = answers[parsed[0]]
    key = parsed[1]
    if key.startswith("p"):
        n = int(key[1:])
        if not 1 <= n <= len(answer.passages):
            return empty_panel(lang)
        closest = answer.passages[n - 1].chunk
        heading = text(lang, "source.closest", n=n)
        about = document_about(pipeline, closest.doc_id, lang)
        card = passage_html(closest, quote="", heading=heading, lang=lang, about=about)
        return _with_close(card + _context(pipeline, closest, "", lang), lang)
    citation = next((c for c in answer.citations if c.marker == int(key)), None)
    if citation is None:
        return empty_panel(lang)
    chunk = find_chunk(pipeline, answer, citation)
    about = document_about(pipeline, chunk.doc_id, lang) if chunk else ""
    card = citation_html(citation, chunk, answer.sentences, lang, about)
    context = _context(pipeline, chunk, citation.quote, lang) if chunk else ""
    return _with_close(card + context, lang)


def document_about(pipeline: Pipeline, doc_id: str, lang: str) -> str:
    """What a document is, from its metadata: "Title · letter · 2025-12-12" (only what is
    known; empty when the index holds nothing beyond its name)."""
    entry = next((d for d in pipeline.documents() if d.doc_id == doc_id), None)
    if entry is None:
        return ""
    title = getattr(entry, "title", "")
    made_of_name = title.casefold() == fallback_title(entry.name).casefold()
    parts = ["" if made_of_name else title]  # not a title made of its file name
    kind = getattr(entry, "kind", "other")
    if kind != "other":
        parts.append(text(lang, f"documents.kind_{kind}"))
    parts.append(getattr(entry, "date", None) or "")
    return " · ".join(part for part in parts if part)


def _with_close(body: str, lang: str) -> str:
    """A source panel with the button that closes it (as a sheet on a phone)."""
    close = escape_text(text(lang, "source.close"))
    return (
        f'<div class="source-view"><button class="sheet-close" type="button" '
        f'aria-label="{close}" title="{close}">×</button>{body}</div>'
    )


def _context(pipeline: Pipeline, chunk: Chunk, quote: str, lang: str) -> str:
    """The document view around a passage (empty when its document is gone)."""
    document = [c for c in pipeline.store.chunks if c.doc_id == chunk.doc_id]
    return document_view_html(document, chunk, quote, lang)


def find_chunk(pipeline: Pipeline, answer: Answer, citation: Citation) -> Chunk | None:
    """The cited passage: from the answer's hits, else the index; None if it is gone."""
    for hit in answer.passages:
        if hit.chunk.chunk_id == citation.chunk_id:
            return hit.chunk
    try:
        return pipeline.store.chunk(citation.chunk_id)
    except Exception:  # noqa: BLE001 - a removed document must not break the panel
        return None
