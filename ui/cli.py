"""The `rag` command line: the composition root that builds settings and the pipeline.

Examples:

    rag index build                  # index the bundled letter
    rag index build ~/docs report.pdf
    rag ask "Wat is de 5%-norm van de NAVO?"
    rag serve                        # chat UI on http://127.0.0.1:7860

Errors meant for users are printed as one line (no traceback) with a non-zero exit code.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import click

from rag.errors import RagError
from rag.settings import load_settings
from ui import cli_ask, cli_index
from ui.common import friendly_errors


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when one of them runs: `rag eval`
    needs the evaluation package, which `rag ask` should not pay for."""

    lazy = {
        "serve": "ui.serve:serve_command",
        "eval": "ui.cli_eval:eval_command",
        "verify": "ui.cli_verify:verify_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML settings file (default: rag.toml in the working directory, if any).",
)
@click.option(
    "--index",
    "index_path",
    type=str,
    default=None,
    help="Index folder (default: .rag/index), or a postgresql:// URL of a shared index.",
)
@click.option(
    "--replica",
    "replicas",
    multiple=True,
    metavar="URL",
    help="A postgresql:// URL of a streaming read replica of the --index database "
    "(repeatable): searches go to replicas, writes to the primary, and a worker reads its "
    "own writes. Setting: RAG_INDEX__REPLICAS.",
)
@click.pass_context
@friendly_errors
def main(
    ctx: click.Context, config: Path | None, index_path: str | None, replicas: tuple[str, ...]
) -> None:
    """Ask cited questions about policy documents (by default: the bundled Dutch letter
    to parliament on the EU as a geopolitical player).

    \b
    Start:   rag index build && rag ask "Hoeveel moeten NAVO-landen aan defensie besteden?"
    """
    if config is None and os.environ.get("RAG_CONFIG"):
        config = Path(os.environ["RAG_CONFIG"])
    if config is not None and not config.exists():
        raise RagError(
            f"Settings file '{config}' does not exist. Check the path given to --config."
        )
    try:
        settings = load_settings(config)
    except ValueError as exc:
        raise RagError(
            f"Invalid settings: {_first_line(exc)}. Check rag.toml and RAG_* variables."
        ) from None
    if index_path is not None:
        server = index_path.startswith(("postgresql://", "postgres://"))
        change = {"store": index_path} if server else {"path": Path(index_path)}
        settings = settings.model_copy(update={"index": settings.index.model_copy(update=change)})
    if replicas:
        settings = settings.model_copy(
            update={"index": settings.index.model_copy(update={"replicas": list(replicas)})}
        )
    if settings.index.replicas:
        _check_replicas(settings.index.store, settings.index.replicas)
    ctx.obj = settings


def _check_replicas(store: str, replicas: list[str]) -> None:
    """Replicas are read copies of a PostgreSQL index: refuse anything else up front."""
    if not store.startswith(("postgresql://", "postgres://")):
        raise RagError(
            "--replica needs the PostgreSQL store: add --index postgresql://… (the primary) "
            "or set RAG_INDEX__STORE."
        )
    for url in replicas:
        if not url.startswith(("postgresql://", "postgres://")):
            raise RagError(f"--replica '{url}' is not a postgresql:// URL of a read replica.")


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


main.add_command(cli_index.index_group)
main.add_command(cli_ask.ask)
main.add_command(cli_ask.brief)


if __name__ == "__main__":  # python -m ui.cli, as the installed `rag` script
    main()
