"""Writes to the PostgreSQL store: each document replaced or removed in one transaction.

`ingest` is the server store's `build_index`: documents are cleaned and chunked, then
one at a time embedded (reusing the stored vectors of unchanged passages) and written,
so a crash loses at most the document in flight and a rerun skips every document
already stored with the same content hash. Readers see a document's old passages or its
new ones, never a mix: the delete and the inserts commit together.

Concurrent writers of different documents both succeed: the only shared rows they touch
are document frequencies (upserted in sorted term order, so no deadlock) and the one
`rag_meta` row, locked last and only until commit.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from index.build import PassageEncoder, Progress
from index.chunk import chunk_document
from index.clean import clean_document, corpus_vocabulary
from index.metadata import FIELDS, describe
from index.pg_corpus import store_tables
from index.pg_topk import write_blocks
from index.pgstore import (
    BM25_B,
    BM25_K1,
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    PgStore,
    connect_pool,
    connection,
    manifest_fields,
    redacted,
)
from index.store import DocumentEntry, Manifest, check_compatible, now_iso
from rag.errors import IndexMismatchError, InputError
from rag.language.text import content_word_counts, passage_terms
from rag.settings import Settings
from rag.types import Chunk, RawDocument


def ingest(
    settings: Settings,
    embedder: PassageEncoder,
    documents: Sequence[RawDocument],
    *,
    keep: bool,
    remove: Sequence[str] = (),
    progress: Progress | None = None,
    pool: Any = None,
    jobs: int = 1,
    worker_encoder: Callable[[], PassageEncoder] | None = None,
) -> PgStore:
    """Make the store hold `documents` (plus, with `keep`, the ones it had, less
    `remove`); documents stored with the same content hash are not touched. With
    `jobs` > 1, that many processes each chunk, embed and write whole documents (each
    in its own transaction), with the encoder `worker_encoder()` makes (default: the
    settings' embedder); documents keep their order in the index."""
    report = progress or (lambda stage, done, total: None)
    url = settings.index.store
    pool = pool or connect_pool(url, settings.index.pool_size)
    stored = _prepare(pool, settings, embedder, fresh=not keep)
    incoming = {doc.doc_id for doc in documents}
    dropped = set(remove) | (set() if keep else set(stored) - incoming)
    if not (set(stored) - dropped) | incoming:
        raise InputError(
            f"Removing {', '.join(remove)} would leave the index empty. Add another document "
            "first, or build a new index with 'rag index build [PATH ...]'."
        )
    for doc_id in sorted(dropped - incoming):
        remove_document(pool, doc_id)
    todo = [doc for doc in documents if stored.get(doc.doc_id) != doc.content_hash]
    vocabulary = corpus_vocabulary(doc.text for doc in documents)
    report("documents", 0, len(todo))
    places = _reserve_places(pool, todo)
    if jobs > 1 and len(todo) > 1:
        make = worker_encoder or partial(_settings_embedder, settings)
        written = _in_processes(todo, places, settings, vocabulary, jobs, make)
    else:
        written = (
            _add_document(raw, place, settings, embedder, vocabulary, pool)
            for raw, place in zip(todo, places, strict=True)
        )
    for n, _ in enumerate(written, start=1):
        report("documents", n, len(todo))
    ensure_hnsw(pool, settings)
    return PgStore(url, pool, settings.index)


def _prepare(pool: Any, settings: Settings, embedder: PassageEncoder, fresh: bool) -> dict:
    """Write the manifest if there is none (or, for a fresh build with other settings,
    empty the store first); return the stored documents' content hashes."""
    meta = manifest_fields(settings, embedder.model_id, embedder.dim, now_iso())
    with connection(pool) as conn, conn.transaction():
        conn.execute("lock table rag_meta in share row exclusive mode")
        row = conn.execute("select manifest from rag_meta").fetchone()
        if row is not None:
            stored = Manifest(**row[0], faiss_type="flat", documents=[], chunk_count=0)
            try:
                check_compatible(stored, settings, redacted(settings.index.store))
            except IndexMismatchError:
                if not fresh:
                    raise
                conn.execute(
                    "drop index if exists rag_passages_hnsw; truncate rag_meta, rag_documents, "
                    "rag_passages, rag_postings, rag_term_stats, rag_doc_terms, rag_term_vectors, "
                    "rag_term_blocks cascade"
                )
                row = None
        if row is None:
            conn.execute("drop index if exists rag_passages_hnsw")
            # Typed, for HNSW; stored in line and uncompressed, or an exact scan would
            # decompress every vector (10k passages: 125 ms a query, 27 ms in line).
            conn.execute(
                f"alter table rag_passages alter column embedding type vector({int(embedder.dim)})"
                ", alter column embedding set storage plain"
            )
            conn.execute(
                "insert into rag_meta (id, manifest) values (1, %s::jsonb)", (json.dumps(meta),)
            )
        rows = conn.execute("select doc_id, content_hash from rag_documents").fetchall()
    return dict(rows)


Prepared = tuple[RawDocument, list[Chunk], np.ndarray, dict[str, int]]


def _embed_document(
    raw: RawDocument, settings: Settings, embedder: PassageEncoder, vocabulary: Any, pool: Any
) -> Prepared:
    """One document chunked, its passages' vectors (stored or new), its vocabulary with
    counts, and its new words' vectors (stored)."""
    chunks = chunk_document(clean_document(raw, vocabulary), settings.chunking)
    if not chunks:
        raise InputError(
            f"'{raw.name}' holds no passages to index (only headings or blank lines?). "
            "Add text to it, or index other files."
        )
    vectors = _vectors(pool, embedder, chunks)
    counts = content_word_counts([c.text for c in chunks])  # the document's vocabulary
    _store_term_vectors(pool, embedder, counts)
    return raw, chunks, vectors, counts


def _reserve_places(pool: Any, todo: Sequence[RawDocument]) -> list[int]:
    """The documents' places in the index's order (rag_documents.seq), taken in input
    order before any is written, so parallel writers keep that order."""
    if not todo:
        return []
    with connection(pool) as conn:
        rows = conn.execute(
            "select nextval(pg_get_serial_sequence('rag_documents', 'seq')) "
            "from generate_series(1, %s)",
            (len(todo),),
        ).fetchall()
    return [int(r[0]) for r in rows]


def _add_document(
    raw: RawDocument,
    place: int,
    settings: Settings,
    embedder: PassageEncoder,
    vocabulary: Any,
    pool: Any,
) -> int:
    """Chunk, embed and write one document; its passage count."""
    raw, chunks, vectors, counts = _embed_document(raw, settings, embedder, vocabulary, pool)
    write_document(pool, raw, chunks, vectors, place=place, counts=counts)
    return len(chunks)


def _in_processes(
    todo: Sequence[RawDocument],
    places: Sequence[int],
    settings: Settings,
    vocabulary: Any,
    jobs: int,
    make_encoder: Callable[[], PassageEncoder],
) -> Iterator[int]:
    """`_add_document` in `jobs` processes (each loads the encoder once and writes with
    its own connection), yielding each document's passage count in input order, with
    at most 2 x jobs documents in flight, so memory stays bounded."""
    context = multiprocessing.get_context("spawn")  # no fork of a process running torch
    with ProcessPoolExecutor(
        jobs,
        mp_context=context,
        initializer=_worker_start,
        initargs=(settings, vocabulary, make_encoder),
    ) as executor:
        pending: deque[Future[int]] = deque()
        for raw, place in zip(todo, places, strict=True):
            pending.append(executor.submit(_worker_add, raw, place))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


_WORKER: dict[str, Any] = {}


def _settings_embedder(settings: Settings) -> PassageEncoder:
    """The settings' embedder, in a worker process (imported there, not here)."""
    from rag.retrieval.embeddings import load_embedder

    return load_embedder(settings.embedding)


def _worker_start(
    settings: Settings, vocabulary: Any, make_encoder: Callable[[], PassageEncoder]
) -> None:
    _WORKER.update(
        settings=settings,
        vocabulary=vocabulary,
        embedder=make_encoder(),
        pool=connect_pool(settings.index.store, 1),
    )


def _worker_add(raw: RawDocument, place: int) -> int:
    w = _WORKER
    return _add_document(raw, place, w["settings"], w["embedder"], w["vocabulary"], w["pool"])


def _vectors(pool: Any, embedder: PassageEncoder, chunks: list[Chunk]) -> np.ndarray:
    """Passage vectors: stored ones for unchanged passages (same id, same text), the
    rest embedded."""
    with connection(pool) as conn:
        rows = conn.execute(
            "select chunk_id, embedding from rag_passages where chunk_id = any(%s)",
            ([c.chunk_id for c in chunks],),
            binary=True,
        ).fetchall()
    known = {cid: v.to_numpy() for cid, v in rows}
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    todo = [i for i, c in enumerate(chunks) if c.chunk_id not in known]
    for i, chunk in enumerate(chunks):
        if chunk.chunk_id in known:
            vectors[i] = known[chunk.chunk_id]
    if todo:
        vectors[todo] = embedder.encode_passages([chunks[i].search_text for i in todo])
    return vectors


def _store_term_vectors(pool: Any, embedder: PassageEncoder, counts: dict[str, int]) -> None:
    """Embed the vocabulary words the store has no vector for yet."""
    terms = sorted(counts)
    with connection(pool) as conn:
        rows = conn.execute(
            "select term from rag_term_vectors where term = any(%s)", (terms,)
        ).fetchall()
    new = sorted(set(terms) - {r[0] for r in rows})
    if not new:
        return
    vectors = embedder.encode_passages(new)
    with connection(pool) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into rag_term_vectors values (%s, %b) on conflict do nothing",  # %b: binary
            list(zip(new, np.asarray(vectors, dtype=np.float32), strict=True)),
        )


