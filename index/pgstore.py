"""The server store: the index in PostgreSQL + pgvector, behind the same `SearchIndex`
protocol as the folder store, so retrieval (concept search, fusion, MMR, footnote links)
runs the same code over either.

What stays in the database: the vectors (dense search with `<#>`, exact below
`index.approximate_above` passages, HNSW from there, as the folder store switches FAISS
types), the lexical index (BM25 computed in SQL from posting and document-frequency
tables, with the same tokens and formula as `index.lexical`), and every write. What the
app process keeps: a snapshot of the passages' metadata (the retriever needs it for
footnotes, sections and document parts) and the vocabulary vectors for concept
alignment; passage vectors are fetched per query for MMR only.

A snapshot is read in one repeatable-read transaction, so it never holds half a
document. Every write bumps `rag_meta.generation`; `reload_if_changed()` notices that
with one cheap query, which is how a worker sees documents another worker added. With
`index.replicas`, searches read from streaming replicas that have this snapshot
(`index.pg_replicas`); snapshots and writes stay on the primary.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from index.metadata import described
from index.pg_replicas import router_for
from index.pg_schema import migrate
from index.pg_topk import top_k
from index.store import (
    FORMAT_VERSION,
    DocumentEntry,
    IndexStore,
    Manifest,
    check_compatible,
    scope_view,
)
from rag.errors import ConfigError, IndexMissingError, StoreUnavailableError
from rag.language.text import query_terms
from rag.settings import IndexSettings, Settings
from rag.types import Chunk

BM25_K1, BM25_B = 1.5, 0.75  # bm25s defaults ("lucene" variant), as the folder store uses
HNSW_EF_SEARCH = 128  # as the folder store's FAISS HNSW (efSearch)
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 80
VOCABULARY_LIMIT = 50_000  # index.lexical.vocabulary_terms' limit
RECENT_VECTORS = 4_096  # passage vectors kept from the last searches (8 MB at 512-d)
# Threads that run a lexical search's other term groups (see pg_lexical_connections).
_READERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pg-lexical")

_POSTINGS_SQL = """
select q.concept, st.df::float8, m.passages::float8, m.tokens::float8 / greatest(m.passages, 1),
       p.ids, p.tfs, p.dls
from unnest(%(concepts)s::int[], %(terms)s::text[]) as q(concept, term)
join rag_term_stats st on st.term = q.term and st.df > 0
cross join rag_meta m
cross join lateral (
    select string_agg(int8send(passage_id), '') as ids, string_agg(int4send(tf), '') as tfs,
           string_agg(int4send(dl), '') as dls
    from (select passage_id, tf, dl from rag_postings where term = q.term {scope}
          order by impact desc limit %(depth)s) best) p
"""
# A scope: only postings of the scoped documents' passages compete (BM25's statistics
# stay the whole index's, as in the folder store).
_SCOPE_SQL = "and passage_id in (select id from rag_passages where doc_id = any(%(documents)s))"


def is_server_url(store: str) -> bool:
    return store.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


# A dead or unreachable server fails a request within seconds instead of the drivers'
# defaults (no connect timeout; 30 s waiting for a pooled connection): the API answers
# 503 and the pool reconnects by itself once the server is back.
CONNECT_TIMEOUT_S = 3
POOL_WAIT_S = 3.0


@contextlib.contextmanager
def connection(pool: Any) -> Iterator[Any]:
    """A pooled connection; a lost or unreachable server becomes `StoreUnavailableError`
    (one line saying what happened and what to do) instead of a driver error."""
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        with pool.connection() as conn:
            yield conn
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise unavailable(exc) from None


def unavailable(exc: BaseException) -> StoreUnavailableError:
    """The user-facing error for a database that went away (or never answered)."""
    cause = " ".join(str(exc).split())[:160] or type(exc).__name__
    return StoreUnavailableError(
        f"The database connection was lost ({cause}). Check that PostgreSQL is running, "
        "then run the same command again to resume (the API answers again by itself)."
    )


def lost_connection(exc: BaseException) -> bool:
    """Is `exc` the driver's way of saying the server is gone (not a bad query)?"""
    try:
        import psycopg
        from psycopg_pool import PoolTimeout
    except ImportError:
        return False
    return isinstance(exc, (psycopg.OperationalError, PoolTimeout))


