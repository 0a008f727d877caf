"""What every `rag` command shares: user errors as one line, and the settings object."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from rag.errors import RagError
from rag.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn user errors into one clear line and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RagError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was changed.", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except click.ClickException as exc:  # a usage mistake: one line, click's exit code
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            # The reader went away (`rag ask … | head`): stop quietly, as other tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            if os.environ.get("RAG_DEBUG"):
                raise
            click.echo(
                f"Unexpected error: {type(exc).__name__}: {exc}. "
                "Run again with RAG_DEBUG=1 for details, and report it.",
                err=True,
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def settings_of(ctx: click.Context) -> Settings:
    """The settings the root command built."""
    settings: Settings = ctx.find_root().obj
    return settings
