"""The registry of answer backends: name → the module that implements it.

Each registered module has `create(settings, embedder) -> AnswerBackend`
(`rag.backends.base.create_backend` calls it). Settings validation, the CLI's
`--backend` choices and the UI's dropdown all read this registry, so adding a backend
is one file plus one line here. Modules are imported only when their backend is
first created. This module imports nothing of the assistant's but its errors, so
settings can check a name against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.errors import ConfigError


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend: the module that creates it, and what it is."""

    module: str
    description: str


REGISTRY: dict[str, BackendEntry] = {
    "extractive": BackendEntry("rag.backends.extractive", "quotes the passages; no model"),
    "openai": BackendEntry("rag.backends.openai", "an OpenAI-compatible server"),
    "ollama": BackendEntry("rag.backends.ollama", "an Ollama server"),
    "llamacpp": BackendEntry("rag.backends.llamacpp", "a local GGUF model (llama-cpp-python)"),
}


def backend_names() -> tuple[str, ...]:
    """The registered backends' names, the default first."""
    return tuple(REGISTRY)


def check_backend_name(name: str) -> None:
    """Fail with the list of valid names when `name` is not a registered backend."""
    if name not in REGISTRY:
        raise ConfigError(f"Unknown answer backend '{name}'. Choose one of: {', '.join(REGISTRY)}.")
