"""The server store: the index in PostgreSQL + pgvector, behind the same `SearchIndex`
protocol as the folder store, so retrieval (concept search, fusion, MMR, footnote links)
runs the same code over either.

What stays in the database: the vectors (dense search with `<#>`, exact below
`index.approximate_above` passages, HNSW from there, as the folder store switches FAISS
types), the lexical index (BM25 computed in SQL from posting and document-frequency
tables, with the same tokens and formula as `index.lexical`), every write, and the
passages themselves. What the app process keeps: per document its passages' database
ids and its retriever tables (`index.pg_snapshot`), the vocabulary vectors for concept
alignment, and a bounded cache of the passages its searches returned (`index.pg_cache`;
the search queries bring the passage JSON with the hits). Passage vectors are fetched
per query for MMR only.

A snapshot is read in one repeatable-read transaction, so it never holds half a
document. Every write of a document bumps its change counter (`rag_doc_versions`);
`reload_if_changed()` asks for counters newer than its own with one indexed query, and
re-reads only those documents, which is how a worker sees documents another worker
added. With
`index.replicas`, searches read from streaming replicas that have this snapshot
(`index.pg_replicas`); snapshots, writes and the passages' text stay on the primary.
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

from index.pg_cache import LazyChunks, PassageCache
from index.pg_corpus import corpus_tables, lower_case_words
from index.pg_replicas import router_for
from index.pg_schema import migrate
from index.pg_snapshot import Layout, changed_since, doc_state, read_documents
from index.pg_topk import BM25_B, BM25_K1, top_k  # bm25s defaults, as the folder store
from index.store import (
    FORMAT_VERSION,
    IndexStore,
    Manifest,
    check_compatible,
    scope_view,
)
from rag.errors import ConfigError, IndexMissingError, StoreUnavailableError
from rag.language.text import query_terms
from rag.retrieval.corpus_tables import CorpusTables
from rag.settings import IndexSettings, Settings
from rag.types import Chunk

HNSW_EF_SEARCH = 128  # as the folder store's FAISS HNSW (efSearch)
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 80
VOCABULARY_LIMIT = 50_000  # index.lexical.vocabulary_terms' limit
# Lexical hits whose passages come back with them: the retriever asks for fetch_k (30)
# per side; a caller asking for far more (an exhaustive ranking) reads passages itself.
PREFETCH_HITS = 64
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
        found = self._store.fetch_vectors([int(self._store.ids[p]) for p in wanted])
        out = np.zeros((len(wanted), self.shape[1]), dtype=np.float32)
        for row, position in enumerate(wanted):
            vector = found.get(int(self._store.ids[position]))
            if vector is not None:
                out[row] = vector
        return out if np.ndim(positions) else out[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self[list(range(self.shape[0]))].astype(dtype or np.float32)


class Positions:
    """`store.position[chunk_id]` without a table of every passage: one indexed query."""

    def __init__(self, store: PgStore) -> None:
        self._store = store

    def get(self, chunk_id: str, default: int | None = None) -> int | None:
        row = self._store.passage_row(chunk_id)
        return default if row is None else row[0]

    def __getitem__(self, chunk_id: str) -> int:
        found = self.get(chunk_id)
        if found is None:
            raise KeyError(chunk_id)
        return found

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, str) and self.get(chunk_id) is not None


class PgStore:
    """A snapshot of the PostgreSQL index, searchable through the database."""

    version: int  # the newest per-document change counter this snapshot covers
    cache: PassageCache
    layout: Layout
    ids: np.ndarray
    chunks: LazyChunks
    manifest: Manifest
    terms: list[str]
    term_vectors: np.ndarray
    _recent: RecentVectors

    def __init__(
        self, url: str, pool: Any, index_settings: IndexSettings, previous: PgStore | None = None
    ) -> None:
        self.url = url
        self.pool = pool
        self.index_settings = index_settings
        self.router = router_for(pool, index_settings, configure_connection, redacted)
        self._load(previous)

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

    def _load(self, previous: PgStore | None) -> None:
        """Read the documents (all, or with `previous` only those changed since it) and
        the vocabulary in one repeatable-read transaction; no passage text."""
        with connection(self.pool) as conn, conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")
            meta = conn.execute("select manifest from rag_meta").fetchone()
            if meta is None:
                raise IndexMissingError(
                    f"No index in the database at {redacted(self.url)}. Build one first: "
                    "rag index build (no path indexes the bundled letter)."
                )
            since = previous.version if previous is not None else None
            self.version, wanted, rows = read_documents(conn, since)
            self._read_vocabulary(conn, previous)
            hnsw = conn.execute("select to_regclass('rag_passages_hnsw') is not null").fetchone()
            if self.router is not None:  # replicas serve this snapshot once replayed to here
                self.router.sync(conn)
        self.cache = (
            previous.cache if previous else PassageCache(self.index_settings.pg_passage_cache)
        )
        changed = {
            doc: doc_state(*rows[doc], self.pool, self._read_chunks) if doc in rows else None
            for doc in wanted
        }
        if previous is None:
            self.layout = Layout({k: v for k, v in changed.items() if v is not None})
        else:
            for doc in changed:  # their passages have new ids now: free the room
                old = previous.layout.docs.get(doc)
                if old is not None:
                    self.cache.drop(old.ids)
            self.layout = previous.layout.replaced(changed)
        self.ids = self.layout.ids
        self.chunks = LazyChunks(self.ids, self.cache, self._read_chunks)
        self.approximate = bool(hnsw and hnsw[0]) and self._wants_hnsw(len(self.ids))
        self.manifest = Manifest(
            **meta[0],
            faiss_type="hnsw" if self.approximate else "flat",
            documents=[d.entry for d in self.layout.docs.values()],
            chunk_count=len(self.ids),
        )
        self.vectors = PassageVectors(self)
        self.position = Positions(self)
        self._recent = previous._recent if previous else RecentVectors(RECENT_VECTORS)
        self._tables: CorpusTables | None = None

    def _read_vocabulary(self, conn: Any, previous: PgStore | None) -> None:
        """The most frequent `VOCABULARY_LIMIT` words with their vectors; with
        `previous`, only the vectors of words it did not hold are read."""
        rows = conn.execute(
            "select t.term from (select term, sum(count) as n from rag_doc_terms group by "
            "term order by n desc, term limit %s) t join rag_term_vectors v using (term) "
            "order by t.n desc, t.term",
            (VOCABULARY_LIMIT,),
        ).fetchall()
        terms = [str(r[0]) for r in rows]
        if previous is not None and terms == previous.terms:
            self.terms, self.term_vectors = previous.terms, previous.term_vectors
            return
        held = {t: i for i, t in enumerate(previous.terms)} if previous is not None else {}
        missing = [t for t in terms if t not in held]
        fetched = {
            str(t): v.to_numpy()
            for t, v in conn.execute(
                "select term, embedding from rag_term_vectors where term = any(%s)",
                (missing,),
                binary=True,
            ).fetchall()
        }
        self.terms = terms
        self.term_vectors = (
            np.stack(
                [
                    previous.term_vectors[held[t]] if previous and t in held else fetched[t]
                    for t in terms
                ]
            ).astype(np.float32)
            if terms
            else np.zeros((0, self._dimension(conn)), dtype=np.float32)
        )

    @staticmethod
    def _dimension(conn: Any) -> int:
        row = conn.execute("select (manifest->>'dimension')::int from rag_meta").fetchone()
        return int(row[0]) if row and row[0] else 0

    def _fetch_chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """Passages by database id, from the server (those still stored)."""
        with connection(self.pool) as conn:
            rows = conn.execute(
                "select id, chunk::text from rag_passages where id = any(%s)",
                ([int(i) for i in ids],),
            ).fetchall()
        return {int(i): Chunk.model_validate_json(text) for i, text in rows}

    def _read_chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """Passages by database id, from the server. A passage gone since this snapshot
        (its document rewritten meanwhile) fails the question with a one-line error."""
        found = self._fetch_chunks(ids)
        if len(found) < len(set(ids)):
            raise StoreUnavailableError(
                "A document changed while this question was answered; ask again."
            )
        return found

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """One document's passages in order, read from the server (not cached)."""
        state = self.layout.docs.get(doc_id)
        if state is None or not len(state.ids):
            return []
        found = self._read_chunks([int(i) for i in state.ids])
        return [found[int(i)] for i in state.ids]

    def _prefetch(self, ids: Sequence[int]) -> None:
        """Put the passages of these database ids into the cache (those still stored)."""
        held = self.cache.get(ids)
        missing = [i for i in ids if i not in held]
        if missing:
            self.cache.put(self._fetch_chunks(missing))

    def corpus_tables(self) -> CorpusTables:
        """The retriever's whole-corpus tables, from the documents' stored tables."""
        if self._tables is None:
            docs = [
                (doc_id, int(self.layout.offsets[n]), state.tables)
                for n, (doc_id, state) in enumerate(self.layout.docs.items())
            ]
            candidates = sorted({w for _, _, t in docs for w in t["candidates"]})
            with connection(self.pool) as conn:
                lower = lower_case_words(conn, candidates)
            self._tables = corpus_tables(
                docs, set(candidates) - lower, self.layout.doc_of, self._section_positions
            )
        return self._tables

    def _section_positions(self, heading: str) -> list[int]:
        """Positions of the body passages under `heading`, in store order."""
        docs = [d for d, s in self.layout.docs.items() if heading in s.tables["headings"]]
        if not docs:
            return []
        with connection(self.pool) as conn:
            rows = conn.execute(
                "select doc_id, ord from rag_passages where doc_id = any(%s) and "
                "chunk->>'section' = %s and coalesce(chunk->>'kind', 'body') = 'body'",
                (docs, heading),
            ).fetchall()
        return sorted(self.layout.offset(d) + int(o) for d, o in rows)

    def _wants_hnsw(self, size: int) -> bool:
        kind = self.index_settings.faiss_type
        return kind == "hnsw" or (kind == "auto" and size >= self.index_settings.approximate_above)

    def reload_if_changed(self) -> PgStore | None:
        """A newer snapshot if another writer committed since this one was read: one
        indexed query when nothing changed; only the changed documents are read again."""
        with connection(self.pool) as conn:
            changed = changed_since(conn, self.version)
        if not changed:
            return None
        return PgStore(self.url, self.pool, self.index_settings, previous=self)

    def disk_bytes(self) -> int:
        """Bytes the store's tables and indexes take in the database."""
        with connection(self.pool) as conn:
            row = conn.execute(
                "select coalesce(sum(pg_total_relation_size(oid)), 0) from pg_class "
                "where relkind = 'r' and relname like 'rag\\_%'"
            ).fetchone()
        return int(row[0])

    # ---- the SearchIndex protocol --------------------------------------------------------

    def passage_row(self, chunk_id: str) -> tuple[int, int, str] | None:
        """(position, database id, passage JSON) of a passage in this snapshot, by its
        chunk id; None when it is not stored or newer than the snapshot."""
        with connection(self.pool) as conn:
            row = conn.execute(
                "select id, chunk::text from rag_passages where chunk_id = %s", (chunk_id,)
            ).fetchone()
        position = None if row is None else self.layout.positions([int(row[0])])[0]
        return None if position is None else (position, int(row[0]), row[1])

    def chunk(self, chunk_id: str) -> Chunk | None:
        row = self.passage_row(chunk_id)
        if row is None:
            return None
        chunk = Chunk.model_validate_json(row[2])
        self.cache.put({row[1]: chunk})
        return chunk

    def dense_search(
        self, query: np.ndarray, k: int, *, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """(position, inner product) of the `k` nearest passages; exact below the
        approximate threshold (a sequential scan), HNSW above it. With `documents`,
        the nearest of those documents' passages, always exact (HNSW would filter its
        own short candidate list)."""
        if not len(self.ids):
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
        # Their passages follow in one query by id: in the scan itself, an exact scan
        # turns every row's JSON into text before it sorts (dense p50 at 10,000
        # passages went from 28 to 102 ms in scripts/bench_store.py, a loaded machine).
        self._prefetch([int(r[0]) for r in rows[:PREFETCH_HITS]])
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
        if not terms or not len(self.ids):
            return []
        parts = min(self.index_settings.pg_lexical_connections, len(terms))
        if documents is None and self.index_settings.pg_lexical_method == "maxscore":
            first = self.index_settings.pg_lexical_chunk
            found = top_k(self._read_sets, numbers, terms, k, first=first, parts=parts)
            best = [(i, s) for i, s in found if s > 0]
            self._prefetch([i for i, _ in best[:PREFETCH_HITS]])  # the hits' text, one query
            return self._positions(best)
        sql = _POSTINGS_SQL.replace("{scope}", "" if documents is None else _SCOPE_SQL)
        shared = {"depth": self.index_settings.pg_lexical_depth, "documents": list(documents or ())}

        groups = [
            {"concepts": numbers[part::parts], "terms": terms[part::parts], **shared}
            for part in range(parts)
        ]
        rows = self._read_sets(sql, groups)
        top = [(i, s) for i, s in bm25_top(rows, k) if s > 0]
        self._prefetch([i for i, _ in top[:PREFETCH_HITS]])  # the hits' text, one query
        return self._positions(top)

    def _read_sets(self, sql: str, params: list[dict[str, Any]]) -> list[Any]:
        """`sql` run once per parameter set, each on its own connection at once (a
        replica's when there is one, as `_read`); all rows."""

        def one(values: dict[str, Any]) -> list[Any]:
            return self._read(lambda conn: conn.execute(sql, values).fetchall())

        others = [_READERS.submit(one, values) for values in params[1:]]
        return one(params[0]) + [row for other in others for row in other.result()]

    def view(self, documents: Collection[str], limit: int) -> IndexStore | None:
        """The scope `documents` as an in-memory index of its own (`scope_view`)."""
        positions = self.layout.positions_of(documents)
        return scope_view(self, documents, limit, positions=positions)

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
        places = self.layout.positions([int(i) for i, _ in rows])
        return [(p, float(s)) for p, (_, s) in zip(places, rows, strict=True) if p is not None]


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
