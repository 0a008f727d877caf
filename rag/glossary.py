"""A word-by-word glossary of the Dutch terms in quoted evidence, for English readers.

The answer quotes the Dutch source verbatim (that is what makes it checkable); an
English reader gets, under it, the key terms with their dictionary translations:
"veiligheid = safety, security; welvaart = well-being, prosperity". The dictionary is
FreeDict's Dutch–English one (Debian package `dict-freedict-nld-eng`, read from its
dictd files); unknown words are looked up without inflection (-en, -e, -s) and as
compounds split into two known words ("defensie" + "uitgaven"). The glossary is
labelled as dictionary translations: it is not checked against the source. Without the
dictionary installed there is no glossary.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from rag.text import claim_words

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SUFFIXES = ("en", "e", "s", "n")
_LINKS = ("", "s", "e")  # Dutch compounds join with nothing, -s- or -e-
LABEL = "Glossary (FreeDict Dutch–English dictionary, word by word; not checked)"


_VALUES = {char: value for value, char in enumerate(_B64)}


def _number(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _VALUES[char]
    return value


_LOADING = threading.Lock()  # a warm-up thread and a first question parse it once


def load(base: Path) -> dict[str, str]:
    """Headword → its first translations, from `base`.index and `base`.dict.dz."""
    with _LOADING:
        return _load(base)


@lru_cache(maxsize=2)
def _load(base: Path) -> dict[str, str]:
    index, data = base.with_suffix(".index"), base.with_suffix(".dict.dz")
    if not index.is_file() or not data.is_file():
        return {}
    with gzip.open(data) as file:
        raw = file.read()
    entries: dict[str, str] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00"):
            continue
        start, length = _number(parts[1]), _number(parts[2])
        body = raw[start : start + length].decode("utf-8", "replace").splitlines()[1:]
        senses = [s.split(". ", 1)[-1].strip() for s in body if s.strip()][:2]
        if senses:
            entries[parts[0].lower()] = ", ".join(senses).replace("\u2010", "-")
    return entries


def translate(word: str, dictionary: dict[str, str]) -> str | None:
    """The dictionary's translation of a Dutch word, its stem, or its two compound parts."""
    if word in dictionary:
        return dictionary[word]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and word[: -len(suffix)] in dictionary:
            return dictionary[word[: -len(suffix)]]
    for cut in range(len(word) - 3, 3, -1):
        head, tail = word[:cut], word[cut:]
        if tail not in dictionary:
            continue
        for link in _LINKS:
            stem = head[: len(head) - len(link)] if link and head.endswith(link) else head
            if stem in dictionary and len(stem) >= 3:
                return f"{dictionary[stem]} + {dictionary[tail]}"
    return None


def glossary(texts: Iterable[str], base: Path | None, limit: int = 12) -> dict[str, str]:
    """Up to `limit` content words of the texts with their translations, in order."""
    dictionary = load(base) if base is not None else {}
    if not dictionary:
        return {}
    terms: dict[str, str] = {}
    for text in texts:
        for word in claim_words(text):
            if word in terms or word.isdigit() or len(word) < 4:
                continue
            meaning = translate(word, dictionary)
            if meaning and meaning.lower() != word:
                terms[word] = meaning
            if len(terms) >= limit:
                return terms
    return terms


def render(terms: dict[str, str]) -> str:
    return f"{LABEL}: " + "; ".join(f"{word} = {meaning}" for word, meaning in terms.items())
