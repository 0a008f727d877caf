"""Early-terminating BM25 (index.pg_topk) against a real PostgreSQL (pgserver): on random
corpora and queries its top k is exhaustive BM25's (scores, and passages up to ties at
the cut-off), it reads fewer postings than there are, and where the old bounded-depth
read misses passages it does not."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from index.pg_topk import impact_bound
from index.pg_write import _prepare, remove_document, write_document
from index.pgstore import PgStore, connect_pool
from rag.settings import Settings
from rag.types import Chunk, RawDocument
from tests.conftest import new_database

pytestmark = pytest.mark.slow

WORDS = [f"w{n:02d}" for n in range(60)]


class RandomEncoder:
    model_id = "random-test"
    dim = 8


def passage(rng: random.Random, doc: str, n: int, mean: int) -> Chunk:
    """A passage of Zipf-distributed words; its length varies around `mean`."""
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    text = " ".join(rng.choices(WORDS, weights, k=max(1, int(rng.gauss(mean, mean / 3)))))
    return Chunk.of_text(f"{doc}:{n:05d}", doc, text)


def add(pool: Any, rng: random.Random, doc: str, passages: int, mean: int) -> None:
    chunks = [passage(rng, doc, n, mean) for n in range(passages)]
    digest = hashlib.sha256(doc.encode()).hexdigest()
    raw = RawDocument(doc_id=doc, name=doc, source=doc, content_hash=digest, text="")
    write_document(pool, raw, chunks, np.ones((passages, RandomEncoder.dim), np.float32))


@pytest.fixture(scope="module")
def random_store(pg_server: Any) -> Iterator[PgStore]:
    """Documents of different average lengths written one after another, the shortest
    first: stored impacts were computed with averages down to a fifth of today's, so
    the first document's short passages weigh more today than their stored impacts."""
    url = new_database(pg_server, "rag_topk_random")
    settings = Settings(index={"store": url})
    pool = connect_pool(url, 4)
    _prepare(pool, settings, RandomEncoder(), fresh=True)  # type: ignore[arg-type]
    rng = random.Random(7)
    for n, mean in enumerate([4, 30, 8, 40, 20, 12]):
        add(pool, rng, f"doc{n}", 150, mean)
    remove_document(pool, "doc3")  # today's average falls below some writes' again
    store = PgStore(url, pool, settings.index)
    yield store
    pool.close()


def variant(store: PgStore, **settings: object) -> PgStore:
    twin = PgStore.__new__(PgStore)
    twin.__dict__.update(store.__dict__)
    twin.index_settings = store.index_settings.model_copy(update=settings)
    return twin


def queries(count: int, seed: int) -> list[list[list[str]]]:
    rng = random.Random(seed)
    return [
        [rng.sample(WORDS, rng.randint(1, 3)) for _ in range(rng.randint(1, 6))]
        for _ in range(count)
    ]


def exhaustive(store: PgStore, concepts: list[list[str]]) -> list[tuple[int, float]]:
    every = variant(store, pg_lexical_method="depth", pg_lexical_depth=10**9)
    return every.concept_search(concepts, 10**6, stem=False)


def same_top(mine: list[tuple[int, float]], full: list[tuple[int, float]], k: int) -> None:
    """The same scores in order; the same passages above the k-th score (at it, ties)."""
    truth = full[:k]
    np.testing.assert_allclose([s for _, s in mine], [s for _, s in truth], rtol=1e-9)
    cut = truth[-1][1] * (1 + 1e-9)
    assert {p for p, s in mine if s > cut} == {p for p, s in truth if s > cut}
    scores = dict(full)
    assert all(scores[p] == pytest.approx(s, rel=1e-9) for p, s in mine)


@pytest.mark.parametrize("k", [1, 5, 30])
@pytest.mark.parametrize("chunk", [1, 7, 2_000])
def test_top_k_is_exhaustive_bm25s(random_store: PgStore, k: int, chunk: int) -> None:
    fast = variant(random_store, pg_lexical_chunk=chunk)
    for concepts in queries(25, seed=k * 1000 + chunk):
        full = exhaustive(random_store, concepts)
        same_top(fast.concept_search(concepts, k, stem=False), full, k)


