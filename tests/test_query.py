"""The question analysis, table-driven: phrasing → what the `Query` says it asks for.

Each row is a question (Dutch or English), the kinds of answer it asks for, the part
of the document or the section topic it points at, and its answer language. The
patterns behind it are data (`rag/language/lexicon/`); these rows pin their meaning.
"""

from __future__ import annotations

import pytest

from rag.language.text import (
    GENRE_WORDS,
    STOP_WORDS,
    content_words,
    passage_terms,
    query_terms,
    words,
)
from rag.query.analysis import analyse, focus, standalone_text

ROWS: list[tuple[str, set[str], tuple[str, ...], str | None, str]] = [
    # question, asks, parts, section topic, language
    ("Hoeveel procent van het bbp gaat naar defensie?", {"number"}, (), None, "nl"),
    ("How many member states signed the declaration?", {"number"}, (), None, "en"),
    ("How much does the EU spend on defence?", {"number"}, (), None, "en"),
    ("What percentage of GDP is the new NATO norm?", {"number"}, (), None, "en"),
    ("Welk percentage gaat naar kerndefensie?", {"number"}, (), None, "nl"),
    ("In welk jaar moet de norm gehaald zijn?", {"number"}, (), None, "nl"),
    ("Hoe lang duurt de onderhandeling nog?", {"number"}, (), None, "nl"),
    ("When will the agreement enter into force?", {"date"}, (), None, "en"),
    ("Wanneer verscheen de Amerikaanse strategie?", {"date"}, (), None, "nl"),
    ("Since when does the EU have a sanctions regime?", {"date"}, (), None, "en"),
    ("Which document does it cite when it says this?", {"list", "reference"}, (), None, "en"),
    ("How much money goes to Ukraine?", {"number", "money"}, (), None, "en"),
    ("Welk bedrag trekt het kabinet uit?", {"money"}, (), None, "nl"),
    ("Hoeveel miljard euro is er nodig?", {"number", "money"}, (), None, "nl"),
    ("How much will the programme cost?", {"number", "money"}, (), None, "en"),
    ("Who is the minister of foreign affairs?", {"person"}, (), None, "en"),
    ("Wie is de minister van Buitenlandse Zaken?", {"person"}, (), None, "nl"),
    ("Hoe heet de Hoge Vertegenwoordiger?", {"person"}, (), None, "nl"),
    ("Welke landen noemt de brief als partners?", {"list"}, (), None, "nl"),
    ("Which instruments does the EU use?", {"list"}, (), None, "en"),
    ("Noem de prioriteiten van het kabinet.", {"list"}, (), None, "nl"),
    ("Summarise the letter's view on China.", {"summary"}, (), None, "en"),
    ("Vat de kern van de brief samen.", {"summary", "gist"}, (), None, "nl"),
    ("Beschrijf de rol van de EU in de wereld.", {"summary"}, (), None, "nl"),
    ("What does the letter say about Mercosur?", {"about_text"}, (), None, "en"),
    ("Wat zegt de brief over economische veiligheid?", {"about_text"}, (), None, "nl"),
    ("According to the government, what is at stake?", {"about_text"}, (), None, "en"),
    ("Volgens het kabinet moet de EU sterker worden?", {"about_text"}, (), None, "nl"),
    ("Summarise the opening of the letter.", {"summary"}, ("start",), None, "en"),
    ("Wat staat er in de inleiding?", set(), ("start",), None, "nl"),
    ("What is said in the closing passage?", set(), ("end",), None, "en"),
    ("Wat is de boodschap van de slotpassage?", set(), ("end",), None, "nl"),
    ("Who signed the letter?", set(), ("end",), None, "en"),
    ("Wie heeft de brief ondertekend?", set(), ("end",), None, "nl"),
    ("What does the opening of markets mean for trade?", set(), (), None, "en"),
    ("Does the introduction of tariffs hurt the EU?", set(), (), None, "en"),
    ("What are the main points of the section on trade?", {"list", "summary"}, (), "trade", "en"),
    ("Vat het deel over handel samen.", {"summary"}, (), "handel", "nl"),
    ("In the section on defence, and what about NATO?", set(), (), "defence", "en"),
    ("Wat is de NAVO-norm voor 2035?", set(), (), None, "nl"),
]


@pytest.mark.parametrize(("question", "asks", "parts", "section", "language"), ROWS)
def test_question_analysis(
    question: str, asks: set[str], parts: tuple[str, ...], section: str | None, language: str
) -> None:
    query = analyse(question)
    assert set(query.asks) == asks
    assert query.parts == parts
    assert query.section == section
    assert query.language == language
    assert query.standalone == question


@pytest.mark.parametrize(
    ("question", "previous", "standalone"),
    [
        ("En waarom?", "Wat wil het kabinet met de NAVO?", "joined"),
        ("Why?", "What does the EU want with NATO?", "joined"),
        ("What does that mean for the Netherlands?", "What is the NATO norm?", "joined"),
        ("En wat betekent dat voor Nederland?", "Wat is de NAVO-norm?", "joined"),
        ("And what about trade?", "What is the NATO norm?", "alone"),
        ("En over handel?", "Wat is de NAVO-norm?", "alone"),
    ],
)
def test_follow_ups_that_point_back_are_joined_to_the_previous_question(
    question: str, previous: str, standalone: str
) -> None:
    expected = f"{previous} {question}" if standalone == "joined" else question
    assert standalone_text(question, [(previous, "an answer")]) == expected
    assert analyse(question, [(previous, "an answer")]).standalone == expected


def test_focus_drops_words_that_only_point_at_the_document() -> None:
    assert focus("What does the letter say about Mercosur?") == "Mercosur?"
    assert focus("Wat zegt de brief over handel?") == "handel?"
    assert focus("in de brief") == "in de brief"  # nothing left: keep the question


def test_unsupported_language_is_detected_but_answered_in_english() -> None:
    query = analyse("Quelle est la position du gouvernement sur la défense européenne?")
    assert query.detected not in ("nl", "en") and query.language == "en"


def test_genre_words_are_a_named_list_and_stop_words_of_questions() -> None:
    assert {"letter", "government"} <= GENRE_WORDS["en"]
    assert {"brief", "kabinet"} <= GENRE_WORDS["nl"]
    assert GENRE_WORDS["en"] | GENRE_WORDS["nl"] <= STOP_WORDS
    assert content_words("What does the government letter say about trade?") == ["trade"]


def test_index_and_query_use_the_same_words() -> None:
    """A passage and a question with the same words get the same BM25 terms."""
    text = "De defensie-industrie en concurrentievermogen4 van de EU-lidstaten"
    assert set(passage_terms(text)) <= set(query_terms(text))
    compound = "defensie-industrie"
    assert words(compound, parts=True) == [compound, "defensie", "industrie"]
    assert words("defensie-industrie", split=True) == ["defensie", "industrie"]
