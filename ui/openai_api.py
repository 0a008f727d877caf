"""The OpenAI-compatible endpoint: `GET /v1/models`, `POST /v1/chat/completions`.

Any OpenAI client (the `openai` package, Open WebUI, LibreChat) can use the assistant.
The last user message is the question, earlier messages are the conversation. The reply
is the cited answer in Markdown followed by its sources; the structured citations travel
in an extra top-level field, `citations` (document, lines, page, quote, grounding,
relevance), with `refused` beside it. Streaming sends the answer text as it is written,
then the sources, then a last chunk that carries `citations`, then `[DONE]`.

Model ids: `kamerbrief-rag` answers with the configured backend; `kamerbrief-rag:<name>`
picks one of the backends the server has. `/v1/models` lists only the ids that can answer
now (`rag.backends.ready`), so a client never offers a model that would fail. Sampling
options a client sends (temperature, max_tokens, …) are accepted and ignored: answers are
verified, not sampled. `usage` counts tokens with tiktoken (cl100k_base): the messages'
text as the prompt, the reply's content as the completion; streaming sends it in a last
chunk when the request has `stream_options: {"include_usage": true}`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from index.chunk import count_tokens
from rag.answer.render import citations_markdown
from rag.backends.ready import ready_backends
from rag.backends.registry import backend_names
from rag.types import Answer, Citation
from ui.api_errors import ApiError
from ui.api_schemas import ChatCompletion, ModelList, error_responses
from ui.limits import bounded_history, plain_text

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

MODEL = "kamerbrief-rag"
CREATED = 1_767_225_600  # 2026-01-01: a fixed "created" for the model list


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields of an OpenAI chat request that matter here; others are ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL
    messages: list[Message] = Field(min_length=1, max_length=100)
    stream: bool = False
    stream_options: dict[str, Any] | None = Field(
        default=None, description='{"include_usage": true}: a last chunk with `usage`.'
    )
    documents: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Extra field: ids of the documents to answer from (none: all).",
    )


def openai_router(pipeline: Pipeline) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

    @router.get(
        "/models",
        summary="The models (answer backends) that can answer now",
        response_model=ModelList,
        responses=error_responses(401),
    )
    def models() -> Any:
        generation = pipeline.settings.generation
        ready = ready_backends(generation)
        ids = [MODEL] if generation.backend in ready else []
        ids += [f"{MODEL}:{name}" for name in ready]
        return {
            "object": "list",
            "data": [
                {"id": i, "object": "model", "created": CREATED, "owned_by": MODEL} for i in ids
            ],
        }

    @router.post(
        "/chat/completions",
        summary="Answer the last user message, with citations",
        responses={
            200: {
                "model": ChatCompletion,
                "description": "A chat.completion; with stream=true, chat.completion.chunk "
                "server-sent events ending in [DONE].",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **error_responses(400, 401, 404, 413, 422, 503),
        },
    )
    def completions(body: ChatRequest) -> Any:
        backend = backend_of(body.model)
        question, history = conversation(body.messages)
        reply_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if not body.stream:
            answer = pipeline.ask(
                question, backend=backend, history=history, documents=body.documents
            )
            return completion(reply_id, body.model, answer, prompt_tokens(body.messages))
        events = pipeline.stream(
            question, backend=backend, history=history, documents=body.documents
        )
        first = next(events, None)  # bad input, unreachable model server: fail with a status
        if first is None:
            raise ApiError(500, "The answer stream ended before it began; please try again.")
        prompt = prompt_tokens(body.messages) if include_usage(body) else None
        return StreamingResponse(
            completion_chunks(reply_id, body.model, chain([first], events), prompt),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def backend_of(model: str) -> str | None:
    """The backend a model id asks for (None: the configured one)."""
    if model == MODEL:
        return None
    name = model.removeprefix(f"{MODEL}:")
    if model.startswith(f"{MODEL}:") and name in backend_names():
        return name
    raise ApiError(404, f"Unknown model '{model}'. GET /v1/models lists the models on offer.")


def conversation(messages: list[Message]) -> tuple[str, list[tuple[str, str]]]:
    """(question, earlier (question, answer) pairs) from chat messages."""
    turns = [(m.role, text_of(m)) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user" or not turns[-1][1].strip():
        raise ApiError(400, "The last message must be a user message holding the question.")
    plain_text(turns[-1][1])
    history: list[tuple[str, str]] = []
    question: str | None = None
    for role, text in turns[:-1]:
        if role == "user":
            question = text
        elif question is not None:
            history.append((question, strip_sources(text)))
            question = None
    return turns[-1][1], bounded_history(history)


def text_of(message: Message) -> str:
    """A message's text (content parts of type "text" joined; images are not read)."""
    if isinstance(message.content, str):
        return message.content
    parts = [p for p in message.content or [] if p.get("type") == "text"]
    if any(not isinstance(p.get("text"), str) for p in parts):
        raise ApiError(400, 'A content part of type "text" needs its "text" as a string.')
    return "\n".join(p["text"] for p in parts)


SOURCES_HEADING = {"nl": "Bronnen", "en": "Sources"}
CLOSEST_HEADING = {"nl": "Dichtstbijzijnde passages", "en": "Closest passages"}


