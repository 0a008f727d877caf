"""What a word is, for every part of the assistant: tokens, stop words, content words, stems.

One tokeniser (`words`): lower-cased runs of letters and digits, joined by inner hyphens
("defensie-industrie"), with a footnote number glued to a word cut off ("rechten3" →
"rechten"). An apostrophe ends a word ("EU's" → "eu", "s"; "risico's" → "risico", "s"),
so a possessive or a Dutch plural matches its stem. `parts=True` also yields a compound's parts (the
index does this, so "industrie" finds "defensie-industrie"); `split=True` yields only the
parts (claims and evidence are compared part by part).

The word lists are data (`rag/language/lexicon/<language>.toml`), named by what they are for:
- function words (bm25s's Dutch and English stop-word lists),
- question words ("what", "hoeveel") and genre words ("letter", "kabinet", "government"),
  which are in nearly every question about a government letter but name no topic,
- reporting words ("says", "schrijft") that point at the document in an answer, and
- vague words a follow-up may hold without naming its own subject,
- anaphors: sentence openers that lean on the sentence before ("Dat", "This").
Passages are indexed without function words only; questions also drop question and
genre words (`STOP_WORDS`), so a question about "the government" still matches a
passage that names "kabinet" through its other words.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import Stemmer

from rag.language.bm25s_import import bm25s

LANGUAGES = ("nl", "en")
LEXICON_DIR = Path(__file__).with_name("lexicon")

_WORD = re.compile(r"\w+(?:-\w+)*", re.UNICODE)
# A footnote marker glued to the word before it: "concurrentievermogen4", "rechten3".
_GLUED_FOOTNOTE = re.compile(r"^((?:[^\W\d_]+-)*[^\W\d_]{3,})\d{1,2}$", re.UNICODE)


@lru_cache(maxsize=len(LANGUAGES))
def lexicon(language: str) -> dict[str, Any]:
    """The word and pattern lists of one language, as read from its TOML file."""
    with (LEXICON_DIR / f"{language}.toml").open("rb") as file:
        return tomllib.load(file)


def _words_of(key: str, language: str) -> frozenset[str]:
    return frozenset(lexicon(language).get(key, ()))


_STOPWORDS = bm25s().stopwords
FUNCTION_WORDS = {
    "nl": frozenset(_STOPWORDS.STOPWORDS_DUTCH),
    "en": frozenset(_STOPWORDS.STOPWORDS_EN),
}
QUESTION_WORDS = {lang: _words_of("question_words", lang) for lang in LANGUAGES}
GENRE_WORDS = {lang: _words_of("genre_words", lang) for lang in LANGUAGES}
REPORTING_WORDS = frozenset().union(*(_words_of("reporting_words", lang) for lang in LANGUAGES))
VAGUE_WORDS = frozenset().union(*(_words_of("vague_words", lang) for lang in LANGUAGES))
# Words that ask for a summary or a view but name no part of its topic.
TOPIC_FRAME_WORDS = frozenset().union(*(_words_of("topic_frame_words", lang) for lang in LANGUAGES))
# Sentence openers that lean on the sentence before ("Dat tijdperk is voorbij.").
ANAPHORS = frozenset().union(*(_words_of("anaphors", lang) for lang in LANGUAGES))

ANY_FUNCTION_WORD = FUNCTION_WORDS["nl"] | FUNCTION_WORDS["en"]
# Per language: every word that names no topic in a question (used to tell the
# languages apart, too).
QUESTION_STOP_WORDS = {
    lang: FUNCTION_WORDS[lang] | QUESTION_WORDS[lang] | GENRE_WORDS[lang] for lang in LANGUAGES
}
STOP_WORDS = QUESTION_STOP_WORDS["nl"] | QUESTION_STOP_WORDS["en"]
CLAIM_STOP_WORDS = STOP_WORDS | REPORTING_WORDS


def without_footnote_marker(word: str) -> str:
    """The word without a footnote number glued to its end ("rechten3" → "rechten")."""
    if not word[-1:].isdigit():  # what \d matches is a digit to isdigit() too
        return word
    return _GLUED_FOOTNOTE.sub(r"\1", word)


# Texts whose words and stems are kept: a question reads the sentences of about ten
# passages several times (ranking, relevance, verification); a few thousand short texts.
TEXT_MEMO = 8192


def words(text: str, *, parts: bool = False, split: bool = False) -> list[str]:
    """Lower-cased word tokens with glued footnote markers cut off.

    `parts`: a compound ("defensie-industrie") is followed by its parts;
    `split`: only the parts are given."""
    return list(_words(text, parts, split))


@lru_cache(maxsize=TEXT_MEMO)
def _words(text: str, parts: bool, split: bool) -> tuple[str, ...]:
    tokens: list[str] = []
    for match in _WORD.finditer(text.lower()):
        token = match.group(0)
        pieces = [p for p in token.split("-") if p] if (split or parts) else []
        if split and len(pieces) > 1:
            tokens.extend(without_footnote_marker(p) for p in pieces)
            continue
        token = without_footnote_marker(token)
        tokens.append(token)
        if parts and "-" in token:
            tokens.extend(p for p in token.split("-") if p)
    return tuple(tokens)


def letter_words(text: str) -> list[str]:
    """Lower-cased words of letters only (no digits), compounds split."""
    return [w for w in words(text, split=True) if w.isalpha()]


def is_content(token: str) -> bool:
    """A word that can name a topic: longer than two characters, not a number, not a
    question's stop word."""
    return len(token) > 2 and not token.isdigit() and token not in STOP_WORDS


