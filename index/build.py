"""Documents → index: load, clean, chunk, embed (reusing unchanged vectors), save.

Two entry points: `build` makes an index of exactly the given documents (`rag index
build`, benchmarks); `update` adds, replaces and removes documents in the live index
(`rag index add|remove`, the app's uploads). Both hold the index folder's writer lock
while they read the live version and save the new one, so concurrent writers from any
process apply their changes one after the other and none is lost. Neither touches the
live index until the new one is complete, so a failure at any stage leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import ValidationError

from index.chunk import chunk_document
from index.clean import clean_document, corpus_vocabulary
from index.load import bundled_corpus, load_paths
from index.metadata import FIELDS, KINDS, describe
from index.store import (
    DocumentEntry,
    IndexStore,
    Manifest,
    choose_faiss_type,
    embedding_fingerprint,
    has_index,
    now_iso,
    writer_lock,
)
from rag.errors import InputError, UnknownDocumentError
from rag.language.sentences import sentences as split_sentences
from rag.language.text import vocabulary_terms
from rag.retrieval.embeddings import VectorTable
from rag.settings import Settings
from rag.types import Chunk, RawDocument

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)"""


class PassageEncoder(Protocol):
    model_id: str
    dim: int

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...


def max_file_bytes(settings: Settings) -> int:
    """The largest file the loader reads for `rag index` (index.max_file_mb)."""
    return int(settings.index.max_file_mb * 2**20)


def chunk_raw_documents(documents: Sequence[RawDocument], settings: Settings) -> list[Chunk]:
    """Clean and chunk documents; de-hyphenation uses all of them as evidence."""
    vocabulary = corpus_vocabulary(doc.text for doc in documents)
    chunks: list[Chunk] = []
    for raw in documents:
        chunks.extend(chunk_document(clean_document(raw, vocabulary), settings.chunking))
    return chunks


def build(
    settings: Settings,
    embedder: PassageEncoder,
    paths: Sequence[Path] | None = None,
    *,
    documents: Sequence[RawDocument] | None = None,
    progress: Progress | None = None,
    save: bool = True,
) -> IndexStore:
    """An index of exactly `documents` (or the files under `paths`; neither: the bundled
    letter), saved as the live version unless `save` is False. Passages unchanged since
    the live index are not embedded again."""
    report = progress or _quiet
    if documents is None:
        documents = load_paths(
            list(paths) if paths else [bundled_corpus()], max_bytes=max_file_bytes(settings)
        )
    new_chunks = _chunk(documents, settings, report)
    entries = {doc.doc_id: _entry(doc, new_chunks) for doc in documents}
    if not save:
        store = _assemble(settings, embedder, new_chunks, entries, None, report)
        report("store", 1, 1)
        return store
    folder = settings.index.path
    with writer_lock(folder):
        live = _live_for_reuse(folder)
        if live is not None:
            entries = keep_edits(entries, live.manifest.documents)
        store = _assemble(settings, embedder, new_chunks, entries, live, report)
        store.save(folder)
        store.settings = settings  # `latest()` loads newer versions only if compatible
    report("store", 1, 1)
    return store


def update(
    settings: Settings,
    embedder: PassageEncoder,
    *,
    add: Sequence[RawDocument] = (),
    remove: Sequence[str] = (),
    progress: Progress | None = None,
) -> IndexStore:
    """The live index with `add` added (a document with the same id is replaced) and the
    ids in `remove` removed, saved as the new live version.

    The live version is read under the writer lock, after the new documents are chunked,
    so a change another process saved meanwhile is kept, not overwritten. Removing an id
    the index does not hold is an `InputError`."""
    report = progress or _quiet
    new_chunks = _chunk(add, settings, report)
    entries = {doc.doc_id: _entry(doc, new_chunks) for doc in add}
    folder = settings.index.path
    with writer_lock(folder):
        previous = IndexStore.load(folder, settings) if has_index(folder) else None
        old_entries = previous.manifest.documents if previous is not None else []
        known = {entry.doc_id for entry in old_entries}
        unknown = [doc_id for doc_id in remove if doc_id not in known]
        if unknown:
            raise InputError(
                f"Unknown document id(s): {', '.join(unknown)}. Known: "
                f"{', '.join(sorted(known))} (see 'rag index info')."
            )
        entries = keep_edits(entries, old_entries)
        dropped = set(entries) | set(remove)
        kept = [c for c in previous.chunks if c.doc_id not in dropped] if previous else []
        for entry in old_entries:
            if entry.doc_id not in dropped:
                entries.setdefault(entry.doc_id, entry)
        if not kept and not new_chunks and remove:
            raise InputError(
                f"Removing {', '.join(remove)} would leave the index empty. Add another "
                "document first, or build a new index with 'rag index build [PATH ...]'."
            )
        store = _assemble(settings, embedder, kept + new_chunks, entries, previous, report)
        store.save(folder)
        store.settings = settings  # `latest()` loads newer versions only if compatible
    report("store", 1, 1)
    return store


