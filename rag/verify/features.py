"""What the learned judge measures about one claim against its passages.

`measure(embedder, claim, passages, question)` returns a `Measurement`: a fixed vector of
features (`FEATURES`, each in a small range) and the evidence a person reads (the best
passage and sentence, the claim's words no passage has, the numbers, negations and
antonyms that differ). The features are language-independent by construction: words
are compared by their Dutch and English stems, and when the claim and its passages are
in different languages (Dutch passage, English claim) each missing word is matched
through the multilingual embedder instead, while the features that need the same
language (shared word pairs, a verbatim quote) are set to what a faithful translation
would show. The word lists (modality, quantifiers, antonyms) are `judge_words.toml`.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.language import terms
from rag.language.sentences import sentences as split_into_sentences
from rag.language.text import (
    FUNCTION_WORDS,
    LANGUAGES,
    claim_words,
    content_stems,
    stem_overlap,
    stemmer,
    words,
)
from rag.verify.support import negations, normalise, numbers

WORDS_FILE = Path(__file__).with_name("judge_words.toml")
WORD_MATCH_FLOOR = 0.6  # cosine for a cross-language word match (AnswerSettings' default)
FEATURES = (
    "semantic_sentence",  # best cosine: claim vs one passage sentence
    "semantic_passage",  # best cosine: claim vs a whole passage
    "semantic_weakest_part",  # the claim's least supported sentence (multi-sentence claims)
    "word_coverage",  # share of the claim's content words some passage has
    "weakest_part_coverage",  # the same for the claim's least covered sentence
    "single_passage_coverage",  # the most of the claim's words one passage has
    "missing_words",  # log(1 + content words no passage has)
    "missing_run",  # longest run of consecutive claim words no passage has (an added clause)
    "entity_coverage",  # share of capitalised names the passages have
    "number_mismatch",  # a number the passages lack
    "negation_added",  # a negation in the claim that no passage has
    "negation_flip",  # other negations than the closest passage sentence
    "antonym",  # a word whose antonym the closest sentence has instead
    "modality_change",  # a modal/hedge word the passages lack
    "quantifier_change",  # a quantifier the passages lack
    "pair_coverage",  # share of the claim's word pairs found in a passage
    "quoted",  # the claim is verbatim passage text
    "quote_share",  # share of the claim's words inside four-word runs a passage has
    "claim_length",  # log words of the claim
    "passage_length",  # log words of all passages
    "question_share",  # share of the claim's words that only restate the question
    "short_claim",  # four content words or fewer: meaningful only with the question
    "cross_language",  # claim and passages in different languages
    "semantic_x_coverage",  # product of the two strongest signals
)


@dataclass(frozen=True)
class Measurement:
    """The feature vector and the evidence behind it."""

    values: np.ndarray
    passage: int  # index of the best passage
    sentence: str  # the closest passage sentence
    missing: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    negation: bool = False
    antonyms: list[str] = field(default_factory=list)
    quoted: bool = False

    def as_dict(self) -> dict[str, float]:
        return {name: float(v) for name, v in zip(FEATURES, self.values, strict=True)}


@lru_cache(maxsize=1)
def _lists() -> tuple[frozenset[str], frozenset[str], dict[str, set[str]], re.Pattern[str]]:
    """Modality and quantifier words, antonyms by stem, and the extra negations."""
    data = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))
    opposite: dict[str, set[str]] = {}
    for a, b in data["antonyms"]:
        for x, y in ((a, b), (b, a)):
            for stem in _stems(x):
                opposite.setdefault(stem, set()).update(_stems(y))
    extra = re.compile(r"\b(?:" + "|".join(map(re.escape, data["negation"])) + r")\b", re.I)
    return frozenset(data["modality"]), frozenset(data["quantifiers"]), opposite, extra


@lru_cache(maxsize=65536)
def _stems(word: str) -> frozenset[str]:
    """The word's Dutch and English stems."""
    return frozenset(stemmer(lang).stemWord(word) for lang in LANGUAGES)


