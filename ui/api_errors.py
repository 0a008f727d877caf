"""The API's errors: one JSON shape, the right status code, a message that says what to do.

`{"error": {"message", "type", "code"}}` is the shape OpenAI clients read, so the
`/api` and `/v1` routes answer errors alike. `BodyLimit` bounds request bodies before
they are parsed, so memory stays bounded whatever a caller sends.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import (
    BackendError,
    ConfigError,
    IndexMissingError,
    InputError,
    RagError,
    StoreUnavailableError,
)
from ui.access import MESSAGES, Verdict

log = logging.getLogger("rag.api")

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    411: "invalid_request_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
    500: "server_error",
}


class ApiError(Exception):
    """An error with its HTTP status and a message for the caller."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def verdict_error(verdict: Verdict, admin: bool = False, retry_after_s: float = 0) -> ApiError:
    """The error for an access verdict other than "ok" (401, 403, or 429 with the seconds
    to wait when this client has sent too many wrong passwords)."""
    if verdict == "throttled":
        wait = max(1, math.ceil(retry_after_s))
        return ApiError(429, MESSAGES[verdict], {"Retry-After": str(wait)})
    if verdict == "unauthenticated":
        message = MESSAGES["forbidden"] if admin else MESSAGES[verdict]
        if admin:
            message += " Send it as 'Authorization: Bearer <admin password>'."
        return ApiError(401, message, {"WWW-Authenticate": "Bearer"})
    return ApiError(403, MESSAGES[verdict])


def error_of(exc: Exception) -> tuple[int, str]:
    """(status, message) for any exception a handler raised."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, BackendError):
        return 503, str(exc)
    if isinstance(exc, (IndexMissingError, StoreUnavailableError)):
        return 503, str(exc)
    if isinstance(exc, (InputError, ConfigError, RagError)):
        return 400, str(exc)
    log.exception("Unexpected error in an API request")
    return 500, "Unexpected error on the server; the operator can find it in the server log."


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    body = {"error": {"message": message, "type": TYPES.get(status, "error"), "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error as JSON with a helpful message and its status code."""

    async def api_error(request: Request, exc: Exception) -> Any:
        status, message = error_of(exc)
        return error_response(status, message, getattr(exc, "headers", None))

    async def http_error(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, HTTPException)
        message = exc.detail if isinstance(exc.detail, str) else "Request refused."
        if exc.status_code == 404:
            message = f"No such endpoint: {request.url.path}. See /docs for the API."
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}. See /docs."
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    async def validation_error(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RequestValidationError)
        broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if broken is not None:
            return error_response(400, _json_message(broken))
        return error_response(422, _validation_message(exc))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RagError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, api_error)


def _json_message(error: dict[str, Any]) -> str:
    """What is wrong with a body that is not JSON, and where."""
    reason = str((error.get("ctx") or {}).get("error") or "not JSON")
    position = next((p for p in error.get("loc", ()) if isinstance(p, int)), None)
    at = "" if reason.endswith(" at") else " at"  # "Unterminated string starting at"
    where = f"{at} character {position + 1}" if position is not None else ""
    return (
        f"The request body is not valid JSON ({reason}{where}). Send one JSON object "
        'with the fields /docs lists, e.g. {"question": "…"} for /api/ask.'
    )


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(problems) + ". See /docs for the expected fields."


class BodyTooLarge(HTTPException):
    """Raised while reading a body over the limit (an HTTPException, so FastAPI's body
    parsing passes it through instead of turning it into a 400)."""

    def __init__(self, limit: int) -> None:
        self.message = f"The request body is over {limit // 1024:,} KB; send less."
        super().__init__(413, self.message)


class BodyLimit:
    """ASGI middleware: refuse bodies over the limit of the longest matching path prefix,
    by Content-Length before reading and by counting while reading (chunked bodies)."""

    def __init__(self, app: ASGIApp, limits: dict[str, int]) -> None:
        self.app = app
        self.limits = sorted(limits.items(), key=lambda item: -len(item[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response = error_response(413, BodyTooLarge(limit).message)
            await response(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            return message

        await self.app(scope, bounded, send)

    def _limit(self, scope: Scope) -> int | None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return None
        path = scope.get("path", "")
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), None)


class JsonBodies:
    """ASGI middleware: a JSON endpoint reads its body as JSON even when the client labels
    it as a form (`curl -d '{…}'` sends application/x-www-form-urlencoded)."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") in self.paths:
            headers = [
                (name, b"application/json")
                if name == b"content-type"
                and value.startswith(b"application/x-www-form-urlencoded")
                else (name, value)
                for name, value in scope.get("headers") or []
            ]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
