"""The assistant as one object: index + embedder + retriever + chain, loaded once.

This is what the CLI, the UI and the evaluation use. It holds no global state; the
composition root opens it with `index.library.open_pipeline(settings)` and passes it down.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from rag.embeddings import Embedder
from rag.language import warm_up
from rag.settings import Settings
from rag.types import Answer, Briefing, Chunk, Hit


class SearchIndex(Protocol):
    """What the pipeline needs of an index (implemented by `index.store.IndexStore` and
    `index.pgstore.PgStore`, whose `vectors` fetches rows from the server when indexed)."""

    chunks: list[Chunk]
    vectors: Any  # an np.ndarray, or rows fetched when indexed: vectors[positions] -> array
    manifest: Any
    terms: list[str]
    term_vectors: np.ndarray

    def chunk(self, chunk_id: str) -> Chunk | None: ...
    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...
    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]: ...
    def concept_search(
        self, concepts: Sequence[Sequence[str]], k: int
    ) -> list[tuple[int, float]]: ...


class Pipeline:
    """Question → retrieve → answer → verify, over one index."""

    def __init__(self, settings: Settings, store: SearchIndex, embedder: Embedder) -> None:
        from rag.chain import AnswerChain
        from rag.retrieve import HybridRetriever

        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = HybridRetriever(store, embedder, settings.retrieval)
        self.chain = AnswerChain(self)
        warm_up()

    # ---- questions ----------------------------------------------------------------------

    def retrieve(self, question: str, k: int | None = None) -> list[Hit]:
        """The passages for a question, best first (linked footnotes follow their passage)."""
        self.sync()
        return self.retriever.search(question, k or self.settings.retrieval.k)

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        backend: str | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> Answer:
        """Answer a question with verified citations. `history`: earlier (question, answer)."""
        self.sync()
        return self.chain.invoke(question, k=k, backend=backend, history=history)

    def stream(
        self,
        question: str,
        *,
        k: int | None = None,
        backend: str | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> Iterator[str | Answer]:
        """Yield the answer text as it is produced (str deltas), then the final `Answer`."""
        self.sync()
        yield from self.chain.stream(question, k=k, backend=backend, history=history)

    def answer_with_hits(
        self, question: str, hits: Sequence[Hit], *, backend: str | None = None
    ) -> Answer:
        """Answer from given passages (used by the evaluation's baseline pipeline)."""
        return self.chain.answer_from_hits(question, list(hits), backend=backend)

    def brief(self, topic: str | None = None, *, backend: str | None = None) -> Briefing:
        """A short structured briefing on a topic (or the whole corpus), every bullet cited."""
        from rag.brief import write_briefing

        self.sync()
        return write_briefing(self, topic, backend=backend)

    def replace_store(self, store: SearchIndex) -> None:
        """Switch to a rebuilt index (after documents were added or removed)."""
        from rag.retrieve import HybridRetriever

        self.store = store
        self.retriever = HybridRetriever(store, self.embedder, self.settings.retrieval)

    def sync(self) -> None:
        """Switch to a newer snapshot when the store is shared (PostgreSQL) and another
        process has written to it since; one cheap query, nothing for the folder store."""
        reload = getattr(self.store, "reload_if_changed", None)
        newer = reload() if reload is not None else None
        if newer is not None:
            self.replace_store(newer)

    def documents(self) -> list[Any]:
        """Manifest entries of the indexed documents (doc_id, name, source, chunks)."""
        self.sync()
        return list(self.store.manifest.documents)
