"""Open the pipeline over the on-disk index, and add or remove documents in place.

Each change builds a complete new index (reusing unchanged vectors) on the live version,
re-read under the index folder's writer lock (so a change the CLI or another app saved
meanwhile is kept), and saves it atomically before the pipeline switches to it, so a
failed upload or parse leaves the index that users are querying exactly as it was.
"""

from __future__ import annotations

from pathlib import Path

from index.build import Progress, build, max_file_bytes, update
from index.load import load_file
from index.store import IndexStore, has_index
from rag.embeddings import limit_numpy_threads, load_embedder
from rag.pipeline import Pipeline
from rag.settings import Settings


def open_pipeline(
    settings: Settings, *, build_if_missing: bool = False, progress: Progress | None = None
) -> Pipeline:
    """Load the index (building the bundled letter's first if asked and missing)."""
    limit_numpy_threads()
    embedder = load_embedder(settings.embedding)
    if build_if_missing and not has_index(settings.index.path):
        store = build(settings, embedder, progress=progress)
    else:
        store = IndexStore.load(settings.index.path, settings)
    embedder.remember(str(settings.index.path), store.vector_tables())
    return Pipeline(settings, store, embedder)


def add_document(
    pipeline: Pipeline, path: Path, name: str | None = None, progress: Progress | None = None
) -> None:
    """Index one more document (replacing one with the same name)."""
    raw = load_file(path, name=name, max_bytes=max_file_bytes(pipeline.settings))
    store = update(pipeline.settings, pipeline.embedder, add=[raw], progress=progress)
    pipeline.replace_store(store)


def remove_document(pipeline: Pipeline, doc_id: str) -> None:
    """Drop a document from the index."""
    store = update(pipeline.settings, pipeline.embedder, remove=[doc_id])
    pipeline.replace_store(store)
