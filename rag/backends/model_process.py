"""A GGUF model run by llama-cpp-python in a child process, so that a crash in its native
code ends that process, not the app.

llama.cpp is C++: a bad kernel (its AMX matrix multiply on some CPUs), a corrupt file or
the kernel's out-of-memory killer ends the process it runs in, with no Python exception.
`ModelProcess` starts one child per model file (`spawn`, so no thread of the app is
copied), loads the model there once and streams a chat completion's text back over a
pipe, one request at a time. If the child dies, the request in flight raises
`ModelCrashed` with the signal or exit code, and the app goes on.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Iterator
from itertools import count
from multiprocessing.connection import Connection
from typing import Any

from rag.errors import BackendError

POLL_SECONDS = 0.2  # how often a waiting request checks that the child still lives


class ModelCrashed(BackendError):
    """The child process running the local model died."""


def _serve(conn: Connection, path: str, n_ctx: int) -> None:
    """The child: load the model, then answer ("chat", id, messages, options) requests
    with ("delta", id, text) … ("done", id), or ("error", id, message)."""
    try:
        import llama_cpp

        llama = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, verbose=False)
    except Exception as exc:  # any failure to load is reported, not raised
        conn.send(("error", 0, f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", 0))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the app went away
        if request[0] != "chat":
            continue  # a cancel for a request already finished
        _, rid, messages, options = request
        try:
            stream: Any = llama.create_chat_completion(messages=messages, stream=True, **options)
            for chunk in stream:
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        conn.send(("delta", rid, text))
                if conn.poll() and conn.recv()[0] == "cancel":
                    break
            conn.send(("done", rid))
        except Exception as exc:
            conn.send(("error", rid, f"{type(exc).__name__}: {exc}"))


def exit_description(exitcode: int | None) -> str:
    """'SIGSEGV' for a process ended by a signal, else 'exit code N'."""
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


class ModelProcess:
    """One child process holding one loaded model; `chat` streams its answer."""

    def __init__(self, path: str, n_ctx: int = 4096) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, path, n_ctx), name="llama.cpp model", daemon=True
        )
        self.process.start()
        child.close()
        self._lock = threading.Lock()
        self._ids = count(1)
        first = self._receive(0)
        if first[0] == "error":
            self.close()
            raise BackendError(
                f"llama.cpp could not load the model at {path} ({first[2]}). Check that it "
                f"is a valid GGUF file, or choose --backend extractive."
            )

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def chat(self, messages: list[dict[str, str]], **options: Any) -> Iterator[str]:
        """The answer's text as the model writes it. Raises `ModelCrashed` if the child
        dies meanwhile; a consumer that stops early cancels the rest."""
        with self._lock:
            rid = next(self._ids)
            try:
                self._conn.send(("chat", rid, messages, options))
            except (BrokenPipeError, OSError):
                raise self.crashed() from None
            finished = False
            try:
                while True:
                    message = self._receive(rid)
                    if message[0] == "delta":
                        yield message[2]
                    elif message[0] == "error":
                        finished = True
                        raise BackendError(
                            f"llama.cpp failed while answering ({message[2]}). Try fewer "
                            f"passages (--k) or choose --backend extractive."
                        )
                    else:
                        finished = True
                        return
            finally:
                if not finished and self.alive:
                    self._cancel(rid)

    def _cancel(self, rid: int) -> None:
        """Stop request `rid` and read what it still sends, up to its end."""
        try:
            self._conn.send(("cancel", rid))
            while self._receive(rid)[0] == "delta":
                pass
        except BackendError:
            pass

    def _receive(self, rid: int) -> tuple[Any, ...]:
        """The next message for request `rid` (older requests' messages are skipped)."""
        while True:
            while not self._conn.poll(POLL_SECONDS):
                if not self.alive:
                    raise self.crashed()
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                self.process.join(timeout=5)
                raise self.crashed() from None
            if message[1] in (rid, 0):
                return tuple(message)

    def crashed(self) -> ModelCrashed:
        """The error that says how the process ended."""
        self.process.join(timeout=5)
        how = exit_description(self.process.exitcode)
        return ModelCrashed(
            f"The local model crashed (llama.cpp's process ended with {how}). The app keeps "
            f"serving: choose --backend extractive or a model server (openai, ollama), or "
            f"reinstall llama-cpp-python with ./scripts/install.sh, which builds it for a "
            f"portable CPU."
        )

    def close(self) -> None:
        """End the child (its model is freed with it)."""
        self._conn.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=5)
