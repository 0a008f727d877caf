"""The kind of thing a question asks for, and the words that only say so.

"Met hoeveel stemmen werd de motie aangenomen?" asks for a count of votes; "Which
countries lead the coalition?" for countries; "Hoe groot is het budget van SAFE?" for an
amount. The kind decides what an answer must name (`rag.answer.partial`); the words that
ask for it ("which countries", "hoeveel stemmen") are cut from the question, so that what
is left is the asked relation ("lead the coalition", "werd de motie aangenomen").

The patterns are data (`kind_*`, `asks_country`, `counted` in `rag/language/lexicon/`),
tried in the order of `KINDS`: the first that matches decides (a percentage is also a
number; an amount is also "how much").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rag.language.patterns import fragment_patterns

# Kind → the lexicon pattern that spots a question asking for it; the first match decides.
KINDS = {
    "percent": "kind_percent",
    "amount": "kind_amount",
    "count": "counted",
    "date": "kind_date",
    "person": "kind_person",
    "country": "asks_country",
    "organisation": "kind_organisation",
}


@dataclass(frozen=True)
class AskedKind:
    """What the question asks for, where it says so, and for a count what is counted."""

    kind: str
    start: int
    end: int
    noun: str | None = None  # a count's noun ("stemmen", "votes")


@lru_cache(maxsize=512)
def asked_kind(question: str) -> AskedKind | None:
    """The kind of thing the question asks for, or None (a "what", "why", "how")."""
    for kind, name in KINDS.items():
        for compiled in fragment_patterns(name):
            match = compiled.search(question)
            if match:
                noun = match.group("noun").lower() if "noun" in compiled.groupindex else None
                return AskedKind(kind, match.start(), match.end(), noun)
    return None


def relation_text(question: str) -> str:
    """The question without the words that ask for a kind ("in welk jaar", "which
    countries"): the asked relation."""
    for name in KINDS.values():
        for compiled in fragment_patterns(name):
            question = compiled.sub(" ", question)
    return question
