"""Sentence-aware, token-counted chunks with section headings and exact source spans.

Chunks never cut a sentence that fits and never cross a section heading. Sentences are
packed greedily up to `max_tokens`; the next chunk repeats whole trailing sentences worth
at most `overlap_tokens`. A sentence longer than `max_tokens` (or text without any
sentence ends at all) is cut at clause ends or whitespace, then inside words
(`rag.language.sentences.bounded_sentences`), and its pieces are packed into passages of their
own, so every passage holds at most `max_tokens` tokens, counted on its exact text,
whatever the input. Each footnote becomes a passage of its
own (a very long one several), linked to the passage holding its marker. Chunk ids hash
the document id and the chunk text, so they survive a rebuild of unchanged text.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from rag.language.sentences import bounded_sentences, bounded_spans
from rag.settings import ChunkingSettings
from rag.types import Chunk, Document, Sentence
from rag.verify.planted import flag_chunks

log = logging.getLogger("rag.index")

MAX_HEADING_CHARS = 200
# No string longer than this many characters per allowed token is ever encoded: a longer
# piece is cut first, so each encode call does bounded work whatever the input (instead of
# one call on a multi-megabyte line). 8 is twice the ~4 characters of an average cl100k
# token in Dutch or English: a sentence within the token limit is cut by this bound only if
# its tokens average more than 8 characters.
CHARS_PER_TOKEN_BOUND = 8
_HEADING_END = re.compile(r"[.!?:;,]['\"’”)]*$")
_NUMBERED = re.compile(r"(\d{1,2})[.)]\s")


@lru_cache(maxsize=4)
def encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding that loads offline ('cl100k_base' maps to the bundled copy)."""
    for candidate in (f"{name}_offline", name):
        try:
            return tiktoken.get_encoding(candidate)
        except ValueError:
            continue
    raise ValueError(f"Unknown tiktoken encoding '{name}'.")


def count_tokens(text: str, encoding_name: str = "cl100k_base") -> int:
    return len(encoding(encoding_name).encode(text, disallowed_special=()))


@dataclass(frozen=True)
class _Span:
    start: int  # offset in the cleaned text
    end: int
    tokens: int


class _Budget:
    """Token counting against the passage limit."""

    def __init__(self, enc: tiktoken.Encoding, limit: int) -> None:
        self.enc = enc
        self.limit = limit
        self.max_chars = limit * CHARS_PER_TOKEN_BOUND

    def tokens(self, text: str) -> int:
        return len(self.enc.encode(text, disallowed_special=()))

    def fits(self, text: str) -> bool:
        return self.tokens(text) <= self.limit


class _Lines:
    """Raw offset → 1-based line number, in O(log n)."""

    def __init__(self, raw_text: str) -> None:
        self._newlines = [i for i, ch in enumerate(raw_text) if ch == "\n"]

    def line_of(self, raw_offset: int) -> int:
        return bisect.bisect_left(self._newlines, raw_offset) + 1