def _quiet(stage: str, done: int, total: int) -> None:
    """The default progress report: none."""


def _chunk(documents: Sequence[RawDocument], settings: Settings, report: Progress) -> list[Chunk]:
    report("chunk", 0, len(documents))
    chunks = chunk_raw_documents(documents, settings)
    report("chunk", len(documents), len(documents))
    return chunks


def _live_for_reuse(folder: Path) -> IndexStore | None:
    """The live index, if readable, so unchanged passages need not be re-embedded."""
    if not has_index(folder):
        return None
    try:
        return IndexStore.load(folder)
    except Exception:  # noqa: BLE001 - a broken old index must not block a rebuild
        return None


def _assemble(
    settings: Settings,
    embedder: PassageEncoder,
    chunks: list[Chunk],
    entries: dict[str, DocumentEntry],
    previous: IndexStore | None,
    report: Progress,
) -> IndexStore:
    """Embed what is new and put chunks, vectors, manifest and BM25 together (unsaved)."""
    if not chunks:
        raise InputError(
            "The documents hold no passages to index (only headings or blank lines?). "
            "Add text to them, or index other files."
        )
    reuse = _reusable(previous, embedder, settings)
    vectors = _embed(chunks, embedder, previous, reuse, report)
    manifest = Manifest(
        embedding_model=embedder.model_id,
        embedding_fingerprint=embedding_fingerprint(settings),
        dimension=embedder.dim,
        chunking=settings.chunking.model_dump(),
        faiss_type=choose_faiss_type(settings.index, len(chunks)),
        documents=[entries[d] for d in dict.fromkeys(c.doc_id for c in chunks)],
        chunk_count=len(chunks),
        built_at=now_iso(),
    )
    terms, term_vectors = _embed_terms(chunks, embedder, previous, reuse=reuse, report=report)
    sentences = _embed_sentences(chunks, embedder, previous if reuse else None, report)
    report("store", 0, 1)
    return IndexStore.create(chunks, vectors, manifest, terms, term_vectors, sentences)


def _entry(doc: RawDocument, chunks: Sequence[Chunk]) -> DocumentEntry:
    return DocumentEntry(
        doc_id=doc.doc_id,
        name=doc.name,
        source=doc.source,
        content_hash=doc.content_hash,
        chunks=sum(c.doc_id == doc.doc_id for c in chunks),
        described=True,
        **describe(doc.text, doc.name),
    )


def keep_edits(
    entries: dict[str, DocumentEntry], previous: Sequence[DocumentEntry]
) -> dict[str, DocumentEntry]:
    """The entries with the fields an admin set on the same, unchanged document kept."""
    old = {entry.doc_id: entry for entry in previous}
    kept = dict(entries)
    for doc_id, entry in entries.items():
        before = old.get(doc_id)
        if before is not None and before.edited and before.content_hash == entry.content_hash:
            changes = {field: getattr(before, field) for field in before.edited}
            kept[doc_id] = entry.model_copy(update={**changes, "edited": before.edited})
    return kept


