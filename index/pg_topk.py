"""Exact top-k concept BM25 over the PostgreSQL store's impact-ordered postings, reading
only what can still change the top k (MaxScore over impact-sorted lists, in the app).

Each query term's postings are read from `rag_postings_impact` best stored impact first,
in chunks (the first `pg_lexical_chunk` postings, doubling per round, whole runs of equal
impact at a time). After every round each term has a bound on what any posting it has
not returned can add (its idf times the last impact read), so a concept (a group of
interchangeable words, scored by its best word) has one too, `rem_c`. Then:

- a passage seen so far has a lower bound (its known concept scores) and an upper bound
  (each concept's known score or `rem_c`, whichever is larger); θ is the k-th best lower
  bound;
- a passage never seen can score at most Σ rem_c. While that reaches θ, the lists that
  keep it there are read further: MaxScore's *essential* concepts, those left after the
  longest run of smallest bounds that sums below θ (a passage found only in the others
  cannot reach θ);
- seen passages whose upper bound reaches θ are *resolved*: their postings for every
  query term are looked up by passage (`rag_postings_passage`), which makes their
  score exact and usually raises θ; the best `k` by upper bound first, then in batches.

It stops when no unseen passage can reach θ and every seen passage that can is exact:
the result is then exhaustive BM25's top k, ties by passage id included (up to float
rounding of equal sums). Scores are computed as `pgstore.bm25_top` computes them, from
(tf, dl) and the current statistics. Stored impacts were computed with the average
passage length at write time; `rag_meta.avgdl_low` (the smallest ever used) turns a
stored impact into a safe bound under today's average (`impact_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BM25_K1, BM25_B = 1.5, 0.75  # as index.pgstore (bm25s "lucene" defaults)
_SLACK = 1e-6  # stored impacts are float4: a posting may weigh this much above its impact

# One round: each listed term's next postings below its last impact read, at least `size`
# of them and whole runs of equal impact (`floor` is the size-th next impact, or -inf
# when fewer remain: the list is then read to its end).
ROUND_SQL = """
select q.i, b.floor = '-infinity'::real, p.low, p.ids, p.tfs, p.dls
from unnest(%(i)s::int[], %(terms)s::text[], %(lasts)s::real[], %(sizes)s::int[])
     as q(i, term, last, size)
cross join lateral (select coalesce((select impact from rag_postings
    where term = q.term and impact < q.last order by impact desc
    offset q.size - 1 limit 1), '-infinity'::real) as floor) b
cross join lateral (
    select min(impact) as low, string_agg(int8send(passage_id), '') as ids,
           string_agg(int4send(tf), '') as tfs, string_agg(int4send(dl), '') as dls
    from rag_postings where term = q.term and impact < q.last and impact >= b.floor) p
"""
# The listed passages' postings of the query terms, one row per term.
RESOLVE_SQL = """
select term, string_agg(int8send(passage_id), ''), string_agg(int4send(tf), ''),
       string_agg(int4send(dl), '')
from rag_postings where passage_id = any(%(ids)s::bigint[]) and term = any(%(terms)s::text[])
group by term
"""
STATS_SQL = """
select q.term, coalesce(st.df, 0)::float8 from unnest(%(terms)s::text[]) as q(term)
left join rag_term_stats st using (term)
"""
META_SQL = """
select passages::float8, tokens::float8 / greatest(passages, 1),
       coalesce(avgdl_low, tokens::float8 / greatest(passages, 1)) from rag_meta
"""

Reader = Callable[[str, list[dict[str, Any]]], list[Any]]  # SQL, parameter sets → all rows


def impact_bound(impact: float, rho: float) -> float:
    """The most a posting whose stored impact is at most `impact` can weigh now, when
    it was written under an average length at least `rho` times today's: tf / (tf + c + x/a)
    with x/a scaled by rho ≥ 1 only shrinks; below 1 it is at most i / (i + rho (1 − i))."""
    if impact <= 0:
        return 0.0
    if rho >= 1:
        return impact * (1 + _SLACK)
    return impact / (impact + rho * (1 - impact)) * (1 + _SLACK)


@dataclass
class TermList:
    """One query term's postings read so far, best stored impact first."""

    concept: int
    term: str
    idf: float = 0.0
    last: float = math.inf  # stored impact of the last run read
    size: int = 0  # postings to ask for next
    exhausted: bool = False
    ids: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)


