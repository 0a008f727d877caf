"""Read replicas of the PostgreSQL store against a real streaming replica (pg_basebackup
from pgserver's PostgreSQL 16, tests/pg_replica.py): searches run on the replica, a
worker reads its own writes even while the replica lags, and a replica that dies is
dropped from rotation with one log line while searches go on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from index.load import bundled_corpus, load_paths
from index.pg_replicas import close_router
from index.pg_write import ingest
from index.pgstore import PgStore
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import RawDocument
from tests.pg_replica import ReplicaPair, replica_pair
from tests.test_store import ARCTIC, RAG

pytestmark = pytest.mark.slow

WAIT_S = 1.0  # replica_wait_s in these tests
CONCEPTS = [["svalbard"], ["satellite"]]  # words only the Arctic note has


@pytest.fixture(scope="module")
def pair(default_embedder: Embedder) -> Iterator[ReplicaPair]:
    """Primary + replica holding the bundled letter's index in database `rag`."""
    with replica_pair() as started:
        with psycopg.connect(started.url("primary"), autocommit=True) as conn:
            conn.execute("create database rag")
        built = ingest(
            Settings(index={"store": started.url("primary", "rag")}),
            default_embedder,
            load_paths([bundled_corpus()]),
            keep=False,
        )
        built.pool.close()
        started.wait_replayed()
        yield started


def replicated(pair: ReplicaPair, **index: object) -> Settings:
    fields = {"replica_wait_s": WAIT_S, "replica_retry_s": 0.5, **index}
    return Settings(
        index={
            "store": pair.url("primary", "rag"),
            "replicas": [pair.url("replica", "rag")],
            **fields,
        }
    )


@pytest.fixture
def store(pair: ReplicaPair) -> Iterator[PgStore]:
    opened = PgStore.open(pair.url("primary", "rag"), replicated(pair))
    yield opened
    close_router(opened.pool)
    opened.pool.close()


def search(store: PgStore, embedder: Embedder, text: str) -> tuple[list[str], list[str]]:
    """Chunk ids of a dense and a concept search."""
    vector = embedder.encode_queries([text])[0]
    dense = [store.chunks[p].chunk_id for p, _ in store.dense_search(vector, 5)]
    words = [[w.lower()] for w in text.split() if len(w) > 3]
    lexical = [store.chunks[p].chunk_id for p, _ in store.concept_search(words, 5)]
    return dense, lexical


def postings_queries(pair: ReplicaPair) -> int:
    """Statements in the replica's log that read postings (either lexical method)."""
    log = pair.replica_log.read_text(errors="replace")
    return log.count("rag_postings") + log.count("rag_term_blocks")


def test_searches_run_on_the_replica(pair, store, default_embedder) -> None:
    router = store.router
    assert router is not None
    assert store._read(lambda conn: conn.execute("select pg_is_in_recovery()").fetchone()[0])
    logged = postings_queries(pair)
    dense, lexical = search(store, default_embedder, "Europese defensie-industrie versterken")
    assert dense and lexical
    assert router.replicas[0].reads >= 3 and router.primary_reads == 0
    # the replica's own log shows the lexical search's postings query ran there
    assert postings_queries(pair) > logged


def test_a_worker_reads_its_own_write_while_the_replica_lags(pair, store, default_embedder):
    router = store.router
    assert router is not None
    with psycopg.connect(pair.url("replica", "rag"), autocommit=True) as replica:
        replica.execute("select pg_wal_replay_pause()")
        try:
            note = _document("arctic-note", ARCTIC)
            settings = replicated(pair)
            written = ingest(settings, default_embedder, [note], keep=True, pool=store.pool)
            assert written.router is router  # one router (and floor) per primary pool
            # the replica does not have the note yet ...
            on_replica = "select count(*) from rag_passages where doc_id = 'arctic-note'"
            assert replica.execute(on_replica).fetchone()[0] == 0
            before, started = router.primary_reads, time.monotonic()
            hits = written.concept_search(CONCEPTS, 3)
            waited = time.monotonic() - started
            # ... so the writer's search waited a bounded time and read the primary
            assert [written.chunks[p].doc_id for p, _ in hits] == ["arctic-note"] * len(hits)
            assert hits and router.primary_reads > before
            assert WAIT_S * 0.9 <= waited < WAIT_S + 5
            # still behind: the next search asks the replica once, without waiting again
            started = time.monotonic()
            assert written.concept_search(CONCEPTS, 3) == hits
            assert time.monotonic() - started < WAIT_S / 2
        finally:
            replica.execute("select pg_wal_replay_resume()")
    pair.wait_replayed()
    reads = router.replicas[0].reads
    hits = written.concept_search(CONCEPTS, 3)  # caught up: the replica serves it again
    assert hits and {written.chunks[p].doc_id for p, _ in hits} == {"arctic-note"}
    assert router.replicas[0].reads > reads


def test_rag_ask_searches_the_replica_given_by_flag(pair) -> None:
    """The CLI's --replica reaches the store: `rag ask`'s searches run on the replica."""
    logged = postings_queries(pair)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    asked = subprocess.run(
        [str(RAG), "--index", pair.url("primary", "rag"), "--replica",
         pair.url("replica", "rag"), "ask", "Hoeveel moeten NAVO-landen aan defensie besteden?"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert postings_queries(pair) > logged
    bad = subprocess.run(
        [str(RAG), "--replica", pair.url("replica", "rag"), "ask", "x"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and "--replica needs the PostgreSQL store" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_dead_replica_is_dropped_and_searches_go_on(pair, store, default_embedder, caplog):
    question = "Hoeveel procent van het bbp gaan de NAVO-bondgenoten aan veiligheid besteden?"
    expected = search(store, default_embedder, question)
    router = store.router
    assert router is not None and router.replicas[0].reads > 0
    pair.kill_replica()
    try:
        with caplog.at_level(logging.WARNING, logger="index.pg_replicas"):
            for _ in range(5):  # every answer the same, none lost
                assert search(store, default_embedder, question) == expected
        dropped = [r for r in caplog.records if "dropped from rotation" in r.getMessage()]
        assert len(dropped) == 1
        assert router.replicas[0].pool is None and router.primary_reads >= 10
    finally:
        pair.start_replica()
    # probed again after replica_retry_s, it rejoins and serves searches again
    deadline = time.monotonic() + 20
    while router.replicas[0].pool is None and time.monotonic() < deadline:
        search(store, default_embedder, question)
        time.sleep(0.2)
    reads = router.replicas[0].reads
    assert search(store, default_embedder, question) == expected
    assert router.replicas[0].reads > reads


def _document(doc_id: str, text: str) -> RawDocument:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return RawDocument(
        doc_id=doc_id, name=f"{doc_id}.txt", source=f"{doc_id}.txt", content_hash=digest, text=text
    )
