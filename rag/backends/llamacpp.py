"""A local GGUF model run by llama-cpp-python, in a child process of its own.

The model is loaded once per file and kept in its process (`rag.backends.model_process`),
so that a crash in llama.cpp's native code fails one answer with a clear message
(`ModelCrashed`) instead of ending the app. A model whose process died is started again
only on request (`load_llama(path, restart=True)`); the chain answers extractively
meanwhile.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path

from rag.backends.base import AnswerBackend
from rag.backends.model_process import ModelProcess
from rag.backends.prompt import ChatBackend
from rag.errors import BackendError
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings

_MODELS: dict[str, ModelProcess] = {}
_MODELS_LOCK = threading.Lock()


def load_llama(path: str, restart: bool = False) -> ModelProcess:
    """The process holding the model of a GGUF path, started once per app."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise BackendError(
            "The llamacpp backend needs llama-cpp-python: pip install 'kamerbrief-rag[llamacpp]'"
        )
    key = str(Path(path).expanduser().resolve())
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None or (restart and not model.alive):
            if not Path(key).is_file():
                raise BackendError(
                    f"No GGUF model file at {key}. Set RAG_GENERATION__MODEL to the path "
                    f"of a .gguf file, or choose --backend extractive."
                )
            model = _MODELS[key] = ModelProcess(key)
        return model


def crash_report(path: str) -> str | None:
    """How the process of the model at `path` died, or None while it lives (or never ran)."""
    model = _MODELS.get(str(Path(path).expanduser().resolve()))
    return None if model is None or model.alive else str(model.crashed())


class LlamaCppBackend(ChatBackend):
    """A local GGUF model run by llama-cpp-python in a child process."""

    name = "llamacpp"

    @property
    def crashed(self) -> str | None:
        """Set once the model's process has died; the chain then answers extractively."""
        return crash_report(self.settings.model)

    def _generate(self, messages: list[dict[str, str]]) -> Iterator[str]:
        model = load_llama(self.settings.model)
        yield from model.chat(
            messages,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
        )


def create(settings: Settings, embedder: Embedder) -> AnswerBackend:
    if not settings.generation.model:
        raise BackendError(
            "The llamacpp backend needs the path of a .gguf file: set "
            "RAG_GENERATION__MODEL, or choose --backend extractive."
        )
    return LlamaCppBackend(settings.generation)
