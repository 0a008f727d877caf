"""Sentence segmentation for Dutch and English policy text.

Rule based on purpose: it must never cut inside a sentence that a reader would see as
one, so it only splits after ., ! or ? (optionally followed by a closing quote or
bracket and a glued footnote number such as "handel.1") when the next word starts
with a capital letter, a digit or an opening quote, and the word before the stop is
not a known abbreviation. Line breaks are hard boundaries.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """
    a.s bijv bv ca cf co dec dhr dr drs e.a e.g etc evt fig i.e ibid ing incl jl jan feb
    mrt apr aug sep sept okt nov o.a p pp prof resp st t.a.v t.b.v vs w.o zgn zie ir mr mw
    nr nrs art lid no vgl mln mld bln mrd z.g.a.v m.b.t m.n c.s i.p.v n.a.v d.w.z u.s mr
    dhr
    """.split()
)

_END = re.compile(r"""[.!?]+['"’”)\]]*(?:\d{1,2}(?=\s))?(?=\s+|$)""")
_NEXT_START = re.compile(r"""\s*['"‘“(\[]?[A-Z0-9À-ÖØ-Þ]""")
_WORD_BEFORE = re.compile(r"(\S+)$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences in `text`, without surrounding space."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        spans.extend((offset + s, offset + e) for s, e in _split_line(line))
        offset += len(line) + 1
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of `text` as strings."""
    return [text[s:e] for s, e in split_sentences(text)]


def _split_line(line: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(line):
        end = match.end()
        rest = line[end:]
        if rest.strip() and not _NEXT_START.match(rest):
            continue
        if _is_abbreviation(line[start : match.start() + 1]) and rest.strip():
            continue
        if re.fullmatch(r"\s*(?:[-*•]\s*)?\d{1,2}", line[start : match.start()]):
            continue  # the number of a list item ("1. Eerst ...")
        spans.append(_trim(line, start, end))
        start = end
    if line[start:].strip():
        spans.append(_trim(line, start, len(line)))
    return [span for span in spans if span[1] > span[0]]


def _is_abbreviation(before: str) -> bool:
    word = _WORD_BEFORE.search(before)
    if not word:
        return False
    token = word.group(1).lstrip("(['\"‘“").rstrip(".").lower()
    if token in ABBREVIATIONS:
        return True
    # Initials such as "D.M." or single letters such as "A."
    return bool(re.fullmatch(r"(?:[a-z]\.)*[a-z]", token))


def _trim(line: str, start: int, end: int) -> tuple[int, int]:
    while start < end and line[start].isspace():
        start += 1
    while end > start and line[end - 1].isspace():
        end -= 1
    return start, end
