"""What migration 0007's wide index costs the call log's writer, SQLite and PostgreSQL.

Migration 0007 replaced ``ix_ai_calls_served_model_started_at`` (``served_model``,
``started_at``) with ``ix_ai_calls_served_model_window`` (the same two columns, then
thirteen more), so every call written updates a wider index. Two stores per back end,
identical but for that one index: "0006" has the old index (swapped in as 0007's
downgrade does; nothing after 0007 touches ``ai_calls``' indexes), "0007" the wide one.
Both are prefilled with the same ``--prefill`` synthetic calls (benchmarks/
synthetic_calls.py; PostgreSQL then ``VACUUM ANALYZE``), then each round writes the
same fresh ``--rows`` calls (later ``started_at``, as live traffic) to each store the
way the call log's writer thread does: ``deadletters.store_rows`` (``insert_new_calls``:
the existing-id check and the insert, one transaction) in batches of ``--batch``
(``CallLog``'s default 200), each batch written to both stores in turn, the first of the
two alternating (ABBA), so the machine's changing load falls on both alike. Reported:
rows/s (median of the rounds), the ratio of the medians 0007/0006 and the median of
each round's ratio, the prefill's time per store (one after the other, not
alternated), and each store's size at
the end (SQLite: the file after a WAL checkpoint and each index's pages by ``dbstat``;
PostgreSQL: ``pg_total_relation_size`` and the index's ``pg_relation_size``).

    python benchmarks/bench_index_write.py [--prefill 300000] [--rows 20000] [--rounds 6]
        [--batch 200] [--no-postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from synthetic_calls import COLUMNS, fill_calls, generate_calls  # noqa: E402

from clearance.catalog.callstore import CALL_COLUMNS  # noqa: E402
from clearance.catalog.database import Catalog, open_catalog  # noqa: E402
from clearance.deadletters import DeadLetters, store_rows  # noqa: E402

UNTIL = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
SPAN = dt.timedelta(hours=1)
OLD_INDEX = "ix_ai_calls_served_model_started_at"
WIDE_INDEX = "ix_ai_calls_served_model_window"


def _as_0006(catalog: Catalog) -> None:
    """The one index of migration 0006 in place of 0007's, as 0007's downgrade does."""
    with catalog.begin() as connection:
        connection.exec_driver_sql(f"DROP INDEX {WIDE_INDEX}")
        connection.exec_driver_sql(
            f"CREATE INDEX {OLD_INDEX} ON ai_calls (served_model, started_at)"
        )


def _indexes(catalog: Catalog) -> set[str]:
    query = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'ai_calls'"
        if catalog.dialect == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ai_calls'"
    )
    with catalog.connect() as connection:
        return {row[0] for row in connection.exec_driver_sql(query)}


def _fresh_rows(round_: int, n: int) -> list[dict[str, Any]]:
    """Round ``round_``'s calls as the writer hands them to ``store_rows`` (every column)."""
    blank = {name: None for name in CALL_COLUMNS if name != "id"}
    since = UNTIL + round_ * SPAN
    return [
        {**blank, **dict(zip(COLUMNS, row, strict=True))}
        for row in generate_calls(n, seed=1000 + round_, since=since, span=SPAN)
    ]


def _write_alternately(
    stores: dict[str, tuple[Catalog, Path | None]],
    rows: list[dict[str, Any]],
    batch: int,
    letters: DeadLetters,
) -> dict[str, float]:
    """Each batch written to every store in turn (the first store alternating), so a
    change of the machine's load falls on both alike; the seconds each store took."""
    seconds = dict.fromkeys(stores, 0.0)
    labels = list(stores)
    for number, start in enumerate(range(0, len(rows), batch)):
        chunk = rows[start : start + batch]
        for label in labels if number % 2 == 0 else labels[::-1]:
            started = time.perf_counter()
            stored = store_rows(stores[label][0], chunk, letters, "writer")
            seconds[label] += time.perf_counter() - started
            if stored.unwritten or stored.inserted != len(chunk):
                raise RuntimeError(f"rows not written: {stored.error}")
    return seconds


