"""A refusal's closest passages show the line that answers, not the passage's opening
(`rag.answer.closest.closest_excerpts`), with line numbers that point at that line of the source.
Real index of the bundled letter, real embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.dataset import load_dataset
from eval.textmatch import compact
from rag.answer.closest import Excerpt, closest_excerpts, whole_excerpts
from rag.answer.render import answer_to_markdown
from rag.pipeline import Pipeline
from rag.types import Answer
from ui.cli_ask import _print_sources

OPENING = 160  # what refusals showed before: the first 160 characters of each passage
SIGNATURE = "D.M. van Weel"  # the letter's last line: who signed it


def excerpts_for(pipeline: Pipeline, question: str) -> list[Excerpt]:
    hits = pipeline.retrieve(question)
    return closest_excerpts(pipeline.embedder, pipeline.settings.answer, question, hits)


def refusal(pipeline: Pipeline, question: str) -> Answer:
    """A hand-built refusal over the passages really retrieved for `question`."""
    return Answer(
        question=question,
        language="en",
        answer="The documents do not answer this question.",
        refused=True,
        backend="extractive",
        passages=pipeline.retrieve(question),
    )


def assert_lines_point_at_the_text(excerpt: Excerpt, source: list[str]) -> None:
    first, last = excerpt.lines
    words = excerpt.text.split()
    assert words[0] in source[first - 1] and words[-1] in source[last - 1], excerpt


def test_the_signature_line_is_shown_not_the_passage_opening(
    pipeline: Pipeline, letter_path: Path
) -> None:
    source = letter_path.read_text(encoding="utf-8").splitlines()
    excerpts = excerpts_for(pipeline, "Who signed the letter?")
    signed = [e for e in excerpts if SIGNATURE in e.hit.chunk.text]
    assert signed, "the signature's passage was not among the closest three"
    excerpt = signed[0]
    assert SIGNATURE not in excerpt.hit.chunk.text[:OPENING]  # the old cut hid it
    assert not excerpt.whole and excerpt.text.strip() in (
        SIGNATURE,
        "De minister van Buitenlandse Zaken,",
    )
    assert excerpt.lines[0] == excerpt.lines[1]
    assert excerpt.text.strip() in source[excerpt.lines[0] - 1]
    for other in excerpts:
        assert_lines_point_at_the_text(other, source)


def test_cli_refusal_prints_the_answering_line_whole(
    pipeline: Pipeline, letter_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = next(
        n
        for n, text in enumerate(letter_path.read_text(encoding="utf-8").splitlines(), 1)
        if SIGNATURE in text
    )
    _print_sources(pipeline, refusal(pipeline, "Who signed the letter?"))
    printed = capsys.readouterr().out
    assert "Closest passages:" in printed and "…" not in printed
    shown = [row for row in printed.splitlines() if row.rstrip().endswith(SIGNATURE)]
    assert shown and f"lines {line}–{line}" in shown[0], printed


def test_markdown_export_shows_passages_whole_or_by_their_best_sentence(
    pipeline: Pipeline,
) -> None:
    answer = refusal(pipeline, "Who signed the letter?")
    whole = answer_to_markdown(answer)
    for hit in answer.passages[:3]:
        assert " ".join(hit.chunk.text.split()) in whole  # nothing cut off
    best = answer_to_markdown(
        answer,
        closest_excerpts(
            pipeline.embedder, pipeline.settings.answer, answer.question, answer.passages
        ),
    )
    assert any(row.endswith(SIGNATURE) for row in best.splitlines()), best


def test_short_passages_are_shown_whole(pipeline: Pipeline) -> None:
    hits = pipeline.retrieve("Welke moties noemt de brief in de voetnoten?")
    settings = pipeline.settings.answer
    excerpts = closest_excerpts(pipeline.embedder, settings, "moties", hits, limit=len(hits))
    assert len(excerpts) == len(hits)
    kinds = set()
    for excerpt, hit in zip(excerpts, hits, strict=True):
        kinds.add(len(hit.chunk.text) <= settings.closest_whole_chars)
        if len(hit.chunk.text) <= settings.closest_whole_chars:
            assert excerpt == whole_excerpts([hit])[0]
        else:
            assert not excerpt.whole and excerpt.text in hit.chunk.text
            assert len(excerpt.text) < len(hit.chunk.text)
    assert kinds == {True, False}  # both short and long passages were retrieved


def test_chosen_sentences_hold_the_evidence_on_the_dev_set(pipeline: Pipeline) -> None:
    """Over the bundled dev set's answerable questions: for each closest passage shown by
    one sentence whose evidence starts past the old 160-character cut, is that sentence
    an evidence sentence? Against the share a sentence picked at random would reach."""
    chosen = random = cases = 0.0
    for item in load_dataset():
        if item.unanswerable:
            continue
        evidence = [compact(q) for q in item.evidence if compact(q)]

        def is_evidence(text: str, evidence: list[str] = evidence) -> bool:
            text = compact(text)
            return any(text in quote or quote in text for quote in evidence)

        for excerpt in excerpts_for(pipeline, item.question):
            chunk = excerpt.hit.chunk
            if excerpt.whole or not any(compact(chunk.text).find(q) > OPENING for q in evidence):
                continue
            cases += 1
            chosen += is_evidence(excerpt.text)
            sentences = [chunk.sentence_text(s) for s in chunk.sentences]
            random += sum(map(is_evidence, sentences)) / len(sentences)
    print(f"evidence shown: {chosen:.0f}/{cases:.0f}; a random sentence: {random:.1f}")
    assert cases >= 5
    assert chosen / cases >= 0.6 and chosen >= random + 0.2 * cases
