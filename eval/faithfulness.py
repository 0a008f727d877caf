"""ALCE-style faithfulness of a cited answer, with the support judge passed in.

An answer is split into sentences; each sentence's [n] markers point to passages.
Citation recall (ALCE): a sentence counts when the passages it cites, taken together,
support it; a sentence without citations, or citing a passage that was not given to the
answer, does not. Citation precision: a citation counts when its sentence is supported
and the citation is needed — it supports the sentence alone, or without it the other
citations no longer do; a citation to a passage that was not given is always wrong.
The unsupported share counts sentences that no given passage supports at all.

The judge is any `Judge(sentence, passages) -> bool`: the offline verifier, a language
model, or a hand-written function in tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rag.language.sentences import split_sentences

Judge = Callable[[str, Sequence[str]], bool]
"""judge(sentence, passages) → whether the passages (together) support the sentence."""

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_AFTER_MARKED_STOP = re.compile(r"(?<=\]\.)\s+(?=\S)")


@dataclass(frozen=True)
class CitedAnswer:
    """An answer reduced to what faithfulness needs, from any system.

    sources maps each marker to the text of the passage it cites, or None when it points
    to a passage that was not given to the answer (or to nothing at all).
    """

    text: str
    refused: bool
    passages: list[tuple[int, str]] = field(default_factory=list)
    sources: Mapping[int, str | None] = field(default_factory=dict)
    language: str | None = None
    dropped_citations: int = 0
    timings_ms: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    markers: tuple[int, ...]


def answer_sentences(text: str) -> list[AnswerSentence]:
    """Sentences of an answer with their markers; markers opening a sentence belong to
    the one before ("… defensie. [2] Next"), list bullets are dropped, and a line that
    merely introduces a list ("The letter names:", followed by list items) without
    markers is skipped. Text after a marked full stop ("… [1]. en …") is a sentence of its
    own even when it starts in lower case, so a claim cannot ride on the one before."""
    pieces: list[tuple[str, list[int], bool]] = []
    for start, end in split_sentences(text):
        for part in _AFTER_MARKED_STOP.split(text[start:end]):
            piece = _BULLET.sub("", part)
            bulleted = piece != part
            lead = _LEADING_MARKERS.match(piece)
            if lead and pieces:
                pieces[-1][1].extend(_markers(lead.group(0)))
                piece = piece[lead.end() :]
            pieces.append((piece, _markers(piece), bulleted))
    result = []
    for i, (piece, markers, _) in enumerate(pieces):
        plain = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(_MARKER.sub(" ", piece).split()))
        if not any(ch.isalnum() for ch in plain):
            continue
        introduces_list = i + 1 < len(pieces) and pieces[i + 1][2]
        if not markers and plain.endswith(":") and introduces_list:
            continue
        result.append(AnswerSentence(plain, tuple(dict.fromkeys(markers))))
    return result


def _markers(text: str) -> list[int]:
    return [int(n) for group in _MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


@dataclass(frozen=True)
class Faithfulness:
    """Per-answer faithfulness; None where the measure is undefined (no sentences/citations)."""

    sentences: int
    citations: int
    citation_recall: float | None
    citation_precision: float | None
    unsupported_share: float | None
    invalid_citations: int
    dropped_citations: int


def score_faithfulness(answer: CitedAnswer, judge: Judge) -> Faithfulness:
    """Citation recall/precision and unsupported share of one answer (ALCE rules)."""
    sentences = [] if answer.refused else answer_sentences(answer.text)
    given = [text for _, text in answer.passages]
    supported_sentences = 0
    precise = 0
    total_citations = 0
    invalid = 0
    unsupported = 0
    for sentence in sentences:
        cited = [answer.sources.get(m) for m in sentence.markers]
        total_citations += len(cited)
        invalid += sum(c is None for c in cited)
        if given and not judge(sentence.text, given):
            unsupported += 1
        if not cited or any(c is None for c in cited):
            continue  # uncited, or citing something that was not given: unsupported
        texts = [c for c in cited if c is not None]
        if not judge(sentence.text, texts):
            continue
        supported_sentences += 1
        precise += _needed_citations(sentence.text, texts, judge)
    n = len(sentences)
    return Faithfulness(
        sentences=n,
        citations=total_citations,
        citation_recall=supported_sentences / n if n else None,
        citation_precision=precise / total_citations if total_citations else None,
        unsupported_share=unsupported / n if n and given else None,
        invalid_citations=invalid,
        dropped_citations=answer.dropped_citations,
    )


def _needed_citations(sentence: str, texts: list[str], judge: Judge) -> int:
    """Citations of a supported sentence that are not superfluous (ALCE precision)."""
    if len(texts) == 1:
        return 1
    needed = 0
    for i, text in enumerate(texts):
        if judge(sentence, [text]):
            needed += 1
            continue
        rest = texts[:i] + texts[i + 1 :]
        if not judge(sentence, rest):
            needed += 1
    return needed


def cached(judge: Judge) -> Judge:
    """The judge with its verdicts memoised (ALCE asks the same question repeatedly)."""
    memo: dict[tuple[str, tuple[str, ...]], bool] = {}

    def wrapped(sentence: str, passages: Sequence[str]) -> bool:
        key = (sentence, tuple(passages))
        if key not in memo:
            memo[key] = bool(judge(sentence, list(passages)))
        return memo[key]

    return wrapped
