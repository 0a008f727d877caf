"""What the chain makes of a model's text: refusals by meaning, echoed prompt text, and a
verifier that judges every sentence shown (issues 10.6 and 11.5).

A scripted OpenAI-compatible server on loopback streams the exact text of each case to
the real `openai` backend; the chain verifies it against passages of the real letter
index (session fixture) with the real embedder. No fakes: the server is real HTTP, only
its words are scripted.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest
from serving import canned_server

from rag.answer.chain import AnswerChain
from rag.answer.render import answer_to_json
from rag.pipeline import Pipeline
from rag.types import Answer, Hit

NORM = "5% van het bbp aan veiligheid"  # the NATO 2035 sentence
ABSORB = "niet ten koste moet gaan van ons handelingsvermogen"  # a negated sentence


def event_stream(text: str) -> bytes:
    """`text` as an OpenAI chat-completions event stream, a few characters per event."""
    events = [
        "data: " + json.dumps({"choices": [{"delta": {"content": text[i : i + 17]}}]})
        for i in range(0, len(text), 17)
    ]
    return ("\n\n".join([*events, "data: [DONE]"]) + "\n\n").encode()


@contextlib.contextmanager
def scripted_server(text: str) -> Iterator[str]:
    """A real HTTP server on loopback that answers every chat request with `text`."""
    with canned_server(event_stream(text), content_type="text/event-stream") as url:
        yield f"{url}/v1"


def sentence_with(pipeline: Pipeline, words: str) -> tuple[Hit, str]:
    """The letter's passage holding `words`, as a hit, and its sentence holding them."""
    for chunk in pipeline.store.chunks:
        for sentence in chunk.sentences:
            text = " ".join(chunk.sentence_text(sentence).split())
            if words in text:
                return Hit(chunk=chunk, score=1.0, rank=1), text
    raise AssertionError(f"no sentence with {words!r} in the letter")


def model_answer(pipeline: Pipeline, text: str, hits: list[Hit], question: str) -> Answer:
    with scripted_server(text) as url:
        model = pipeline.with_generation(backend="openai", base_url=url, model="m", timeout_s=5)
        chain: AnswerChain = model.chain
        return chain.invoke(question, backend="openai", hits=hits)


@pytest.fixture(scope="module")
def norm(pipeline: Pipeline) -> tuple[list[Hit], str]:
    hit, sentence = sentence_with(pipeline, NORM)
    return [hit], sentence


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but the documents do not answer this question.",
        "**the documents do not answer this question.**",
        "The provided passages don't mention this. Please consult other sources.",
        "De tekst beantwoordt deze vraag niet.",
        "Helaas. De documenten bevatten geen informatie hierover.",
        "_De documenten geven geen antwoord op deze vraag_",
    ],
)
def test_refusals_are_recognised_by_meaning(pipeline, norm, text):
    answer = model_answer(pipeline, text, norm[0], "Hoe stemde Nederland over Mercosur?")
    assert answer.refused, answer
    assert not answer.sentences and not answer.citations
    assert answer_to_json(answer)["refused"] is True


def test_a_refusal_that_goes_on_to_claim_is_verified(pipeline, norm):
    hits, _ = norm
    text = (
        "De documenten geven geen antwoord op deze vraag. "
        "De NAVO-bondgenoten spraken af in 2035 1% van het bbp aan veiligheid te besteden [1]."
    )
    answer = model_answer(pipeline, text, hits, "Wat is de NAVO-norm voor 2035?")
    assert not any("geen antwoord" in s.text for s in answer.sentences)
    (claim,) = answer.sentences
    assert claim.markers == [1] and not claim.supported, claim
    # Nothing in it is supported: not an answer, and flagged as such.
    assert answer.refused and answer.unsupported_answer
    # Case does not hide a claim inside the refusal sentence either.
    lower = "The documents do not answer this question. however, NATO spends 1% on defence."
    answer = model_answer(pipeline, lower, hits, "What is the NATO norm?")
    assert [s.supported for s in answer.sentences] == [False], answer.sentences


