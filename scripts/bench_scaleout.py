"""Ingest rate against the raw encoder, and search latency with and without a read
replica, for the PostgreSQL store (scripts/bench_store.py --ingest / --replica call these).

Ingest: synthetic documents of 80-word paragraphs drawn from the letter's running text
(`bench_store.PER_DOCUMENT` paragraphs each) go through `index.pg_write.ingest` as
`rag index build` sends them (clean, chunk, BM25 terms, COPY, one transaction per
document), with a synthetic encoder (random unit vectors), so what is timed is everything
but the model; `--jobs` worker processes each chunk and write whole documents. Dense
search stays exact (no HNSW build; its cost is in bench_store's build column). Beside it:
the raw encoder's rate (the bundled encoder on the same paragraphs, one process, its own
threads), the physical limit of a real ingest here, and a real ingest of a few documents
with that encoder. `--code DIR` times another checkout's ingest as a baseline (one
process: older code has no synthetic encoder for workers).

Replica: a streaming replica of the benchmark server (`pg_basebackup -R`, its own port,
same machine), then hybrid retrieval at 1, 8 and 32 concurrent queries with and without
`index.replicas`, on the same store and queries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import bench_store as bench
import numpy as np

REAL_ENCODER_TEXTS = 300  # paragraphs the raw encoder is timed on (~10 s here)
FULL_INGEST_UP_TO = 20_000  # larger sizes time the write path only (chunking: ~150/s here)
REAL_INGEST_DOCUMENTS = 2  # documents (~2,750 passages) ingested with the real encoder, per --jobs


class SyntheticEncoder:
    """Random unit vectors: the whole ingest but the model (picklable, for workers)."""

    model_id = "synthetic"
    dim = 512

    def encode_passages(self, texts: Any, progress: Any = None) -> np.ndarray:
        texts = list(texts)
        seed = zlib.crc32("".join(texts[:2]).encode()) + len(texts)
        rows = np.random.default_rng(seed).standard_normal((len(texts), self.dim))
        return bench.unit(rows.astype(np.float32))


def paragraphs(n: int, seed: int = 0) -> list[str]:
    words, *_ = bench.letter_material()
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(words) - bench.WORDS_PER_PASSAGE, size=n)
    return [" ".join(words[s : s + bench.WORDS_PER_PASSAGE]) for s in starts]


def documents(n: int) -> list[Any]:
    """About `n` passages as raw documents of `bench.PER_DOCUMENT` paragraphs each."""
    import hashlib

    from rag.types import RawDocument

    texts, out = paragraphs(n), []
    for start in range(0, n, bench.PER_DOCUMENT):
        text = "\n\n".join(texts[start : start + bench.PER_DOCUMENT])
        name = f"doc-{start // bench.PER_DOCUMENT:05d}"
        digest = hashlib.sha256(text.encode()).hexdigest()
        out.append(
            RawDocument(
                doc_id=name, name=f"{name}.txt", source=name, content_hash=digest, text=text
            )
        )
    return out


# ---- children ----------------------------------------------------------------------------------


def ingest_child(n: int, url: str, jobs: int, real: bool) -> dict:
    """Time one ingest into an empty database; passages written per second."""
    from index.pg_write import ingest
    from rag.settings import Settings

    settings = Settings(index={"store": url, "faiss_type": "flat"})
    docs = documents(n)
    if real:
        from rag.retrieval.embeddings import load_embedder

        encoder: Any = load_embedder(settings.embedding)
        docs = docs[:REAL_INGEST_DOCUMENTS]
    else:
        encoder = SyntheticEncoder()
    extra = {} if jobs == 1 or real else {"worker_encoder": SyntheticEncoder}
    started = time.perf_counter()
    store = ingest(settings, encoder, docs, keep=False, jobs=jobs, **extra)
    seconds = time.perf_counter() - started
    passages = len(store.chunks)
    store.pool.close()
    return {"passages": passages, "seconds": seconds, "rate": passages / seconds}


def write_child(n: int, url: str, jobs: int) -> dict:
    """The write path alone, as bench_store's build column times it (chunks and vectors
    given; one transaction per `PER_DOCUMENT` passages), in `jobs` processes that each
    write every `jobs`-th document; passages written per second."""
    import multiprocessing

    from index.pg_write import _prepare
    from index.pgstore import connect_pool
    from rag.settings import Settings

    pool = connect_pool(url, 1)
    _prepare(pool, Settings(index={"store": url}), SyntheticEncoder(), fresh=True)  # type: ignore[arg-type]
    pool.close()
    context = multiprocessing.get_context("spawn")
    barrier, times = context.Barrier(jobs), context.Queue()
    workers = [
        context.Process(target=_writer, args=(n, url, jobs, j, barrier, times)) for j in range(jobs)
    ]
    for worker in workers:
        worker.start()
    spans = [times.get(timeout=3600) for _ in workers]
    for worker in workers:
        worker.join()
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return {"passages": n, "seconds": seconds, "rate": n / seconds}


def _writer(n: int, url: str, jobs: int, me: int, barrier: Any, times: Any) -> None:
    """One writer process: its share of the documents, timed from a common start."""
    from index.pg_write import write_document
    from index.pgstore import connect_pool
    from rag.types import RawDocument

    chunks, vectors, _, _ = bench.corpus(n)
    pool = connect_pool(url, 1)
    barrier.wait()
    started = time.perf_counter()
    for k, start in enumerate(range(0, n, bench.PER_DOCUMENT)):
        if k % jobs != me:
            continue
        part = chunks[start : start + bench.PER_DOCUMENT]
        doc = part[0].doc_id
        raw = RawDocument(doc_id=doc, name=doc, source=doc, content_hash=doc, text="")
        write_document(pool, raw, part, vectors[start : start + bench.PER_DOCUMENT])
    times.put((started, time.perf_counter()))
    pool.close()


def encoder_child() -> dict:
    """The bundled encoder's own rate on the benchmark's paragraphs (after a warm-up)."""
    from rag.retrieval.embeddings import load_embedder
    from rag.settings import Settings

    encoder = load_embedder(Settings().embedding)
    texts = paragraphs(REAL_ENCODER_TEXTS + 20, seed=7)
    encoder.encode_passages(texts[:20])
    started = time.perf_counter()
    encoder.encode_passages(texts[20:])
    return {"rate": REAL_ENCODER_TEXTS / (time.perf_counter() - started)}


def replica_child(url: str, replicas: list[str], n: int) -> dict:
    """Hybrid retrieval p50/p95 at each concurrency, reading through `replicas` if any."""
    from index.pgstore import PgStore, connect_pool
    from rag.settings import IndexSettings

    settings = IndexSettings(pool_size=32, replicas=replicas)
    store = PgStore(url, connect_pool(url, 32), settings)
    for where in [url, *replicas]:
        bench.prewarm(where)
    vectors, concepts = bench.queries(n)
    warm_vectors, warm_concepts = bench.queries(n, salt=1)
    for vector, concept in zip(warm_vectors, warm_concepts, strict=True):
        bench.hybrid(store, vector, concept)
    result: dict = {}
    for threads in bench.CONCURRENCY:

        def timed(i: int) -> float:
            t = time.perf_counter()
            bench.hybrid(store, vectors[i], concepts[i])
            return (time.perf_counter() - t) * 1000

        with ThreadPoolExecutor(threads) as pool:
            times = list(pool.map(timed, range(bench.QUERIES)))
        result[f"p50_{threads}"] = float(np.percentile(times, 50))
        result[f"p95_{threads}"] = float(np.percentile(times, 95))
    router = store.router
    if router is not None:
        replica_reads = sum(r.reads for r in router.replicas)
        result["replica_share"] = replica_reads / max(replica_reads + router.primary_reads, 1)
    return result


CHILDREN = {
    "ingest": ingest_child,
    "write": write_child,
    "encoder": encoder_child,
    "replica": replica_child,
}


def child(name: str, *args: Any, code: Path = bench.ROOT) -> dict:
    """Run `CHILDREN[name](*args)` in a fresh process on the code in `code`."""
    output = subprocess.run(
        [sys.executable, __file__, json.dumps([name, *args])],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(code), "BENCH_CODE": str(code)},
    )
    if output.returncode != 0:
        raise SystemExit(f"child {name} {args} failed:\n{output.stderr[-3000:]}")
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


# ---- orchestration -----------------------------------------------------------------------------


def run_ingest(sizes: list[int], jobs: list[int], baseline: Path | None) -> None:
    """Ingest rates per size and --jobs (and the baseline code's, one process), then the
    raw encoder's rate and a real ingest with it; prints a markdown table."""
    import tempfile

    bench.letter_material()
    work = Path(tempfile.mkdtemp(prefix="rag-bench-ingest-"))
    server = bench.tuned_server(work / "pgdata")
    rows: list[dict] = []
    try:
        for n in sizes:
            runs = [("baseline", 1, baseline)] if baseline else []
            runs += [("this code", j, bench.ROOT) for j in jobs]
            steps = [("write", "write path")]
            if n <= FULL_INGEST_UP_TO:
                steps.append(("ingest", "rag index build"))
            for step, what in steps:
                for label, j, code in runs:
                    url = bench.fresh_database(server, f"ingest_{n}")
                    args = (n, url, j) if step == "write" else (n, url, j, False)
                    got = child(step, *args, code=code)
                    row = {"n": n, "what": what, "code": label, "jobs": j, **got}
                    rows.append({**row, "encoder": "synthetic"})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        for j in jobs:
            url = bench.fresh_database(server, "ingest_real")
            got = child("ingest", bench.PER_DOCUMENT * REAL_INGEST_DOCUMENTS, url, j, True)
            rows.append({"what": "rag index build", "code": "this code", "jobs": j, **got})
            rows[-1]["encoder"] = "bundled USE"
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        raw = child("encoder")["rate"]
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(
        "| passages | what | code | processes | encoder | s | passages/s | raw encoder passages/s |"
    )
    print("|---:|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['passages']:,} | {r['what']} | {r['code']} | {r['jobs']} | {r['encoder']} | "
            f"{r['seconds']:.1f} | {r['rate']:,.0f} | {raw:,.0f} |"
        )


def start_replica(server: Any, folder: Path) -> str:
    """A streaming replica of `server` (pg_basebackup -R from its Unix socket), started
    on the next port in the same socket folder; its URL."""
    from urllib.parse import parse_qs, urlsplit

    from pgserver._commands import POSTGRES_BIN_PATH

    query = parse_qs(urlsplit(server.get_uri()).query)
    host = query["host"][0]
    port = int(query.get("port", ["5432"])[0]) + 1
    user = "pgserver" if os.geteuid() == 0 else None  # as pgserver runs its server
    folder.mkdir(mode=0o700)
    if user:
        shutil.chown(folder, user)

    def run(*args: str) -> None:
        subprocess.run(
            [str(POSTGRES_BIN_PATH / args[0]), *args[1:]],
            check=True,
            user=user,
            capture_output=True,
            timeout=1800,
        )

    run("pg_basebackup", "-D", str(folder), "-R", "-X", "stream", "-c", "fast", "-h", host,
        "-U", "postgres")  # fmt: skip
    run("pg_ctl", "-D", str(folder), "-l", str(folder / "log"), "-w", "-o",
        f"-p {port} -k {host} -h ''", "start")  # fmt: skip
    return f"postgresql://postgres@/postgres?host={host}&port={port}"


def stop_replica(folder: Path) -> None:
    from pgserver._commands import POSTGRES_BIN_PATH

    user = "pgserver" if os.geteuid() == 0 else None
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(folder), "-m", "fast", "stop"],
        user=user,
        capture_output=True,
        check=False,
        timeout=120,
    )
    shutil.rmtree(folder, ignore_errors=True)


