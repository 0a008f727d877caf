"""A question of several parts, split into questions that each stand alone.

"Wat wil het kabinet voor defensie, en waarom?" asks two things: what, and why. Each part
is searched and answered on its own (`rag.answer.strategies.multi_part`), so that the
evidence of the second part is not crowded out by the first's. A part that names no
subject of its own ("en waarom?", "and when?") borrows the first part's words. A
comparison ("het verschil tussen X en Y", "X compared with Y") becomes one part per
compared thing, in the frame of the question.

The patterns are data (`part_split`, `compares` in `rag/language/lexicon/`): one
fragment at a time, since each has named groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.language.patterns import fragment_patterns, pattern
from rag.language.text import letter_words

MAX_PARTS = 3
MIN_PART_WORDS = 2  # a part shorter than this ("en?") is no question of its own


@dataclass(frozen=True)
class AskedPart:
    """One part of a question: as asked (`shown`) and as searched (`text`, standalone)."""

    shown: str
    text: str


@lru_cache(maxsize=256)
def split_parts(question: str) -> tuple[AskedPart, ...]:
    """The question's parts (one part: the question itself); remembered, since the
    strategy that answers by parts asks for them when it is chosen and when it drafts."""
    text = " ".join(question.split())
    compared = _comparison(text)
    if compared:
        return tuple(compared)
    parts = _split(text)
    if len(parts) < 2:
        return (AskedPart(text, text),)
    first = parts[0]
    whole = [AskedPart(first, first)]
    for part in parts[1:]:
        standalone = part if _has_subject(part) else f"{first.rstrip(' ?')} {part}"
        whole.append(AskedPart(part[:1].upper() + part[1:], standalone))
    return tuple(whole[:MAX_PARTS])


def _split(text: str) -> list[str]:
    """Cut at the first place a new question starts, then cut the rest the same way."""
    best: re.Match[str] | None = None
    for splitter in fragment_patterns("part_split"):
        match = splitter.search(text)
        if match and (best is None or match.start() < best.start()):
            best = match
    if best is None:
        return [text]
    head = text[: best.start()].strip(" ,;")
    rest = best.group("rest").strip()
    if len(letter_words(head)) < MIN_PART_WORDS or not letter_words(rest):
        return [text]
    head = head if head.endswith("?") else f"{head}?"
    return [head, *_split(rest)]


def _comparison(text: str) -> list[AskedPart]:
    """'verschil tussen X en Y' → the question about X and the question about Y."""
    for comparer in fragment_patterns("compares"):
        match = comparer.search(text)
        if not match:
            continue
        a, b = (match.group(g).strip(" ,;?") for g in ("a", "b"))
        if not letter_words(a) or not letter_words(b):
            continue
        frame = text[: match.start()] + " {} " + text[match.end() :]
        return [AskedPart(x, " ".join(frame.format(x).split()).replace(" ?", "?")) for x in (a, b)]
    return []


def _has_subject(part: str) -> bool:
    """Whether a later part names a subject of its own: not only 'why?' or 'when?', and
    not pointing back ('it', 'dat')."""
    from rag.query.analysis import own_subject  # analysis may use this module

    if pattern("points_back").search(part):
        return False
    return len(own_subject(part)) >= 1 and len(letter_words(part)) > MIN_PART_WORDS
