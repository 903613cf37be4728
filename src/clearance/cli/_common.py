"""What every command shares: loading config and catalog, printing, exit codes."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

from rich.console import Console
from rich.markup import escape

from clearance.errors import ClearanceError, InputError

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "console",
    "emit_json",
    "fail",
    "handle_errors",
    "load",
]

EXIT_FAILURE = 1
"""A check failed, a call was refused, a service was down."""
EXIT_USAGE = 2
"""The command, its arguments or the configuration are wrong."""

# Off a terminal (a pipe, a CI log, a test), Rich would hard-wrap lines at a fixed width
# and split paths and ids; there, lines stay whole (soft wrap) and tables get 120 columns.
_TTY = sys.stdout.isatty()
_WIDTH = None if _TTY else int(os.environ.get("COLUMNS", "120"))
console = Console(highlight=False, width=_WIDTH, soft_wrap=not _TTY)
errors = Console(stderr=True, highlight=False, width=_WIDTH, soft_wrap=not _TTY)

P = ParamSpec("P")
R = TypeVar("R")


_opened: list[Catalog] = []


def load(*, migrate: bool = True) -> tuple[ClearanceConfig, Catalog]:
    """The configuration and the catalog it names (migrated on first use).

    The catalog is closed when the command ends (see :func:`handle_errors`).
    """
    from clearance.catalog.database import Catalog
    from clearance.config import load_config

    config = load_config()
    catalog = Catalog(config.resolved_database_url())
    _opened.append(catalog)
    if migrate:
        catalog.ensure_schema()
    return config, catalog


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def emit_json(document: Any) -> None:
    """Print a JSON document on stdout (Decimals as exact strings)."""
    sys.stdout.write(json.dumps(document, indent=2, default=_default) + "\n")


def fail(message: str, *, fix: str | None = None, code: int = EXIT_FAILURE) -> NoReturn:
    """Print an error (and how to fix it) on stderr and exit."""
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if fix:
        errors.print(f"[bold]fix:[/] {escape(fix)}", soft_wrap=True)
    raise SystemExit(code)


def handle_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`ClearanceError` into a clear message and an exit code."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ClearanceError as error:
            code = EXIT_USAGE if isinstance(error, InputError) else EXIT_FAILURE
            fail(error.message, fix=error.fix, code=code)
        finally:
            while _opened:
                _opened.pop().dispose()

    return wrapper
