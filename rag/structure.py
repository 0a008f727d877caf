"""Questions about a part of the document: "summarise the opening", "in de slotpassage",
"who signed the letter?".

Words like these name no topic, so neither the embedder nor BM25 can find the part they
mean. `asked_part` spots them (Dutch and English, and only where they clearly point at
the document: "the opening of the letter", not "the opening of markets"), and
`part_positions` gives the passages of that part, which the retriever then favours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from rag.types import Chunk

Part = Literal["start", "end"]

_DOC = r"(?:letter|text|document|brief|tekst)"
_START_EN = r"(?:opening|introduction|intro|beginning|start|first (?:section|part|paragraphs?))"
_END_EN = (
    r"(?:closing|conclusion|end|ending|final (?:section|part|paragraphs?|words)|"
    r"last (?:section|part|paragraphs?))"
)
_ASKS_START = re.compile(
    rf"\b{_START_EN}\s+(?:of|to)\s+the\s+{_DOC}\b"
    rf"|\b{_DOC}'s\s+{_START_EN}\b"
    r"|\bin the (?:opening|introduction|intro)\b"
    r"|\b(?:inleiding|aanhef|openingspassage|openingsalinea)\b"
    rf"|\b(?:opening|begin|eerste (?:deel|alinea'?s?|paragraaf)) van (?:de|het) {_DOC}\b",
    re.IGNORECASE,
)
_ASKS_END = re.compile(
    rf"\b{_END_EN}\s+of\s+the\s+{_DOC}\b"
    rf"|\b{_DOC}'s\s+{_END_EN}\b"
    r"|\bin the (?:closing|conclusion|final section)\b"
    r"|\bclosing (?:passage|paragraphs?|section|remarks|words)\b"
    r"|\b(?:slotpassage|slotalinea|slotparagraaf|slotwoord|slotopmerkingen)\b"
    rf"|\b(?:slot|afsluiting|einde|conclusie|laatste (?:deel|alinea'?s?|paragraaf)) "
    rf"van (?:de|het) {_DOC}\b"
    # A letter's signature stands at its end.
    rf"|\bsign(?:ed|s)? (?:the|this) {_DOC}\b|\b{_DOC}'s signature\b"
    rf"|\b(?:de|het|deze) {_DOC} (?:\w+ )?ondertek\w*|\bondertekening van (?:de|het) {_DOC}\b",
    re.IGNORECASE,
)
OPENING_LIMIT = 8  # at most this many passages count as an untitled opening
SHORT_PART = 3  # passages taken as "the start" or "the end" when no heading marks it


def asked_parts(question: str) -> list[Part]:
    """Which parts of the document the question points at ("start", "end"), if any."""
    parts: list[Part] = []
    if _ASKS_START.search(question):
        parts.append("start")
    if _ASKS_END.search(question):
        parts.append("end")
    return parts


def part_positions(chunks: Sequence[Chunk], part: Part) -> list[int]:
    """Positions of the passages that make up the start or the end of each document.

    The start is the untitled text before a document's first heading (at most
    `OPENING_LIMIT` passages), or its first `SHORT_PART` passages when it opens with a
    heading; the end is its last `SHORT_PART` passages. Footnotes are not counted."""
    by_document: dict[str, list[int]] = {}
    for position, chunk in enumerate(chunks):
        if chunk.kind != "footnote":
            by_document.setdefault(chunk.doc_id, []).append(position)
    chosen: list[int] = []
    for positions in by_document.values():
        ordered = sorted(positions, key=lambda p: chunks[p].line_start)
        if part == "end":
            chosen += ordered[-SHORT_PART:]
            continue
        untitled = []
        for position in ordered:
            if chunks[position].section:
                break
            untitled.append(position)
        chosen += untitled[:OPENING_LIMIT] or ordered[:SHORT_PART]
    return chosen
