"""One question's way through the answer chain: the cleaned question, the `Turn` the
chain fills in, and the fixed texts and judgements it needs on the way (the crash note,
the unsupported-language reply, how completely the answer answers)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rag.errors import InputError
from rag.query.analysis import Query
from rag.query.focus import DocumentInfo
from rag.types import Answer, Hit

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CRASH_NOTES = {
    "nl": "Let op: het lokale model ({backend}) is eerder gecrasht; dit antwoord komt van de "
    "extractieve methode, die de passages citeert.",
    "en": "Note: the local model ({backend}) crashed earlier; this answer comes from the "
    "extractive backend, which quotes the passages.",
}


def crash_note(backend: str, language: str) -> str:
    """What an answer says when it was made without the model that crashed."""
    return CRASH_NOTES.get(language, CRASH_NOTES["en"]).format(backend=backend)


UNSUPPORTED_LANGUAGE = (
    "I can only answer questions in Dutch or English. / "
    "Ik kan alleen vragen in het Nederlands of het Engels beantwoorden."
)


def clean_question(question: str) -> str:
    """Strip control characters and check the question is usable."""
    text = " ".join(_CONTROL.sub(" ", question or "").split())
    if not text:
        raise InputError("The question is empty. Type a question in Dutch or English.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"The question is {len(text):,} characters long; the limit is "
            f"{MAX_QUESTION_CHARS:,}. Ask a shorter, focused question."
        )
    return text


class Retriever(Protocol):
    def search(
        self, query: Query, k: int, *, documents: Collection[str] | None = None
    ) -> list[Hit]: ...
    def unknown_words(
        self, query: Query, *, documents: Collection[str] | None = None
    ) -> list[str]: ...


@dataclass
class Turn:
    """One question's way through the chain."""

    query: Query
    backend: str
    k: int
    started: float
    hits: list[Hit] = field(default_factory=list)
    text: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    scope: tuple[str, ...] = ()  # the document ids it may use (empty: all)
    named: DocumentInfo | None = None  # the document "the letter" resolved to
    fact: bool = False  # answered from the document's metadata (rag.answer.facts)
    early: Answer | None = None  # decided before retrieval (a language we cannot serve)
    live: bool = False  # the backend's text was streamed as it came
    tail: str = ""  # what the chain added after a streamed text (spans, glossary)
    notes: list[str] = field(default_factory=list)  # how the answer was made, for the reader
    strategy: str = ""  # the answer strategy that searched and drafted it
    framing: set[str] = field(default_factory=set)  # lines of the draft that are not claims
    open_parts: list[str] = field(default_factory=list)  # parts the documents leave open
    missing_fact: bool = False  # on the asked topic, without the asked fact


def answered(refused: bool, turn: Turn) -> Literal["full", "partial", "none"]:
    """How completely the answer answers: not at all (refused), in part (a part of the
    question left open, or the topic without the asked fact), or in full."""
    if refused:
        return "none"
    return "partial" if turn.open_parts or turn.missing_fact else "full"
