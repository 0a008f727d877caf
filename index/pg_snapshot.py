"""What a PostgreSQL worker holds of the index: per document, its manifest entry, its
passages' database ids in order, and its retriever tables; no passage text.

`read_documents` reads that for all documents or for the ones that changed, in one
repeatable-read transaction together with the newest change counter it covers. A
worker asks `changed_since(version)` before each question (one indexed query); when
another worker wrote, only those documents are read again (`Layout.replaced`) and the
passage cache drops their old entries, never a full reload.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.metadata import described
from index.pg_corpus import document_tables, int8_array, store_tables
from index.store import DocumentEntry
from rag.types import Chunk

_DOC_FIELDS = ("doc_id", "name", "source", "content_hash", "chunks")


@dataclass(frozen=True)
class DocState:
    """One document as a worker holds it."""

    entry: DocumentEntry
    seq: int
    ids: np.ndarray  # passage database ids, in passage order
    tables: dict  # index.pg_corpus.document_tables


class Layout:
    """The documents in store order and the positions of their passages."""

    def __init__(self, docs: dict[str, DocState]) -> None:
        self.docs = dict(sorted(docs.items(), key=lambda item: item[1].seq))
        parts = [d.ids for d in self.docs.values()]
        self.ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        sizes = np.array([len(p) for p in parts], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.doc_ids = list(self.docs)
        self._index = {d: n for n, d in enumerate(self.doc_ids)}
        self._order = np.argsort(self.ids, kind="stable")
        self._sorted = self.ids[self._order]

    def replaced(self, changed: dict[str, DocState | None]) -> Layout:
        """This layout with the `changed` documents replaced (None: removed)."""
        docs = {k: v for k, v in self.docs.items() if k not in changed}
        docs.update({k: v for k, v in changed.items() if v is not None})
        return Layout(docs)

    def positions(self, ids: Sequence[int]) -> list[int | None]:
        """Positions of database ids (None for a passage this layout does not hold)."""
        if not len(self._sorted):
            return [None] * len(ids)
        wanted = np.asarray(ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, wanted), len(self._sorted) - 1)
        hit = self._sorted[at] == wanted
        return [int(self._order[a]) if h else None for a, h in zip(at, hit, strict=True)]

    def doc_of(self, position: int) -> str:
        return self.doc_ids[int(np.searchsorted(self.offsets, position, side="right")) - 1]

    def offset(self, doc_id: str) -> int:
        return int(self.offsets[self._index[doc_id]])

    def positions_of(self, documents: Collection[str]) -> list[int]:
        """Positions of the passages of `documents` (doc ids), in store order."""
        return [
            p
            for d, n in self._index.items()
            if d in documents
            for p in range(int(self.offsets[n]), int(self.offsets[n + 1]))
        ]


def changed_since(conn: Any, version: int) -> list[str]:
    """Documents written or removed after change counter `version` (versions follow
    commit order: the trigger takes them under the `rag_meta` row lock at commit)."""
    rows = conn.execute(
        "select doc_id from rag_doc_versions where version > %s", (version,)
    ).fetchall()
    return [r[0] for r in rows]


def read_documents(
    conn: Any, version: int | None
) -> tuple[int, list[str], dict[str, tuple[tuple, np.ndarray, Any]]]:
    """(newest version, the documents changed after `version` (None: all), their rows:
    doc id → (document row, passage ids, (first_id, tables) or None)); a document in the
    list but not in the rows was removed. Run in a repeatable-read transaction."""
    newest = int(
        conn.execute("select coalesce(max(version), 0) from rag_doc_versions").fetchone()[0]
    )
    if version is None:
        wanted = [r[0] for r in conn.execute("select doc_id from rag_documents").fetchall()]
    else:
        wanted = changed_since(conn, version)
    params = {"docs": wanted}
    documents = conn.execute(
        "select doc_id, name, source, content_hash, chunks, meta, seq from rag_documents "
        "where doc_id = any(%(docs)s)",
        params,
    ).fetchall()
    ids = dict(
        conn.execute(
            "select doc_id, string_agg(int8send(id), '' order by ord) from rag_passages "
            "where doc_id = any(%(docs)s) group by doc_id",
            params,
        ).fetchall()
    )
    tables = {
        r[0]: (int(r[1]), r[2])
        for r in conn.execute(
            "select doc_id, first_id, tables from rag_doc_tables where doc_id = any(%(docs)s)",
            params,
        ).fetchall()
    }
    rows = {d[0]: (tuple(d), int8_array(ids.get(d[0])), tables.get(d[0])) for d in documents}
    return newest, wanted, rows


def doc_state(row: tuple, ids: np.ndarray, stored: Any, pool: Any, read_chunks: Any) -> DocState:
    """A document's state from its rows; tables missing or stale (a document written
    before schema 5) and metadata never described are made from its passages, and the
    tables stored for the next worker."""
    entry = DocumentEntry(**dict(zip(_DOC_FIELDS, row[:5], strict=True)), **(row[5] or {}))
    first = int(ids[0]) if len(ids) else 0
    tables = stored[1] if stored is not None and stored[0] == first else None
    if tables is None or not entry.described:
        found: dict[int, Chunk] = read_chunks([int(i) for i in ids]) if len(ids) else {}
        chunks = [found[int(i)] for i in ids]
        entry = described([entry], chunks)[0]
        if tables is None:
            tables = _stored_tables(pool, entry.doc_id, first, chunks)
    return DocState(entry=entry, seq=int(row[6]), ids=ids, tables=tables)


def _stored_tables(pool: Any, doc_id: str, first: int, chunks: list[Chunk]) -> dict:
    """Store the tables computed here if the document still has these passages (a
    read-only server: they stay in this worker's memory only)."""
    import psycopg

    try:
        with pool.connection() as conn, conn.transaction():
            held = conn.execute(
                "select 1 from rag_passages where id = %s for share", (first,)
            ).fetchone()
            if held is not None:
                return store_tables(conn, doc_id, first, chunks)
    except psycopg.Error:
        pass
    return document_tables(chunks)[0]
