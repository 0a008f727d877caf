"""Fit and cross-validate the answer-relevance model; write rag/relevance_model.json.

Pairs: for each question of the given sets, the candidate sentences the extractive
backend considers (its top `--pool` by ranking score, from the top-k retrieved
passages), labelled 1 when the sentence holds (part of) a gold evidence quote, else 0;
every candidate of an unanswerable question is 0. Features come from the same code the
assistant runs (`rag.verify.relevance.features`). A logistic regression (L2, Newton steps) is
cross-validated with folds grouped by question, so no question is in both its training
and test fold. Thresholds: `partial_threshold` is the highest at which at most
`--max-answerable-refused` of the answerable questions (whose evidence was retrieved)
would be refused in cross-validation; `answer_threshold` is the pair-level threshold
with the best cross-validated accuracy.

    .venv/bin/python scripts/calibrate_relevance.py \
        --dataset eval/data/dev.jsonl --dataset eval/data/extra_dev.jsonl \
        --dataset eval/data/train_relevance.jsonl [--write]
    .venv/bin/python scripts/calibrate_relevance.py --evaluate --dataset HELD_OUT.jsonl
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from assembly.library import open_pipeline
from eval.dataset import load_dataset
from eval.textmatch import compact
from rag.backends.extractive import ExtractiveBackend, rank_sentences
from rag.query.analysis import analyse
from rag.settings import Settings
from rag.verify.relevance import FEATURES, MODEL_FILE, WordCounterparts, features, load_model


def answers(sentence: str, evidence: list[str]) -> bool:
    text = compact(sentence)
    return any(compact(q) and (compact(q) in text or text in compact(q)) for q in evidence)


def build_pairs(datasets: list[Path], pool: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    settings = pipeline.settings
    counterparts = WordCounterparts(pipeline.embedder)
    rules = ExtractiveBackend(pipeline.embedder, settings.answer)
    rows, labels, questions = [], [], []
    for path in datasets:
        for item in load_dataset(path):
            query = analyse(item.question)
            query = replace(query, unknown=tuple(pipeline.retriever.unknown_words(query)))
            hits = pipeline.retriever.search(query, settings.retrieval.k)
            ranked = rank_sentences(pipeline.embedder, settings.answer, query.focus, hits)[:pool]
            if not ranked:
                continue
            notes = [hits[c.hit_index].chunk.kind == "footnote" for c in ranked]
            x = features(query, ranked, notes, counterparts)
            y = [answers(c.text, item.evidence) for c in ranked]
            start = len(labels)
            rows.append(x)
            labels += y
            questions.append(
                {
                    "id": f"{path.stem}:{item.id}",
                    "lang": item.lang,
                    "answerable": not item.unanswerable,
                    "retrieved": any(y),
                    "rules_refuse": not rules.select_by_rules(query, hits),
                    "rows": (start, len(labels)),
                }
            )
    return np.vstack(rows), np.asarray(labels, dtype=np.float64), questions


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 25) -> np.ndarray:
    """Logistic regression by Newton's method; returns weights with the bias last."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    penalty = l2 * np.eye(len(w))
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian, gradient)
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ w[:-1] + w[-1])))


def cross_validate(x: np.ndarray, y: np.ndarray, questions: list[dict], folds: int) -> np.ndarray:
    order = np.random.default_rng(0).permutation(len(questions))
    scores = np.zeros(len(y))
    for fold in range(folds):
        test = {int(i) for i in order[fold::folds]}
        test_rows = [r for i in test for r in range(*questions[i]["rows"])]
        train_rows = [
            r for i in range(len(questions)) if i not in test for r in range(*questions[i]["rows"])
        ]
        w = fit(x[train_rows], y[train_rows])
        scores[test_rows] = predict(w, x[test_rows])
    return scores


def best_per_question(scores: np.ndarray, questions: list[dict]) -> np.ndarray:
    return np.asarray([scores[slice(*q["rows"])].max() for q in questions])


