"""What one PostgreSQL app worker holds, at sizes where a full benchmark build is costly.

    nice -n 5 .venv/bin/python scripts/bench_worker.py --sizes 10000,100000,1000000

Builds, by COPY, only the tables a worker reads: documents of 1,000 synthetic passages
of 80 words from the bundled letter's running text, as `scripts/bench_store.py` makes
them (ten such contents, repeated under each document's own ids and chunk ids, so a
million passages build in minutes), each document's vocabulary counts, retriever tables
and lower-case words, and the letter's vocabulary with random 512-d vectors. Passage
embeddings are one-number stand-ins and there are no postings: no search is run, so
neither is read. Then, per size, a fresh process opens the store, builds the
retriever's whole-corpus tables (`store.corpus_tables()`) and reads passages through the
cache until it is full (`pg_passage_cache`, or every passage if fewer; random positions,
100 per read as a question's hits come), and reports its resident memory (VmRSS) after
each step, how long opening took, what the change check before each question costs when
nothing changed, and how long re-reading one changed document takes (its row rewritten
by another connection; the vocabulary and the name table are read again with it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORDS_PER_PASSAGE = 80
PER_DOCUMENT = 1_000
CONTENTS = 10  # distinct 1,000-passage documents, repeated under their own ids


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build(url: str, n: int) -> float:
    """The worker's tables for `n` passages; seconds taken."""
    import psycopg

    from index.pg_schema import migrate
    from index.pgstore import manifest_fields
    from index.store import now_iso
    from rag.settings import Settings

    contents, terms = _contents()
    rng = np.random.default_rng(n)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
        manifest = manifest_fields(Settings(), "synthetic", 512, now_iso())
        conn.execute(
            "insert into rag_meta (id, manifest, passages, tokens) values (1, %s, %s, %s)",
            (json.dumps(manifest), n, n * WORDS_PER_PASSAGE),
        )
        with conn.cursor() as cur, cur.copy("copy rag_term_vectors from stdin") as copy:
            for term in terms:
                vector = rng.standard_normal(512).astype(np.float32)
                copy.write_row((term, "[" + ",".join(f"{v:.4f}" for v in vector) + "]"))
        for start in range(0, n, PER_DOCUMENT):
            doc = f"doc-{start // PER_DOCUMENT:05d}"
            _write(conn, doc, start, contents[(start // PER_DOCUMENT) % len(contents)])
        conn.execute("vacuum analyze")
    return time.perf_counter() - started


def _contents() -> tuple[list[dict], list[str]]:
    """CONTENTS prepared documents (passage JSON with placeholders, vocabulary counts,
    retriever tables, lower-case words) and the vocabulary; documents repeat them with
    their own ids, so a million passages build in minutes."""
    from index.load import bundled_corpus
    from index.pg_corpus import document_tables
    from rag.language.text import content_word_counts
    from rag.types import Chunk

    words = " ".join(p.read_text() for p in bundled_corpus().glob("*.txt")).split()
    rng = np.random.default_rng(0)
    contents = []
    for _ in range(CONTENTS):
        chunks = []
        for k in range(PER_DOCUMENT):
            at = int(rng.integers(0, len(words) - WORDS_PER_PASSAGE))
            text = " ".join(words[at : at + WORDS_PER_PASSAGE])
            chunks.append(Chunk.of_text(f"DOC:{k:08d}", "DOC", text))
        tables, lower = document_tables(chunks)
        contents.append(
            {
                "json": [c.model_dump_json() for c in chunks],
                "counts": content_word_counts([c.text for c in chunks]),
                "tables": json.dumps(tables),
                "lower": sorted(lower),
            }
        )
    return contents, sorted(content_word_counts([" ".join(words)]))


def _write(conn: object, doc: str, start: int, content: dict) -> None:
    """One document's rows, in one transaction."""
    with conn.transaction(), conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(
            "insert into rag_documents (doc_id, name, source, content_hash, chunks, meta) "
            "values (%s, %s, %s, %s, %s, %s)",
            (doc, doc, doc, doc, PER_DOCUMENT, json.dumps({"described": True})),
        )
        with cur.copy(
            "copy rag_passages (id, doc_id, ord, chunk_id, chunk, n_tokens, embedding) from stdin"
        ) as copy:
            for ord_, chunk in enumerate(content["json"]):
                chunk = chunk.replace('"DOC', f'"{doc}')
                chunk_id = f"{doc}:{start + ord_:08d}"
                chunk = chunk.replace(f'"{doc}:{ord_:08d}"', f'"{chunk_id}"', 1)
                copy.write_row((start + ord_ + 1, doc, ord_, chunk_id, chunk, 80, "[0]"))
        with cur.copy("copy rag_doc_terms (doc_id, term, count) from stdin") as copy:
            for term, count in content["counts"].items():
                copy.write_row((doc, term, count))
        cur.execute(
            "insert into rag_doc_tables values (%s, %s, %s)", (doc, start + 1, content["tables"])
        )
        with cur.copy("copy rag_doc_lower (word, doc_id) from stdin") as copy:
            for word in content["lower"]:
                copy.write_row((word, doc))


def measure(url: str) -> dict:
    """A worker's memory: opened, tables built, cache filled."""
    from index.pgstore import PgStore

    before = rss_mib()
    started = time.perf_counter()
    store = PgStore.open(url)
    tables = store.corpus_tables()
    opened_s = time.perf_counter() - started
    opened = rss_mib()
    rng = np.random.default_rng(0)
    limit = min(store.cache.limit, len(store.chunks))
    while len(store.cache) < limit:
        store.chunks.many(rng.integers(0, len(store.chunks), size=100).tolist())
    full = rss_mib()
    checks = []
    for _ in range(20):  # what a worker asks before each question when nothing changed
        started = time.perf_counter()
        assert store.reload_if_changed() is None
        checks.append(time.perf_counter() - started)
    with store.pool.connection() as conn:  # another worker rewrites one document's row
        conn.execute("update rag_documents set name = name where doc_id = 'doc-00000'")
    started = time.perf_counter()
    fresh = store.reload_if_changed()
    assert fresh is not None
    fresh.corpus_tables()
    refresh_s = time.perf_counter() - started
    store.pool.close()
    return {
        "passages": len(store.chunks),
        "documents": len(store.manifest.documents),
        "vocabulary": len(store.terms),
        "names": len(tables.names),  # type: ignore[attr-defined]
        "cache": limit,
        "imports_mib": before,
        "opened_mib": opened,
        "cache_full_mib": full,
        "open_s": opened_s,
        "check_ms": float(np.median(checks)) * 1000,
        "refresh_s": refresh_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--child", nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0])))
        return
    import pgserver
    import psycopg

    server = pgserver.get_server(
        tempfile.mkdtemp(prefix="rag-bench-worker-"), cleanup_mode="delete"
    )
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"create database worker_{n}")
            url = server.get_uri(f"worker_{n}")
            built_s = build(url, n)
            out = subprocess.run(
                [sys.executable, __file__, "--child", url],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                check=False,
            )
            if out.returncode != 0:
                raise SystemExit(f"worker at {n:,} failed:\n{out.stderr[-2000:]}")
            rows.append({**json.loads(out.stdout.strip().splitlines()[-1]), "build_s": built_s})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        server.cleanup()
    print(
        "| passages | documents | vocabulary | worker MiB after imports | opened + tables "
        "| cache full | open s | change check ms | one document re-read s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['passages']:,} | {r['documents']:,} | {r['vocabulary']:,} | "
            f"{r['imports_mib']:.0f} | {r['opened_mib']:.0f} | "
            f"{r['cache_full_mib']:.0f} ({r['cache']:,} passages) | {r['open_s']:.2f} | "
            f"{r['check_ms']:.1f} | {r['refresh_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
