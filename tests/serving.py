"""Serve an ASGI app with uvicorn on a free loopback port in a thread (real HTTP, no
subprocess), for tests that share the session's pipeline."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from conftest import free_port


@contextlib.contextmanager
def serve_in_thread(app: Any, timeout_s: float = 30) -> Iterator[str]:
    """Run `app` on 127.0.0.1:<free port>; yield its base URL; stop it afterwards."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
