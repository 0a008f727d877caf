"""Benchmark BM25 search: a plain query against concept search (what the retriever runs).

Passages are random 120-word draws from the letter's words; the query has 18 concepts of
one to three words each (a long English question after alignment). Prints a markdown
table with ms per query and the ratio to the plain query in the same process.

    .venv/bin/python scripts/bench_lexical.py
"""

from __future__ import annotations

import random
import time

from index.lexical import LexicalIndex
from index.load import bundled_corpus

CONCEPTS = [
    ["trade", "handel", "handelsbeleid"],
    ["overheidsfinanciën"],
    ["lidstaten", "eu-lidstaten"],
    ["defensie", "verdediging"],
    ["europese", "europees"],
    ["veiligheid", "veiligheids"],
] * 3
PLAIN = " ".join(word for concept in CONCEPTS for word in concept)
RUNS = 50


def per_query_ms(search: object, runs: int = RUNS) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        search()  # type: ignore[operator]
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    words = " ".join(p.read_text() for p in bundled_corpus().glob("*.txt")).split()
    rng = random.Random(0)
    print("| passages | plain BM25 ms | concept search ms | concept / plain |")
    print("|---:|---:|---:|---:|")
    for n in (1_000, 10_000, 50_000):
        index = LexicalIndex.build([" ".join(rng.choices(words, k=120)) for _ in range(n)])
        plain = per_query_ms(lambda index=index: index.search(PLAIN, 30))
        concept = per_query_ms(lambda index=index: index.concept_search(CONCEPTS, 30))
        print(f"| {n:,} | {plain:.2f} | {concept:.2f} | {concept / plain:.2f} |")


if __name__ == "__main__":
    main()
