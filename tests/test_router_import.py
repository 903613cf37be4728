"""`from clearance.router import Router` is cheap: what reaches the catalog is imported when
a router is built (issue 20: 0.39 s and 441 modules before; the figure is in
benchmarks/RESULTS.md, measured by benchmarks/bench_router.py, never asserted here)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "sqlalchemy",
    "pydantic",
    "httpx",
    "httpcore",
    "asyncio",
    "jsonschema",
    "ssl",
    "pandas",
    "alembic",
    "yaml",
    "clearance.config",
    "clearance.catalog.database",
    "clearance.killswitch",
    "clearance.routerstate",
    "clearance.identifiers",
    "clearance.deadletters",
)
"""What a router needs only once it is built (or once it calls a provider)."""


def imported_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return [name for name in result.stdout.strip().split(",") if name]


def test_importing_the_router_loads_none_of_what_a_built_router_needs() -> None:
    assert imported_after("from clearance.router import Router, RouterResult") == []


def test_importing_the_call_log_loads_no_database_module() -> None:
    assert imported_after("from clearance.calllog import CallLog, CallRecord, new_call_id") == []


def test_building_a_router_loads_what_its_calls_need(tmp_path: object) -> None:
    statement = (
        "from clearance.router import Router\n"
        "from clearance.catalog.database import open_catalog\n"
        "from clearance.config import load_config\n"
        "from pathlib import Path\n"
        f"folder = Path({str(tmp_path)!r})\n"
        "config = load_config(environ={}, cwd=folder)\n"
        "catalog = open_catalog(f'sqlite:///{folder}/catalog.db')\n"
        "Router(config, catalog, log_calls=False).close()\n"
    )
    loaded = imported_after(statement)
    for name in ("clearance.killswitch", "clearance.identifiers", "asyncio"):
        assert name in loaded
