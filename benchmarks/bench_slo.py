"""SLO aggregation speed on a million calls, SQLite and PostgreSQL, against pandas.

``--calls`` synthetic calls (default 1,000,000; benchmarks/synthetic_calls.py,
one hour of traffic over 12 models and 60 orgs) are written to a SQLite catalog
and, when PostgreSQL binaries are installed, to a throwaway PostgreSQL server
(started as tests/support/postgres.py does; default server settings; ``VACUUM
ANALYZE`` after filling, as autovacuum would). On each:

1. ``aggregate_calls`` by model (one scan: counts, exact spend, p50/p95);
2. ``check_slos`` with gates/slo.yaml (figures, reasons, and the example calls of
   every breach);
3. pandas: ``read_sql`` of the columns the figures need, then the same figures with
   ``groupby`` (spend summed as Decimal objects, to stay exact; ``quantile``).

Each timing is the median of ``--rounds`` rounds. The figures of 1 and 3 are
compared: counts and spend exactly, percentiles to 1e-12 (pandas' interpolation
may differ from ``percentile_cont`` in the last bit).

    python benchmarks/bench_slo.py [--calls 1000000] [--rounds 3] [--no-postgres]

``--baseline SRC`` (``git archive REV src | tar -x -C DIR``, then ``DIR/src``) compares
instead ``check_slos`` of that tree with the current one on PostgreSQL, alternated in one
run: one server, the ``--calls`` written once to a database at the current migrations,
copied (``CREATE DATABASE ... TEMPLATE``) to one with the index of migration 0006 in place
of 0007's (and its ``alembic_version``) for the baseline, both ``VACUUM ANALYZE``d; then
``--processes`` fresh processes per tree (benchmarks/slo_check_worker.py, ``--rounds``
timed calls each after a warm-up), in ABBA order. The figures and breaches of both trees
are compared by digest. ``--policy``: an SLO policy both trees read (gates/slo.yaml by
default; an older tree refuses keys added since, so pass that tree's copy).

    python benchmarks/bench_slo.py --baseline DIR/src [--policy FILE] [--processes 4]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd  # type: ignore[import-untyped,unused-ignore]
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from synthetic_calls import fill_calls, on_both_back_ends  # noqa: E402

from clearance.catalog import tables as t  # noqa: E402
from clearance.catalog.database import Catalog, open_catalog  # noqa: E402
from clearance.slo import (  # noqa: E402
    CallFilter,
    GroupStats,
    aggregate_calls,
    check_slos,
    load_slo_policy,
)

T = TypeVar("T")
UNTIL = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
WINDOW = CallFilter(UNTIL - dt.timedelta(hours=1), UNTIL)


def _median_time(rounds: int, function: Callable[[], T]) -> tuple[float, T]:
    times: list[float] = []
    result: Any = None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _load_frame(catalog: Catalog) -> pd.DataFrame:
    c = t.ai_calls.c
    query = select(
        func.coalesce(c.served_model, c.requested_model).label("model"),
        func.coalesce(c.fallback_from, c.served_model, c.requested_model).label("chosen"),
        c.status,
        c.fallback_from,
        c.tool_calls,
        c.tool_calls_valid,
        c.escalated,
        c.cost,
        c.pricing_source,
        c.latency_ms,
    ).where(*WINDOW.conditions())
    with catalog.connect() as connection:
        return pd.read_sql(query, connection, coerce_float=False)  # keep costs Decimal


def _pandas_figures(frame: pd.DataFrame) -> dict[str | None, dict[str, Any]]:
    model = frame["model"].fillna("(none)")
    ok = frame["status"] == "ok"
    by = frame.groupby(model, sort=True)
    figures = pd.DataFrame(
        {
            "calls": by.size(),
            "ok": ok.groupby(model).sum(),
            "errors": (frame["status"] == "error").groupby(model).sum(),
            "refused": (frame["status"] == "refused").groupby(model).sum(),
            "tool_calls": by["tool_calls"].sum(),
            "tool_calls_valid": by["tool_calls_valid"].sum(),
            "escalated": (ok & frame["escalated"].astype(bool)).groupby(model).sum(),
            "default_priced": (frame["pricing_source"] == "default").groupby(model).sum(),
        }
    )
    # the fallback rate counts against the model the policy chose (the one that failed over)
    chosen = frame["chosen"].fillna("(none)")
    figures = figures.join(
        pd.DataFrame(
            {
                "routed": ok.groupby(chosen).sum(),
                "fallbacks": (ok & frame["fallback_from"].notna()).groupby(chosen).sum(),
            }
        ),
        how="outer",
    ).fillna(0)
    priced = frame["cost"].notna()
    spend = (
        frame.loc[priced, "cost"].groupby(model[priced]).agg(lambda costs: sum(costs, Decimal(0)))
    )
    timed = ok & frame["latency_ms"].notna()
    latency = frame.loc[timed, "latency_ms"].groupby(model[timed])
    p50, p95 = latency.quantile(0.5), latency.quantile(0.95)
    found: dict[str | None, dict[str, Any]] = {}
    for name, row in figures.iterrows():
        key = None if name == "(none)" else str(name)
        found[key] = {column: int(row[column]) for column in figures.columns}
        found[key]["spend_usd"] = spend.get(name, Decimal(0))
        found[key]["p50_latency_ms"] = p50.get(name)
        found[key]["p95_latency_ms"] = p95.get(name)
    return found


def _agree(sql: tuple[GroupStats, ...], pandas: dict[str | None, dict[str, Any]]) -> str:
    problems: list[str] = []
    if {s.group.model for s in sql} != set(pandas):
        return "groups differ"
    for stats in sql:
        expected = pandas[stats.group.model]
        for name, value in expected.items():
            got = getattr(stats, name)
            if name.endswith("latency_ms"):
                same = (got is None and (value is None or math.isnan(value))) or math.isclose(
                    got, value, rel_tol=1e-12
                )
            else:
                same = got == value
            if not same:
                problems.append(f"{stats.group.label} {name}: SQL {got}, pandas {value}")
    return "yes (counts, exact spend, percentiles to 1e-12)" if not problems else problems[0]


def _measure(name: str, catalog: Catalog, calls: int, rounds: int) -> dict[str, Any]:
    policy = load_slo_policy(ROOT / "gates" / "slo.yaml")
    started = time.perf_counter()
    fill_calls(catalog, calls, seed=7, until=UNTIL)
    filled = time.perf_counter() - started
    if catalog.dialect == "postgresql":
        # what autovacuum does to a table that only grows (PostgreSQL 13+): statistics,
        # and the visibility map that lets a query read an index alone
        with catalog.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM ANALYZE ai_calls")

    def aggregate() -> tuple[GroupStats, ...]:
        with catalog.connect() as connection:
            return aggregate_calls(connection, WINDOW, ("model",))

    def check() -> Any:
        with catalog.connect() as connection:
            return check_slos(connection, policy, WINDOW)

    aggregate_s, stats = _median_time(rounds, aggregate)
    check_s, report = _median_time(rounds, check)
    load_s, frame = _median_time(rounds, lambda: _load_frame(catalog))
    compute_s, figures = _median_time(rounds, lambda: _pandas_figures(frame))
    return {
        "back end": name,
        "calls": sum(s.calls for s in stats),
        "fill s": filled,
        "aggregate s": aggregate_s,
        "check s": check_s,
        "breaches": len(report.breaches),
        "pandas load s": load_s,
        "pandas compute s": compute_s,
        "agree": _agree(stats, figures),
        "stats": stats,
    }


def _as_0006(url: str) -> None:
    """The baseline's database: migration 0006's index in place of 0007's, at 0006."""
    catalog = open_catalog(url, migrate=False)
    try:
        with catalog.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_ai_calls_served_model_window")
            connection.exec_driver_sql(
                "CREATE INDEX ix_ai_calls_served_model_started_at"
                " ON ai_calls (served_model, started_at)"
            )
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0006'")
    finally:
        catalog.dispose()


