"""Latency of answers over the mixed index, the document stage on against off, measured
side by side so both see the same machine load.

Two pipelines over the same index (each with its own encoder and memo) answer every
question in turn, the order alternating per question; each answer's own total
(`Answer.timings_ms["total"]`, the pipeline loaded and warm) is recorded.

    .venv/bin/python scripts/multidoc_latency.py --index /tmp/md_build \\
        [--dataset eval/data/multidoc/dev.jsonl eval/data/dev.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument(
        "--dataset",
        nargs="*",
        type=Path,
        default=[ROOT / "eval/data/multidoc/dev.jsonl", ROOT / "eval/data/dev.jsonl"],
    )
    args = parser.parse_args()

    from assembly.library import open_pipeline
    from rag.settings import Settings

    base = Settings()
    base = base.model_copy(update={"index": base.index.model_copy(update={"path": args.index})})
    pipelines = {}
    for name, stage in (("on", True), ("off", False)):
        retrieval = base.retrieval.model_copy(update={"document_stage": stage})
        pipelines[name] = open_pipeline(base.model_copy(update={"retrieval": retrieval}))
        pipelines[name].warm_up()
        pipelines[name].ask("warm-up: what does the letter say about trade?")
    questions = [
        json.loads(line)["question"]
        for path in args.dataset
        for line in path.open(encoding="utf-8")
        if line.strip()
    ]
    times: dict[str, list[float]] = {"on": [], "off": []}
    for n, question in enumerate(questions):
        for name in ("on", "off") if n % 2 == 0 else ("off", "on"):
            answer = pipelines[name].ask(question)
            times[name].append(answer.timings_ms.get("total", 0.0))
    load = os.getloadavg()[0]
    print(f"{len(questions)} questions, load average {load:.1f} on {os.cpu_count()} CPUs")
    for name, values in times.items():
        print(
            f"stage {name}: p50 {np.percentile(values, 50):.1f} ms, "
            f"p95 {np.percentile(values, 95):.1f} ms, max {max(values):.1f} ms"
        )


if __name__ == "__main__":
    main()
