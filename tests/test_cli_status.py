"""`rag ask`'s loading status: drawn on a terminal's stderr (a real pseudo-terminal),
erased before the answer, and absent when stderr is piped; stdout is the same either way.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rag.settings import Settings
from ui.status import ERASE

pytestmark = pytest.mark.slow  # each test starts `rag` in a fresh process

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
# The CLI in a fresh process, with the status drawn from the start (no delay), so that a
# fast machine cannot finish loading before the first frame.
SCRIPT = (
    "import sys, ui.status\nui.status.DELAY_S = 0.0\nfrom ui.cli import main\nmain(sys.argv[1:])\n"
)


def run_rag(args: list[str], terminal: bool) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `rag ARGS`, stderr a pseudo-terminal or a pipe."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", SCRIPT, *args]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the terminal closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=follower, env=env, text=True
        )
        os.close(follower)
        stdout, _ = process.communicate(timeout=300)
        reader.join(timeout=10)
    finally:
        os.close(leader)
    return process.returncode, stdout, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def index_args(built_index: tuple[Settings, object]) -> list[str]:
    settings, _ = built_index
    return ["--index", str(settings.index.path)]


def test_status_is_drawn_on_a_terminal_and_erased_before_the_answer(index_args) -> None:
    code, stdout, stderr = run_rag([*index_args, "ask", QUESTION], terminal=True)
    assert code == 0, stderr
    assert "Loading the index and model" in stderr
    last = stderr.rindex("Loading the index and model")
    assert ERASE in stderr[last:], repr(stderr[-200:])  # the last frame was erased
    piped_code, piped_stdout, piped_stderr = run_rag([*index_args, "ask", QUESTION], terminal=False)
    assert piped_code == 0, piped_stderr
    assert "Loading" not in piped_stderr and "\r" not in piped_stderr
    assert stdout == piped_stdout and "Loading" not in stdout  # the answer is untouched
    assert "[1]" in stdout


def test_json_output_is_unchanged_on_a_terminal(index_args) -> None:
    code, stdout, stderr = run_rag([*index_args, "ask", QUESTION, "--json"], terminal=True)
    assert code == 0, stderr
    answer = json.loads(stdout)  # stdout holds the JSON alone
    assert answer["question"] == QUESTION and answer["citations"]
    assert "Loading" in stderr and stderr.endswith(ERASE)


def test_an_error_after_loading_starts_is_one_clean_line(index_args, tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    code, stdout, stderr = run_rag([*index_args, "ask", "--questions", str(missing)], True)
    assert code == 1 and not stdout
    message = stderr.split(ERASE)[-1]  # what is left on the terminal line by line
    assert message.strip().startswith("Error:") and "does not exist" in message
