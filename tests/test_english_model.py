"""With a model server configured, an English question about the Dutch letter goes to
the model with the instruction to answer in English, and whatever the model writes is
verified sentence by sentence against the Dutch passages it cites (issue 22.5).

The slow test runs the real llama.cpp server of `conftest.model_server` (the bundled
Gemma 3 270M GGUF) behind the real `openai` backend. That model is too small to follow
the citation rules: on the NATO 2035 passage it refuses or echoes the prompt (without
the GGUF's chat format it writes "[/INST]"-style echoes), so the test checks what the
chain guarantees whatever the model writes, not that the prose is good: the answer is
labelled English, every sentence shown carries its verifier verdict, citations point
only to the passages given, and an answer with no supported sentence is a refusal.
"""

from __future__ import annotations

import pytest

from rag.backends.prompt import build_messages
from rag.pipeline import Pipeline
from rag.query.analysis import analyse
from rag.settings import GenerationSettings
from rag.types import Answer, Hit

NORM = "5% van het bbp aan veiligheid"  # the NATO 2035 sentence
QUESTION = "What percentage of GDP will NATO allies spend on security in 2035?"


def norm_hits(pipeline: Pipeline) -> list[Hit]:
    chunks = [c for c in pipeline.store.chunks if NORM in " ".join(c.text.split())]
    assert chunks, "the NATO 2035 passage"
    return [Hit(chunk=chunks[0], score=1.0, rank=1)]


def test_an_english_question_asks_the_model_for_english(pipeline: Pipeline) -> None:
    messages = build_messages(analyse(QUESTION), norm_hits(pipeline))
    assert "Answer in English" in messages[0]["content"]
    assert "Answer in English" in messages[-1]["content"]


@pytest.mark.slow
def test_an_english_model_answer_is_verified_against_the_dutch_passage(
    pipeline: Pipeline, model_server: str
) -> None:
    hits = norm_hits(pipeline)
    generation = GenerationSettings(
        backend="openai", base_url=model_server, temperature=0, max_tokens=80, timeout_s=240
    )
    model = pipeline.with_generation(**generation.model_dump())
    answer: Answer = model.chain.invoke(QUESTION, backend="openai", hits=hits)
    assert answer.backend == "openai" and answer.language == "en"
    assert all(s.support is not None for s in answer.sentences)
    assert all(c.chunk_id == hits[0].chunk.chunk_id for c in answer.citations)
    supported = [s for s in answer.sentences if s.supported]
    assert answer.refused == (not supported)
