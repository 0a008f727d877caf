"""Parallel ingest into the PostgreSQL store (real pgserver): worker processes that each
write whole documents keep the input order and leave complete, consistent documents,
and the bulk COPY lines escape what COPY's text format would misread.
"""

from __future__ import annotations

import hashlib

import psycopg
import pytest

from index.pg_write import ingest, write_document
from index.pgstore import PgStore
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import RawDocument
from tests.conftest import new_database
from tests.test_pgstore import consistent_statistics
from tests.test_store import ARCTIC

pytestmark = pytest.mark.slow


def raw(doc_id: str, text: str) -> RawDocument:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return RawDocument(
        doc_id=doc_id, name=f"{doc_id}.txt", source=f"{doc_id}.txt", content_hash=digest, text=text
    )


ISLANDS = ["Kolbeinsey", "Hopen", "Bjornoya", "Kvitoya", "Tromsoya"]  # one per note


def notes() -> list[RawDocument]:
    """Five short documents, the later ones shorter (they finish first in parallel)."""
    return [
        raw(f"note-{n}", ARCTIC.replace("Svalbard", island)[: 2000 - 300 * n])
        for n, island in enumerate(ISLANDS)
    ]


def test_parallel_writers_keep_the_input_order(pg_server, default_embedder: Embedder) -> None:
    url = new_database(pg_server, "parallel_order")
    documents = notes()
    store = ingest(Settings(index={"store": url}), default_embedder, documents, keep=False, jobs=2)
    try:
        assert [d.doc_id for d in store.manifest.documents] == [d.doc_id for d in documents]
        order = [c.doc_id for c in store.chunks]  # passages grouped by document, in order
        assert order == sorted(order, key=lambda d: int(d.split("-")[1]))
        for doc, island in zip(documents, ISLANDS, strict=True):
            found = store.concept_search([[island.lower()]], 3)
            assert found and {store.chunks[p].doc_id for p, _ in found} == {doc.doc_id}
        consistent_statistics(url)
    finally:
        store.pool.close()


def test_copy_lines_escape_backslashes_and_tabs(pg_url: str, default_embedder) -> None:
    settings = Settings(index={"store": pg_url})
    store = PgStore.open(pg_url, settings)
    try:
        odd = raw("odd\\id\twith tab", ARCTIC)
        written = ingest(settings, default_embedder, [odd], keep=True, pool=store.pool)
        mine = [c for c in written.chunks if c.doc_id == odd.doc_id]
        vectors = written.vectors[[written.position[c.chunk_id] for c in mine]]
        write_document(store.pool, odd, mine, vectors)  # rewritten by the bulk COPY path
        with psycopg.connect(pg_url) as conn:
            ids = conn.execute("select distinct doc_id from rag_doc_terms").fetchall()
            passages = conn.execute(
                "select count(*) from rag_passages where doc_id = %s", (odd.doc_id,)
            ).fetchone()[0]
        assert (odd.doc_id,) in ids and passages == len(mine) > 0
        consistent_statistics(pg_url)
    finally:
        store.pool.close()
