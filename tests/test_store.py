"""The on-disk index: round trip, settings checks, atomic saves (also under kill -9), and
adding/removing documents without re-embedding what did not change."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from index.build import build, update
from index.load import load_paths
from index.store import IndexStore, Manifest, choose_faiss_type, live_version
from rag.errors import IndexMismatchError, IndexMissingError, InputError
from rag.retrieval.embeddings import Embedder
from rag.settings import IndexSettings, Settings
from rag.types import Chunk

RAG = Path(sys.executable).with_name("rag")
QUERIES = [
    "Hoeveel procent van het bbp gaan de NAVO-bondgenoten aan veiligheid besteden?",
    "What does the government say about the EU-Mercosur trade agreement?",
    "Europese defensie-industrie versterken",
]
ARCTIC = """\
Arctic policy

The Arctic is warming four times faster than the rest of the planet. Shipping routes
through the north are opening, and with them competition for minerals and fish.

Norway and the Netherlands agreed to share satellite data on sea ice every month. The
government will fund a research station on Svalbard until 2030.
"""


class CountingEmbedder:
    """The real embedder, recording which texts it is asked to embed as passages."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode_passages(texts, progress=progress)


def with_path(settings: Settings, path: Path) -> Settings:
    return settings.model_copy(update={"index": settings.index.model_copy(update={"path": path})})


def copy_index(built_index: tuple[Settings, IndexStore], target: Path) -> Settings:
    """A private copy of the session's letter index (tests here change indexes)."""
    settings, _ = built_index
    shutil.copytree(settings.index.path, target)
    return with_path(settings, target)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file of an index folder with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def search(store: IndexStore, embedder: Embedder, query: str, k: int = 5) -> list[Chunk]:
    return [store.chunks[i] for i, _ in store.dense_search(embedder.encode_queries([query])[0], k)]


def five_percent(store: IndexStore) -> set[str]:
    return {c.chunk_id for c in store.chunks if "5% van het bbp" in c.text}


# ---- round trip ----------------------------------------------------------------------------


def test_save_load_round_trip(built_index, default_embedder: Embedder) -> None:
    settings, store = built_index
    loaded = IndexStore.load(settings.index.path, settings)
    assert loaded.manifest == store.manifest
    assert loaded.chunks == store.chunks
    assert loaded.terms == store.terms
    np.testing.assert_array_equal(loaded.vectors, store.vectors)
    np.testing.assert_array_equal(loaded.term_vectors, store.term_vectors)
    assert loaded.dense.ntotal == len(loaded.chunks) == store.manifest.chunk_count
    for query in QUERIES:
        vector = default_embedder.encode_queries([query])[0]
        assert loaded.dense_search(vector, 10) == store.dense_search(vector, 10)
        assert loaded.lexical_search(query, 10) == store.lexical_search(query, 10)
        assert loaded.lexical_search(query, 10)  # the lexical side finds something too
    assert loaded.chunk(store.chunks[3].chunk_id) == store.chunks[3]
    assert loaded.chunk("nope") is None


def test_manifest_describes_the_index(built_index, letter_path: Path) -> None:
    settings, store = built_index
    m = store.manifest
    assert m.embedding_model == settings.embedding.model and m.dimension == 512
    assert m.chunking == settings.chunking.model_dump()
    assert m.faiss_type == "flat" and m.chunk_count == len(store.chunks) == 55
    assert [d.doc_id for d in m.documents] == ["eu-geopolitiek-kamerbrief"]
    assert m.documents[0].chunks == 55
    assert m.documents[0].content_hash == load_paths([letter_path])[0].content_hash
    on_disk = Manifest.model_validate_json(
        (live_version(settings.index.path) / "manifest.json").read_text()
    )
    assert on_disk == m


def test_vectors_are_unit_length_and_search_finds_the_passage(built_index, default_embedder):
    settings, store = built_index
    np.testing.assert_allclose(np.linalg.norm(store.vectors, axis=1), 1.0, atol=1e-5)
    top = search(store, default_embedder, QUERIES[0], 3)
    assert five_percent(store) & {c.chunk_id for c in top}


