"""What the web UI does, as plain functions over a `Pipeline` (no Gradio in here).

`ui.app` wires these to components; tests call them directly. Everything that ends up
in the page as HTML or Markdown goes through `escape_text`, so document text, questions
and model output are always shown as text: a `<script>` in a document can never run.

Citation references used across the UI are strings "T:M" (turn T, citation marker M)
or "T:pN" (turn T, N-th closest passage, offered with refusals).
"""

from __future__ import annotations

import copy
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.render import answer_to_markdown
from rag.types import Answer, Briefing, Chunk, Citation, SentenceVerdict

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

BACKENDS = ("extractive", "openai", "ollama", "llamacpp")
UPLOAD_SUFFIXES = (".txt", ".md", ".pdf")
EMPTY_PANEL = (
    '<div class="source-empty">Click a citation marker such as <b>[1]</b> in an answer, '
    "or pick one from the list, to see the passage it quotes.</div>"
)
_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|~$="} | {"\n": "<br>"})
_index_lock = threading.Lock()
_clones_lock = threading.Lock()
_clones: dict[tuple[Any, ...], Pipeline] = {}


# ---- escaping ---------------------------------------------------------------------------


def escape_text(text: str) -> str:
    """Text safe inside HTML *and* Markdown: no tags, no Markdown or LaTeX syntax."""
    return text.translate(_ESCAPES)


# ---- options ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AskOptions:
    """Per-request settings chosen in the Settings tab."""

    backend: str = "extractive"
    base_url: str = ""
    model: str = ""
    k: int = 5

    @classmethod
    def defaults(cls, pipeline: Pipeline) -> AskOptions:
        gen = pipeline.settings.generation
        return cls(gen.backend, gen.base_url, gen.model, pipeline.settings.retrieval.k)


def pipeline_for(pipeline: Pipeline, options: AskOptions) -> Pipeline:
    """The pipeline to answer with: the shared one, or a light copy with another endpoint
    or model, so one user's choice never changes another's. (The backend itself is
    passed per request.) Copies are kept, so a local model is loaded only once."""
    gen = pipeline.settings.generation
    base_url = options.base_url.strip() or gen.base_url
    model = options.model.strip() or gen.model
    if (base_url, model) == (gen.base_url, gen.model):
        return pipeline
    key = (id(pipeline), id(pipeline.store), base_url, model)
    with _clones_lock:
        clone = _clones.get(key)
        if clone is None:
            from rag.chain import AnswerChain

            clone = copy.copy(pipeline)
            clone.settings = pipeline.settings.model_copy(
                update={"generation": gen.model_copy(update={"base_url": base_url, "model": model})}
            )
            clone.chain = AnswerChain(clone)
            if len(_clones) >= 8:
                _clones.pop(next(iter(_clones)))
            _clones[key] = clone
    return clone


# ---- chat -------------------------------------------------------------------------------


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
    yield ChatView(
        base + [user, {"role": "assistant", "content": _thinking()}], answers, done=False
    )
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
            yield ChatView(
                base + [user, {"role": "assistant", "content": partial}], answers, done=False
            )
    except RagError as exc:
        error = f'<div class="answer-error">⚠ {escape_text(str(exc))}</div>'
        yield ChatView(
            base + [user, {"role": "assistant", "content": error}],
            answers,
            notice=str(exc),
            sources_changed=False,
        )
        return
    yield ChatView(
        base + [user],
        answers,
        notice="No answer came back; please try again.",
        sources_changed=False,
    )


def _thinking() -> str:
    return '<div class="answer streaming"><i>Searching the documents…</i></div>'


def _view_for(pipeline: Pipeline, answers: list[Answer], notice: str = "") -> ChatView:
    view = ChatView(chat_messages(answers), answers, notice=notice)
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


def marker_html(turn: int, marker: int | str, label: str | None = None) -> str:
    ref = f"{turn}:{marker}"
    return (
        f'<a class="cite" href="#cite-{turn}-{marker}" data-cite="{ref}" '
        f'title="Show source {escape_text(str(marker))}">[{escape_text(label or str(marker))}]</a>'
    )


