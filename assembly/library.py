"""Open the pipeline over the on-disk index, and add or remove documents in place.

Each change builds a complete new index (reusing unchanged vectors) on the live version,
re-read under the index folder's writer lock (so a change the CLI or another app saved
meanwhile is kept), and saves it atomically before the pipeline switches to it, so a
failed upload or parse leaves the index that users are querying exactly as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.build import Progress, max_file_bytes
from index.load import bundled_corpus, load_file, load_paths
from index.store import DocumentEntry
from index.stores import open_store, set_document_metadata, store_exists, write_documents
from rag.pipeline import Pipeline
from rag.retrieval.embeddings import limit_numpy_threads, load_embedder
from rag.settings import Settings


def open_pipeline(
    settings: Settings, *, build_if_missing: bool = False, progress: Progress | None = None
) -> Pipeline:
    """Load the index (building the bundled letter's first if asked and missing)."""
    limit_numpy_threads()
    embedder = load_embedder(settings.embedding)
    if build_if_missing and not store_exists(settings):
        store = write_documents(
            settings, embedder, load_paths([bundled_corpus()]), keep=False, progress=progress
        )
    else:
        store = open_store(settings)
    return Pipeline(settings, store, embedder)


def add_document(
    pipeline: Pipeline, path: Path, name: str | None = None, progress: Progress | None = None
) -> None:
    """Index one more document (replacing one with the same name)."""
    raw = load_file(path, name=name, max_bytes=max_file_bytes(pipeline.settings))
    store = write_documents(
        pipeline.settings,
        pipeline.embedder,
        [raw],
        previous=pipeline.store,
        keep=True,
        progress=progress,
    )
    pipeline.replace_store(store)


def remove_document(pipeline: Pipeline, doc_id: str) -> None:
    """Drop a document from the index."""
    store = write_documents(
        pipeline.settings,
        pipeline.embedder,
        [],
        previous=pipeline.store,
        keep=True,
        remove=[doc_id],
    )
    pipeline.replace_store(store)


def edit_document(pipeline: Pipeline, doc_id: str, changes: dict[str, Any]) -> DocumentEntry:
    """An admin's edit of one document's metadata (`index.stores.set_document_metadata`),
    stored and then live in `pipeline`; returns the document's entry."""
    entry = set_document_metadata(pipeline.settings, doc_id, changes, previous=pipeline.store)
    pipeline.refresh()
    return entry