def test_a_line_ending_in_a_colon_is_verified(pipeline, norm):
    hits, sentence = norm
    text = f"De NAVO-norm voor 2035 is 1% van het bbp:\n- {sentence} [1]"
    answer = model_answer(pipeline, text, hits, "Wat is de NAVO-norm voor 2035?")
    texts = [s.text for s in answer.sentences]
    assert texts[0] == "De NAVO-norm voor 2035 is 1% van het bbp:", texts
    assert [s.supported for s in answer.sentences] == [False, True]


def test_only_the_extractive_lead_in_is_exempt(pipeline):
    answer = pipeline.ask("Wat zegt de brief over handelsakkoorden?")
    assert answer.answer.startswith("Volgens de tekst:")
    assert answer.sentences and all(s.markers for s in answer.sentences)
    assert not any(s.text.endswith(":") for s in answer.sentences)


def test_a_lower_case_continuation_after_a_marker_is_its_own_claim(pipeline, norm):
    hits, sentence = norm
    text = f"{sentence} [1]. and the Netherlands will leave NATO in 2030."
    answer = model_answer(pipeline, text, hits, "Wat is de NAVO-norm voor 2035?")
    assert len(answer.sentences) == 2, answer.sentences
    first, second = answer.sentences
    assert first.supported and first.markers == [1]
    assert second.text.startswith("and the Netherlands") and not second.supported
    # With the marker after the full stop it is the same.
    moved = f"{sentence.rstrip('.')}. [1] and the Netherlands will leave NATO in 2030."
    answer = model_answer(pipeline, moved, hits, "Wat is de NAVO-norm voor 2035?")
    assert [s.supported for s in answer.sentences] == [True, False]


def test_a_flipped_negation_or_changed_number_is_not_supported(pipeline, norm):
    hit, negated = sentence_with(pipeline, ABSORB)
    flipped = negated.replace("niet ten koste", "ten koste")
    text = f"{negated} [1] {flipped} [1]"
    answer = model_answer(pipeline, text, [hit], "Wat is het uitgangspunt bij uitbreiding?")
    kept, turned = answer.sentences
    assert kept.supported and kept.support == 1.0
    assert not turned.supported and turned.support < 0.55, turned
    # A piece cut out of the negated sentence is no verbatim quote of it.
    cut = flipped[flipped.index("ten koste") :]
    answer = model_answer(pipeline, f"{cut} [1]", [hit], "Wat is het uitgangspunt?")
    assert not answer.sentences[0].supported, answer.sentences
    hits, sentence = norm
    moved = sentence.replace("2035", "2030")
    answer = model_answer(pipeline, f"{moved} [1]", hits, "Wat is de NAVO-norm?")
    assert not answer.sentences[0].supported, answer.sentences


def test_echoed_prompt_text_is_not_parsed_as_citations(pipeline, norm):
    hits, sentence = norm
    echo = (
        "Answer in English from the passages only (valid citation numbers: [1] to [5]), "
        "or reply with exactly: The documents do not answer this question."
    )
    answer = model_answer(pipeline, echo, hits, "What is the NATO norm?")
    assert answer.refused and answer.dropped_citations == 0 and not answer.citations
    text = f"{sentence} [1] (valid citation numbers: [1] to [5])"
    answer = model_answer(pipeline, text, hits, "Wat is de NAVO-norm?")
    assert answer.dropped_citations == 0 and "valid citation" not in answer.answer
    assert [c.marker for c in answer.citations] == [1]
    assert [s.markers for s in answer.sentences] == [[1]]


def test_an_answer_mostly_unsupported_is_flagged(pipeline, norm):
    hits, sentence = norm
    text = (
        f"{sentence} [1] De Verenigde Staten verlaten de NAVO in 2027 [1]. "
        "Nederland schaft zijn krijgsmacht af [1]."
    )
    answer = model_answer(pipeline, text, hits, "Wat is de NAVO-norm?")
    assert [s.supported for s in answer.sentences] == [True, False, False]
    assert answer.unsupported_answer and not answer.refused
    assert answer_to_json(answer)["unsupported_answer"] is True
    fine = model_answer(pipeline, f"{sentence} [1]", hits, "Wat is de NAVO-norm?")
    assert not fine.unsupported_answer and not fine.refused
    assert answer_to_json(fine)["unsupported_answer"] is False
