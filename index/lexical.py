"""BM25 over Dutch and English text, with the terms `rag.language.text` defines.

Passages are stemmed with the stemmer of their own language (Dutch or English, told
apart by function-word counts). Queries are stemmed with both, so a Dutch or an English
query matches words of either language that share a stem.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.language.bm25s_import import bm25s as _bm25s
from rag.language.text import passage_terms, query_terms

if TYPE_CHECKING:
    import bm25s


class LexicalIndex:
    """A BM25 index over passages, searchable with free text."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        model = _bm25s().BM25()
        model.index([passage_terms(t) or [""] for t in texts], show_progress=False)
        return cls(model, len(texts))

    def search(
        self, query: str, k: int, within: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(passage position, BM25 score) of the best `k` passages with a positive score;
        with `within` (sorted positions), the best `k` of those passages only."""
        tokens = [t for t in query_terms(query) if t in self._model.vocab_dict]
        if not tokens or self.size == 0:
            return []
        if within is not None:
            return _top(self._model.get_scores(tokens), k, within)
        ids, scores = self._model.retrieve(
            [tokens], k=min(k, self.size), show_progress=False, n_threads=1
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    def concept_search(
        self, concepts: Sequence[Sequence[str]], k: int, within: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """BM25 over groups of interchangeable words ("trade", "handel", "handelsbeleid"):
        per concept a passage scores its best word's BM25 score, summed over concepts, so
        a concept met through several synonyms counts once, as one query word does.
        With `within` (sorted positions), only those passages compete."""
        if self.size == 0:
            return []
        total = np.zeros(self.size, dtype=np.float32)
        scored: dict[str, np.ndarray] = {}
        for concept in concepts:
            tokens = [
                t for word in concept for t in query_terms(word) if t in self._model.vocab_dict
            ]
            for token in tokens:
                if token not in scored:
                    scored[token] = self._model.get_scores([token])
            if tokens:
                total += np.max([scored[t] for t in tokens], axis=0)
        if within is not None:
            return _top(total, k, within)
        top = np.argsort(-total)[:k]
        return [(int(i), float(total[i])) for i in top if total[i] > 0]

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)
        (folder / "size.txt").write_text(str(self.size))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        model = _bm25s().BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(model, int((folder / "size.txt").read_text()))


def _top(scores: np.ndarray, k: int, within: np.ndarray) -> list[tuple[int, float]]:
    """The best `k` positive scores among the positions `within`, best first."""
    scoped = np.asarray(scores, dtype=np.float32)[within]
    order = np.argsort(-scoped, kind="stable")[:k]
    return [(int(within[i]), float(scoped[i])) for i in order if scoped[i] > 0]
