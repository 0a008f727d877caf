"""The things of an asked kind that a sentence names: figures, amounts, dates, people,
countries, organisations.

`items(kind, text, question)` finds, in one cited sentence, what could answer a question
asking for that kind (`rag.query.kinds`): a percentage, an amount of money, a date or a
year, a person's name, a country or an organisation the question does not name itself
("which other countries besides the Netherlands" is not answered by "Nederland").
Countries come from pycountry's ISO names and their Dutch translations plus the Dutch
short forms ("het VK"); organisations from `rag/language/lexicon/names_nl_en.toml`.
"""

from __future__ import annotations

import re

from rag.answer.spans import (
    AMOUNT,
    DATE,
    bodies_nl_en,
    countries_for_english,
    named,
)
from rag.verify.relevance import PERSON

_PERCENT = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?\s?(?:%|procent\b|percent\b)", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[89]|20)\d{2}\b")
_MONTH = re.compile(
    r"\b(?:januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|"
    r"december|January|February|March|June|July|August|October)\b",
    re.IGNORECASE,
)
PREFIX = 4  # letters a word shares with a country's name to stand for it ("Chinese")
_WORD = re.compile(r"\w+")
TABLES = {"country": countries_for_english, "organisation": bodies_nl_en}
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?![\w])")


def items(kind: str, text: str, question: str = "") -> list[str]:
    """What `text` names of the asked `kind` (as it stands there), less what the question
    names itself."""
    if kind == "percent":
        return _PERCENT.findall(text)
    if kind == "amount":
        return AMOUNT.findall(text)
    if kind == "date":
        return DATE.findall(text) + _YEAR.findall(text) + _MONTH.findall(text)
    if kind == "count":
        return [n for n in _NUMBER.findall(text) if not _YEAR.fullmatch(n)]
    if kind == "person":
        return [m.group(0) for m in PERSON.finditer(text)]
    if kind in ("country", "organisation"):
        table = TABLES[kind]()
        asked = asked_names(kind, question)
        return [n for n in named(text, table) if n not in asked]
    return []


def asked_names(kind: str, question: str) -> set[str]:
    """The countries or organisations the question names itself, in both languages."""
    table = TABLES[kind]()
    dutch = set(named(question, table))
    english = {e for e in table.values() if _stands(e, question)}
    return (
        dutch | {table[d] for d in dutch} | english | {d for d, e in table.items() if e in english}
    )


def unnamed_countries(question: str, text: str) -> list[str]:
    """The countries the question names (their English names) that `text` does not: by
    no name of the country in either language, nor by a word opening as one of those
    names' words does ("Amerikaanse" for "Verenigde Staten van Amerika", "Nederlandse")."""
    table = countries_for_english()
    asked = [table[d] for d in named(question, table)]
    asked += [e for e in table.values() if _stands(e, question)]
    words = {w.lower() for w in _WORD.findall(text)}
    unnamed = []
    for english in dict.fromkeys(asked):
        forms = {english} | {d for d, e in table.items() if e == english}
        openings = {w[:PREFIX].lower() for f in forms for w in f.split() if len(w) >= PREFIX}
        if not any(w.startswith(o) for w in words for o in openings):
            unnamed.append(english)
    return unnamed


def _stands(name: str, text: str) -> bool:
    """Whether `name` stands in `text` as a whole word or phrase."""
    return name in text and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None
