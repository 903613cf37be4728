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

from clearance import errors as e
from clearance.errors import ClearanceError

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig

__all__ = [
    "EXIT_FAILURE",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "console",
    "emit_json",
    "exit_code",
    "fail",
    "handle_errors",
    "load",
]

EXIT_FAILURE = 1
"""What the command checked failed: a gate, an SLO, an eval, a contract check; a call
the policy or a kill switch refused, or that the provider answered with an error."""
EXIT_USAGE = 2
"""The command, its arguments, a file or the configuration are wrong (an unknown model,
run, org or policy; a bad flag or file; a missing or refused API key)."""
EXIT_UNAVAILABLE = 3
"""Infrastructure is unavailable: the catalog database, or a provider that cannot be
reached, timed out, rate-limited or failed with 5xx after the retries. Try again later."""


def exit_code(error: ClearanceError) -> int:
    """The exit code for an error (README, "Exit codes"): one table for every command."""
    if isinstance(
        error,
        e.CatalogUnavailable
        | e.ProviderConnectionError
        | e.ProviderTimeout
        | e.ProviderProtocolError
        | e.ProviderServerError
        | e.RateLimited,
    ):
        return EXIT_UNAVAILABLE
    if isinstance(error, e.KillSwitchActive) and error.scope == "unreadable":
        return EXIT_UNAVAILABLE  # the switch state's database is down
    if isinstance(error, e.DiscoverySourceError):
        status = error.status_code
        if status is None or status >= 500 or status == 429:
            return EXIT_UNAVAILABLE
        return EXIT_USAGE if status in (401, 403, 404) else EXIT_FAILURE
    if isinstance(
        error,
        e.InputError
        | e.UnknownModel
        | e.UnknownRun
        | e.UnknownOrg
        | e.AuthenticationFailed
        | e.InvalidEndpoint,
    ):
        return EXIT_USAGE
    return EXIT_FAILURE


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
    """Print an error (and how to fix it) on stderr and exit.

    A usage error with no fix of its own points at the command's help.
    """
    if fix is None and code == EXIT_USAGE:
        fix = f"see `{_command_path()} --help`"
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if fix:
        errors.print(f"[bold]fix:[/] {escape(fix)}", soft_wrap=True)
    raise SystemExit(code)


def _command_path() -> str:
    """The running command (``clearance models sync``), as click's context knows it."""
    import importlib

    # typer 0.29 vendors click as typer._click; older releases depend on click itself
    for module in ("typer._click.globals", "click"):
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        context = found.get_current_context(silent=True)
        return "clearance" if context is None else str(context.command_path)
    return "clearance"  # pragma: no cover - neither exists


def handle_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`ClearanceError` into a clear message and an exit code."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ClearanceError as error:
            fail(error.message, fix=error.fix, code=exit_code(error))
        except OSError as error:
            if error.filename is None:  # not a path the caller gave: a bug, keep its trace
                raise
            path = error.filename
            fail(
                f"{path}: {error.strerror or error}",
                fix="check that the path is right, that its folder exists and that you may "
                "read or write there",
                code=EXIT_USAGE,
            )
        finally:
            while _opened:
                _opened.pop().dispose()

    return wrapper
