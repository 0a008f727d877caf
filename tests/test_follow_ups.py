"""Multi-turn conversations on the real letter index, Dutch and English (issue 10.4).

A follow-up that points back ("dat", "that", "tell me more", "and for the Netherlands?")
is searched together with the previous question, wants what it asks itself, and is never
answered with the sentences the previous answer already gave.
"""

from __future__ import annotations

import pytest

from rag.pipeline import Pipeline
from rag.query.analysis import analyse
from rag.types import Answer


def converse(pipeline: Pipeline, questions: list[str]) -> list[Answer]:
    """Ask `questions` in turn, each with the conversation so far."""
    history: list[tuple[str, str]] = []
    answers = []
    for question in questions:
        answer = pipeline.ask(question, history=history)
        answers.append(answer)
        history.append((question, answer.answer))
    return answers


def quoted(answer: Answer) -> set[str]:
    return {" ".join(s.text.split()) for s in answer.sentences}


@pytest.mark.parametrize(
    ("first", "follow_up", "language"),
    [
        (
            "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?",
            "En wat betekent dat voor Nederland?",
            "nl",
        ),
        ("What does the cabinet want with trade?", "Why?", "en"),
    ],
    ids=["nl", "en"],
)
def test_a_follow_up_that_points_back_gets_a_new_answer(
    pipeline: Pipeline, first: str, follow_up: str, language: str
) -> None:
    earlier, later = converse(pipeline, [first, follow_up])
    assert not earlier.refused and not later.refused, later.answer
    assert later.language == language
    assert later.answer != earlier.answer
    assert not quoted(later) & quoted(earlier), "a sentence of the previous answer came back"
    if "Nederland" in follow_up:  # the follow-up's own subject is in what it quotes
        assert any("Nederland" in c.quote for c in later.citations), later.answer


@pytest.mark.parametrize(
    "questions",
    [
        ["Wat zegt de brief over handelsakkoorden?", "Vertel meer", "Waarom?"],
        ["Wat wil het kabinet met de handel?", "Waarom?"],
    ],
)
def test_more_and_why_bring_new_evidence_on_the_same_topic(
    pipeline: Pipeline, questions: list[str]
) -> None:
    answers = converse(pipeline, questions)
    for earlier, later in zip(answers, answers[1:], strict=False):
        assert not later.refused, later.answer
        assert later.answer != earlier.answer
        assert not quoted(later) & quoted(earlier)
    # The follow-ups stay on the first question's topic: they are searched with it.
    history = [(q, a.answer) for q, a in zip(questions, answers, strict=True)]
    last = analyse(questions[-1], history[:-1])
    assert last.standalone.startswith(questions[0])


def test_the_same_question_again_may_get_the_same_answer(pipeline: Pipeline) -> None:
    question = "Wat zegt de brief over handelsakkoorden?"
    first, again = converse(pipeline, [question, question])
    assert again.answer == first.answer


def test_a_new_subject_is_not_joined_and_a_number_is_not_inherited() -> None:
    first = "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
    history = [(first, "…")]
    assert analyse("Waarom?", history).asks == frozenset()
    assert analyse("En voor Nederland?", history).wants("number")  # asked again
    assert analyse("And for the Netherlands?", [("How many percent of GDP?", "…")]).wants("number")
    assert analyse("En over handel?", history).standalone == "En over handel?"
    # A short follow-up is answered in its own language, whatever came before.
    english = [("What does the letter say about trade?", "…")]
    assert analyse("Tell me more", english).language == "en"
    assert analyse("Vertel meer", english).language == "nl"