@dataclass
class Statistics:
    passages: float
    avgdl: float
    rho: float  # smallest average length an impact was written with / today's

    def weights(self, tfs: bytes, dls: bytes) -> np.ndarray:
        """BM25's term-frequency part (times idf later), as `pgstore.bm25_top`."""
        tf = np.frombuffer(tfs, dtype=">i4").astype(np.float64)
        dl = np.frombuffer(dls, dtype=">i4").astype(np.float64)
        return tf / (tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / self.avgdl))


@dataclass
class Tally:
    """Bounds of every passage seen so far."""

    passages: np.ndarray  # passage ids, ascending
    lower: np.ndarray  # known score (exact once resolved)
    upper: np.ndarray
    resolved: np.ndarray  # bool
    unseen: float  # the most a passage never seen can score


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
    is the concept of `terms[i]`; `first` postings per term are read in the first round,
    each round's lists spread over `parts` parameter sets (`read` runs them at once)."""
    lists = [TermList(c, t, size=first) for c, t in zip(concepts, terms, strict=True)]
    stats = _statistics(read, lists)
    lists = [t for t in lists if t.idf > 0]
    resolved: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # term index → (ids, weights)
    done: np.ndarray = np.zeros(0, dtype=np.int64)
    wanted = list(lists)
    batch = k
    while True:
        if wanted:
            _read_round(read, wanted, stats, parts)
        tally = _tally(lists, resolved, done, stats)
        theta = _kth(tally.lower, k)
        # still uncertain (an upper bound above the known score) and able to reach θ
        open_ = ~tally.resolved & (tally.upper >= theta) & (tally.upper > tally.lower)
        if tally.unseen >= theta and tally.unseen > 0:
            wanted = _essential(lists, theta, stats)
            if open_.any():  # raise θ with the likeliest passages' exact scores
                done = _resolve(read, lists, resolved, done, _best(tally, open_, k), stats)
            continue
        if not open_.any():
            order = np.lexsort((tally.passages, -tally.lower))[:k]
            return [(int(tally.passages[i]), float(tally.lower[i])) for i in order]
        wanted = []
        done = _resolve(read, lists, resolved, done, _best(tally, open_, batch), stats)
        batch *= 2


def _statistics(read: Reader, lists: list[TermList]) -> Statistics:
    """Each term's idf (bm25s "lucene": log(1 + (N − df + 0.5) / (df + 0.5))) and the
    length statistics."""
    meta = read(META_SQL, [{}])[0]
    n, avgdl, low = float(meta[0]), float(meta[1]) or 1.0, float(meta[2])
    df = dict(read(STATS_SQL, [{"terms": sorted({t.term for t in lists})}]))
    for t in lists:
        d = float(df.get(t.term, 0.0))
        t.idf = math.log(1 + (n - d + 0.5) / (d + 0.5)) if d > 0 else 0.0
    return Statistics(passages=n, avgdl=avgdl, rho=low / avgdl if avgdl else 1.0)


def _read_round(read: Reader, wanted: list[TermList], stats: Statistics, parts: int) -> None:
    """Read the next chunk of each wanted list (doubling its next chunk)."""
    groups = [list(range(len(wanted)))[p :: max(parts, 1)] for p in range(max(parts, 1))]
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
    for i, exhausted, low, ids, tfs, dls in read(ROUND_SQL, params):
        t = wanted[i]
        t.exhausted = bool(exhausted) or low is None
        if low is not None:
            t.last = float(low)
            t.ids.append(np.frombuffer(ids, dtype=">i8").astype(np.int64))
            t.weights.append(t.idf * stats.weights(tfs, dls))
        t.size *= 2


