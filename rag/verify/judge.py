"""The learned support judge: is a claim backed by its passages? Offline, CPU only.

`judge(embedder, claim, passages, question)` measures the claim (`rag.verify.features`)
and combines the measurements with a small model of boosted trees,
`judge_model.json`, trained by `scripts/train_judge.py` on development sets
(AttributionBench dev, SICK-NL train+trial) and shipped with its figures. It returns a
`Judgement`: the probability that the claim is supported, the verdict at the model's
threshold, the best passage and sentence, and why, in words a reader checks: quoted,
paraphrase, missing words, number, negation or antonym mismatch.

A contradiction never passes on a high score alone: a claim that adds a number, flips a
negation or swaps a word for its antonym against the sentence closest to it is
unsupported whatever the model says (`HARD_STOPS`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError
from rag.verify.features import FEATURES, Measurement, measure

MODEL_FILE = Path(__file__).with_name("judge_model.json")
HARD_STOPS = ("number_mismatch", "negation_added", "antonym")
STOPPED = 0.1  # the probability a hard stop caps (below every threshold the trainer picks)
NEAR_COPY = 0.8  # cosine above which a sentence with other negations is a flipped copy
# A quote with a claim appended: at least this share of the claim verbatim, and a run of
# this many content words no passage has. On AttributionBench dev this stops 3% of the
# attributable claims and 1.5% of the others (scripts/train_judge.py's data).
QUOTE_SHARE = 0.5
APPENDED_RUN = 3


@dataclass(frozen=True)
class Judgement:
    """One claim's verdict and the evidence for it."""

    probability: float
    supported: bool
    passage: int
    sentence: str
    reasons: list[str]
    features: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "supported": self.supported,
            "score": round(self.probability, 3),
            "passage": self.passage,
            "best_sentence": self.sentence,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class JudgeModel:
    """Boosted trees: each node `{"f": feature, "t": threshold, "l", "r"}` or a leaf `{"v"}`."""

    prior: float
    trees: list[dict[str, Any]]
    threshold: float

    def probability(self, values: np.ndarray) -> float:
        score = self.prior
        for node in self.trees:
            while "v" not in node:
                node = node["l"] if values[node["f"]] <= node["t"] else node["r"]
            score += node["v"]
        return float(1 / (1 + np.exp(-score)))

    def capped(self, values: np.ndarray) -> float:
        """`probability`, held at `STOPPED` or below when a hard stop applies: what
        `judge` compares with the threshold (and the trainer picks it on)."""
        probability = self.probability(values)
        return min(probability, STOPPED) if hard_stop(values) else probability


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> JudgeModel:
    """The trained model; a clear error when the file is missing or from other features."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RagError(
            f"The judge model {path} cannot be read ({exc}); run scripts/train_judge.py --write."
        ) from None
    if tuple(data.get("features", ())) != FEATURES:
        raise RagError(
            f"The judge model {path} was trained on other features; "
            "run scripts/train_judge.py --write."
        )
    return JudgeModel(
        prior=float(data["prior"]), trees=list(data["trees"]), threshold=float(data["threshold"])
    )


def reasons_for(m: Measurement, supported: bool) -> list[str]:
    """Why, in a few words each: what a reader checks against the passage."""
    out: list[str] = []
    values = m.as_dict()
    if m.quoted and not m.negation:
        out.append("quoted")
    elif values["semantic_sentence"] >= 0.6 and values["word_coverage"] >= 0.8:
        out.append("paraphrase")
    if m.numbers:
        out.append("number mismatch: " + ", ".join(m.numbers))
    if m.negation:
        out.append("negation mismatch")
    if m.antonyms:
        out.append("antonym: " + ", ".join(m.antonyms))
    missing = [w for w in m.missing if w not in m.numbers]
    if missing:
        out.append("missing words: " + ", ".join(missing[:8]))
    if not supported and not out:
        out.append("not close to any passage sentence")
    return out


def hard_stop(values: np.ndarray) -> bool:
    """A number or negation the passages lack, an antonym of the closest sentence's word,
    a near copy of that sentence with other negations, or a quote with a clause appended
    (half the claim word for word from a passage, then three or more content words in a
    row that no passage has): never supported."""
    v = dict(zip(FEATURES, values, strict=True))
    flipped = v["negation_flip"] and v["semantic_sentence"] >= NEAR_COPY
    appended = v["quote_share"] >= QUOTE_SHARE and v["missing_run"] >= APPENDED_RUN
    return bool(flipped or appended or any(v[name] for name in HARD_STOPS))


def judge(
    embedder: Any,
    claim: str,
    passages: Sequence[str],
    question: str = "",
    model: JudgeModel | None = None,
) -> Judgement:
    """Whether `claim` is supported by `passages` (taken together)."""
    model = model or load_model()
    m = measure(embedder, claim, passages, question)
    probability = model.capped(m.values)
    supported = probability >= model.threshold
    return Judgement(
        probability=probability,
        supported=supported,
        passage=m.passage,
        sentence=m.sentence,
        reasons=reasons_for(m, supported),
        features=m.as_dict(),
    )


def macro_f1_by_source(
    sources: Sequence[str], labels: Sequence[bool], predicted: Sequence[bool]
) -> dict[str, float]:
    """AttributionBench's metric: macro-F1 of the two classes per source, and their
    average (`average`), in percent."""
    out: dict[str, float] = {}
    for source in sorted(set(sources)):
        idx = [i for i, s in enumerate(sources) if s == source]
        f1s = []
        for cls in (True, False):
            tp = sum(predicted[i] == cls and labels[i] == cls for i in idx)
            fp = sum(predicted[i] == cls and labels[i] != cls for i in idx)
            fn = sum(predicted[i] != cls and labels[i] == cls for i in idx)
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        out[source] = round(100 * sum(f1s) / 2, 1)
    out["average"] = round(sum(out.values()) / len(out), 1) if out else 0.0
    return out
