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

With `--pairs` (the shipped model, issue 21) the model is fitted on hand-labelled
(question, sentence, level) pairs instead (`eval/labels/relevance_pairs.jsonl`, the same
questions in Dutch and English): each pair's features are those of the sentence among
the extractive backend's candidates for its question (the pool it judges, with the
labelled sentence added when it is not in it); the levels are targets 1 / 0.5 / 0 of one
logistic model, and the two thresholds are those with the best agreement on the
calibration half (the mean of the Dutch and the English agreement). Questions are split
in two halves by a fixed seed, both wordings of a question on the same side; the
figures are the agreement with the labels on the held-out half, per language, and the
share of pairs whose verdict is identical in the two languages.

    .venv/bin/python scripts/calibrate_relevance.py --pairs eval/labels/relevance_pairs.jsonl \
        [--write] [--evaluate] [--splits 10]
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
from rag.verify.relevance import (
    FEATURES,
    MODEL_FILE,
    WordCounterparts,
    best_semantic,
    features,
    load_model,
)


def answers(sentence: str, evidence: list[str]) -> bool:
    text = compact(sentence)
    return any(compact(q) and (compact(q) in text or text in compact(q)) for q in evidence)


def build_pairs(datasets: list[Path], pool: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    settings = pipeline.settings
    counterparts = WordCounterparts(pipeline.embedder)
    rules = ExtractiveBackend(pipeline.embedder, settings.answer)
    rows: list[np.ndarray] = []
    labels: list[bool] = []
    questions: list[dict] = []
    for path in datasets:
        for item in load_dataset(path):
            query = analyse(item.question)
            query = replace(query, unknown=tuple(pipeline.retriever.unknown_words(query)))
            hits = pipeline.retriever.search(query, settings.retrieval.k)
            ranked = rank_sentences(pipeline.embedder, settings.answer, query.focus, hits)[:pool]
            if not ranked:
                continue
            notes = [hits[c.hit_index].chunk.kind == "footnote" for c in ranked]
            best = best_semantic(pipeline.embedder, settings.answer, query.focus, hits)
            x = features(query, ranked, notes, counterparts, best)
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


def load_pairs(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def pair_rows(pairs: list[dict]) -> np.ndarray:
    """Each pair's features: its sentence among the candidates the extractive backend
    judges for its question (the labelled sentence added when it is not among them)."""
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    settings = pipeline.settings
    counterparts = WordCounterparts(pipeline.embedder)
    rows = []
    for pair in pairs:
        query = analyse(pair["question"])
        query = replace(query, unknown=tuple(pipeline.retriever.unknown_words(query)))
        hits = pipeline.retriever.search(query, settings.retrieval.k)
        key = compact(pair["sentence"])
        ranked = rank_sentences(pipeline.embedder, settings.answer, query.focus, hits)
        pool = ranked[: settings.answer.relevance_pool]
        target = next((c for c in ranked if key in compact(c.text)), None)
        if target is None:  # a passage beyond the top k: found by its own words
            found = pipeline.retriever.search(pair["sentence"], settings.retrieval.k)
            hits = [*hits, *(h for h in found if key in compact(h.chunk.text))][: len(hits) + 1]
            ranked = rank_sentences(pipeline.embedder, settings.answer, query.focus, hits)
            target = next((c for c in ranked if key in compact(c.text)), None)
        if target is None:
            raise SystemExit(f"{pair['id']}: sentence not found: {pair['sentence']!r}")
        pool = [c for c in pool if c.text != target.text] + [target]
        notes = [hits[c.hit_index].chunk.kind == "footnote" for c in pool]
        best = best_semantic(pipeline.embedder, settings.answer, query.focus, hits)
        rows.append(features(query, pool, notes, counterparts, best)[-1])
    return np.vstack(rows)


LEVEL_TARGET = {"answers": 1.0, "partial": 0.5, "unrelated": 0.0}


def split_groups(pairs: list[dict], seed: int = 0) -> np.ndarray:
    """True for the pairs in the calibration half (whole questions, both wordings)."""
    groups = sorted({p["group"] for p in pairs})
    order = np.random.default_rng(seed).permutation(len(groups))
    calibration = {groups[i] for i in order[: len(groups) // 2]}
    return np.asarray([p["group"] in calibration for p in pairs])


def levels(scores: np.ndarray, answer: float, partial: float) -> np.ndarray:
    partial_or_not = np.where(scores >= partial, "partial", "unrelated")
    return np.where(scores >= answer, "answers", partial_or_not)


def pair_thresholds(scores: np.ndarray, pairs: list[dict]) -> tuple[float, float]:
    """(answer, partial) thresholds with the best mean of the two languages' agreement."""
    labels = np.asarray([p["label"] for p in pairs])
    langs = np.asarray([p["lang"] for p in pairs])
    best, chosen = -1.0, (0.5, 0.25)
    for answer in np.linspace(0.05, 0.95, 91):
        for partial in np.linspace(0.02, answer, 48):
            same = levels(scores, answer, partial) == labels
            agreement = float(np.mean([same[langs == lang].mean() for lang in ("nl", "en")]))
            if agreement > best:
                best, chosen = agreement, (float(answer), float(partial))
    return chosen


def pair_report(verdicts: np.ndarray, pairs: list[dict]) -> dict:
    """Agreement with the labels per language (three levels, and answers-or-not), and
    the share of (question, sentence) pairs whose verdict is the same in both languages."""
    labels = np.asarray([p["label"] for p in pairs])
    out: dict = {"pairs": len(pairs)}
    for lang in ("nl", "en"):
        chosen = np.asarray([p["lang"] == lang for p in pairs])
        same = verdicts[chosen] == labels[chosen]
        binary = (verdicts[chosen] == "answers") == (labels[chosen] == "answers")
        out[lang] = {
            "agreement": _share(same),
            "answers_or_not_agreement": _share(binary),
            "labelled_answers_judged_answers": _share(
                verdicts[chosen][labels[chosen] == "answers"] == "answers"
            ),
            "labelled_unanswered_judged_answers": _share(
                verdicts[chosen][labels[chosen] != "answers"] == "answers"
            ),
        }
    twins: dict[tuple[str, str], dict[str, str]] = {}
    for pair, verdict in zip(pairs, verdicts, strict=True):
        twins.setdefault((pair["group"], pair["sentence"]), {})[pair["lang"]] = str(verdict)
    both = [v for v in twins.values() if len(v) == 2]
    out["identical_across_languages"] = _share(np.asarray([v["nl"] == v["en"] for v in both]))
    return out


def fit_on_pairs(
    x: np.ndarray, pairs: list[dict], calibration: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Weights (bias last), answer and partial thresholds from the calibration pairs."""
    train = [p for p, c in zip(pairs, calibration, strict=True) if c]
    y = np.asarray([LEVEL_TARGET[p["label"]] for p in train])
    w = fit(x[calibration], y)
    answer, partial = pair_thresholds(predict(w, x[calibration]), train)
    return w, answer, partial


def split_spread(x: np.ndarray, pairs: list[dict], splits: int) -> dict:
    """Held-out figures over `splits` random halvings (seeds 0..splits-1): how much the
    one reported split owes to chance."""
    names = ("nl_agreement", "en_agreement", "nl_answers_or_not", "en_answers_or_not")
    rows = []
    for seed in range(splits):
        calibration = split_groups(pairs, seed)
        w, answer, partial = fit_on_pairs(x, pairs, calibration)
        verdicts = levels(predict(w, x[~calibration]), answer, partial)
        held = [p for p, c in zip(pairs, calibration, strict=True) if not c]
        labels = np.asarray([p["label"] for p in held])
        langs = np.asarray([p["lang"] for p in held])
        row = [float(np.mean(verdicts[langs == g] == labels[langs == g])) for g in ("nl", "en")]
        row += [
            float(np.mean((verdicts[langs == g] == "answers") == (labels[langs == g] == "answers")))
            for g in ("nl", "en")
        ]
        twins: dict[tuple[str, str], dict[str, str]] = {}
        for pair, verdict in zip(held, verdicts, strict=True):
            twins.setdefault((pair["group"], pair["sentence"]), {})[pair["lang"]] = str(verdict)
        row.append(float(np.mean([t["nl"] == t["en"] for t in twins.values()])))
        rows.append(row)
    table = np.asarray(rows)
    return {
        name: f"mean {table[:, i].mean():.3f}, sd {table[:, i].std():.3f}, "
        f"min {table[:, i].min():.3f}, max {table[:, i].max():.3f}"
        for i, name in enumerate((*names, "identical_across_languages"))
    }


def calibrate_on_pairs(path: Path, write: bool, evaluate: bool, splits: int = 0) -> None:
    pairs = load_pairs(path)
    x = pair_rows(pairs)
    if splits:
        print(
            json.dumps({f"held_out_over_{splits}_splits": split_spread(x, pairs, splits)}, indent=2)
        )
        return
    calibration = split_groups(pairs)
    held_out = [p for p, c in zip(pairs, calibration, strict=True) if not c]
    if evaluate:
        shipped = load_model()
        verdicts = levels(
            shipped.probability(x), shipped.answer_threshold, shipped.partial_threshold
        )
        print(json.dumps({"held_out": pair_report(verdicts[~calibration], held_out)}, indent=2))
        print(json.dumps({"all_pairs": pair_report(verdicts, pairs)}, indent=2))
        return
    train = [p for p, c in zip(pairs, calibration, strict=True) if c]
    w, answer, partial = fit_on_pairs(x, pairs, calibration)
    verdicts = levels(predict(w, x), answer, partial)
    figures = {
        "calibration": pair_report(verdicts[calibration], train),
        "held_out": pair_report(verdicts[~calibration], held_out),
    }
    print(json.dumps(figures, indent=2))
    weights = {name: round(float(v), 4) for name, v in zip(FEATURES, w[:-1], strict=True)}
    print(json.dumps({"weights": weights, "bias": round(float(w[-1]), 4)}, indent=2))
    print(f"answer_threshold={answer:.3f} partial_threshold={partial:.3f}")
    if write:
        fitted = {
            "weights": weights,
            "bias": round(float(w[-1]), 4),
            "answer_threshold": round(answer, 3),
            "partial_threshold": round(partial, 3),
            "provenance": f"scripts/calibrate_relevance.py --pairs {path}",
            "labelled_pairs": figures,
        }
        MODEL_FILE.write_text(json.dumps(fitted, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE}")


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
    out: dict = {
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
    parser.add_argument("--dataset", type=Path, action="append", default=[])
    parser.add_argument(
        "--pairs", type=Path, help="Fit on hand-labelled pairs (eval/labels/relevance_pairs.jsonl)."
    )
    parser.add_argument(
        "--splits",
        type=int,
        default=0,
        help="With --pairs: held-out figures over this many random halvings instead.",
    )
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
    if args.pairs:
        calibrate_on_pairs(args.pairs, args.write, args.evaluate, args.splits)
        return
    if not args.dataset:
        parser.error("give --dataset (one or more) or --pairs")
    x, y, questions = build_pairs(args.dataset, args.pool)
    if args.evaluate:
        shipped = load_model()
        scores = shipped.probability(x)
        figures = report(scores, y, questions, shipped.partial_threshold, shipped.answer_threshold)
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
