"""Benchmark: answers per second through the HTTP API at 1/8/16/32 concurrent clients,
next to the in-process rate (`pipeline.ask` in a loop, what `rag ask --questions` does)
measured in the same run.

The server is `rag serve` (chat UI and API on one port; with `--workers N`, `rag serve
--api-only --workers N`) started as its own process on loopback; clients are threads in
this process, each connected before the clock starts and then sending a bounded number
of questions to POST /api/ask. An answer counts as correct when its text equals the
in-process answer to the same question (the default extractive backend is deterministic).

    nice -n 19 .venv/bin/python scripts/bench_load.py            # ~3 minutes
    nice -n 19 .venv/bin/python scripts/bench_load.py --per-client 4 --clients 1 8 16 32
    .venv/bin/python scripts/bench_load.py --clients 8 16 32 64 --per-client 5 --soak 1000
    .venv/bin/python scripts/bench_load.py --workers 2     # two API processes

Each level also reports the server's resident memory before and after; `--soak N` then
sends N more questions from 8 clients and reports the server's RSS growth.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "data" / "extra_dev.jsonl"


def questions(limit: int) -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    return [row["question"] for row in rows if row.get("question")][:limit]


def open_index(index: Path):
    from assembly.library import open_pipeline
    from rag.settings import Settings

    return open_pipeline(Settings(index={"path": index}), build_if_missing=True)


def in_process(pipeline, asked: list[str], rounds: int) -> tuple[float, float]:
    """(answers/s, p50 ms) of sequential in-process answering."""
    latencies = []
    started = time.perf_counter()
    for _ in range(rounds):
        for question in asked:
            t = time.perf_counter()
            pipeline.ask(question)
            latencies.append(time.perf_counter() - t)
    rate = len(latencies) / (time.perf_counter() - started)
    return rate, statistics.median(latencies) * 1000


def start_server(index: Path, port: int, log: Path, workers: int) -> subprocess.Popen:
    rag = Path(sys.executable).parent / "rag"
    command = [str(rag)] if rag.exists() else [sys.executable, "-m", "ui.cli"]
    command += ["--index", str(index), "serve", "--port", str(port)]
    if workers > 1:
        command += ["--api-only", "--workers", str(workers)]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"rag serve exited early; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    sys.exit(f"rag serve did not answer within 300 s; see {log}")


def load(url: str, clients: int, per_client: int, expected: dict[str, str]) -> dict[str, float]:
    """`clients` threads, each asking `per_client` questions in turn."""
    asked = list(expected)

    ready = threading.Barrier(clients + 1)

    def client(n: int) -> list[tuple[float, bool, bool]]:
        results = []
        with httpx.Client(base_url=url, timeout=120) as http:
            http.get("/api/health")  # connected before the clock starts, as a client that stays
            ready.wait()
            for i in range(per_client):
                question = asked[(n + i) % len(asked)]
                t = time.perf_counter()
                try:
                    response = http.post("/api/ask", json={"question": question})
                    ok = response.status_code == 200
                    right = ok and response.json()["answer"] == expected[question]
                except httpx.HTTPError:
                    ok = right = False
                results.append((time.perf_counter() - t, ok, right))
        return results

    with ThreadPoolExecutor(max_workers=clients) as pool:
        batches = pool.map(client, range(clients))
        ready.wait()  # every client is connected: start the clock
        started = time.perf_counter()
        results = [r for batch in batches for r in batch]
    elapsed = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    return {
        "requests": len(results),
        "errors": sum(not ok for _, ok, _ in results),
        "wrong": sum(ok and not right for _, ok, right in results),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
        "rate": sum(ok for _, ok, _ in results) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="Index folder (default: a fresh temp one).")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 16, 32])
    parser.add_argument("--per-client", type=int, default=16, help="Questions per client.")
    parser.add_argument("--questions", type=int, default=16, help="Distinct questions used.")
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Server processes: 1 is `rag serve` (chat UI and API); more is "
        "`rag serve --api-only --workers N`.",
    )
    parser.add_argument(
        "--soak",
        type=int,
        default=0,
        help="Then this many more questions (8 clients), reporting the server's RSS growth.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        index = args.index or Path(tmp) / "index"
        asked = questions(args.questions)
        pipeline = open_index(index)
        expected = {q: pipeline.ask(q).answer for q in asked}  # warm-up and expected texts
        before, p50 = in_process(pipeline, asked, rounds=3)
        print(f"in-process before: {before:.1f} answers/s, p50 {p50:.0f} ms", flush=True)
        server = start_server(index, args.port, Path(tmp) / "server.log", args.workers)
        rows = []
        try:
            url = f"http://127.0.0.1:{args.port}"
            # Warm-up, as the in-process pipeline was: every question once per worker (new
            # connections, which the kernel spreads over the workers), untimed.
            for _ in range(2 * args.workers):
                load(url, len(expected), 1, expected)
            for clients in args.clients:
                rss = rss_mb(server.pid)
                result = load(url, clients, args.per_client, expected)
                rows.append(
                    (clients, {**result, "rss_before": rss, "rss_after": rss_mb(server.pid)})
                )
                print(f"  {clients} clients done", flush=True)
            if args.soak:
                start = rss_mb(server.pid)
                soak = load(url, 8, max(1, args.soak // 8), expected)
                end = rss_mb(server.pid)
                print(
                    f"soak: {soak['requests']:.0f} questions, {soak['errors']:.0f} errors, "
                    f"{soak['wrong']:.0f} wrong; server RSS {start:.0f} -> {end:.0f} MB "
                    f"({(end - start) / start * 100:+.1f}%)",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
        after, p50 = in_process(pipeline, asked, rounds=3)
        print(f"in-process after: {after:.1f} answers/s, p50 {p50:.0f} ms")
    # The machine may be shared: compare with the better of the two in-process rates.
    best = max(before, after)
    print(f"\nratios against the better in-process rate, {best:.1f} answers/s\n")
    print(
        "| clients | requests | errors | wrong | p50 ms | p95 ms | answers/s | × in-process "
        "| server RSS MB before → after |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for clients, r in rows:
        print(
            f"| {clients} | {r['requests']:.0f} | {r['errors']:.0f} | {r['wrong']:.0f} "
            f"| {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['rate']:.1f} | {r['rate'] / best:.2f} "
            f"| {r['rss_before']:.0f} → {r['rss_after']:.0f} |"
        )


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes (Linux /proc), in MB."""
    total = 0.0
    for process in [pid, *_children(pid)]:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def _children(pid: int) -> list[int]:
    found = []
    for tasks in Path(f"/proc/{pid}/task").iterdir():
        for child in (tasks / "children").read_text().split():
            found += [int(child), *_children(int(child))]
    return found


if __name__ == "__main__":
    main()
