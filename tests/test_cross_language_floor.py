"""The extractive backend's support floor across languages: an English question shares no
stems with the letter's Dutch sentences, so below the floor the relevance model decides
(rag/backends/extractive.py, `answer.judge_across_languages`, off by default). Real index,
real embedder, real relevance model."""

from __future__ import annotations

import pytest

from rag.backends.extractive import ExtractiveBackend, across
from rag.query.analysis import analyse

ENGLISH = "What share of GDP did NATO allies agree to spend on security by 2035?"
DUTCH = "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"


@pytest.fixture(scope="module")
def strict(pipeline):
    """A backend whose floor no sentence reaches: every answer rests on the other test."""
    answer = pipeline.settings.answer.model_copy(
        update={"min_support": 0.99, "judge_across_languages": True}
    )
    return ExtractiveBackend(pipeline.embedder, answer)


def _hits(pipeline, question):
    query = analyse(question)
    return query, pipeline.chain._search(query, 5)


def test_a_sentence_in_the_other_language_is_across(pipeline):
    query, hits = _hits(pipeline, ENGLISH)
    best = pipeline.chain.backend("extractive").score(query.focus, hits)[0]
    assert across(query, best)  # the letter is Dutch
    assert not across(analyse(DUTCH), best)


def test_below_the_floor_across_languages_the_relevance_model_decides(pipeline, strict):
    query, hits = _hits(pipeline, ENGLISH)
    chosen, best = strict.select(query, hits)
    assert strict.judge.model.level(best) == "answers"
    assert chosen and any("5%" in c.text for c in chosen)


def test_below_the_floor_in_the_question_language_it_refuses(pipeline, strict):
    query, hits = _hits(pipeline, DUTCH)
    assert strict.select(query, hits) == ([], 0.0)


def test_across_languages_a_verdict_short_of_answers_still_refuses(pipeline, strict):
    query, hits = _hits(pipeline, "Which painter designed the logo of the European Commission?")
    chosen, best = strict.select(query, hits)
    assert not chosen and strict.judge.model.level(best) != "answers"


def test_off_by_default_the_floor_refuses_in_either_language(pipeline):
    answer = pipeline.settings.answer.model_copy(update={"min_support": 0.99})
    backend = ExtractiveBackend(pipeline.embedder, answer)
    assert not answer.judge_across_languages
    query, hits = _hits(pipeline, ENGLISH)
    assert backend.select(query, hits) == ([], 0.0)
