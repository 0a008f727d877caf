"""Does each answer sentence follow from the passages it cites? Offline, no language model.

The support score of a sentence against a passage combines
- verbatim containment (an exact quote is supported: 1.0),
- the best cosine similarity between the sentence and the passage's sentences, from the
  (multilingual) embedder, which carries across Dutch and English,
- lexical overlap of stemmed content words (Dutch and English stemmers), and
- a number check: a number in the sentence that the passage does not contain lowers it,
- a negation check: a near copy of a passage sentence with other negation words ("niet
  ten koste" → "ten koste"; the lexicon's `negation` list), or a negation the passage
  lacks altogether, lowers it too; a piece cut out of a negated sentence is no quote.
The weights and `support_threshold` are `AnswerSettings`; the threshold was calibrated on
labelled pairs built from the development set (`python scripts/calibrate_verifier.py`
prints the pairs' accuracy and the threshold).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.language import terms
from rag.language.identify import detect_language
from rag.language.patterns import pattern
from rag.language.sentences import sentences as split_into_sentences
from rag.language.text import claim_words, content_stems, stem_overlap
from rag.settings import AnswerSettings

DEFAULTS = AnswerSettings()
SUPPORT_THRESHOLD = DEFAULTS.support_threshold
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def normalise(text: str) -> str:
    """Lower-case, markers removed, whitespace collapsed (for verbatim comparison)."""
    text = re.sub(r"\[\d+\]", " ", text.lower())
    return " ".join(text.replace("\u00ad", "").split())


def numbers(text: str) -> set[str]:
    return {n.replace(",", ".") for n in _NUMBER.findall(re.sub(r"\[\d+\]", " ", text))}


def negations(text: str) -> int:
    """How many negation words (either language) the text holds."""
    return len(pattern("negation").findall(text))


def _turns_negation(
    plain: str,
    negated: int,
    closest: str,
    similarity: float,
    passage: str,
    settings: AnswerSettings,
) -> bool:
    """Whether a sentence adds a negation its passage lacks, or is a near copy of its
    closest passage sentence (cosine ≥ `negation_similarity`) with other negations.
    A looser paraphrase is not judged: "not only the EU" may fairly become "more than"."""
    if negated and not negations(passage):
        return True
    return (
        _cut_from_negation(plain, negated, passage)
        or similarity >= settings.negation_similarity
        and negations(closest) != negated
    )


def _cut_from_negation(plain: str, negated: int, passage: str) -> bool:
    """Whether the (normalised) sentence is cut out of a passage sentence with other
    negations: "ten koste van …" out of "… niet ten koste van …"."""
    holders = [s for s in split_into_sentences(passage) if plain in normalise(s)]
    return bool(holders) and all(negations(s) != negated for s in holders)


def _quoted(plain: str, negated: int, passage: str) -> bool:
    """Whether the (normalised) sentence is verbatim passage text with the same negations."""
    if not plain or plain not in normalise(passage):
        return False
    return not _cut_from_negation(plain, negated, passage)


def crosslingual_support(
    embedder: Any, sentence: str, passage: str, floor: float = 0.6, *, english: bool = False
) -> float:
    """Share of the sentence's content words that have a counterpart in the passage: the
    same stem, or a word the multilingual embedder puts close ("security" ~ "veiligheid"),
    so an English claim can be checked word by word against Dutch text. `english`: the
    sentence is English (then a Dutch passage's terms count in English too)."""
    wanted = claim_words(sentence)
    have = claim_words(passage)
    if not wanted or not have:
        return 0.0
    have_stems = content_stems(passage)
    if english and detect_language(passage) == "nl":
        have_stems |= content_stems(terms.english_of(passage))  # "NAVO" is "NATO"
    missing = [w for w in wanted if not stem_overlap(content_stems(w), have_stems)]
    if not missing:
        return 1.0
    similarity = embedder.similarity(missing, have)
    matched = int((similarity.max(axis=1) >= floor).sum())
    return (len(wanted) - len(missing) + matched) / len(wanted)


def support_scores(
    embedder: Any,
    sentence: str,
    passages: Sequence[str],
    settings: AnswerSettings = DEFAULTS,
) -> list[float]:
    """Support of `sentence` by each passage, each in [0, 1]."""
    plain = normalise(sentence)
    negated = negations(plain)
    scores: list[float | None] = [1.0 if _quoted(plain, negated, p) else None for p in passages]
    todo = [i for i, s in enumerate(scores) if s is None]
    if not todo:
        return [float(s) for s in scores if s is not None]
    pieces: list[str] = []
    owners: list[int] = []
    for i in todo:
        for piece in split_into_sentences(passages[i]) or [passages[i]]:
            pieces.append(piece)
            owners.append(i)
    similarity = embedder.similarity([sentence], pieces)[0]
    best: dict[int, float] = {}
    closest: dict[int, str] = {}
    for owner, piece, value in zip(owners, pieces, similarity, strict=True):
        if float(value) > best.get(owner, -1.0):
            best[owner], closest[owner] = float(value), piece
    english = detect_language(sentence) == "en"
    for i in todo:
        semantic = max(0.0, best[i])
        lexical = crosslingual_support(
            embedder, sentence, passages[i], settings.word_match_similarity, english=english
        )
        share = settings.semantic_share
        score = max(semantic, share * semantic + (1 - share) * lexical)
        if numbers(sentence) - numbers(passages[i]):
            score *= settings.number_penalty
        if _turns_negation(plain, negated, closest[i], best[i], passages[i], settings):
            score *= settings.negation_penalty
        scores[i] = min(1.0, score)
    return [float(s or 0.0) for s in scores]


def support_score(embedder: Any, sentence: str, passages: Sequence[str]) -> float:
    """Support of `sentence` by the passages taken together (the best single one)."""
    return max(support_scores(embedder, sentence, passages), default=0.0)


def calibrate(scores: Sequence[float], labels: Sequence[bool]) -> tuple[float, float]:
    """The threshold with the best accuracy on labelled scores, and that accuracy."""
    pairs = sorted(zip(scores, labels, strict=True))
    best_threshold, best_accuracy = SUPPORT_THRESHOLD, 0.0
    for threshold in sorted({round(s, 3) for s in scores}):
        accuracy = float(np.mean([(s >= threshold) == y for s, y in pairs]))
        if accuracy > best_accuracy:
            best_threshold, best_accuracy = threshold, accuracy
    return best_threshold, best_accuracy
