"""Train the learned support judge (`rag/verify/judge_model.json`) and print its figures.

Data (development parts only, read where they are kept, never shipped):
- AttributionBench dev (`../shared/eval/attribution/dev_all_subset_balanced.jsonl`): claim,
  cited passages, question, human label attributable or not;
- SICK-NL train+trial (`../shared/eval/sick-nl/SICK_NL_train_trial.txt`): passage =
  sentence A, claim = sentence B, supported only when ENTAILMENT; each pair three times:
  Dutch-Dutch, the English originals, and the English claim against the Dutch passage.

The model is gradient-boosted small trees (numpy, logistic loss) over
`rag.verify.features.FEATURES`, AttributionBench weighted as much as the SICK variants.
Figures, all on data the fitted model did not see:
- SICK-NL, 5-fold cross-validated by pair: contradictions and entailments judged supported,
  Dutch claim and English claim against the Dutch passage;
- AttributionBench dev, 5-fold cross-validated: macro-F1 per source, averaged;
- AttributionBench in-distribution test sample (`--test`): scored once with the final
  model; nothing is tuned on it.

    .venv/bin/python scripts/train_judge.py [--data ../shared/eval] [--test] [--write]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from rag.retrieval.embeddings import load_embedder
from rag.settings import Settings
from rag.verify.features import FEATURES, measure
from rag.verify.judge import MODEL_FILE, JudgeModel, macro_f1_by_source

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = next(
    (p / "eval" for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.exists()),
    ROOT.parent / "shared" / "eval",
)  # beside the checkout, or beside the folder of worktrees
ATTRIBUTION_DEV = "attribution/dev_all_subset_balanced.jsonl"
ATTRIBUTION_TEST = "attribution/test_all_subset_balanced_sampled500.jsonl"
SICK = "sick-nl/SICK_NL_train_trial.txt"
BINS = 32
ROUNDS = 150
DEPTH = 3
RATE = 0.1
LAMBDA = 1.0
MIN_ROWS = 20
FOLDS = 5


def attribution(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [
        {
            "claim": r["claim"],
            "passages": list(r["references"]),
            "question": r.get("question") or "",
            "label": r["attribution_label"] == "attributable",
            "group": "attribution",
            "source": r["src_dataset"],
            "key": r["id"],
        }
        for r in rows
    ]


def sick(path: Path) -> list[dict]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle, delimiter="\t"):
            kind = r["entailment_label"]
            for variant, passage, claim in (
                ("nl", r["sentence_A"], r["sentence_B"]),
                ("en", r["sentence_A_original"], r["sentence_B_original"]),
                ("en-nl", r["sentence_A"], r["sentence_B_original"]),
            ):
                out.append(
                    {
                        "claim": claim,
                        "passages": [passage],
                        "question": "",
                        "label": kind == "ENTAILMENT",
                        "group": f"sick-{variant}",
                        "source": kind,
                        "key": r["pair_ID"],
                    }
                )
    return out


def features(rows: list[dict], embedder: object, cache: Path | None) -> np.ndarray:
    if cache is not None and cache.exists():
        saved = np.load(cache)
        if saved.shape == (len(rows), len(FEATURES)):
            return saved
    start = time.perf_counter()
    matrix = np.array(
        [measure(embedder, r["claim"], r["passages"], r["question"]).values for r in rows]
    )
    print(f"measured {len(rows)} claims in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if cache is not None:
        np.save(cache, matrix)
    return matrix


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> dict:
    """Gradient-boosted depth-limited trees on the logistic loss (numpy, quantile bins)."""
    edges = [
        np.unique(np.quantile(x[:, j], np.linspace(0.02, 0.98, BINS))) for j in range(x.shape[1])
    ]
    binned = np.stack(
        [np.searchsorted(edges[j], x[:, j], side="left") for j in range(x.shape[1])], axis=1
    )
    weight = weight / weight.mean()
    prior = float(np.log(np.average(y, weights=weight) / (1 - np.average(y, weights=weight))))
    score = np.full(len(y), prior)
    trees = []
    for _ in range(ROUNDS):
        p = 1 / (1 + np.exp(-score))
        g, h = weight * (p - y), weight * p * (1 - p)
        update = np.zeros(len(y))
        trees.append(_grow(binned, edges, g, h, np.arange(len(y)), DEPTH, update))
        score += update
    return {"prior": prior, "trees": trees}


def _grow(
    binned: np.ndarray,
    edges: list,
    g: np.ndarray,
    h: np.ndarray,
    rows: np.ndarray,
    depth: int,
    update: np.ndarray,
) -> dict:
    """One tree; `update` gets each row's leaf value."""
    G, H = g[rows].sum(), h[rows].sum()
    leaf = {"v": round(float(-RATE * G / (H + LAMBDA)), 5)}
    update[rows] = leaf["v"]
    if depth == 0 or len(rows) < 2 * MIN_ROWS:
        return leaf
    best = (0.0, -1, -1)
    base = G * G / (H + LAMBDA)
    for j in range(binned.shape[1]):
        n = len(edges[j]) + 1
        gs = np.cumsum(np.bincount(binned[rows, j], weights=g[rows], minlength=n))[:-1]
        hs = np.cumsum(np.bincount(binned[rows, j], weights=h[rows], minlength=n))[:-1]
        counts = np.cumsum(np.bincount(binned[rows, j], minlength=n))[:-1]
        ok = (counts >= MIN_ROWS) & (len(rows) - counts >= MIN_ROWS)
        gain = gs**2 / (hs + LAMBDA) + (G - gs) ** 2 / (H - hs + LAMBDA) - base
        gain[~ok] = 0.0
        k = int(np.argmax(gain))
        if gain[k] > best[0]:
            best = (float(gain[k]), j, k)
    if best[1] < 0:
        return leaf
    _, j, k = best
    left = rows[binned[rows, j] <= k]
    right = rows[binned[rows, j] > k]
    return {
        "f": j,
        "t": float(edges[j][k]),
        "l": _grow(binned, edges, g, h, left, depth - 1, update),
        "r": _grow(binned, edges, g, h, right, depth - 1, update),
    }


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    """The shipped judge's probabilities (`JudgeModel.capped`) for each row of `x`."""
    judge = JudgeModel(prior=model["prior"], trees=model["trees"], threshold=0.0)
    return np.array([judge.capped(row) for row in x])