def write_document(
    pool: Any,
    raw: RawDocument,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    *,
    place: int | None = None,
    counts: dict[str, int] | None = None,
) -> None:
    """Replace one document's passages, postings and vocabulary in one transaction
    (a new document goes at `place` in the index's order, or last; `counts`: its
    vocabulary, if already counted)."""
    if counts is None:
        counts = content_word_counts([c.text for c in chunks])
    tokens = [Counter(passage_terms(c.search_text)) for c in chunks]
    lengths = [max(sum(t.values()), 1) for t in tokens]
    meta = {**describe(raw.text, raw.name), "described": True}
    with connection(pool) as conn, conn.transaction():
        old = conn.execute(
            "select content_hash, meta from rag_documents where doc_id = %s for update",
            (raw.doc_id,),
        ).fetchone()
        if old is not None and old[1] and old[0] == raw.content_hash:
            edited = old[1].get("edited") or []  # an admin's edits of the same text stay
            meta.update({field: old[1][field] for field in edited}, edited=edited)
        conn.execute(
            "insert into rag_documents (doc_id, name, source, content_hash, chunks, meta, seq) "
            "values (%s, %s, %s, %s, %s, %s::jsonb, coalesce(%s, nextval(pg_get_serial_sequence("
            "'rag_documents', 'seq')))) on conflict (doc_id) do update set name = "
            "excluded.name, source = excluded.source, content_hash = excluded.content_hash, "
            "chunks = excluded.chunks, meta = excluded.meta",
            (
                raw.doc_id,
                raw.name,
                raw.source,
                raw.content_hash,
                len(chunks),
                json.dumps(meta),
                place,
            ),
        )
        old_passages, old_tokens, df = _delete_passages(conn, raw.doc_id)
        ids = [
            r[0]
            for r in conn.execute(
                "select nextval('rag_passage_ids') from generate_series(1, %s)", (len(chunks),)
            )
        ]
        passages, total = conn.execute("select passages, tokens from rag_meta").fetchone()
        avgdl = (total - old_tokens + sum(lengths)) / max(passages - old_passages + len(chunks), 1)
        _copy_passages(conn, raw.doc_id, ids, chunks, lengths, vectors)
        _copy_postings(conn, ids, tokens, lengths, avgdl, df)
        write_blocks(conn, raw.doc_id, ids)
        _copy_rows(
            conn,
            "rag_doc_terms (doc_id, term, count)",
            (f"{_text(raw.doc_id)}\t{_text(term)}\t{count}\n" for term, count in counts.items()),
        )
        store_tables(conn, raw.doc_id, ids[0] if ids else 0, chunks)  # the retriever's tables
        _add_stats(conn, df, len(chunks) - old_passages, sum(lengths) - old_tokens, avgdl)