def negation_count(text: str) -> int:
    """Negation words (the lexicon's and the judge's own: "nobody", "niemand")."""
    return negations(text) + len(_lists()[3].findall(text))


def _antonyms(claim: set[str], passage: set[str], closest: set[str]) -> list[str]:
    """Claim words whose antonym the closest sentence has while the passages lack them."""
    opposite = _lists()[2]
    passage_stems = {s for w in passage for s in _stems(w)}
    closest_stems = {s for w in closest for s in _stems(w)}
    claim_stems = {s for w in claim for s in _stems(w)}
    found = []
    for word in sorted(claim):
        stems = _stems(word)
        if stems & passage_stems:
            continue
        rivals = {o for s in stems for o in opposite.get(s, ())}
        if rivals & closest_stems and not rivals & claim_stems:
            found.append(word)
    return found


def language_of(tokens: Sequence[str]) -> str | None:
    """'nl' or 'en' when the function words say so clearly; None when too few to tell."""
    nl = sum(t in FUNCTION_WORDS["nl"] for t in tokens)
    en = sum(t in FUNCTION_WORDS["en"] for t in tokens)
    if nl == en:
        return None
    return "en" if en > nl else "nl"


def _matched(word: str, have: set[str]) -> bool:
    return stem_overlap(content_stems(word), have) > 0


def _coverage(
    embedder: Any, wanted: list[str], passage_text: str, cross: bool
) -> tuple[float, list[str]]:
    """Share of `wanted` words the passages have (stems; across languages also the
    embedder's nearest word), and the words they lack."""
    if not wanted:
        return 1.0, []
    have = content_stems(passage_text)
    if cross:  # the table's English for the passage's terms and names: "NAVO" is "NATO"
        have |= content_stems(terms.english_of(passage_text))
    missing = [w for w in wanted if not _matched(w, have)]
    if missing and cross:
        pool = claim_words(passage_text)
        if pool:
            close = embedder.similarity(missing, pool).max(axis=1) >= WORD_MATCH_FLOOR
            missing = [w for w, ok in zip(missing, close, strict=True) if not ok]
    return 1 - len(missing) / len(wanted), missing


def _spread(
    claim: str, passages: Sequence[str], missing: set[str], coverage: float, cross: bool
) -> tuple[float, float]:
    """Word coverage of the claim's least covered sentence, and the most of its words one
    passage holds (stems; across languages both are the claim's overall coverage)."""
    parts = [claim_words(p) for p in split_into_sentences(claim)]
    shares = [1 - sum(w in missing for w in p) / len(p) for p in parts if p]
    weakest = min(shares, default=coverage)
    wanted = claim_words(claim)
    if cross or len(passages) < 2 or not wanted:
        return weakest, coverage
    single = max(sum(_matched(w, content_stems(p)) for w in wanted) / len(wanted) for p in passages)
    return weakest, single


def _longest_run(wanted: Sequence[str], missing: set[str]) -> int:
    """The most claim words in a row that the passages lack."""
    best = run = 0
    for word in wanted:
        run = run + 1 if word in missing else 0
        best = max(best, run)
    return best


def _names(claim: str) -> list[str]:
    """Capitalised words not at a sentence start (names, places, organisations)."""
    found = re.findall(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w-]+)", claim.strip())
    return list(dict.fromkeys(n.lower() for n in found))


def _quote_share(claim: Sequence[str], passage: Sequence[str], n: int = 4) -> float:
    """Share of the claim's tokens that lie in a run of `n` a passage has word for word."""
    if len(claim) < n:
        return 0.0
    grams = {tuple(passage[i : i + n]) for i in range(len(passage) - n + 1)}
    covered = [False] * len(claim)
    for i in range(len(claim) - n + 1):
        if tuple(claim[i : i + n]) in grams:
            covered[i : i + n] = [True] * n
    return sum(covered) / len(claim)


def _pairs(tokens: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:], strict=False))


