"""What the retriever and the pipeline need of an index: the `SearchIndex` protocol.

The folder store (`index.store.IndexStore`) and the PostgreSQL store
(`index.pgstore.PgStore`) implement it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

import numpy as np

from rag.types import Chunk


class SearchIndex(Protocol):
    """Passages, their vectors, the corpus vocabulary, and three searches. Each search
    takes an optional scope, `documents` (doc ids): then only those documents'
    passages compete, searched in full (not a filter over the unscoped top `k`)."""

    vectors: Any  # an np.ndarray, or rows fetched when indexed: vectors[positions] -> array
    manifest: Any
    terms: list[str]
    term_vectors: np.ndarray

    @property
    def chunks(self) -> Sequence[Chunk]: ...  # a list, or read on demand (PostgreSQL)
    def chunk(self, chunk_id: str) -> Chunk | None: ...
    def dense_search(
        self, query: np.ndarray, k: int, *, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]: ...
    def lexical_search(
        self, query: str, k: int, *, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]: ...
    def concept_search(
        self,
        concepts: Sequence[Sequence[str]],
        k: int,
        *,
        documents: Collection[str] | None = None,
    ) -> list[tuple[int, float]]: ...
