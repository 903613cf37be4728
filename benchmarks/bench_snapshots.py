"""The unverified-snapshot check on a large call log, SQLite and PostgreSQL.

``--calls`` synthetic calls (default 1,000,000; benchmarks/synthetic_calls.py: one hour
over 12 models and 60 orgs) are written to a SQLite catalog and, when PostgreSQL
binaries are installed, to a throwaway PostgreSQL server. Each served call then gets a
model snapshot (``<model>@fp_<id mod 4>``, one in 50 none), and each model an enabling
gate decision taken on ``fp_0`` and ``fp_1`` (so ``fp_2`` and ``fp_3`` are unverified).
Timed, as the median of ``--rounds`` rounds:

1. ``snapshot_counts``: the one ``GROUP BY (served_model, model_snapshot)`` over the window;
2. ``check_snapshots``: that, plus reading the latest decisions;
3. ``aggregate_calls`` by model (the SLO figures' scan), for scale;

and the query plan of 1 is printed (which index each back end reads).

    python benchmarks/bench_snapshots.py [--calls 1000000] [--rounds 3] [--no-postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import String, cast, func, insert, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from synthetic_calls import MODELS, fill_calls, on_both_back_ends  # noqa: E402

from clearance.catalog import tables as t  # noqa: E402
from clearance.catalog.callstats import snapshot_counts  # noqa: E402
from clearance.catalog.database import Catalog  # noqa: E402
from clearance.catalog.gatestore import Provenance, record_decision  # noqa: E402
from clearance.catalog.modelstore import ensure_provider  # noqa: E402
from clearance.slo import CallFilter, aggregate_calls, check_snapshots  # noqa: E402

T = TypeVar("T")
UNTIL = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
WINDOW = CallFilter(UNTIL - dt.timedelta(hours=1), UNTIL)
MODEL_IDS = [model[0] for model in MODELS]


def _median_time(rounds: int, function: Callable[[], T]) -> tuple[float, T]:
    times: list[float] = []
    result: Any = None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _prepare(catalog: Catalog, calls: int) -> float:
    """Fill the calls, give them snapshots, and gate every model on fp_0 and fp_1."""
    started = time.perf_counter()
    fill_calls(catalog, calls, seed=7, until=UNTIL)
    c = t.ai_calls.c
    snapshot = c.served_model + "@fp_" + cast(c.id % 4, String)
    with catalog.begin() as connection:
        connection.execute(
            update(t.ai_calls)
            .where(c.status == "ok", c.id % 50 != 0)
            .values(model_snapshot=snapshot)
        )
        for provider in sorted({model.split(":", 1)[0] for model in MODEL_IDS}):
            ensure_provider(connection, provider, base_url=f"https://{provider}.example/v1")
        connection.execute(
            insert(t.models),
            [
                {
                    "id": model,
                    "provider": model.split(":", 1)[0],
                    "name": model.split(":", 1)[1],
                    "capabilities": {"tools": True},
                    "discovered_at": UNTIL,
                    "last_seen_at": UNTIL,
                }
                for model in MODEL_IDS
            ],
        )
        for model in MODEL_IDS:
            record_decision(
                connection,
                model_id=model,
                decision="enable",
                reasons=(),
                checks=[],
                provenance=Provenance(
                    "bench", None, snapshots={f"{model}@fp_0": 30, f"{model}@fp_1": 30}
                ),
                decided_by="bench",
                host=None,
                decided_at=UNTIL - dt.timedelta(days=1),
            )
        if catalog.dialect == "postgresql":
            connection.exec_driver_sql("ANALYZE ai_calls")
        else:
            connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def _plan(catalog: Catalog) -> str:
    """The back end's plan of snapshot_counts' query."""
    from clearance.catalog import callstats

    c = t.ai_calls.c
    query = (
        select(c.served_model, c.model_snapshot, func.count(), func.min(c.started_at))
        .where(*callstats.where_window(WINDOW), c.status == "ok", c.served_model.in_(MODEL_IDS))
        .group_by(c.served_model, c.model_snapshot)
    )
    with catalog.connect() as connection:
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if catalog.dialect == "sqlite" else "EXPLAIN "
        rows = connection.exec_driver_sql(prefix + str(compiled)).all()
    return " | ".join(str(row[-1]) for row in rows)


def _measure(name: str, catalog: Catalog, calls: int, rounds: int) -> dict[str, Any]:
    prepared = _prepare(catalog, calls)

    def counts() -> Any:
        with catalog.connect() as connection:
            return snapshot_counts(connection, WINDOW, MODEL_IDS)

    def check() -> Any:
        with catalog.connect() as connection:
            return check_snapshots(connection, WINDOW)

    def aggregate() -> Any:
        with catalog.connect() as connection:
            return aggregate_calls(connection, WINDOW, ("model",))

    counts_s, found = _median_time(rounds, counts)
    check_s, report = _median_time(rounds, check)
    aggregate_s, _ = _median_time(rounds, aggregate)
    return {
        "back end": name,
        "served": sum(count.calls for count in found),
        "prepare s": prepared,
        "counts s": counts_s,
        "check s": check_s,
        "aggregate s": aggregate_s,
        "unverified": len(report.unverified),
        "unknown": report.unknown_calls,
        "plan": _plan(catalog),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows, skipped = on_both_back_ends(
        lambda name, catalog: _measure(name, catalog, args.calls, args.rounds),
        postgres=not args.no_postgres,
        prefix="bench_snap",
    )
    print(f"{args.calls:,} synthetic calls (one hour, 12 models); median of {args.rounds} rounds")
    print(
        "| back end | served calls | snapshot_counts s | check_snapshots s | "
        "aggregate_calls s | unverified | unknown calls |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['back end']} | {row['served']:,} | {row['counts s']:.3f} | "
            f"{row['check s']:.3f} | {row['aggregate s']:.3f} | {row['unverified']} | "
            f"{row['unknown']:,} |"
        )
    for row in rows:
        print(f"{row['back end']} plan: {row['plan']}")
    if skipped:
        print(skipped)


if __name__ == "__main__":
    main()
