"""What an English reader of a briefing gets besides the Dutch quotes: the topic's
language decided for short topics, and each bullet's key facts in English.

A short topic has no stop words to go by ("trade", "China", "trade policy"), so its
words are counted as Dutch (the documents' own words, FreeDict's Dutch headwords,
ISO 3166's Dutch country names) or English (FreeDict's English senses, ISO's English
names); the side with more wins, and a tie ("China") goes to the interface's language
when one is given, else English; so does a quoted heading ("“Handel”", as the English
interface offers the documents' headings). A bullet's key-facts line holds its figures in English
notation, its people with their office, countries and bodies by their English names,
acronyms with the expansion the sentence gives (all as `rag.answer.spans` renders them
for answers, the composed ones checked by the verifier) and the term table's English
for its terms.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.answer import spans, spans_en
from rag.language import terms
from rag.language.glossary import load
from rag.language.identify import EN_WORDS, NL_WORDS, answer_language
from rag.language.text import letter_words

MAX_TERMS = 6  # a key-facts line stays one line
QUOTES = "“‘\"'"


@lru_cache(maxsize=1)
def _country_words() -> tuple[frozenset[str], frozenset[str]]:
    dutch = {w for name in spans.countries_nl_en() for w in letter_words(name)}
    english = {w for name in spans.countries_nl_en().values() for w in letter_words(name)}
    return frozenset(dutch), frozenset(english)


def topic_language(
    topic: str,
    known: Collection[str] = (),
    dictionary: Path | None = None,
    prefer: str | None = None,
) -> str:
    """'nl' or 'en' for a briefing topic. `known`: the documents' (Dutch) words;
    `dictionary`: FreeDict's files (absent: counted without them); `prefer`: the
    language a tie goes to (default English)."""
    if topic.strip()[:1] in QUOTES and prefer in ("nl", "en"):
        return str(prefer)  # a quoted heading ("“Handel”") is briefed in the reader's language
    words = letter_words(topic)
    if any(w in NL_WORDS or w in EN_WORDS for w in words):
        return answer_language(topic)
    entries = load(dictionary) if dictionary is not None else {}
    english: frozenset[str] = getattr(entries, "known", frozenset())
    dutch_names, english_names = _country_words()
    nl = sum(w in known or w in entries or w in dutch_names for w in words)
    en = sum(w in english or w in english_names for w in words)
    if nl != en:
        return "nl" if nl > en else "en"
    return prefer if prefer in ("nl", "en") else "en"


def key_facts(text: str, embedder: Any) -> list[str]:
    """A Dutch sentence's facts in English, in the order above, each once."""
    facts = [spans.render(f, "figures", "en") for f in spans.figures_of(text, spans.DATE_EN)]
    composed = spans_en.people(text) + spans_en.acronyms(text)
    facts += spans_en.checked(composed, embedder)
    tables = (spans.countries_for_english(), spans.places_nl_en(), spans.bodies_for_english())
    facts += [table[name] for table in tables for name in spans.named(text, table)]
    covered = " ".join(facts).lower()
    listed = [
        english
        for _, english in terms.find(text)
        if english is not None and english.lower() not in covered
    ]
    facts += list(dict.fromkeys(listed))[:MAX_TERMS]
    return list(dict.fromkeys(facts))