def _semantic(
    embedder: Any, claim: str, passages: Sequence[str]
) -> tuple[float, float, float, str, int]:
    """Best cosine of the claim with a passage sentence and with a whole passage, its
    weakest sentence's best cosine, the closest passage sentence and its passage."""
    parts = split_into_sentences(claim) or [claim]
    pieces: list[str] = []
    owners: list[int] = []
    for i, passage in enumerate(passages):
        for piece in split_into_sentences(passage) or [passage]:
            pieces.append(piece)
            owners.append(i)
    heads = [claim, *parts] if len(parts) > 1 else [claim]
    sims = embedder.similarity(heads, pieces + list(passages))
    best = int(np.argmax(sims[0, : len(pieces)]))
    to_sentence = max(0.0, float(sims[0, best]))
    to_passage = max(0.0, float(sims[0, len(pieces) :].max()))
    weakest = float(sims[1:, : len(pieces)].max(axis=1).min()) if len(heads) > 1 else to_sentence
    return to_sentence, to_passage, max(0.0, weakest), pieces[best], owners[best]


def measure(embedder: Any, claim: str, passages: Sequence[str], question: str = "") -> Measurement:
    """The features of `claim` against `passages` (and the question it answers)."""
    passages = [p for p in passages if p.strip()] or [""]
    joined = "\n".join(passages)
    claim_tokens = words(claim)
    passage_tokens = words(joined)
    lang_c, lang_p = language_of(claim_tokens), language_of(passage_tokens)
    cross = lang_c is not None and lang_p is not None and lang_c != lang_p
    semantic_sentence, semantic_passage, weakest, closest, owner = _semantic(
        embedder, claim, passages
    )

    wanted = claim_words(claim)
    coverage, missing = _coverage(embedder, wanted, joined, cross)
    part_coverage, single_coverage = _spread(claim, passages, set(missing), coverage, cross)
    names = _names(claim)
    passage_words = set(passage_tokens)
    entity = sum(n in passage_words for n in names) / len(names) if names else 1.0
    absent_numbers = sorted(numbers(claim) - numbers(joined))

    plain = normalise(claim)
    negated = negation_count(plain)
    negation_added = bool(negated) and not negation_count(joined)
    negation_flip = negation_count(closest) != negated
    modality, quantifiers, _, _ = _lists()
    claim_set = set(claim_tokens)
    antonyms = _antonyms(claim_set, passage_words, set(words(closest)))
    modality_change = bool((claim_set & modality) - passage_words)
    quantifier_change = bool((claim_set & quantifiers) - passage_words)

    quoted = bool(plain) and plain in normalise(joined)
    claim_pairs = _pairs(claim_tokens)
    pair_coverage = (
        len(claim_pairs & _pairs(passage_tokens)) / len(claim_pairs) if claim_pairs else 1.0
    )
    quote_share = _quote_share(claim_tokens, passage_tokens)
    if cross:  # word pairs and quotes do not survive translation: a faithful one's values
        pair_coverage, quoted, quote_share = coverage, False, 0.0

    question_words = set(claim_words(question))
    restated = sum(w in question_words for w in wanted) / len(wanted) if wanted else 0.0
    values = np.array(
        [
            semantic_sentence,
            semantic_passage,
            weakest,
            coverage,
            part_coverage,
            single_coverage,
            math.log1p(len(missing)),
            float(_longest_run(wanted, set(missing))),
            entity,
            float(bool(absent_numbers)),
            float(negation_added),
            float(negation_flip),
            float(bool(antonyms)),
            float(modality_change),
            float(quantifier_change),
            pair_coverage,
            float(quoted),
            quote_share,
            math.log1p(len(claim_tokens)),
            math.log1p(len(passage_tokens)),
            restated,
            float(len(wanted) <= 4),
            float(cross),
            semantic_sentence * coverage,
        ],
        dtype=np.float64,
    )
    return Measurement(
        values=values,
        passage=owner,
        sentence=closest,
        missing=missing,
        numbers=absent_numbers,
        negation=negation_added or negation_flip,
        antonyms=antonyms,
        quoted=quoted,
    )
