"""A local GGUF model run in-process by llama-cpp-python (loaded once per process)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.backends.base import AnswerBackend
from rag.backends.prompt import ChatBackend, delta_text
from rag.errors import BackendError
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings

_LLAMAS: dict[str, Any] = {}
_LLAMA_LOCK = threading.Lock()


def load_llama(path: str) -> Any:
    """The llama.cpp model for a GGUF path, loaded once per process."""
    try:
        import llama_cpp
    except ImportError:
        raise BackendError(
            "The llamacpp backend needs llama-cpp-python: pip install 'kamerbrief-rag[llamacpp]'"
        ) from None
    key = str(Path(path).expanduser().resolve())
    with _LLAMA_LOCK:
        if key not in _LLAMAS:
            if not Path(key).is_file():
                raise BackendError(
                    f"No GGUF model file at {key}. Set RAG_GENERATION__MODEL to the path "
                    f"of a .gguf file, or choose --backend extractive."
                )
            try:
                _LLAMAS[key] = llama_cpp.Llama(model_path=key, n_ctx=4096, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise BackendError(
                    f"llama.cpp could not load the model at {key} ({exc}). Check that it is "
                    f"a valid GGUF file, or choose --backend extractive."
                ) from exc
        return _LLAMAS[key]


class LlamaCppBackend(ChatBackend):
    """A local GGUF model run in-process by llama-cpp-python."""

    name = "llamacpp"

    def _generate(self, messages: list[dict[str, str]]) -> Iterator[str]:
        llama = load_llama(self.settings.model)
        try:
            for chunk in llama.create_chat_completion(
                messages=messages,
                stream=True,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
            ):
                yield from delta_text(chunk)
        except (ValueError, RuntimeError) as exc:
            raise BackendError(
                f"llama.cpp failed while answering ({exc}). Try fewer passages "
                f"(--k) or choose --backend extractive."
            ) from exc


def create(settings: Settings, embedder: Embedder) -> AnswerBackend:
    if not settings.generation.model:
        raise BackendError(
            "The llamacpp backend needs the path of a .gguf file: set "
            "RAG_GENERATION__MODEL, or choose --backend extractive."
        )
    return LlamaCppBackend(settings.generation)
