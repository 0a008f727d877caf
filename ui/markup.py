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

from rag.answer.closest import Excerpt
from rag.backends.base import refusal
from rag.language.identify import detect_language
from rag.language.text import guess_language, words
from rag.types import Answer, Chunk, Citation, SentenceVerdict
from ui.export import answer_markdown, answer_plain_text
from ui.export_text import footnote_numbers, grounding
from ui.i18n import text

_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|~$="} | {"\n": "<br>"})
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_MARKER = re.compile(r"\s?\[\d+(?:\s*[,;]\s*\d+)*\]")


def escape_text(text: str) -> str:
    """Text safe inside HTML *and* Markdown: no tags, no Markdown or LaTeX syntax."""
    return text.translate(_ESCAPES)


def error_html(message: str) -> str:
    """An error shown in place of an answer or a briefing."""
    return f'<div class="answer-error">⚠ {escape_text(message)}</div>'


def cited_lines(citation: Citation, lang: str = "en") -> str:
    """Where a citation points in its document: "lines 3–5", plus ", p. 2" when paged."""
    where = text(lang, "answer.lines", start=citation.lines[0], end=citation.lines[1])
    if citation.page is not None:
        where += ", " + text(lang, "answer.page", page=citation.page)
    return where


# ---- answers ----------------------------------------------------------------------------


def marker_html(
    turn: int, marker: int | str, label: str | None = None, preview: str = "", lang: str = "en"
) -> str:
    """A clickable "[N]" that opens the source `marker` of answer `turn`; hovering it
    previews the quote."""
    ref = f"{turn}:{marker}"
    title = _preview(preview) or text(lang, "answer.show_source", marker=marker)
    return (
        f'<a class="cite" href="#cite-{turn}-{marker}" data-cite="{ref}" translate="no" '
        f'title="{escape_text(title)}">[{escape_text(label or str(marker))}]</a>'
    )


def _preview(quote: str, limit: int = 280) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= limit else quote[: limit - 1].rstrip() + "…"


def answer_html(
    answer: Answer, turn: int, lang: str = "en", excerpts: Sequence[Excerpt] = ()
) -> str:
    """An answer with clickable markers, its lines and bullets kept; sentences that their
    citation does not support are underlined and get a small ⚠. Footnote numbers of the
    cited passages are superscripts; the footer lists exactly the markers shown, and
    offers copying the answer as Markdown or plain text."""
    if answer.refused:
        return refusal_html(answer, turn, lang, excerpts)
    unsupported = [s for s in answer.sentences if not s.supported]
    quotes = {c.marker: c.quote for c in answer.citations}
    footnotes = footnote_numbers(answer)
    blocks: list[str] = []
    items: list[str] = []
    for line in answer.answer.split("\n"):
        bullet = _BULLET.match(line)
        content = line[bullet.end() :] if bullet else line
        body = _line_html(content, unsupported, turn, quotes, footnotes, lang)
        marked = lang_attribute(content, answer.language, list(quotes.values()))
        if bullet:
            items.append(f"<li{marked}>{body}</li>")
            continue
        if items:
            blocks.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line.strip():
            blocks.append(f"<p{marked}>{body}</p>")
    if items:
        blocks.append(f"<ul>{''.join(items)}</ul>")
    if answer.answered == "partial":  # a part left open, or the topic without the fact
        label = escape_text(text(lang, "answer.partial"))
        blocks.insert(0, f'<p><span class="refusal-badge partial-badge">{label}</span></p>')
    return (
        f'<div class="answer">{"".join(blocks)}</div>'
        f"{_answer_footer(answer, turn, unsupported, lang)}"
    )


def lang_attribute(content: str, language: str, quotes: Sequence[str] = ()) -> str:
    """` lang="nl"` on a line that quotes Dutch inside an English answer (and the
    reverse), so a browser's page translation and a screen reader treat it as Dutch. With
    `quotes`, only a line that stands in one of them counts as a quote."""
    plain = " ".join(re.sub(r"\[\d+\]", " ", content).split())
    if not plain or (quotes and not any(plain in " ".join(q.split()) for q in quotes)):
        return ""
    quoted = detect_language(plain)
    return f' lang="{quoted}"' if quoted in ("nl", "en") and quoted != language else ""


def _language_of(html: str) -> str:
    """The language of a passage shown as HTML (tags left out)."""
    return guess_language(words(re.sub(r"<[^>]+>", " ", html)))


