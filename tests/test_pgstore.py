"""The PostgreSQL store against a real server (pgserver: PostgreSQL 16 + pgvector).

It must search like the folder store (same passages, same BM25 scores, same pipeline
hits), refuse an index built with other settings, and keep its promises under load:
a document replaced in one transaction (kill -9 mid-write leaves the old one), two
writers at once both succeed, a reader never sees half a document, and a document
added by one process is found by another without a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from index.load import load_paths
from index.pg_write import ensure_hnsw, ingest, write_document
from index.pgstore import PgStore, connect_pool
from rag.errors import IndexMismatchError, IndexMissingError, InputError
from rag.language.text import passage_terms
from rag.pipeline import Pipeline
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import RawDocument
from tests.conftest import new_database
from tests.test_store import ARCTIC, QUERIES, RAG, CountingEmbedder

pytestmark = pytest.mark.slow


def raw(doc_id: str, text: str) -> RawDocument:
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()
    return RawDocument(
        doc_id=doc_id, name=f"{doc_id}.txt", source=f"{doc_id}.txt", content_hash=digest, text=text
    )


def settings_for(url: str, **index: object) -> Settings:
    return Settings(index={"store": url, **index})


@pytest.fixture
def store(pg_url: str):
    opened = PgStore.open(pg_url, settings_for(pg_url))
    yield opened
    opened.pool.close()


def ids(store, ranking) -> list[str]:
    return [store.chunks[p].chunk_id for p, _ in ranking]


def assert_same_ranking(mine, store, theirs, folder) -> None:
    """Same scores in the same order; passages with equal scores may come in either order
    (except at the cut-off, the same passages)."""
    assert mine
    np.testing.assert_allclose([s for _, s in mine], [s for _, s in theirs], rtol=1e-5)
    cut = round(mine[-1][1], 5)

    def levels(ranking, owner):
        found: dict[float, set[str]] = {}
        for p, s in ranking:
            if round(s, 5) != cut:
                found.setdefault(round(s, 5), set()).add(owner.chunks[p].chunk_id)
        return found

    assert levels(mine, store) == levels(theirs, folder)


def consistent_statistics(url: str) -> None:
    """The BM25 totals and document frequencies agree with the postings themselves."""
    with psycopg.connect(url) as conn:
        passages, tokens = conn.execute("select passages, tokens from rag_meta").fetchone()
        real = conn.execute("select count(*), coalesce(sum(n_tokens), 0) from rag_passages")
        assert (passages, tokens) == tuple(real.fetchone())
        wrong = conn.execute(
            "select count(*) from rag_term_stats s full join (select term, count(*) df from "
            "rag_postings group by term) p using (term) where coalesce(s.df, 0) <> "
            "coalesce(p.df, 0)"
        ).fetchone()[0]
        assert wrong == 0
        docs = conn.execute(
            "select count(*) from rag_documents d where chunks <> (select count(*) from "
            "rag_passages p where p.doc_id = d.doc_id)"
        ).fetchone()[0]
        assert docs == 0


# ---- the same search as the folder store --------------------------------------------------


def test_searches_like_the_folder_store(built_index, store, default_embedder: Embedder) -> None:
    _, folder = built_index
    assert [c.chunk_id for c in store.chunks] == [c.chunk_id for c in folder.chunks]
    assert list(store.chunks) == folder.chunks
    assert set(store.terms) == set(folder.terms)
    theirs = dict(zip(folder.terms, folder.term_vectors, strict=True))
    for term, vector in zip(store.terms, store.term_vectors, strict=True):
        np.testing.assert_allclose(vector, theirs[term], atol=1e-6)
    np.testing.assert_allclose(np.asarray(store.vectors), folder.vectors, atol=1e-6)
    for query in QUERIES:
        vector = default_embedder.encode_queries([query])[0]
        assert ids(store, store.dense_search(vector, 10)) == ids(
            folder, folder.dense_search(vector, 10)
        )
        # BM25 computed in SQL from the posting tables = bm25s over the same tokens
        mine, theirs_lex = store.lexical_search(query, 10), folder.lexical_search(query, 10)
        assert_same_ranking(mine, store, theirs_lex, folder)
    concepts = [["trade", "handel", "handelsbeleid"], ["mercosur"]]
    mine = store.concept_search(concepts, 10)
    assert_same_ranking(mine, store, folder.concept_search(concepts, 10), folder)
    m, f = store.manifest, folder.manifest
    assert (m.embedding_fingerprint, m.dimension, m.chunking, m.documents, m.chunk_count) == (
        f.embedding_fingerprint,
        f.dimension,
        f.chunking,
        f.documents,
        f.chunk_count,
    )
    assert store.chunk(folder.chunks[3].chunk_id) == folder.chunks[3]
    assert store.chunk("nope") is None


def test_lexical_depth_scores_each_terms_best_postings_exactly(store) -> None:
    """`pg_lexical_depth` bounds the postings read per term, best impact first; the
    passages it returns keep their exact BM25 scores."""
    concepts = [["europese"], ["veiligheid"]]  # two words in many of the letter's passages
    full = dict(store.concept_search(concepts, 1000))
    shallow_settings = store.index_settings.model_copy(
        update={"pg_lexical_method": "depth", "pg_lexical_depth": 2}
    )
    shallow = PgStore(store.url, store.pool, shallow_settings).concept_search(concepts, 1000)
    assert len(full) > 4 >= len(shallow) > 0  # at most two postings of each term
    for position, score in shallow:
        assert position in full
        if score == pytest.approx(full[position]):
            continue
        # a passage holding both words, reached through one of them only
        assert score < full[position]


def test_pipeline_retrieves_the_same_hits(built_index, pg_url: str, default_embedder) -> None:
    settings, folder = built_index
    store = PgStore.open(pg_url, settings_for(pg_url))
    try:
        on_server = Pipeline(settings_for(pg_url), store, default_embedder)
        in_folder = Pipeline(settings, folder, default_embedder)
        for query in [*QUERIES, "Wat zegt de brief over Noorwegen?", "Summarise the opening"]:
            mine = [h.chunk.chunk_id for h in on_server.retrieve(query)]
            assert mine == [h.chunk.chunk_id for h in in_folder.retrieve(query)]
    finally:
        store.pool.close()


def test_hnsw_from_the_threshold_on(pg_url: str, default_embedder: Embedder) -> None:
    exact = PgStore.open(pg_url, settings_for(pg_url))
    assert not exact.approximate and exact.manifest.faiss_type == "flat"
    settings = settings_for(pg_url, approximate_above=50)  # the letter has 54 passages
    ensure_hnsw(exact.pool, settings)
    approximate = PgStore(pg_url, exact.pool, settings.index)
    assert approximate.approximate and approximate.manifest.faiss_type == "hnsw"
    vector = default_embedder.encode_queries([QUERIES[1]])[0]
    assert "Index Scan using rag_passages_hnsw" in approximate.dense_plan(vector)
    assert "Seq Scan" in exact.dense_plan(vector)
    # 54 vectors: the graph finds the exact neighbours
    found, truth = approximate.dense_search(vector, 10), exact.dense_search(vector, 10)
    assert [p for p, _ in found] == [p for p, _ in truth]
    np.testing.assert_allclose([s for _, s in found], [s for _, s in truth], rtol=1e-5)
    exact.pool.close()


# ---- settings, missing index, schema ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"chunking": {"max_tokens": 100}}, "chunking"),
        ({"embedding": {"query_prefix": "query: "}}, "embedding model"),
    ],
)
def test_other_settings_say_how_to_rebuild(pg_url: str, change, named) -> None:
    other = Settings(index={"store": pg_url}, **change)
    with pytest.raises(IndexMismatchError) as info:
        PgStore.open(pg_url, other)
    assert named in str(info.value) and "rag index build" in str(info.value)
    assert pg_url.split("?")[0] in str(info.value)
    PgStore.open(pg_url).pool.close()  # without settings to check: opens


def test_empty_database_says_how_to_build(pg_server) -> None:
    url = new_database(pg_server, "empty_one")
    with pytest.raises(IndexMissingError, match="rag index build"):
        PgStore.open(url)


def test_newer_schema_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into rag_schema values (99)")
    with pytest.raises(IndexMismatchError, match="schema is version 99"):
        PgStore.open(pg_url)


# ---- writes -----------------------------------------------------------------------------------


def test_adding_embeds_only_the_new_document(store, default_embedder: Embedder) -> None:
    counter = CountingEmbedder(default_embedder)
    settings = settings_for(store.url)
    new = ingest(settings, counter, [raw("arctic", ARCTIC)], keep=True, pool=store.pool)
    added = [c for c in new.chunks if c.doc_id == "arctic"]
    passages, terms = counter.calls
    assert passages == [c.search_text for c in added]
    assert {"arctic", "svalbard"} <= set(terms) and not set(terms) & set(store.terms)
    assert [d.doc_id for d in new.manifest.documents] == ["eu-geopolitiek-kamerbrief", "arctic"]
    hits = new.lexical_search("Svalbard research station", 1)
    assert new.chunks[hits[0][0]].doc_id == "arctic"
    consistent_statistics(store.url)
    counter.calls.clear()  # a rerun (resuming a build) finds the same hash: nothing to do
    again = ingest(settings, counter, [raw("arctic", ARCTIC)], keep=True, pool=store.pool)
    assert counter.calls == [] and list(again.chunks) == list(new.chunks)


def test_editing_re_embeds_changed_passages_and_removing(store, letter_path, default_embedder):
    counter = CountingEmbedder(default_embedder)
    settings = settings_for(store.url)
    edited = letter_path.read_text(encoding="utf-8").replace("EU-Mercosur", "EU-Mercosul")
    letter = load_paths([letter_path])[0]
    changed = letter.model_copy(update={"text": edited, "content_hash": "edited"})
    new = ingest(settings, counter, [changed], keep=True, pool=store.pool)
    assert len(counter.calls[0]) == 1 and "EU-Mercosul" in counter.calls[0][0]
    assert len(new.chunks) == len(store.chunks)
    assert new.lexical_search("Mercosul", 3) and not new.lexical_search("Mercosur", 3)
    consistent_statistics(store.url)
    with pytest.raises(InputError, match="would leave the index empty"):
        ingest(settings, counter, [], keep=True, remove=[letter.doc_id], pool=store.pool)
    ingest(settings, counter, [raw("arctic", ARCTIC)], keep=True, pool=store.pool)
    smaller = ingest(settings, counter, [], keep=True, remove=["arctic"], pool=store.pool)
    assert {c.doc_id for c in smaller.chunks} == {letter.doc_id}
    consistent_statistics(store.url)


def test_build_with_other_settings_starts_afresh(pg_url: str, default_embedder) -> None:
    settings = Settings(index={"store": pg_url}, chunking={"max_tokens": 100})
    store = ingest(settings, default_embedder, [raw("arctic", ARCTIC)], keep=False)
    assert [d.doc_id for d in store.manifest.documents] == ["arctic"]
    assert store.manifest.chunking["max_tokens"] == 100
    PgStore.open(pg_url, settings).pool.close()  # now compatible with these settings
    consistent_statistics(pg_url)
    store.pool.close()


def versions(n: int) -> list[RawDocument]:
    """Two versions of one document with different numbers of passages."""
    paragraph = (
        "The zeppelin hangar number {i} stores airships for the northern fleet. "
        + "Its crew checks the gas cells, the engines and the mooring mast every morning. " * 8
    )
    texts = ["\n\n".join(paragraph.format(i=i) for i in range(count)) for count in (1, n)]
    return [raw("zeppelins", t) for t in texts]


def test_reader_during_writes_sees_old_or_new_never_half(store, default_embedder) -> None:
    old, new = versions(9)
    chunked = {}
    for version in (old, new):
        written = ingest(
            settings_for(store.url), default_embedder, [version], keep=True, pool=store.pool
        )
        chunked[version.content_hash] = (
            [c for c in written.chunks if c.doc_id == "zeppelins"],
            written.vectors[
                [written.position[c.chunk_id] for c in written.chunks if c.doc_id == "zeppelins"]
            ],
        )
    sizes = {len(chunks) for chunks, _ in chunked.values()}
    assert len(sizes) == 2
    stop = threading.Event()
    writes = 0

    def writer() -> None:
        nonlocal writes
        pool = connect_pool(store.url, 1)
        while not stop.is_set():
            version = (old, new)[writes % 2]
            write_document(pool, version, *chunked[version.content_hash])
            writes += 1
        pool.close()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[int] = []
    matches: list[int] = []
    # the store's own snapshot knows neither version's passages: count them by id instead
    store._positions = lambda rows: [(int(i), float(s)) for i, s in rows]
    with_hangar = {
        sum("hangar" in passage_terms(c.search_text) for c in chunks)
        for chunks, _ in chunked.values()
    }
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and len(seen) < 400:
            matches.append(len(store.lexical_search("hangar", 50)))  # one SQL statement
            snapshot = PgStore(store.url, store.pool, store.index_settings)  # several
            held = len(snapshot.layout.docs["zeppelins"].ids)
            assert snapshot.corpus_tables().counts["zeppelins"] == held  # tables match too
            seen.append(held)
    finally:
        stop.set()
        thread.join(30)
    assert writes > 5
    assert set(seen) == sizes  # both versions were seen while the writer ran, nothing else
    assert set(matches) <= with_hangar and len(set(matches)) == 2
    consistent_statistics(store.url)


def test_two_writers_of_different_documents_both_succeed(store, default_embedder) -> None:
    docs = [raw(f"note-{n}", ARCTIC.replace("Svalbard", f"Svalbard{n}")) for n in range(2)]
    prepared = {}
    for doc in docs:
        written = ingest(
            settings_for(store.url), default_embedder, [doc], keep=True, pool=store.pool
        )
        mine = [c for c in written.chunks if c.doc_id == doc.doc_id]
        prepared[doc.doc_id] = (mine, written.vectors[[written.position[c.chunk_id] for c in mine]])
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def write_many(doc: RawDocument) -> None:
        pool = connect_pool(store.url, 1)
        try:
            barrier.wait()
            for _ in range(25):
                write_document(pool, doc, *prepared[doc.doc_id])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            pool.close()

    threads = [threading.Thread(target=write_many, args=(d,)) for d in docs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    final = PgStore(store.url, store.pool, store.index_settings)
    for doc in docs:
        assert sum(c.doc_id == doc.doc_id for c in final.chunks) == len(prepared[doc.doc_id][0])
    with psycopg.connect(store.url) as conn:
        assert conn.execute("select generation from rag_meta").fetchone()[0] >= 50
    consistent_statistics(store.url)


KILLED_WRITER = """
import sys, time
from pathlib import Path
from index import pg_write
from index.load import load_paths
from index.pgstore import PgStore, connect_pool
from rag.retrieval.embeddings import load_embedder
from rag.settings import Settings

