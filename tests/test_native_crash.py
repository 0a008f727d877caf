"""Native code cannot take the app or the test run down.

llama.cpp runs in a child process (`rag.backends.model_process`): here that process is
killed with SIGSEGV in the middle of a real answer from the bundled Gemma GGUF, as a crash
in its native code would end it. The request in flight fails with one clear message, the
app keeps serving over HTTP, and the next question is answered by the extractive backend
with a note saying why. The build itself is checked too: the installed llama.cpp CPU
library holds no AMX or AVX-512 instruction, whatever machine built it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from serving import serve_in_thread

from rag.backends.llamacpp import load_llama
from rag.backends.model_process import ModelCrashed, exit_description
from rag.backends.prompt import build_messages
from rag.pipeline import Pipeline
from rag.query.analysis import analyse
from ui.access import Access
from ui.api import build_api

pytest.importorskip("llama_cpp")
QUESTION = "Welke norm noemt de brief voor defensie-uitgaven?"


@pytest.fixture
def model_pipeline(pipeline: Pipeline, gguf_path: Path) -> Pipeline:
    """The session's letter pipeline answering with the bundled GGUF in-process (a fresh
    chain, so the crash it remembers stays in this test)."""
    generation = {"backend": "llamacpp", "model": str(gguf_path), "max_tokens": 48}
    settings = pipeline.settings.model_copy(
        update={"generation": pipeline.settings.generation.model_copy(update=generation)}
    )
    return Pipeline(settings, pipeline.store, pipeline.embedder)


@pytest.mark.slow
def test_the_model_runs_in_a_child_process(model_pipeline: Pipeline, gguf_path: Path) -> None:
    model = load_llama(str(gguf_path))
    assert model.alive and model.process.pid != os.getpid()
    messages = build_messages(analyse(QUESTION), model_pipeline.retrieve(QUESTION)[:2])
    pieces = list(model.chat(messages, max_tokens=16, temperature=0))
    assert len(pieces) > 1 and "".join(pieces).strip(), pieces


@pytest.mark.slow
def test_a_crash_mid_answer_fails_that_answer_and_the_next_is_extractive(
    model_pipeline: Pipeline, gguf_path: Path
) -> None:
    model = load_llama(str(gguf_path), restart=True)
    stream = model_pipeline.stream(QUESTION)
    first = next(stream)
    assert isinstance(first, str)  # the model has started to answer
    os.kill(model.process.pid, signal.SIGSEGV)
    with pytest.raises(ModelCrashed, match=r"local model crashed .*SIGSEGV.*keeps serving"):
        for _ in stream:
            pass
    assert not model.alive

    with serve_in_thread(build_api(model_pipeline, Access())) as url:
        response = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backend"] == "extractive"
    assert not body["refused"] and body["citations"]
    assert len(body["notes"]) == 1 and "gecrasht" in body["notes"][0]  # a Dutch question
    assert body["answer"].endswith(body["notes"][0])
    load_llama(str(gguf_path), restart=True)  # a new process for the tests after this one


def test_exit_descriptions_name_the_signal() -> None:
    assert exit_description(-signal.SIGSEGV) == "SIGSEGV"
    assert exit_description(-signal.SIGKILL) == "SIGKILL"
    assert exit_description(3) == "exit code 3"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs binutils' objdump")
def test_the_llama_cpp_build_has_no_amx_or_avx512_code() -> None:
    """The CPU kernels are built for one portable baseline (`scripts/install.sh`): AVX2,
    no AVX-512 (zmm registers) and no AMX tile instructions, whatever CPU built them."""
    import llama_cpp

    libraries = sorted((Path(llama_cpp.__file__).parent / "lib").glob("libggml-cpu*.so"))
    assert libraries, "llama-cpp-python installed without its CPU library"
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(libraries[0])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"\bvfmadd\w*\s+%ymm", listing), "no AVX2/FMA kernels at all"
    assert not re.search(r"\b(tileloadd\w*|tilestored|tdpb\w+|ldtilecfg)\b", listing)
    assert "%zmm" not in listing