def weights_for(rows: list[dict]) -> np.ndarray:
    """AttributionBench as much as the three SICK variants together, and within each data
    set both classes alike (SICK has 29% entailments), so one threshold serves both."""
    cells = [(r["group"], r["label"]) for r in rows]
    counts = {c: cells.count(c) for c in set(cells)}
    share = {"attribution": 3.0}
    return np.array([share.get(g, 1.0) / counts[(g, y)] for g, y in cells])


def fold_of(key: str) -> int:
    return sum(key.encode()) % FOLDS


def sick_figures(rows: list[dict], p: np.ndarray, threshold: float) -> dict[str, float]:
    out = {}
    for variant in ("nl", "en", "en-nl"):
        for kind in ("CONTRADICTION", "ENTAILMENT", "NEUTRAL"):
            idx = [
                i
                for i, r in enumerate(rows)
                if r["group"] == f"sick-{variant}" and r["source"] == kind
            ]
            out[f"{variant} {kind.lower()} supported"] = round(
                float(np.mean(p[idx] >= threshold)), 3
            )
    return out


def attribution_figures(rows: list[dict], p: np.ndarray, threshold: float) -> dict[str, float]:
    idx = [i for i, r in enumerate(rows) if r["group"] == "attribution"]
    return macro_f1_by_source(
        [rows[i]["source"] for i in idx],
        [rows[i]["label"] for i in idx],
        [bool(p[i] >= threshold) for i in idx],
    )