def answer_html(answer: Answer, turn: int) -> str:
    """An answer with clickable markers, its lines and bullets kept; sentences that their
    citation does not support are underlined and get a small ⚠."""
    if answer.refused:
        return refusal_html(answer, turn)
    unsupported = [s for s in answer.sentences if not s.supported]
    blocks: list[str] = []
    items: list[str] = []
    for line in answer.answer.split("\n"):
        bullet = _BULLET.match(line)
        body = _line_html(line[bullet.end() :] if bullet else line, unsupported, turn)
        if bullet:
            items.append(f"<li>{body}</li>")
            continue
        if items:
            blocks.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line.strip():
            blocks.append(f"<p>{body}</p>")
    if items:
        blocks.append(f"<ul>{''.join(items)}</ul>")
    footer = f"{len(answer.citations)} source(s)"
    if unsupported:
        footer += f" · ⚠ {len(unsupported)} sentence(s) not supported by their source"
    footer += f" · {escape_text(answer.backend)}"
    return f'<div class="answer">{"".join(blocks)}</div><div class="answer-meta">{footer}</div>'


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_MARKER = re.compile(r"\s?\[\d+(?:\s*[,;]\s*\d+)*\]")


def _line_html(line: str, unsupported: Sequence[SentenceVerdict], turn: int) -> str:
    """One line of an answer: escaped, markers linked, unsupported sentences wrapped."""
    spans: list[tuple[int, int, SentenceVerdict]] = []
    plain, where = _without_markers(line)
    for verdict in unsupported:
        words = _BULLET.sub("", verdict.text).split()
        if not words:
            continue
        match = re.search(r"\s+".join(re.escape(w) for w in words), plain)
        if not match:
            continue
        start, end = where[match.start()], where[match.end() - 1] + 1
        if not any(a < end and start < b for a, b, _ in spans):
            spans.append((start, end, verdict))
    out: list[str] = []
    pos = 0
    for start, end, verdict in sorted(spans, key=lambda span: span[0]):
        out.append(_markers_to_links(escape_text(line[pos:start]), turn))
        out.append(
            '<span class="unsupported" title="Not supported by the cited passage'
            f' (support {verdict.support:.2f})">'
            f"{_markers_to_links(escape_text(line[start:end]), turn)}</span>"
            '<sup class="warn" title="Not supported by the cited passage">⚠</sup>'
        )
        pos = end
    out.append(_markers_to_links(escape_text(line[pos:]), turn))
    return "".join(out)


def _without_markers(line: str) -> tuple[str, list[int]]:
    """The line without citation markers, and each remaining character's position."""
    plain: list[str] = []
    where: list[int] = []
    pos = 0
    for match in [*_MARKER.finditer(line), None]:
        stop = match.start() if match else len(line)
        plain.append(line[pos:stop])
        where.extend(range(pos, stop))
        pos = match.end() if match else stop
    return "".join(plain), where


def _markers_to_links(escaped: str, turn: int) -> str:
    """Escaped "[1]", "[1, 2]" or "[1][2]" as clickable markers."""

    def link(match: re.Match[str]) -> str:
        numbers = re.split(r"\s*[,;]\s*", match.group(1))
        return "".join(marker_html(turn, n) for n in numbers)

    return re.sub(r"\s?&#91;(\d+(?:\s*[,;]\s*\d+)*)&#93;", link, escaped)


def refusal_html(answer: Answer, turn: int) -> str:
    """A refusal, styled as one, with the closest passages offered."""
    closest = "".join(
        f"<li>{marker_html(turn, f'p{n}', str(n))} "
        f"{escape_text(h.chunk.document)}, lines {h.chunk.line_start}–{h.chunk.line_end}"
        f"{_section_suffix(h.chunk)}</li>"
        for n, h in enumerate(answer.passages[:3], start=1)
    )
    offer = f'<div class="closest">Closest passages:<ul>{closest}</ul></div>' if closest else ""
    return (
        f'<div class="refusal"><span class="refusal-icon">⦸</span> '
        f"{escape_text(answer.answer)}{offer}</div>"
    )


def _section_suffix(chunk: Chunk) -> str:
    return f" · {escape_text(chunk.section)}" if chunk.section else ""


