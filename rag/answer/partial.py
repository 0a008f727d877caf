"""Whether an answer holds what was asked, or only the topic around it.

"Which countries lead the coalition of the willing?" may retrieve a sentence on the
coalition that names no country but the one the question names: on the topic, without the
asked fact. The question's asked kind (`Query.kind`: a count, an amount, a percentage, a
date, a person, countries, organisations) decides what an answer must hold: a cited
sentence that names a thing of that kind (`rag.answer.items`; for countries and
organisations one the question does not name itself; for a count, the counted noun too).
When no cited sentence does, the answer is marked `partial` and says in the question's
language what the documents do not say ("… but do not say which countries").

A lead-in span ("Countries named: …") is shown only from a sentence that also names the
asked relation: the question's content words once the words asking for the kind are cut
("lead the coalition"), each found in the sentence by its stem, for a share of at least
`answer.relation_min_share`; only where question and sentence share a language (across
languages a word's encoder neighbours are no test: "held" ~ "aan" 0.76). Word overlap
does not tell a statement of the relation from a sentence near it well (docs/answers.md:
deciding partial answers by it at 0.75 also marked four answerable questions), so it only
drops lead-ins, it does not mark answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.items import asked_names, items, unnamed_countries
from rag.answer.spans import countries_for_english, named
from rag.language.identify import EN_WORDS, NL_WORDS
from rag.language.patterns import pattern
from rag.language.text import (
    CLAIM_STOP_WORDS,
    VAGUE_WORDS,
    content_stems,
    letter_words,
    stem_overlap,
)
from rag.query.analysis import Query
from rag.query.focus import names_paper
from rag.query.kinds import relation_text
from rag.retrieval.embeddings import Embedder
from rag.types import AnswerSpan

PERCENT_WORDS = frozenset({"procent", "percent", "percentage", "procentpunt", "procentpunten"})
SAME_WORD = 0.7  # cosine from which a quote's word stands for the counted noun
MIN_WORD = 4  # shorter words ("has", "its", "via") carry no relation

# What the documents do not say, by asked kind: "… but do not say {what}."
NOT_SAID = {
    "nl": {
        "percent": "welk percentage",
        "amount": "om welk bedrag het gaat",
        "count": "hoeveel {noun}",
        "date": "wanneer",
        "person": "wie",
        "country": "welke landen",
        "organisation": "welke organisaties",
        "any": "wat er gevraagd wordt",
        "country_named": "wat er gevraagd wordt over {names}",
    },
    "en": {
        "percent": "what percentage",
        "amount": "what amount",
        "count": "how many {noun}",
        "date": "when",
        "person": "who",
        "country": "which countries",
        "organisation": "which organisations",
        "any": "what was asked",
        "country_named": "anything about {names}",
    },
}
PARTIAL_NOTES = {
    "nl": "De documenten gaan in op {topic}, maar zeggen niet {what}. Het dichtstbijzijnde:",
    "en": "The documents discuss {topic} but do not say {what}. The closest they come:",
}
THIS_TOPIC = {"nl": "dit onderwerp", "en": "this topic"}
_TOKEN = re.compile(r"[\w’'-]+(?:\.[\w’'-]+)*\.?")  # "c.s." whole


@dataclass(frozen=True)
class Stated:
    """Which quotes state the asked kind with its relation (`stating`: lead-ins come from
    these); `missing` when no quote names a thing of the asked kind at all."""

    stating: frozenset[int]
    missing: bool
    unnamed: tuple[str, ...] = ()  # countries the question names and no quote does


def stated(query: Query, quotes: Sequence[str], embedder: Embedder, min_share: float) -> Stated:
    """The quotes (by index) that name a thing of the asked kind in a sentence naming the
    asked relation, and whether the asked fact is missing: no quote names a thing of the
    asked kind, or no quote names a country the question names ("… afhankelijk van China"
    answered without China is about something else)."""
    unnamed = tuple(unnamed_countries(query.text, " ".join(quotes))) if quotes else ()
    asked = query.kind
    if asked is None:
        return Stated(frozenset(range(len(quotes))), bool(unnamed), unnamed)
    naming = [
        i
        for i, quote in enumerate(quotes)
        if items(asked.kind, quote, query.text)
        and (asked.noun is None or names_counted(asked.noun, [quote], embedder))
    ]
    relation = relation_words(query)
    stating = {
        i
        for i in naming
        if _language(quotes[i]) != query.language  # word overlap: one language only
        or covered_share(relation, quotes[i], None) >= min_share
    }
    return Stated(frozenset(stating), not naming or bool(unnamed), unnamed)


def _language(quote: str) -> str:
    """Dutch or English, by the stop words of a cited sentence (no language model: the
    letter's sentences are long and plainly one or the other)."""
    words = letter_words(quote)
    return "nl" if sum(w in NL_WORDS for w in words) >= sum(w in EN_WORDS for w in words) else "en"


def lead_spans(query: Query, spans: Sequence[AnswerSpan], stating: set[int]) -> list[AnswerSpan]:
    """The spans a lead-in may show: from the sentences that state the asked kind (by
    marker), without the countries and organisations the question names itself ("which
    countries besides the Netherlands" is not answered by "Netherlands")."""
    own = asked_names("country", query.text) | asked_names("organisation", query.text)
    kept = []
    for span in spans:
        if span.marker not in stating:
            continue
        if span.kind in ("countries", "bodies"):
            shown = [s for s in span.shown if s not in own and s.split(":")[0] not in own]
            span = span.model_copy(
                update={"shown": shown, "source": [s for s in span.source if s not in own]}
            )
        if span.shown:
            kept.append(span)
    return kept


def relation_words(query: Query) -> list[str]:
    """The asked relation: the question's content words once the words asking for the
    kind and those pointing at the document ("according to the letter") are cut."""
    rest = pattern("about_the_text").sub(" ", relation_text(query.text))
    words = [
        w
        for w in letter_words(rest)
        if len(w) >= MIN_WORD and w not in CLAIM_STOP_WORDS and w not in VAGUE_WORDS
    ]
    return list(dict.fromkeys(words))


def covered_share(
    words: Sequence[str], quote: str, embedder: Embedder | None, same: float = SAME_WORD
) -> float:
    """Share of `words` the quote names: the same stem, or (with an encoder) a content
    word of the quote that the encoder puts at cosine `same` or closer."""
    if not words:
        return 1.0
    have = content_stems(quote)
    missing = [w for w in words if not stem_overlap(content_stems(w), have)]
    if not missing:
        return 1.0
    candidates = list(
        dict.fromkeys(
            w for w in letter_words(quote) if len(w) >= MIN_WORD and w not in CLAIM_STOP_WORDS
        )
    )
    close = 0
    if candidates and embedder is not None:
        close = int((np.max(embedder.similarity(missing, candidates), axis=1) >= same).sum())
    return (len(words) - len(missing) + close) / len(words)


def names_counted(noun: str, quotes: Sequence[str], embedder: Embedder) -> bool:
    """Whether the quotes name what is counted: its stem, a word the encoder puts close
    to it, or "%" for percent."""
    text = " ".join(quotes)
    if noun in PERCENT_WORDS and "%" in text:
        return True
    return covered_share([noun], text, embedder) >= 1.0


def partial_note(query: Query, quotes: Sequence[str] = (), unnamed: Sequence[str] = ()) -> str:
    """What the documents do not say, in the question's language, and what they discuss:
    the longest run of the question's words that a quote holds word for word ("the
    coalition of the willing"), else "this topic"."""
    language = query.language if query.language in PARTIAL_NOTES else "en"
    kind = query.kind
    if unnamed and (kind is None or items(kind.kind, " ".join(quotes), query.text)):
        what = NOT_SAID[language]["country_named"].format(names=", ".join(as_asked(query, unnamed)))
    elif kind is not None:
        what = NOT_SAID[language][kind.kind].format(noun=kind.noun or "")
    else:
        what = NOT_SAID[language]["any"]
    shared = discussed(query, quotes)
    topic = f"“{shared}”" if shared else THIS_TOPIC[language]
    return PARTIAL_NOTES[language].format(topic=topic, what=what)


def as_asked(query: Query, countries: Sequence[str]) -> list[str]:
    """English country names as the question writes them ("China", "Verenigde Staten")."""
    table = countries_for_english()
    written = {table[d]: d for d in named(query.text, table)}
    with_the = {c: f"the {c}" for c in countries if f"the {c}".lower() in query.text.lower()}
    return [written.get(c, with_the.get(c, c)) for c in countries]


def discussed(query: Query, quotes: Sequence[str]) -> str | None:
    """The longest run of the asked relation's words, as the question writes them, that
    stands word for word in a quote and holds a content word."""
    rest = relation_text(query.text)
    tokens = list(_TOKEN.finditer(rest))
    words = [t.group(0).rstrip(".").lower() for t in tokens]
    haystack = [f" {' '.join(_words(q))} " for q in quotes]
    best: str | None = None
    for i in range(len(tokens)):
        for j in range(len(tokens), i, -1):
            shown = rest[tokens[i].start() : tokens[j - 1].end()]
            if best is not None and len(shown) <= len(best):
                break
            run = words[i:j]
            if {run[0], run[-1]} & CLAIM_STOP_WORDS or not any(len(w) >= MIN_WORD for w in run):
                continue
            if any(f" {' '.join(run)} " in h for h in haystack):
                best = shown
    return best


def _words(text: str) -> list[str]:
    return [t.rstrip(".").lower() for t in _TOKEN.findall(text)]


_NAME = re.compile(r"(?<=[\s-])[A-Z]\w{2,}")  # a capitalised word after the first one


def repeats_reference(question: str, quotes: Sequence[str], footnotes: Sequence[bool]) -> bool:
    """Whether every cited passage is a reference footnote (it holds a paper's number)
    naming a document the question names itself ("What does the motion Hoogeveen et al.
    ask?" answered with "Motie Hoogeveen c.s. 21 501-20, nr. 2344"): a reference gives a
    title and a number, not what the document says; the answer adds nothing."""
    names = {n.lower() for n in _NAME.findall(question)}
    if not quotes or not names or not all(footnotes):
        return False
    if not all(names_paper(q) for q in quotes):
        return False  # a footnote that states something is no mere reference
    return all(any(n in letter_words(q) for n in names) for q in quotes)
