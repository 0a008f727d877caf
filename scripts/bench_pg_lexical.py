"""Benchmark PostgreSQL lexical search alone at a size too big for the full store
benchmark: only the lexical tables, written by COPY; prints a markdown table.

    nice -n 5 .venv/bin/python scripts/bench_pg_lexical.py --passages 1000000 --keep DIR

Passages are bench_store's synthetic ones (80 running words of the bundled letter, 1,000
per document; no vectors, no passage rows), tokenised as the store tokenises them, with
the postings, document frequencies, statistics and packed blocks the store writes
(impacts with the final average length). Queries are bench_store's: six concepts of one
to three letter words. Per query, one at a time: the old bounded read
(`pg_lexical_depth` best postings per term, `index.pgstore.bm25_top`), the early-
terminating exact top k (`index.pg_topk`), and exhaustive BM25 computed here from every
block of the query's terms (the truth both are compared with: plain share of its top 30,
and tie-aware: the share whose exhaustive score reaches its 30th score). `--keep DIR`
keeps the server's data there, so a second run only measures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index.pg_topk import BM25_B, BM25_K1  # noqa: E402
from scripts.bench_store import (  # noqa: E402
    PER_DOCUMENT,
    WORDS_PER_PASSAGE,
    fresh_database,
    letter_material,
    queries,
    tuned_server,
)

K, RUNS = 30, 100


def build(url: str, n: int) -> float:
    """Write the lexical tables for `n` passages by COPY; seconds taken."""
    import psycopg

    from index.pg_schema import migrate
    from rag.language.text import passage_terms

    words, _, _, _ = letter_material()
    rng = np.random.default_rng(n)
    starts = rng.integers(0, len(words) - WORDS_PER_PASSAGE, size=n)
    tokens = {
        int(s): Counter(passage_terms(" ".join(words[s : s + WORDS_PER_PASSAGE])))
        for s in np.unique(starts)
    }  # the letter has few windows: tokenise each once
    lengths = {s: max(sum(c.values()), 1) for s, c in tokens.items()}
    avgdl = float(np.mean([lengths[int(s)] for s in starts]))
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
        docs = [f"doc-{d:05d}" for d in range(-(-n // PER_DOCUMENT))]
        meta = '{"dimension": 512}'
        conn.execute(
            "insert into rag_meta (id, manifest, passages, tokens, avgdl_low) "
            "values (1, %s, %s, %s, %s)",
            (meta, n, int(sum(lengths[int(s)] for s in starts)), avgdl),
        )
        with (
            conn.cursor() as cur,
            cur.copy(
                "copy rag_documents (doc_id, name, source, content_hash, chunks) from stdin"
            ) as copy,
        ):
            for d in docs:
                copy.write_row((d, d, d, d, PER_DOCUMENT))
        conn.execute("drop index rag_postings_impact, rag_postings_passage")  # built after
        df: Counter[str] = Counter()
        with (
            conn.cursor() as cur,
            cur.copy("copy rag_postings (term, passage_id, tf, dl, impact) from stdin") as copy,
        ):
            for pid, s in enumerate(starts.tolist(), start=1):
                dl = lengths[s]
                norm = BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl)
                for term, tf in tokens[s].items():
                    copy.write_row((term, pid, tf, dl, tf / (tf + norm)))
                df.update(tokens[s].keys())
        with conn.cursor() as cur, cur.copy("copy rag_term_stats (term, df) from stdin") as copy:
            for term, count in df.items():
                copy.write_row((term, count))
        conn.execute("select setval('rag_passage_ids', %s)", (n,))
        conn.execute("set maintenance_work_mem = '1GB'")
        conn.execute(
            "create index rag_postings_impact on rag_postings (term, impact desc) "
            "include (passage_id, tf, dl)"
        )
        conn.execute("create index rag_postings_passage on rag_postings (passage_id)")
        conn.execute("truncate rag_term_blocks")
        conn.execute(
            "insert into rag_term_blocks select 'doc-' || lpad(((passage_id - 1) / %s)::text,"
            " 5, '0'), term, count(*), max(impact), "
            "string_agg(int8send(passage_id), '' order by passage_id), "
            "string_agg(int4send(tf), '' order by passage_id), "
            "string_agg(int4send(dl), '' order by passage_id) "
            "from rag_postings group by 1, term",
            (PER_DOCUMENT,),
        )
        conn.execute("vacuum analyze")
    return time.perf_counter() - started


def exhaustive(conn: Any, concepts: list[int], terms: list[str]) -> list[tuple[int, float]]:
    """Every block of the query's terms, scored here: the truth."""
    n, avgdl = conn.execute("select passages, tokens::float8 / passages from rag_meta").fetchone()
    parts = []
    for concept, term in zip(concepts, terms, strict=True):
        df = conn.execute("select df from rag_term_stats where term = %s", (term,)).fetchone()
        if not df:
            continue
        rows = conn.execute(
            "select ids, tfs, dls from rag_term_blocks where term = %s", (term,)
        ).fetchall()
        ids = np.frombuffer(b"".join(r[0] for r in rows), ">i8").astype(np.int64)
        tf = np.frombuffer(b"".join(r[1] for r in rows), ">i4").astype(float)
        dl = np.frombuffer(b"".join(r[2] for r in rows), ">i4").astype(float)
        idf = np.log(1 + (n - df[0] + 0.5) / (df[0] + 0.5))
        parts.append((concept, ids, idf * tf / (tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl))))
    passages, where = np.unique(np.concatenate([p[1] for p in parts]), return_inverse=True)
    best = {c: np.zeros(len(passages)) for c, _, _ in parts}
    start = 0
    for concept, ids, weight in parts:
        at = where[start : start + len(ids)]
        best[concept][at] = np.maximum(best[concept][at], weight)
        start += len(ids)
    total = np.sum(list(best.values()), axis=0)
    order = np.lexsort((passages, -total))
    return [(int(passages[i]), float(total[i])) for i in order]