def _shorten(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_label(citation: Citation) -> str:
    where = f"lines {citation.lines[0]}–{citation.lines[1]}"
    if citation.page is not None:
        where += f", p. {citation.page}"
    mark = "" if citation.supported else " ⚠"
    return f"[{citation.marker}] {where} · {_shorten(citation.section or citation.document)}{mark}"


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
        chunk = answer.passages[n - 1].chunk
        return passage_html(chunk, quote="", heading=f"Closest passage {n}")
    citation = next((c for c in answer.citations if c.marker == int(key)), None)
    if citation is None:
        return EMPTY_PANEL
    chunk = find_chunk(pipeline, answer, citation)
    return citation_html(citation, chunk)


def find_chunk(pipeline: Pipeline, answer: Answer, citation: Citation) -> Chunk | None:
    for hit in answer.passages:
        if hit.chunk.chunk_id == citation.chunk_id:
            return hit.chunk
    try:
        return pipeline.store.chunk(citation.chunk_id)
    except Exception:  # noqa: BLE001 - a removed document must not break the panel
        return None


def citation_html(citation: Citation, chunk: Chunk | None) -> str:
    verdict = (
        '<span class="verdict ok">✓ quote supports the sentence</span>'
        if citation.supported
        else '<span class="verdict warn">⚠ not verified: the quote may not support '
        "the sentence</span>"
    )
    lines = f"lines {citation.lines[0]}–{citation.lines[1]}"
    heading = f"Source [{citation.marker}] · cited {lines}"
    if chunk is None:
        return _panel(
            heading,
            escape_text(citation.document),
            f"<mark>{escape_text(citation.quote)}</mark>",
            verdict,
        )
    return passage_html(chunk, citation.quote, heading, verdict, cited_page=citation.page)


def passage_html(
    chunk: Chunk,
    quote: str,
    heading: str,
    verdict: str = "",
    cited_page: int | None = None,
) -> str:
    """A passage with the sentences of `quote` wrapped in <mark>, all text escaped."""
    meta = [f'<span class="doc">{escape_text(chunk.document)}</span>']
    if chunk.section:
        meta.append(f'<span class="section">{escape_text(chunk.section)}</span>')
    meta.append(f"passage lines {chunk.line_start}–{chunk.line_end}")
    page = cited_page or chunk.page_start
    if page is not None:
        end = chunk.page_end if cited_page is None else None
        meta.append(f"p. {page}" + (f"–{end}" if end and end != page else ""))
    if chunk.kind == "footnote":
        meta.append(f"footnote {chunk.footnote_number}")
    return _panel(heading, " · ".join(meta), highlight(chunk, quote), verdict)


def _panel(heading: str, meta: str, body: str, verdict: str) -> str:
    return (
        f'<div class="source-card"><div class="source-heading">{escape_text(heading)}</div>'
        f'<div class="source-meta">{meta}</div>'
        f'<div class="source-text">{body}</div>{verdict}</div>'
    )


def highlight(chunk: Chunk, quote: str) -> str:
    """Escaped chunk text with the quoted span(s) marked."""
    text = chunk.text
    spans = _quote_spans(chunk, quote)
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(escape_text(text[pos:start]))
        out.append(f"<mark>{escape_text(text[start:end])}</mark>")
        pos = end
    out.append(escape_text(text[pos:]))
    return "".join(out)


def _quote_spans(chunk: Chunk, quote: str) -> list[tuple[int, int]]:
    norm_quote = " ".join(quote.split())
    if not norm_quote:
        return []
    found = chunk.text.find(quote)
    if found >= 0:
        return [(found, found + len(quote))]
    spans = [
        (s.start, s.end)
        for s in chunk.sentences
        if len(" ".join(chunk.sentence_text(s).split())) > 2
        and " ".join(chunk.sentence_text(s).split()) in norm_quote
    ]
    if spans:
        return _merge(spans)
    # last resort: whitespace-insensitive search of the whole quote
    pattern = r"\s+".join(re.escape(w) for w in norm_quote.split())
    match = re.search(pattern, chunk.text)
    return [(match.start(), match.end())] if match else []


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def turn_of_message(index: Any) -> int | None:
    """The turn a clicked Chatbot message belongs to (messages come in user/assistant pairs)."""
    if isinstance(index, (list, tuple)):
        index = index[0] if index else None
    return index // 2 if isinstance(index, int) else None


# ---- export -----------------------------------------------------------------------------

_export_dir = Path(tempfile.mkdtemp(prefix="rag-ui-"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "answer"


def export_answer(answer: Answer) -> str:
    """Write the answer with its citations and quotes as Markdown; return the file path."""
    path = _export_dir / f"answer-{_slug(answer.question)}.md"
    path.write_text(answer_to_markdown(answer), encoding="utf-8")
    return str(path)


# ---- briefing ---------------------------------------------------------------------------


def make_briefing(
    pipeline: Pipeline, topic: str, options: AskOptions
) -> tuple[str, str | None, str]:
    """(HTML to show, path of the .md download, notice) for a briefing on `topic`."""
    topic = (topic or "").strip()
    try:
        briefing: Briefing = pipeline_for(pipeline, options).brief(
            topic or None, backend=options.backend or None
        )
    except RagError as exc:
        return f'<div class="answer-error">⚠ {escape_text(str(exc))}</div>', None, str(exc)
    path = _export_dir / f"briefing-{_slug(topic or 'all')}.md"
    path.write_text(briefing.markdown, encoding="utf-8")
    return briefing_html(briefing), str(path), ""


def briefing_html(briefing: Briefing) -> str:
    """Bullets grouped by section, each with its markers, then the cited quotes."""
    dutch = briefing.language == "nl"
    title = "Briefing" + (f": {briefing.topic}" if briefing.topic else "")
    parts = [f"<h2>{escape_text(title)}</h2>"]
    if not briefing.points:
        none = "Geen passages gevonden." if dutch else "No passages found."
        parts.append(f'<div class="refusal">{none}</div>')
    sections: dict[str, list[str]] = {}
    for point in briefing.points:
        markers = "".join(f'<sup class="bmark">[{m}]</sup>' for m in point.markers)
        sections.setdefault(point.section, []).append(
            f"<li>{escape_text(point.text)}{markers}</li>"
        )
    for section, items in sections.items():
        heading = section or ("Algemeen" if dutch else "General")
        parts.append(f"<h3>{escape_text(heading)}</h3><ul>{''.join(items)}</ul>")
    if briefing.citations:
        sources = "".join(
            f"<li><b>[{c.marker}]</b> {escape_text(_where(c))}"
            f"<blockquote>{escape_text(c.quote)}</blockquote></li>"
            for c in briefing.citations
        )
        parts.append(f"<h3>{'Bronnen' if dutch else 'Sources'}</h3>")
        parts.append(f'<ul class="briefing-sources">{sources}</ul>')
    return f'<div class="briefing">{"".join(parts)}</div>'


def _where(c: Citation) -> str:
    where = f"{c.document}, lines {c.lines[0]}–{c.lines[1]}"
    if c.page is not None:
        where += f", p. {c.page}"
    return where + (f" — {c.section}" if c.section else "")


# ---- documents --------------------------------------------------------------------------


def documents_rows(pipeline: Pipeline) -> list[list[Any]]:
    """[id, name, passages] for each indexed document."""
    return [[d.doc_id, d.name, d.chunks] for d in pipeline.documents()]


def document_ids(pipeline: Pipeline) -> list[str]:
    return [d.doc_id for d in pipeline.documents()]


Progress = Callable[[str, int, int], None]


def check_upload(path: Path, max_mb: float) -> str | None:
    """Why an upload is refused, or None if it may be indexed."""
    suffix = path.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return (
            f"'{path.name}' is a {suffix or 'suffix-less'} file; only .txt, .md and .pdf "
            "documents can be added."
        )
    size_mb = path.stat().st_size / (1024 * 1024)
    if size_mb > max_mb:
        return (
            f"'{path.name}' is {size_mb:.1f} MB; the limit is {max_mb:g} MB. "
            "Split the document or ask the administrator to raise ui.max_upload_mb."
        )
    return None


def upload_document(
    pipeline: Pipeline, path: str | Path | None, max_mb: float, progress: Progress | None = None
) -> tuple[bool, str]:
    """Index an uploaded file. (ok, message); on failure the index is left as it was."""
    if not path:
        return False, "Choose a .txt, .md or .pdf file first."
    file = Path(path)
    refusal = check_upload(file, max_mb)
    if refusal:
        return False, refusal
    from index.library import add_document

    with _index_lock:
        before = {d.doc_id: d.chunks for d in pipeline.documents()}
        try:
            add_document(pipeline, file, name=file.name, progress=progress)
        except RagError as exc:
            return False, f"Could not add '{file.name}': {exc} The index was not changed."
        added = [d for d in pipeline.documents() if before.get(d.doc_id) != d.chunks]
    names = ", ".join(f"'{d.name}' ({d.chunks} passages)" for d in added) or f"'{file.name}'"
    return True, f"Indexed {names}. You can ask about it in the Chat tab now."


def delete_document(pipeline: Pipeline, doc_id: str | None) -> tuple[bool, str]:
    """Remove a document from the index. (ok, message)."""
    from index.library import remove_document

    with _index_lock:
        ids = document_ids(pipeline)
        if not doc_id or doc_id not in ids:
            return False, "Pick a document to remove."
        if len(ids) == 1:
            return False, "This is the only indexed document; add another before removing it."
        try:
            remove_document(pipeline, doc_id)
        except RagError as exc:
            return False, f"Could not remove '{doc_id}': {exc}"
    return True, f"Removed '{doc_id}'."
