"""The default answer backend: no language model, answers from the passages' own sentences.

Every sentence of the retrieved passages is scored against the question (embedding
similarity from the multilingual embedder, plus overlap of stemmed content words); the
best ones, in reading order, become the answer, each followed by its passage marker,
after a short lead-in in the question's language. It refuses when the best support is
too weak, or when the question asks for a quantity or date and no chosen sentence
contains a number (footnote numbers do not count), for an amount of money and the best
sentence names none, or who someone is and the best sentence names no person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rag.conversation import asks_about_the_text, focus, standalone_query
from rag.generate import refusal
from rag.settings import GenerationSettings
from rag.types import Hit
from rag.verify import content_stems, stem_overlap

LEAD_INS = {
    "nl": "Volgens de tekst:",
    "en": "According to the text (quoted from the source):",
}
# "When" asks for a date only where it opens a question ("When will …?", "Since when …?"),
# not in "which document does it cite when it says …".
_ASKS_QUANTITY = re.compile(
    r"\b(hoeveel|how (many|much)|welk(e)? percentage|what percentage|in welk jaar|"
    r"what year|which year|how long|hoe lang|how often|hoe vaak)\b"
    r"|(?:^|[.?!;:]\s*|\b(?:since|until|by|sinds|tot|vanaf)\s+)(?:when|wanneer)\b",
    re.IGNORECASE,
)
_ASKS_LIST = re.compile(
    r"\b(welke|which|what are|wat zijn|noem|list|name|summari[sz]e|vat .* samen|schets|"
    r"in what roles|combine|waarvoor|beschrijf|describe|how does|hoe kijkt)\b",
    re.IGNORECASE,
)
# A number in running text, not a footnote marker glued to a word ("bij.6", "rechten3").
_HAS_NUMBER = re.compile(r"(?<![\w.,;:)'’\"])\d")
_FOOTNOTE_NUMBER = re.compile(r"^\s*\d{1,3}\s+")  # a footnote's own number, at its start
_ASKS_MONEY = re.compile(
    r"\b(how much money|hoeveel geld|in euros?|welk bedrag|what amount|which amount|"
    r"how (much|many) (millions?|billions?)|hoeveel (miljoen|miljard)|"
    r"how much (does|did|will|would) [\w\s-]+ cost|hoeveel kost)\b",
    re.IGNORECASE,
)
_HAS_MONEY = re.compile(r"€|\$|\b(euros?|eur|dollars?|miljoen|miljard|million|billion|bn)\b", re.I)
_ASKS_PERSON = re.compile(
    r"^\s*(wie (is|was|zijn|waren)|who (is|was|are|were)|hoe heet|wat is de naam|"
    r"what is the name)\b",
    re.IGNORECASE,
)
# A person's name: initials ("D.M. van Weel") or a title right before a capitalised name
# ("het lid Dassen", "President Macron"); "de minister van Defensie" is a role, not a name,
# and so is "staatssecretaris Buitenlandse Handel" (a capitalised adjective: -se, -sche).
_PERSON = re.compile(
    r"\b(?:[A-Z]\.){1,4}\s?(?:(?:van|de|der|den|ter) )*[A-Z][a-z]+"
    r"|\b(?:minister|staatssecretaris|premier|president|commissaris|voorzitter|lid|heer|"
    r"mevrouw|Mr|Ms|Mrs|Dr|President|Minister|Commissioner)\.? (?:[A-Z]\.\s?)*"
    r"(?![A-Z][a-z]+(?:se|sche)\b)[A-Z][a-z]{2,}"
)


@dataclass(frozen=True)
class Candidate:
    hit_index: int  # 0-based position in the hits list
    text: str
    score: float


class ExtractiveBackend:
    """Quote the best-supported sentences of the retrieved passages, with markers."""

    name = "extractive"

    def __init__(self, embedder: Any, settings: GenerationSettings) -> None:
        self.embedder = embedder
        self.settings = settings

    def stream(
        self,
        question: str,
        language: str,
        hits: Sequence[Hit],
        history: Sequence[tuple[str, str]] = (),
    ) -> Iterator[str]:
        chosen = self.select(standalone_query(question, history), hits)
        if not chosen:
            yield refusal(language)
            return
        yield LEAD_INS.get(language, LEAD_INS["en"])
        for candidate in chosen:
            yield f"\n- {candidate.text} [{candidate.hit_index + 1}]"

    def score(self, question: str, hits: Sequence[Hit]) -> list[Candidate]:
        """All distinct passage sentences with their support for the question, best first."""
        texts: list[str] = []
        owners: list[int] = []
        seen: set[str] = set()
        for i, hit in enumerate(hits):
            for sentence in hit.chunk.sentences:
                text = hit.chunk.sentence_text(sentence)
                key = " ".join(text.split())
                if key in seen or len(key) < 12:
                    continue
                seen.add(key)
                texts.append(text)
                owners.append(i)
        if not texts:
            return []
        query = self.embedder.encode_queries([question])[0]
        semantic = self.embedder.encode_passages(texts) @ query
        wanted = content_stems(question)
        candidates = []
        headings = {i: content_stems(hit.chunk.section) for i, hit in enumerate(hits)}
        for text, owner, sem in zip(texts, owners, semantic, strict=True):
            # A section heading names what its sentences are about ("Handel").
            lexical = stem_overlap(wanted, content_stems(text) | headings[owner])
            prior = 1.0 / (1.0 + owner)
            score = 0.65 * float(sem) + 0.3 * lexical + 0.05 * prior
            candidates.append(Candidate(owner, text, score))
        return sorted(candidates, key=lambda c: -c.score)

    def select(self, question: str, hits: Sequence[Hit]) -> list[Candidate]:
        """The sentences to answer with, in reading order; empty means refuse."""
        ranked = self.score(focus(question), hits)
        if not ranked or ranked[0].score < self.settings.min_support:
            return []
        if _ASKS_QUANTITY.search(question) and not _states_number(ranked[0], hits):
            return []  # asked for a number or date; the best evidence holds none
        if _ASKS_MONEY.search(question) and not _HAS_MONEY.search(ranked[0].text):
            return []  # asked for an amount of money; the best evidence names none
        if _ASKS_PERSON.search(question) and not _PERSON.search(ranked[0].text):
            return []  # asked who someone is; the best evidence names nobody
        best = ranked[0].score
        broad = _ASKS_LIST.search(question) or asks_about_the_text(question)
        limit, margin = (4, 0.85) if broad else (2, 0.92)
        chosen = [c for c in ranked[:limit] if c.score >= best * margin]
        if _ASKS_QUANTITY.search(question):
            chosen = [c for c in chosen if _states_number(c, hits)]
        order = {id(c): i for i, c in enumerate(chosen)}
        return sorted(
            chosen,
            key=lambda c: (c.hit_index, hits[c.hit_index].chunk.text.find(c.text), order[id(c)]),
        )


def _states_number(candidate: Candidate, hits: Sequence[Hit]) -> bool:
    """Whether the sentence holds a number of its own (footnote numbers do not count)."""
    text = candidate.text
    if hits[candidate.hit_index].chunk.kind == "footnote":
        text = _FOOTNOTE_NUMBER.sub("", text)
    return bool(_HAS_NUMBER.search(text))