url, path = sys.argv[1], sys.argv[2]
settings = Settings(index={"store": url})
embedder = load_embedder(settings.embedding)
def stall(conn, *args):  # inside the transaction, after the new passages were copied in
    print("in-transaction", flush=True)
    time.sleep(600)

pg_write._add_stats = stall
pg_write.ingest(settings, embedder, load_paths([Path(path)]), keep=True)
"""


def test_killed_writer_leaves_the_old_document(store, tmp_path: Path, letter_path) -> None:
    before = [c.chunk_id for c in store.chunks]
    edited = tmp_path / letter_path.name  # same name: replaces the letter
    edited.write_text(letter_path.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, store.url, str(edited)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    try:
        line = process.stdout.readline() if process.stdout else b""
        assert line.strip() == b"in-transaction", process.stderr.read() if process.stderr else ""
        with psycopg.connect(store.url) as conn:  # the half-written version is invisible
            count = conn.execute("select count(*) from rag_passages").fetchone()[0]
        assert count == len(before)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after = PgStore(store.url, store.pool, store.index_settings)
    assert [c.chunk_id for c in after.chunks] == before
    consistent_statistics(store.url)


# ---- many workers ------------------------------------------------------------------------------

WORKER = """
import sys
from assembly.library import open_pipeline
from rag.settings import Settings

