"""Questions about a part of the document: "summarise the opening", "in de slotpassage",
"who signed the letter?", "the main points of the section on trade".

Words like these name no topic, so neither the embedder nor BM25 can find the part
they mean. `asked_parts` spots openings and endings (Dutch and English, and only where
they clearly point at the document: "the opening of the letter", not "the opening of
markets"), and `part_positions` gives the passages of that part. `asked_section` spots
"the section on X" / "het deel over X"; `best_heading` picks the heading that X names.
Their patterns are data (`rag/language/lexicon/`). The retriever then puts those passages first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rag.language.patterns import language_patterns, pattern
from rag.language.text import content_stems
from rag.types import Chunk

Part = Literal["start", "end"]

OPENING_LIMIT = 8  # at most this many passages count as an untitled opening
SHORT_PART = 3  # passages taken as "the start" or "the end" when no heading marks it


def asked_parts(question: str) -> list[Part]:
    """Which parts of the document the question points at ("start", "end"), if any."""
    parts: list[Part] = []
    if pattern("part_start").search(question):
        parts.append("start")
    if pattern("part_end").search(question):
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


def asked_section(question: str) -> str | None:
    """The topic of "the section on X" / "het deel over X" in the question, if any."""
    matches = [m for p in language_patterns("section") if (m := p.search(question))]
    if not matches:
        return None
    first = min(matches, key=lambda m: m.start())
    topic = pattern("topic_end").split(first.group("topic"))[0].strip()
    return topic or None


def best_heading(topic_concepts: Sequence[Sequence[str]], headings: Sequence[str]) -> str | None:
    """The heading that covers most of the topic's concepts (at least half of them). A
    concept is covered by a heading word with the same stem (1) or, less surely (0.75),
    one that contains the stem ("defensie" in "defensiecapaciteiten"). None when no
    heading covers enough."""
    if not topic_concepts:
        return None
    concept_stems = [
        {stem for term in concept for stem in content_stems(term)} for concept in topic_concepts
    ]
    best, best_share = None, 0.0
    for heading in headings:
        words = content_stems(heading)
        covered = sum(
            max((_coverage(stem, words) for stem in stems), default=0.0) for stems in concept_stems
        )
        share = covered / len(concept_stems)
        if share > best_share:
            best, best_share = heading, share
    return best if best_share >= 0.5 else None


def _coverage(stem: str, heading_stems: set[str]) -> float:
    if stem in heading_stems:
        return 1.0
    return 0.75 if len(stem) >= 5 and any(stem in word for word in heading_stems) else 0.0
