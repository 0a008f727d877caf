"""Benchmark index builds and FAISS search; prints markdown tables.

    .venv/bin/python scripts/bench_index.py            # full run (~6-9 min on 2 cores)
    .venv/bin/python scripts/bench_index.py --quick    # smoke run (~1 min)

Part 1, index build: the bundled letter, then synthetic corpora of about 1,000 and 10,000
passages (the letter's sentences shuffled, with random numbers and words swapped in so
every passage is distinct, plus English sentences). Each size runs in a fresh Python
process, so peak memory (ru_maxrss) of one size does not hide another's. Build time
excludes loading the embedding model (reported separately); ratios are against the letter
measured in the same run.

Part 2, dense search: FAISS exact (IndexFlatIP) against HNSW, built exactly as the index
builds them (`index.store.build_faiss`), one query per call on one thread as
`IndexStore.dense_search` does (flat search with FAISS's default OpenMP threads is shown
for comparison). Recall@10 of HNSW is measured against exact search. Random unit 512-d
vectors are the hard case for HNSW; the real USE vectors of the largest synthetic corpus
are measured too, and larger sets shaped like them (mixtures of two real vectors). This is
what the `approximate_above` default in `IndexSettings` rests on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENGLISH = [
    "The government supports an ambitious European trade agenda with {n} new partners.",
    "NATO allies agreed to raise defence spending to {n}% of GDP within {y} years.",
    "The Commission will present a proposal on economic security before {y}.",
    "Member states should pool their procurement of ammunition and air defence.",
    "Strategic dependencies on critical raw materials must be reduced by {n}%.",
    "The Netherlands calls for faster decision-making in the Council on foreign policy.",
    "Enlargement of the Union must be merit-based and carefully prepared.",
    "The cabinet wants a stronger European defence industry by {y}.",
    "Trade agreements such as the one with Mercosur give access to new markets.",
    "Development aid is increasingly linked to trade and investment interests.",
    "Europe must learn to speak the language of power, said the minister in {y}.",
    "A coalition of {n} countries will coordinate support for Ukraine.",
    "The external financing of the EU should serve mutual interests.",
    "Cyber security and hybrid threats require a joint European response.",
    "The budget for the period after {y} must reflect these priorities.",
]


# ---- synthetic corpora ---------------------------------------------------------------------


def letter_sentences() -> tuple[list[str], list[str], list[str]]:
    """Body sentences, headings and vocabulary of the bundled letter."""
    from index.chunk import sections
    from index.clean import clean_document
    from index.load import bundled_corpus, load_paths
    from rag.language.sentences import sentences

    doc = clean_document(load_paths([bundled_corpus()])[0])
    body: list[str] = []
    headings: list[str] = []
    for heading, start, end in sections(doc.text):
        if heading:
            headings.append(heading)
        body.extend(s for s in sentences(doc.text[start:end]) if len(s.split()) >= 5)
    vocab = sorted({w for w in re.findall(r"[^\W\d_]{5,}", doc.text.lower())})
    return body, headings, vocab


def mutate(sentence: str, rng: random.Random, vocab: list[str]) -> str:
    """Swap a few words and numbers so each copy of a sentence is a distinct passage."""
    words = sentence.split(" ")
    for _ in range(2):
        i = rng.randrange(1, len(words)) if len(words) > 1 else 0
        if words[i].isalpha() and words[i].islower():
            words[i] = rng.choice(vocab)
    text = " ".join(words)
    text = re.sub(r"\d+", lambda m: str(rng.randint(2, 2099)), text)
    return f"{text[:-1]} ({rng.randint(1, 99_999)})." if text.endswith(".") else text


def synthetic_text(n_sentences: int, rng: random.Random, parts: tuple) -> str:
    body, headings, vocab = parts
    paragraphs: list[str] = []
    sentences_left = n_sentences
    while sentences_left > 0:
        if rng.random() < 0.15:
            paragraphs.append(rng.choice(headings))
        size = min(sentences_left, rng.randint(3, 8))
        picked = []
        for _ in range(size):
            if rng.random() < 0.25:
                template = rng.choice(ENGLISH)
                picked.append(template.format(n=rng.randint(2, 99), y=rng.randint(2026, 2040)))
            else:
                picked.append(mutate(rng.choice(body), rng, vocab))
        paragraphs.append(" ".join(picked))
        sentences_left -= size
    return "\n\n".join(paragraphs) + "\n"


def write_corpus(folder: Path, target_chunks: int, seed: int = 7) -> int:
    """Write about `target_chunks` passages as ~100-passage .txt files; return sentences."""
    from index.build import chunk_raw_documents
    from index.load import load_paths
    from rag.settings import Settings

    rng = random.Random(seed)
    parts = letter_sentences()
    probe = folder / "probe"
    probe.mkdir(parents=True)
    (probe / "probe.txt").write_text(synthetic_text(400, rng, parts), encoding="utf-8")
    per_sentence = len(chunk_raw_documents(load_paths([probe]), Settings())) / 400
    shutil.rmtree(probe)
    sentences = max(20, round(target_chunks / per_sentence))
    per_file = max(20, round(100 / per_sentence))
    for i, start in enumerate(range(0, sentences, per_file)):
        n = min(per_file, sentences - start)
        (folder / f"doc-{i:04d}.txt").write_text(synthetic_text(n, rng, parts), encoding="utf-8")
    return sentences


# ---- children: one measurement per fresh process --------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_build(corpus: str, work: Path) -> dict:
    from index.build import build
    from index.load import bundled_corpus
    from rag.retrieval.embeddings import load_embedder
    from rag.settings import Settings

    folder = work / "corpus"
    if corpus != "letter":
        folder.mkdir(parents=True)
        write_corpus(folder, int(corpus))
    t0 = time.perf_counter()
    settings = Settings(index={"path": work / "index"})
    embedder = load_embedder(settings.embedding)
    embedder.encode_passages(["warm-up"])
    model_s = time.perf_counter() - t0
    rss_before = rss_mib()
    stages: dict[str, list[float]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages.setdefault(stage, [now, now])[1] = now

    t1 = time.perf_counter()
    store = build(
        settings,
        embedder,
        [bundled_corpus() if corpus == "letter" else folder],
        progress=progress,
    )
    build_s = time.perf_counter() - t1
    size = sum(p.stat().st_size for p in (work / "index").rglob("*") if p.is_file())
    return {
        "corpus": corpus,
        "documents": len(store.manifest.documents),
        "chunks": store.manifest.chunk_count,
        "terms": len(store.terms),
        "faiss": store.manifest.faiss_type,
        "model_s": model_s,
        "build_s": build_s,
        "stages": {k: v[1] - v[0] for k, v in stages.items()},
        "rss_before_mib": rss_before,
        "peak_mib": peak_mib(),
        "index_mib": size / 2**20,
    }


def child_faiss(sizes: list[int], queries: int, real_vectors: str | None, real_label: str) -> dict:
    import faiss
    import numpy as np

    from index.store import build_faiss

    rng = np.random.default_rng(0)
    rows = []
    default_threads = faiss.omp_get_max_threads()

    def search_all(index: faiss.Index, q: np.ndarray, threads: int) -> tuple[np.ndarray, list]:
        faiss.omp_set_num_threads(threads)
        index.search(q[:1], 10)  # warm-up
        found = np.zeros((len(q), 10), dtype=np.int64)
        times = []
        for i in range(len(q)):
            t = time.perf_counter()
            _, ids = index.search(q[i : i + 1], 10)
            times.append((time.perf_counter() - t) * 1000)
            found[i] = ids[0]
        faiss.omp_set_num_threads(default_threads)
        return found, times

    def measure(label: str, n: int, base: np.ndarray, q: np.ndarray) -> None:
        row: dict = {"data": label, "n": n}
        flat = build_faiss(base, "flat")
        exact, times = search_all(flat, q, 1)
        row["flat_ms"], row["flat_p95_ms"] = float(np.mean(times)), float(np.percentile(times, 95))
        row["flat_mt_ms"] = float(np.mean(search_all(flat, q, default_threads)[1]))
        row["flat_mib"] = len(faiss.serialize_index(flat)) / 2**20
        del flat
        t = time.perf_counter()
        hnsw = build_faiss(base, "hnsw")
        row["hnsw_build_s"] = time.perf_counter() - t
        found, times = search_all(hnsw, q, 1)
        row["hnsw_ms"], row["hnsw_p95_ms"] = float(np.mean(times)), float(np.percentile(times, 95))
        row["hnsw_mib"] = len(faiss.serialize_index(hnsw)) / 2**20
        hits = [len(set(a) & set(b)) for a, b in zip(exact, found, strict=True)]
        row["recall10"] = float(np.mean(hits) / 10)
        rows.append(row)
        print(f"  {label} {n}: done", file=sys.stderr, flush=True)

    def unit(x: np.ndarray) -> np.ndarray:
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    for n in sizes:
        base = unit(rng.standard_normal((n, 512), dtype=np.float32))
        q = unit(rng.standard_normal((queries, 512), dtype=np.float32))
        measure("random", n, base, q)
    if real_vectors and Path(real_vectors).exists():
        stored = faiss.read_index(str(real_vectors))
        vectors = unit(stored.reconstruct_n(0, stored.ntotal))
        # queries: held-out passages, perturbed a little (near, not equal, to the others)
        pick = rng.choice(len(vectors), size=min(queries, len(vectors) // 10), replace=False)
        noise = rng.standard_normal((len(pick), vectors.shape[1]), dtype=np.float32) * 0.02
        q = unit(vectors[pick] + noise)
        base = np.delete(vectors, pick, axis=0)
        measure(real_label, len(base), base, q)
        # larger sets shaped like real embeddings: mixtures of two real passage vectors
        for n in (x for x in sizes if x > len(base)):
            i, j = rng.integers(0, len(base), size=(2, n + len(q)))
            w = rng.uniform(0.5, 1.0, size=(n + len(q), 1)).astype(np.float32)
            mixed = unit(w * base[i] + (1 - w) * base[j])
            measure("USE mixtures", n, mixed[:n], mixed[n:])
    return {"rows": rows, "threads": default_threads}


# ---- orchestration -------------------------------------------------------------------------


def run_child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_table(results: list[dict]) -> str:
    base = results[0]
    base_rate = base["chunks"] / base["build_s"]
    lines = [
        "| corpus | docs | passages | build s | embed s | chunks/s | peak RSS MiB | "
        "RSS growth MiB | index MiB | build ×letter | chunks/s ×letter | peak ×letter |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["chunks"] / r["build_s"]
        label = "letter" if r["corpus"] == "letter" else f"synthetic ~{int(r['corpus']):,}"
        lines.append(
            f"| {label} | {r['documents']} | {r['chunks']:,} | {r['build_s']:.1f} | "
            f"{r['stages'].get('embed', 0):.1f} | {rate:.0f} | {r['peak_mib']:.0f} | "
            f"{r['peak_mib'] - r['rss_before_mib']:.0f} | {r['index_mib']:.1f} | "
            f"{r['build_s'] / base['build_s']:.1f} | {rate / base_rate:.2f} | "
            f"{r['peak_mib'] / base['peak_mib']:.2f} |"
        )
    return "\n".join(lines)


def stage_table(results: list[dict]) -> str:
    names = ["chunk", "embed", "terms", "store"]
    lines = [
        "| corpus | model load s | " + " | ".join(f"{n} s" for n in names) + " | terms |",
        "|---|---:|" + "---:|" * len(names) + "---:|",
    ]
    for r in results:
        label = "letter" if r["corpus"] == "letter" else f"synthetic ~{int(r['corpus']):,}"
        cells = " | ".join(f"{r['stages'].get(n, 0):.1f}" for n in names)
        lines.append(f"| {label} | {r['model_s']:.1f} | {cells} | {r['terms']:,} |")
    return "\n".join(lines)


def faiss_table(result: dict) -> str:
    threads = result["threads"]
    lines = [
        "| vectors | n | flat ms/query | flat p95 | HNSW ms/query | HNSW p95 | HNSW recall@10 "
        f"| HNSW build s | flat MiB | HNSW MiB | flat ms, {threads} threads |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['data']} | {r['n']:,} | {r['flat_ms']:.2f} | {r['flat_p95_ms']:.2f} | "
            f"{r['hnsw_ms']:.2f} | {r['hnsw_p95_ms']:.2f} | {r['recall10']:.3f} | "
            f"{r['hnsw_build_s']:.1f} | {r['flat_mib']:.0f} | {r['hnsw_mib']:.0f} | "
            f"{r['flat_mt_ms']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke run.")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--faiss-sizes", type=int, nargs="*", default=None)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "build":
            result = child_build(rest[0], Path(rest[1]))
        else:
            real = rest[-2] if rest[-2] != "-" else None
            result = child_faiss([int(x) for x in rest[1:-2]], int(rest[0]), real, rest[-1])
        print(json.dumps(result))
        return

    sizes = args.sizes or ([300] if args.quick else [1_000, 10_000])
    faiss_sizes = args.faiss_sizes or (
        [1_000, 5_000] if args.quick else [1_000, 10_000, 50_000, 100_000]
    )
    import platform

    cpus = len(os.sched_getaffinity(0))
    print(
        f"Machine: {platform.processor() or platform.machine()}, {cpus} CPUs, Python "
        f"{platform.python_version()}\n",
        flush=True,
    )
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        results = []
        for corpus in ["letter", *map(str, sizes)]:
            print(f"building {corpus} ...", file=sys.stderr, flush=True)
            results.append(run_child(["build", corpus, str(work / corpus)]))
        print("## Index build (bundled USE embedder, CPU)\n")
        print(build_table(results) + "\n")
        print(stage_table(results) + "\n", flush=True)

        largest = work / str(max(sizes)) / "index"
        real = next(largest.rglob("dense.faiss"), None) if largest.exists() else None
        print("searching ...", file=sys.stderr, flush=True)
        faiss_result = run_child(
            [
                "faiss",
                str(args.queries),
                *map(str, faiss_sizes),
                str(real) if real else "-",
                f"USE, ~{max(sizes):,}-passage corpus",
            ]
        )
        print(
            f"## Dense search: {args.queries} single queries, top 10, 1 thread "
            "(as IndexStore.dense_search)\n"
        )
        print(faiss_table(faiss_result) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"Total benchmark time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