COPY_BATCH = 50_000  # rows per COPY write: large enough to be cheap, bounded in memory
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    """A value in COPY's text format (backslash, tab and line breaks escaped)."""
    return value.translate(_COPY_ESCAPES)


def _copy_rows(conn: Any, target: str, lines: Iterable[str]) -> None:
    """COPY preformatted text lines into `target` ('table (columns)'), in batches: one
    string per batch instead of one Python call per row and value."""
    with conn.cursor() as cur, cur.copy(f"copy {target} from stdin") as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= COPY_BATCH:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def _copy_passages(
    conn: Any,
    doc_id: str,
    ids: Sequence[int],
    chunks: Sequence[Chunk],
    lengths: Sequence[int],
    vectors: np.ndarray,
) -> None:
    """COPY the passages in binary: a vector goes as 4 bytes a value, not as text (which
    pgvector's text dumper formats float by float: a third of the write time)."""
    from psycopg.types.json import Jsonb

    rows = np.asarray(vectors, dtype=np.float32)
    with (
        conn.cursor() as cur,
        cur.copy(
            "copy rag_passages (id, doc_id, ord, chunk_id, chunk, n_tokens, embedding) "
            "from stdin (format binary)"
        ) as copy,
    ):
        copy.set_types(["int8", "text", "int4", "text", "jsonb", "int4", "vector"])
        for n, (pid, chunk) in enumerate(zip(ids, chunks, strict=True)):
            as_json = Jsonb(chunk.model_dump_json(), dumps=_as_is)
            copy.write_row((pid, doc_id, n, chunk.chunk_id, as_json, lengths[n], rows[n]))


