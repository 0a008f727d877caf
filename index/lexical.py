"""BM25 over Dutch and English text: tokenisation, stop words and Snowball stemming.

Passages are stemmed with the stemmer of their own language (Dutch or English, told
apart by stop-word counts). Queries are stemmed with both, so a Dutch or an English
query matches words of either language that share a stem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

from rag.language import without_footnote_marker

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)
STOPWORDS = {"nl": frozenset(STOPWORDS_DUTCH), "en": frozenset(STOPWORDS_EN)}
ANY_STOPWORD = STOPWORDS["nl"] | STOPWORDS["en"]
_STEMMER_NAMES = {"nl": "dutch", "en": "english"}


@lru_cache(maxsize=2)
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_STEMMER_NAMES[lang])


def words(text: str) -> list[str]:
    """Lower-cased word tokens, footnote markers cut off; hyphenated compounds also yield
    their parts."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = without_footnote_marker(match.group(0))
        tokens.append(token)
        if "-" in token:
            tokens.extend(part for part in token.split("-") if part)
    return tokens


def vocabulary_terms(texts: Sequence[str], limit: int = 50_000) -> list[str]:
    """Distinct content words of a corpus (most frequent first), for cross-lingual alignment."""
    counts = content_word_counts(texts)
    return sorted(counts, key=lambda t: -counts[t])[:limit]


def content_word_counts(texts: Sequence[str]) -> dict[str, int]:
    """How often each content word (no stop word, digit or short word) occurs."""
    counts: dict[str, int] = {}
    for text in texts:
        for token in words(text):
            if len(token) > 2 and not token.isdigit() and token not in ANY_STOPWORD:
                counts[token] = counts.get(token, 0) + 1
    return counts


def guess_language(tokens: Sequence[str]) -> str:
    """'nl' or 'en', whichever language's stop words are more frequent."""
    nl = sum(token in STOPWORDS["nl"] for token in tokens)
    en = sum(token in STOPWORDS["en"] for token in tokens)
    return "en" if en > nl else "nl"


def passage_tokens(text: str) -> list[str]:
    tokens = words(text)
    lang = guess_language(tokens)
    kept = [t for t in tokens if t not in STOPWORDS[lang] and len(t) > 1]
    return _stemmer(lang).stemWords(kept)


def query_tokens(text: str) -> list[str]:
    """Query words stemmed as Dutch and as English (the query may be in either)."""
    kept = [t for t in words(text) if len(t) > 1 and t not in ANY_STOPWORD]
    stems = [stem for lang in ("nl", "en") for stem in _stemmer(lang).stemWords(kept)]
    return list(dict.fromkeys(stems))


class LexicalIndex:
    """A BM25 index over passages, searchable with free text."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        model = bm25s.BM25()
        model.index([passage_tokens(t) or [""] for t in texts], show_progress=False)
        return cls(model, len(texts))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(passage position, BM25 score) of the best `k` passages with a positive score."""
        tokens = [t for t in query_tokens(query) if t in self._model.vocab_dict]
        if not tokens or self.size == 0:
            return []
        ids, scores = self._model.retrieve(
            [tokens], k=min(k, self.size), show_progress=False, n_threads=1
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    def concept_search(self, concepts: Sequence[Sequence[str]], k: int) -> list[tuple[int, float]]:
        """BM25 over groups of interchangeable words ("trade", "handel", "handelsbeleid"):
        per concept a passage scores its best word's BM25 score, summed over concepts, so
        a concept met through several synonyms counts once, as one query word does."""
        if self.size == 0:
            return []
        total = np.zeros(self.size, dtype=np.float32)
        scored: dict[str, np.ndarray] = {}
        for concept in concepts:
            tokens = [
                t for word in concept for t in query_tokens(word) if t in self._model.vocab_dict
            ]
            for token in tokens:
                if token not in scored:
                    scored[token] = self._model.get_scores([token])
            if tokens:
                total += np.max([scored[t] for t in tokens], axis=0)
        top = np.argsort(-total)[:k]
        return [(int(i), float(total[i])) for i in top if total[i] > 0]

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)
        (folder / "size.txt").write_text(str(self.size))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        model = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(model, int((folder / "size.txt").read_text()))
