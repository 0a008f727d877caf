"""Tolerant text matching for evaluation: is an evidence quote in a passage, a keyword in an answer?

Evidence quotes in the dataset are verbatim but whitespace-normalised, while passages are
the cleaned text of the index: line breaks may have been joined, hyphenated words
de-hyphenated and footnote numbers lifted out. A quote therefore counts as found when
(1) its *compact* form (lower-case, only letters and digits) is contained in the passage's
compact form, which tolerates whitespace, hyphen-linebreak and punctuation artefacts, or
(2) at least 90% of its word tokens match the passage in order (difflib alignment), which
tolerates a glued or dropped footnote number and small cleaning differences.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

FUZZY_MIN_OVERLAP = 0.9
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LEADING_FOOTNOTE = re.compile(r"^\s*\d{1,2}\s+(?=\D)")


def normalise(text: str) -> str:
    """Lower-case, NFKC, typographic quotes and dashes unified, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"[‐‑‒–—]", "-", text)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def compact(text: str) -> str:
    """Only letters and digits of the normalised text: spacing and hyphenation vanish."""
    return "".join(_WORD.findall(normalise(text)))


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """Word tokens (letters/digits) of the normalised text."""
    return tuple(_WORD.findall(normalise(text)))


def token_overlap(quote: str, passage: str) -> float:
    """Share of the quote's tokens that align, in order, with the passage's tokens."""
    q, p = tokens(quote), tokens(passage)
    if not q:
        return 0.0
    matcher = SequenceMatcher(None, q, p, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched / len(q)


def quote_in_passage(quote: str, passage: str, min_overlap: float = FUZZY_MIN_OVERLAP) -> bool:
    """Whether an evidence quote is contained in a passage, tolerating cleaning artefacts."""
    target = compact(passage)
    variants = {compact(quote), compact(_LEADING_FOOTNOTE.sub("", quote))}
    if any(v and v in target for v in variants):
        return True
    if not tokens(quote):
        return False
    # Cheap filter before the alignment: most quote tokens must occur at all.
    present = set(tokens(passage))
    q = tokens(quote)
    if sum(t in present for t in q) < min_overlap * len(q):
        return False
    return token_overlap(quote, passage) >= min_overlap


def keyword_in_text(keyword: str, text: str) -> bool:
    """A keyword found as whole words in the normalised text (punctuation ignored).

    Long keywords (five or more letters/digits) also match in compact form, so
    "21 501-30" matches "21501-30"; short ones must match whole words ("80" ≠ "1980").
    """
    words = tokens(keyword)
    if not words:
        return False
    haystack = " " + " ".join(tokens(text)) + " "
    if " " + " ".join(words) + " " in haystack:
        return True
    key = compact(keyword)
    return len(key) >= 5 and key in compact(text)
