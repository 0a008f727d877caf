"""A PostgreSQL worker's passages without holding them: a bounded LRU of passages by
database id, and `store.chunks` as a sequence that reads through it.

Searches put the passages they return into the cache (the queries bring the chunk JSON
with the hits), so the retriever's `store.chunks[position]` is a memory read for the
hits of the question in hand. A passage's id never changes meaning (a rewritten document
gets new ids), so a cached passage is never stale; a document's old entries are dropped
when another worker changes it, to free the room. Iterating `store.chunks` (tools that
walk the whole index, never a question) streams the passages from the server in order
without filling the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from rag.types import Chunk

STREAM_BATCH = 2_000  # passages per query when a caller walks every passage


class PassageCache:
    """The last `limit` passages read, by database id; shared by threads and snapshots."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._chunks: OrderedDict[int, Chunk] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._chunks)

    def put(self, chunks: dict[int, Chunk]) -> None:
        with self._lock:
            for key, chunk in chunks.items():
                self._chunks[key] = chunk
                self._chunks.move_to_end(key)
            while len(self._chunks) > self.limit:
                self._chunks.popitem(last=False)

    def get(self, ids: Iterable[int]) -> dict[int, Chunk]:
        with self._lock:
            found = {i: self._chunks[i] for i in ids if i in self._chunks}
            for i in found:
                self._chunks.move_to_end(i)
            return found

    def drop(self, ids: Iterable[int]) -> None:
        with self._lock:
            for i in ids:
                self._chunks.pop(int(i), None)


class LazyChunks(Sequence[Chunk]):
    """`store.chunks`: positions → passages, read through the cache from the server."""

    def __init__(
        self,
        ids: np.ndarray,
        cache: PassageCache,
        fetch: Callable[[Sequence[int]], dict[int, Chunk]],
    ) -> None:
        self.ids = ids  # database id per position
        self._cache = cache
        self._fetch = fetch

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, position: int) -> Chunk: ...
    @overload
    def __getitem__(self, position: slice) -> list[Chunk]: ...
    def __getitem__(self, position: Any) -> Any:
        if isinstance(position, slice):
            return self.many(range(len(self))[position])
        return self.many([position])[0]

    def many(self, positions: Iterable[int]) -> list[Chunk]:
        """The passages at `positions`, the missing ones read in one query."""
        wanted = [int(self.ids[p]) for p in positions]
        found = self._cache.get(wanted)
        missing = [i for i in dict.fromkeys(wanted) if i not in found]
        if missing:
            fetched = self._fetch(missing)
            self._cache.put(fetched)
            found.update(fetched)
        return [found[i] for i in wanted]

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same passages (a list, as the folder store's)."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[Chunk]:
        for start in range(0, len(self.ids), STREAM_BATCH):
            batch = [int(i) for i in self.ids[start : start + STREAM_BATCH]]
            found = self._cache.get(batch)
            missing = [i for i in batch if i not in found]
            if missing:
                found.update(self._fetch(missing))
            yield from (found[i] for i in batch)
