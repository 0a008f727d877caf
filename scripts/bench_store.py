"""Benchmark the folder store against the PostgreSQL store; prints a markdown table.

    nice -n 19 .venv/bin/python scripts/bench_store.py --sizes 10000,100000,1000000 [--keep DIR]
    nice -n 5 .venv/bin/python scripts/bench_store.py --ingest --jobs 1,2 [--code /work/main]
    nice -n 5 .venv/bin/python scripts/bench_store.py --replica --sizes 10000,100000

Corpus: synthetic passages, so embedding time is not what is measured. Each passage is
80 words drawn from the bundled letter's running text (so word frequencies follow real
Dutch prose); its vector is a mixture of two real vectors of the bundled multilingual
USE encoder (the letter's passage and vocabulary vectors), w*a + (1-w)*b with w in
[0.5, 1], plus a little noise, L2-normalised: 512-d unit vectors clustered like the
encoder's. Queries are held-out mixtures drawn the same way, with six concepts of one
to three letter words each (what alignment gives the lexical side of a question).

Per size and store, in fresh processes: build (folder: FAISS + BM25 + save; Postgres:
one transaction per 1,000-passage document with COPY, then the HNSW index from
`index.approximate_above` on), disk size, then hybrid retrieval as the retriever runs it
(dense top-30 + concept BM25 top-30 + score fusion + MMR over the candidates' vectors)
after 200 other queries drawn the same way (a server's steady state, not its first
minute; for PostgreSQL, after reading the files of the postings index, the HNSW index and
the passages once, so they are in the OS page cache as the folder store's files are in its
process), at 1, 8 and 32 concurrent queries (threads in one app process; Postgres pool of 32),
recall@10 of the dense search against exact inner product, and the app process's peak
memory (ru_maxrss of a process that only opens the store and queries it; the Postgres
server's own memory is not in it). Worker MiB: that process's resident memory (VmRSS)
once it has opened the store and built the retriever's whole-corpus tables, and after
the hybrid queries at 1, 8 and 32 at once (before the exhaustive BM25 and exact dense
checks, which no worker runs and whose arrays stay in the peak). Ratios are Postgres /
folder in the same run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORDS_PER_PASSAGE = 80
PER_DOCUMENT = 1_000
QUERIES = 200
RECALL_QUERIES = 50
CONCURRENCY = (1, 8, 32)
DEPTHS = (2_000, 10**9)  # pg_lexical_depth besides the default: shallower, and every posting
METHODS = ("depth", "maxscore")  # pg_lexical_method: the old bounded read, exact early stop
DEEP_RUNS = 20  # queries timed per deeper depth above 100,000 passages (every posting is slow)
SERVER_SETTINGS = {  # the benchmark server's, as a deployment would set them (not pgserver's)
    "shared_buffers": "4GB",  # PostgreSQL's "25% of RAM" guidance, less room for the app
    "effective_cache_size": "12GB",
    "max_parallel_maintenance_workers": "2",  # this machine's cores, for the HNSW build
}


def letter_material() -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(running words, vocabulary terms, term vectors, real USE vectors to mix)."""
    from index.load import bundled_corpus
    from index.store import IndexStore

    cache = Path(tempfile.gettempdir()) / "rag-bench-store-letter"
    if (cache / "CURRENT").exists():  # the query children import no model code
        store = IndexStore.load(cache)
    else:
        from index.build import build
        from rag.retrieval.embeddings import load_embedder
        from rag.settings import Settings

        settings = Settings(index={"path": cache})
        store = build(settings, load_embedder(settings.embedding))
    words = " ".join(p.read_text() for p in bundled_corpus().glob("*.txt")).split()
    base = np.vstack([store.vectors, store.term_vectors]).astype(np.float32)
    return words, store.terms, store.term_vectors, base


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def mixtures(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        i, j = rng.integers(0, len(base), size=(2, m))
        w = rng.uniform(0.5, 1.0, size=(m, 1)).astype(np.float32)
        noise = rng.standard_normal((m, base.shape[1]), dtype=np.float32) * 0.01
        out[start : start + m] = unit(w * base[i] + (1 - w) * base[j] + noise)
    return out


def corpus(n: int) -> tuple[list, np.ndarray, list[str], np.ndarray]:
    """n synthetic chunks with their vectors, and the vocabulary with its vectors."""
    from rag.types import Chunk

    words, terms, term_vectors, base = letter_material()
    rng = np.random.default_rng(n)
    vectors = mixtures(base, n, rng)
    chunks = []
    starts = rng.integers(0, len(words) - WORDS_PER_PASSAGE, size=n)
    for k, s in enumerate(starts):
        text = " ".join(words[s : s + WORDS_PER_PASSAGE])
        doc = f"doc-{k // PER_DOCUMENT:05d}"
        chunks.append(Chunk.of_text(f"{doc}:{k:08d}", doc, text))
    return chunks, vectors, terms, term_vectors


def queries(n: int, salt: int = 0) -> tuple[np.ndarray, list[list[list[str]]]]:
    """The measured queries; another `salt` gives other queries drawn the same way."""
    _, terms, _, base = letter_material()
    rng = np.random.default_rng(10**9 + n + salt)
    vectors = mixtures(base, QUERIES, rng)
    concepts = [
        [list(rng.choice(terms, size=int(rng.integers(1, 4)))) for _ in range(6)]
        for _ in range(QUERIES)
    ]
    return vectors, concepts


# ---- children: build ------------------------------------------------------------------------


def build_folder(n: int, folder: Path) -> dict:
    from index.store import IndexStore, Manifest, choose_faiss_type
    from rag.settings import IndexSettings, Settings

    chunks, vectors, terms, term_vectors = corpus(n)
    started = time.perf_counter()
    manifest = Manifest(
        embedding_model="synthetic",
        embedding_fingerprint="synthetic",
        dimension=512,
        chunking=Settings().chunking.model_dump(),
        faiss_type=choose_faiss_type(IndexSettings(), n),
        documents=[],
        chunk_count=n,
        built_at="",
    )
    IndexStore.create(chunks, vectors, manifest, terms, term_vectors).save(folder)
    seconds = time.perf_counter() - started
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"build_s": seconds, "disk": disk, "type": manifest.faiss_type}