def is_heading(line: str, has_following_text: bool) -> bool:
    """A standalone short line without closing punctuation that introduces more text."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return True
    if not stripped or len(stripped) > MAX_HEADING_CHARS or not has_following_text:
        return False
    first = stripped[0]
    return (first.isupper() or first.isdigit()) and not _HEADING_END.search(stripped)


def sections(text: str) -> list[tuple[str, int, int]]:
    """(heading, start, end) ranges of the cleaned text; text before any heading has ''."""
    lines: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        lines.append((offset, offset + len(line)))
        offset += len(line) + 1
    result: list[tuple[str, int, int]] = []
    heading, body_start = "", 0
    for i, (start, end) in enumerate(lines):
        following = any(text[s:e].strip() for s, e in lines[i + 1 : i + 3])
        if is_heading(text[start:end], following) and not _list_item(text, lines, i):
            if text[body_start:start].strip():
                result.append((heading, body_start, start))
            heading, body_start = text[start:end].strip().lstrip("#").strip(), end
    if text[body_start:].strip():
        result.append((heading, body_start, len(text)))
    return result


def _list_item(text: str, lines: list[tuple[int, int]], i: int) -> bool:
    """A numbered line ("2. Investeer in ...") that is an item of a list, not a heading:
    it continues the numbering of the line before or after it, or opens a list after a
    line ending in ':' or ';'. A numbered heading ("2. Handel") is followed by text."""

    def near(step: int) -> str:
        j = i + step
        while 0 <= j < len(lines) and not text[lines[j][0] : lines[j][1]].strip():
            j += step
        return text[lines[j][0] : lines[j][1]].strip() if 0 <= j < len(lines) else ""

    def number(line: str) -> int | None:
        m = _NUMBERED.match(line)
        return int(m.group(1)) if m else None

    n = number(text[lines[i][0] : lines[i][1]].strip())
    if n is None:
        return False
    before, after = near(-1), near(1)
    return (
        number(before) == n - 1 or number(after) == n + 1 or (n == 1 and before[-1:] in (":", ";"))
    )


def chunk_document(doc: Document, settings: ChunkingSettings) -> list[Chunk]:
    """Split a cleaned document into body and footnote passages."""
    lines = _Lines(doc.raw.text)
    limit = settings.max_tokens
    budget = _Budget(encoding(settings.encoding), limit)
    markers = sorted((fn.marker, fn.number) for fn in doc.footnotes if fn.marker is not None)
    chunks: list[Chunk] = []
    seen_ids: set[str] = set()
    section_starts: list[tuple[int, str]] = []
    for heading, start, end in sections(doc.text):
        section_starts.append((start, heading))
        for run in _runs(doc.text, start, end, budget):
            for group in _pack(run, limit, settings.overlap_tokens, doc.text, budget):
                for part in _exact_fit(doc.text, group, budget):
                    chunks.append(_body_chunk(doc, heading, part, lines, seen_ids, markers, budget))
    chunks.extend(_footnote_chunks(doc, section_starts, lines, budget, seen_ids))
    flagged_chunks, flagged = flag_chunks(chunks)
    for chunk, sentence, why in flagged:
        log.warning(
            "%s, lines %d-%d: a sentence %s; it stays searchable but is never quoted as an "
            "answer: %.120r",
            chunk.document, chunk.line_start, chunk.line_end, why, sentence,
        )  # fmt: skip
    return flagged_chunks


def _runs(text: str, start: int, end: int, budget: _Budget) -> list[list[_Span]]:
    """The sentences of text[start:end] as runs to pack: whole sentences that fit form one
    run; the pieces of a sentence over the limit form a run of their own, so they are
    packed together and the passages around them stay as they would be without it."""
    runs: list[list[_Span]] = [[]]
    for pieces in bounded_sentences(text[start:end], budget.fits, budget.max_chars):
        spans = [
            _Span(start + s, start + e, budget.tokens(text[start + s : start + e]))
            for s, e in pieces
        ]
        if len(spans) == 1:
            runs[-1].extend(spans)
        else:
            runs.extend([spans, []])
    return [run for run in runs if run]


def _pack(
    spans: list[_Span], max_tokens: int, overlap: int, text: str, budget: _Budget
) -> list[list[_Span]]:
    """Greedy packing by the sentences' token counts; near the limit, where the whitespace
    between sentences can tip the chunk's own count over it, the exact text is counted."""

    def too_big(group: list[_Span], size: int, span: _Span) -> bool:
        if size + span.tokens > max_tokens:
            return True
        near = size + span.tokens + len(group) > max_tokens
        return near and not budget.fits(text[group[0].start : span.end])

    groups: list[list[_Span]] = []
    current: list[_Span] = []
    size = 0
    for span in spans:
        if current and too_big(current, size, span):
            groups.append(current)
            current = _tail(current, min(overlap, max_tokens - span.tokens))
            while current and too_big(current, sum(s.tokens for s in current), span):
                current = current[1:]
            size = sum(s.tokens for s in current)
        current.append(span)
        size += span.tokens
    if current and (not groups or current[-1] is not groups[-1][-1]):
        groups.append(current)
    return groups


def _exact_fit(text: str, group: list[_Span], budget: _Budget) -> list[list[_Span]]:
    """`group` if its exact text fits, else its halves, recursively (a safety net: `_pack`
    already counts exactly near the limit); one span always fits (bounded_spans made it so)."""
    if len(group) == 1 or budget.fits(text[group[0].start : group[-1].end]):
        return [group]
    middle = len(group) // 2
    return _exact_fit(text, group[:middle], budget) + _exact_fit(text, group[middle:], budget)


def _tail(group: list[_Span], budget: int) -> list[_Span]:
    tail: list[_Span] = []
    used = 0
    for span in reversed(group[1:]):
        if used + span.tokens > budget:
            break
        tail.insert(0, span)
        used += span.tokens
    return tail


