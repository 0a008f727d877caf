"""Streaming, authentication and error handling shared by the server backends.

Every failure a user can fix (server down, timeout, unknown model) becomes a
`BackendError` whose message says what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from rag.backends.prompt import ChatBackend
from rag.errors import BackendError
from rag.settings import GenerationSettings

OPENAI_DEFAULT_URL = str(GenerationSettings.model_fields["base_url"].default)
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
FIX = "Set RAG_GENERATION__BASE_URL or choose --backend extractive."


class HTTPBackend(ChatBackend):
    """Shared streaming, authentication and error handling for the server backends."""

    label = "model"
    url_hint = ""

    def __init__(self, settings: GenerationSettings, base_url: str) -> None:
        super().__init__(settings)
        self.base_url = base_url.rstrip("/")

    def _lines(self, path: str, payload: dict[str, Any]) -> Iterator[str]:
        """POST payload and yield the response's non-empty lines as they arrive."""
        url = f"{self.base_url}{path}"
        headers = {}
        if self.settings.api_key is not None and self.settings.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
        try:
            with (
                httpx.Client(timeout=self.settings.timeout_s) as client,
                client.stream("POST", url, json=payload, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise self._status_error(url, response)
                for line in response.iter_lines():
                    if line.strip():
                        yield line.strip()
        except httpx.ConnectError as exc:
            raise BackendError(
                f"Could not reach the {self.label} server at {url}: is it running? {FIX}"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"The {self.label} server at {url} did not answer within "
                f"{self.settings.timeout_s:g} s. Check that it is running and not overloaded, "
                f"raise RAG_GENERATION__TIMEOUT_S, or choose --backend extractive."
            ) from exc
        except httpx.HTTPError as exc:
            raise BackendError(
                f"The connection to the {self.label} server at {url} failed ({exc}). "
                f"Check the server, or choose --backend extractive."
            ) from exc

    def _status_error(self, url: str, response: httpx.Response) -> BackendError:
        body, code = response.text[:300].strip(), response.status_code
        where = f"The {self.label} server at {url}"
        if code == 404 and "model" in body.lower():
            return BackendError(
                f"{where} does not know the model '{self.settings.model or '(none set)'}'. "
                f"Set RAG_GENERATION__MODEL to a model it serves."
            )
        if code == 404:
            return BackendError(
                f"{where} has no such endpoint (HTTP 404). "
                f"Check RAG_GENERATION__BASE_URL{self.url_hint}."
            )
        if code in (401, 403):
            return BackendError(
                f"{where} refused the request (HTTP {code}). "
                f"Set a valid key in RAG_GENERATION__API_KEY."
            )
        return BackendError(
            f"{where} answered HTTP {code}: {body or 'no details'}. "
            f"Check the server's log and RAG_GENERATION__MODEL, or choose --backend extractive."
        )

    def _json(self, line: str) -> dict[str, Any]:
        """One streamed JSON object; a server-side error event becomes a BackendError."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise BackendError(
                f"The {self.label} server at {self.base_url} sent a malformed stream "
                f"({line[:120]!r}). Check that RAG_GENERATION__BASE_URL points to a "
                f"{self.label} server, or choose another --backend."
            )
        if error := data.get("error"):
            message = error.get("message", error) if isinstance(error, dict) else error
            raise BackendError(
                f"The {self.label} server at {self.base_url} reported an error: {message}. "
                f"Check RAG_GENERATION__MODEL and the server's log."
            )
        return data