class SyntheticEncoder:
    model_id = "synthetic"
    dim = 512


def build_postgres(n: int, url: str) -> dict:
    from index.pg_write import _prepare, ensure_hnsw, write_document
    from index.pgstore import PgStore, connect_pool
    from rag.settings import Settings
    from rag.types import RawDocument

    chunks, vectors, terms, term_vectors = corpus(n)
    settings = Settings(index={"store": url})
    pool = connect_pool(url, 2)
    started = time.perf_counter()
    _prepare(pool, settings, SyntheticEncoder(), fresh=True)  # type: ignore[arg-type]
    with (
        pool.connection() as conn,
        conn.cursor() as cur,
        cur.copy("copy rag_term_vectors (term, embedding) from stdin") as copy,
    ):
        for term, vector in zip(terms, term_vectors, strict=True):
            copy.write_row((term, vector))
    for start in range(0, n, PER_DOCUMENT):
        part = chunks[start : start + PER_DOCUMENT]
        doc = part[0].doc_id
        raw = RawDocument(doc_id=doc, name=doc, source=doc, content_hash=doc, text="")
        write_document(pool, raw, part, vectors[start : start + PER_DOCUMENT])
    ingest_s = time.perf_counter() - started
    ensure_hnsw(pool, settings)
    seconds = time.perf_counter() - started
    with pool.connection() as conn:
        conn.execute("vacuum analyze")
    store = PgStore(url, pool, settings.index)
    disk, kind = store.disk_bytes(), store.manifest.faiss_type
    pool.close()
    return {"build_s": seconds, "ingest_s": ingest_s, "disk": disk, "type": kind}


# ---- children: query ------------------------------------------------------------------------