def connect_pool(url: str, max_size: int = 8) -> Any:
    """A connection pool with pgvector's types registered (migrating the schema first)."""
    try:
        import pgvector.psycopg  # noqa: F401 - configure_connection needs it
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError:
        raise ConfigError(
            "The PostgreSQL store needs psycopg, psycopg-pool and pgvector: "
            "pip install 'kamerbrief-rag[postgres]'."
        ) from None
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            migrate(conn)
    except psycopg.OperationalError as exc:
        raise ConfigError(
            f"Cannot reach the index database at {redacted(url)} "
            f"({' '.join(str(exc).split())[:200]}). Check RAG_INDEX__STORE and that the "
            "server is running."
        ) from None
    except psycopg.Error as exc:  # e.g. no pgvector on the server, or no right to add it
        raise ConfigError(
            f"The database at {redacted(url)} cannot hold the index: "
            f"{' '.join(str(exc).split())[:200]}. It needs the pgvector extension "
            "(CREATE EXTENSION vector, by a user allowed to) and a user that may create tables."
        ) from None

    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        configure=configure_connection,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
        timeout=POOL_WAIT_S,
    )
    try:
        pool.wait(timeout=POOL_WAIT_S * 3)
    except PoolTimeout as exc:
        pool.close()
        raise unavailable(exc) from None
    return pool


def configure_connection(conn: Any) -> None:
    """A new pooled connection: pgvector's types, HNSW's search breadth."""
    from pgvector.psycopg import register_vector

    register_vector(conn)
    conn.execute(f"set hnsw.ef_search = {HNSW_EF_SEARCH}")
    conn.commit()


