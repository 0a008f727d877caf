"""The glossary under English answers that quote Dutch: their key terms in English,
right or not shown.

The answer quotes the Dutch source verbatim (that is what makes it checkable); under it
an English reader gets the terms the sourced table of government and EU vocabulary
knows (`rag.language.terms`: "Buitenlandse Zaken = Foreign Affairs", "lidstaten =
Member States"). Word-by-word dictionary senses are not shown as they are: FreeDict's
Dutch–English dictionary (Debian `dict-freedict-nld-eng`) gives "zaken = pocket, jug"
and "waarden = host, innkeeper". With a similarity floor set
(`AnswerSettings.glossary_min_similarity`), a word the table lacks gets the one
dictionary sense the multilingual encoder puts closest to it, shown only when it is at
least that close; on the labelled items of `eval/labels/glossary_items.jsonl`
(`scripts/glossary_precision.py`) no floor reached 0.95 precision, so it is off by
default and the glossary is the table's terms only.

The dictionary's data writes many multi-word translations without their spaces
("havefaith", "eachother", "theNetherlands"). A translation that splits into English
function words and words the dictionary knows ("have" + "faith") is such a phrase and
is dropped.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.language import terms
from rag.language.text import claim_words

if TYPE_CHECKING:
    from rag.retrieval.embeddings import Embedder

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SUFFIXES = ("en", "e", "s", "n")
_LINKS = ("", "s", "e")  # Dutch compounds join with nothing, -s- or -e-
LABEL = "Terms in English (standard government and EU terms)"
MAX_SENSES = 24  # a compound pairs its parts' senses


_VALUES = {char: value for value, char in enumerate(_B64)}
_CAMEL = re.compile(r"[a-z][A-Z]")
# English function words: the glue of the phrases whose spaces the data lost.
FUNCTION_WORDS = frozenset(
    "a an the to of in on at by for from with up out off as and or be have has do one "
    "each other another what's it its one's oneself someone something into over down "
    "onto upon within without".split()
)


def _number(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _VALUES[char]
    return value


_LOADING = threading.Lock()  # a warm-up thread and a first question parse it once


class Dictionary(dict[str, str]):
    """Headword → its first translations as the data has them; `meaning` drops the
    squashed phrases (checked per looked-up word, not for all 22,000 at load)."""

    def __init__(self, entries: dict[str, str]) -> None:
        super().__init__(entries)
        items = {i.lower() for meaning in entries.values() for i in meaning.split(", ")}
        self.known = frozenset(i for i in items if " " not in i)

    def meaning(self, word: str) -> str | None:
        raw = self.get(word)
        if raw is None:
            return None
        kept = [i for i in raw.split(", ") if not _squashed(i, self.known)]
        return ", ".join(dict.fromkeys(kept)) or None


def load(base: Path) -> Dictionary:
    """The dictionary at `base`.index and `base`.dict.dz (empty when missing)."""
    with _LOADING:
        return _load(base)


@lru_cache(maxsize=2)
def _load(base: Path) -> Dictionary:
    index, data = base.with_suffix(".index"), base.with_suffix(".dict.dz")
    if not index.is_file() or not data.is_file():
        return Dictionary({})
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
    return Dictionary(entries)


def _squashed(item: str, known: frozenset[str]) -> bool:
    """Whether `item` is a phrase that lost its spaces: it splits into two or more
    function words and known words of 4+ letters, at least one a function word
    ("as" + "for" + "the" + "rest"), or a lower-case word glued to a capitalised one
    ("theNetherlands")."""
    if _CAMEL.search(item):
        return True
    item = item.lower()
    if item in FUNCTION_WORDS:
        return False
    for cut in range(1, len(item)):  # two pieces at least
        head = item[:cut]
        if _piece(head, known):
            rest = _split(item[cut:], known)
            if rest is not None and any(p in FUNCTION_WORDS for p in [head, *rest]):
                return True
    return False


def _piece(text: str, known: frozenset[str]) -> bool:
    return text in FUNCTION_WORDS or (len(text) >= 4 and text in known)


def _split(text: str, known: frozenset[str]) -> list[str] | None:
    """`text` as function words and known 4+-letter words, shortest first; None if it
    cannot be split so."""
    if not text:
        return []
    for cut in range(1, len(text) + 1):
        if _piece(text[:cut], known):
            rest = _split(text[cut:], known)
            if rest is not None:
                return [text[:cut], *rest]
    return None


def translate(word: str, dictionary: Dictionary) -> str | None:
    """The dictionary's translation of a Dutch word, its stem, or its two compound parts."""
    if word in dictionary:
        return dictionary.meaning(word)
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and word[: -len(suffix)] in dictionary:
            return dictionary.meaning(word[: -len(suffix)])
    for cut in range(len(word) - 3, 3, -1):
        head, tail = word[:cut], word[cut:]
        if tail not in dictionary:
            continue
        for link in _LINKS:
            stem = head[: len(head) - len(link)] if link and head.endswith(link) else head
            if stem in dictionary and len(stem) >= 3:
                parts = dictionary.meaning(stem), dictionary.meaning(tail)
                return f"{parts[0]} + {parts[1]}" if all(parts) else None
    return None


def senses(word: str, dictionary: Dictionary) -> list[str]:
    """The dictionary's English senses of a word; for a compound, its parts' senses
    paired ("safety architecture", "security architecture")."""
    meaning = translate(word, dictionary)
    if not meaning:
        return []
    if " + " in meaning:
        head, tail = meaning.split(" + ", 1)
        pairs = (f"{a} {b}" for a in head.split(", ") for b in tail.split(", "))
        return list(dict.fromkeys(pairs))[:MAX_SENSES]
    return list(dict.fromkeys(meaning.split(", ")))[:MAX_SENSES]


def choose(word: str, candidates: list[str], embedder: Embedder) -> tuple[str, float]:
    """The candidate sense closest to the Dutch word in the multilingual encoder, and
    its cosine."""
    scores = embedder.similarity(candidates, [word])[:, 0]
    best = int(scores.argmax())
    return candidates[best], float(scores[best])


def glossary(
    texts: Iterable[str],
    base: Path | None = None,
    limit: int = 12,
    *,
    embedder: Embedder | None = None,
    min_similarity: float | None = None,
) -> dict[str, str]:
    """Up to `limit` terms of the texts with their English, in order: the sourced term
    table's (`rag.language.terms`) always; with the dictionary at `base`, an encoder and
    `min_similarity`, also other words whose closest dictionary sense is at least that
    close to them (off by default: see `AnswerSettings.glossary_min_similarity`)."""
    wanted = base is not None and embedder is not None and min_similarity is not None
    dictionary = load(base) if wanted and base is not None else Dictionary({})
    use_dictionary = bool(dictionary)
    entries: dict[str, str] = {}
    seen: set[str] = set()
    for text in texts:
        for written, english in terms.find(text):
            key = written.lower()
            if key in seen:
                continue
            seen.add(key)
            if english is None and use_dictionary and _glossable(key):
                candidates = senses(key, dictionary)
                if candidates:
                    sense, score = choose(key, candidates, embedder)  # type: ignore[arg-type]
                    english = sense if score >= min_similarity else None  # type: ignore[operator]
            if english is not None and english.lower() != key:
                entries[written] = english
            if len(entries) >= limit:
                return entries
    return entries


def _glossable(word: str) -> bool:
    return len(word) >= 4 and word.isalpha() and word in claim_words(word)


def render(entries: dict[str, str]) -> str:
    return f"{LABEL}: " + "; ".join(f"{word} = {meaning}" for word, meaning in entries.items())
