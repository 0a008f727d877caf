"""One worker of `rag serve --api-only --workers N`: N API processes on one port.

Uvicorn starts each worker as a fresh process that imports `worker_app` and calls it;
`ui.serve.worker_options` (in the parent) wrote the settings and serve options it reads.
Each worker opens its own pipeline over the shared index: the folder store follows the
live version (writes are serialised by its file lock) and the PostgreSQL store is shared
by design, so a document added through one worker is answered by all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rag.settings import Settings


def worker_app() -> Any:
    """The API app of one worker process, from the state its parent wrote."""
    from ui.serve import STATE_VARIABLE, build_server

    state = json.loads(Path(os.environ[STATE_VARIABLE]).read_text(encoding="utf-8"))
    settings = Settings(**state["settings"])
    return build_server(settings, api_only=state["api_only"], allow_uploads=state["allow_uploads"])
