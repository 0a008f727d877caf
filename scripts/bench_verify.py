"""How many claims a second the learned judge checks (target: 25 on this machine).

Inputs the size of AttributionBench's: claims of 10–30 words with 1–5 passages of up to
400 words. By default they are the AttributionBench dev rows of that size (when the
shared evaluation data is there); otherwise, or with `--letter`, claims and passages cut
from the bundled letter (each claim a sentence, every other one with a number changed).
Each claim's passages are new text to the embedder, as they would be for another
system's answers; the embedder is warmed on other text first.

    .venv/bin/python scripts/bench_verify.py [--n 200] [--letter]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from index.load import bundled_corpus
from rag.language.sentences import sentences
from rag.retrieval.embeddings import load_embedder
from rag.settings import Settings
from rag.verify.judge import judge, load_model

ROOT = Path(__file__).resolve().parents[1]
SHARED = next(
    (p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.exists()),
    ROOT.parent / "shared",
)  # beside the checkout, or beside the folder of worktrees
ATTRIBUTION = SHARED / "eval" / "attribution" / "dev_all_subset_balanced.jsonl"


def _sized(claim: str, passages: list[str]) -> bool:
    return (
        10 <= len(claim.split()) <= 30
        and 1 <= len(passages) <= 5
        and all(len(p.split()) <= 400 for p in passages)
    )


def from_attribution(n: int) -> list[tuple[str, list[str], str]]:
    rows = [json.loads(line) for line in ATTRIBUTION.read_text(encoding="utf-8").splitlines()]
    cases = [(r["claim"], r["references"], r["question"]) for r in rows]
    return [c for c in cases if _sized(c[0], c[1])][:n]


def from_letter(n: int) -> list[tuple[str, list[str], str]]:
    text = " ".join(
        p.read_text(encoding="utf-8", errors="ignore")
        for p in sorted(bundled_corpus().glob("*.txt"))
    )
    found = [s for s in sentences(text) if 10 <= len(s.split()) <= 30]
    words = text.split()
    cases = []
    for i, claim in enumerate(found[:n]):
        at = max(0, text.find(claim))
        start = len(text[:at].split())
        passage = " ".join(words[max(0, start - 150) : start + 200])
        other = " ".join(words[(start + 3000) % len(words) :][:300])
        if i % 2:
            claim = re.sub(r"\d+", lambda m: str(int(m.group()) + 7), claim, count=1) + " "
        cases.append((claim, [passage, other][: 1 + i % 2], ""))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="Claims to check.")
    parser.add_argument("--letter", action="store_true", help="Use the bundled letter.")
    args = parser.parse_args()
    embedder = load_embedder(Settings().embedding)
    model = load_model()
    use_letter = args.letter or not ATTRIBUTION.exists()
    cases = from_letter(args.n) if use_letter else from_attribution(args.n)
    judge(
        embedder, "Warming up the encoder.", ["A passage to warm up the encoder with."], "", model
    )
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    supported = sum(judge(embedder, c, p, q, model).supported for c, p, q in cases)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    source = "the bundled letter" if use_letter else "AttributionBench dev"
    print(
        f"{len(cases)} claims from {source}: {elapsed:.1f} s, {len(cases) / elapsed:.1f} claims/s"
    )
    print(f"CPU time {cpu:.1f} s: {len(cases) / cpu:.1f} claims per CPU-second")
    after = os.getloadavg()[0]
    print(f"({supported} judged supported; load average {load:.1f} before, {after:.1f} after)")


if __name__ == "__main__":
    main()
