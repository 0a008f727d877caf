"""What every answer backend provides, the fixed refusal phrases, and `create_backend`.

A backend turns an analysed question and numbered passages into answer text that puts
a marker like [2] after each claim, streamed as text deltas. Passage numbers are 1-based
positions in the list it was given. When the passages do not answer the question, a
backend answers with `refusal(language)`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from typing import Protocol

from rag.backends.registry import REGISTRY, check_backend_name
from rag.language.patterns import pattern
from rag.query.analysis import Query
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import Hit

REFUSALS = {
    "nl": "De documenten geven geen antwoord op deze vraag.",
    "en": "The documents do not answer this question.",
}


def refusal(language: str) -> str:
    """The one fixed refusal phrase, in the question's language."""
    return REFUSALS.get(language, REFUSALS["en"])


_EMPHASIS = re.compile(r"[*_`#>]+")
# Declining is judged clause by clause: "… do not answer this question. however, X" must
# not hide X inside the refusal, whatever the case of the letter after the stop.
_CLAUSE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def declines(sentence: str) -> bool:
    """Whether a sentence only declines to answer: every clause matches one of the
    lexicon's refusal patterns (either language; bold, italics and case ignored) and
    it cites no passage. A sentence that cites or claims something is a claim."""
    if re.search(r"\[\d", sentence):
        return False
    clauses = [" ".join(c.split()) for c in _CLAUSE_END.split(_EMPHASIS.sub(" ", sentence))]
    clauses = [c for c in clauses if c.strip(" .!?;:-")]
    return bool(clauses) and all(pattern("refusal").search(c) for c in clauses)


def is_refusal(text: str) -> bool:
    """Whether the whole text declines to answer (see `declines`); a refusal that goes on
    to make claims is not a refusal."""
    return declines(text)


class AnswerBackend(Protocol):
    """What every answer backend provides."""

    name: str
    live: bool  # streams text as it is produced (a model); False: answers at once

    def stream(self, query: Query, hits: Sequence[Hit]) -> Iterator[str]:
        """Yield the answer text in pieces; markers [n] refer to hits[n-1]."""
        ...


class BackendFactory(Protocol):
    """The one signature of every backend module's `create`."""

    def __call__(self, settings: Settings, embedder: Embedder) -> AnswerBackend: ...


def create_backend(name: str, settings: Settings, embedder: Embedder) -> AnswerBackend:
    """The registered backend called `name`, configured from settings."""
    check_backend_name(name)
    create: BackendFactory = importlib.import_module(REGISTRY[name].module).create
    return create(settings, embedder)