def content_words(text: str) -> list[str]:
    """The question's topic words in order, each once."""
    return list(dict.fromkeys(t for t in words(text) if is_content(t)))


def content_pairs(text: str) -> list[str]:
    """Adjacent content-word pairs ("public finances"), candidates for one Dutch compound."""
    tokens = words(text)
    pairs = (
        f"{a} {b}"
        for a, b in zip(tokens, tokens[1:], strict=False)
        if is_content(a) and is_content(b)
    )
    return list(dict.fromkeys(pairs))


def claim_words(text: str) -> list[str]:
    """Words that carry a claim's content (numbers kept), each once, compounds split."""
    kept = (w for w in words(text, split=True) if w not in CLAIM_STOP_WORDS)
    return list(dict.fromkeys(w for w in kept if len(w) > 2 or w.isdigit()))


@lru_cache(maxsize=len(LANGUAGES))
def stemmer(language: str) -> Stemmer.Stemmer:
    """The Snowball stemmer of 'nl' or 'en'."""
    return Stemmer.Stemmer({"nl": "dutch", "en": "english"}[language])


def stems(tokens: Iterable[str], language: str) -> list[str]:
    return list(stemmer(language).stemWords(list(tokens)))


def content_stems(text: str) -> set[str]:
    """Stems, Dutch and English, of the words that carry content."""
    return set(_content_stems(text))


@lru_cache(maxsize=TEXT_MEMO)
def _content_stems(text: str) -> frozenset[str]:
    kept = [w for w in _words(text, False, True) if w not in CLAIM_STOP_WORDS]
    return frozenset(stem for lang in LANGUAGES for stem in stems(kept, lang))


def stem_overlap(wanted: set[str], have: set[str], min_prefix: int = 6) -> float:
    """Share of `wanted` stems found in `have`; inflections and compounds that share a long
    prefix count ("onderhandeld" ~ "onderhandel", "handelsakkoord" ~ "handelsakkoor")."""
    if not wanted:
        return 0.0
    found = 0
    index: tuple[frozenset[str], frozenset[str]] | None = None
    for stem in wanted:
        if stem in have:
            found += 1
        elif len(stem) >= min_prefix:
            if index is None:
                index = _prefix_index(frozenset(have), min_prefix)
            long, heads = index
            # a long stem of `have` is a prefix of this stem, or this stem's head (its
            # first min_prefix + 2 letters) begins a long stem of `have`
            if stem[: min_prefix + 2] in heads or any(
                stem[:n] in long for n in range(min_prefix, len(stem) + 1)
            ):
                found += 1
    return found / len(wanted)


@lru_cache(maxsize=TEXT_MEMO)
def _prefix_index(have: frozenset[str], min_prefix: int) -> tuple[frozenset[str], frozenset[str]]:
    """`have`'s stems of at least `min_prefix` letters, and their first `min_prefix` to
    `min_prefix + 2` letters (what `stem_overlap` looks up instead of scanning)."""
    long = frozenset(h for h in have if len(h) >= min_prefix)
    heads = frozenset(h[:n] for h in long for n in range(min_prefix, min_prefix + 3) if len(h) >= n)
    return long, heads


def guess_language(tokens: Iterable[str]) -> str:
    """'nl' or 'en', whichever language's function words are more frequent."""
    listed = list(tokens)
    nl = sum(token in FUNCTION_WORDS["nl"] for token in listed)
    en = sum(token in FUNCTION_WORDS["en"] for token in listed)
    return "en" if en > nl else "nl"


def passage_terms(text: str) -> list[str]:
    """A passage's BM25 terms: words and compound parts without function words, stemmed
    in the passage's own language."""
    tokens = words(text, parts=True)
    lang = guess_language(tokens)
    return stems([t for t in tokens if t not in FUNCTION_WORDS[lang] and len(t) > 1], lang)


def query_terms(text: str) -> list[str]:
    """A query's BM25 terms, stemmed as Dutch and as English (it may be in either)."""
    kept = [t for t in words(text, parts=True) if len(t) > 1 and t not in ANY_FUNCTION_WORD]
    return list(dict.fromkeys(stem for lang in LANGUAGES for stem in stems(kept, lang)))


def vocabulary_terms(texts: Iterable[str], limit: int = 50_000) -> list[str]:
    """Distinct words of a corpus that are not function words (most frequent first), for
    cross-lingual alignment. Genre words stay: "cabinet" should find "kabinet"."""
    counts = content_word_counts(texts)
    return sorted(counts, key=lambda t: -counts[t])[:limit]


def content_word_counts(texts: Iterable[str]) -> dict[str, int]:
    """How often each word that is not a function word, a number or short occurs."""
    counts: dict[str, int] = {}
    for text in texts:
        for token in words(text, parts=True):
            if len(token) > 2 and not token.isdigit() and token not in ANY_FUNCTION_WORD:
                counts[token] = counts.get(token, 0) + 1
    return counts