def set_metadata(settings: Settings, doc_id: str, changes: dict[str, Any]) -> DocumentEntry:
    """Set metadata fields (`index.metadata.FIELDS`) of one document in the live folder
    index, as an admin's edit that a rebuild of the same document keeps; returns the
    entry. The passages and vectors are not touched."""
    unknown_fields = sorted(set(changes) - set(FIELDS))
    if unknown_fields:
        raise InputError(
            f"Unknown metadata field(s): {', '.join(unknown_fields)}. "
            f"Editable: {', '.join(FIELDS)}."
        )
    folder = settings.index.path
    with writer_lock(folder):
        store = IndexStore.load(folder, settings)
        entries = store.manifest.documents
        position = next((i for i, e in enumerate(entries) if e.doc_id == doc_id), None)
        if position is None:
            raise UnknownDocumentError(
                f"Unknown document id: {doc_id}. The index holds: "
                f"{', '.join(e.doc_id for e in entries)} (see 'rag index info')."
            )
        entry = edited_entry(entries[position], changes)
        store.manifest = store.manifest.model_copy(
            update={"documents": [*entries[:position], entry, *entries[position + 1 :]]}
        )
        store.save(folder)
    return entry


def edited_entry(entry: DocumentEntry, changes: dict[str, Any]) -> DocumentEntry:
    """The entry with `changes` applied and validated, the fields marked as edited."""
    data = {**entry.model_dump(), **changes}
    data["edited"] = sorted(set(entry.edited) | set(changes))
    try:
        return DocumentEntry.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise InputError(
            f"Invalid metadata ({problems}). Kinds: {', '.join(KINDS)}; dates as yyyy-mm-dd."
        ) from None


def _reusable(previous: IndexStore | None, embedder: PassageEncoder, settings: Settings) -> bool:
    return (
        previous is not None
        and previous.manifest.embedding_fingerprint == embedding_fingerprint(settings)
        and previous.manifest.dimension == embedder.dim
    )


def _embed_terms(
    chunks: list[Chunk],
    embedder: PassageEncoder,
    previous: IndexStore | None,
    reuse: bool,
    report: Progress,
) -> tuple[list[str], np.ndarray]:
    """Embed the corpus vocabulary, used to align query words across languages."""
    terms = vocabulary_terms([c.text for c in chunks])
    known = {t: i for i, t in enumerate(previous.terms)} if reuse and previous else {}
    vectors = np.zeros((len(terms), embedder.dim), dtype=np.float32)
    todo = [i for i, t in enumerate(terms) if t not in known]
    for i, term in enumerate(terms):
        if term in known and previous is not None:
            vectors[i] = previous.term_vectors[known[term]]
    report("terms", 0, len(todo))
    if todo:
        vectors[todo] = embedder.encode_passages([terms[i] for i in todo])
    report("terms", len(todo), len(todo))
    return terms, vectors


def _embed_sentences(
    chunks: list[Chunk], embedder: PassageEncoder, previous: IndexStore | None, report: Progress
) -> VectorTable:
    """Encode every passage sentence once, here, for the answer and verify steps: as the
    chunker split it, and as `rag.language.sentences` splits the passage text (for verification)."""
    texts = list(
        dict.fromkeys(
            text
            for chunk in chunks
            for text in [chunk.sentence_text(s) for s in chunk.sentences]
            + split_sentences(chunk.text)
        )
    )
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    todo = []
    for i, text in enumerate(texts):
        known = previous.sentences.get(text) if previous is not None else None
        if known is None:
            todo.append(i)
        else:
            vectors[i] = known
    report("sentences", 0, len(todo))
    if todo:
        vectors[todo] = embedder.encode_passages([texts[i] for i in todo])
    report("sentences", len(todo), len(todo))
    return VectorTable(texts, vectors)


def _embed(
    chunks: list[Chunk],
    embedder: PassageEncoder,
    previous: IndexStore | None,
    reuse: bool,
    report: Progress,
) -> np.ndarray:
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    todo: list[int] = []
    for i, chunk in enumerate(chunks):
        position = previous.position.get(chunk.chunk_id) if reuse and previous else None
        if position is not None and previous is not None:
            vectors[i] = previous.vectors[position]
        else:
            todo.append(i)
    total = len(todo)
    report("embed", 0, total)
    if todo:
        encoded = embedder.encode_passages(
            [chunks[i].search_text for i in todo],
            progress=lambda done: report("embed", done, total),
        )
        vectors[todo] = encoded
    report("embed", total, total)
    return vectors
