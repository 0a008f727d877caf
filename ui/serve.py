"""`rag serve`: open (or first build) the index, then serve the web app on 127.0.0.1.

Gradio is imported only here and in `ui.app`, and only when the command runs, so the
rest of the CLI stays quick to start.
"""

from __future__ import annotations

import os
import sys
import threading

import click

from rag.errors import ConfigError, RagError
from rag.language import warm_up
from rag.settings import Settings
from ui.common import friendly_errors, settings_of

DEFAULT_CONCURRENCY = 2
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


def launch(
    settings: Settings, host: str, port: int, *, block: bool = True, quiet: bool = False
) -> object:
    """Open the pipeline (building the bundled letter's index if missing) and launch."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    auth = auth_of(settings)  # before the slow part: a bad login setting fails at once
    from index.library import open_pipeline

    missing = not (settings.index.path / "CURRENT").exists()
    if missing:
        click.echo(f"No index at {settings.index.path}; indexing the bundled letter…", err=True)
    pipeline = open_pipeline(settings, build_if_missing=True, progress=TerminalProgress())
    # The language identifier (about 0.3 s to load) loads while Gradio is imported.
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    docs = pipeline.documents()
    click.echo(f"Loaded {len(docs)} document(s), {sum(d.chunks for d in docs)} passages.", err=True)

    from ui.app import build_app, launch_options

    demo = build_app(pipeline)
    demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY, max_size=QUEUE_SIZE)
    click.echo(f"Serving on http://{host}:{port}" + (" (login required)" if auth else ""), err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"Warning: listening on {host}, reachable from other machines.", err=True)
    sys.stderr.flush()
    return demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message="Log in to use the Kamerbrief assistant." if auth else None,
        max_file_size=f"{int(settings.ui.max_upload_mb * 1024)}kb",
        share=False,
        inbrowser=False,
        ssr_mode=False,
        show_error=False,
        quiet=quiet,
        footer_links=[],
        prevent_thread_lock=not block,
        **launch_options(),
    )


@click.command("serve")
@click.option(
    "--host", default=None, help="Interface to bind (default: settings ui.host, 127.0.0.1)."
)
@click.option("--port", type=int, default=None, help="Port (default: settings ui.port, 7860).")
@click.pass_context
@friendly_errors
def serve_command(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Start the chat app in the browser (builds the letter's index first if needed)."""
    settings = settings_of(ctx)
    host = host or settings.ui.host
    port = port or settings.ui.port
    if not 1 <= port <= 65535:
        raise RagError(f"Port {port} is not valid; choose one between 1 and 65535.")
    launch(settings, host, port)
