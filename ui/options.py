"""The per-request settings a user picks in the Settings tab, and the pipeline they select.

Chat answers and briefings both run with an `AskOptions`: the answer backend, an
endpoint and model for the backends that need one, and how many passages to retrieve.
`pipeline_for` turns those into the pipeline to use without ever changing the shared
one, so one user's choice never leaks into another's session. No Gradio in here.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from rag.backends.registry import backend_names
from rag.errors import BackendError, ConfigError, RagError
from ui.i18n import text

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

BACKENDS = backend_names()
MAX_CLONES = 8
_clones_lock = threading.Lock()
_clones: dict[tuple[Any, ...], Pipeline] = {}


@dataclass(frozen=True)
class AskOptions:
    """Per-request settings chosen in the Settings tab."""

    backend: str = "extractive"
    base_url: str = ""
    model: str = ""
    k: int = 5

    @classmethod
    def defaults(cls, pipeline: Pipeline) -> AskOptions:
        """The pipeline's own settings, shown in the Settings tab at start."""
        gen = pipeline.settings.generation
        return cls(gen.backend, gen.base_url, gen.model, pipeline.settings.retrieval.k)

    @classmethod
    def from_inputs(
        cls, backend: str, base_url: str | None, model: str | None, k: float
    ) -> AskOptions:
        """The options as the Settings tab's components give them (boxes may be None,
        the slider a float)."""
        return cls(backend, base_url or "", model or "", int(k))


def offered_endpoints(pipeline: Pipeline) -> dict[tuple[str, str], SecretStr | None]:
    """(base URL, model) → key, for the servers the operator configured: the default
    and `generation.endpoints`. Nothing else may be asked for."""
    gen = pipeline.settings.generation
    offered = {(e.base_url, e.model): e.api_key for e in gen.endpoints}
    offered[(gen.base_url, gen.model)] = gen.api_key
    return offered


def pipeline_for(pipeline: Pipeline, options: AskOptions) -> Pipeline:
    """The pipeline to answer with: the shared one, or one over the same index with another
    configured endpoint or model (`Pipeline.with_generation`, with that endpoint's own key),
    so one user's choice never changes another's; an endpoint nobody configured is
    refused. (The backend itself is passed per request.) They are kept, so a local
    model is loaded only once."""
    gen = pipeline.settings.generation
    base_url = options.base_url.strip() or gen.base_url
    model = options.model.strip() or gen.model
    if (base_url, model) == (gen.base_url, gen.model):
        return pipeline
    offered = offered_endpoints(pipeline)
    if (base_url, model) not in offered:
        raise ConfigError(
            "That model server is not one this app offers. Choose one from the list; the "
            "operator adds servers as [[generation.endpoints]] in rag.toml."
        )
    key = (id(pipeline), id(pipeline.store), base_url, model)
    with _clones_lock:
        clone = _clones.get(key)
        if clone is None:
            clone = pipeline.with_generation(
                base_url=base_url, model=model, api_key=offered[(base_url, model)]
            )
            if len(_clones) >= MAX_CLONES:
                _clones.pop(next(iter(_clones)))
            _clones[key] = clone
    return clone


def user_error(error: RagError, options: AskOptions, lang: str) -> str:
    """An error as the app says it: naming the field on the page to change, not the
    environment variable or command-line flag a terminal user would."""
    detail = _without_cli_advice(str(error))
    if isinstance(error, BackendError) and options.backend != "extractive":
        return text(lang, "errors.backend", backend=options.backend, detail=detail)
    if isinstance(error, ConfigError):
        if options.backend and options.backend not in BACKENDS:
            return text(lang, "errors.unknown_backend", backend=options.backend)
        return text(lang, "errors.config", detail=detail)
    return text(lang, "errors.generic", detail=detail)


def _without_cli_advice(message: str) -> str:
    """The message without sentences that tell a terminal user to set variables or flags."""
    sentences = re.split(r"(?<=[.;?!])\s+", message.strip())
    kept = [s for s in sentences if not re.search(r"RAG_[A-Z_]+|--[a-z]", s)]
    return " ".join(kept) or message.strip()
