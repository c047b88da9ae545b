"""What every command shares: settings from the group's options, named errors as one line and an exit
code, progress bars only on a terminal. The only place errors become exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from cqbot.config import Settings, load_settings
from cqbot.errors import CqbotError, first_line

F = TypeVar("F", bound=Callable[..., Any])


def fail(msg: str, code: int) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def handle_errors(fn: F) -> F:
    """Turn named errors into one line on stderr and an exit code; Ctrl-C into exit 130."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CqbotError as exc:
            fail(first_line(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; nothing was changed", 130)
        except MemoryError:
            fail("out of memory", 1)

    return wrapper  # type: ignore[return-value]


def settings_of(ctx: click.Context, **overrides: Any) -> Settings:
    opts = ctx.find_root().params
    return load_settings(
        Path(opts["config"]) if opts.get("config") else None,
        corpus_dir=opts.get("corpus"),
        index_dir=opts.get("index"),
        model=opts.get("model"),
        **overrides,
    )


def interactive(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()
