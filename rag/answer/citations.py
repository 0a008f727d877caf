"""Numbered citation markers in answer text, resolved to the passages they point at.

Markers look like [2] or [2, 3] (also [2][3]). Marker n refers to the n-th passage given
to the backend. A marker that points to no retrieved passage is removed from the text
and counted, never shown as a citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.language.sentences import split_sentences

_BULLET = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
MARKER = re.compile(r"\s?\[(\d+(?:\s*[,;]\s*\d+)*)\]")


@dataclass
class ParsedSentence:
    """An answer sentence without its markers, and the passage numbers it cites."""

    text: str
    markers: list[int] = field(default_factory=list)


@dataclass
class ParsedAnswer:
    text: str  # the answer with invalid markers removed
    sentences: list[ParsedSentence]
    dropped: int


def parse_citations(text: str, passage_count: int) -> ParsedAnswer:
    """Split an answer into sentences with their valid markers; drop invalid markers."""
    dropped = 0

    def keep_valid(match: re.Match[str]) -> str:
        nonlocal dropped
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= passage_count]
        dropped += len(numbers) - len(valid)
        if not valid:
            return ""
        return " " + "".join(f"[{n}]" for n in dict.fromkeys(valid))

    cleaned = MARKER.sub(keep_valid, text)
    sentences: list[ParsedSentence] = []
    for start, end in _claim_spans(_markers_inside(cleaned)):
        piece = cleaned[start:end]
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", piece)]
        plain = _BULLET.sub("", " ".join(MARKER.sub("", piece).split()))
        if not plain and markers and sentences:
            sentences[-1].markers.extend(m for m in markers if m not in sentences[-1].markers)
            continue
        if plain:
            sentences.append(ParsedSentence(plain, list(dict.fromkeys(markers))))
    return ParsedAnswer(text=cleaned.strip(), sentences=sentences, dropped=dropped)


# "… [1]. next": a marker followed by a full stop ends a sentence, whatever follows, so
# a lower-case continuation is checked as its own claim, not merged into the cited one.
_AFTER_MARKER = re.compile(r"\][.!?]+(?=\s)")


def _claim_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans, also cut after every "[n]." (see `_AFTER_MARKER`)."""
    spans: list[tuple[int, int]] = []
    for start, end in split_sentences(text):
        cut = start
        for match in _AFTER_MARKER.finditer(text, start, end):
            spans.append((cut, match.end()))
            cut = match.end()
        if text[cut:end].strip():
            spans.append((cut, end))
    return spans


def _markers_inside(text: str) -> str:
    """Move a marker that follows a full stop before it ("claim. [1]" → "claim [1]."), so
    that sentence splitting keeps each marker with the sentence it supports. Length is
    kept so spans still index the original text."""
    return re.sub(
        r"([.!?])((?:\s?\[\d+\])+)",
        lambda m: (
            m.group(2).replace(" ", " ") + m.group(1)
            if len(m.group(2)) + 1 == len(m.group(0))
            else m.group(0)
        ),
        text,
    )
