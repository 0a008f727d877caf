"""One worker of `rag serve --api-only --workers N`: N API processes on one port.

Uvicorn starts each worker as a fresh process that imports `worker_app` and calls it;
`ui.serve.worker_options` (in the parent) put the settings and serve options it reads in
the environment. A worker dies with its parent: it watches its parent process and stops
(gracefully, then for good) once that is gone, so a parent killed with kill -9 leaves no
worker serving old settings or holding the port.
Each worker opens its own pipeline over the shared index: the folder store follows the
live version (writes are serialised by its file lock) and the PostgreSQL store is shared
by design, so a document added through one worker is answered by all.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

from rag.settings import Settings

WATCH_INTERVAL_S = 0.5  # how soon a worker notices that its parent is gone
GRACE_S = 10.0  # then how long it may take to stop before it exits regardless


def worker_app() -> Any:
    """The API app of one worker process, from the state its parent handed down."""
    from ui.serve import STATE_VARIABLE, build_server

    watch_parent(os.getppid())
    state = json.loads(os.environ[STATE_VARIABLE])
    settings = Settings(**state["settings"])
    return build_server(settings, api_only=state["api_only"], allow_uploads=state["allow_uploads"])


def watch_parent(parent: int) -> threading.Thread:
    """Stop this process once `parent` is no longer its parent (it died: the process was
    handed to init or a subreaper): SIGTERM to itself for uvicorn's graceful shutdown,
    then a hard exit if that takes longer than GRACE_S."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_INTERVAL_S)
        print(f"Worker {os.getpid()}: the server process is gone; stopping.", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE_S)
        os._exit(1)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
