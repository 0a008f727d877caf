"""Summaries and briefings on the real letter (issue 10.5): gist questions and the
whole-letter briefing cover the letter's sections; a bullet that opens with an anaphor
carries the sentence before it; a topic briefs alike in Dutch and English."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LETTER_HEADINGS

from rag.answer.summary import leans_back, pick
from rag.pipeline import Pipeline
from rag.query.analysis import analyse


def test_pick_goes_round_the_groups_and_avoids_near_duplicates() -> None:
    # Group a: two identical central items and one other; group b: one item.
    vectors = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]])
    chosen = pick(vectors, ["a", "a", "a", "b"], limit=3, diversity=0.5)
    assert chosen[:2] == [0, 3]  # one per group first
    assert chosen[2] == 2  # then the different item, not the duplicate of item 0


@pytest.mark.parametrize(
    ("question", "gist"),
    [
        ("Wat is de kern van de brief?", True),
        ("What is the main message of the letter?", True),
        ("Summarise the letter in a few sentences.", True),
        ("Vat de brief in drie zinnen samen.", True),
        ("Summarise the opening of the letter.", False),  # a part, not the whole
        ("What are the main points on trade?", False),  # a topic
        ("Wat is de kern van de Europese samenwerking?", False),  # "kern" as a word
    ],
)
def test_gist_questions_are_told_apart(question: str, gist: bool) -> None:
    assert analyse(question).wants("gist") is gist


@pytest.mark.parametrize(
    "question",
    ["Wat is de kern van de brief?", "What is the main message of the letter?"],
)
def test_gist_answers_cover_the_sections(pipeline: Pipeline, question: str) -> None:
    answer = pipeline.ask(question)
    assert not answer.refused, answer.answer
    sections = {c.section for c in answer.citations}
    assert len(sections & set(LETTER_HEADINGS)) >= 5, sections
    assert all(s.supported for s in answer.sentences)
    assert "kern" not in " ".join(c.quote for c in answer.citations).lower() or len(sections) > 4


def test_whole_letter_briefing_covers_every_section(pipeline: Pipeline) -> None:
    briefing = pipeline.brief(None)
    assert {p.section for p in briefing.points} >= set(LETTER_HEADINGS)
    quotes = [c.quote for c in briefing.citations]
    assert len(set(quotes)) == len(quotes)


def test_a_bullet_that_leans_back_carries_the_sentence_before(pipeline: Pipeline) -> None:
    points = [p for topic in ("defensie", "defence", None) for p in pipeline.brief(topic).points]
    assert points
    for point in points:
        first = point.text.split(". ")[0]
        assert not leans_back(point.text) or first != point.text, point.text
    # "Dat tijdperk is definitief voorbij." never stands alone.
    assert not any(p.text.startswith("Dat tijdperk") for p in points)
    assert any("Dat tijdperk" in p.text for p in points) or all(
        "tijdperk" not in p.text for p in points
    )


@pytest.mark.parametrize(
    ("english", "dutch"),
    [
        ("defence", "defensie"),
        ("trade", "handel"),
        ("security", "veiligheid"),
        ("migration", "migratie"),
        ("partnerships", "partnerschappen"),
        ("enlargement", "uitbreiding"),  # a word the letter never uses: it is translated
    ],
)
def test_a_topic_briefs_alike_in_either_language(
    pipeline: Pipeline, english: str, dutch: str
) -> None:
    en, nl = pipeline.brief(english), pipeline.brief(dutch)
    assert en.points and nl.points
    assert abs(len(en.points) - len(nl.points)) <= 1
    shared = {c.quote for c in en.citations} & {c.quote for c in nl.citations}
    assert len(shared) >= min(len(en.points), len(nl.points)) - 1
