"""The question, analysed once per turn: `analyse(question, history) → Query`.

Everything that reads the question — retrieval, the extractive backend, its refusal
rules, the model backends' prompt — reads the `Query` instead of parsing the text again:
- `language`: the language to answer in (Dutch or English; `detected` may be another),
- `standalone`: the text to search and rank with; a follow-up that points back ("why?",
  "what does that mean for the Netherlands?", "and for the Netherlands?") is joined to
  the previous question, one that names its own subject stands alone; the extractive
  backend does not repeat sentences an earlier answer gave,
- `focus`: the standalone text without words that only point at the document ("what
  does the letter say about X" → "X"),
- `asks`: what kind of answer is wanted (number, date, money, person, list, summary,
  about_text, gist: the main message of the whole document, reference: the document a
  passage cites in its footnote),
- `kind`: the kind of thing asked for (a count, an amount, a date, a person, countries, …;
  `rag.query.kinds`), which an answer must name,
- `parts` / `section`: a part of the document ("the opening") or a section ("the
  section on trade") the question points at.
The patterns are data, one file per language (`rag/language/lexicon/`); see `rag.language.text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from rag.language.identify import EN_WORDS, NL_WORDS, detect_language
from rag.language.patterns import pattern
from rag.language.text import STOP_WORDS, TOPIC_FRAME_WORDS, VAGUE_WORDS, letter_words
from rag.query.kinds import AskedKind, asked_kind
from rag.query.structure import Part, asked_parts, asked_section

# What an answer should hold, and the lexicon pattern that spots a question asking for it.
ASKED_PATTERNS = {
    "number": "asks_number",
    "date": "asks_date",
    "money": "asks_money",
    "person": "asks_person",
    "list": "asks_list",
    "summary": "asks_summary",
    "about_text": "about_the_text",
    "gist": "asks_gist",
    "reference": "asks_reference",
}
History = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Query:
    """One turn's question and what it asks for."""

    text: str
    language: Literal["nl", "en"]
    detected: str
    standalone: str
    focus: str
    asks: frozenset[str] = frozenset()
    parts: tuple[Part, ...] = ()
    section: str | None = None
    history: History = field(default=())
    unknown: tuple[str, ...] | None = None  # content words the corpus does not know
    kind: AskedKind | None = None  # the kind of thing asked for (rag.query.kinds)

    @property
    def broad(self) -> bool:
        """Wants several points: a list, a summary, or what the document says about X."""
        return bool(self.asks & {"list", "summary", "about_text"})

    def wants(self, kind: str) -> bool:
        return kind in self.asks


def analyse(question: str, history: Sequence[tuple[str, str]] = ()) -> Query:
    """Analyse a (cleaned) question once, given earlier (question, answer) turns.

    A follow-up wants what it asks itself ("and why?" wants no number, even after "how
    many?"), except one that asks the previous question again of another subject ("and
    for the Netherlands?"), which wants what that one wanted."""
    turns: History = tuple((q, a) for q, a in history)
    standalone = standalone_text(question, turns)
    asked = standalone if turns and pattern("reasks").search(question) else question
    detected = detect_language(question)
    if turns and _undecided(question):  # "tell me more": as the conversation so far
        detected = detect_language(turns[-1][0])
    asks = {k for k, name in ASKED_PATTERNS.items() if pattern(name).search(asked)}
    parts, section = tuple(asked_parts(standalone)), asked_section(standalone)
    if "gist" in asks and (parts or section or _names_a_topic(asked)):
        asks.discard("gist")  # the gist of a part or a topic is a summary of it
        asks.add("summary")
    return Query(
        text=question,
        language=cast(Literal["nl", "en"], detected if detected in ("nl", "en") else "en"),
        detected=detected,
        standalone=standalone,
        focus=focus(standalone),
        asks=frozenset(asks),
        parts=parts,
        section=section,
        history=turns,
        kind=asked_kind(asked),
    )


def _names_a_topic(question: str) -> bool:
    """Whether a question asking for the gist also names a topic ("the main points on
    trade"): words of its own once the gist and document words are taken out."""
    rest = pattern("about_the_text").sub(" ", pattern("asks_gist").sub(" ", question))
    return bool(own_subject(rest))


def own_subject(question: str) -> list[str]:
    """Content words of the question itself (no stop words, no words about the letter)."""
    return [
        w
        for w in letter_words(question)
        if len(w) >= 3 and w not in STOP_WORDS and w not in VAGUE_WORDS
    ]


def standalone_text(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The question to search and rank with, given earlier (question, answer) turns: a
    follow-up that points back ("dat", "why?", "tell me more", "and for the
    Netherlands?") is joined to the previous question made standalone in its turn, so
    "why?" after a follow-up still knows the topic."""
    if not history:
        return question
    refers = pattern("points_back").search(question) or pattern("reasks").search(question)
    if own_subject(question) and not refers:
        return question
    previous = standalone_text(history[-1][0], history[:-1])
    return f"{previous} {question}"


def _undecided(question: str) -> bool:
    """Whether the question's own words do not tell Dutch from English."""
    words = letter_words(question)
    return sum(w in NL_WORDS for w in words) == sum(w in EN_WORDS for w in words)


def topic(question: str) -> str:
    """What a summary question is about: its words once those that ask for a summary,
    point at the document or only shape the question are taken out ("Summarise what the
    letter says about the EU's trade policy" → "EU's trade policy")."""
    rest = pattern("about_the_text").sub(" ", question)
    drop = STOP_WORDS | VAGUE_WORDS | TOPIC_FRAME_WORDS
    kept = [t for t in rest.split() if t.strip(".,;:?!()\"'’").lower() not in drop]
    return " ".join(kept).strip(" ?.!") or focus(question)


def focus(question: str) -> str:
    """The question without the words that only point at the document ("what does the
    letter say about X" → "X"), which otherwise pull towards sentences about the letter."""
    stripped = " ".join(pattern("about_the_text").sub(" ", question).split())
    return stripped if len(stripped) >= 3 else question