def _answer_footer(
    answer: Answer, turn: int, unsupported: Sequence[SentenceVerdict], lang: str
) -> str:
    """The markers the answer shows (so the count always matches), warnings, copy buttons."""
    shown = sorted({int(n) for n in re.findall(r"\[(\d+)\]", _expand_markers(answer.answer))})
    quotes = {c.marker: c.quote for c in answer.citations}
    chips = "".join(
        marker_html(turn, n, preview=quotes.get(n, ""), lang=lang) for n in shown if n in quotes
    )
    parts = [
        f"{text(lang, 'answer.sources')} {chips}" if chips else text(lang, "answer.no_sources")
    ]
    if unsupported:
        parts.append("⚠ " + text(lang, "answer.not_supported_count", n=len(unsupported)))
    parts.append(escape_text(answer.backend))
    note = ""
    if answer.language == "en" and answer.backend == "extractive":
        said = escape_text(text(lang, "answer.quotes_dutch", command="COMMAND"))
        command = "<code>RAG_GENERATION__BACKEND=ollama RAG_GENERATION__MODEL=… rag serve</code>"
        note = f'<div class="answer-note">{said.replace("COMMAND", command)}</div>'
    meta = f'<div class="answer-meta">{" · ".join(parts)}</div>'
    return meta + note + copy_buttons_html(answer, lang)


def copy_buttons_html(answer: Answer, lang: str) -> str:
    """Buttons that copy the answer as Markdown or plain text (never HTML). The chat's
    sanitiser drops data attributes, so each text travels in a hidden element beside its
    button, escaped (line breaks as &#10;), and the page's script copies its text."""
    parts = []
    for kind, label in (("markdown", "answer.copy_markdown"), ("plain", "answer.copy_text")):
        payload = (
            answer_markdown(answer, lang) if kind == "markdown" else answer_plain_text(answer, lang)
        )
        parts.append(
            f'<span class="copy-source copy-{kind}">{_escape_keeping_lines(payload)}</span>'
            f'<button class="copy-answer copy-{kind}" type="button">'
            f"{escape_text(text(lang, label))}</button>"
        )
    # What the script shows once the clipboard took the text (or refused it); hidden
    # until then, so nothing says "Copied" before anything is copied.
    outcome = "".join(
        f'<span class="copy-outcome copy-{kind}">{escape_text(text(lang, key))}</span>'
        for kind, key in (("done", "answer.copied"), ("failed", "answer.copy_failed"))
    )
    return f'<div class="copy-row">{"".join(parts)}{outcome}</div>'


def _escape_keeping_lines(value: str) -> str:
    return escape_text(value).replace("<br>", "&#10;")


def _expand_markers(answer_text: str) -> str:
    """ "[1, 2]" as "[1][2]", so every marker can be found on its own."""
    return re.sub(
        r"\[(\d+(?:\s*[,;]\s*\d+)+)\]",
        lambda m: "".join(f"[{n}]" for n in re.split(r"\s*[,;]\s*", m.group(1))),
        answer_text,
    )


def superscript_footnotes(escaped: str, numbers: set[int]) -> str:
    """Escaped text with footnote references glued to a word ("bij.6") as superscripts;
    only numbers that are footnotes of the passage, so figures stay as they are."""
    if not numbers:
        return escaped

    def sup(match: re.Match[str]) -> str:
        number = match.group(2)
        if int(number) not in numbers:
            return match.group(0)
        return f'{match.group(1)}<sup class="fn">{number}</sup>'

    return re.sub(r"([A-Za-zÀ-ÿ]|&#41;|\.|[’”])(\d{1,3})(?=\s|$|&#91;|[,;:])", sup, escaped)


def _line_html(
    line: str,
    unsupported: Sequence[SentenceVerdict],
    turn: int,
    quotes: dict[int, str],
    footnotes: set[int],
    lang: str,
) -> str:
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

    def piece(raw: str) -> str:
        return _markers_to_links(
            superscript_footnotes(escape_text(raw), footnotes), turn, quotes, lang
        )

    out: list[str] = []
    pos = 0
    warning = escape_text(text(lang, "answer.not_supported"))
    for start, end, verdict in sorted(spans, key=lambda span: span[0]):
        out.append(piece(line[pos:start]))
        out.append(
            f'<span class="unsupported" title="{warning} (support {verdict.support:.2f})">'
            f"{piece(line[start:end])}</span>"
            f'<sup class="warn" title="{warning}">⚠</sup>'
        )
        pos = end
    out.append(piece(line[pos:]))
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


