"""Fault suite: `kill -9` at each phase of `rag index build | add | remove`, concurrent
writers in separate processes, and a CLI write while another process reads the index.

A killed writer must leave the previous index live, loadable and unchanged, or (killed
after the pointer swap) the new one complete. The kill is real: the child process is the
real CLI with one function replaced by `os.kill(os.getpid(), SIGKILL)`, so it dies at
exactly that point. (`test_store.py` keeps the kill during embedding of a big build.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.build import update
from index.load import load_paths
from index.store import IndexStore, writer_lock
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARCTIC = (
    "Arctic policy\n\nThe Arctic is warming four times faster than the rest of the planet. "
    "Norway and the Netherlands agreed to share satellite data on sea ice every month.\n"
)
SAHEL = (
    "Sahel policy\n\nThe government funds water projects in Mali and Niger until 2030. "
    "Dutch engineers train local staff to maintain the new wells.\n"
)
LETTER_ID = "eu-geopolitiek-kamerbrief"

# Runs the real CLI, killing itself with SIGKILL when it reaches the named phase.
CHILD = """
import os, signal, sys
phase, args = sys.argv[1], sys.argv[2:]
import index.build, index.store, rag.retrieval.embeddings

def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)

def patch(owner, name, when=lambda *a, **k: True):
    original = getattr(owner, name)
    def wrapper(*a, **k):
        if when(*a, **k):
            die()
        return original(*a, **k)
    setattr(owner, name, wrapper)

if phase == "chunk":
    patch(index.build, "chunk_raw_documents")
elif phase == "embed":
    patch(rag.retrieval.embeddings.Embedder, "encode_passages")
elif phase == "terms":
    patch(index.build, "_embed_terms")
elif phase == "write":  # chunks.jsonl written, the FAISS file not
    patch(index.store.faiss, "write_index")
elif phase == "version-written":  # version folder complete and renamed; CURRENT not touched
    patch(index.store, "_fsync_dir", lambda path: path.name == "versions")
elif phase == "pointer-written":  # CURRENT.tmp written, not yet swapped in
    patch(index.store.os, "replace", lambda *a, **k: len(a) > 1 and str(a[1]).endswith("CURRENT"))
elif phase == "swapped":  # the new version is live; old ones not yet pruned
    patch(index.store, "_prune")