def _size(catalog: Catalog, path: Path | None) -> dict[str, int]:
    with catalog.connect() as connection:
        if catalog.dialect == "postgresql":
            return {
                "store": connection.exec_driver_sql(
                    "SELECT pg_database_size(current_database())"
                ).scalar_one(),
                "table+indexes": connection.exec_driver_sql(
                    "SELECT pg_total_relation_size('ai_calls')"
                ).scalar_one(),
                "index": connection.exec_driver_sql(
                    "SELECT pg_relation_size(indexname::regclass) FROM pg_indexes"
                    f" WHERE indexname IN ('{OLD_INDEX}', '{WIDE_INDEX}')"
                ).scalar_one(),
            }
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = {"store": path.stat().st_size if path else 0}
        try:
            for name, pages in connection.exec_driver_sql(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"
            ):
                if name in (OLD_INDEX, WIDE_INDEX):
                    sizes["index"] = pages
                elif name == "ai_calls":
                    sizes["table"] = pages
        except Exception:  # SQLite built without dbstat: the file size only
            pass
        return sizes


def _measure(
    back_end: str, stores: dict[str, tuple[Catalog, Path | None]], args: argparse.Namespace
) -> list[str]:
    for label, (catalog, _) in stores.items():
        started = time.perf_counter()
        fill_calls(catalog, args.prefill, seed=7, until=UNTIL - SPAN, span=SPAN)
        if catalog.dialect == "postgresql":
            with catalog.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.exec_driver_sql("VACUUM ANALYZE ai_calls")
        print(
            f"{back_end} {label}: prefilled {args.prefill:,} in "
            f"{time.perf_counter() - started:.1f} s; indexes {sorted(_indexes(catalog))}",
            flush=True,
        )
    rates: dict[str, list[float]] = {label: [] for label in stores}
    with tempfile.TemporaryDirectory() as letters_dir:
        letters = DeadLetters(Path(letters_dir))
        order = list(stores)
        for round_ in range(args.rounds):
            rows = _fresh_rows(round_, args.rows)
            for label, seconds in _write_alternately(stores, rows, args.batch, letters).items():
                rates[label].append(args.rows / seconds)
            print(
                f"{back_end} round {round_ + 1}: "
                + ", ".join(f"{label} {rates[label][-1]:,.0f} rows/s" for label in order)
                + f" (load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    lines: list[str] = []
    before = statistics.median(rates["0006"])
    paired = statistics.median(
        new / old for new, old in zip(rates["0007"], rates["0006"], strict=True)
    )
    for label in order:
        catalog, path = stores[label]
        rate = statistics.median(rates[label])
        size = _size(catalog, path)
        shown = ", ".join(f"{key} {value / 2**20:,.1f} MiB" for key, value in size.items())
        lines.append(
            f"| {back_end} | {label} | {rate:,.0f} | {rate / before:.3f} | "
            f"{min(rates[label]):,.0f}-{max(rates[label]):,.0f} | {shown} |"
        )
    lines.append(f"| {back_end} | 0007 / 0006, median of the rounds' ratios | {paired:.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefill", type=int, default=300_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        stores: dict[str, tuple[Catalog, Path | None]] = {}
        for label in ("0006", "0007"):
            path = Path(folder) / f"catalog-{label}.db"
            stores[label] = (open_catalog(f"sqlite:///{path}"), path)
        _as_0006(stores["0006"][0])
        try:
            lines += _measure("SQLite", stores, args)
        finally:
            for catalog, _ in stores.values():
                catalog.dispose()
    skipped = None
    if not args.no_postgres:
        from tests.support.postgres import (
            PostgresHarnessError,
            ThrowawayPostgres,
            create_database,
        )

        try:
            server = ThrowawayPostgres().start()
        except PostgresHarnessError as error:
            skipped = f"PostgreSQL skipped: {error}"
        else:
            try:
                stores = {}
                for label in ("0006", "0007"):
                    name = f"bench_index_write_{label}_{uuid.uuid4().hex[:8]}"
                    stores[label] = (open_catalog(create_database(server.url, name)), None)
                _as_0006(stores["0006"][0])
                try:
                    lines += _measure("PostgreSQL", stores, args)
                finally:
                    for catalog, _ in stores.values():
                        catalog.dispose()
            finally:
                server.stop()
    print(
        f"\n{args.prefill:,} calls prefilled; {args.rounds} rounds of {args.rows:,} fresh calls "
        f"per store in batches of {args.batch} (store_rows, as CallLog's writer), each batch "
        "to both stores in turn (ABBA)"
    )
    print("| back end | index | rows/s (median) | / 0006 | range | size at the end |")
    print("|---|---|---:|---:|---:|---|")
    print("\n".join(lines))
    if skipped:
        print(skipped)


if __name__ == "__main__":
    main()