def _as_is(text: Any) -> str:
    return str(text)


def _copy_postings(
    conn: Any,
    ids: Sequence[int],
    tokens: Sequence[Counter[str]],
    lengths: Sequence[int],
    avgdl: float,
    df: dict[str, int],
) -> None:
    """COPY one posting per (term, passage) with its BM25 impact; count each term's new
    passages into `df`. A line is three ready pieces: the term, the passage id, and the
    (tf, length, impact) tail, formatted once per distinct tf of the passage."""
    escaped: dict[str, str] = {}
    added: Counter[str] = Counter()

    def lines() -> Iterator[str]:
        for pid, counts, length in zip(ids, tokens, lengths, strict=True):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * length / avgdl)
            tails = {tf: f"{tf}\t{length}\t{tf / (tf + norm)!r}\n" for tf in set(counts.values())}
            middle = f"\t{pid}\t"
            for term, tf in counts.items():
                name = escaped.get(term) or escaped.setdefault(term, _text(term))
                yield name + middle + tails[tf]
            added.update(counts.keys())

    _copy_rows(conn, "rag_postings (term, passage_id, tf, dl, impact)", lines())
    for term, count in added.items():
        df[term] = df.get(term, 0) + count


def set_document_metadata(pool: Any, entry: DocumentEntry) -> None:
    """Store one document's metadata (an admin's edit) and bump the generation, so
    every worker sees it."""
    meta = entry.model_dump(include={*FIELDS, "described", "edited"})
    with connection(pool) as conn, conn.transaction():
        conn.execute(
            "update rag_documents set meta = %s::jsonb where doc_id = %s",
            (json.dumps(meta), entry.doc_id),
        )
        conn.execute("update rag_meta set generation = generation + 1")


