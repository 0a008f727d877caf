"""Whether an answer holds what was asked, or only the topic around it.

"Which countries lead the coalition of the willing?" may retrieve the sentence about the
coalition that names only the Netherlands: on the topic, without the asked fact. Such an
answer is marked `partial` and says so, rather than opening with a lead-in ("Countries
named: Netherlands") that reads as the answer. Today one asked kind is checked this way:
countries (`asks_country` in `rag/language/lexicon/`): the cited sentences must name a
country that the question does not name itself. Numbers, dates, amounts and people are
checked before answering by the extractive backend's refusal rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from rag.answer.spans import countries_nl_en
from rag.language.patterns import pattern
from rag.query.analysis import Query

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


def asked_fact_missing(query: Query, quotes: Sequence[str]) -> bool:
    """Whether the question asks for countries and the quotes name none it did not name."""
    if not pattern("asks_country").search(query.text):
        return False
    asked = _countries(query.text)
    return not any(_countries(quote) - asked for quote in quotes)


def partial_note(language: str) -> str:
    return PARTIAL_NOTES.get(language, PARTIAL_NOTES["en"])
