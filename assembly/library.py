"""Open the pipeline over the on-disk index, and add or remove documents in place.

Each change builds a complete new index (reusing unchanged vectors) and saves it
atomically before the pipeline switches to it, so a failed upload or parse leaves the
index that users are querying exactly as it was.
"""

from __future__ import annotations

from pathlib import Path

from index.build import Progress, build_index
from index.load import load_file
from index.store import IndexStore
from rag.embeddings import limit_numpy_threads, load_embedder
from rag.pipeline import Pipeline
from rag.settings import Settings


def open_pipeline(
    settings: Settings, *, build_if_missing: bool = False, progress: Progress | None = None
) -> Pipeline:
    """Load the index (building the bundled letter's first if asked and missing)."""
    limit_numpy_threads()
    embedder = load_embedder(settings.embedding)
    if build_if_missing and not (settings.index.path / "CURRENT").exists():
        store = build_index(settings, embedder, progress=progress)
    else:
        store = IndexStore.load(settings.index.path, settings)
    embedder.remember(str(settings.index.path), store.vector_tables())
    return Pipeline(settings, store, embedder)


def add_document(
    pipeline: Pipeline, path: Path, name: str | None = None, progress: Progress | None = None
) -> None:
    """Index one more document (replacing one with the same name)."""
    raw = load_file(path, name=name)
    store = build_index(
        pipeline.settings,
        pipeline.embedder,
        documents=[raw],
        previous=pipeline.store,  # type: ignore[arg-type]
        keep_previous_documents=True,
        progress=progress,
    )
    pipeline.embedder.remember(str(pipeline.settings.index.path), store.vector_tables())
    pipeline.replace_store(store)


def remove_document(pipeline: Pipeline, doc_id: str) -> None:
    """Drop a document from the index."""
    store = build_index(
        pipeline.settings,
        pipeline.embedder,
        documents=[],
        previous=pipeline.store,  # type: ignore[arg-type]
        keep_previous_documents=True,
        remove=[doc_id],
    )
    pipeline.embedder.remember(str(pipeline.settings.index.path), store.vector_tables())
    pipeline.replace_store(store)