pipeline = open_pipeline(Settings(index={"store": sys.argv[1]}))
print("ready", flush=True)
for question in sys.stdin:
    hits = pipeline.retrieve(question.strip(), 3)
    print(hits[0].chunk.doc_id if hits else "-", flush=True)
"""


def test_a_document_added_by_one_process_is_found_by_another(pg_url: str, tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, pg_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert worker.stdin and worker.stdout
    try:
        assert worker.stdout.readline().strip() == "ready"
        question = "Who shares satellite data on sea ice around Svalbard?\n"
        worker.stdin.write(question)
        worker.stdin.flush()
        assert worker.stdout.readline().strip() == "eu-geopolitiek-kamerbrief"
        (tmp_path / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
        added = subprocess.run(
            [str(RAG), "--index", pg_url, "index", "add", str(tmp_path / "arctic.txt")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert added.returncode == 0, added.stderr
        assert "2 document(s)" in added.stdout and "password" not in added.stdout
        worker.stdin.write(question)
        worker.stdin.flush()
        assert worker.stdout.readline().strip() == "arctic"  # no restart
    finally:
        worker.kill()
        worker.wait()


def test_cli_builds_and_describes_a_server_index(pg_server, tmp_path: Path) -> None:
    url = new_database(pg_server, "cli_built")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    (tmp_path / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    run = [str(RAG), "--index", url, "index"]
    built = subprocess.run(
        [*run, "build", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert built.returncode == 0, built.stderr
    info = subprocess.run([*run, "info"], capture_output=True, text=True, env=env, timeout=120)
    assert info.returncode == 0 and "arctic" in info.stdout
    removed = subprocess.run(
        [*run, "remove", "arctic"], capture_output=True, text=True, env=env, timeout=120
    )
    assert removed.returncode == 1 and "would leave the index empty" in removed.stderr
    assert "Traceback" not in removed.stderr
    bad = subprocess.run(
        [str(RAG), "--index", "postgresql://nobody@127.0.0.1:1/none", "index", "info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1 and "Cannot reach the index database" in bad.stderr


def test_parallel_ingest_writes_what_one_process_writes(
    pg_server, built_index, tmp_path: Path, letter_path: Path, default_embedder: Embedder
) -> None:
    url = new_database(pg_server, "parallel_ingest")
    (tmp_path / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    documents = load_paths([letter_path, tmp_path / "arctic.txt"])
    settings = settings_for(url)
    store = ingest(settings, default_embedder, documents, keep=False, jobs=2)
    _, folder = built_index
    letter = [c for c in store.chunks if c.doc_id == "eu-geopolitiek-kamerbrief"]
    assert letter == folder.chunks and any(c.doc_id == "arctic" for c in store.chunks)
    positions = [store.position[c.chunk_id] for c in letter]
    np.testing.assert_allclose(store.vectors[positions], folder.vectors, atol=1e-5)
    consistent_statistics(url)
    counter = CountingEmbedder(default_embedder)  # resumed: everything stored is skipped
    again = ingest(settings, counter, documents, keep=False, jobs=2, pool=store.pool)
    assert counter.calls == [] and list(again.chunks) == list(store.chunks)
    store.pool.close()
