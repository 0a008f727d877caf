"""Sentence-aware, token-counted chunks with section headings and exact source spans.

Chunks never cut a sentence and never cross a section heading. Sentences are packed
greedily up to `max_tokens` (a single sentence longer than that becomes a chunk of its
own rather than being cut); the next chunk repeats whole trailing sentences worth at
most `overlap_tokens`. Each footnote becomes a passage of its own, linked to the
passage holding its marker. Chunk ids hash the document id and the chunk text, so they
survive a rebuild of unchanged text.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from rag.sentences import split_sentences
from rag.settings import ChunkingSettings
from rag.types import Chunk, Document, Sentence

MAX_HEADING_CHARS = 200
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
    enc = encoding(settings.encoding)
    chunks: list[Chunk] = []
    seen_ids: set[str] = set()
    section_starts: list[tuple[int, str]] = []
    for heading, start, end in sections(doc.text):
        section_starts.append((start, heading))
        spans = [
            _Span(start + s, start + e, len(enc.encode(doc.text[start + s : start + e])))
            for s, e in split_sentences(doc.text[start:end])
        ]
        for group in _pack(spans, settings.max_tokens, settings.overlap_tokens):
            chunks.append(_body_chunk(doc, heading, group, lines, seen_ids))
    chunks.extend(_footnote_chunks(doc, section_starts, lines, enc, seen_ids))
    return chunks


def _pack(spans: list[_Span], max_tokens: int, overlap: int) -> list[list[_Span]]:
    groups: list[list[_Span]] = []
    current: list[_Span] = []
    size = 0
    for span in spans:
        if current and size + span.tokens > max_tokens:
            groups.append(current)
            current = _tail(current, min(overlap, max_tokens - span.tokens))
            size = sum(s.tokens for s in current)
        current.append(span)
        size += span.tokens
    if current and (not groups or current[-1] is not groups[-1][-1]):
        groups.append(current)
    return groups


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
    doc: Document, heading: str, group: list[_Span], lines: _Lines, seen: set[str]
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
            )
        )
    notes = [
        fn.number for fn in doc.footnotes if fn.marker is not None and start <= fn.marker < end
    ]
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
        tokens=sum(s.tokens for s in group),
        sentences=sentences,
        footnotes=notes,
    )


def _footnote_chunks(
    doc: Document,
    section_starts: list[tuple[int, str]],
    lines: _Lines,
    enc: tiktoken.Encoding,
    seen: set[str],
) -> list[Chunk]:
    chunks = []
    starts = [s for s, _ in section_starts]
    for fn in doc.footnotes:
        heading = ""
        if fn.marker is not None and section_starts:
            index = bisect.bisect_right(starts, fn.marker) - 1
            heading = section_starts[max(index, 0)][1]
        text = f"{fn.number} {fn.text}"
        first, last = lines.line_of(fn.start), lines.line_of(max(fn.start, fn.end - 1))
        chunks.append(
            Chunk(
                chunk_id=_chunk_id(doc.doc_id, f"footnote {text}", seen),
                doc_id=doc.doc_id,
                document=doc.raw.name,
                section=heading,
                kind="footnote",
                text=text,
                start=fn.start,
                end=fn.end,
                line_start=first,
                line_end=last,
                page_start=doc.raw.page_of(fn.start),
                page_end=doc.raw.page_of(max(fn.start, fn.end - 1)),
                tokens=len(enc.encode(text)),
                sentences=[Sentence(start=0, end=len(text), line_start=first, line_end=last)],
                footnote_number=fn.number,
            )
        )
    return chunks


def _chunk_id(doc_id: str, text: str, seen: set[str]) -> str:
    digest = hashlib.sha1(f"{doc_id}\x00{text}".encode()).hexdigest()[:12]
    chunk_id, n = f"{doc_id}:{digest}", 1
    while chunk_id in seen:
        n += 1
        chunk_id = f"{doc_id}:{digest}-{n}"
    seen.add(chunk_id)
    return chunk_id
