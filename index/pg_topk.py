"""Exact top-k concept BM25 over the PostgreSQL store's postings, stopping as soon as
nothing unread can change the top k (MaxScore over block-max-ordered lists, in the app).

Postings are read from `rag_term_blocks`: one row per (document, term) holding that
term's postings in the document packed as arrays, with the block's best stored impact.
Each query term's blocks are read best first, in rounds (at least `pg_lexical_chunk`
postings the first time, four times more each round, whole runs of equal block maxima
at a time). After a round each term bounds what any block it has not returned can add
(its idf times the last block maximum read), so each concept (interchangeable words,
scored by the best of them) has a bound `rem_c`. Then:

- a passage seen so far has a lower bound (its known concept scores) and an upper bound
  (per concept, the known score or `rem_c` if larger); θ is the k-th best lower bound;
- a passage never seen scores at most Σ rem_c. While that reaches θ, the lists that keep
  it there are read further: MaxScore's *essential* concepts, those left after the
  longest run of smallest bounds summing below θ (a passage only in the others cannot
  reach θ);
- seen passages whose upper bound reaches θ are still *open*: they are resolved (their
  postings of every query term looked up by passage, `rag_postings_passage`, making the
  score exact) while that costs less than reading the lists on (`RESOLVE_COST`), else
  the lists are read further.

It stops when no unseen passage can reach θ and no open one is left: the result is then
exhaustive BM25's top k, ties by passage id included (up to float rounding of equal
sums). Weights are computed as `pgstore.bm25_top` computes them, from (tf, dl) and the
current statistics. Stored impacts used the average passage length at write time;
`rag_meta.avgdl_low`, the smallest ever used, turns one into a safe bound today
(`impact_bound`). Where nothing is skewed (every word in tens of thousands of passages
with the same term frequency) no bound prunes and every block is read: exhaustive BM25,
at the cost of reading packed rows instead of one index entry per posting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BM25_K1, BM25_B = 1.5, 0.75  # bm25s "lucene" defaults; index.pgstore and pg_write use these
_SLACK = 1e-6  # stored impacts are float4: a posting may weigh this much above its impact
GROWTH = 4  # each round reads this many times more of a list than the one before
# ...unless its block maxima fell less than this (the last read is this share of its best
# or more): such a flat list gives no bound to stop on, so the next round reads the rest.
FLAT = 0.9
_ALL = 2**31 - 1
# One passage resolved costs about as much as reading this many packed postings (100,000
# synthetic passages, loaded machine: ~30 µs per passage looked up, under 1 µs a posting).
RESOLVE_COST = 50

# One round: each listed term's next blocks below its last block maximum read, at least
# `size` postings of them and whole runs of equal maxima (`floor`: the maximum of the
# block that reaches `size`, or -inf when fewer remain: the list is then read to its end).
ROUND_SQL = """
select q.i, b.floor = '-infinity'::real, p.low, p.high, p.n, p.ids, p.tfs, p.dls,
       coalesce(st.df, 0)::float8, m.passages::float8,
       m.tokens::float8 / greatest(m.passages, 1), m.avgdl_low,
       (select last_value from rag_passage_ids)
from unnest(%(i)s::int[], %(terms)s::text[], %(lasts)s::real[], %(sizes)s::int[])
     as q(i, term, last, size)
cross join rag_meta m
left join rag_term_stats st on st.term = q.term
cross join lateral (select coalesce((select max_impact from (
    select max_impact, sum(postings) over (order by max_impact desc) as total
    from rag_term_blocks where term = q.term and max_impact < q.last) x
    where total >= q.size limit 1), '-infinity'::real) as floor) b
cross join lateral (
    select min(max_impact) as low, max(max_impact) as high, sum(postings) as n,
           string_agg(ids, '') as ids,
           string_agg(tfs, '') as tfs, string_agg(dls, '') as dls
    from rag_term_blocks where term = q.term and max_impact < q.last
    and max_impact >= b.floor) p
"""
# The listed passages' postings of the query terms, one row per term (a lateral per
# passage, so the planner looks each passage up instead of scanning the terms' lists).
RESOLVE_SQL = """
select p.term, string_agg(int8send(p.passage_id), ''), string_agg(int4send(p.tf), ''),
       string_agg(int4send(p.dl), '')
from unnest(%(ids)s::bigint[]) as q(id)
cross join lateral (select term, passage_id, tf, dl from rag_postings
    where passage_id = q.id and term = any(%(terms)s::text[]) offset 0) p
group by p.term
"""
BLOCKS_SQL = """
insert into rag_term_blocks
select %(doc)s, term, count(*), max(impact),
       string_agg(int8send(passage_id), '' order by passage_id),
       string_agg(int4send(tf), '' order by passage_id),
       string_agg(int4send(dl), '' order by passage_id)