def hybrid(store: object, vector: np.ndarray, concepts: list[list[str]]) -> list[int]:
    from rag.retrieval.hybrid import mmr, score_fusion

    dense = store.dense_search(vector, 30)  # type: ignore[attr-defined]
    lexical = store.concept_search(concepts, 30)  # type: ignore[attr-defined]
    fused = score_fusion([dense, lexical])
    positions = [i for i, _ in fused]
    return mmr(positions, [s for _, s in fused], store.vectors, 5, 0.9)  # type: ignore[attr-defined]


def query_store(kind: str, n: int, where: str) -> dict:
    if kind == "folder":
        from index.store import IndexStore

        store: object = IndexStore.load(Path(where))
    else:
        store = _open_pg(where)
    worker_tables(store)
    opened_mib = current_rss_mib()
    vectors, concepts = queries(n)
    prewarmed = prewarm(where) if kind == "postgres" else 0
    # Steady state: the caches filled by other queries, not by the measured ones.
    warm_vectors, warm_concepts = queries(n, salt=1)
    for vector, concept in zip(warm_vectors, warm_concepts, strict=True):
        hybrid(store, vector, concept)
    result: dict = {"rss_mib": 0.0, "prewarmed_mib": prewarmed / 2**20}
    for threads in CONCURRENCY:
        hybrid(store, vectors[0], concepts[0])  # warm-up

        def timed(i: int) -> float:
            t = time.perf_counter()
            hybrid(store, vectors[i], concepts[i])
            return (time.perf_counter() - t) * 1000

        with ThreadPoolExecutor(threads) as pool:
            times = list(pool.map(timed, range(QUERIES)))
        result[f"p50_{threads}"] = float(np.percentile(times, 50))
        result[f"p95_{threads}"] = float(np.percentile(times, 95))
    queried_mib = current_rss_mib()  # a worker's questions only, not the checks below
    result["dense_p50"] = p50(lambda i: store.dense_search(vectors[i], 30))  # type: ignore[attr-defined]
    result["lexical_p50"] = p50(lambda i: store.concept_search(concepts[i], 30))  # type: ignore[attr-defined]
    if kind == "postgres":
        result.update(compare_methods(store, vectors, concepts))
        for depth in DEPTHS:
            deep = _variant(store, pg_lexical_method="depth", pg_lexical_depth=depth)
            result[f"lexical_p50_{depth}"] = p50(
                lambda i, d=deep: d.concept_search(concepts[i], 30),
                runs=DEEP_RUNS if n > 100_000 else 100,
            )  # type: ignore[attr-defined]
            shares = lexical_agreement(deep, concepts[:RECALL_QUERIES])
            result[f"agreement_{depth}"], result[f"reached_{depth}"] = shares
    result["recall10"] = dense_recall(kind, store, vectors[:RECALL_QUERIES])
    result["lexical_agreement"], result["lexical_reached"] = (
        lexical_agreement(store, concepts[:RECALL_QUERIES]) if kind == "postgres" else (1.0, 1.0)
    )
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["worker_open_mib"], result["worker_mib"] = opened_mib, queried_mib
    return result


def compare_methods(store: object, vectors: np.ndarray, concepts: list) -> dict:
    """The old bounded read (pg_lexical_method "depth", default depth) against early-
    terminating exact BM25 ("maxscore") in the same process: p50/p95 of the lexical step
    and of the whole hybrid query, one at a time, the methods alternating query by query
    (so a busy machine slows both alike), and top-30 agreement (plain, tie-aware)."""
    twins = {method: _variant(store, pg_lexical_method=method) for method in METHODS}
    times: dict[str, list[float]] = {}
    for step in ("lexical", "hybrid"):
        for i in range(QUERIES):
            for method, twin in twins.items():
                t = time.perf_counter()
                if step == "lexical":
                    twin.concept_search(concepts[i], 30)  # type: ignore[attr-defined]
                else:
                    hybrid(twin, vectors[i], concepts[i])
                times.setdefault(f"{method}_{step}", []).append((time.perf_counter() - t) * 1000)
    out: dict = {}
    for name, values in times.items():
        out[f"{name}_p50"] = float(np.percentile(values, 50))
        out[f"{name}_p95"] = float(np.percentile(values, 95))
    for method, twin in twins.items():
        shares = lexical_agreement(twin, concepts[:RECALL_QUERIES])
        out[f"{method}_agreement"], out[f"{method}_reached"] = shares
    return out


