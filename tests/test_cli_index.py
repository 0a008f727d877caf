"""`rag index build | info | add | remove` as a user runs them (real subprocesses).

Bad inputs must end with a non-zero exit code, exactly one line on stderr starting with
"Error:", no traceback, and the existing index untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.store import IndexStore, live_version
from rag.settings import BUNDLED_EMBEDDER, ChunkingSettings
from ui.cli import main

RAG = Path(sys.executable).with_name("rag")
HEADINGS = {
    "Handel",
    "Partnerschappen",
    "Versterking Europese defensiecapaciteiten en vergroting weerbaarheid",
    "Versterking (politiek-)economische basis",
    "Sterke relaties met landen rond de EU",
}
# name -> (subcommand, file name, content or None for a missing path, words in the message)
BAD_INPUTS: dict[str, tuple[str, str, bytes | None, tuple[str, ...]]] = {
    "empty": ("build", "leeg.txt", b"", ("is empty",)),
    "binary": ("build", "data.md", bytes(range(256)) * 40, ("binary",)),
    "broken-pdf": ("build", "kapot.pdf", bytes(range(256)) * 40, ("could not be read",)),
    "latin-1": (
        "build",
        "oud.txt",
        "De coördinatie van het beleid.\n".encode("latin-1"),
        ("not UTF-8", "iconv -f latin1 -t utf-8"),
    ),
    "missing": ("build", "bestaat-niet.txt", None, ("does not exist",)),
    "unsupported": ("build", "verslag.docx", b"PK\x03\x04", ("only .txt, .md and .pdf",)),
    "add-broken-pdf": ("add", "ook-kapot.pdf", b"%PDF-1.7\n" + b"x" * 500, ("PDF",)),
}


def run_rag(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run(
        [str(RAG), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def info_json(folder: Path) -> dict:
    """`rag index info --json`, in-process (quick; the subprocess path is tested once)."""
    result = CliRunner().invoke(main, ["--index", str(folder), "index", "info", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The bundled letter indexed with `rag --index DIR index build`."""
    folder = tmp_path_factory.mktemp("cli") / "index"
    return folder, run_rag("--index", str(folder), "index", "build")


@pytest.mark.slow
def test_build_then_info(cli_index) -> None:
    folder, build = cli_index
    assert build.returncode == 0, build.stderr
    assert "Traceback" not in build.stderr
    assert build.stdout.startswith("Indexed 1 document(s), 55 passages")
    assert str(folder) in build.stdout
    assert "embed" in build.stderr  # progress bars go to stderr, not stdout

    result = run_rag("--index", str(folder), "index", "info", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["doc_id"] for d in data["documents"]] == ["eu-geopolitiek-kamerbrief"]
    assert data["documents"][0]["name"] == "eu-geopolitiek-kamerbrief.txt"
    assert data["documents"][0]["chunks"] == data["chunks"] == 55
    assert data["footnote_chunks"] == 9
    assert set(data["sections"]) >= HEADINGS and len(data["sections"]) == 8
    assert data["embedding_model"] == BUNDLED_EMBEDDER and data["dimension"] == 512
    assert data["faiss_type"] == "flat"
    assert data["chunking"] == ChunkingSettings().model_dump()
    version = live_version(folder)
    assert data["size_bytes"] == sum(p.stat().st_size for p in version.rglob("*") if p.is_file())
    assert data["size_bytes"] > 100_000
    assert data["path"] == str(folder)
    store = IndexStore.load(folder)
    assert len(store.chunks) == 55

    text = CliRunner().invoke(main, ["--index", str(folder), "index", "info"])
    assert text.exit_code == 0
    assert "55 passages (9 footnotes) in 1 document(s)" in text.stdout
    assert "  - Handel" in text.stdout and BUNDLED_EMBEDDER in text.stdout


