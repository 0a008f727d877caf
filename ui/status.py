"""A one-line status with a spinner on stderr while `rag ask` loads the index and model.

Drawn only when stderr is a terminal, so piped output, redirected logs and `--json`
output are exactly what they were; the line is erased before anything else is printed.
Standard library only: `rag ask` must keep starting fast (tests/test_fast_start.py).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

FRAMES = "|/-\\"  # plain ASCII: renders in every terminal font
INTERVAL_S = 0.1  # one frame per 0.1 s reads as motion without flooding a slow terminal
DELAY_S = 0.2  # nothing is drawn for work done sooner: no flicker when all is warm
ERASE = "\r\x1b[K"  # back to the line's start, erase to its end


class Status:
    """`with Status("Loading…") as status: …; status.stop()` — shows `message` with a
    spinner and the seconds so far until stopped (stopping twice is fine)."""

    def __init__(self, message: str, stream: TextIO | None = None) -> None:
        self.message = message
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream)
        self._stop = threading.Event()
        self._drawn = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Status:
        if self.enabled:
            self._thread = threading.Thread(target=self._spin, name="rag-status", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the spinner and erase its line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._drawn:
            self._write(ERASE)
            self._drawn = False

    def _spin(self) -> None:
        started = time.monotonic()
        if self._stop.wait(DELAY_S):
            return
        frame = 0
        while not self._stop.is_set():
            seconds = int(time.monotonic() - started)
            clock = f" {seconds} s" if seconds else ""
            self._write(f"{ERASE}{FRAMES[frame % len(FRAMES)]} {self.message}{clock}")
            self._drawn = True
            frame += 1
            self._stop.wait(INTERVAL_S)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal: the status is not worth an error
            self._stop.set()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
