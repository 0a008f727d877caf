"""The on-disk index: FAISS vectors + BM25 + chunks + manifest, saved atomically.

Layout of an index folder::

    CURRENT                 name of the live version (replaced atomically)
    LOCK                    the writers' lock file (fcntl), see `writer_lock`
    versions/<name>/        manifest.json, chunks.jsonl, dense.faiss (the vectors), lexical/,
                            terms.json + term_vectors.npy (for cross-lingual alignment),
                            sentences.json + sentence_vectors.npy (the passages' sentences,
                            encoded once here instead of on every question)

Loading memory-maps what it can: the FAISS vectors and the .npy arrays are read from the
page cache as they are touched, so a one-question process does not read them all.

A save writes a complete new version folder, fsyncs it, then swaps CURRENT with
os.replace. A build that fails or is killed at any point leaves CURRENT pointing at the
previous, complete version. Old versions are pruned after a successful swap.

Writers (the CLI, the app, any other process) hold `writer_lock` from reading the live
version to swapping CURRENT, so two writers never build on the same old version and
lose each other's change. Readers take no lock: a loaded store remembers its version,
and `IndexStore.latest()` cheaply checks CURRENT and loads a newer version if there is one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
from pydantic import BaseModel, Field

from index.lexical import LexicalIndex
from index.metadata import described
from rag.errors import IndexMismatchError, IndexMissingError, RagError
from rag.language.text import vocabulary_terms
from rag.retrieval.embeddings import VectorTable
from rag.settings import IndexSettings, Settings
from rag.types import Chunk

FORMAT_VERSION = 3  # 2: footnote markers cut off BM25 words; 3: apostrophes end a word,
# passage sentence vectors stored
HNSW_NEIGHBOURS = 32


DocumentKind = Literal["letter", "motion", "agenda", "report", "note", "other"]


class DocumentEntry(BaseModel):
    """One indexed document: where it came from, its passages, and what it is (title,
    kind, date, sender, signatories, dossier: `index.metadata`, or set by an admin)."""

    doc_id: str
    name: str
    source: str
    content_hash: str
    chunks: int
    title: str = ""
    kind: DocumentKind = "other"
    date: str | None = Field(
        default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date of the paper."
    )
    sender: str = ""
    signatories: list[str] = Field(
        default_factory=list, description='"office, name" as the signature block reads.'
    )
    dossier: str = Field(default="", description='e.g. "21 501-02, nr. 3123".')
    submitters: list[str] = Field(
        default_factory=list, description="A motion's submitters, as its signature lines read."
    )
    considerations: list[str] = Field(
        default_factory=list, description='A motion\'s considerations ("overwegende dat …").'
    )
    request: str = Field(default="", description='A motion\'s request ("verzoekt de regering …").')
    described: bool = Field(
        default=False, description="Metadata was read at index time (False: an older index)."
    )
    edited: list[str] = Field(default_factory=list, description="Fields an admin set.")


class Manifest(BaseModel):
    format_version: int = FORMAT_VERSION
    embedding_model: str
    embedding_fingerprint: str = Field(description="Model id plus query/passage prefixes.")
    dimension: int
    chunking: dict[str, Any]
    faiss_type: str
    documents: list[DocumentEntry]
    chunk_count: int
    built_at: str


def scope_view(
    store: Any, documents: Collection[str], limit: int, *, positions: list[int] | None = None
) -> IndexStore | None:
    """The passages of `documents` as an in-memory index of their own: FAISS (flat) over
    their vectors, BM25 with their own statistics, the vocabulary of their own words. A
    scoped question then ranks exactly as over an index of those documents alone (the
    letter scoped in a mixed index answers as the letter alone). None when the scope
    holds no passages or more than `limit` (then the store searches it, with the whole
    index's statistics). Works over any `SearchIndex` (folder or PostgreSQL); a store
    that knows its documents' `positions` passes them, and its chunks may read `many`."""
    if positions is None:
        positions = [i for i, c in enumerate(store.chunks) if c.doc_id in documents]
    if not positions or len(positions) > limit:
        return None
    many = getattr(store.chunks, "many", None)
    chunks = many(positions) if many else [store.chunks[i] for i in positions]
    vectors = np.asarray(store.vectors[positions], dtype=np.float32).reshape(len(positions), -1)
    known = {term: i for i, term in enumerate(store.terms)}
    terms = [t for t in vocabulary_terms([c.text for c in chunks]) if t in known]
    dimension = store.manifest.dimension
    term_vectors = (
        np.asarray(store.term_vectors[[known[t] for t in terms]], dtype=np.float32)
        if terms
        else np.zeros((0, dimension), dtype=np.float32)
    )
    manifest = store.manifest.model_copy(
        update={
            "documents": [d for d in store.manifest.documents if d.doc_id in documents],
            "chunk_count": len(chunks),
            "faiss_type": "flat",
        }
    )
    return IndexStore.create(chunks, vectors, manifest, terms, term_vectors)


def embedding_fingerprint(settings: Settings) -> str:
    emb = settings.embedding
    return json.dumps([emb.model, emb.query_prefix, emb.passage_prefix])


def choose_faiss_type(settings: IndexSettings, size: int) -> str:
    if settings.faiss_type != "auto":
        return settings.faiss_type
    return "hnsw" if size >= settings.approximate_above else "flat"


def build_faiss(vectors: np.ndarray, faiss_type: str) -> faiss.Index:
    dim = vectors.shape[1]
    index: faiss.Index
    if faiss_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class IndexStore:
    """Chunks with their vectors, searchable densely (FAISS) and lexically (BM25)."""

    def __init__(
        self,
        manifest: Manifest,
        chunks: list[Chunk],
        vectors: np.ndarray,
        dense: faiss.Index,
        lexical: LexicalIndex,
        terms: list[str],
        term_vectors: np.ndarray,
        sentences: VectorTable | None = None,
    ) -> None:
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors
        self.dense = dense
        self.lexical = lexical
        self.terms = terms
        self.term_vectors = term_vectors
        self.sentences = sentences or VectorTable([], np.zeros((0, manifest.dimension), "f4"))
        self.position = {chunk.chunk_id: i for i, chunk in enumerate(chunks)}
        self._by_document: dict[str, np.ndarray] | None = None
        # Where this store lives on disk (set by load and save), for `latest`.
        self.folder: Path | None = None
        self.version = ""
        self.settings: Settings | None = None

    @classmethod
    def create(
        cls,
        chunks: list[Chunk],
        vectors: np.ndarray,
        manifest: Manifest,
        terms: list[str],
        term_vectors: np.ndarray,
        sentences: VectorTable | None = None,
    ) -> IndexStore:
        dense = build_faiss(vectors, manifest.faiss_type)
        lexical = LexicalIndex.build([c.search_text for c in chunks])
        return cls(manifest, chunks, vectors, dense, lexical, terms, term_vectors, sentences)

    def chunk(self, chunk_id: str) -> Chunk | None:
        position = self.position.get(chunk_id)
        return None if position is None else self.chunks[position]

    def view(self, documents: Collection[str], limit: int) -> IndexStore | None:
        """The scope `documents` as an index of its own (`scope_view`)."""
        return scope_view(self, documents, limit)

    def vector_tables(self) -> list[VectorTable]:
        """The texts encoded at build time (sentences, terms), for `Embedder.remember`."""
        return [self.sentences, VectorTable(self.terms, self.term_vectors)]

    def sentence_vectors(self, chunk: Chunk) -> np.ndarray:
        """``(len(chunk.sentences), dim)``: the stored vectors of the passage's sentences."""
        rows = [self.sentences.rows[chunk.sentence_text(s)] for s in chunk.sentences]
        return np.asarray(self.sentences.vectors[rows], dtype=np.float32)

    def positions_of(self, documents: Collection[str]) -> np.ndarray:
        """Sorted positions of the passages of `documents` (doc ids)."""
        if self._by_document is None:
            grouped: dict[str, list[int]] = {}
            for i, chunk in enumerate(self.chunks):
                grouped.setdefault(chunk.doc_id, []).append(i)
            self._by_document = {d: np.asarray(p, dtype=np.int64) for d, p in grouped.items()}
        parts = [self._by_document[d] for d in documents if d in self._by_document]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def dense_search(
        self, query: np.ndarray, k: int, *, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """(position, cosine) of the `k` passages nearest to one normalised query vector;
        with `documents`, the nearest of those documents' passages (an exact scan of them,
        so a small document's best passages are found however far down the whole
        ranking they stand)."""
        if not self.chunks:
            return []
        if documents is not None:
            within = self.positions_of(documents)
            scores = np.asarray(self.vectors[within], dtype=np.float32) @ query.reshape(-1)
            order = np.argsort(-scores, kind="stable")[:k]
            return [(int(within[i]), float(scores[i])) for i in order]
        # One query: OpenMP threads only add overhead (flat search over 10-20k vectors took
        # 3-16 ms with 2 threads, 0.6-1.6 ms with 1; scripts/bench_index.py). The setting
        # is per calling thread, so concurrent searches and builds are not affected.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.dense.search(
                query.reshape(1, -1).astype(np.float32), min(k, len(self.chunks))
            )
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def lexical_search(
        self, query: str, k: int, *, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        within = None if documents is None else self.positions_of(documents)
        return self.lexical.search(query, k, within)

    def concept_search(
        self,
        concepts: Sequence[Sequence[str]],
        k: int,
        *,
        documents: Collection[str] | None = None,
    ) -> list[tuple[int, float]]:
        within = None if documents is None else self.positions_of(documents)
        return self.lexical.concept_search(concepts, k, within)

    # ---- persistence -------------------------------------------------------------------

    def latest(self) -> IndexStore:
        """This store, or a newer live version of its folder written since (by this or
        another process). Costs one small file read when nothing changed; a newer
        version that cannot be loaded (half pruned, other settings) leaves this one."""
        if self.folder is None:
            return self
        try:
            if _read_pointer(self.folder) == self.version:
                return self
            return IndexStore.load(self.folder, self.settings)
        except (OSError, ValueError, RagError):
            return self

    def save(self, folder: Path) -> Path:
        """Write a new version and make it live atomically; return the version folder.

        Callers that build on the live version hold `writer_lock(folder)` around reading it
        and saving (`index.build` does)."""
        versions = folder / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        name = f"v{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        staging = versions / f".{name}.partial"
        staging.mkdir()
        pointer_path = folder / "CURRENT"
        previous = pointer_path.read_text().strip() if pointer_path.exists() else ""
        try:
            self._write(staging)
            final = versions / name
            staging.rename(final)
            _fsync_dir(versions)
            pointer = folder / "CURRENT.tmp"
            pointer.write_text(name)
            _fsync_file(pointer)
            os.replace(pointer, folder / "CURRENT")
            _fsync_dir(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _prune(versions, keep={name, previous})
        self.folder, self.version = folder, name
        return final

    def _write(self, target: Path) -> None:
        with open(target / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk in self.chunks:
                out.write(chunk.model_dump_json() + "\n")
        faiss.write_index(self.dense, str(target / "dense.faiss"))
        (target / "terms.json").write_text(json.dumps(self.terms, ensure_ascii=False))
        np.save(target / "term_vectors.npy", np.asarray(self.term_vectors, dtype=np.float32))
        (target / "sentences.json").write_text(json.dumps(self.sentences.texts, ensure_ascii=False))
        np.save(target / "sentence_vectors.npy", np.asarray(self.sentences.vectors, "f4"))
        (target / "lexical").mkdir()
        self.lexical.save(target / "lexical")
        (target / "manifest.json").write_text(self.manifest.model_dump_json(indent=2))
        for path in target.rglob("*"):
            if path.is_file():
                _fsync_file(path)

    @classmethod
    def load(cls, folder: Path, settings: Settings | None = None) -> IndexStore:
        """Load the live version; with `settings`, fail if it was built with other ones."""
        for attempt in range(3):
            version = live_version(folder)
            try:
                store = cls._load_version(version, settings, folder)
            except FileNotFoundError:
                if attempt == 2:  # pruned under us by writers, three times in a row
                    raise
                continue
            store.folder, store.version, store.settings = folder, version.name, settings
            return store
        raise AssertionError("unreachable")

    @classmethod
    def _load_version(cls, version: Path, settings: Settings | None, folder: Path) -> IndexStore:
        manifest = Manifest.model_validate_json((version / "manifest.json").read_text())
        if settings is not None:
            check_compatible(manifest, settings, folder)
        with open(version / "chunks.jsonl", encoding="utf-8") as lines:
            chunks = [Chunk.model_validate_json(line) for line in lines if line.strip()]
        manifest.documents = described(manifest.documents, chunks)
        dense = faiss.read_index(str(version / "dense.faiss"), _MMAP_FLAGS)
        vectors = _stored_vectors(dense, manifest.dimension)
        lexical = LexicalIndex.load(version / "lexical")
        terms = json.loads((version / "terms.json").read_text())
        term_vectors = _mapped(version / "term_vectors.npy")
        sentences = None  # an index of format 2 or older has none; it loads for `info`
        if (version / "sentences.json").is_file():
            sentences = VectorTable(
                json.loads((version / "sentences.json").read_text()),
                _mapped(version / "sentence_vectors.npy"),
            )
        return cls(manifest, chunks, vectors, dense, lexical, terms, term_vectors, sentences)


# Map the flat vectors of dense.faiss instead of reading them (FAISS >= 1.10).
_MMAP_FLAGS = getattr(faiss, "IO_FLAG_MMAP_IFC", 0) or getattr(faiss, "IO_FLAG_MMAP", 0)


def _mapped(path: Path) -> np.ndarray:
    """A read-only memory map of a .npy file, as a plain array (np.memmap's own methods
    make row-by-row reads slow)."""
    return np.asarray(np.load(path, mmap_mode="r"))


def _stored_vectors(dense: faiss.Index, dimension: int) -> np.ndarray:
    """The vectors inside a flat or HNSW index as a read-only view: no second copy on disk,
    and none in memory either."""
    if not dense.ntotal:
        return np.zeros((0, dimension), dtype=np.float32)
    flat = faiss.downcast_index(dense.storage) if hasattr(dense, "storage") else dense
    if isinstance(flat, faiss.IndexFlat):
        view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(-1, flat.d)
        view.flags.writeable = False
        return view
    return dense.reconstruct_n(0, dense.ntotal)


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Hold the index folder's writer lock (an exclusive fcntl lock on folder/LOCK).

    Every writer takes it, in any process or thread, so changes are applied one after
    the other; the kernel drops it when its holder exits, also on kill -9. Not
    re-entrant: take it once per change."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "LOCK", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            _drop_abandoned(folder / "versions")  # a killed writer's half-written version
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def has_index(folder: Path) -> bool:
    return (folder / "CURRENT").exists()


def _read_pointer(folder: Path) -> str:
    return (folder / "CURRENT").read_text().strip()


def live_version(folder: Path) -> Path:
    pointer = folder / "CURRENT"
    if not pointer.exists():
        raise IndexMissingError(
            f"No index at '{folder}'. Build one first: rag index build "
            "(no path indexes the bundled letter)."
        )
    version = folder / "versions" / _read_pointer(folder)
    if not (version / "manifest.json").is_file():
        raise IndexMissingError(
            f"The index at '{folder}' is incomplete ({version.name} is missing). Rebuild it: "
            "rag index build [PATH ...]."
        )
    return version


def read_manifest(folder: Path) -> Manifest:
    return Manifest.model_validate_json((live_version(folder) / "manifest.json").read_text())


def check_compatible(manifest: Manifest, settings: Settings, folder: Path | str) -> None:
    problems = []
    if manifest.format_version != FORMAT_VERSION:
        problems.append(
            f"index format {manifest.format_version} (this version reads {FORMAT_VERSION})"
        )
    if manifest.embedding_fingerprint != embedding_fingerprint(settings):
        problems.append(
            f"embedding model '{manifest.embedding_model}' (settings ask for "
            f"'{settings.embedding.model}' with prefixes "
            f"{settings.embedding.query_prefix!r}/{settings.embedding.passage_prefix!r})"
        )
    chunking = settings.chunking.model_dump()
    if manifest.chunking != chunking:
        problems.append(f"chunking {manifest.chunking} (settings ask for {chunking})")
    if problems:
        raise IndexMismatchError(
            f"The index at '{folder}' was built with " + "; ".join(problems) + ". "
            "Rebuild it with 'rag index build [PATH ...]', or change the settings back."
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _prune(versions: Path, keep: set[str]) -> None:
    """Drop old versions except `keep` (the live one and the one live before it, for
    readers still using it), and partial folders left by killed builds (`_abandoned`).

    `keep` is by name, not by age: a build killed between finishing its version folder and
    swapping CURRENT leaves a newer folder that was never live."""
    stale = [p for p in versions.iterdir() if not p.name.startswith(".") and p.name not in keep]
    stale += [p for p in versions.iterdir() if p.name.endswith(".partial") and _abandoned(p)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


def _drop_abandoned(versions: Path) -> None:
    if versions.is_dir():
        for partial in versions.glob(".*.partial"):
            if _abandoned(partial):
                shutil.rmtree(partial, ignore_errors=True)


def _abandoned(partial: Path) -> bool:
    """Was this partial folder left by a writer that is gone? Its name holds the writer's
    process id (`save`); a folder whose process no longer runs was left by a killed build,
    and any partial folder over an hour old is taken as left (a reused process id)."""
    with contextlib.suppress(OSError):
        if time.time() - partial.stat().st_mtime > 3600:
            return True
    match = re.match(r"\.v[0-9T]+-(\d+)-\d+\.partial$", partial.name)
    if match is None:
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs, as another user
        return False
    return False


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
