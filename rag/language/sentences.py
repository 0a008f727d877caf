"""Sentence segmentation for Dutch and English policy text.

Rule based on purpose: it must never cut inside a sentence that a reader would see as
one, so it only splits after ., ! or ? (optionally followed by a closing quote or
bracket and a glued footnote number such as "handel.1") when the next word starts
with a capital letter, a digit or an opening quote, and the word before the stop is
not a known abbreviation. Line breaks are hard boundaries.

Every step is linear in the length of the text, whatever its punctuation (a run of dots
is matched once, the word before a stop is looked up in a bounded window), and
`bounded_spans` cuts a sentence that is still too long at whitespace, then inside a
word, so callers get pieces of bounded size for any input.
"""

from __future__ import annotations

import re
from collections.abc import Callable

ABBREVIATIONS = frozenset(
    """
    a.s bijv bv ca cf co dec dhr dr drs e.a e.g etc evt fig i.e ibid ing incl jl jan feb
    mrt apr aug sep sept okt nov o.a p pp prof resp st t.a.v t.b.v vs w.o zgn zie ir mr mw
    nr nrs art lid no vgl mln mld bln mrd z.g.a.v m.b.t m.n c.s i.p.v n.a.v d.w.z u.s mr
    dhr
    """.split()
)

# Possessive quantifiers and the look-behind keep a long run of stops from being re-read
# at every position of the run (which made a line of dots quadratic).
_END = re.compile(r"""(?<![.!?])[.!?]++['"’”)\]]*+(?:\d{1,2}(?=\s))?(?=\s|$)""")
_NEXT_START = re.compile(r"""\s*['"‘“(\[]?[A-Z0-9À-ÖØ-Þ]""")
_WORD_BEFORE = re.compile(r"(\S+)$")
_NONBLANK = re.compile(r"\S")
_LIST_NUMBER = re.compile(r"\s*(?:[-*•]\s*)?\d{1,2}")
_SPACE = re.compile(r"\s+")
_ABBREVIATION_WINDOW = 64  # a longer "word" before a stop is no abbreviation


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
        more = _NONBLANK.search(line, end) is not None
        if more and not _NEXT_START.match(line, end):
            continue
        window = max(start, match.start() - _ABBREVIATION_WINDOW)
        if more and _is_abbreviation(line[window : match.start() + 1], window > start):
            continue
        if match.start() - start <= 64 and _LIST_NUMBER.fullmatch(line, start, match.start()):
            continue  # the number of a list item ("1. Eerst ...")
        spans.append(_trim(line, start, end))
        start = end
    if _NONBLANK.search(line, start):
        spans.append(_trim(line, start, len(line)))
    return [span for span in spans if span[1] > span[0]]


def _is_abbreviation(before: str, cut: bool = False) -> bool:
    """Whether the word ending `before` (which ends in the stop) is an abbreviation;
    `cut`: `before` is a window of a longer text, so a word filling it is too long."""
    word = _WORD_BEFORE.search(before)
    if not word or (cut and word.start() == 0):
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


def bounded_spans(text: str, fits: Callable[[str], bool], max_chars: int) -> list[tuple[int, int]]:
    """Sentence spans of `text`, each cut further until `fits(piece)` holds.

    A sentence that does not fit is first cut into windows of at most `max_chars`
    characters (at the last whitespace in the window, if any), so `fits` never sees a
    huge string; a window that still does not fit is halved at a clause end (",;:") in its
    middle half, else at the whitespace nearest its middle, else at its middle character.
    A single character is never cut further, so this always ends.
    """
    return [piece for pieces in bounded_sentences(text, fits, max_chars) for piece in pieces]


def bounded_sentences(
    text: str, fits: Callable[[str], bool], max_chars: int
) -> list[list[tuple[int, int]]]:
    """Like `bounded_spans`, grouped by sentence: one span for a sentence that fits, the
    pieces of one that does not."""
    result: list[list[tuple[int, int]]] = []
    for start, end in split_sentences(text):
        if end - start <= max_chars and fits(text[start:end]):
            result.append([(start, end)])
            continue
        pieces: list[tuple[int, int]] = []
        for w_start, w_end in _windows(text, start, end, max_chars):
            pieces.extend(_halve_until_fits(text, w_start, w_end, fits))
        result.append(pieces)
    return result


def _windows(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    while start < end:
        stop = min(end, start + max_chars)
        if stop < end:
            space = _last_space(text, start + max_chars // 2, stop)
            stop = space if space > start else stop
        pieces.append(_trim(text, start, stop))
        start = stop
    return [p for p in pieces if p[1] > p[0]]


def _last_space(text: str, lo: int, hi: int) -> int:
    """Offset of the last whitespace character in text[lo:hi], or -1."""
    for i in range(hi - 1, lo - 1, -1):
        if text[i].isspace():
            return i
    return -1


def _halve_until_fits(
    text: str, start: int, end: int, fits: Callable[[str], bool]
) -> list[tuple[int, int]]:
    todo, done = [(start, end)], []
    while todo:
        s, e = todo.pop()
        if e - s <= 1 or fits(text[s:e]):
            done.append((s, e))
            continue
        middle = (s + e) // 2
        spaces = [m.start() for m in _SPACE.finditer(text, s, e)]
        # a clause end (",;:") in the middle half reads best; else the space nearest the middle
        clauses = [i for i in spaces if text[i - 1] in ",;:" and abs(i - middle) <= (e - s) // 4]
        if clauses or spaces:
            middle = min(clauses or spaces, key=lambda i: abs(i - middle))
        halves = [_trim(text, s, middle), _trim(text, middle, e)]
        todo.extend(h for h in reversed(halves) if h[1] > h[0])
    return done
