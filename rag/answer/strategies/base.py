"""What a strategy gets (`Tools`) and gives back (`Draft`), and what it must provide."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rag.query.analysis import Query
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import Chunk, Hit

Search = Callable[[Query, int, Sequence[str]], list[Hit]]


@dataclass(frozen=True)
class Tools:
    """What the chain lends a strategy for one turn."""

    search: Search  # (query, k, scope) → hits, best first
    extractive: Any  # the extractive backend (`rag.backends.extractive.ExtractiveBackend`)
    embedder: Embedder
    settings: Settings
    retriever: Any
    chunks: Sequence[Chunk] = ()  # the corpus's passages, for summaries


@dataclass
class Draft:
    """The passages to answer from, and the extractive answer if the strategy wrote one."""

    hits: list[Hit]
    text: str | None = None  # with [n] markers into `hits`; None: the backend answers
    framing: set[str] = field(default_factory=set)  # lines that are not claims (headings)
    open_parts: list[str] = field(default_factory=list)  # parts the documents leave open


class Strategy(Protocol):
    """One kind of question: whether it applies, and how it is searched and answered."""

    name: str

    def applies(self, query: Query) -> bool: ...

    def draft(
        self, tools: Tools, query: Query, k: int, scope: Sequence[str], extractive: bool
    ) -> Draft: ...


def merged(per_part: Sequence[Sequence[Hit]], limit: int) -> list[Hit]:
    """Several rankings as one: round-robin over them (so each one's best passages come
    first), each passage once, at most `limit`, ranks renumbered."""
    seen: set[str] = set()
    out: list[Hit] = []
    depth = max((len(h) for h in per_part), default=0)
    for i in range(depth):
        for hits in per_part:
            if i < len(hits) and hits[i].chunk.chunk_id not in seen and len(out) < limit:
                seen.add(hits[i].chunk.chunk_id)
                out.append(hits[i])
    return [h.model_copy(update={"rank": r}) for r, h in enumerate(out, start=1)]


def appended(first: Sequence[Hit], extra: Sequence[Sequence[Hit]], limit: int) -> list[Hit]:
    """`first` in its own order, then the other rankings round-robin after it (each
    passage once, at most `limit`, ranks renumbered): the first ranking's top passages
    keep their places, and each other ranking's best passages follow."""
    return merged([[*first, *merged(extra, limit + len(first))]], limit)


def marker_of(hits: Sequence[Hit], chunk_id: str) -> int:
    """The 1-based marker of a passage in `hits`."""
    return next(i for i, h in enumerate(hits, start=1) if h.chunk.chunk_id == chunk_id)
