"""Any OpenAI-compatible chat server: vLLM, llama.cpp server, LM Studio, OpenAI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag.backends.base import AnswerBackend
from rag.backends.http import HTTPBackend
from rag.backends.prompt import delta_text
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings


class OpenAIBackend(HTTPBackend):
    """Any OpenAI-compatible chat server: vLLM, llama.cpp server, LM Studio, OpenAI."""

    name = "openai"
    label = "OpenAI-compatible"
    url_hint = " (OpenAI-compatible servers' URLs usually end in /v1)"

    def _generate(self, messages: list[dict[str, str]]) -> Iterator[str]:
        payload: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }
        if self.settings.model:
            payload["model"] = self.settings.model
        for line in self._lines("/chat/completions", payload):
            if line.startswith((":", "event:", "id:", "retry:")):
                continue  # SSE comments, keep-alives and fields other than data
            data = line.removeprefix("data:").strip()  # unframed: an error object or garbage
            if data == "[DONE]":
                return
            yield from delta_text(self._json(data))


def create(settings: Settings, embedder: Embedder) -> AnswerBackend:
    return OpenAIBackend(settings.generation, settings.generation.base_url)
