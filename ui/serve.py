"""`rag serve`: open (or first build) the index, then serve the chat UI and the HTTP API
on one port of 127.0.0.1 (uvicorn; the Gradio app is mounted into the FastAPI app at /).

Gradio, FastAPI and uvicorn are imported only when the command runs, so the rest of the
CLI stays quick to start.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import SecretStr

from rag.errors import ConfigError, RagError
from rag.settings import Settings
from ui.access import Access
from ui.common import friendly_errors, settings_of

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

DEFAULT_CONCURRENCY = 2
STATE_VARIABLE = "RAG_SERVE_WORKER_STATE"  # where `ui.workers` finds its parent's state
QUEUE_SIZE = 64


class TerminalProgress:
    """Build progress as plain lines on stderr, one per stage and tenth (log-friendly)."""

    def __init__(self) -> None:
        self.shown: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        tenth = 10 if total <= 0 else min(10, done * 10 // total)
        if self.shown.get(stage, -1) < tenth:
            self.shown[stage] = tenth
            click.echo(f"  indexing: {stage:<6} {done}/{total}", err=True)


def auth_of(settings: Settings) -> tuple[str, str] | None:
    """(username, password) when both are set; refuse a half-configured login."""
    user = settings.ui.username
    password = settings.ui.password.get_secret_value() if settings.ui.password else None
    if bool(user) != bool(password):
        raise ConfigError(
            "Set both RAG_UI__USERNAME and RAG_UI__PASSWORD to require a login, or neither."
        )
    return (user, password) if user and password else None


def private_upload_folder() -> str:
    """This instance's own folder for Gradio's uploads, cached files and exports (mode
    0700), so two instances never serve each other's files; removed when the process that
    made it exits (SIGTERM and Ctrl-C included). An operator's GRADIO_TEMP_DIR is kept as
    it is, and worker processes use their parent's."""
    if not os.environ.get("GRADIO_TEMP_DIR"):
        folder = tempfile.mkdtemp(prefix="rag-serve-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["GRADIO_TEMP_DIR"] = folder
    return os.environ["GRADIO_TEMP_DIR"]


def build_server(
    settings: Settings, *, api_only: bool = False, allow_uploads: bool | None = None
) -> Any:
    """The FastAPI app: the HTTP API, with the chat UI mounted at / unless `api_only`.

    Opens the pipeline (building the bundled letter's index if missing) first."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    private_upload_folder()
    auth_of(settings)  # before the slow part: a bad login setting fails at once
    from assembly.library import open_pipeline

    missing = not (settings.index.path / "CURRENT").exists()
    if missing:
        click.echo(f"No index at {settings.index.path}; indexing the bundled letter…", err=True)
    pipeline = open_pipeline(settings, build_if_missing=True, progress=TerminalProgress())
    # What the first question would load (encoder weights, language identifier, glossary,
    # name tables, patterns: about 0.2 s) loads while Gradio is imported.
    threading.Thread(target=pipeline.warm_up, name="warm-up", daemon=True).start()
    docs = pipeline.documents()
    click.echo(f"Loaded {len(docs)} document(s), {sum(d.chunks for d in docs)} passages.", err=True)
    return server_app(pipeline, Access.from_settings(settings, allow_uploads), api_only=api_only)


def server_app(pipeline: Pipeline, access: Access, *, api_only: bool = False) -> Any:
    """The API over `pipeline`, and the chat UI mounted beside it at / (same port)."""
    from ui.api import build_api

    app = build_api(pipeline, access)
    if api_only:
        return app
    import gradio as gr

    from ui.app import build_app
    from ui.app_style import launch_options
    from ui.locale_first import LocaleFirst

    demo = build_app(pipeline, access)
    demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY, max_size=QUEUE_SIZE)
    app.add_middleware(LocaleFirst)  # Gradio's own texts follow the interface language
    mounted = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=access.user,
        auth_message="Log in to use the Kamerbrief assistant." if access.user else None,
        max_file_size=f"{int(pipeline.settings.ui.max_upload_mb * 1024)}kb",
        ssr_mode=False,
        show_error=False,
        footer_links=["api"],
        **launch_options(),
    )
    # Gradio checks that a file named in an API call was uploaded to it only once the app
    # "has launched", which an app mounted into FastAPI never does: without this, a
    # caller could name any file the server can read ({"path": "/etc/…"}) as the upload.
    demo.has_launched = True
    return mounted


def worker_options(
    settings: Settings, *, api_only: bool, allow_uploads: bool | None
) -> dict[str, Any]:
    """uvicorn.run arguments for worker processes (`ui.workers`): builds a missing index
    first, so the workers never race to build it, and hands them the settings they read.

    The settings (secrets included) travel in an environment variable the workers
    inherit, not in a file: nothing is left on disk when the parent is killed, only its
    processes (the same user) can read it, and a worker uvicorn restarts reads it again.
    The upload folder is made here, once, and shared by the workers."""
    from assembly.library import open_pipeline

    open_pipeline(settings, build_if_missing=True, progress=TerminalProgress())
    private_upload_folder()
    state = {
        "settings": settings.model_dump(mode="python"),
        "api_only": api_only,
        "allow_uploads": allow_uploads,
    }
    os.environ[STATE_VARIABLE] = json.dumps(state, default=_plain)
    return {"app": "ui.workers:worker_app", "factory": True}


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot pass {type(value).__name__} to a worker")


def _exit_on_signal(signum: int, frame: Any) -> None:
    sys.exit(128 + signum)


def launch(
    settings: Settings,
    host: str,
    port: int,
    *,
    api_only: bool = False,
    allow_uploads: bool | None = None,
    workers: int = 1,
) -> None:
    """Serve the API (and the chat UI) on host:port until interrupted; with `workers` > 1,
    that many API processes share the port and the index (`ui.workers`)."""
    import uvicorn

    what = "API" if api_only else "chat app and API"
    login = " (login required)" if settings.ui.username else ""
    if workers > 1:
        options = worker_options(settings, api_only=api_only, allow_uploads=allow_uploads)
        what = f"API in {workers} worker processes"
    else:
        options = {"app": build_server(settings, api_only=api_only, allow_uploads=allow_uploads)}
    click.echo(f"Serving the {what} on http://{host}:{port} (API docs: /docs){login}", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"Warning: listening on {host}, reachable from other machines.", err=True)
    sys.stderr.flush()
    # uvicorn stops gracefully on SIGTERM, then raises the signal again under the handler
    # that was there before it: make that an ordinary exit, so that the `atexit` clean-up
    # (the private upload folder, the exports) runs instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    uvicorn.run(
        **options,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


@click.command("serve")
@click.option(
    "--host", default=None, help="Interface to bind (default: settings ui.host, 127.0.0.1)."
)
@click.option("--port", type=int, default=None, help="Port (default: settings ui.port, 7860).")
@click.option("--api-only", is_flag=True, help="Serve only the HTTP API (no chat UI).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="API processes sharing the port and the index (more than 1 needs --api-only).",
)
@click.option(
    "--allow-uploads",
    is_flag=True,
    default=None,
    help="Let every user add and remove documents when no admin password is set.",
)
@click.pass_context
@friendly_errors
def serve_command(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    api_only: bool,
    workers: int,
    allow_uploads: bool | None,
) -> None:
    """Start the chat app and the HTTP API (docs at /docs) on one port.

    Builds the letter's index first if needed. Document changes need the admin password
    (RAG_UI__ADMIN_PASSWORD), or --allow-uploads when none is set.

    \b
    With read replicas of a PostgreSQL index, searches go to the replicas:
      rag --index postgresql://primary/rag --replica postgresql://replica1/rag serve
    """
    settings = settings_of(ctx)
    host = host or settings.ui.host
    port = port or settings.ui.port
    if not 1 <= port <= 65535:
        raise RagError(f"Port {port} is not valid; choose one between 1 and 65535.")
    if workers > 1 and not api_only:
        raise RagError(
            "--workers needs --api-only: the chat UI keeps each session in one process. "
            "For more chat capacity run several `rag serve` behind a load balancer with "
            "sticky sessions."
        )
    launch(
        settings,
        host,
        port,
        api_only=api_only,
        allow_uploads=allow_uploads or None,
        workers=workers,
    )
