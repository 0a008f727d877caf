"""`rag serve --api-only --workers N`: N API processes on one port, sharing one index.

Uvicorn starts each worker as a fresh process that imports `worker_app` and calls it.
The parent writes its settings (secrets included, so a private 0600 file) and the serve
options for them and builds the index first if it is missing, so the workers never race
to build it. Each worker opens its own pipeline over the shared index: the folder store
follows the live version (writes are serialised by its file lock) and the PostgreSQL
store is shared by design, so a document added through one worker is answered by all.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from rag.settings import Settings

STATE_VARIABLE = "RAG_SERVE_WORKER_STATE"


def worker_options(
    settings: Settings, *, api_only: bool, allow_uploads: bool | None
) -> dict[str, Any]:
    """uvicorn.run arguments for worker processes; builds a missing index first."""
    from assembly.library import open_pipeline
    from ui.serve import TerminalProgress

    open_pipeline(settings, build_if_missing=True, progress=TerminalProgress())
    state = {
        "settings": settings.model_dump(mode="python"),
        "api_only": api_only,
        "allow_uploads": allow_uploads,
    }
    handle, path = tempfile.mkstemp(prefix="rag-serve-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
        json.dump(state, out, default=_plain)
    os.environ[STATE_VARIABLE] = path
    atexit.register(_remove, path)  # the workers read it as they start
    return {"app": "ui.workers:worker_app", "factory": True}


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot pass {type(value).__name__} to a worker")


def worker_app() -> Any:
    """The API app of one worker process, from the state its parent wrote."""
    from ui.serve import build_server

    state = json.loads(Path(os.environ[STATE_VARIABLE]).read_text(encoding="utf-8"))
    settings = Settings(**state["settings"])
    return build_server(settings, api_only=state["api_only"], allow_uploads=state["allow_uploads"])