def strip_sources(text: str) -> str:
    """An earlier reply without the sources list this endpoint appended to it."""
    for heading in (*SOURCES_HEADING.values(), *CLOSEST_HEADING.values()):
        text = text.split(f"\n\n**{heading}**\n", 1)[0]
    return text


def sources_markdown(answer: Answer) -> str:
    """The Markdown put after the answer: its sources, or a refusal's closest passages."""
    if answer.citations:
        return (
            f"\n\n**{SOURCES_HEADING[answer.language]}**\n\n"
            + citations_markdown(answer.citations).rstrip()
        )
    return closest_markdown(answer) if answer.refused else ""


def closest_markdown(answer: Answer) -> str:
    """A refusal's three closest passages, as a Markdown list under its heading."""
    if answer.passages:
        lines = [
            f"- {h.chunk.document}, lines {h.chunk.line_start}–{h.chunk.line_end}"
            + (f" — {h.chunk.section}" if h.chunk.section else "")
            for h in answer.passages[:3]
        ]
        return f"\n\n**{CLOSEST_HEADING[answer.language]}**\n\n" + "\n".join(lines)
    return ""


def citations_json(answer: Answer) -> list[dict[str, Any]]:
    """The structured citations: where, the verbatim quote, grounding and relevance
    (the cited passage's ranking score for this question)."""
    relevance = {h.chunk.chunk_id: h.score for h in answer.passages}
    return [_citation(c, relevance.get(c.chunk_id)) for c in answer.citations]


def _citation(c: Citation, relevance: float | None) -> dict[str, Any]:
    return {
        "marker": c.marker,
        "chunk_id": c.chunk_id,
        "document": c.document,
        "section": c.section,
        "lines": list(c.lines),
        "page": c.page,
        "quote": c.quote,
        "grounding": {"supported": c.supported, "support": round(c.support, 3)},
        "relevance": None if relevance is None else round(relevance, 4),
    }


def include_usage(body: ChatRequest) -> bool:
    return bool((body.stream_options or {}).get("include_usage"))


def prompt_tokens(messages: list[Message]) -> int:
    """The tokens of the messages' text, as the client sent them."""
    return sum(count_tokens(text_of(m)) for m in messages)


def usage(prompt: int, reply: str) -> dict[str, int]:
    """OpenAI's `usage`: tiktoken (cl100k_base) counts of the prompt and the reply."""
    completion_tokens = count_tokens(reply)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def completion(reply_id: str, model: str, answer: Answer, prompt: int = 0) -> dict[str, Any]:
    """A `chat.completion` object with the extra `citations` and `refused` fields."""
    content = reply_text(answer)
    return {
        "id": reply_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage(prompt, content),
        "citations": citations_json(answer),
        "refused": answer.refused,
    }


WITHHELD = {
    "nl": "Het antwoord van het taalmodel is achtergehouden: geen van zijn {n} zinnen wordt "
    "gesteund door de passages die het aanhaalt, dus het kan onjuist zijn.",
    "en": "The language model's answer was withheld: none of its {n} sentences is supported "
    "by the passages it cites, so it may be false.",
}


def rejected(answer: Answer) -> bool:
    """Did the checks reject the answer's own text? (A refusal with claims in it that no
    cited passage supports; a plain refusal phrase is not rejected, it is the reply.)"""
    return answer.refused and bool(answer.sentences)


def reply_text(answer: Answer) -> str:
    """The message content: the answer and its sources; for a rejected answer, a note
    that it was withheld and why, and the closest passages, never the rejected text (an
    OpenAI client shows `content` and ignores the extra `refused` field)."""
    if rejected(answer):
        note = WITHHELD.get(answer.language, WITHHELD["en"]).format(n=len(answer.sentences))
        return note + closest_markdown(answer)
    return answer.answer + sources_markdown(answer)


def completion_chunks(
    reply_id: str, model: str, events: Iterator[str | Answer], prompt: int | None = None
) -> Iterator[str]:
    """`chat.completion.chunk` events: text deltas, the sources, the citations, then (when
    `prompt` is given) a chunk with no choices and the `usage`, then [DONE].

    The text is held back until it is verified and then sent as it was written, delta by
    delta: a reply the checks reject is never sent (`reply_text` says why instead)."""
    created = int(time.time())

    sent: list[str] = []

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        body = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
        }
        sent.append((delta or {}).get("content") or "")
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    held: list[str] = []
    try:
        for event in events:
            if isinstance(event, Answer):
                if rejected(event):
                    yield chunk({"content": reply_text(event)})
                else:
                    yield from (chunk({"content": text}) for text in held)
                    sources = sources_markdown(event)
                    if sources:
                        yield chunk({"content": sources})
                yield chunk({}, "stop", citations=citations_json(event), refused=event.refused)
                if prompt is not None:
                    yield chunk(None, usage=usage(prompt, "".join(sent)))
            elif event:
                held.append(event)
    except Exception as exc:  # noqa: BLE001 - the status is sent; report in the stream
        from ui.api_errors import error_of

        status, message = error_of(exc)
        yield f"data: {json.dumps({'error': {'message': message, 'code': status}})}\n\n"
    yield "data: [DONE]\n\n"