def test_reads_less_than_every_posting(random_store: PgStore) -> None:
    """A query of a rare and two common words stops before reading the common words'
    whole lists."""
    read: list[int] = []
    fast = variant(random_store, pg_lexical_chunk=20)

    def counting(sql: str, params: list[dict[str, Any]]) -> list[Any]:
        rows = random_store._read_sets(sql, params)
        read.extend(int(r[4]) for r in rows if len(r) == 13 and r[4])  # a round's postings
        return rows

    fast._read_sets = counting  # type: ignore[method-assign]
    concepts = [["w55"], ["w00"], ["w01"]]
    mine = fast.concept_search(concepts, 5, stem=False)
    same_top(mine, exhaustive(random_store, concepts), 5)
    with random_store.pool.connection() as conn:
        total = conn.execute(
            "select count(*) from rag_postings where term = any(%s)", (["w55", "w00", "w01"],)
        ).fetchone()[0]
    assert 0 < sum(read) < total / 2


def test_the_depth_bound_misses_where_top_k_does_not(random_store: PgStore) -> None:
    shallow = variant(random_store, pg_lexical_method="depth", pg_lexical_depth=10)
    fast = variant(random_store, pg_lexical_chunk=10)
    missed = 0
    for concepts in queries(20, seed=3):
        full = exhaustive(random_store, concepts)
        old = {p for p, _ in shallow.concept_search(concepts, 10, stem=False)}
        floor = full[:10][-1][1] * (1 - 1e-9)
        missed += sum(s >= floor for p, s in full if p not in old) > 0
        same_top(fast.concept_search(concepts, 10, stem=False), full, 10)
    assert missed >= 5  # the bounded read loses top passages of most queries


def test_impact_bound_covers_a_shorter_average_today() -> None:
    """A posting written when passages were longer on average weighs more today; the
    bound from its stored impact still covers it."""
    k1, b = 1.5, 0.75
    rng = random.Random(1)
    for _ in range(2000):
        tf, dl = rng.randint(1, 9), rng.randint(1, 80)
        then, now = rng.uniform(2, 60), rng.uniform(2, 60)
        low = min(then, now) * rng.uniform(0.5, 1)  # the smallest average ever written

        def weight(avgdl: float, tf: int = tf, dl: int = dl) -> float:
            return tf / (tf + k1 * (1 - b + b * dl / avgdl))

        assert weight(now) <= impact_bound(weight(then), low / now) + 1e-12


def blocks_match_postings(url: str) -> None:
    """The packed blocks hold exactly the postings, each under its passage's document."""
    import psycopg

    with psycopg.connect(url) as conn:
        unpacked = conn.execute(
            "select b.doc_id, b.term, get_byte(b.ids, 8 * i + 7) + 256 * get_byte(b.ids, "
            "8 * i + 6) + 65536 * get_byte(b.ids, 8 * i + 5) as pid from rag_term_blocks b, "
            "generate_series(0, b.postings - 1) i"
        ).fetchall()
        postings = conn.execute(
            "select s.doc_id, p.term, p.passage_id from rag_postings p join rag_passages s "
            "on s.id = p.passage_id"
        ).fetchall()
        maxima = conn.execute(
            "select count(*) from rag_term_blocks b where max_impact <> (select max(impact) "
            "from rag_postings p join rag_passages s on s.id = p.passage_id where "
            "s.doc_id = b.doc_id and p.term = b.term)"
        ).fetchone()[0]
    assert sorted(unpacked) == sorted(postings) and maxima == 0


def test_blocks_follow_writes_and_the_migration_builds_them(random_store: PgStore) -> None:
    """Written and removed documents keep the blocks equal to the postings; a database
    of schema 3 gets them (and the length bound) from migration 4, and searches the same."""
    import psycopg

    from index.pg_schema import MIGRATIONS

    url = random_store.url
    blocks_match_postings(url)
    concepts = [["w03", "w20"], ["w07"], ["w41", "w02"]]
    before = random_store.concept_search(concepts, 10, stem=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table rag_term_blocks")
        conn.execute("alter table rag_meta drop column avgdl_low")
        conn.execute(MIGRATIONS[4])  # as migrate() runs it on a database of schema 3
        low = conn.execute("select avgdl_low, tokens::float8 / passages from rag_meta").fetchone()
    blocks_match_postings(url)
    assert 0 < low[0] < low[1]  # the shortest document's average, below today's
    same_top(random_store.concept_search(concepts, 10, stem=False), before, 10)
