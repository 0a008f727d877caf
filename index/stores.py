"""Which store holds the index: the folder (default) or PostgreSQL, chosen by one setting.

`index.store` is 'folder' (the index folder at `index.path`) or a postgresql:// URL.
These functions are all the rest of the code needs: open the store, write documents
into it, remove them, and notice writes made by other processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from index.build import PassageEncoder, Progress, build, edited_entry, set_metadata, update
from index.metadata import FIELDS
from index.pgstore import PgStore, is_server_url
from index.store import DocumentEntry, IndexStore, has_index
from rag.errors import ConfigError, InputError, UnknownDocumentError
from rag.retrieval.search_index import SearchIndex
from rag.settings import Settings
from rag.types import RawDocument


def uses_server(settings: Settings) -> bool:
    store = settings.index.store
    if store != "folder" and not is_server_url(store):
        raise ConfigError(
            f"Unknown index store '{store}'. Use 'folder' (the default) or a "
            "postgresql://user:password@host/database URL."
        )
    return store != "folder"


def open_store(settings: Settings, *, check: bool = True) -> SearchIndex:
    """The live index (checked against `settings` unless `check` is False)."""
    if uses_server(settings):
        return PgStore.open(settings.index.store, settings if check else None)
    return IndexStore.load(settings.index.path, settings if check else None)


def store_exists(settings: Settings) -> bool:
    if uses_server(settings):
        from index.pgstore import connect_pool, connection

        pool = connect_pool(settings.index.store, 1)
        try:
            with connection(pool) as conn:
                return conn.execute("select count(*) from rag_meta").fetchone()[0] > 0
        finally:
            pool.close()
    return has_index(settings.index.path)


def write_documents(
    settings: Settings,
    embedder: PassageEncoder,
    documents: Sequence[RawDocument],
    *,
    previous: Any = None,
    keep: bool,
    remove: Sequence[str] = (),
    progress: Progress | None = None,
    jobs: int = 1,
) -> SearchIndex:
    """Index `documents` (with `keep`, beside the stored ones, less `remove`) and return
    the store as it is afterwards. The folder store saves a complete new version under
    its writer lock (`previous` is not needed: the live version is re-read); the server
    store replaces each changed document in its own transaction (embedding in `jobs`
    processes)."""
    if uses_server(settings):
        from index.pg_write import ingest

        pool = previous.pool if isinstance(previous, PgStore) else None
        return ingest(
            settings,
            embedder,
            documents,
            keep=keep,
            remove=remove,
            progress=progress,
            pool=pool,
            jobs=jobs,
        )
    if jobs > 1:
        raise ConfigError(
            "--jobs embeds in parallel into the PostgreSQL store only; drop it for the "
            "folder index, or set RAG_INDEX__STORE to a postgresql:// URL."
        )
    if keep:  # the live version is re-read under the writer lock: no lost update
        return update(settings, embedder, add=documents, remove=remove, progress=progress)
    return build(settings, embedder, documents=documents, progress=progress)


def set_document_metadata(
    settings: Settings, doc_id: str, changes: dict[str, Any], *, previous: Any = None
) -> DocumentEntry:
    """An admin's edit of one document's metadata (title, kind, date, sender,
    signatories, dossier), stored in either store; returns the document's entry. A
    rebuild of the same, unchanged document keeps it."""
    if not uses_server(settings):
        return set_metadata(settings, doc_id, changes)
    from index.pg_write import set_document_metadata as store_metadata

    store = previous if isinstance(previous, PgStore) else PgStore.open(settings.index.store)
    entries = {entry.doc_id: entry for entry in store.manifest.documents}
    if doc_id not in entries:
        raise UnknownDocumentError(
            f"Unknown document id: {doc_id}. The index holds: {', '.join(entries)} "
            "(see 'rag index info')."
        )
    unknown_fields = sorted(set(changes) - set(FIELDS))
    if unknown_fields:
        raise InputError(
            f"Unknown metadata field(s): {', '.join(unknown_fields)}. "
            f"Editable: {', '.join(FIELDS)}."
        )
    entry = edited_entry(entries[doc_id], changes)
    store_metadata(store.pool, entry)
    return entry


def fresh(store: SearchIndex) -> SearchIndex | None:
    """A newer snapshot of a shared store if another process changed it, else None."""
    reload = getattr(store, "reload_if_changed", None)
    return reload() if reload is not None else None