def _remaining(t: TermList, stats: Statistics) -> float:
    return 0.0 if t.exhausted else t.idf * impact_bound(t.last, stats.rho)


def _concept_bounds(lists: list[TermList], stats: Statistics) -> dict[int, float]:
    bounds: dict[int, float] = {}
    for t in lists:
        bounds[t.concept] = max(bounds.get(t.concept, 0.0), _remaining(t, stats))
    return bounds


def _tally(
    lists: list[TermList],
    resolved: dict[int, tuple[np.ndarray, np.ndarray]],
    done: np.ndarray,
    stats: Statistics,
) -> Tally:
    """Every seen passage's known score per concept, and its bounds."""
    parts = [(i, np.concatenate(t.ids), np.concatenate(t.weights)) for i, t in enumerate(lists)]
    parts = [p for p in parts if len(p[1])] + [(i, *r) for i, r in resolved.items()]
    bounds = _concept_bounds(lists, stats)
    unseen = float(sum(bounds.values()))
    if not parts:
        empty = np.zeros(0)
        return Tally(np.zeros(0, dtype=np.int64), empty, empty, np.zeros(0, bool), unseen)
    passages, where = np.unique(np.concatenate([p[1] for p in parts]), return_inverse=True)
    known = {c: np.zeros(len(passages)) for c in bounds}
    start = 0
    for i, ids, weights in parts:  # a term's postings name each passage once
        at = where[start : start + len(ids)]
        best = known[lists[i].concept]
        best[at] = np.maximum(best[at], weights)
        start += len(ids)
    lower = np.sum(list(known.values()), axis=0)
    upper = np.sum([np.maximum(known[c], b) for c, b in bounds.items()], axis=0)
    is_done = np.isin(passages, done, assume_unique=True)
    upper = np.where(is_done, lower, upper)
    return Tally(passages, lower, upper, is_done, unseen)


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th largest score (0 when fewer: then any positive score can enter)."""
    if len(scores) < k:
        return 0.0
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def _essential(lists: list[TermList], theta: float, stats: Statistics) -> list[TermList]:
    """The unfinished lists of the concepts a new passage must appear in to reach θ:
    all but the longest run of smallest concept bounds that sums below θ."""
    bounds = sorted(_concept_bounds(lists, stats).items(), key=lambda cb: cb[1])
    total, skip = 0.0, set()
    for concept, bound in bounds:
        if total + bound >= theta:
            break
        total += bound
        skip.add(concept)
    return [t for t in lists if not t.exhausted and t.concept not in skip]


def _best(tally: Tally, open_: np.ndarray, n: int) -> np.ndarray:
    """The `n` open passages with the highest upper bounds."""
    candidates = np.flatnonzero(open_)
    if len(candidates) > n:
        candidates = candidates[np.argpartition(-tally.upper[candidates], n - 1)[:n]]
    return tally.passages[candidates]


def _resolve(
    read: Reader,
    lists: list[TermList],
    resolved: dict[int, tuple[np.ndarray, np.ndarray]],
    done: np.ndarray,
    passages: np.ndarray,
    stats: Statistics,
) -> np.ndarray:
    """Look up `passages`' postings of every query term; their scores become exact."""
    by_term: dict[str, list[int]] = {}
    for i, t in enumerate(lists):
        by_term.setdefault(t.term, []).append(i)
    rows = read(RESOLVE_SQL, [{"ids": passages.tolist(), "terms": sorted(by_term)}])
    for term, ids, tfs, dls in rows:
        found = np.frombuffer(ids, dtype=">i8").astype(np.int64)
        tf_weights = stats.weights(tfs, dls)
        for i in by_term[term]:
            ids_i, weights = found, lists[i].idf * tf_weights
            if i in resolved:  # passages resolved before: another batch, disjoint
                ids_i = np.concatenate([resolved[i][0], ids_i])
                weights = np.concatenate([resolved[i][1], weights])
            resolved[i] = (ids_i, weights)
    return np.union1d(done, passages)
