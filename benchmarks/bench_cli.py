"""How long the ``clearance`` command takes to start, and ``contracts check`` to run.

    .venv/bin/python benchmarks/bench_cli.py [--runs 11] [--src DIR]

Each figure is the median wall time of ``--runs`` fresh processes (after one warm-up
run that is not counted), run in a temporary project: a copy of the starter suite
(``contracts/`` without the BFCL import) and a SQLite catalog in a temporary folder,
no ``CLEARANCE_*`` variable from the caller. The commands:

- ``clearance --help``, ``clearance --version``;
- ``clearance killswitch status`` (opens the catalog: SQLAlchemy Core, migrations checked);
- ``clearance contracts check`` warm (``.clearance/cache/`` kept between runs: the suite
  pickle and the probe answers), and cold (the cache folder deleted before each run,
  so the hypothesis probe runs every time).

``--src DIR`` puts another checkout's ``src/`` first on ``PYTHONPATH``, to measure an
older commit with the same script (``git archive COMMIT src | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "import sys; from clearance.cli import main; sys.argv[0] = 'clearance'; main()"


def timed(
    command: list[str], cwd: Path, env: dict[str, str], runs: int, before: Callable[[], None]
) -> tuple[float, float, float, str]:
    """(median, fastest, slowest) seconds of ``runs`` runs, and the last run's last line."""
    times: list[float] = []
    last = ""
    for index in range(runs + 1):
        before()
        started = time.perf_counter()
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{command} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        if index:  # the first run warms the OS caches and migrates the catalog
            times.append(elapsed)
        lines = done.stdout.strip().splitlines()
        last = lines[-1] if lines else ""
    return statistics.median(times), min(times), max(times), last


def main() -> None:
    """Print the machine and one row per command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--src", type=Path, help="a src/ folder to import clearance from")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        project = Path(folder)
        shutil.copytree(
            ROOT / "contracts", project / "contracts", ignore=shutil.ignore_patterns("bfcl")
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
        env["CLEARANCE_DATABASE_URL"] = f"sqlite:///{project / 'catalog.db'}"
        env["COLUMNS"] = "200"
        if options.src is not None:
            env["PYTHONPATH"] = str(options.src.resolve())
        cache = project / ".clearance" / "cache"

        def keep() -> None:
            return None

        def clear() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        clearance = [sys.executable, "-c", RUN]
        cases: list[tuple[str, list[str], Callable[[], None]]] = [
            ("clearance --help", ["--help"], keep),
            ("clearance --version", ["--version"], keep),
            ("clearance killswitch status", ["killswitch", "status"], keep),
            ("clearance contracts check (warm cache)", ["contracts", "check"], keep),
            ("clearance contracts check (cold: no cache)", ["contracts", "check"], clear),
        ]
        print(
            f"{platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
            f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}, "
            f"load {os.getloadavg()[0]:.2f}; {options.runs} runs per command"
        )
        print("| command | median s | fastest | slowest |")
        print("|---|---:|---:|---:|")
        summary = ""
        for name, args, before in cases:
            median, fastest, slowest, last = timed(
                [*clearance, *args], project, env, options.runs, before
            )
            print(f"| `{name}` | {median:.3f} | {fastest:.3f} | {slowest:.3f} |")
            if args[0] == "contracts":
                summary = last
        print(f"contracts check said: {summary}")


if __name__ == "__main__":
    main()