def run_replica(sizes: list[int]) -> None:
    """Hybrid retrieval latency without and with one streaming replica, per size."""
    import tempfile

    bench.letter_material()
    work = Path(tempfile.mkdtemp(prefix="rag-bench-replica-"))
    server = bench.tuned_server(work / "pgdata")
    rows: list[dict] = []
    try:
        for n in sizes:
            url = bench.fresh_database(server, f"bench_{n}")
            bench.child("build", "postgres", str(n), url)
            replica = start_replica(server, work / f"replica-{n}")
            try:
                replica_url = replica.replace("/postgres?", f"/bench_{n}?")
                for label, replicas in (("primary only", []), ("+1 replica", [replica_url])):
                    got = child("replica", url, replicas, n)
                    rows.append({"n": n, "reads": label, **got})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            finally:
                stop_replica(work / f"replica-{n}")
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    cells = " | ".join(f"p50/p95 ms ×{c}" for c in bench.CONCURRENCY)
    print(f"| passages | reads | {cells} | share of reads on replicas |")
    print("|---:|---|" + "---:|" * (len(bench.CONCURRENCY) + 1))
    for r in rows:
        times = " | ".join(f"{r[f'p50_{c}']:.1f} / {r[f'p95_{c}']:.1f}" for c in bench.CONCURRENCY)
        share = f"{r['replica_share']:.2f}" if "replica_share" in r else "0"
        print(f"| {r['n']:,} | {r['reads']} | {times} | {share} |")


if __name__ == "__main__":  # a child: [name, *args] as JSON
    if os.environ.get("BENCH_CODE"):  # time that checkout's code (bench_store put ours first)
        sys.path.insert(0, os.environ["BENCH_CODE"])
    name, *arguments = json.loads(sys.argv[1])
    print(json.dumps(CHILDREN[name](*arguments)))