def test_hnsw_round_trip_keeps_search_settings(built_index, tmp_path: Path, default_embedder):
    _, store = built_index
    manifest = store.manifest.model_copy(update={"faiss_type": "hnsw"})
    hnsw = IndexStore.create(store.chunks, store.vectors, manifest, store.terms, store.term_vectors)
    hnsw.save(tmp_path)
    loaded = IndexStore.load(tmp_path)
    assert loaded.dense.hnsw.efSearch == hnsw.dense.hnsw.efSearch == 128
    vector = default_embedder.encode_queries([QUERIES[1]])[0]
    assert loaded.dense_search(vector, 10) == hnsw.dense_search(vector, 10)
    exact = [i for i, _ in store.dense_search(vector, 10)]
    assert [i for i, _ in loaded.dense_search(vector, 10)] == exact  # 55 vectors: exact


def test_auto_switches_to_hnsw_at_approximate_above() -> None:
    auto = IndexSettings()
    assert choose_faiss_type(auto, auto.approximate_above - 1) == "flat"
    assert choose_faiss_type(auto, auto.approximate_above) == "hnsw"
    assert choose_faiss_type(IndexSettings(faiss_type="flat"), 10**7) == "flat"
    assert choose_faiss_type(IndexSettings(faiss_type="hnsw"), 10) == "hnsw"


# ---- settings mismatch and missing index -----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"chunking": {"max_tokens": 100}}, "chunking"),
        ({"chunking": {"overlap_tokens": 0}}, "chunking"),
        ({"embedding": {"model": "sentence-transformers/all-MiniLM-L6-v2"}}, "embedding model"),
        ({"embedding": {"query_prefix": "query: "}}, "embedding model"),
    ],
)
def test_loading_with_other_settings_says_how_to_rebuild(built_index, change, named) -> None:
    settings, _ = built_index
    other = Settings(index={"path": settings.index.path}, **change)
    with pytest.raises(IndexMismatchError) as info:
        IndexStore.load(settings.index.path, other)
    message = str(info.value)
    assert named in message and "rag index build" in message
    assert str(settings.index.path) in message
    IndexStore.load(settings.index.path)  # without settings to check: loads


def test_missing_or_broken_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="rag index build"):
        IndexStore.load(tmp_path / "nothing-here")
    (tmp_path / "CURRENT").write_text("v-gone")
    with pytest.raises(IndexMissingError, match="rag index build"):
        IndexStore.load(tmp_path)


# ---- atomic saves ----------------------------------------------------------------------------


