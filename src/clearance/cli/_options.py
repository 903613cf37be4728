"""The grammar every command follows: list options, metavars, switches (README, "Commands").

- A **switch** (``--json``, ``--dry-run``, ``--stream/--no-stream``) takes no value, and
  its help shows no metavar.
- A **list** option takes repeated flags and commas alike: ``--models a,b`` is
  ``--models a --models b``. Declare it ``list[str] | None`` with a metavar ending in
  ``,...`` and read it with :func:`split_list`.
- Every option that takes a value shows a human **metavar** (``MODEL_ID``, ``FILE``,
  ``USD``, ``N``), never typer's ``<str>``.
- ``--out`` is the path of the command's main artifact: a ``FOLDER`` for a command that
  writes several files, a ``FILE`` for one that writes one.
- ``--json`` is a switch that prints JSON on stdout.

Typer 0.27 and later show a parameter's Python type (``<bool>``, ``<list[str]>``) where
no metavar is given (typer PR 1863), and a switch has no metavar to give, ``--help``
included. :class:`App` makes every group and command of clearance a class that shows
switches without one; declarations give the rest theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

__all__ = ["App", "Command", "Group", "split_list"]


def split_list(values: Iterable[str] | None) -> list[str]:
    """The items of a list option, whether repeated or comma-separated.

    Each item is stripped, empty ones are dropped, and a repeated one counts once; the
    order given is kept.
    """
    items: dict[str, None] = {}
    for value in values or ():
        for part in value.split(","):
            if item := part.strip():
                items.setdefault(item)
    return list(items)


def _switches_bare(params: list[Any]) -> list[Any]:
    """The parameters, with no metavar on the switches (``--help`` among them)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A command whose help shows switches without a metavar."""

    # ctx is typer's vendored click Context, which typer does not export
    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, ``--help`` included."""
        return _switches_bare(super().get_params(ctx))


class Group(TyperGroup):
    """A command group whose help shows switches without a metavar."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, ``--help`` included."""
        return _switches_bare(super().get_params(ctx))


class App(typer.Typer):
    """A typer app whose groups are :class:`Group` and commands :class:`Command`."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("cls", Group)
        super().__init__(**options)

    def command(
        self, name: str | None = None, **options: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        """Register a command (a :class:`Command` unless ``cls`` says otherwise)."""
        options.setdefault("cls", Command)
        return super().command(name, **options)