def measure(url: str, n: int, depth: int, chunk: int) -> dict:
    from index.pg_topk import top_k
    from index.pgstore import _POSTINGS_SQL, bm25_top, connect_pool
    from rag.language.text import query_terms

    pool = connect_pool(url, 4)

    def read(sql: str, params: list[dict]) -> list:
        from concurrent.futures import ThreadPoolExecutor

        def one(values: dict) -> list:
            with pool.connection() as conn:
                return conn.execute(sql, values).fetchall()

        with ThreadPoolExecutor(len(params)) as ex:
            return [row for rows in ex.map(one, params) for row in rows]

    def old(concepts: list[int], terms: list[str]) -> list:
        sql = _POSTINGS_SQL.replace("{scope}", "")
        groups = [
            {"concepts": concepts[p::2], "terms": terms[p::2], "depth": depth} for p in range(2)
        ]
        return bm25_top(read(sql, groups), K)

    def new(concepts: list[int], terms: list[str]) -> list:
        return top_k(read, concepts, terms, K, first=chunk, parts=2)

    _, all_concepts = queries(n)
    asked = []
    for concept_words in all_concepts[:RUNS]:
        concepts, terms = [], []
        for c, words in enumerate(concept_words):
            for t in dict.fromkeys(t for w in words for t in query_terms(w)):
                concepts.append(c)
                terms.append(t)
        asked.append((concepts, terms))
    with pool.connection() as conn:
        truths = [exhaustive(conn, c, t) for c, t in asked]
    for search in (old, new):
        search(*asked[-1])  # warm-up
    found: dict[str, list] = {"old": [], "new": []}  # (ms, plain, tie-aware) per query
    for (concepts, terms), truth in zip(asked, truths, strict=True):
        top, scores = truth[:K], dict(truth)
        floor = top[-1][1] * (1 - 1e-6)
        for name, search in (("old", old), ("new", new)):  # alternating: same load on both
            started = time.perf_counter()
            got = search(concepts, terms)
            ms = (time.perf_counter() - started) * 1000
            plain = len({p for p, _ in got} & {p for p, _ in top}) / len(top)
            tied = sum(scores.get(p, 0.0) >= floor for p, _ in got) / len(top)
            found[name].append((ms, plain, tied))
    out = {}
    for name, rows in found.items():
        ms, plain, tied = (np.array(column) for column in zip(*rows, strict=True))
        out[name] = tuple(
            float(x)
            for x in (np.percentile(ms, 50), np.percentile(ms, 95), plain.mean(), tied.mean())
        )
        print(name, out[name], file=sys.stderr, flush=True)
    pool.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--depth", type=int, default=10_000, help="the old read's depth")
    parser.add_argument("--chunk", type=int, default=10_000, help="pg_lexical_chunk")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rag-bench-lexical-"))
    work.mkdir(parents=True, exist_ok=True)
    server = tuned_server(work / "pgdata", delete=args.keep is None)
    try:
        url = server.get_uri(f"lexical_{args.passages}")
        marker = work / f"built-{args.passages}"
        if not marker.exists():
            fresh_database(server, f"lexical_{args.passages}")
            seconds = build(url, args.passages)
            marker.write_text(f"{seconds:.0f}")
        print(f"built in {marker.read_text()} s", file=sys.stderr, flush=True)
        result = measure(url, args.passages, args.depth, args.chunk)
    finally:
        server.cleanup()
    print("| passages | method | lexical p50 ms | p95 ms | top-30 agreement (tie-aware) |")
    print("|---:|---|---:|---:|---|")
    for name, label in (("old", f"depth {args.depth:,}"), ("new", "pg_topk (exact)")):
        p50, p95, plain, tied = result[name]
        print(f"| {args.passages:,} | {label} | {p50:.1f} | {p95:.1f} | {plain:.3f} ({tied:.3f}) |")


if __name__ == "__main__":
    main()