class RecentVectors:
    """The last `limit` passage vectors fetched (by database id), shared by threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._vectors: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, vectors: dict[int, np.ndarray]) -> None:
        with self._lock:
            for key, vector in vectors.items():
                self._vectors[key] = vector
                self._vectors.move_to_end(key)
            while len(self._vectors) > self.limit:
                self._vectors.popitem(last=False)

    def get(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        with self._lock:
            return {i: self._vectors[i] for i in ids if i in self._vectors}


class PassageVectors:
    """`store.vectors` without holding them: rows by position, fetched when indexed."""

    def __init__(self, store: PgStore) -> None:
        self._store = store
        self.shape = (len(store.ids), store.manifest.dimension)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, positions: Any) -> np.ndarray:
        wanted = [int(p) for p in np.atleast_1d(np.arange(self.shape[0])[positions])]
        found = self._store.fetch_vectors([self._store.ids[p] for p in wanted])
        out = np.zeros((len(wanted), self.shape[1]), dtype=np.float32)
        for row, position in enumerate(wanted):
            vector = found.get(self._store.ids[position])
            if vector is not None:
                out[row] = vector
        return out if np.ndim(positions) else out[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self[list(range(self.shape[0]))].astype(dtype or np.float32)


class PgStore:
    """A snapshot of the PostgreSQL index, searchable through the database."""

    def __init__(self, url: str, pool: Any, index_settings: IndexSettings) -> None:
        self.url = url
        self.pool = pool
        self.index_settings = index_settings
        self.router = router_for(pool, index_settings, configure_connection, redacted)
        self._load()

    @classmethod
    def open(cls, url: str, settings: Settings | None = None, *, pool: Any = None) -> PgStore:
        """Connect (migrating the schema) and read a snapshot; with `settings`, fail if
        the stored manifest was built with other ones."""
        index_settings = settings.index if settings else IndexSettings()
        own = pool or connect_pool(url, index_settings.pool_size)
        try:
            store = cls(url, own, index_settings)
            if settings is not None:
                check_compatible(store.manifest, settings, redacted(url))
        except BaseException:
            if pool is None:
                own.close()
            raise
        return store

    def _load(self) -> None:
        with connection(self.pool) as conn, conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")
            meta = conn.execute("select manifest, generation, passages from rag_meta").fetchone()
            if meta is None:
                raise IndexMissingError(
                    f"No index in the database at {redacted(self.url)}. Build one first: "
                    "rag index build (no path indexes the bundled letter)."
                )
            documents = conn.execute(
                "select doc_id, name, source, content_hash, chunks, meta from rag_documents "
                "order by seq"
            ).fetchall()
            rows = conn.execute(
                "select p.id, p.chunk::text from rag_passages p join rag_documents d "
                "using (doc_id) order by d.seq, p.ord"
            ).fetchall()
            terms = conn.execute(
                "select t.term, v.embedding from (select term, sum(count) as n from "
                "rag_doc_terms group by term order by n desc, term limit %s) t "
                "join rag_term_vectors v using (term) order by t.n desc, t.term",
                (VOCABULARY_LIMIT,),
                binary=True,
            ).fetchall()
            hnsw = conn.execute("select to_regclass('rag_passages_hnsw') is not null").fetchone()
            if self.router is not None:  # replicas serve this snapshot once replayed to here
                self.router.sync(conn)
        self.generation = int(meta[1])
        self.ids: list[int] = [int(r[0]) for r in rows]
        self.chunks = [Chunk.model_validate_json(r[1]) for r in rows]
        self.position = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self._position_of_id = {pid: i for i, pid in enumerate(self.ids)}
        self.approximate = bool(hnsw and hnsw[0]) and self._wants_hnsw(len(self.ids))
        self.manifest = Manifest(
            **meta[0],
            faiss_type="hnsw" if self.approximate else "flat",
            documents=described([_entry(d) for d in documents], self.chunks),
            chunk_count=len(self.chunks),
        )
        self.terms = [str(t[0]) for t in terms]
        dim = self.manifest.dimension
        self.term_vectors = (
            np.stack([t[1].to_numpy() for t in terms]).astype(np.float32)
            if terms
            else np.zeros((0, dim), dtype=np.float32)
        )
        self.vectors = PassageVectors(self)
        self._recent = RecentVectors(RECENT_VECTORS)

    def _wants_hnsw(self, size: int) -> bool:
        kind = self.index_settings.faiss_type
        return kind == "hnsw" or (kind == "auto" and size >= self.index_settings.approximate_above)

    def reload_if_changed(self) -> PgStore | None:
        """A fresh snapshot if another writer committed since this one was read."""
        with connection(self.pool) as conn:
            row = conn.execute("select generation from rag_meta").fetchone()
        if row is None or int(row[0]) == self.generation:
            return None
        return PgStore(self.url, self.pool, self.index_settings)

    def disk_bytes(self) -> int:
        """Bytes the store's tables and indexes take in the database."""
        with connection(self.pool) as conn:
            row = conn.execute(
                "select coalesce(sum(pg_total_relation_size(oid)), 0) from pg_class "
                "where relkind = 'r' and relname like 'rag\\_%'"
            ).fetchone()
        return int(row[0])

    # ---- the SearchIndex protocol --------------------------------------------------------

    def chunk(self, chunk_id: str) -> Chunk | None:
        position = self.position.get(chunk_id)
        return None if position is None else self.chunks[position]

    def dense_search(
        self, query: np.ndarray, k: int, *, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """(position, inner product) of the `k` nearest passages; exact below the
        approximate threshold (a sequential scan), HNSW above it. With `documents`,
        the nearest of those documents' passages, always exact (HNSW would filter its
        own short candidate list)."""
        if not self.ids:
            return []

        def work(conn: Any) -> list[Any]:
            with conn.transaction():
                if documents is None:
                    return list(self._dense(conn, query, k, "").fetchall())
                return conn.execute(
                    "select id, -(embedding <#> %(q)s), embedding from rag_passages "
                    "where doc_id = any(%(documents)s) order by embedding <#> %(q)s limit %(k)s",
                    {
                        "q": np.asarray(query, dtype=np.float32).reshape(-1),
                        "k": k,
                        "documents": list(documents),
                    },
                    binary=True,
                ).fetchall()

        rows = self._read(work)
        # The vectors came with the rows (their heap pages were read anyway): MMR needs
        # them next, so it does not fetch them again.
        self._recent.put({int(r[0]): r[2].to_numpy() for r in rows})
        return self._positions([(r[0], r[1]) for r in rows])

    def dense_plan(self, query: np.ndarray, k: int = 10) -> str:
        """PostgreSQL's plan for `dense_search` (an HNSW index scan, or a sequential one)."""
        with connection(self.pool) as conn, conn.transaction():
            return "\n".join(r[0] for r in self._dense(conn, query, k, "explain ").fetchall())

    def _dense(self, conn: Any, query: np.ndarray, k: int, prefix: str) -> Any:
        # Exact below the threshold, HNSW from it: whatever the planner would prefer.
        conn.execute(
            f"set local {'enable_seqscan' if self.approximate else 'enable_indexscan'} = off"
        )
        return conn.execute(
            prefix + "select id, -(embedding <#> %(q)s), embedding from rag_passages "
            "order by embedding <#> %(q)s limit %(k)s",
            {"q": np.asarray(query, dtype=np.float32).reshape(-1), "k": k},
            binary=not prefix,
        )

    def lexical_search(
        self, query: str, k: int, *, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """(position, BM25 score) of the best `k` passages with a positive score."""
        concepts = [[token] for token in query_terms(query)]
        return self.concept_search(concepts, k, stem=False, documents=documents)

    def concept_search(
        self,
        concepts: Sequence[Sequence[str]],
        k: int,
        *,
        stem: bool = True,
        documents: Collection[str] | None = None,
    ) -> list[tuple[int, float]]:
        """BM25 over groups of interchangeable words: a passage scores its best word's
        score per concept, summed over concepts (as `LexicalIndex.concept_search`).
        With `pg_lexical_method` "maxscore" (unscoped): exhaustive BM25's top `k`,
        reading postings only until nothing unread can enter it (`index.pg_topk`).
        Otherwise (and within `documents`) each term contributes its `pg_lexical_depth`
        highest-impact postings (all of them for any term rarer than that), scored
        exactly."""
        numbers: list[int] = []
        terms: list[str] = []
        for n, concept in enumerate(concepts):
            tokens = [t for word in concept for t in (query_terms(word) if stem else [word])]
            for token in dict.fromkeys(tokens):
                numbers.append(n)
                terms.append(token)
        if not terms or not self.ids:
            return []
        parts = min(self.index_settings.pg_lexical_connections, len(terms))
        if documents is None and self.index_settings.pg_lexical_method == "maxscore":
            first = self.index_settings.pg_lexical_chunk
            found = top_k(self._read_sets, numbers, terms, k, first=first, parts=parts)
            return [(p, s) for p, s in self._positions(found) if s > 0]
        sql = _POSTINGS_SQL.replace("{scope}", "" if documents is None else _SCOPE_SQL)
        shared = {"depth": self.index_settings.pg_lexical_depth, "documents": list(documents or ())}

        def read(part: int) -> list[Any]:
            group = {"concepts": numbers[part::parts], "terms": terms[part::parts], **shared}
            return self._read(lambda conn: conn.execute(sql, group).fetchall())

        others = [_READERS.submit(read, part) for part in range(1, parts)]
        rows = read(0) + [row for other in others for row in other.result()]
        return [(p, s) for p, s in self._positions(bm25_top(rows, k)) if s > 0]

    def _read_sets(self, sql: str, params: list[dict[str, Any]]) -> list[Any]:
        """`sql` run once per parameter set, each on its own connection at once (a
        replica's when there is one, as `_read`); all rows."""

        def one(values: dict[str, Any]) -> list[Any]:
            return self._read(lambda conn: conn.execute(sql, values).fetchall())

        others = [_READERS.submit(one, values) for values in params[1:]]
        return one(params[0]) + [row for other in others for row in other.result()]

    def view(self, documents: Collection[str], limit: int) -> IndexStore | None:
        """The scope `documents` as an in-memory index of its own (`scope_view`)."""
        return scope_view(self, documents, limit)

    def fetch_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Passage vectors by database id: the recent searches' from memory, the rest
        from the server."""
        found = self._recent.get(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            rows = self._read(
                lambda conn: conn.execute(
                    "select id, embedding from rag_passages where id = any(%s)",
                    (missing,),
                    binary=True,
                ).fetchall()
            )
            fetched = {int(i): v.to_numpy() for i, v in rows}
            self._recent.put(fetched)
            found.update(fetched)
        return found

    def _read(self, work: Callable[[Any], Any]) -> Any:
        """`work(conn)` on a read replica that has this snapshot (the primary without)."""
        if self.router is not None:
            return self.router.run(work, self._on_primary)
        return self._on_primary(work)

    def _on_primary(self, work: Callable[[Any], Any]) -> Any:
        with connection(self.pool) as conn:
            return work(conn)

    def _positions(self, rows: Sequence[tuple[Any, Any]]) -> list[tuple[int, float]]:
        """Database ids → positions in this snapshot (passages newer than it are skipped)."""
        found = ((self._position_of_id.get(int(i)), float(s)) for i, s in rows)
        return [(p, s) for p, s in found if p is not None]


def bm25_top(rows: Sequence[Sequence[Any]], k: int) -> list[tuple[int, float]]:
    """(passage id, score) of the best `k` from each query term's postings rows
    (concept, df, passages, avgdl, then ids, tfs and dls as big-endian int8/int4 bytes:
    read as arrays at once, not as Python ints): BM25 with bm25s's "lucene" idf, a
    passage's best term per concept, summed over concepts; ties by passage id."""
    rows = [r for r in rows if r[4]]
    if not rows:
        return []
    ids = np.concatenate([np.frombuffer(r[4], dtype=">i8") for r in rows])
    passages, where = np.unique(ids, return_inverse=True)
    best = {c: np.zeros(len(passages)) for c in {int(r[0]) for r in rows}}
    start = 0
    for concept, df, n, avgdl, _, tfs, dls in rows:
        tf = np.frombuffer(tfs, dtype=">i4").astype(np.float64)
        dl = np.frombuffer(dls, dtype=">i4").astype(np.float64)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        score = idf * tf / (tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl))
        at = where[start : start + len(tf)]  # one posting per passage and term
        best[concept][at] = np.maximum(best[concept][at], score)
        start += len(tf)
    total = np.sum(list(best.values()), axis=0)
    order = np.lexsort((passages, -total))[:k]
    return [(int(passages[i]), float(total[i])) for i in order]


_DOC_FIELDS = ("doc_id", "name", "source", "content_hash", "chunks")


def _entry(row: Sequence[Any]) -> DocumentEntry:
    """A `rag_documents` row as a manifest entry (meta null: not described yet)."""
    fields = dict(zip(_DOC_FIELDS, row[:5], strict=True))
    return DocumentEntry(**fields, **(row[5] or {}))


def manifest_fields(settings: Settings, model_id: str, dimension: int, built_at: str) -> dict:
    """What `rag_meta.manifest` holds: the settings-dependent part of the `Manifest`."""
    from index.store import embedding_fingerprint

    return {
        "format_version": FORMAT_VERSION,
        "embedding_model": model_id,
        "embedding_fingerprint": embedding_fingerprint(settings),
        "dimension": dimension,
        "chunking": settings.chunking.model_dump(),
        "built_at": built_at,
    }