def _markers_to_links(escaped: str, turn: int, quotes: dict[int, str], lang: str) -> str:
    """Escaped "[1]", "[1, 2]" or "[1][2]" as clickable markers previewing their quote."""

    def link(match: re.Match[str]) -> str:
        numbers = re.split(r"\s*[,;]\s*", match.group(1))
        return "".join(
            marker_html(turn, n, preview=quotes.get(int(n), ""), lang=lang) for n in numbers
        )

    return re.sub(r"\s?&#91;(\d+(?:\s*[,;]\s*\d+)*)&#93;", link, escaped)


def refusal_html(
    answer: Answer, turn: int, lang: str = "en", excerpts: Sequence[Excerpt] = ()
) -> str:
    """A refusal, styled as one, with the closest passages offered: with `excerpts`
    (`rag.answer.closest`), each passage whole when short, else its sentence that best matches
    the question, whole, with its own lines; without, where each passage is."""
    rank = {h.chunk.chunk_id: n for n, h in enumerate(answer.passages, start=1)}
    if excerpts:
        items = [
            f"<li>{marker_html(turn, f'p{rank[e.hit.chunk.chunk_id]}', str(n), lang=lang)} "
            f"{escape_text(e.hit.chunk.document)}, "
            f"{text(lang, 'answer.lines', start=e.lines[0], end=e.lines[1])}"
            f'{_section_suffix(e.hit.chunk)}<div class="excerpt" lang="{_language_of(e.text)}">'
            f"{escape_text(e.text)}</div></li>"
            for n, e in enumerate(excerpts, start=1)
            if e.hit.chunk.chunk_id in rank
        ]
    else:
        items = [
            f"<li>{marker_html(turn, f'p{n}', str(n), preview=h.chunk.text, lang=lang)} "
            f"{escape_text(h.chunk.document)}, "
            f"{text(lang, 'answer.lines', start=h.chunk.line_start, end=h.chunk.line_end)}"
            f"{_section_suffix(h.chunk)}</li>"
            for n, h in enumerate(answer.passages[:3], start=1)
        ]
    offer = (
        f'<div class="closest">{text(lang, "answer.closest")}<ul>{"".join(items)}</ul></div>'
        if items
        else ""
    )
    badge = f'<span class="refusal-badge">{escape_text(text(lang, "answer.refused"))}</span>'
    said = answer.answer
    if said.strip() == refusal(answer.language) and answer.language != lang:
        said = refusal(lang)  # the fixed phrase in the interface's language, as its badge
    return (
        f'<div class="refusal">{badge} <span{lang_attribute(said, lang)}>'
        f"{escape_text(said)}</span>{offer}</div>" + copy_buttons_html(answer, lang)
    )


def _section_suffix(chunk: Chunk) -> str:
    return f" · {escape_text(chunk.section)}" if chunk.section else ""


# ---- source cards -----------------------------------------------------------------------

GROUNDING_CSS = {"quote": "quote", "supported": "ok", "unsupported": "warn"}


def verdict_html(citation: Citation, verdicts: Sequence[SentenceVerdict], lang: str = "en") -> str:
    """Two separate facts: grounding (what was checked against the source) and relevance
    (whether it answers the question: a calibrated level, its meaning in the tooltip)."""
    kind, support = grounding(citation, verdicts)  # the weakest check, as exports say it
    label = text(lang, f"source.{kind}_label")
    title = text(lang, f"source.{kind}_help", support=f"{support:.2f}")
    parts = [
        f'<span class="verdict {GROUNDING_CSS[kind]}" title="{escape_text(title)}">'
        f"{escape_text(label)}</span>"
    ]
    judged = [v.relevance for v in verdicts if v.relevance is not None]
    if judged:
        best = max(judged, key=lambda r: r.score)
        level = text(lang, f"source.level_{best.level}")
        meaning = best.meaning if lang == "en" else level
        parts.append(
            f'<span class="relevance {best.level}" title="{escape_text(meaning)} '
            f'(p = {best.score:.2f})">{escape_text(text(lang, "source.relevance", level=level))}'
            "</span>"
        )
    return " ".join(parts)


