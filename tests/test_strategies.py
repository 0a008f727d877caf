"""Answer strategies by question kind (`rag.answer.strategies`), on the real letter index:
questions of several parts answered part by part, summaries of a topic as cited bullets
from several sections, and answers on the topic without the asked fact marked partial."""

from __future__ import annotations

import pytest

from rag.answer.strategies import choose
from rag.answer.strategies.base import appended, merged
from rag.pipeline import Pipeline
from rag.query.analysis import analyse, topic
from rag.query.parts import split_parts
from rag.types import Chunk, Hit


@pytest.mark.parametrize(
    ("question", "shown"),
    [
        (
            "Wat wil het kabinet voor defensie, en waarom?",
            ["Wat wil het kabinet voor defensie?", "Waarom?"],
        ),
        (
            "What is the NATO norm? And when must it be reached?",
            ["What is the NATO norm?", "And when must it be reached?"],
        ),
        (
            "What is the role of the Commission and how will the Netherlands respond?",
            ["What is the role of the Commission?", "How will the Netherlands respond?"],
        ),
        (
            "Wat is het verschil tussen de aanpak van China en die van de VS?",
            ["de aanpak van China", "die van de VS"],
        ),
    ],
)
def test_questions_of_several_parts_are_split(question: str, shown: list[str]) -> None:
    parts = split_parts(question)
    assert [p.shown for p in parts] == shown
    assert choose(analyse(question)).name == "multi_part"


def test_a_part_that_points_back_borrows_the_first_part() -> None:
    why = split_parts("Wat wil het kabinet voor defensie, en waarom?")[1]
    assert "defensie" in why.text and why.text.endswith("waarom?")
    reached = split_parts("What is the NATO norm? And when must it be reached?")[1]
    assert "NATO norm" in reached.text  # "it" points back


@pytest.mark.parametrize(
    "question",
    [
        "Welke landen en organisaties noemt de brief?",  # one question, a list
        "Welk percentage van het bbp en tegen welk jaar?",  # "tegen" opens no question
        "Which countries does the letter name as like-minded partners?",
    ],
)
def test_one_question_stays_whole(question: str) -> None:
    assert len(split_parts(question)) == 1
    assert choose(analyse(question)).name != "multi_part"


def test_summaries_and_facts_get_their_strategies() -> None:
    assert choose(analyse("Vat het defensiebeleid samen.")).name == "overview"
    assert choose(analyse("What is the core message of the letter?")).name == "overview"
    assert choose(analyse("Hoeveel procent van het bbp spreken de bondgenoten af?")).name == "fact"


def _hit(n: int) -> Hit:
    chunk = Chunk.of_text(f"c{n}", "d", "t")
    return Hit(chunk=chunk, score=1.0, rank=n)


def test_merged_rankings_take_each_ones_best_first_and_each_passage_once() -> None:
    a, b = [_hit(1), _hit(2), _hit(3)], [_hit(2), _hit(4)]
    ids = [h.chunk.chunk_id for h in merged([a, b], 10)]
    assert ids == ["c1", "c2", "c4", "c3"]
    assert [h.rank for h in merged([a, b], 2)] == [1, 2]


def test_appended_rankings_keep_the_first_in_place_and_add_the_others_after() -> None:
    whole = [_hit(1), _hit(2), _hit(3), _hit(4), _hit(5)]
    part_a, part_b = [_hit(6), _hit(2)], [_hit(7), _hit(8)]
    ids = [h.chunk.chunk_id for h in appended(whole, [part_a, part_b], 8)]
    assert ids == ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]
    assert [h.rank for h in appended(whole, [part_a], 6)] == [1, 2, 3, 4, 5, 6]
    assert [h.chunk.chunk_id for h in appended(whole, [], 3)] == ["c1", "c2", "c3"]


@pytest.mark.slow
def test_a_two_part_question_is_answered_part_by_part(pipeline: Pipeline) -> None:
    answer = pipeline.ask("What does the letter want for defence, and why?")
    assert answer.strategy == "multi_part"
    assert "What does the letter want for defence?" in answer.answer
    assert "Why?" in answer.answer
    claims = [s.text for s in answer.sentences]
    assert "Why?" not in claims and all(s.markers for s in answer.sentences)
    assert all(s.supported for s in answer.sentences)
    open_part = "The documents do not answer this part of the question."
    assert (answer.answered == "partial") == (open_part in answer.answer)
    assert answer.answered != "none"


@pytest.mark.slow
def test_a_topic_summary_cites_bullets_from_several_sections(pipeline: Pipeline) -> None:
    answer = pipeline.ask("Vat het defensiebeleid samen.")
    assert answer.strategy == "overview" and answer.answered == "full"
    bullets = [line for line in answer.answer.splitlines() if line.startswith("- ")]
    assert len(bullets) >= 3 and all(line.rstrip().endswith("]") for line in bullets)
    sections = {c.section for c in answer.citations}
    assert len(sections) >= 2, sections
    assert sum(s.supported for s in answer.sentences) >= 3
    assert all(s.markers for s in answer.sentences)  # context sentences cite too


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("Summarise what the letter says about the EU's trade policy.", "EU's trade policy"),
        ("What are the letter's main points on the rule of law?", "rule law"),
        ("Vat samen wat de brief zegt over uitbreiding van de EU.", "uitbreiding EU"),
        (
            "Wat zijn de hoofdpunten van de brief over economische veiligheid?",
            "economische veiligheid",
        ),
    ],
)
def test_a_summary_is_of_its_topic_without_the_words_asking_for_it(
    question: str, wanted: str
) -> None:
    assert topic(question) == wanted
    assert choose(analyse(question)).name == "overview"


@pytest.mark.slow
def test_a_follow_up_that_only_points_back_draws_on_the_previous_answers_passages(
    pipeline: Pipeline,
) -> None:
    first_question = "Wat wil het kabinet met de handel?"
    first = pipeline.ask(first_question)
    later = pipeline.ask("Waarom?", history=[(first_question, first.answer)])
    assert later.strategy == "follow_up"
    earlier_ids = {c.chunk_id for c in first.citations}
    assert earlier_ids <= {h.chunk.chunk_id for h in later.passages}
    assert not {s.text for s in later.sentences} & {s.text for s in first.sentences}
    own = pipeline.ask("En voor Nederland?", history=[(first_question, first.answer)])
    assert own.strategy != "follow_up"  # it names a subject of its own


def test_a_partial_answer_carries_its_badge_in_the_chat(pipeline: Pipeline) -> None:
    from ui.markup import answer_html

    answer = pipeline.ask("What does the letter want for defence, and why?")
    partial = answer.model_copy(update={"answered": "partial"})
    full = answer.model_copy(update={"answered": "full"})
    for lang, label in (("en", "Partial answer"), ("nl", "Gedeeltelijk antwoord")):
        assert label in answer_html(partial, 1, lang)
        assert label not in answer_html(full, 1, lang)
