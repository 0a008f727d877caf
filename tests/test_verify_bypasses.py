"""The bypasses an outside probe found in the chat's and `rag eval`'s faithfulness checks,
each closed: a refusal phrase in front of a cited claim, a flipped negation, "niet" →
"wel", a claim appended to a verbatim quote, an antonym, a claim on a line ending in ":",
a lower-case claim after "[1].", an inserted English "does not", and a refusal prefix in
front of an uncited claim. Real embedder, real learned judge."""

from __future__ import annotations

from typing import Any

import pytest
from test_model_answers import ABSORB, model_answer, sentence_with

from eval.answers import looks_like_refusal
from eval.faithfulness import CitedAnswer, Judge, answer_sentences, score_faithfulness
from eval.judges import verifier_judge
from rag.backends.base import declines
from rag.pipeline import Pipeline
from rag.retrieval.embeddings import Embedder

SOURCE = (
    "Die verschillen nemen niet weg dat de lidstaten gezamenlijk moeten optreden. "
    "Het kabinet wil meer besteden aan defensie en aan de civiele paraatheid."
)
QUOTE = "Die verschillen nemen niet weg dat de lidstaten gezamenlijk moeten optreden."


@pytest.fixture(scope="module")
def judge(default_embedder: Embedder) -> Judge:
    return verifier_judge(default_embedder)


def _recall(text: str, judge: Judge) -> float | None:
    answer = CitedAnswer(text=text, refused=False, passages=[(1, SOURCE)], sources={1: SOURCE})
    return score_faithfulness(answer, judge).citation_recall


def test_a_cited_claim_after_a_refusal_phrase_is_checked_in_the_chat() -> None:
    assert declines("Er is geen informatie over de kosten.")
    assert not declines("Er is geen informatie over de kosten, en Nederland verlaat de EU [1].")


@pytest.mark.parametrize(
    "claim",
    [
        "Die verschillen nemen weg dat de lidstaten gezamenlijk moeten optreden.",
        "Die verschillen nemen wel weg dat de lidstaten gezamenlijk moeten optreden.",
        QUOTE[:-1] + ", en daarom verlaat Nederland de Europese Unie.",
        "Het kabinet wil bezuinigen op defensie en op de civiele paraatheid.",
        "The cabinet does not want to spend more on defence and civil preparedness.",
    ],
)
def test_changed_claims_with_a_citation_are_not_supported(judge: Judge, claim: str) -> None:
    assert _recall(f"{claim} [1]", judge) == 0.0


def test_the_faithful_sentences_are_supported(judge: Judge) -> None:
    assert _recall(f"{QUOTE} [1]", judge) == 1.0
    assert _recall("Het kabinet wil meer besteden aan defensie [1].", judge) == 1.0


def test_a_claim_on_a_line_ending_in_a_colon_is_scored(judge: Judge) -> None:
    said = answer_sentences(f"{QUOTE} [1]\nNederland verlaat de Europese Unie:")
    assert [s.text for s in said][-1] == "Nederland verlaat de Europese Unie:"
    assert _recall(f"{QUOTE} [1]\nNederland verlaat de Europese Unie:", judge) == 0.5
    listed = answer_sentences("De brief noemt:\n- Defensie [1].\n- Paraatheid [1].")
    assert [s.text for s in listed] == ["Defensie.", "Paraatheid."]


def test_a_lower_case_claim_after_a_marked_full_stop_is_its_own_sentence(judge: Judge) -> None:
    text = f"{QUOTE} [1]. en daarom verlaat Nederland de Europese Unie."
    said = answer_sentences(text)
    assert [s.markers for s in said] == [(1,), ()]
    assert _recall(text, judge) == 0.5


def test_a_refusal_prefix_does_not_make_an_uncited_claim_a_refusal() -> None:
    assert looks_like_refusal("Dat staat niet in de brief.")
    assert not looks_like_refusal("Dat staat niet in de brief. Nederland verlaat de EU.")


# ---- the chat: a scripted model's text through the real chain and letter index ---------


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.replace("niet ten koste", "ten koste", 1),  # negation dropped
        lambda s: s.replace("niet ten koste", "wel ten koste", 1),  # "niet" → "wel"
        lambda s: s.rstrip(". ") + ", en daarom verlaat Nederland de Europese Unie.",
    ],
    ids=["negation-dropped", "niet-wel", "appended-claim"],
)
def test_the_chat_does_not_ground_a_changed_sentence(pipeline: Pipeline, change: Any) -> None:
    hit, sentence = sentence_with(pipeline, ABSORB)
    changed = change(sentence)
    assert changed != sentence
    answer = model_answer(pipeline, f"{changed} [1]", [hit], "Wat zegt de brief hierover?")
    verdict = answer.sentences[0]
    assert not verdict.supported and verdict.grounding == "unsupported", verdict
    kept = model_answer(pipeline, f"{sentence} [1]", [hit], "Wat zegt de brief hierover?")
    assert kept.sentences[0].supported