from rag_postings where passage_id = any(%(ids)s::bigint[]) group by term
"""

Reader = Callable[[str, list[dict[str, Any]]], list[Any]]  # SQL, parameter sets → all rows


def write_blocks(conn: Any, doc_id: str, passage_ids: Sequence[int]) -> None:
    """Pack a document's just-written postings into its `rag_term_blocks` rows (in the
    writer's transaction)."""
    conn.execute(BLOCKS_SQL, {"doc": doc_id, "ids": list(passage_ids)})


def impact_bound(impact: float, rho: float) -> float:
    """The most a posting whose stored impact is at most `impact` can weigh now, when it
    was written under an average length at least `rho` times today's: tf / (tf + c + x/a)
    with x/a scaled by rho ≥ 1 only shrinks; below 1 it is at most i / (i + rho (1 − i))."""
    if impact <= 0:
        return 0.0
    if rho >= 1:
        return impact * (1 + _SLACK)
    return impact / (impact + rho * (1 - impact)) * (1 + _SLACK)


@dataclass
class TermList:
    """One query term's blocks read so far, best block maximum first."""

    concept: int
    term: str
    df: float = 0.0
    idf: float = 0.0
    last: float = math.inf  # the last block maximum read
    size: int = 0  # postings to ask for next
    read: int = 0
    top: float = 0.0  # the best block maximum
    exhausted: bool = False

    def remaining(self, rho: float) -> float:
        return 0.0 if self.exhausted else self.idf * impact_bound(self.last, rho)


@dataclass
class Tally:
    """Known concept scores by passage id (dense arrays), and which are seen or exact."""

    size: int
    avgdl: float
    rho: float
    known: dict[int, np.ndarray] = field(default_factory=dict)
    seen: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def add(self, t: TermList, ids: bytes, tfs: bytes, dls: bytes) -> None:
        """Score postings (as `pgstore.bm25_top`) into the term's concept."""
        pid = np.frombuffer(ids, dtype=">i8").astype(np.int64)
        tf = np.frombuffer(tfs, dtype=">i4").astype(np.float64)
        dl = np.frombuffer(dls, dtype=">i4").astype(np.float64)
        keep = pid < self.size  # passages newer than the statistics read: not counted
        pid, tf, dl = pid[keep], tf[keep], dl[keep]
        weight = t.idf * tf / (tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / self.avgdl))
        best = self.known.setdefault(t.concept, np.zeros(self.size))
        best[pid] = np.maximum(best[pid], weight)  # a term names a passage once per read
        self.seen[pid] = True


def top_k(
    read: Reader,
    concepts: Sequence[int],
    terms: Sequence[str],
    k: int,
    *,
    first: int,
    parts: int = 1,
) -> list[tuple[int, float]]:
    """(passage id, score) of exhaustive concept-BM25's best `k`, ties by id; `concepts[i]`
    is the concept of `terms[i]`; `first` postings per term in the first round, each
    round's lists spread over `parts` parameter sets (`read` runs them at once)."""
    lists = [TermList(c, t, size=first) for c, t in zip(concepts, terms, strict=True)]
    tally = _read_round(read, lists, None, parts)  # with the statistics
    lists = [t for t in lists if t.idf > 0]
    wanted: list[TermList] = []
    while True:
        if wanted:
            _read_round(read, wanted, tally, parts)
        bounds = _concept_bounds(lists, tally.rho)
        unseen = sum(bounds.values())
        lower, upper = _bounds(tally, bounds)  # dense, by passage id
        theta = _kth(lower, k)
        if unseen >= theta and unseen > 0:
            wanted, shed = _essential(lists, bounds, theta)
            # the likeliest passages' exact scores raise θ, if they can raise it past the
            # sum that sheds one more list (the k-th best upper bound caps what θ becomes)
            if _kth(np.where(tally.seen, upper, 0.0), k) > shed:
                open_ = _open(tally, lower, upper, theta)
                if len(open_):
                    _resolve(read, lists, tally, _best(open_, upper[open_], k))
            continue
        open_ = _open(tally, lower, upper, theta)
        if not len(open_):
            ids = np.flatnonzero(tally.seen & (lower >= theta) & (lower > 0))
            order = np.lexsort((ids, -lower[ids]))[:k]
            return [(int(ids[i]), float(lower[ids[i]])) for i in order]
        unread = sum(t.df - t.read for t in lists if not t.exhausted)
        if len(open_) * RESOLVE_COST <= unread or not unread:
            _resolve(read, lists, tally, open_)
            wanted = []
        else:
            wanted = [t for t in lists if not t.exhausted]


