"""Ollama's own chat API (streams one JSON object per line)."""

from __future__ import annotations

from collections.abc import Iterator

from rag.backends.base import AnswerBackend
from rag.backends.http import OLLAMA_DEFAULT_URL, OPENAI_DEFAULT_URL, HTTPBackend
from rag.errors import BackendError
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings


class OllamaBackend(HTTPBackend):
    """Ollama's own chat API (streams one JSON object per line)."""

    name = "ollama"
    label = "Ollama"
    url_hint = f" (Ollama's URL has no /v1, e.g. {OLLAMA_DEFAULT_URL})"

    def _generate(self, messages: list[dict[str, str]]) -> Iterator[str]:
        payload = {
            "model": self.settings.model,
            "messages": messages,
            "stream": True,
            "options": {
                "temperature": self.settings.temperature,
                "num_predict": self.settings.max_tokens,
            },
        }
        for line in self._lines("/api/chat", payload):
            data = self._json(line)
            if content := (data.get("message") or {}).get("content"):
                yield content
            if data.get("done"):
                return


def create(settings: Settings, embedder: Embedder) -> AnswerBackend:
    gen = settings.generation
    if not gen.model:
        raise BackendError(
            "The ollama backend needs a model name (e.g. llama3.1:8b): set "
            "RAG_GENERATION__MODEL, or choose --backend extractive."
        )
    url = OLLAMA_DEFAULT_URL if gen.base_url == OPENAI_DEFAULT_URL else gen.base_url
    return OllamaBackend(gen, url)