def citation_html(
    citation: Citation,
    chunk: Chunk | None,
    verdicts: Sequence[SentenceVerdict] = (),
    lang: str = "en",
    about: str = "",
) -> str:
    """The source card of a citation: its passage with the quote marked, and what was
    checked about the sentences citing it; just the quote when the passage is gone (its
    document was removed)."""
    verdict = verdict_html(citation, [v for v in verdicts if citation.marker in v.markers], lang)
    heading = text(
        lang, "source.cited", marker=citation.marker, start=citation.lines[0], end=citation.lines[1]
    )
    if chunk is None:
        return _card(
            heading,
            escape_text(citation.document),
            f"<mark>{escape_text(citation.quote)}</mark>",
            verdict,
        )
    return passage_html(chunk, citation.quote, heading, verdict, citation.page, lang, about)


def passage_html(
    chunk: Chunk,
    quote: str,
    heading: str,
    verdict: str = "",
    cited_page: int | None = None,
    lang: str = "en",
    about: str = "",
) -> str:
    """A passage with the sentences of `quote` wrapped in <mark>, all text escaped;
    `about`: what the document is (title, kind, date), shown under its name."""
    meta = [f'<span class="doc">{escape_text(chunk.document)}</span>']
    if about:
        meta.append(f'<span class="doc-about">{escape_text(about)}</span>')
    if chunk.section:
        meta.append(f'<span class="section">{escape_text(chunk.section)}</span>')
    meta.append(text(lang, "source.passage_lines", start=chunk.line_start, end=chunk.line_end))
    page = cited_page or chunk.page_start
    if page is not None:
        end = chunk.page_end if cited_page is None else None
        meta.append(f"p. {page}" + (f"–{end}" if end and end != page else ""))
    if chunk.kind == "footnote":
        meta.append(text(lang, "source.footnote", n=chunk.footnote_number))
    return _card(heading, " · ".join(meta), highlight(chunk, quote), verdict)


def _card(heading: str, meta: str, body: str, verdict: str) -> str:
    return (
        f'<div class="source-card"><div class="source-heading">{escape_text(heading)}</div>'
        f'<div class="source-meta">{meta}</div>'
        f'<div class="source-text" lang="{_language_of(body)}">{body}</div>{verdict}</div>'
    )


def highlight(chunk: Chunk, quote: str) -> str:
    """Escaped chunk text with the quoted span(s) marked, footnote numbers superscript."""
    body = chunk.text
    out: list[str] = []
    pos = 0
    numbers = set(chunk.footnotes)

    def shown(raw: str) -> str:
        return superscript_footnotes(escape_text(raw), numbers)

    for start, end in _quote_spans(chunk, quote):
        out.append(shown(body[pos:start]))
        out.append(f"<mark>{shown(body[start:end])}</mark>")
        pos = end
    out.append(shown(body[pos:]))
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


# ---- the document around a passage ------------------------------------------------------

CONTEXT_PASSAGES = 6  # passages shown before and after the cited one in the document view


def document_view_html(document: Sequence[Chunk], cited: Chunk, quote: str, lang: str) -> str:
    """The cited document around the cited passage, line numbers beside each passage, the
    passage marked (the page's script scrolls it into view)."""
    body = sorted(
        (c for c in document if c.kind == "body" or c.chunk_id == cited.chunk_id),
        key=lambda c: (c.line_start, c.start),
    )
    at = next((i for i, c in enumerate(body) if c.chunk_id == cited.chunk_id), None)
    if at is None or len(body) < 2:
        return ""
    window = body[max(0, at - CONTEXT_PASSAGES) : at + CONTEXT_PASSAGES + 1]
    rows = []
    for chunk in window:
        is_cited = chunk.chunk_id == cited.chunk_id
        content = highlight(chunk, quote) if is_cited else highlight(chunk, "")
        lines = f"{chunk.line_start}–{chunk.line_end}"
        rows.append(
            f'<div class="doc-passage{" cited" if is_cited else ""}">'
            f'<span class="ln">{lines}</span><span class="tx">{content}</span></div>'
        )
    heading = f"{text(lang, 'source.context')}: {escape_text(cited.document)}"
    # a region that scrolls: focusable, so a keyboard can scroll it too
    return (
        f'<div class="doc-view" tabindex="0" role="region" aria-label="{heading}">'
        f'<div class="doc-title">{heading}</div>{"".join(rows)}</div>'
    )
