"""Summaries and briefings on the real letter (issue 10.5): gist questions and the
whole-letter briefing cover the letter's sections; a bullet that opens with an anaphor
carries the sentence before it; a topic briefs alike in Dutch and English."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import LETTER_HEADINGS

from rag.answer.brief_en import topic_language
from rag.answer.summary import leans_back, pick
from rag.language import terms
from rag.language.identify import NL_WORDS
from rag.language.text import words
from rag.pipeline import Pipeline
from rag.query.analysis import analyse
from rag.settings import AnswerSettings


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


@pytest.mark.parametrize(
    ("topic", "language"),
    [
        ("trade", "en"),
        ("trade policy", "en"),
        ("China", "en"),  # as Dutch as English: the tie goes to English without a hint
        ("defence", "en"),
        ("security", "en"),
        ("handel", "nl"),
        ("Oekraïne", "nl"),
        ("defensie-uitgaven", "nl"),
    ],
)
def test_a_short_topics_language(topic: str, language: str) -> None:
    known = frozenset({"handel", "china", "defensie", "uitgaven", "veiligheid"})
    assert topic_language(topic, known, AnswerSettings().glossary) == language
    assert topic_language("China", known, None, prefer="nl") == "nl"
    assert topic_language("“Handel”", known, None, prefer="en") == "en"  # a quoted heading


# Dutch words a key-facts line must not hold: the term table's Dutch side (where it
# differs from the English) and Dutch stop words.
DUTCH_WORDS = {
    w for k, v in terms.table().items() if k != v.lower() for w in words(k) if w not in words(v)
} | set(NL_WORDS)
ENGLISH_TOPICS = ("trade", "China", "trade policy", "defence", "enlargement")


@pytest.mark.parametrize("topic", ENGLISH_TOPICS)
def test_an_english_topic_gets_an_english_briefing(pipeline: Pipeline, topic: str) -> None:
    """Every heading and key-facts line is English; a Dutch heading of the document is
    quoted ('Section “Handel”'), and each Dutch quote stands under its key facts."""
    briefing = pipeline.brief(topic)
    assert briefing.language == "en" and briefing.points
    lines = briefing.markdown.splitlines()
    headings = [line for line in lines if line.startswith("#")]
    assert headings[0] == f"# Briefing: {topic}" and headings[-1] == "## Sources"
    for heading in headings[1:-1]:
        assert heading == "## Opening" or re.fullmatch(r"## Section “.+”", heading), heading
    bullets = [i for i, line in enumerate(lines) if line.startswith("- ")]
    for i in bullets[: len(briefing.points)]:
        assert lines[i].startswith("- Key facts: ")
        assert lines[i + 1].startswith("  > ")
        facts = set(words(re.sub(r"\[\d+\]", "", lines[i].removeprefix("- Key facts: "))))
        assert not facts & DUTCH_WORDS, lines[i]
    for point in briefing.points:
        for fact in point.facts:  # figures as the sentence has them, in English notation
            for number in re.findall(r"\d+(?:\.\d+)?", fact):
                assert number.replace(".", ",") in point.text or number in point.text


def test_a_dutch_topics_briefing_is_as_before(pipeline: Pipeline) -> None:
    briefing = pipeline.brief("handel")
    assert briefing.language == "nl"
    assert "Key facts" not in briefing.markdown and "## Bronnen" in briefing.markdown
    assert all(not p.facts for p in briefing.points)