def remove_document(pool: Any, doc_id: str) -> None:
    """Drop one document (passages, postings, vocabulary) in one transaction."""
    with connection(pool) as conn, conn.transaction():
        passages, tokens, df = _delete_passages(conn, doc_id)
        conn.execute("delete from rag_documents where doc_id = %s", (doc_id,))
        _add_stats(conn, df, -passages, -tokens)


def _delete_passages(conn: Any, doc_id: str) -> tuple[int, int, dict[str, int]]:
    """Delete a document's passages and postings; (passages, tokens, -df per term)."""
    old = conn.execute(
        "select id, n_tokens from rag_passages where doc_id = %s for update", (doc_id,)
    ).fetchall()
    ids = [r[0] for r in old]
    df: dict[str, int] = {}
    if ids:
        deleted = conn.execute(
            "delete from rag_postings where passage_id = any(%s) returning term", (ids,)
        ).fetchall()
        for (term,) in deleted:  # one row per (term, passage): df falls by one
            df[term] = df.get(term, 0) - 1
    conn.execute("delete from rag_passages where doc_id = %s", (doc_id,))
    conn.execute("delete from rag_doc_terms where doc_id = %s", (doc_id,))
    conn.execute("delete from rag_term_blocks where doc_id = %s", (doc_id,))
    return len(ids), sum(r[1] for r in old), df


def _add_stats(
    conn: Any, df: dict[str, int], passages: int, tokens: int, avgdl: float | None = None
) -> None:
    """Apply document-frequency and total changes, then bump the generation (last, so
    the one shared row is locked only until commit); `avgdl`: the average length the
    new postings' impacts were computed with (kept if the smallest yet)."""
    changed = sorted(t for t, d in df.items() if d)
    if changed:
        conn.execute(
            "insert into rag_term_stats (term, df) select * from unnest(%s::text[], %s::bigint[]) "
            "on conflict (term) do update set df = rag_term_stats.df + excluded.df",
            (changed, [df[t] for t in changed]),
        )
    conn.execute(
        "update rag_meta set generation = generation + 1, passages = passages + %s, "
        "tokens = tokens + %s, avgdl_low = least(avgdl_low, %s)",
        (passages, tokens, avgdl),
    )


def ensure_hnsw(pool: Any, settings: Settings) -> None:
    """Build the HNSW index once the store reaches the approximate threshold (as the
    folder store switches to FAISS HNSW); below it, dense search scans exactly."""
    kind = settings.index.faiss_type
    with connection(pool) as conn:
        size = conn.execute("select passages from rag_meta").fetchone()[0]
        if kind == "flat" or (kind == "auto" and size < settings.index.approximate_above):
            return
        megabytes = min(hnsw_build_mb(size, _dimension(conn)), settings.index.pg_build_memory_mb)
        conn.execute(f"set maintenance_work_mem = '{megabytes}MB'")
        conn.execute(
            "create index if not exists rag_passages_hnsw on rag_passages using hnsw "
            f"(embedding vector_ip_ops) with (m = {HNSW_M}, ef_construction = "
            f"{HNSW_EF_CONSTRUCTION})"
        )


def hnsw_build_mb(passages: int, dimension: int) -> int:
    """maintenance_work_mem that holds an HNSW graph of `passages` vectors in memory:
    each element keeps its vector, two layer-0 neighbour lists of (pointer, distance)
    and pgvector's bookkeeping; a fifth more as margin."""
    element = 4 * dimension + 2 * HNSW_M * 16 + 200
    return max(64, int(passages * element * 1.2 / 2**20) + 64)


def _dimension(conn: Any) -> int:
    row = conn.execute("select (manifest->>'dimension')::int from rag_meta").fetchone()
    return int(row[0])
