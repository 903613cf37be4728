"""Report speed and size over a large store: 100,000 eval results and 1,000,000 calls.

Builds a SQLite catalog (or, with ``--postgres``, a throwaway PostgreSQL server) with
``--runs`` x ``--models`` x ``--cases`` x ``--trials`` eval results (100,000 by default:
5 runs, 10 models, 400 cases, 5 trials; failing trials carry engine-shaped evidence) and
``--calls`` rows of ``ai_calls`` (1,000,000, in the hour before the store was built),
then times ``clearance report``'s parts in a fresh process each round: collecting
(the run's results, the dry-run gate, trends, diffs), the SLO page over the hour, and
rendering (templates, one evidence page at a time); it prints the size of what was
written and the measuring process's peak resident memory (``ru_maxrss``: interpreter
and imports included). Store building is not timed.

``--baseline SRC`` names another checkout's ``src`` folder (``git archive <commit> src |
tar -x -C DIR``): each round then measures both, alternating, on the same data (a copy of
the store taken back to the baseline's migration when the two differ), and the medians
and their ratio are printed. ``--store DIR`` keeps the SQLite store in DIR and
reuses it when it is there (``store.json`` records its shape and the hour of its calls).

    python benchmarks/bench_report.py [--calls 1000000] [--runs 5] [--cases 400]
        [--rounds 3] [--baseline SRC] [--store DIR] [--postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _child(args: argparse.Namespace) -> None:
    """Measure one report in this process (started by :func:`main`) and print JSON."""
    import resource

    sys.path.insert(0, args.src)
    started = time.perf_counter()
    from clearance.catalog.database import open_catalog
    from clearance.config import load_config
    from clearance.gate import load_policy
    from clearance.reports import collect_report, write_report
    from clearance.reports.slopage import configured_slo_report, slo_pages

    imported = time.perf_counter() - started
    root = Path(args.root)
    now = dt.datetime.fromisoformat(args.now)
    catalog = open_catalog(args.url)
    timings: dict[str, float] = {}
    try:
        policy = load_policy(ROOT / "gates" / "default.yaml")
        config = load_config(environ={}, cwd=root)
        started = time.perf_counter()
        data = collect_report(config, catalog, policy=policy, now=now)
        timings["collect"] = time.perf_counter() - started
        started = time.perf_counter()
        report = configured_slo_report(config, catalog, now=now)
        pages = slo_pages(report, catalog=catalog)
        timings["slo"] = time.perf_counter() - started
        out = root / f"report-{os.getpid()}"
        started = time.perf_counter()
        files = write_report(data, out, catalog=catalog, extra_pages=pages)
        timings["render"] = time.perf_counter() - started
    finally:
        catalog.dispose()
    biggest = max(files.pages, key=lambda path: path.stat().st_size)
    result = {
        "timings": timings,
        "imports": imported,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "files": len(files.pages),
        "bytes": files.bytes,
        "largest": [biggest.name, biggest.stat().st_size],
        "breaches": len(report.breaches) if report is not None else None,
    }
    shutil.rmtree(out)
    print(json.dumps(result))


def _fill(url: str, args: argparse.Namespace) -> tuple[str, int]:
    """Write the store at ``url``; returns (the end of the calls' hour, results written)."""
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synthetic_calls import fill_calls
    from synthetic_results import fill_results

    from clearance.catalog.database import open_catalog
    from clearance.gate import load_policy

    catalog = open_catalog(url)
    try:
        policy = load_policy(ROOT / "gates" / "default.yaml")
        started = time.perf_counter()
        runs = fill_results(
            catalog,
            policy,
            runs=args.runs,
            models=args.models,
            cases=args.cases,
            trials=args.trials,
        )
        until = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if args.calls:
            fill_calls(catalog, args.calls, seed=11, until=until)
        if catalog.dialect == "postgresql":  # as autovacuum would: statistics, visibility map
            with catalog.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.exec_driver_sql("VACUUM ANALYZE")
        results = args.runs * args.models * args.cases * args.trials
        print(
            f"{catalog.dialect}: {results:,} eval results in {len(runs)} runs, {args.calls:,} "
            f"calls (built in {time.perf_counter() - started:.0f} s, not timed)",
            flush=True,
        )
    finally:
        catalog.dispose()
    return until.isoformat(), results


def _measure(url: str, root: Path, now: str, src: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--src",
        src,
        "--url",
        url,
        "--root",
        str(root),
        "--now",
        now,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the measuring process failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _head(src: str) -> str:
    """The migration HEAD of a source tree (its ``catalog/migrate.py``)."""
    text = (Path(src) / "clearance" / "catalog" / "migrate.py").read_text()
    return re.search(r'^HEAD = "(\w+)"', text, re.MULTILINE).group(1)  # type: ignore[union-attr]


def _downgrade(url: str, revision: str) -> None:
    """Take the store at ``url`` back to ``revision`` (an older tree cannot open a newer one)."""
    sys.path.insert(0, str(ROOT / "src"))
    from alembic import command
    from alembic.config import Config

    from clearance.catalog.database import open_catalog
    from clearance.catalog.migrate import _SCRIPTS

    catalog = open_catalog(url)
    try:
        with catalog.connect() as connection:
            config = Config()
            config.set_main_option("script_location", str(_SCRIPTS))
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
            connection.commit()
    finally:
        catalog.dispose()


def _stores(url: str, root: Path, sources: dict[str, str], copy: Any) -> dict[str, str]:
    """A store per source tree at that tree's migration HEAD: the built one for the current
    tree, a copy (``copy(name) -> url``) taken back to the baseline's HEAD for it."""
    urls = {}
    for name, src in sources.items():
        if name == "current":
            urls[name] = url
            continue
        urls[name] = copy(name)
        if _head(src) != _head(str(ROOT / "src")):
            _downgrade(urls[name], _head(src))
    return urls


def _rounds(urls: dict[str, str], root: Path, now: str, args: argparse.Namespace) -> None:
    sources = {"current": str(ROOT / "src")}
    if args.baseline:
        sources = {"baseline": str(Path(args.baseline).resolve()), **sources}
    seen: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    for number in range(args.rounds):
        for name, src in sources.items():
            found = _measure(urls[name], root, now, src)
            seen[name].append(found)
            parts = " + ".join(f"{k} {v:.2f}" for k, v in found["timings"].items())
            print(
                f"  round {number + 1} {name:<8} {sum(found['timings'].values()):6.2f} s "
                f"({parts}); peak RSS {found['maxrss_mb']:.0f} MB",
                flush=True,
            )
    print(f"medians of {args.rounds} rounds (each in a fresh process; imports not counted):")
    medians: dict[str, float] = {}
    for name, rounds in seen.items():
        parts = {
            part: statistics.median(found["timings"][part] for found in rounds)
            for part in rounds[0]["timings"]
        }
        medians[name] = statistics.median(sum(found["timings"].values()) for found in rounds)
        last = rounds[-1]
        print(
            f"  {name:<8} total {medians[name]:.2f} s ("
            + ", ".join(f"{part} {seconds:.2f} s" for part, seconds in parts.items())
            + f"); peak RSS {statistics.median(f['maxrss_mb'] for f in rounds):.0f} MB; "
            f"{last['files']} files, {last['bytes'] / 1e6:.1f} MB "
            f"(largest {last['largest'][0]} {last['largest'][1] / 1e6:.2f} MB); "
            f"{last['breaches']} SLO breaches"
        )
    if "baseline" in medians:
        print(f"  current / baseline: {medians['current'] / medians['baseline']:.3f}")


def _sources(args: argparse.Namespace) -> dict[str, str]:
    found = {"current": str(ROOT / "src")}
    if args.baseline:
        found["baseline"] = str(Path(args.baseline).resolve())
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="another checkout's src folder, measured alike")
    parser.add_argument("--store", help="keep (and reuse) the SQLite store in this folder")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL catalog, not SQLite"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        root = Path(args.store or folder).resolve()
        (root / "gates").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "gates" / "slo.yaml", root / "gates" / "slo.yaml")
        if not args.postgres:
            url = f"sqlite:///{root / 'catalog.db'}"
            shape = {k: getattr(args, k) for k in ("calls", "runs", "models", "cases", "trials")}
            saved = root / "store.json"
            if args.store and saved.is_file() and json.loads(saved.read_text())["shape"] == shape:
                now = json.loads(saved.read_text())["now"]
                print(f"sqlite: reusing the store in {root} ({shape})")
            else:
                (root / "catalog.db").unlink(missing_ok=True)
                now, _ = _fill(url, args)
                saved.write_text(json.dumps({"shape": shape, "now": now}))
            database = root / "catalog.db"

            def copy_sqlite(name: str) -> str:
                target = root / f"catalog-{name}.db"
                shutil.copyfile(database, target)
                return f"sqlite:///{target}"

            urls = _stores(url, root, _sources(args), copy_sqlite)
            try:
                _rounds(urls, root, now, args)
            finally:
                for name in urls:
                    if name != "current":
                        (root / f"catalog-{name}.db").unlink(missing_ok=True)
            return
        sys.path.insert(0, str(ROOT))
        from tests.support.postgres import ThrowawayPostgres, create_database

        server = ThrowawayPostgres().start()
        try:
            url = create_database(server.url, "bench_report")
            now, _ = _fill(url, args)

            def copy_postgres(name: str) -> str:
                return create_database(server.url, f"bench_report_{name}", template="bench_report")

            _rounds(_stores(url, root, _sources(args), copy_postgres), root, now, args)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
