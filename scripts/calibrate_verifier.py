"""Calibrate the offline verifier's SUPPORT_THRESHOLD on labelled pairs from a dataset.

Positives: each evidence quote with the passage that holds it, and each reference answer
(Dutch or English) with its evidence passages; negatives: the same sentences with the
passages of another question. Prints the accuracy at the current threshold, the best
threshold, and its two-fold cross-validated accuracy (fit on one half, test on the other).

    .venv/bin/python scripts/calibrate_verifier.py [--dataset eval/data/dev.jsonl]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from assembly.library import open_pipeline
from eval.dataset import DEFAULT_DATASET, load_dataset
from eval.judges import labelled_pairs
from rag.settings import Settings
from rag.verify import support as verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    pairs = labelled_pairs(load_dataset(args.dataset), [c.text for c in pipeline.store.chunks])
    scores = [verify.support_score(pipeline.embedder, s, [p]) for s, p, _ in pairs]
    labels = [label for _, _, label in pairs]
    current = sum(
        (s >= verify.SUPPORT_THRESHOLD) == y for s, y in zip(scores, labels, strict=True)
    ) / len(pairs)
    best, best_accuracy = verify.calibrate(scores, labels)
    halves = [(scores[0::2], labels[0::2]), (scores[1::2], labels[1::2])]
    held_out = []
    for (fit_s, fit_y), (test_s, test_y) in (halves, halves[::-1]):
        threshold, _ = verify.calibrate(fit_s, fit_y)
        held_out.append(
            sum((s >= threshold) == y for s, y in zip(test_s, test_y, strict=True)) / len(test_y)
        )
    print(f"pairs: {len(pairs)} ({sum(labels)} supported)")
    print(f"accuracy at SUPPORT_THRESHOLD={verify.SUPPORT_THRESHOLD}: {current:.3f}")
    print(f"best threshold on all pairs: {best:.3f} (accuracy {best_accuracy:.3f})")
    print(f"two-fold cross-validated accuracy: {sum(held_out) / 2:.3f}")


if __name__ == "__main__":
    main()
