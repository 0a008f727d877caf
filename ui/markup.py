"""How answers and the passages they cite look in the page: escaped HTML, no Gradio.

Everything that ends up in the page as HTML or Markdown goes through `escape_text`, so
document text, questions and model output are always shown as text: a `<script>` in a
document can never run. The rest turns an `Answer` into HTML with clickable citation
markers (unsupported sentences underlined, refusals styled as such) and a cited passage
into a source card with the quoted sentence(s) marked. A marker links to the reference
"T:M" (turn T, citation marker M) or "T:pN" (turn T, N-th closest passage); `ui.chat`
resolves those references.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Answer, Chunk, Citation, SentenceVerdict

_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|~$="} | {"\n": "<br>"})
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_MARKER = re.compile(r"\s?\[\d+(?:\s*[,;]\s*\d+)*\]")


def escape_text(text: str) -> str:
    """Text safe inside HTML *and* Markdown: no tags, no Markdown or LaTeX syntax."""
    return text.translate(_ESCAPES)


def error_html(message: str) -> str:
    """An error shown in place of an answer or a briefing."""
    return f'<div class="answer-error">⚠ {escape_text(message)}</div>'


def cited_lines(citation: Citation) -> str:
    """Where a citation points in its document: "lines 3–5", plus ", p. 2" when paged."""
    where = f"lines {citation.lines[0]}–{citation.lines[1]}"
    if citation.page is not None:
        where += f", p. {citation.page}"
    return where


# ---- answers ----------------------------------------------------------------------------


def marker_html(turn: int, marker: int | str, label: str | None = None) -> str:
    """A clickable "[N]" that opens the source `marker` of answer `turn`."""
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


# ---- source cards -----------------------------------------------------------------------

GROUNDING = {
    "quote": (
        "quote",
        "❝ quoted verbatim",
        "The answer sentence stands word for word in the source at the cited lines.",
    ),
    "supported": (
        "ok",
        "✓ supported",
        "The offline verifier scored the sentence {support:.2f} against this passage "
        "(supported from 0.55: embedding similarity, shared words, numbers).",
    ),
    "unsupported": (
        "warn",
        "⚠ not supported",
        "The offline verifier scored the sentence {support:.2f} against this passage, "
        "below 0.55: the passage may not say this.",
    ),
}
RELEVANCE = {
    "answers": "answers the question",
    "partial": "partial",
    "unrelated": "off the question",
}


def verdict_html(citation: Citation, verdicts: Sequence[SentenceVerdict]) -> str:
    """Two separate facts: grounding (what was checked against the source) and relevance
    (whether it answers the question: a calibrated level, its meaning in the tooltip)."""
    if not verdicts:  # a citation no sentence refers to any more: its own verdict
        grounding = "supported" if citation.supported else "unsupported"
        support = citation.support
    else:
        order = ("unsupported", "uncited", "supported", "quote")
        worst = min(verdicts, key=lambda v: order.index(v.grounding))
        grounding, support = worst.grounding, worst.support
    css, label, title = GROUNDING.get(grounding, GROUNDING["unsupported"])
    parts = [
        f'<span class="verdict {css}" title="{escape_text(title.format(support=support))}">'
        f"{label}</span>"
    ]
    judged = [v.relevance for v in verdicts if v.relevance is not None]
    if judged:
        best = max(judged, key=lambda r: r.score)
        parts.append(
            f'<span class="relevance {best.level}" title="{escape_text(best.meaning)} '
            f'(p = {best.score:.2f})">relevance: {RELEVANCE[best.level]}</span>'
        )
    return " ".join(parts)


def citation_html(
    citation: Citation, chunk: Chunk | None, verdicts: Sequence[SentenceVerdict] = ()
) -> str:
    """The source card of a citation: its passage with the quote marked, and what was
    checked about the sentences citing it; just the quote when the passage is gone (its
    document was removed)."""
    verdict = verdict_html(citation, [v for v in verdicts if citation.marker in v.markers])
    lines = f"lines {citation.lines[0]}–{citation.lines[1]}"
    heading = f"Source [{citation.marker}] · cited {lines}"
    if chunk is None:
        return _card(
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
    return _card(heading, " · ".join(meta), highlight(chunk, quote), verdict)


def _card(heading: str, meta: str, body: str, verdict: str) -> str:
    return (
        f'<div class="source-card"><div class="source-heading">{escape_text(heading)}</div>'
        f'<div class="source-meta">{meta}</div>'
        f'<div class="source-text">{body}</div>{verdict}</div>'
    )


def highlight(chunk: Chunk, quote: str) -> str:
    """Escaped chunk text with the quoted span(s) marked."""
    text = chunk.text
    out: list[str] = []
    pos = 0
    for start, end in _quote_spans(chunk, quote):
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
    sentences = [(s, " ".join(chunk.sentence_text(s).split())) for s in chunk.sentences]
    spans = [(s.start, s.end) for s, plain in sentences if len(plain) > 2 and plain in norm_quote]
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