def _body_chunk(
    doc: Document,
    heading: str,
    group: list[_Span],
    lines: _Lines,
    seen: set[str],
    markers: list[tuple[int, int]],
    budget: _Budget,
) -> Chunk:
    start, end = group[0].start, group[-1].end
    text = doc.text[start:end]
    raw_start, raw_end = doc.raw_span(start, end)
    sentences = []
    for span in group:
        s_raw, e_raw = doc.raw_span(span.start, span.end)
        sentences.append(
            Sentence(
                start=span.start - start,
                end=span.end - start,
                line_start=lines.line_of(s_raw),
                line_end=lines.line_of(max(s_raw, e_raw - 1)),
                page=doc.raw.page_of(s_raw),
            )
        )
    first = bisect.bisect_left(markers, (start, -1))
    last = bisect.bisect_left(markers, (end, -1))
    notes = sorted(number for _, number in markers[first:last])
    return Chunk(
        chunk_id=_chunk_id(doc.doc_id, f"{heading}\x00{text}", seen),
        doc_id=doc.doc_id,
        document=doc.raw.name,
        section=heading,
        text=text,
        start=raw_start,
        end=raw_end,
        line_start=lines.line_of(raw_start),
        line_end=lines.line_of(max(raw_start, raw_end - 1)),
        page_start=doc.raw.page_of(raw_start),
        page_end=doc.raw.page_of(max(raw_start, raw_end - 1)),
        tokens=group[0].tokens if len(group) == 1 else budget.tokens(text),
        sentences=sentences,
        footnotes=notes,
    )


def _footnote_chunks(
    doc: Document,
    section_starts: list[tuple[int, str]],
    lines: _Lines,
    budget: _Budget,
    seen: set[str],
) -> list[Chunk]:
    chunks = []
    starts = [s for s, _ in section_starts]
    for fn in doc.footnotes:
        heading = ""
        if fn.marker is not None and section_starts:
            index = bisect.bisect_right(starts, fn.marker) - 1
            heading = section_starts[max(index, 0)][1]
        full = f"{fn.number} {fn.text}"
        # A footnote is one passage; one too long for a passage becomes several.
        whole = len(full) <= budget.max_chars and budget.fits(full)
        pieces = [(0, len(full))] if whole else bounded_spans(full, budget.fits, budget.max_chars)
        cursor = fn.start
        for s, e in pieces:
            text = full[s:e]
            start, end = fn.start, fn.end
            if not whole:
                start, end, cursor = _source_span(doc.raw.text, cursor, fn.end, text)
            first, last = lines.line_of(start), lines.line_of(max(start, end - 1))
            chunks.append(
                Chunk(
                    chunk_id=_chunk_id(doc.doc_id, f"footnote {text}", seen),
                    doc_id=doc.doc_id,
                    document=doc.raw.name,
                    section=heading,
                    kind="footnote",
                    text=text,
                    start=start,
                    end=end,
                    line_start=first,
                    line_end=last,
                    page_start=doc.raw.page_of(start),
                    page_end=doc.raw.page_of(max(start, end - 1)),
                    tokens=budget.tokens(text),
                    sentences=[
                        Sentence(
                            start=0,
                            end=len(text),
                            line_start=first,
                            line_end=last,
                            page=doc.raw.page_of(start),
                        )
                    ],
                    footnote_number=fn.number,
                )
            )
    return chunks


def _source_span(raw: str, cursor: int, limit: int, text: str) -> tuple[int, int, int]:
    """Raw span of a piece of a footnote: its visible characters are found in order from
    `cursor` (the footnote text is its raw lines with whitespace and line-end hyphens
    dropped); also the cursor after the piece."""
    first = last = -1
    for char in text:
        if char.isspace():
            continue
        while cursor < limit and raw[cursor] != char:
            cursor += 1
        if cursor == limit:
            break
        first = cursor if first < 0 else first
        last, cursor = cursor, cursor + 1
    if first < 0:
        return cursor, min(cursor + 1, limit), cursor
    return first, last + 1, cursor


def _chunk_id(doc_id: str, text: str, seen: set[str]) -> str:
    digest = hashlib.sha1(f"{doc_id}\x00{text}".encode()).hexdigest()[:12]
    chunk_id, n = f"{doc_id}:{digest}", 1
    while chunk_id in seen:
        n += 1
        chunk_id = f"{doc_id}:{digest}-{n}"
    seen.add(chunk_id)
    return chunk_id
