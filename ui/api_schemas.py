"""The API's response shapes, typed for the OpenAPI page (/docs), and its error codes.

The answer itself (`POST /api/ask`) follows the published contract,
docs/answer.schema.json; `ui.api_docs` puts that schema into the OpenAPI document as
`Answer`. Everything else the API returns is one of the models here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from index.store import DocumentKind
from rag.types import Briefing

# Every status code the API answers with, and when. Routes list the ones they can return.
ERROR_CODES: dict[int, str] = {
    400: "Bad input: an empty or over-long question, malformed JSON, a refused upload.",
    401: "Login needed (the server has one) or a wrong password: send "
    "'Authorization: Bearer <password>'.",
    403: "Logged in, but a document change needs the admin password (or none is set).",
    404: "No such endpoint, document or model.",
    409: "The document exists already (send replace=true), or cannot be removed.",
    413: "The request body is over the limit: 1 MB on `/api` and `/v1`, 3 MB on the chat "
    "app's routes, the upload limit for uploads.",
    422: "A field has the wrong type or value, or an unknown field was sent.",
    429: "Too many wrong admin passwords from this client: wait the Retry-After seconds.",
    500: "Unexpected error on the server; the server log has the details.",
    503: "The answer model (or the index) is not available now; the message says which.",
}


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong and what to do next.")
    type: str = Field(description="OpenAI-style error type, e.g. invalid_request_error.")
    code: int = Field(description="The HTTP status code.")


class ErrorBody(BaseModel):
    """Every error, on /api and /v1 alike (the shape OpenAI clients read)."""

    error: ErrorDetail


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that can answer with these error codes."""
    return {code: {"model": ErrorBody, "description": ERROR_CODES[code]} for code in codes}


class Health(BaseModel):
    status: Literal["ok"]
    version: str = Field(description="Answer contract version.")
    index_loaded: bool
    documents: int
    passages: int
    backend: str = Field(description="The configured answer backend.")
    model: str
    embedding_model: str


class DocumentInfo(BaseModel):
    id: str
    name: str
    passages: int
    title: str
    kind: DocumentKind
    date: str | None = Field(description="yyyy-mm-dd, when known.")
    sender: str
    signatories: list[str]
    dossier: str
    submitters: list[str] = Field(description="A motion's submitters, as signed.")
    considerations: list[str] = Field(description="A motion's considerations.")
    request: str = Field(description="A motion's request.")
    edited: list[str] = Field(description="The fields an admin set.")


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class Added(BaseModel):
    added: str = Field(description="The new document's id.")
    replaced: bool
    message: str


class Removed(BaseModel):
    removed: str
    message: str


class BriefResponse(Briefing):
    """A briefing: bullets grouped by section, each citing the letter's sentences."""

    version: str


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Usage(BaseModel):
    prompt_tokens: int = Field(description="Tokens (tiktoken cl100k_base) of the messages.")
    completion_tokens: int = Field(description="Tokens of the reply's content.")
    total_tokens: int


class ChatMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    index: int
    message: ChatMessage
    finish_reason: Literal["stop"]


class ChatCitation(BaseModel):
    marker: int
    chunk_id: str
    document: str
    section: str
    lines: list[int] = Field(description="[first, last] line of the cited sentence(s).")
    page: int | None
    quote: str = Field(description="The cited sentence(s), verbatim.")
    grounding: dict[str, Any] = Field(description='{"supported": bool, "support": 0..1}')
    relevance: float | None = Field(description="The passage's ranking score.")


class ChatCompletion(BaseModel):
    """A `chat.completion`, with the extra fields `citations` and `refused`."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[ChatCitation]
    refused: bool
