"""The HTTP API (FastAPI; OpenAPI at /docs), served beside the chat UI or on its own.

    POST   /api/ask               the `rag ask --json` contract; stream=true: server-sent
                                  events, `delta` ({"text"}) events then one `answer` event;
                                  `documents`: ids to answer from (also /api/brief)
    POST   /api/brief             a cited briefing on a topic (or the whole corpus)
    GET    /api/documents         the indexed documents with their metadata
    POST   /api/documents         add one (multipart `file`, `replace`); admin only
    PATCH  /api/documents/{id}    correct its metadata (title, kind, date, …); admin only
    DELETE /api/documents/{id}    remove one; admin only
    GET    /api/health            index loaded, documents, passages, answer model
    /v1/…                         the OpenAI-compatible endpoint (`ui.openai_api`)

Every error is JSON, `{"error": {"message", "type", "code"}}` (the shape OpenAI clients
read), with a message that says what to do; `ui.api_schemas.ERROR_CODES` lists the codes,
and each route's entry in /docs the ones it can return. /docs and /redoc need no network
(`ui.api_docs`). Handlers are plain `def`s, so FastAPI runs
them in its thread pool while the event loop keeps accepting requests. Request bodies
are bounded (`BodyLimit`), and nothing from a request names a URL or a path on the server.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.datastructures import UploadFile

from rag.answer.render import answer_to_json
from rag.backends.registry import backend_names
from rag.langchain_adapter import history_pairs
from rag.types import CONTRACT_VERSION, Answer
from ui.access import Access
from ui.api_docs import answer_responses, install_docs
from ui.api_errors import ApiError, BodyLimit, JsonBodies, install_error_handlers, verdict_error
from ui.api_schemas import (
    ERROR_CODES,
    Added,
    BriefResponse,
    DocumentInfo,
    DocumentList,
    Health,
    Removed,
    error_responses,
)
from ui.documents import UPLOAD_SUFFIXES, delete_document, document_ids, upload_document
from ui.limits import MAX_HISTORY_TURNS, body_limits, bounded_history, file_name_refusal, plain_text

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

DOCUMENTS_HELP = "Ids of the documents to answer from (GET /api/documents); none: all."
MULTIPART_OVERHEAD = 64 * 1024


class AskRequest(BaseModel):
    """A question, with optional conversation and options."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, in Dutch or English.")
    history: list[Any] = Field(
        default_factory=list,
        max_length=2 * MAX_HISTORY_TURNS,  # as messages, two a turn
        description='Earlier turns: [question, answer] pairs or {"role", "content"} messages.',
    )
    k: int | None = Field(default=None, ge=1, le=50, description="Passages to retrieve.")
    backend: str | None = Field(default=None, description="Answer backend (as configured).")
    stream: bool = Field(default=False, description="Server-sent events: deltas, then answer.")
    id: str | int | None = Field(default=None, description="Your id, echoed in the answer.")
    documents: list[str] | None = Field(default=None, max_length=100, description=DOCUMENTS_HELP)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        return known_backend(value)


