"""The OpenAI-compatible endpoint with the official `openai` client as the caller, against a
real server on loopback: models, answers with citations (Dutch, English), a refusal,
streaming, conversation history and errors."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from serving import serve_in_thread

from rag.backends.base import REFUSALS
from rag.pipeline import Pipeline
from ui.access import Access
from ui.api import build_api
from ui.openai_api import MODEL

DUTCH = "Wat is de NAVO-norm voor 2035?"
ENGLISH = "What does the letter say about the EU-Mercosur agreement?"
REFUSED = "What is the best recipe for apple pie with cinnamon?"
PASSWORD = "letmein"


@pytest.fixture(scope="module")
def client(pipeline: Pipeline) -> Iterator[openai.OpenAI]:
    """An OpenAI client for the assistant; the server has a login, sent as the API key."""
    access = Access(user=("reader", PASSWORD))
    with serve_in_thread(build_api(pipeline, access)) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key=PASSWORD, max_retries=0, timeout=60)


def ask(client: openai.OpenAI, question: str, **kwargs):
    messages = [*kwargs.pop("history", []), {"role": "user", "content": question}]
    return client.chat.completions.create(model=MODEL, messages=messages, **kwargs)


def test_models_are_listed(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[0] == MODEL and f"{MODEL}:extractive" in ids


@pytest.mark.parametrize(
    ("question", "expected", "heading"),
    [(DUTCH, "5%", "**Bronnen**"), (ENGLISH, "Mercosur", "**Sources**")],
)
def test_answer_is_cited_markdown_with_structured_citations(
    client: openai.OpenAI, question: str, expected: str, heading: str
) -> None:
    reply = ask(client, question)
    content = reply.choices[0].message.content or ""
    assert expected in content and "[1]" in content and heading in content
    assert reply.choices[0].finish_reason == "stop"
    citations = reply.model_extra["citations"]
    assert citations and reply.model_extra["refused"] is False
    first = citations[0]
    assert set(first) >= {"document", "lines", "page", "quote", "grounding", "relevance"}
    assert first["quote"] in content  # the sources list quotes the cited sentence
    assert first["grounding"]["supported"] is True and first["relevance"] > 0


def test_refusal_has_no_citations(client: openai.OpenAI) -> None:
    reply = ask(client, REFUSED)
    content = reply.choices[0].message.content or ""
    assert content.startswith(REFUSALS["en"])
    assert reply.model_extra["refused"] is True and reply.model_extra["citations"] == []


@pytest.mark.parametrize("question", [DUTCH, ENGLISH, REFUSED])
def test_streaming_gives_the_same_reply_and_citations(client: openai.OpenAI, question: str) -> None:
    whole = ask(client, question)
    chunks = list(ask(client, question, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) >= 3
    assert text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == whole.model_extra["citations"]


def test_earlier_messages_are_the_conversation(client: openai.OpenAI) -> None:
    first = ask(client, DUTCH)
    history = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": DUTCH},
        {"role": "assistant", "content": first.choices[0].message.content},
    ]
    follow = ask(client, "Why?", history=history)
    alone = ask(client, "Why?")
    assert follow.model_extra["citations"] != alone.model_extra["citations"]


def test_errors_reach_the_client_as_openai_errors(client: openai.OpenAI, pipeline) -> None:
    with pytest.raises(openai.NotFoundError, match="v1/models"):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": DUTCH}]
        )
    with pytest.raises(openai.BadRequestError, match="last message"):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "assistant", "content": "Hallo"}]
        )
    wrong_key = client.with_options(api_key="nope")
    with pytest.raises(openai.AuthenticationError):
        wrong_key.models.list()
