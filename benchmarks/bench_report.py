"""Report speed and size over a large store: 100,000 eval results and 1,000,000 calls.

Builds a SQLite catalog (in a temporary folder) with ``--runs`` x ``--models`` x
``--cases`` x ``--trials`` eval results (100,000 by default: 5 runs, 10 models,
400 cases, 5 trials; failing trials carry engine-shaped evidence) and ``--calls``
rows of ``ai_calls`` (1,000,000), then times ``clearance report``'s two halves,
collecting (pandas over the catalog, the dry-run gate, trends, diffs) and
rendering (templates, one evidence page at a time), plus the SLO page, and prints
the size of what was written. Store building is not timed.

    python benchmarks/bench_report.py [--calls 1000000] [--runs 5] [--models 10] [--postgres]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from synthetic_calls import fill_calls  # noqa: E402
from synthetic_results import fill_results  # noqa: E402

from clearance.catalog.database import Catalog, open_catalog  # noqa: E402
from clearance.catalog.runstore import ResultStore  # noqa: E402
from clearance.config import load_config  # noqa: E402
from clearance.gate import load_policy  # noqa: E402
from clearance.reports import collect_report, write_report  # noqa: E402
from clearance.reports.slopage import configured_slo_report, slo_pages  # noqa: E402


def _timed(label: str, function, timings: dict[str, float]):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = function()
    timings[label] = time.perf_counter() - started
    return value


def _measure(catalog: Catalog, root: Path, args: argparse.Namespace) -> None:
    policy = load_policy(ROOT / "gates" / "default.yaml")
    config = load_config(environ={}, cwd=root)
    started = time.perf_counter()
    run_ids = fill_results(
        catalog,
        policy,
        runs=args.runs,
        models=args.models,
        cases=args.cases,
        trials=args.trials,
    )
    results = args.runs * args.models * args.cases * args.trials
    calls = fill_calls(catalog, args.calls, seed=11) if args.calls else 0
    if catalog.dialect == "postgresql":
        with catalog.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(
        f"{catalog.dialect}: {results:,} eval results in {len(run_ids)} runs, {calls:,} calls "
        f"(built in {time.perf_counter() - started:.0f} s, not timed)"
    )
    timings: dict[str, float] = {}
    frame = _timed(
        "load the run's results (no evidence)",
        lambda: ResultStore(catalog).results(run_ids[-1], evidence=False),
        timings,
    )
    data = _timed(
        "collect (figures, dry-run gate, trends, diffs)",
        lambda: collect_report(config, catalog, policy=policy),
        timings,
    )
    pages = _timed(
        "SLO page over the last hour (SQL aggregates)",
        lambda: slo_pages(configured_slo_report(config, catalog), catalog=catalog),
        timings,
    )
    files = _timed(
        "render and write",
        lambda: write_report(data, root / "report", catalog=catalog, extra_pages=pages),
        timings,
    )
    total = sum(timings.values()) - timings["load the run's results (no evidence)"]
    print(f"run {run_ids[-1]}: {len(frame):,} results in the reported run")
    for label, seconds in timings.items():
        print(f"  {label:<52} {seconds:7.2f} s")
    print(f"  {'report total (collect + SLO + render)':<52} {total:7.2f} s")
    biggest = max(files.pages, key=lambda path: path.stat().st_size)
    print(
        f"written: {len(files.pages)} files, {files.bytes / 1e6:.1f} MB; largest "
        f"{biggest.name} {biggest.stat().st_size / 1e6:.2f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL catalog, not SQLite"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "gates").mkdir()
        shutil.copy(ROOT / "gates" / "slo.yaml", root / "gates" / "slo.yaml")
        if not args.postgres:
            catalog = open_catalog(f"sqlite:///{root / 'catalog.db'}")
            try:
                _measure(catalog, root, args)
            finally:
                catalog.dispose()
            return
        from tests.support.postgres import ThrowawayPostgres, create_database

        server = ThrowawayPostgres().start()
        try:
            catalog = open_catalog(create_database(server.url, "bench_report"))
            try:
                _measure(catalog, root, args)
            finally:
                catalog.dispose()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
