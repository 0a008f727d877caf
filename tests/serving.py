"""Real HTTP servers on free loopback ports, in threads (no subprocess): an ASGI app with
uvicorn, for tests that share the session's pipeline; and a canned server that answers
every POST with the same response (a scripted model server, or one that is not one)."""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
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


class _CannedHandler(http.server.BaseHTTPRequestHandler):
    status = 200
    content_type = "text/plain"
    body = b""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def canned_server(
    body: bytes, status: int = 200, content_type: str = "text/plain"
) -> Iterator[str]:
    """A server on 127.0.0.1 that answers every POST with `status` and `body`; its URL."""
    attributes = {"status": status, "body": body, "content_type": content_type}
    with handler_server(type("Handler", (_CannedHandler,), attributes)) as url:
        yield url


@contextlib.contextmanager
def handler_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on a free 127.0.0.1 port in a thread; its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def rag_command() -> list[str]:
    """The installed `rag` command (or the module, when no script was installed)."""
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


def rag_serve(
    tmp: Path, built_index: Any, *extra: str, admin: str | None = None, login: bool = False
) -> tuple[list[str], dict[str, str], str]:
    """What starts `rag serve` on a copy of the letter's index with its uploads in
    tmp/g: (command, environment, base URL)."""
    settings, _ = built_index
    shutil.copytree(settings.index.path, tmp / "index")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp / "g")}
    for name in ("RAG_UI__USERNAME", "RAG_UI__PASSWORD", "RAG_UI__ADMIN_PASSWORD"):
        env.pop(name, None)
    if admin:
        env["RAG_UI__ADMIN_PASSWORD"] = admin
    if login:
        env.update(RAG_UI__USERNAME="reader", RAG_UI__PASSWORD="reading-pass")
    command = [*rag_command(), "--index", str(tmp / "index"), "serve", "--port", str(port), *extra]
    return command, env, f"http://127.0.0.1:{port}"
