"""The on-disk index: FAISS vectors + BM25 + chunks + manifest, saved atomically.

Layout of an index folder::

    CURRENT                 name of the live version (replaced atomically)
    versions/<name>/        manifest.json, chunks.jsonl, dense.faiss (the vectors), lexical/,
                            terms.json + term_vectors.npy (for cross-lingual alignment)

A save writes a complete new version folder, fsyncs it, then swaps CURRENT with
os.replace. A build that fails or is killed at any point leaves CURRENT pointing at the
previous, complete version. Old versions are pruned after a successful swap.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from pydantic import BaseModel, Field

from index.lexical import LexicalIndex
from rag.errors import IndexMismatchError, IndexMissingError
from rag.settings import IndexSettings, Settings
from rag.types import Chunk

FORMAT_VERSION = 2  # 2: footnote markers no longer glued to BM25 words
HNSW_NEIGHBOURS = 32


class DocumentEntry(BaseModel):
    doc_id: str
    name: str
    source: str
    content_hash: str
    chunks: int


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
    ) -> None:
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors
        self.dense = dense
        self.lexical = lexical
        self.terms = terms
        self.term_vectors = term_vectors
        self.position = {chunk.chunk_id: i for i, chunk in enumerate(chunks)}

    @classmethod
    def create(
        cls,
        chunks: list[Chunk],
        vectors: np.ndarray,
        manifest: Manifest,
        terms: list[str],
        term_vectors: np.ndarray,
    ) -> IndexStore:
        dense = build_faiss(vectors, manifest.faiss_type)
        lexical = LexicalIndex.build([c.search_text for c in chunks])
        return cls(manifest, chunks, vectors, dense, lexical, terms, term_vectors)

    def chunk(self, chunk_id: str) -> Chunk | None:
        position = self.position.get(chunk_id)
        return None if position is None else self.chunks[position]

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(position, cosine) of the `k` passages nearest to one normalised query vector."""
        if not self.chunks:
            return []
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

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.lexical.search(query, k)

    def concept_search(self, concepts: Sequence[Sequence[str]], k: int) -> list[tuple[int, float]]:
        return self.lexical.concept_search(concepts, k)

    # ---- persistence -------------------------------------------------------------------

    def save(self, folder: Path) -> Path:
        """Write a new version and make it live atomically; return the version folder."""
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
        return final

    def _write(self, target: Path) -> None:
        with open(target / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk in self.chunks:
                out.write(chunk.model_dump_json() + "\n")
        faiss.write_index(self.dense, str(target / "dense.faiss"))
        (target / "terms.json").write_text(json.dumps(self.terms, ensure_ascii=False))
        np.save(target / "term_vectors.npy", self.term_vectors.astype(np.float32))
        (target / "lexical").mkdir()
        self.lexical.save(target / "lexical")
        (target / "manifest.json").write_text(self.manifest.model_dump_json(indent=2))
        for path in target.rglob("*"):
            if path.is_file():
                _fsync_file(path)

    @classmethod
    def load(cls, folder: Path, settings: Settings | None = None) -> IndexStore:
        """Load the live version; with `settings`, fail if it was built with other ones."""
        version = live_version(folder)
        manifest = Manifest.model_validate_json((version / "manifest.json").read_text())
        if settings is not None:
            check_compatible(manifest, settings, folder)
        with open(version / "chunks.jsonl", encoding="utf-8") as lines:
            chunks = [Chunk.model_validate_json(line) for line in lines if line.strip()]
        dense = faiss.read_index(str(version / "dense.faiss"))
        # Flat and HNSW indexes both keep the vectors; no second copy on disk.
        vectors = (
            dense.reconstruct_n(0, dense.ntotal)
            if dense.ntotal
            else np.zeros((0, manifest.dimension), dtype=np.float32)
        )
        lexical = LexicalIndex.load(version / "lexical")
        terms = json.loads((version / "terms.json").read_text())
        term_vectors = np.load(version / "term_vectors.npy")
        return cls(manifest, chunks, vectors, dense, lexical, terms, term_vectors)


def live_version(folder: Path) -> Path:
    pointer = folder / "CURRENT"
    if not pointer.exists():
        raise IndexMissingError(
            f"No index at '{folder}'. Build one first: rag index build "
            "(no path indexes the bundled letter)."
        )
    version = folder / "versions" / pointer.read_text().strip()
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
    readers still using it), and partial folders left by killed builds over an hour ago.

    `keep` is by name, not by age: a build killed between finishing its version folder and
    swapping CURRENT leaves a newer folder that was never live."""
    stale = [p for p in versions.iterdir() if not p.name.startswith(".") and p.name not in keep]
    stale += [
        p
        for p in versions.iterdir()
        if p.name.endswith(".partial") and time.time() - p.stat().st_mtime > 3600
    ]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