def choose_thresholds(
    scores: np.ndarray, y: np.ndarray, questions: list[dict], max_refused: float
) -> tuple[float, float, float]:
    """(partial threshold, answer threshold, pair accuracy at the answer threshold)."""
    best = best_per_question(scores, questions)
    rules = np.asarray([q["rules_refuse"] for q in questions])
    answerable = [i for i, q in enumerate(questions) if q["answerable"]]
    partial = 0.0
    for t in np.unique(np.round(best, 3)):
        if np.mean((best < t)[answerable] | rules[answerable]) <= max_refused:
            partial = float(t)
    accuracy, answer = 0.0, 0.5
    for t in np.linspace(0.05, 0.95, 91):
        acc = float(np.mean((scores >= t) == (y == 1)))
        if acc > accuracy:
            accuracy, answer = acc, float(t)
    return partial, max(answer, partial), accuracy


def report(
    scores: np.ndarray, y: np.ndarray, questions: list[dict], partial: float, answer: float
) -> dict:
    best = best_per_question(scores, questions)
    rules = np.asarray([q["rules_refuse"] for q in questions])
    refused = (best < partial) | rules
    predicted = scores >= answer
    positives = y == 1
    out = {
        "pairs": int(len(y)),
        "positive_pairs": int(positives.sum()),
        "pair_accuracy": round(float(np.mean(predicted == positives)), 3),
        "pair_balanced_accuracy": round(
            float((np.mean(predicted[positives]) + np.mean(~predicted[~positives])) / 2), 3
        ),
    }
    for lang in ("nl", "en", "all"):
        chosen = [i for i, q in enumerate(questions) if lang in ("all", q["lang"])]
        unanswerable = [i for i in chosen if not questions[i]["answerable"]]
        answerable = [i for i in chosen if questions[i]["answerable"]]
        findable = [i for i in answerable if questions[i]["retrieved"]]
        out[lang] = {
            "unanswerable_refused": _share(refused[unanswerable]),
            "answerable_refused": _share(refused[answerable]),
            "answerable_with_evidence_retrieved_refused": _share(refused[findable]),
            "rules_alone": f"unanswerable {_share(rules[unanswerable])}, "
            f"answerable {_share(rules[answerable])}",
        }
    return out


def _share(flags: np.ndarray) -> str:
    return f"{np.mean(flags):.2f} ({int(flags.sum())}/{len(flags)})" if len(flags) else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, action="append", required=True)
    parser.add_argument("--pool", type=int, default=8, help="Candidates per question.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-answerable-refused", type=float, default=0.05)
    parser.add_argument("--write", action="store_true", help=f"Write {MODEL_FILE}.")
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="Score the shipped model on these (held-out) sets instead of fitting one.",
    )
    args = parser.parse_args()
    x, y, questions = build_pairs(args.dataset, args.pool)
    if args.evaluate:
        model = load_model()
        scores = model.probability(x)
        figures = report(scores, y, questions, model.partial_threshold, model.answer_threshold)
        print(json.dumps({"held_out": figures}, indent=2))
        return
    scores = cross_validate(x, y, questions, args.folds)
    partial, answer, _ = choose_thresholds(scores, y, questions, args.max_answerable_refused)
    figures = report(scores, y, questions, partial, answer)
    print(json.dumps({"cross_validated": figures}, indent=2))
    w = fit(x, y)
    weights = {name: round(float(v), 4) for name, v in zip(FEATURES, w[:-1], strict=True)}
    print(json.dumps({"weights": weights, "bias": round(float(w[-1]), 4)}, indent=2))
    print(f"partial_threshold={partial:.3f} answer_threshold={answer:.3f}")
    if args.write:
        model = {
            "weights": weights,
            "bias": round(float(w[-1]), 4),
            "answer_threshold": round(answer, 3),
            "partial_threshold": round(partial, 3),
            "provenance": "scripts/calibrate_relevance.py --dataset "
            + " --dataset ".join(str(p) for p in args.dataset)
            + f" --pool {args.pool} --folds {args.folds}",
            "cross_validated": figures,
        }
        MODEL_FILE.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
