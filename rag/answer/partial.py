"""Whether an answer holds what was asked, or only the topic around it.

"Which countries lead the coalition of the willing?" may retrieve the sentence about the
coalition that names only the Netherlands: on the topic, without the asked fact. Such an
answer is marked `partial` and says so, rather than opening with a lead-in ("Countries
named: Netherlands") that reads as the answer. Today one asked kind is checked this way:
countries (`asks_country` in `rag/language/lexicon/`): the cited sentences must name a
country that the question does not name itself; and what is counted ("how many votes",
`counted`): the cited sentences must name it (the same stem, a word the encoder puts
close, "votes" ~ "stemmen", or "%" for percent). Whether a number is there at all is
checked before answering by the extractive backend's refusal rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from rag.answer.spans import countries_nl_en
from rag.language.patterns import fragments, pattern
from rag.language.text import LANGUAGES, content_stems, letter_words, stem_overlap
from rag.query.analysis import Query
from rag.retrieval.embeddings import Embedder

PERCENT_WORDS = frozenset({"procent", "percent", "percentage", "procentpunt", "procentpunten"})
SAME_WORD = 0.7  # cosine from which a quote's word stands for the counted noun

PARTIAL_NOTES = {
    "nl": "De documenten gaan op dit onderwerp in, maar de geciteerde passages noemen niet "
    "wat er gevraagd wordt. Het dichtstbijzijnde:",
    "en": "The documents discuss this topic, but the cited passages do not state what was "
    "asked. The closest they come:",
}


@lru_cache(maxsize=1)
def _country_names() -> re.Pattern[str]:
    names = {n for pair in countries_nl_en().items() for n in pair if len(n) >= 4}
    body = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"\b(?:{body})\b")


def _countries(text: str) -> set[str]:
    table = countries_nl_en()
    return {table.get(m.group(0), m.group(0)) for m in _country_names().finditer(text)}


def asked_fact_missing(query: Query, quotes: Sequence[str], embedder: Embedder) -> bool:
    """Whether the quotes lack the asked fact: no country the question did not name
    (asked for countries), or not the thing counted (asked how many of something)."""
    if pattern("asks_country").search(query.text):
        asked = _countries(query.text)
        if not any(_countries(quote) - asked for quote in quotes):
            return True
    noun = counted_noun(query.text)
    return noun is not None and not names_counted(noun, quotes, embedder)


@lru_cache(maxsize=1)
def _counted() -> tuple[re.Pattern[str], ...]:
    return tuple(
        re.compile(f, re.IGNORECASE) for lang in LANGUAGES for f in fragments("counted", lang)
    )


def counted_noun(question: str) -> str | None:
    """The noun a "how many" question counts ("hoeveel stemmen" → "stemmen")."""
    for counted in _counted():
        match = counted.search(question)
        if match:
            return match.group("noun").lower()
    return None


def names_counted(noun: str, quotes: Sequence[str], embedder: Embedder) -> bool:
    """Whether the quotes name what is counted: its stem, a word the encoder puts close
    to it, or "%" for percent."""
    text = " ".join(quotes)
    if noun in PERCENT_WORDS and "%" in text:
        return True
    if stem_overlap(content_stems(noun), content_stems(text)):
        return True
    words = list(dict.fromkeys(w for w in letter_words(text) if len(w) >= 3))
    if not words:
        return False
    return float(embedder.similarity([noun], words).max()) >= SAME_WORD


def partial_note(language: str) -> str:
    return PARTIAL_NOTES.get(language, PARTIAL_NOTES["en"])