@pytest.fixture(scope="module")
def bad_runs(cli_index, tmp_path_factory: pytest.TempPathFactory):
    """Run every bad input against the built index (each run is a fresh `rag` process).

    Returns (results by name, index snapshot and info before, and after)."""
    folder, build = cli_index
    assert build.returncode == 0, build.stderr
    inputs = tmp_path_factory.mktemp("bad-inputs")
    before = (snapshot(folder), info_json(folder))

    def run(name: str) -> tuple[int, str, str]:
        command, file_name, content, _ = BAD_INPUTS[name]
        path = inputs / name / file_name
        path.parent.mkdir()
        if content is not None:
            path.write_bytes(content)
        result = run_rag("--index", str(folder), "index", command, str(path))
        return result.returncode, result.stdout, result.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: mostly import time
        results = dict(zip(BAD_INPUTS, pool.map(run, BAD_INPUTS), strict=True))
    after = (snapshot(folder), info_json(folder))
    return results, before, after


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_clear_error_and_leaves_the_index(bad_runs, name: str) -> None:
    results, before, after = bad_runs
    code, stdout, stderr = results[name]
    _, file_name, _, words = BAD_INPUTS[name]
    assert code == 1, (stdout, stderr)
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    assert file_name in lines[0]
    for word in words:
        assert word in lines[0]
    assert stdout == ""
    assert after == before  # same files, same CURRENT, same `index info`


@pytest.mark.slow
def test_removing_the_last_document_is_refused_cleanly(cli_index, bad_runs) -> None:
    folder, _ = cli_index
    before = snapshot(folder)
    result = run_rag("--index", str(folder), "index", "remove", "eu-geopolitiek-kamerbrief")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "would leave the index empty" in lines[0]
    assert snapshot(folder) == before


def test_info_without_an_index_says_how_to_build(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--index", str(tmp_path / "none"), "index", "info"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No index at")
    assert "rag index build" in result.stderr and "Traceback" not in result.output


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Unexpected error" not in result.stderr and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.slow
def test_removing_an_unknown_id_is_one_clear_error(cli_index) -> None:
    folder, _ = cli_index
    before = snapshot(folder)
    result = run_rag("--index", str(folder), "index", "remove", "bestaat-niet")
    assert result.returncode == 1
    line = one_error_line(result)
    assert "Unknown document id(s): bestaat-niet" in line and "eu-geopolitiek-kamerbrief" in line
    assert snapshot(folder) == before


@pytest.mark.slow
def test_ask_without_a_question_is_one_clear_error(tmp_path: Path) -> None:
    result = run_rag("--index", str(tmp_path / "index"), "ask")
    assert result.returncode == 2
    assert "Give either a QUESTION or --questions" in one_error_line(result)


@pytest.mark.slow
def test_files_over_the_configured_limit_are_refused(cli_index, tmp_path: Path) -> None:
    folder, _ = cli_index
    before = snapshot(folder)
    big = tmp_path / "groot.txt"
    big.write_bytes(b"de regering wil meer samenwerking " * 70_000)  # 2.4 MB, no stops
    config = tmp_path / "rag.toml"
    config.write_text("[index]\nmax_file_mb = 2\n", encoding="utf-8")
    result = run_rag("--config", str(config), "--index", str(folder), "index", "add", str(big))
    assert result.returncode == 1
    line = one_error_line(result)
    assert "groot.txt" in line and "the limit is 2 MB" in line
    assert snapshot(folder) == before


@pytest.mark.slow
def test_links_out_of_an_indexed_folder_are_skipped_with_a_note(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "brief.txt").write_text("De regering steunt Oekraïne.\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("root:x:0:0:geheim\n", encoding="utf-8")
    (docs / "passwd.txt").symlink_to(tmp_path / "secret.txt")
    folder = tmp_path / "index"
    result = run_rag("--index", str(folder), "index", "build", str(docs))
    assert result.returncode == 0, result.stderr
    assert "Note: Skipped" in result.stderr and "passwd.txt" in result.stderr
    store = IndexStore.load(folder)
    assert [d.doc_id for d in store.manifest.documents] == ["brief"]
    assert not any("geheim" in c.text for c in store.chunks)