class MetadataPatch(BaseModel):
    """Metadata fields to set on one document (the others stay as they are)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=500)
    kind: str | None = Field(
        default=None, description="letter, motion, agenda, report, note or other."
    )
    date: str | None = Field(default=None, description="yyyy-mm-dd.")
    sender: str | None = Field(default=None, max_length=500)
    signatories: list[str] | None = Field(default=None, max_length=20)
    dossier: str | None = Field(default=None, max_length=200)
    submitters: list[str] | None = Field(default=None, max_length=60)
    request: str | None = Field(default=None, max_length=5000)


class BriefRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str | None = Field(default=None, max_length=500, description="Empty: everything.")
    backend: str | None = None
    documents: list[str] | None = Field(default=None, max_length=100, description=DOCUMENTS_HELP)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        return known_backend(value)


def known_backend(value: str | None) -> str | None:
    """A backend name the server has (None: the configured one)."""
    if value is not None and value not in backend_names():
        raise ValueError(f"unknown backend; choose one of: {', '.join(backend_names())}")
    return value


def build_api(pipeline: Pipeline, access: Access) -> FastAPI:
    """The API app over one shared pipeline; `ui.serve` mounts the chat UI beside it."""
    from ui.api_verify import verify_router
    from ui.openai_api import openai_router

    app = FastAPI(
        title="Kamerbrief Q&A API",
        version=CONTRACT_VERSION,
        description="Cited, verified answers about policy documents. Answers follow "
        "docs/answer.schema.json (the `Answer` schema below). Send 'Authorization: Bearer "
        "<password>' when the server has a login; document changes need the admin password. "
        'Every error is `{"error": {"message", "type", "code"}}`; the codes:\n\n'
        + "\n".join(f"- **{code}**: {text}" for code, text in ERROR_CODES.items()),
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    max_mb = pipeline.settings.ui.max_upload_mb
    upload_limit = int(max_mb * 1024 * 1024) + MULTIPART_OVERHEAD
    app.add_middleware(
        BodyLimit,
        limits=body_limits(upload_limit),  # every route, the mounted chat app's included
    )
    app.add_middleware(JsonBodies, paths=("/api/ask", "/api/brief", "/v1/chat/completions"))
    install_error_handlers(app)

    def reader(request: Request) -> None:
        client = client_of(request)
        verdict = access.reader_from(client, request.headers.get("authorization"))
        if verdict != "ok":
            raise verdict_error(verdict, retry_after_s=access.retry_after_s(client))

    app.include_router(verify_router(pipeline), dependencies=[Depends(reader)])  # before /api/*
    app.include_router(api_router(pipeline, access, max_mb), dependencies=[Depends(reader)])
    app.include_router(openai_router(pipeline), dependencies=[Depends(reader)])
    return app


def api_router(pipeline: Pipeline, access: Access, max_mb: float) -> APIRouter:
    """/api/ask, /api/brief, /api/documents, /api/health; JSON 404 for anything else."""
    router = APIRouter(prefix="/api")
    _question_routes(router, pipeline)
    _document_routes(router, pipeline, access, max_mb)

    @router.get(
        "/health",
        summary="Is the index loaded; what answers",
        response_model=Health,
        responses=error_responses(401),
    )
    def health() -> Any:
        docs = pipeline.documents()
        generation = pipeline.settings.generation
        return {
            "status": "ok",
            "version": CONTRACT_VERSION,
            "index_loaded": True,
            "documents": len(docs),
            "passages": sum(d.chunks for d in docs),
            "backend": generation.backend,
            "model": generation.model or generation.backend,
            "embedding_model": pipeline.settings.embedding.model,
        }

    @router.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(path: str) -> Any:
        raise ApiError(404, f"No such endpoint: /api/{path}. See /docs for the API.")

    return router


def _question_routes(router: APIRouter, pipeline: Pipeline) -> None:
    """/api/ask (JSON or server-sent events) and /api/brief."""
    # Answers computed in this process (no model server to wait for) only contend for the
    # interpreter lock when run side by side; they take turns (ui.cpu_answers).
    computing = threading.BoundedSemaphore(pipeline.settings.ui.cpu_answers)

    def answer(body: AskRequest, history: list[tuple[str, str]]) -> Answer:
        backend = pipeline.chain.backend(body.backend)
        turn = contextlib.nullcontext() if backend.live else computing
        with turn:
            return pipeline.ask(
                body.question,
                k=body.k,
                backend=body.backend,
                history=history,
                documents=body.documents,
            )

    @router.post(
        "/ask",
        summary="Answer a question with verified citations",
        response_model=None,
        responses={**answer_responses(), **error_responses(400, 401, 413, 422, 503)},
    )
    def ask(body: AskRequest) -> Any:
        plain_text(body.question)
        history = bounded_history(history_pairs(body.history))
        if not body.stream:
            # Already plain JSON types: skip FastAPI's recursive re-encoding of the payload.
            return JSONResponse(answer_to_json(answer(body, history), _id(body.id)))
        events = pipeline.stream(
            body.question,
            k=body.k,
            backend=body.backend,
            history=history,
            documents=body.documents,
        )
        first = next(events, None)  # bad input, unreachable model server: fail with a status
        if first is None:
            raise ApiError(500, "The answer stream ended before it began; please try again.")
        return StreamingResponse(
            answer_events(chain([first], events), _id(body.id)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post(
        "/brief",
        summary="A short cited briefing on a topic",
        response_model=BriefResponse,
        responses=error_responses(400, 401, 413, 422, 503),
    )
    def brief(body: BriefRequest) -> Any:
        topic = plain_text(body.topic or "", "topic").strip() or None
        briefing = pipeline.brief(topic, backend=body.backend, documents=body.documents)
        return {"version": CONTRACT_VERSION, **briefing.model_dump(mode="json")}


def _document_routes(router: APIRouter, pipeline: Pipeline, access: Access, max_mb: float) -> None:
    """List documents (readers); add and remove them (admin only)."""

    def admin(request: Request) -> None:
        """Refuse the request unless it carries the admin password (429 while this client
        is slowed down after wrong ones)."""
        client = client_of(request)
        verdict = access.admin_from(client, request.headers.get("authorization"))
        if verdict != "ok":
            raise verdict_error(verdict, admin=True, retry_after_s=access.retry_after_s(client))

    @router.get(
        "/documents",
        summary="The indexed documents",
        response_model=DocumentList,
        responses=error_responses(401),
    )
    def documents() -> Any:
        return {"documents": [_document(d) for d in pipeline.documents()]}

    @router.post(
        "/documents",
        status_code=201,
        summary="Add a document (admin)",
        openapi_extra=_UPLOAD_OPENAPI,
        response_model=Added,
        responses=error_responses(400, 401, 403, 409, 413, 429),
    )
    async def add(request: Request) -> Any:
        admin(request)  # before the body is read: strangers cannot fill the disk
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(400, "Send the document as a multipart field named 'file'.")
        replace = str(form.get("replace", "false")).lower() in ("1", "true", "yes", "on")
        return await run_in_threadpool(_add_upload, pipeline, upload, replace, max_mb)

    @router.patch(
        "/documents/{doc_id}",
        summary="Correct a document's metadata (admin)",
        response_model=DocumentInfo,
        responses=error_responses(400, 401, 403, 404, 422, 429),
        openapi_extra=_PATCH_OPENAPI,
    )
    async def edit(doc_id: str, request: Request) -> Any:
        admin(request)  # the password first: a stranger learns nothing about the body
        try:
            body = MetadataPatch.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        return await run_in_threadpool(_edit, doc_id, body)

    def _edit(doc_id: str, body: MetadataPatch) -> Any:
        from assembly.library import edit_document

        if doc_id not in document_ids(pipeline):
            raise ApiError(404, f"No document '{doc_id}'. GET /api/documents lists the ids.")
        changes = body.model_dump(exclude_none=True)
        if not changes:
            raise ApiError(400, f"Send at least one of: {', '.join(MetadataPatch.model_fields)}.")
        return _document(edit_document(pipeline, doc_id, changes))

    @router.delete(
        "/documents/{doc_id}",
        summary="Remove a document (admin)",
        response_model=Removed,
        responses=error_responses(401, 403, 404, 409, 429),
    )
    def remove(doc_id: str, request: Request) -> Any:
        admin(request)
        ids = document_ids(pipeline)
        if doc_id not in ids:
            raise ApiError(404, f"No document '{doc_id}'. GET /api/documents lists the ids.")
        ok, message = delete_document(pipeline, doc_id)
        if not ok:
            raise ApiError(409, message)
        return {"removed": doc_id, "message": message}


def answer_events(events: Iterator[str | Answer], question_id: str | None) -> Iterator[str]:
    """Server-sent events: `delta` events with text, then one `answer` event (or `error`)."""
    try:
        for event in events:
            if isinstance(event, Answer):
                yield sse("answer", answer_to_json(event, question_id))
            elif event:
                yield sse("delta", {"text": event})
    except Exception as exc:  # noqa: BLE001 - the status is sent; report in the stream
        from ui.api_errors import error_of

        status, message = error_of(exc)
        yield sse("error", {"error": {"message": message, "code": status}})


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _add_upload(pipeline: Pipeline, upload: UploadFile, replace: bool, max_mb: float) -> Any:
    from ui.documents import existing_upload, upload_id

    name = Path(upload.filename or "").name.strip()
    refusal = file_name_refusal(name)
    if refusal:
        raise ApiError(400, refusal)
    if not name or Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise ApiError(400, f"'{name}': only .txt, .md and .pdf documents can be added.")
    taken = existing_upload(pipeline, name)
    if taken and not replace:
        raise ApiError(
            409, f"A document with id '{taken}' exists; send replace=true to replace it."
        )
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1024 * 1024)
        if path.stat().st_size > max_mb * 1024 * 1024:
            raise ApiError(413, f"'{name}' is larger than the {max_mb:g} MB limit.")
        ok, message = upload_document(pipeline, path, max_mb, replace=replace, name=name)
    if not ok:
        status = 409 if "already indexed" in message else 400
        raise ApiError(status, message)
    return {"added": upload_id(name), "replaced": bool(taken), "message": message}


def _document(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.doc_id,
        "name": entry.name,
        "passages": entry.chunks,
        "title": entry.title,
        "kind": entry.kind,
        "date": entry.date,
        "sender": entry.sender,
        "signatories": entry.signatories,
        "dossier": entry.dossier,
        "submitters": entry.submitters,
        "considerations": entry.considerations,
        "request": entry.request,
        "edited": entry.edited,
    }


def client_of(request: Request) -> str:
    """The address a request came from (the proxy's, behind a reverse proxy)."""
    return request.client.host if request.client else "unknown"


def _id(value: str | int | None) -> str | None:
    return None if value is None else str(value)


_PATCH_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": MetadataPatch.model_json_schema()}},
    }
}
_UPLOAD_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "replace": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}