from ui.cli import main
main(args)
"""

# (operation, phase, whether the change is live afterwards)
PHASES = [
    ("build", "chunk", False),
    ("build", "embed", False),
    ("build", "terms", False),
    ("build", "write", False),
    ("build", "version-written", False),
    ("build", "pointer-written", False),
    ("build", "swapped", True),
    ("add", "chunk", False),
    ("add", "embed", False),
    ("add", "terms", False),
    ("add", "write", False),
    ("add", "version-written", False),
    ("add", "pointer-written", False),
    ("add", "swapped", True),
    ("remove", "write", False),
    ("remove", "version-written", False),
    ("remove", "pointer-written", False),
    ("remove", "swapped", True),
]


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return clean | {"PYTHONPATH": str(ROOT)}


def rag(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from ui.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env())


def documents(folder: Path) -> list[str]:
    return [d.doc_id for d in IndexStore.load(folder).manifest.documents]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    (folder / "sahel.txt").write_text(SAHEL, encoding="utf-8")
    return folder


def copy_index(built_index, target: Path) -> Path:
    settings, _ = built_index
    shutil.copytree(settings.index.path, target)
    return target


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "phase", "applied"), PHASES)
def test_kill_at_each_phase_leaves_a_complete_index(
    built_index,
    tmp_path: Path,
    docs: Path,
    letter_path: Path,
    default_embedder: Embedder,
    operation: str,
    phase: str,
    applied: bool,
) -> None:
    folder = copy_index(built_index, tmp_path / "index")
    settings = Settings(index={"path": folder})
    if operation == "remove":  # start from letter + arctic, remove arctic
        update(settings, default_embedder, add=load_paths([docs / "arctic.txt"]))
    before = IndexStore.load(folder)
    before_ids = [d.doc_id for d in before.manifest.documents]
    args = {
        "build": ["index", "build", str(letter_path), str(docs / "arctic.txt")],
        "add": ["index", "add", str(docs / "arctic.txt")],
        "remove": ["index", "remove", "arctic"],
    }[operation]
    command = [sys.executable, "-c", CHILD, phase, "--index", str(folder), *args]
    child = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env())
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]  # it reached the phase

    after = IndexStore.load(folder)  # loadable in every case
    assert len(after.chunks) == after.dense.ntotal == after.manifest.chunk_count
    expected = {
        "build": [LETTER_ID, "arctic"],
        "add": [LETTER_ID, "arctic"],
        "remove": [LETTER_ID],
    }[operation]
    if applied:
        assert [d.doc_id for d in after.manifest.documents] == expected
    else:
        assert after.version == before.version
        assert after.chunks == before.chunks
    # the kernel released the killed writer's lock; the next writer cleans up after it
    update(settings, default_embedder, add=load_paths([docs / "sahel.txt"]))
    assert documents(folder) == ([*expected, "sahel"] if applied else [*before_ids, "sahel"])
    assert not (folder / "CURRENT.tmp").exists()
    partial = [p for p in (folder / "versions").iterdir() if p.name.endswith(".partial")]
    assert not partial  # the killed writer's process is gone: its partial folder too


@pytest.mark.slow
def test_two_concurrent_cli_writers_both_get_their_document_in(
    built_index, tmp_path: Path, docs: Path
) -> None:
    folder = copy_index(built_index, tmp_path / "index")
    command = [sys.executable, "-c", "from ui.cli import main; main()", "--index", str(folder)]
    writers = [
        subprocess.Popen(
            [*command, "index", "add", str(docs / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        for name in ("arctic.txt", "sahel.txt")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    assert sorted(documents(folder)) == sorted([LETTER_ID, "arctic", "sahel"])


def test_a_stale_writer_re_reads_the_live_index_under_the_lock(
    built_index, tmp_path: Path, docs: Path, default_embedder: Embedder
) -> None:
    """The app's lost update: it holds an old store in memory while the CLI adds a
    document; its own upload must build on what is live now, not on what it holds."""
    settings = Settings(index={"path": copy_index(built_index, tmp_path / "index")})
    from assembly.library import add_document, open_pipeline

    app = open_pipeline(settings)  # the running app, loaded before the CLI's change
    update(settings, default_embedder, add=load_paths([docs / "arctic.txt"]))  # "the CLI"
    add_document(app, docs / "sahel.txt")  # an upload in the app
    assert sorted(documents(settings.index.path)) == sorted([LETTER_ID, "arctic", "sahel"])
    assert sorted(d.doc_id for d in app.documents()) == sorted([LETTER_ID, "arctic", "sahel"])


def test_writers_wait_for_the_lock(
    built_index, tmp_path: Path, docs: Path, default_embedder: Embedder
) -> None:
    """A writer in another process holds the lock: an update waits, then applies."""
    folder = copy_index(built_index, tmp_path / "index")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from index.store import writer_lock\n"
            "with writer_lock(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); sys.stdin.readline()",
            str(folder),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        settings = Settings(index={"path": folder})
        done = threading.Event()
        worker = threading.Thread(
            target=lambda: (
                update(settings, default_embedder, add=load_paths([docs / "arctic.txt"])),
                done.set(),
            )
        )
        worker.start()
        assert not done.wait(3)  # blocked by the other process's lock
        assert documents(folder) == [LETTER_ID]
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(30)
    worker.join(120)
    assert done.is_set() and documents(folder) == [LETTER_ID, "arctic"]
    with writer_lock(folder):  # released by both
        pass


READER = """
import sys
from pathlib import Path
from assembly.library import open_pipeline
from rag.settings import Settings
pipeline = open_pipeline(Settings(index={"path": Path(sys.argv[1])}))
print("docs", *sorted(d.doc_id for d in pipeline.documents()), flush=True)
sys.stdin.readline()
print("docs", *sorted(d.doc_id for d in pipeline.documents()), flush=True)
hits = pipeline.retrieve("Who shares satellite data on sea ice?", 1)
print("top", hits[0].chunk.doc_id, flush=True)
"""


@pytest.mark.slow
def test_cli_write_while_a_reader_process_holds_the_index(
    built_index, tmp_path: Path, docs: Path
) -> None:
    folder = copy_index(built_index, tmp_path / "index")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().split() == ["docs", LETTER_ID]
        started = time.monotonic()
        result = rag("--index", str(folder), "index", "add", str(docs / "arctic.txt"))
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 300
        reader.stdin.write("go\n")
        reader.stdin.flush()
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["docs", "arctic", LETTER_ID]  # picked up without a restart
    assert lines[1].split() == ["top", "arctic"]


def test_a_reader_keeps_its_index_when_the_new_one_has_other_settings(
    built_index, tmp_path: Path, default_embedder: Embedder
) -> None:
    """A rebuild with other chunking settings is not picked up by a running pipeline built
    for the old ones (it could not read it correctly); it keeps serving what it has."""
    from assembly.library import open_pipeline
    from index.build import build

    settings = Settings(index={"path": copy_index(built_index, tmp_path / "index")})
    app = open_pipeline(settings)
    held = app.store
    other = Settings(index={"path": settings.index.path}, chunking={"max_tokens": 400})
    build(other, default_embedder)
    assert app.documents() and app.store is held
    assert app.retrieve("Handel", 1)[0].chunk in held.chunks