def _vacuum(url: str) -> None:
    catalog = open_catalog(url, migrate=False)
    try:
        with catalog.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM ANALYZE ai_calls")
    finally:
        catalog.dispose()


def _compare(baseline: str, policy: str, calls: int, processes: int, rounds: int) -> None:
    """``check_slos`` of the ``baseline`` tree against the current one on PostgreSQL."""
    import json
    import os
    import subprocess
    import uuid

    from tests.support.postgres import ThrowawayPostgres, create_database

    server = ThrowawayPostgres().start()
    try:
        name = f"bench_slo_now_{uuid.uuid4().hex[:8]}"
        now_url = create_database(server.url, name)
        catalog = open_catalog(now_url)
        started = time.perf_counter()
        fill_calls(catalog, calls, seed=7, until=UNTIL)
        catalog.dispose()
        base_url = create_database(server.url, f"{name}_base", template=name)
        _as_0006(base_url)
        for url in (now_url, base_url):
            _vacuum(url)
        print(f"filled, copied and vacuumed in {time.perf_counter() - started:.0f} s", flush=True)
        trees = {"baseline": (baseline, base_url), "now": (str(ROOT / "src"), now_url)}
        found: dict[str, list[dict[str, Any]]] = {label: [] for label in trees}
        worker = str(ROOT / "benchmarks" / "slo_check_worker.py")
        for process in range(processes):
            for label in list(trees) if process % 2 == 0 else list(trees)[::-1]:
                src, url = trees[label]
                load = os.getloadavg()[0]
                out = subprocess.run(
                    [sys.executable, worker, src, url, str(rounds), policy],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                result = json.loads(out.strip().splitlines()[-1])
                found[label].append(result)
                print(
                    f"process {process + 1} {label}: check_slos "
                    + ", ".join(f"{s:.2f}" for s in result["check"])
                    + " s; aggregate_calls "
                    + ", ".join(f"{s:.2f}" for s in result["aggregate"])
                    + f" s; {result['breaches']} breaches, digest {result['digest']}"
                    f" (load {load:.2f})",
                    flush=True,
                )
    finally:
        server.stop()
    print(
        f"\n{calls:,} calls, PostgreSQL; {processes} processes per tree (ABBA), "
        f"{rounds} timed calls each after a warm-up; medians over all timed calls"
    )
    print("| tree | aggregate_calls s | check_slos s | check_slos / baseline | digest |")
    print("|---|---:|---:|---:|---|")
    base = statistics.median(t for r in found["baseline"] for t in r["check"])
    for label, results in found.items():
        check = statistics.median(t for r in results for t in r["check"])
        aggregate = statistics.median(t for r in results for t in r["aggregate"])
        digests = sorted({r["digest"] for r in results})
        print(
            f"| {label} | {aggregate:.2f} | {check:.2f} | {check / base:.2f} | "
            f"{', '.join(digests)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--baseline", help="src folder of an earlier tree (PostgreSQL A/B)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--policy", default=str(ROOT / "gates" / "slo.yaml"))
    args = parser.parse_args()
    if args.baseline:
        _compare(args.baseline, args.policy, args.calls, args.processes, args.rounds)
        return
    rows, skipped = on_both_back_ends(
        lambda name, catalog: _measure(name, catalog, args.calls, args.rounds),
        postgres=not args.no_postgres,
        prefix="bench_slo",
    )
    print(
        f"{args.calls:,} synthetic calls (one hour, 12 models, 60 orgs); median of "
        f"{args.rounds} rounds; grouped by model"
    )
    header = (
        "| back end | calls | fill s | SQL aggregate s | check_slos s | breaches | "
        "pandas read_sql s | pandas compute s | pandas total / SQL aggregate | figures agree |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        ratio = (row["pandas load s"] + row["pandas compute s"]) / row["aggregate s"]
        print(
            f"| {row['back end']} | {row['calls']:,} | {row['fill s']:.1f} | "
            f"{row['aggregate s']:.2f} | {row['check s']:.2f} | {row['breaches']} | "
            f"{row['pandas load s']:.2f} | {row['pandas compute s']:.2f} | {ratio:.1f}x | "
            f"{row['agree']} |"
        )
    if skipped:
        print(skipped)
    if len(rows) == 2:  # the same seed wrote the same rows to both
        same = rows[0]["stats"] == rows[1]["stats"]
        print(f"SQLite and PostgreSQL figures identical (every field, floats bit for bit): {same}")


if __name__ == "__main__":
    main()