HOT_RELATIONS = (
    "rag_postings_impact",
    "rag_passages_hnsw",
    "rag_passages",
    "rag_passages_pkey",
    "rag_term_blocks",
    "rag_term_blocks_impact",
)


def worker_tables(store: object) -> object:
    """The whole-corpus tables a worker's retriever builds on opening the store: the
    store's own where it keeps them (PostgreSQL), else computed from every passage."""
    own = getattr(store, "corpus_tables", None)
    if own is not None:
        return own()
    from rag.retrieval.corpus_tables import from_chunks

    return from_chunks(store.chunks)  # type: ignore[attr-defined]


def current_rss_mib() -> float:
    """This process's resident memory now (VmRSS), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def prewarm(url: str) -> int:
    """Read the relations a query touches once, so they sit in the OS page cache (what
    pg_prewarm's 'read' mode does; pgserver ships without it), as the folder store's
    files sit in its process after loading. Bytes read."""
    import psycopg

    total = 0
    with psycopg.connect(url) as conn:
        data = Path(conn.execute("show data_directory").fetchone()[0])  # type: ignore[index]
        for relation in HOT_RELATIONS:
            row = conn.execute(  # the relation, and its TOAST table (packed blocks)
                "select pg_relation_filepath(c.oid), pg_relation_filepath(nullif("
                "c.reltoastrelid, 0)) from pg_class c where c.oid = to_regclass(%s)",
                (relation,),
            ).fetchone()
            for path in row or ():
                if path is None:
                    continue
                first = data / path  # then its 1 GB segments: first.1, first.2, ...
                more = first.parent.glob(f"{first.name}.[0-9]*")
                for segment in [first, *sorted(more, key=lambda p: int(p.suffix[1:]))]:
                    with segment.open("rb") as file:
                        while chunk := file.read(1 << 24):
                            total += len(chunk)
    return total


def p50(search: object, runs: int = 100) -> float:
    """Median ms of one search part, one query at a time."""
    times = []
    for i in range(runs):
        t = time.perf_counter()
        search(i)  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50))


def _open_pg(url: str) -> object:
    from index.pgstore import PgStore, connect_pool
    from rag.settings import IndexSettings

    return PgStore(url, connect_pool(url, 32), IndexSettings(pool_size=32))


def _variant(store: object, **settings: int) -> object:
    """The same snapshot and pool with other index settings (a million-passage snapshot
    is read once per process, not once per variant)."""
    twin = copy.copy(store)
    twin.index_settings = store.index_settings.model_copy(update=settings)  # type: ignore[attr-defined]
    return twin


def lexical_agreement(store: object, concepts: list[list[list[str]]]) -> tuple[float, float]:
    """(share of the exhaustive concept-BM25 top 30 that the store returns, share of the
    store's top 30 whose exhaustive score reaches the exhaustive 30th score). Synthetic
    passages repeat windows of the letter, so many tie: the second share does not count
    a tied passage returned in place of another as a miss."""
    full = _variant(store, pg_lexical_method="depth", pg_lexical_depth=10**9)
    shares, reached = [], []
    for concept in concepts:
        got = store.concept_search(concept, 30)  # type: ignore[attr-defined]
        exact = full.concept_search(concept, 10**7)  # type: ignore[attr-defined]
        truth = exact[:30]
        shares.append(len({p for p, _ in got} & {p for p, _ in truth}) / max(len(truth), 1))
        if truth:
            scores, floor = dict(exact), truth[-1][1] * (1 - 1e-6)
            reached.append(sum(scores.get(p, 0.0) >= floor for p, _ in got) / len(truth))
    return float(np.mean(shares)), float(np.mean(reached)) if reached else 1.0


def dense_recall(kind: str, store: object, vectors: np.ndarray) -> float:
    """Recall@10 of the store's dense search against exact inner product."""
    if kind == "folder":
        all_vectors = store.vectors  # type: ignore[attr-defined]
    else:
        exact = copy.copy(store)
        exact.approximate = False  # type: ignore[attr-defined]
    found = []
    for vector in vectors:
        got = {p for p, _ in store.dense_search(vector, 10)}  # type: ignore[attr-defined]
        if kind == "folder":
            truth = set(np.argsort(-(all_vectors @ vector))[:10].tolist())
        else:
            truth = {p for p, _ in exact.dense_search(vector, 10)}  # type: ignore[attr-defined]
        found.append(len(got & truth) / 10)
    return float(np.mean(found))


# ---- orchestration --------------------------------------------------------------------------


def child(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if output.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{output.stderr[-3000:]}")
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def run(sizes: list[int], keep: Path | None = None) -> None:
    """Build and measure each size; with `keep`, the stores stay in that folder and a
    size built there before is measured again without rebuilding (its build figures
    are the recorded ones)."""

    letter_material()  # build the cached letter index once, outside the timings
    work = keep or Path(tempfile.mkdtemp(prefix="rag-bench-store-"))
    work.mkdir(parents=True, exist_ok=True)
    server = tuned_server(work / "pgdata", delete=keep is None)
    rows = []
    try:
        for n in sizes:
            url = server.get_uri(f"bench_{n}")
            folder = work / f"folder-{n}"
            record = work / f"built-{n}.json"
            if record.exists():
                built = json.loads(record.read_text())
            else:
                fresh_database(server, f"bench_{n}")
                built = {"folder": child("build", "folder", str(n), str(folder))}
                built["postgres"] = child("build", "postgres", str(n), url)
                record.write_text(json.dumps(built))
            for kind, where in (("folder", str(folder)), ("postgres", url)):
                measured = child("query", kind, str(n), where)
                rows.append({"n": n, "store": kind, **built[kind], **measured})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        server.cleanup()
    print_table(rows)
    print_parts(rows)
    print_methods(rows)
    print_workers(rows)


def fresh_database(server: Any, name: str) -> str:
    """An empty database `name` on the benchmark's server (dropped first if there); its
    URL."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"drop database if exists {name}")
        conn.execute(f"create database {name}")
    return str(server.get_uri(name))


def tuned_server(pgdata: Path, delete: bool = True) -> Any:
    """A private PostgreSQL with `SERVER_SETTINGS` (written, then the server restarted)."""
    import pgserver
    import psycopg

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            conn.execute(f"alter system set {name} = '{value}'")
    server.cleanup()
    server = pgserver.get_server(pgdata, cleanup_mode="delete" if delete else "stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        shown = {name: conn.execute(f"show {name}").fetchone()[0] for name in SERVER_SETTINGS}
    print(f"server settings: {shown}", file=sys.stderr, flush=True)
    return server


def print_table(rows: list[dict]) -> None:
    print(
        "| passages | store | dense | build s | passages/s | disk MiB | app MiB | "
        "p50/p95 ms ×1 | p50/p95 ms ×8 | p50/p95 ms ×32 | dense recall@10 | BM25 top-30 |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by = {(r["n"], r["store"]): r for r in rows}
    for r in rows:
        cells = [
            f"{r['n']:,}",
            r["store"],
            r["type"],
            f"{r['build_s']:.1f}",
            f"{r['n'] / r['build_s']:,.0f}",
            f"{r['disk'] / 2**20:.0f}",
            f"{r['rss_mib']:.0f}",
        ]
        cells += [f"{r[f'p50_{c}']:.1f} / {r[f'p95_{c}']:.1f}" for c in CONCURRENCY]
        reached = r.get("lexical_reached")
        cells += [
            f"{r['recall10']:.3f}",
            f"{r['lexical_agreement']:.3f}" + (f" ({reached:.3f})" if reached is not None else ""),
        ]
        print("| " + " | ".join(cells) + " |")
        if r["store"] == "postgres" and (r["n"], "folder") in by:
            f = by[(r["n"], "folder")]
            ratio = [
                "",
                "ratio pg/folder",
                "",
                f"{r['build_s'] / f['build_s']:.2f}",
                "",
                f"{r['disk'] / f['disk']:.2f}",
                f"{r['rss_mib'] / f['rss_mib']:.2f}",
            ]
            ratio += [f"{r[f'p95_{c}'] / f[f'p95_{c}']:.2f} (p95)" for c in CONCURRENCY]
            ratio += ["", ""]
            print("| " + " | ".join(ratio) + " |")


def print_workers(rows: list[dict]) -> None:
    """What one app worker holds: resident memory after opening the store and building
    the retriever's whole-corpus tables, and after the hybrid queries at 1, 8 and 32 at
    once."""
    print()
    print("| passages | store | worker MiB opened | worker MiB after queries | app MiB (peak) |")
    print("|---:|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['store']} | {r['worker_open_mib']:.0f} | "
            f"{r['worker_mib']:.0f} | {r['rss_mib']:.0f} |"
        )


def print_parts(rows: list[dict]) -> None:
    """Where one query's time goes, and what the lexical depth costs and buys."""
    print()
    print("| passages | store | dense p50 ms | concept BM25 p50 ms | BM25 top-30 agreement |")
    print("|---:|---|---:|---:|---|")
    for r in rows:
        lexical = f"{r['lexical_p50']:.1f}"
        agreement = f"{r['lexical_agreement']:.3f}"
        if "lexical_reached" in r:
            agreement += f" ({r['lexical_reached']:.3f})"
        if r["store"] == "postgres":
            for depth in DEPTHS:
                name = "all" if depth >= 10**9 else f"{depth:,}"
                lexical += f"; depth {name}: {r[f'lexical_p50_{depth}']:.1f}"
                agreement += f"; depth {name}: {r[f'agreement_{depth}']:.3f}"
                if f"reached_{depth}" in r:
                    agreement += f" ({r[f'reached_{depth}']:.3f})"
        print(f"| {r['n']:,} | {r['store']} | {r['dense_p50']:.1f} | {lexical} | {agreement} |")


def print_methods(rows: list[dict]) -> None:
    """Old bounded lexical read against exact early-terminating BM25, same run."""
    print()
    print(
        "| passages | pg_lexical_method | lexical p50 / p95 ms | hybrid p50 / p95 ms | "
        "BM25 top-30 agreement (tie-aware) |"
    )
    print("|---:|---|---:|---:|---:|")
    for r in rows:
        for method in METHODS if r["store"] == "postgres" else ():
            cells = [f"{r['n']:,}", method]
            cells += [
                f"{r[f'{method}_{s}_p50']:.1f} / {r[f'{method}_{s}_p95']:.1f}"
                for s in ("lexical", "hybrid")
            ]
            cells.append(f"{r[f'{method}_agreement']:.3f} ({r[f'{method}_reached']:.3f})")
            print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="Comma-separated passages.")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="Keep the stores in this folder; sizes built there before are only re-measured.",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    scaleout_flags(parser)
    args = parser.parse_args()
    if args.ingest or args.replica:
        scaleout(args)
        return
    if args.child:
        step, kind, n, where = args.child
        if step == "build":
            out = (
                build_folder(int(n), Path(where))
                if kind == "folder"
                else build_postgres(int(n), where)
            )
        else:
            out = query_store(kind, int(n), where)
        print(json.dumps(out))
        return
    run([int(s) for s in args.sizes.split(",")], args.keep)


def scaleout_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the ingest and read-replica figures (scripts/bench_scaleout.py)."""
    parser.add_argument(
        "--ingest", action="store_true", help="Ingest rate per --jobs against the raw encoder."
    )
    parser.add_argument("--jobs", default="1,2", help="Worker processes to ingest with.")
    parser.add_argument(
        "--code", type=Path, default=None, help="With --ingest: time this checkout as baseline."
    )
    parser.add_argument(
        "--replica", action="store_true", help="Search latency with and without a replica."
    )


def scaleout(args: argparse.Namespace) -> None:
    import bench_scaleout

    sizes = [int(s) for s in args.sizes.split(",")]
    if args.ingest:
        jobs = [int(j) for j in args.jobs.split(",")]
        bench_scaleout.run_ingest(sizes, jobs, args.code)
    if args.replica:
        bench_scaleout.run_replica(sizes)


if __name__ == "__main__":
    main()
