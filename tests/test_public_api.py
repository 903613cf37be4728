"""The public API: one sorted __all__, every name importable, and a cheap import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import clearance


def test_all_is_sorted_unique_and_matches_the_lazy_exports() -> None:
    assert clearance.__all__ == sorted(set(clearance.__all__))
    assert clearance.__all__ == sorted(clearance._EXPORTS)


def test_every_public_name_resolves_to_its_own_definition() -> None:
    for name in clearance.__all__:
        value = getattr(clearance, name)
        assert getattr(value, "__name__", name) == name
        assert value.__module__.startswith("clearance.")


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="nope"):
        clearance.nope  # type: ignore[attr-defined]  # noqa: B018


def test_import_loads_no_heavy_dependency_and_opens_no_socket() -> None:
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise SystemExit('network access at import')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import clearance\n"
        "heavy = [m for m in ('sqlalchemy', 'pydantic', 'httpx', 'pandas', 'alembic', 'typer')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_errors_share_one_root() -> None:
    for name in clearance.__all__:
        value = getattr(clearance, name)
        if (
            isinstance(value, type)
            and issubclass(value, Exception)
            and not issubclass(value, Warning)
        ):
            assert issubclass(value, clearance.ClearanceError)