def test_failing_save_leaves_the_old_index_live(
    built_index, tmp_path: Path, default_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = copy_index(built_index, tmp_path / "index")
    folder = settings.index.path
    before = snapshot(folder)
    (tmp_path / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    old = IndexStore.load(folder, settings)
    written: list[Path] = []

    def write_some_then_fail(self: IndexStore, target: Path) -> None:
        (target / "chunks.jsonl").write_text("{half a line")
        np.save(target / "term_vectors.npy", self.term_vectors)
        written.extend(target.iterdir())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(IndexStore, "_write", write_some_then_fail)
    with pytest.raises(OSError, match="No space left"):
        update(
            settings,
            default_embedder,
            add=load_paths([tmp_path / "arctic.txt"]),
        )
    assert len(written) == 2  # it really got midway
    assert snapshot(folder) == before  # CURRENT, versions: all as they were; no leftovers
    monkeypatch.undo()
    again = IndexStore.load(folder, settings)
    assert again.chunks == old.chunks
    assert five_percent(again) & {c.chunk_id for c in search(again, default_embedder, QUERIES[0])}


def test_leftovers_of_killed_saves_are_ignored_and_cleaned_up(
    built_index, tmp_path: Path, default_embedder: Embedder
) -> None:
    settings = copy_index(built_index, tmp_path / "index")
    folder = settings.index.path
    live = (folder / "CURRENT").read_text()
    versions = folder / "versions"
    # killed while writing: a partial folder and a pointer that was never swapped in
    stale_partial = versions / ".v20000101T000000-1-1.partial"
    stale_partial.mkdir()
    (stale_partial / "chunks.jsonl").write_text("garbage")
    old = time.time() - 7200
    os.utime(stale_partial, (old, old))
    # a build still running (its process lives): kept
    fresh_partial = versions / f".v20990101T000000-{os.getppid()}-2.partial"
    fresh_partial.mkdir()
    # a build killed a moment ago (its process is gone): removed
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    killed_partial = versions / f".v20990101T000000-{int(gone.stdout)}-4.partial"
    killed_partial.mkdir()
    # killed after the version folder was complete, before CURRENT was replaced
    orphan = versions / "v20990101T000000-3-3"
    shutil.copytree(versions / live, orphan)
    (folder / "CURRENT.tmp").write_text(orphan.name)

    loaded = IndexStore.load(folder, settings)
    assert (folder / "CURRENT").read_text() == live
    assert loaded.chunks == built_index[1].chunks

    store = build(settings, default_embedder)  # a rebuild with nothing new
    new_live = (folder / "CURRENT").read_text()
    assert new_live != live
    # kept: the new live version, the one live before it (readers may still use it) and
    # the partial folder of a build that is still running; gone: the rest
    assert {p.name for p in versions.iterdir()} == {new_live, live, fresh_partial.name}
    assert not (folder / "CURRENT.tmp").exists()
    assert IndexStore.load(folder, settings).chunks == store.chunks


def write_big_corpus(folder: Path, letter_path: Path, copies: int) -> None:
    folder.mkdir()
    text = letter_path.read_text(encoding="utf-8")
    for i in range(copies):
        (folder / f"kopie-{i:02d}.txt").write_text(text, encoding="utf-8")


@pytest.mark.slow
def test_build_killed_while_embedding_leaves_the_old_index(
    built_index, tmp_path: Path, letter_path: Path, default_embedder: Embedder
) -> None:
    settings = copy_index(built_index, tmp_path / "index")
    folder = settings.index.path
    before = snapshot(folder)
    write_big_corpus(tmp_path / "big", letter_path, copies=30)  # ~1,600 passages to embed
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [str(RAG), "--index", str(folder), "index", "build", str(tmp_path / "big")],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 180
        progress = None
        while time.monotonic() < deadline and process.poll() is None:
            text = log.read_text(errors="replace")
            # tqdm: "embed:  12%|...| 192/1620 ..." once some batches are done
            progress = re.findall(r"embed:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)", text)
            if any(0 < int(done) < int(total) for done, total in progress):
                break
            time.sleep(0.2)
        assert process.poll() is None, "the build ended before it could be killed"
        assert progress, log.read_text(errors="replace")[-2000:]
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert snapshot(folder) == before  # nothing of the new build reached the folder
    store = IndexStore.load(folder, settings)
    assert [d.doc_id for d in store.manifest.documents] == ["eu-geopolitiek-kamerbrief"]
    assert store.chunks == built_index[1].chunks
    top = search(store, default_embedder, QUERIES[0], 3)
    assert five_percent(store) & {c.chunk_id for c in top}


# ---- adding and removing documents ------------------------------------------------------------


@pytest.fixture
def grown(built_index, tmp_path: Path, default_embedder: Embedder):
    """A copy of the letter index with the Arctic note added; (settings, old, new, counter)."""
    settings = copy_index(built_index, tmp_path / "index")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    old = IndexStore.load(settings.index.path, settings)
    counter = CountingEmbedder(default_embedder)
    new = update(
        settings,
        counter,
        add=load_paths([tmp_path / "docs"]),
    )
    return settings, old, new, counter


def test_adding_a_document_embeds_only_its_passages(grown, default_embedder: Embedder) -> None:
    settings, old, new, counter = grown
    added = [c for c in new.chunks if c.doc_id == "arctic"]
    assert added and len(new.chunks) == len(old.chunks) + len(added)
    passages, terms, sentences = counter.calls  # passages, new vocabulary, new sentences
    assert passages == [c.search_text for c in added]
    added_sentences = {c.sentence_text(s) for c in added for s in c.sentences}
    assert added_sentences <= set(sentences) and not set(sentences) & set(old.sentences.texts)
    assert terms and not set(terms) & set(old.terms)
    assert {"arctic", "svalbard"} <= set(terms)
    # the letter's vectors were reused, not recomputed
    for chunk in old.chunks:
        np.testing.assert_array_equal(
            new.vectors[new.position[chunk.chunk_id]], old.vectors[old.position[chunk.chunk_id]]
        )
    assert [d.doc_id for d in new.manifest.documents] == ["eu-geopolitiek-kamerbrief", "arctic"]
    assert new.manifest.chunk_count == len(new.chunks)
    # saved and live, and both documents are searchable
    loaded = IndexStore.load(settings.index.path, settings)
    assert loaded.chunks == new.chunks
    top = search(loaded, default_embedder, "Who shares satellite data on sea ice?", 1)
    assert top[0].doc_id == "arctic"
    assert (
        loaded.lexical_search("Svalbard research station", 1)[0][0]
        == new.position[added[-1].chunk_id]
    )
    assert five_percent(loaded) & {
        c.chunk_id for c in search(loaded, default_embedder, QUERIES[0], 3)
    }


def test_rebuilding_unchanged_documents_embeds_nothing(grown, tmp_path: Path) -> None:
    settings, _, new, counter = grown
    counter.calls.clear()
    again = update(
        settings,
        counter,
        add=load_paths([tmp_path / "docs"]),
    )
    assert counter.calls == []
    assert again.chunks == new.chunks


def test_editing_a_document_re_embeds_only_changed_passages(
    built_index, tmp_path: Path, letter_path: Path, default_embedder: Embedder
) -> None:
    settings = copy_index(built_index, tmp_path / "index")
    old = IndexStore.load(settings.index.path, settings)
    edited = tmp_path / letter_path.name  # same name: the same document, a new version
    edited.write_text(
        letter_path.read_text(encoding="utf-8").replace("EU-Mercosur", "EU-Mercosul"),
        encoding="utf-8",
    )
    counter = CountingEmbedder(default_embedder)
    new = update(
        settings,
        counter,
        add=load_paths([edited]),
    )
    passages = counter.calls[0]
    assert len(passages) == 1 and "EU-Mercosul" in passages[0]
    assert len(new.chunks) == len(old.chunks)
    assert new.manifest.documents[0].content_hash != old.manifest.documents[0].content_hash


def test_removing_a_document(grown, default_embedder: Embedder) -> None:
    settings, old, new, counter = grown
    counter.calls.clear()
    smaller = update(settings, counter, remove=["arctic"])
    assert counter.calls == []  # nothing to embed
    assert smaller.chunks == old.chunks
    np.testing.assert_array_equal(smaller.vectors, old.vectors)
    assert [d.doc_id for d in smaller.manifest.documents] == ["eu-geopolitiek-kamerbrief"]
    loaded = IndexStore.load(settings.index.path, settings)
    assert all(c.doc_id != "arctic" for c in loaded.chunks)
    top = search(loaded, default_embedder, "Who shares satellite data on sea ice?", 5)
    assert all(c.doc_id == "eu-geopolitiek-kamerbrief" for c in top)
    assert all(i < len(loaded.chunks) for i, _ in loaded.lexical_search("Svalbard Arctic", 5))


def test_removing_the_last_document_is_refused(built_index, tmp_path: Path, default_embedder):
    settings = copy_index(built_index, tmp_path / "index")
    before = snapshot(settings.index.path)
    with pytest.raises(InputError, match="would leave the index empty"):
        update(settings, default_embedder, remove=["eu-geopolitiek-kamerbrief"])
    assert snapshot(settings.index.path) == before


def test_footnote_markers_glued_to_words_are_cut_off_for_bm25() -> None:
    from rag.language.text import words

    assert words("concurrentievermogen4 en rechten3. eu-lidstaten5", parts=True) == [
        "concurrentievermogen",
        "en",
        "rechten",
        "eu-lidstaten",
        "eu",
        "lidstaten",
    ]
    assert words("G7, 2035 en de A400M", parts=True) == ["g7", "2035", "en", "de", "a400m"]


# ---- both stores: the folder and PostgreSQL behind the same seam (index.stores) --------------


@pytest.fixture(params=["folder", "postgres"])
def letter_settings(request: pytest.FixtureRequest, built_index, tmp_path: Path) -> Settings:
    """Settings for a private copy of the letter's index, in the folder or in PostgreSQL."""
    if request.param == "folder":
        return copy_index(built_index, tmp_path / "index")
    settings, _ = built_index
    url = request.getfixturevalue("pg_url")
    return settings.model_copy(update={"index": settings.index.model_copy(update={"store": url})})


def close(store: object) -> None:
    pool = getattr(store, "pool", None)
    if pool is not None:
        pool.close()


def test_either_store_adds_a_document_embedding_only_its_passages(
    letter_settings: Settings, tmp_path: Path, default_embedder: Embedder
) -> None:
    from index.stores import open_store, write_documents

    old = open_store(letter_settings)
    (tmp_path / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    counter = CountingEmbedder(default_embedder)
    new = write_documents(
        letter_settings, counter, load_paths([tmp_path / "arctic.txt"]), previous=old, keep=True
    )
    added = [c for c in new.chunks if c.doc_id == "arctic"]
    assert added and len(new.chunks) == len(old.chunks) + len(added)
    assert counter.calls[0] == [c.search_text for c in added]  # the letter is not re-embedded
    loaded = open_store(letter_settings)
    assert [d.doc_id for d in loaded.manifest.documents] == ["eu-geopolitiek-kamerbrief", "arctic"]
    assert loaded.chunks == new.chunks
    top = search(loaded, default_embedder, "Who shares satellite data on sea ice?", 1)  # type: ignore[arg-type]
    assert top[0].doc_id == "arctic"
    position = loaded.lexical_search("Svalbard research station", 1)[0][0]
    assert loaded.chunks[position].doc_id == "arctic"
    counter.calls.clear()
    again = write_documents(
        letter_settings, counter, load_paths([tmp_path / "arctic.txt"]), previous=loaded, keep=True
    )
    assert counter.calls == [] and again.chunks == loaded.chunks  # unchanged: nothing embedded
    for store in (old, new, loaded, again):
        close(store)


def test_either_store_removes_documents_but_not_the_last(
    letter_settings: Settings, tmp_path: Path, default_embedder: Embedder
) -> None:
    from index.stores import open_store, write_documents

    (tmp_path / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    old = open_store(letter_settings)
    grown = write_documents(
        letter_settings,
        default_embedder,
        load_paths([tmp_path / "arctic.txt"]),
        previous=old,
        keep=True,
    )
    smaller = write_documents(
        letter_settings, default_embedder, [], previous=grown, keep=True, remove=["arctic"]
    )
    assert smaller.chunks == old.chunks
    loaded = open_store(letter_settings)
    assert all(c.doc_id != "arctic" for c in loaded.chunks)
    assert all(i < len(loaded.chunks) for i, _ in loaded.lexical_search("Svalbard Arctic", 5))
    with pytest.raises(InputError, match="would leave the index empty"):
        write_documents(
            letter_settings,
            default_embedder,
            [],
            previous=loaded,
            keep=True,
            remove=["eu-geopolitiek-kamerbrief"],
        )
    assert open_store(letter_settings).chunks == old.chunks
    for store in (old, grown, smaller, loaded):
        close(store)


def test_either_store_refuses_other_settings(letter_settings: Settings) -> None:
    from index.stores import open_store

    other = letter_settings.model_copy(
        update={"chunking": letter_settings.chunking.model_copy(update={"max_tokens": 100})}
    )
    with pytest.raises(IndexMismatchError, match="chunking .*rag index build"):
        open_store(other)
    close(open_store(other, check=False))