def choose_threshold(rows: list[dict], p: np.ndarray) -> float:
    """The threshold, on held-out probabilities `p`, with the best sum of AttributionBench
    macro-F1 (0–1) and, per SICK variant, entailments passed minus twice the
    contradictions passed (a contradiction that passes is the worse error)."""
    best, best_score = 0.5, -9.0
    for t in np.arange(0.15, 0.9, 0.01):
        sick = sick_figures(rows, p, float(t))
        margin = float(
            np.mean(
                [
                    sick[f"{v} entailment supported"] - 2 * sick[f"{v} contradiction supported"]
                    for v in ("nl", "en", "en-nl")
                ]
            )
        )
        score = attribution_figures(rows, p, float(t))["average"] / 100 + margin
        if score > best_score:
            best, best_score = float(t), score
    return round(best, 2)


def held_out_probabilities(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """Each row's probability from a model fitted without its fold."""
    p = np.zeros(len(y))
    for k in np.unique(folds):
        train = folds != k
        p[~train] = predict(fit(x[train], y[train], weight[train]), x[~train])
    return p


def _split_features(tree: dict) -> list[int]:
    if "v" in tree:
        return []
    return [tree["f"], *_split_features(tree["l"]), *_split_features(tree["r"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=None, help="Folder for feature caches.")
    parser.add_argument("--test", action="store_true", help="Score the test sample once.")
    parser.add_argument("--write", action="store_true", help=f"Write {MODEL_FILE.name}.")
    args = parser.parse_args()
    if not (args.data / ATTRIBUTION_DEV).exists():
        sys.exit(f"No development data under {args.data}; pass --data with the shared eval folder.")
    embedder = load_embedder(Settings().embedding)
    cache = (lambda name: args.cache / name) if args.cache else (lambda name: None)
    rows = attribution(args.data / ATTRIBUTION_DEV) + sick(args.data / SICK)
    x = np.vstack(
        [
            features([r for r in rows if r["group"] == "attribution"], embedder, cache("dev.npy")),
            features([r for r in rows if r["group"] != "attribution"], embedder, cache("sick.npy")),
        ]
    )
    y = np.array([r["label"] for r in rows], dtype=float)
    weight = weights_for(rows)
    folds = np.array([fold_of(r["key"]) for r in rows])
    held_out = np.zeros(len(rows))
    thresholds = []
    for k in range(FOLDS):
        train = np.flatnonzero(folds != k)
        inner = held_out_probabilities(x[train], y[train], weight[train], folds[train] % 2)
        thresholds.append(choose_threshold([rows[i] for i in train], inner))
        model = fit(x[train], y[train], weight[train])
        held_out[folds == k] = predict(model, x[folds == k]) >= thresholds[-1]
    # held_out holds verdicts (0/1), each at a threshold chosen without its fold
    figures: dict = {
        "cross-validated": {
            "sick_nl": sick_figures(rows, held_out, 0.5),
            "attribution_dev": attribution_figures(rows, held_out, 0.5),
            "fold_thresholds": thresholds,
        }
    }
    model = fit(x, y, weight)
    model["threshold"] = choose_threshold(rows, held_out_probabilities(x, y, weight, folds))
    if args.test:
        test = attribution(args.data / ATTRIBUTION_TEST)
        tx = features(test, embedder, cache("test.npy"))
        figures["attribution_test_sample"] = attribution_figures(
            test, predict(model, tx), model["threshold"]
        )
    print(json.dumps(figures, indent=1))
    used = [FEATURES[f] for t in model["trees"] for f in _split_features(t)]
    print(json.dumps({n: used.count(n) for n in FEATURES}))
    if args.write:
        payload = {
            "what": "Boosted trees over rag.verify.features.FEATURES; scripts/train_judge.py",
            "features": list(FEATURES),
            **model,
            "trained_on": [ATTRIBUTION_DEV, SICK],
            "figures": figures,
        }
        MODEL_FILE.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
