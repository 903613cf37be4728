"""The CLI starts fast: a command imports only what it uses (issue 14, point 5).

Not a timing test: each command runs in a fresh interpreter with a clean environment,
and the modules it left in ``sys.modules`` are compared with the heavy ones it must not
load. ``benchmarks/bench_cli.py`` measures the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Loaded by some subcommand, never by starting the CLI or by asking the kill switch.
HEAVY = (
    "clearance.evaluation.engine",
    "clearance.reports",
    "hypothesis",
    "hypothesis_jsonschema",
    "jinja2",
    "numpy",
    "pandas",
    "sqlalchemy.orm",
)
# What printing help needs none of: no catalog, no configuration, no HTTP client.
NOT_FOR_HELP = (
    *HEAVY,
    "clearance.catalog",
    "clearance.config",
    "httpx",
    "pydantic",
    "sqlalchemy",
)
# typer (0.29) itself validates a subcommand's options with pydantic, whatever we do.
NOT_FOR_SUBCOMMAND_HELP = tuple(name for name in NOT_FOR_HELP if name != "pydantic")

_RUN = """
import json, sys
sys.argv = ["clearance", *json.loads(sys.argv[1])]
from clearance.cli import main
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
sys.stdout.flush()
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(args: list[str], cwd: Path, **env: str) -> set[str]:
    """Run ``clearance ARGS`` in a fresh interpreter; the modules loaded when it ended."""
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), **env}
    done = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(args)],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.rstrip().splitlines()[-1])
    assert answer["code"] in (0, None), done.stdout + done.stderr
    return set(answer["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in modules]


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_load_no_catalog_config_or_heavy_dependency(
    args: list[str], tmp_path: Path
) -> None:
    modules = _modules_after(args, tmp_path)
    assert "typer" in modules  # the probe ran the CLI
    assert _loaded(modules, NOT_FOR_HELP) == []


@pytest.mark.parametrize("group", ["killswitch", "models", "contracts", "runs", "slo"])
def test_a_subcommand_help_loads_no_catalog_or_heavy_dependency(group: str, tmp_path: Path) -> None:
    modules = _modules_after([group, "--help"], tmp_path)
    assert "typer" in modules
    assert _loaded(modules, NOT_FOR_SUBCOMMAND_HELP) == []


def test_killswitch_status_loads_the_catalog_core_and_nothing_heavy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    modules = _modules_after(["killswitch", "status"], tmp_path, CLEARANCE_DATABASE_URL=url)
    assert "clearance.killswitch" in modules  # the command ran
    assert "sqlalchemy" in modules
    assert _loaded(modules, HEAVY) == []