def _open(tally: Tally, lower: np.ndarray, upper: np.ndarray, theta: float) -> np.ndarray:
    """Seen passages still uncertain (upper bound above the known score) that can reach θ."""
    return np.flatnonzero(tally.seen & (upper >= theta) & (upper > lower) & ~tally.exact)


def _statistics(rows: list[Any], lists: list[TermList]) -> Tally:
    """An empty tally from a first round's statistics columns, and each term's idf
    (bm25s "lucene": log(1 + (N − df + 0.5) / (df + 0.5)))."""
    n, avgdl, low, top = rows[0][9], rows[0][10] or 1.0, rows[0][11], int(rows[0][12])
    for row in rows:
        t = lists[row[0]]
        t.df = float(row[8])
        t.idf = math.log(1 + (n - t.df + 0.5) / (t.df + 0.5)) if t.df > 0 else 0.0
    rho = float(low) / avgdl if low else 1.0
    size = top + 1
    return Tally(size, avgdl, rho, seen=np.zeros(size, bool), exact=np.zeros(size, bool))


def _read_round(read: Reader, wanted: list[TermList], tally: Tally | None, parts: int) -> Tally:
    """Read the next blocks of each wanted list (in the first round, with no tally yet,
    the statistics too: then a new tally)."""
    parts = max(parts, 1)
    groups = [list(range(len(wanted)))[p::parts] for p in range(parts)]
    params = [
        {
            "i": group,
            "terms": [wanted[i].term for i in group],
            "lasts": [wanted[i].last for i in group],
            "sizes": [wanted[i].size for i in group],
        }
        for group in groups
        if group
    ]
    rows = read(ROUND_SQL, params)
    tally = tally or _statistics(rows, wanted)
    for i, exhausted, low, high, n, ids, tfs, dls, *_ in rows:
        t = wanted[i]
        t.exhausted = bool(exhausted) or low is None
        if low is not None:
            t.top = t.top or float(high)
            t.last, t.read = float(low), t.read + int(n)
            tally.add(t, ids, tfs, dls)
        # a list whose blocks' maxima hardly fell has nothing to stop early on: the rest
        t.size = _ALL if t.last >= FLAT * t.top else t.size * GROWTH
    return tally


def _concept_bounds(lists: list[TermList], rho: float) -> dict[int, float]:
    bounds: dict[int, float] = {}
    for t in lists:
        bounds[t.concept] = max(bounds.get(t.concept, 0.0), t.remaining(rho))
    return bounds


def _bounds(tally: Tally, bounds: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Every passage's lower and upper bound, by id (exact ones: equal; one never seen:
    0 and the unseen bound)."""
    lower, upper, part = np.zeros(tally.size), np.zeros(tally.size), np.empty(tally.size)
    for concept, bound in bounds.items():
        known = tally.known.get(concept)
        if known is None:
            upper += bound
            continue
        lower += known
        upper += np.maximum(known, bound, out=part)
    np.copyto(upper, lower, where=tally.exact)
    return lower, upper


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th largest score (0 when fewer: then any positive score can enter); found
    among the scores of at least half the best when there are k of them (cheaper)."""
    if len(scores) < k:
        return 0.0
    high = scores[scores >= scores.max() / 2]
    pool = high if len(high) >= k else scores
    return float(np.partition(pool, len(pool) - k)[len(pool) - k])


def _essential(
    lists: list[TermList], bounds: dict[int, float], theta: float
) -> tuple[list[TermList], float]:
    """The unfinished lists of the concepts a new passage must appear in to reach θ:
    all but the longest run of smallest concept bounds that sums below θ; and the sum
    θ must pass to shed the next concept too."""
    total, skip = 0.0, set()
    for concept, bound in sorted(bounds.items(), key=lambda cb: cb[1]):
        total += bound
        if total >= theta:
            break
        skip.add(concept)
    return [t for t in lists if not t.exhausted and t.concept not in skip], total


def _best(ids: np.ndarray, upper: np.ndarray, n: int) -> np.ndarray:
    """The `n` passages of `ids` with the highest upper bounds."""
    if len(ids) <= n:
        return ids
    return ids[np.argpartition(-upper, n - 1)[:n]]


def _resolve(read: Reader, lists: list[TermList], tally: Tally, passages: np.ndarray) -> None:
    """Look up `passages`' postings of every query term: their scores become exact."""
    by_term: dict[str, list[TermList]] = {}
    for t in lists:
        by_term.setdefault(t.term, []).append(t)
    rows = read(RESOLVE_SQL, [{"ids": passages.tolist(), "terms": sorted(by_term)}])
    for term, ids, tfs, dls in rows:
        for t in by_term[term]:
            tally.add(t, ids, tfs, dls)
    tally.exact[passages] = True
