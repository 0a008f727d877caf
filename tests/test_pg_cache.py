"""PostgreSQL workers that hold no corpus, against a real server (pgserver).

The retriever's whole-corpus tables built from per-document summaries must equal those
computed from every passage; the passage cache stays within its bound and answers the
same; a write elsewhere re-reads only the changed document; and a document added by one
process answers in another within a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.pg_write import ingest, remove_document
from index.pgstore import PgStore, connect_pool
from rag.pipeline import Pipeline
from rag.retrieval.corpus_tables import CorpusTables, from_chunks
from rag.settings import Settings
from tests.test_pgstore import raw, settings_for
from tests.test_store import ARCTIC, QUERIES

pytestmark = pytest.mark.slow


def same_tables(mine: CorpusTables, truth: CorpusTables, positions: int) -> None:
    assert mine.names == truth.names and mine.acronyms == truth.acronyms
    assert mine.footnotes == truth.footnotes and mine.parts == truth.parts
    assert mine.headings == truth.headings and mine.headings_by_doc == truth.headings_by_doc
    assert mine.sizes == truth.sizes and mine.counts == truth.counts
    assert [mine.doc_of(p) for p in range(positions)] == [truth.doc_of(p) for p in range(positions)]
    for heading in truth.headings:
        assert mine.section_positions(heading) == truth.section_positions(heading)


def test_corpus_tables_match_the_folder_stores(built_index, pg_url, default_embedder) -> None:
    _, folder = built_index
    store = PgStore.open(pg_url, settings_for(pg_url))
    truth = from_chunks(folder.chunks)
    assert truth.footnotes and truth.headings and truth.names  # the letter has all three
    same_tables(store.corpus_tables(), truth, len(folder.chunks))
    letter = "eu-geopolitiek-kamerbrief"  # what a question about one document reads
    assert store.document_chunks(letter) == [c for c in folder.chunks if c.doc_id == letter]
    assert store.document_chunks("nothing") == []
    # A second document that writes one of the letter's names in lower case: the name
    # table is the corpus's, not the sum of the documents'.
    name = sorted(truth.names)[0]
    other = ARCTIC + f"\n\nIn the north the word {name} is written in lower case.\n"
    added = ingest(
        settings_for(pg_url), default_embedder, [raw("arctic", other)], keep=True, pool=store.pool
    )
    passages = list(added.chunks)  # every passage, streamed from the server
    assert {c.doc_id for c in passages} == {"eu-geopolitiek-kamerbrief", "arctic"}
    both = from_chunks(passages)
    assert name not in both.names and name in truth.names
    same_tables(added.corpus_tables(), both, len(passages))
    store.pool.close()


def test_the_passage_cache_stays_bounded_and_answers_the_same(pg_url, default_embedder) -> None:
    settings = Settings(index={"store": pg_url})
    small = PgStore.open(pg_url, settings_for(pg_url, pg_passage_cache=8))
    large = PgStore.open(pg_url, settings)
    bounded = Pipeline(settings, small, default_embedder)
    roomy = Pipeline(settings, large, default_embedder)
    for question in QUERIES:
        hits = bounded.retrieve(question, 5)
        assert len(small.cache) <= 8
        assert [(h.chunk, h.score) for h in hits] == [
            (h.chunk, h.score) for h in roomy.retrieve(question, 5)
        ]
    assert len(small.cache) == 8 and len(large.cache) > 8  # used, up to its bound
    small.pool.close()
    large.pool.close()


def test_a_write_elsewhere_rereads_only_that_document(pg_url, default_embedder) -> None:
    settings = settings_for(pg_url)
    writer = connect_pool(pg_url, 1)
    ingest(settings, default_embedder, [raw("arctic", ARCTIC)], keep=True, pool=writer)
    store = PgStore.open(pg_url, settings)
    assert store.reload_if_changed() is None  # nothing changed: no new snapshot
    letter = store.layout.docs["eu-geopolitiek-kamerbrief"]
    old_arctic = store.layout.docs["arctic"]
    store.chunks.many(range(len(store.chunks)))  # every passage cached (the cache allows it)
    changed = ARCTIC.replace("Svalbard", "Spitsbergen")
    ingest(settings, default_embedder, [raw("arctic", changed)], keep=True, pool=writer)
    new = store.reload_if_changed()
    assert new is not None and new.cache is store.cache
    assert new.layout.docs["eu-geopolitiek-kamerbrief"] is letter  # not read again
    assert len(store.cache.get(int(i) for i in old_arctic.ids)) == 0  # dropped
    assert len(store.cache.get(int(i) for i in letter.ids)) == len(letter.ids)  # kept
    found = new.lexical_search("Spitsbergen", 3)
    assert found and new.chunks[found[0][0]].doc_id == "arctic"
    assert not new.lexical_search("Svalbard", 3)
    remove_document(writer, "arctic")
    gone = new.reload_if_changed()
    assert gone is not None and "arctic" not in gone.layout.docs
    assert [d.doc_id for d in gone.manifest.documents] == ["eu-geopolitiek-kamerbrief"]
    assert len(gone.chunks) == len(letter.ids)
    writer.close()
    store.pool.close()


WATCHER = """
import sys, time
from assembly.library import open_pipeline
from rag.settings import Settings

pipeline = open_pipeline(Settings(index={"store": sys.argv[1]}))
print("ready", flush=True)
while True:
    hits = pipeline.retrieve("Who shares satellite data on sea ice around Svalbard?", 3)
    if hits and hits[0].chunk.doc_id == "arctic":
        print(time.time(), flush=True)
        break
    time.sleep(0.05)
"""


def test_a_document_added_in_one_process_answers_in_another_within_a_second(
    pg_url: str, default_embedder
) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER, pg_url], stdout=subprocess.PIPE, env=env, text=True
    )
    assert watcher.stdout
    try:
        assert watcher.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # it is asking, and not finding the document
        assert watcher.poll() is None
        ingest(settings_for(pg_url), default_embedder, [raw("arctic", ARCTIC)], keep=True)
        committed = time.time()
        found = float(watcher.stdout.readline())
        print(f"answered in the other process {found - committed:.2f} s after the commit")
        assert found - committed < 1.0, f"found {found - committed:.2f} s after the commit"
    finally:
        watcher.kill()
        watcher.wait()


def test_a_document_stored_before_its_tables_gets_them_from_a_reader(built_index, pg_url) -> None:
    _, folder = built_index
    pool = connect_pool(pg_url, 1)
    with pool.connection() as conn:
        conn.execute("delete from rag_doc_tables; delete from rag_doc_lower")
    store = PgStore.open(pg_url, settings_for(pg_url), pool=pool)
    same_tables(store.corpus_tables(), from_chunks(folder.chunks), len(folder.chunks))
    with pool.connection() as conn:  # stored for the next worker
        assert conn.execute("select count(*) from rag_doc_tables").fetchone()[0] == 1
        assert conn.execute("select count(*) from rag_doc_lower").fetchone()[0] > 100
    pool.close()
