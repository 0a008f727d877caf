"""Shared, session-scoped fixtures: the bundled letter, the default embedder, a real index.

Everything is real: the bundled multilingual USE embedder, FAISS and BM25 over the
letter, built once per test session into a temporary folder. A test module that defines
a fixture of the same name uses its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.build import build_index
from index.library import open_pipeline
from index.load import bundled_corpus
from index.store import IndexStore
from rag.embeddings import Embedder, load_embedder
from rag.pipeline import Pipeline
from rag.settings import Settings

LETTER_NAME = "eu-geopolitiek-kamerbrief.txt"


@pytest.fixture(scope="session")
def letter_path() -> Path:
    """The bundled letter to parliament (as installed with the `index` package)."""
    path = bundled_corpus() / LETTER_NAME
    assert path.is_file(), f"bundled letter missing at {path}"
    return path


@pytest.fixture(scope="session")
def default_embedder() -> Embedder:
    """The default embedder (bundled multilingual USE), loaded once per process."""
    return load_embedder(Settings().embedding)


@pytest.fixture(scope="session")
def built_index(
    tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder
) -> tuple[Settings, IndexStore]:
    """A real index of the bundled letter, saved under a temporary folder: (settings, store).

    Treat it as read-only; tests that change an index copy it (see `copy_index`)."""
    settings = Settings(index={"path": tmp_path_factory.mktemp("letter-index")})
    store = build_index(settings, default_embedder)
    return settings, store


@pytest.fixture(scope="session")
def pipeline(built_index: tuple[Settings, IndexStore]) -> Pipeline:
    """`index.library.open_pipeline` over the session's letter index."""
    settings, _ = built_index
    return open_pipeline(settings)
