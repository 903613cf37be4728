"""``snapshot_counts``: served calls per model and reported snapshot, on SQLite and
PostgreSQL alike (live calls only, the window half-open, NULL snapshots a group of their
own, the first and last call of each as aware UTC times)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.callstats import SnapshotCount, snapshot_counts
from clearance.catalog.database import Catalog
from clearance.slo import CallFilter

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR = CallFilter(T0, T0 + dt.timedelta(hours=1))


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def seed(catalog: Catalog, calls: list[tuple[str, float, dict[str, Any]]]) -> None:
    rows = [
        {
            "call_id": call_id,
            "started_at": at(minutes),
            "status": "ok",
            "org_id": "acme",
            "model_snapshot": None,
            "eval_run_id": None,
            **fields,
        }
        for call_id, minutes, fields in calls
    ]
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), rows)


CALLS: list[tuple[str, float, dict[str, Any]]] = [
    ("a1", 1, {"served_model": "p:a", "model_snapshot": "a@fp_1"}),
    ("a2", 9, {"served_model": "p:a", "model_snapshot": "a@fp_1"}),
    ("a3", 20, {"served_model": "p:a", "model_snapshot": "a@fp_2", "org_id": "beta"}),
    ("a4", 30, {"served_model": "p:a"}),  # the provider reported no snapshot
    ("a5", 31, {"served_model": "p:a", "model_snapshot": None}),
    ("a6", 40, {"served_model": "p:a", "model_snapshot": "a@fp_9", "eval_run_id": "run-1"}),
    ("a7", 41, {"served_model": "p:a", "status": "error", "model_snapshot": "a@fp_8"}),
    ("b1", 5, {"served_model": "p:b", "model_snapshot": "b-2025"}),
    ("c1", 6, {"served_model": "p:c", "model_snapshot": "c-1"}),  # not asked about
    ("early", -1 / 60e6, {"served_model": "p:a", "model_snapshot": "a@fp_0"}),
    ("late", 60, {"served_model": "p:a", "model_snapshot": "a@fp_0"}),
]


def test_served_live_calls_per_model_and_snapshot_with_first_and_last(catalog: Catalog) -> None:
    seed(catalog, CALLS)
    with catalog.connect() as connection:
        found = snapshot_counts(connection, HOUR, ["p:b", "p:a", "p:a"])
    assert found == [
        SnapshotCount("p:a", "a@fp_1", 2, at(1), at(9)),
        SnapshotCount("p:a", "a@fp_2", 1, at(20), at(20)),
        SnapshotCount("p:a", None, 2, at(30), at(31)),
        SnapshotCount("p:b", "b-2025", 1, at(5), at(5)),
    ]
    assert all(count.first_at.tzinfo is not None for count in found)


def test_the_window_s_org_and_model_narrow_it_and_no_model_reads_nothing(
    catalog: Catalog,
) -> None:
    seed(catalog, CALLS)
    with catalog.connect() as connection:
        beta = snapshot_counts(connection, CallFilter(HOUR.since, HOUR.until, org="beta"), ["p:a"])
        only_b = snapshot_counts(
            connection, CallFilter(HOUR.since, HOUR.until, model="p:b"), ["p:a", "p:b"]
        )
        none = snapshot_counts(connection, HOUR, [])
    assert beta == [SnapshotCount("p:a", "a@fp_2", 1, at(20), at(20))]
    assert only_b == [SnapshotCount("p:b", "b-2025", 1, at(5), at(5))]
    assert none == []
