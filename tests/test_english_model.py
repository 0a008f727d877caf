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
What good English prose gets is tested with a scripted model server (a real HTTP server
on loopback that records the request and answers with fixed English text): the request
asks for English, a right English sentence is supported by the Dutch passage it cites
and a changed figure is not.
"""

from __future__ import annotations

import http.server
import json

import pytest
from serving import handler_server

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


class _EnglishModel(http.server.BaseHTTPRequestHandler):
    """A model server that records each request and answers in English prose."""

    requests: list[dict[str, object]] = []
    reply = ""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.requests.append(json.loads(body))
        chunk = {"choices": [{"delta": {"content": self.reply}}]}
        data = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("reply", "supported"),
    [
        ("NATO allies agreed to spend 5% of GDP on security in 2035 [1].", True),
        ("NATO allies agreed to spend 2% of GDP on security in 2030 [1].", False),
    ],
)
def test_english_prose_from_a_model_is_verified_against_the_dutch_passage(
    pipeline: Pipeline, reply: str, supported: bool
) -> None:
    handler = type("Handler", (_EnglishModel,), {"requests": [], "reply": reply})
    with handler_server(handler) as url:
        model = pipeline.with_generation(
            backend="openai", base_url=f"{url}/v1", model="m", timeout_s=5
        )
        answer: Answer = model.chain.invoke(QUESTION, backend="openai", hits=norm_hits(pipeline))
    sent = json.dumps(handler.requests[0]["messages"])
    assert "Answer in English" in sent and NORM in sent
    assert answer.language == "en" and answer.backend == "openai"
    assert [s.supported for s in answer.sentences] == [supported]
    assert answer.refused == (not supported)
    if supported:
        assert reply.removesuffix(" [1].") in answer.answer
        assert [c.marker for c in answer.citations] == [1]
        assert NORM in " ".join(answer.citations[0].quote.split())
