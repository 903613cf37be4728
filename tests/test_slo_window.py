"""The SLO figures from two scans equal the ones from the four queries they replace.

``aggregate_window`` (issue 20, target 7) derives the fallback rate's denominator
(served calls per model the policy chose) and the breakdowns from one grouped scan of
the exceptional calls (:func:`clearance.catalog.callstats.exceptional_counts`) instead of
grouping every served call again (``routed_counts``) and scanning twice more
(``failure_counts``, ``fallback_counts``). Here the old composition is the oracle, on
seeded random traffic with fallbacks between models (one answered by the model that
failed over, one for a model that served nothing itself), failures and refusals without
a model, over every grouping, with and without an org or model filter, on both dialects.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import sqlite3
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from clearance.catalog import callstats
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.sqlite_aggregates import (
    percentile_function,
    percentiles_function,
    read_percentiles,
    register,
)
from clearance.slo import CallFilter, Group, aggregate_calls, breakdown_calls
from clearance.slo.aggregate import Breakdown, aggregate_window, group_of, ranked

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MODELS = ("p:a", "p:b", "p:c", None)
ORGS = ("acme", "globex", None)
GROUPINGS: tuple[tuple[Any, ...], ...] = ((), ("model",), ("org",), ("model", "org"))


def _calls(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for number in range(400):
        requested = rng.choice(MODELS)
        status = rng.choices(["ok", "error", "refused"], [8, 2, 1])[0]
        served = requested if status == "ok" else None
        fallback_from = None
        if status == "ok" and requested is not None and rng.random() < 0.2:
            served = rng.choice(["p:a", "p:b", "p:d"])  # p:d only ever answers for others
            fallback_from = rng.choice([requested, "p:e"])  # p:e never serves itself
        if status == "ok" and served is None:
            served = "p:a"
        rows.append(
            {
                "call_id": f"s{seed}-{number}",
                "started_at": T0 + dt.timedelta(seconds=rng.randint(-600, 4200)),
                "status": status,
                "org_id": rng.choice(ORGS),
                "requested_model": requested,
                "served_model": served,
                "fallback_from": fallback_from,
                "fallback_reason": rng.choice(["rate_limited", "server_error", None])
                if fallback_from or status == "error"
                else None,
                "error_kind": rng.choice(["timeout", "policy", None]) if status != "ok" else None,
                "latency_ms": rng.uniform(10, 900) if status == "ok" else None,
                "eval_run_id": "run-1" if rng.random() < 0.1 else None,
                "tool_calls": 0,
                "tool_calls_valid": 0,
                "escalated": False,
            }
        )
    return rows


def _old(connection: Any, calls: CallFilter, by: tuple[Any, ...]) -> tuple[Any, Any]:
    """The figures as the four queries gave them: (routed per group, breakdowns)."""
    routed = {
        group_of(row, by): (row.routed, row.fallbacks)
        for row in callstats.routed_counts(connection, calls, by)
    }
    tallies: dict[Group, tuple[Counter[str], ...]] = {}
    for failed in callstats.failure_counts(connection, calls, by):
        tally = tallies.setdefault(group_of(failed, by), tuple(Counter() for _ in range(4)))
        kind = failed.error_kind or "(no kind logged)"
        tally[3 if failed.status == "refused" else 2][kind] += failed.n
    for fell_back in callstats.fallback_counts(connection, calls, by):
        tally = tallies.setdefault(group_of(fell_back, by), tuple(Counter() for _ in range(4)))
        tally[0][fell_back.fallback_reason or "(no reason logged)"] += fell_back.n
        tally[1][fell_back.served_model or "(no model logged)"] += fell_back.n
    breakdowns = tuple(
        Breakdown(group, *(ranked(counter) for counter in counters))
        for group, counters in sorted(tallies.items(), key=lambda item: item[0].sort_key)
    )
    return routed, breakdowns


@pytest.mark.parametrize("seed", [1, 2])
def test_two_scans_give_the_four_queries_figures(catalog: Catalog, seed: int) -> None:
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), _calls(seed))
    windows = [
        CallFilter(T0, T0 + dt.timedelta(hours=1)),
        CallFilter(T0, T0 + dt.timedelta(hours=1), include_evals=True),
        CallFilter(T0, T0 + dt.timedelta(hours=1), org="acme"),
        *(CallFilter(T0, T0 + dt.timedelta(hours=1), model=m) for m in ("p:a", "p:d", "p:e")),
    ]
    seen_only_routed = False
    with catalog.connect() as connection:
        for calls in windows:
            for by in GROUPINGS:
                stats, breakdowns = aggregate_window(connection, calls, by)
                routed, expected = _old(connection, calls, by)
                assert breakdowns == expected, (calls, by)
                assert breakdown_calls(connection, calls, by) == expected
                assert aggregate_calls(connection, calls, by) == stats
                got = {s.group: (s.routed, s.fallbacks) for s in stats if s.routed}
                assert got == routed, (calls, by)
                assert all(s.fallbacks == 0 for s in stats if not s.routed)
                totals = {
                    group_of(row, by)
                    for row in callstats.window_totals(connection, calls, by, (0.5,))
                }
                only = {s.group for s in stats} - totals
                assert only == set(routed) - totals, "models routed to that served nothing"
                seen_only_routed |= bool(only)
    assert seen_only_routed, "the traffic has a model that only failed over"


@given(
    st.lists(
        st.one_of(st.none(), st.floats(min_value=0, max_value=1e7, allow_nan=False)),
        max_size=60,
    )
)
@settings(max_examples=60, deadline=None)
def test_percentiles_read_at_once_equal_each_percentile_alone(values: list[float | None]) -> None:
    fractions = (0.5, 0.95, 0.99)
    db = sqlite3.connect(":memory:")
    try:
        register(db, fractions)
        db.execute("CREATE TABLE v (x REAL)")
        db.executemany("INSERT INTO v VALUES (?)", [(value,) for value in values])
        singles = ", ".join(f"{percentile_function(f)}(x)" for f in fractions)
        alone = db.execute(f"SELECT {singles} FROM v").fetchone()
        (together,) = db.execute(f"SELECT {percentiles_function(fractions)}(x) FROM v").fetchone()
    finally:
        db.close()
    assert read_percentiles(together, len(fractions)) == tuple(alone)


def _served(seed: int) -> list[dict[str, Any]]:
    """Served calls with tied latencies and costs, some logged without a served model."""
    rng = random.Random(seed)
    return [
        {
            "call_id": f"v{seed}-{number}",
            "started_at": T0 + dt.timedelta(seconds=rng.randint(-600, 4200)),
            "status": rng.choice(["ok", "ok", "ok", "error"]),
            "org_id": rng.choice(ORGS),
            "requested_model": rng.choice(MODELS),
            "served_model": rng.choice(["p:a", "p:b", None]),
            "latency_ms": rng.choice([None, 100.0, 250.0, 900.0, rng.uniform(1, 999)]),
            "cost": rng.choice(
                [None, Decimal("0.5"), Decimal("0.25"), Decimal(rng.randint(1, 99))]
            ),
            "eval_run_id": "run-1" if rng.random() < 0.1 else None,
            "tool_calls": 0,
            "tool_calls_valid": 0,
            "escalated": False,
        }
        for number in range(300)
    ]


@pytest.mark.parametrize("offence", ["slow", "costly"])
@pytest.mark.parametrize("above", [None, 200.0, 0.3])
def test_served_offences_read_per_model_rank_as_the_whole_window(
    catalog: Catalog, offence: callstats.Offence, above: float | None
) -> None:
    rows = _served(3)
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), rows)
    calls = CallFilter(T0, T0 + dt.timedelta(hours=1))
    groups = [Group(("model",), model=m) for m in MODELS]
    with catalog.connect() as connection:
        found = callstats.offending_rows(
            connection, calls, ("model",), groups, offence, above=above, per_group=4
        )
        ids = dict(connection.execute(select(t.ai_calls.c.call_id, t.ai_calls.c.id)).all())
    expected = []
    for group in groups:
        mine = [
            row
            for row in rows
            if T0 <= row["started_at"] < T0 + dt.timedelta(hours=1)
            and row["eval_run_id"] is None
            and row["status"] == "ok"
            and (row["served_model"] or row["requested_model"]) == group.model
        ]
        if offence == "slow":
            mine = [r for r in mine if r["latency_ms"] is not None]
            mine = [r for r in mine if above is None or r["latency_ms"] > above]
            mine.sort(key=lambda r: (r["latency_ms"], ids[r["call_id"]]), reverse=True)
        else:
            mine = [r for r in mine if r["cost"] is not None]
            mine = [r for r in mine if above is None or float(r["cost"]) > above]
            mine.sort(key=lambda r: (float(r["cost"]), ids[r["call_id"]]), reverse=True)
        expected += [(group.model, rank, r["call_id"]) for rank, r in enumerate(mine[:4], 1)]

    def key(entry: tuple[str | None, int, str]) -> tuple[bool, str, int]:
        return (entry[0] is None, entry[0] or "", entry[1])

    got = sorted(((row.model, row.rank, row.call_id) for row in found), key=key)
    assert got == sorted(expected, key=key)
    assert any(model is None for model, _, _ in got) or offence == "costly"
    assert [row.rank for row in found] == sorted(row.rank for row in found), "ranked first"


def _grouped_totals(connection: Any, calls: CallFilter, by: tuple[Any, ...]) -> Any:
    """The window's figures from one grouped scan (the query before the per-model reads)."""
    native = callstats._prepare(connection, (0.5, 0.95))
    query = callstats._totals_query(native, (0.5, 0.95), by, callstats.where_window(calls))
    return callstats._totals(connection, [query], 2)


@pytest.mark.parametrize("seed", [4, 5])
def test_per_model_totals_equal_one_grouped_scan(catalog: Catalog, seed: int) -> None:
    """Grouped by model, each served model's calls are aggregated on their own and the
    calls without a served model apart: the figures are the grouped scan's, exactly (spend
    to the last digit, percentiles bit for bit), including a model both parts name."""
    rows = _calls(seed) + _served(seed)
    rng = random.Random(seed)
    for number in range(40):  # p:f: served calls, and failed ones logged without it
        failed = number % 4 == 0
        rows.append(
            {
                "call_id": f"f{seed}-{number}",
                "started_at": T0 + dt.timedelta(seconds=rng.randint(0, 3599)),
                "status": "error" if failed else "ok",
                "org_id": rng.choice(ORGS),
                "requested_model": "p:f",
                "served_model": None if failed else "p:f",
                "latency_ms": None if failed else rng.uniform(1, 999),
                "cost": Decimal(1) / Decimal(7 + number),
                "eval_run_id": None,
                "tool_calls": 0,
                "tool_calls_valid": 0,
                "escalated": False,
            }
        )
    for row in rows:
        row["call_id"] += "-t"
        for column in ("cost", "fallback_from", "fallback_reason", "error_kind"):
            row.setdefault(column, None)
        if row["cost"] is not None and rng.random() < 0.5:  # more digits than 28
            row["cost"] = Decimal("0." + "".join(rng.choice("0123456789") for _ in range(30)))
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), rows)
    windows = [
        CallFilter(T0, T0 + dt.timedelta(hours=1)),
        CallFilter(T0, T0 + dt.timedelta(hours=1), include_evals=True),
        CallFilter(T0, T0 + dt.timedelta(hours=1), org="acme"),
        *(CallFilter(T0, T0 + dt.timedelta(hours=1), model=m) for m in ("p:a", "p:d", "p:e")),
    ]
    both = 0
    with catalog.connect() as connection:
        for calls in windows:
            for by in (("model",), ("model", "org")):
                got = callstats.window_totals(connection, calls, by, (0.5, 0.95))
                expected = _grouped_totals(connection, calls, by)
                key = lambda g: (g.model is None, g.model or "", g.org is None, g.org or "")  # noqa: E731
                assert sorted(got, key=key) == sorted(expected, key=key), (calls, by)
        unserved = connection.execute(
            select(t.ai_calls.c.requested_model)
            .where(t.ai_calls.c.served_model.is_(None), t.ai_calls.c.status == "ok")
            .where(t.ai_calls.c.latency_ms.is_not(None))
        ).all()
        both = len({model for (model,) in unserved} & {"p:a", "p:b"})
        got = callstats.window_totals(connection, windows[0], ("model",), (0.5,))
    spend: dict[str | None, Decimal] = {}
    for row in rows:  # the exact sum, every digit kept, with nothing of the store's
        inside = T0 <= row["started_at"] < T0 + dt.timedelta(hours=1)
        if inside and row["eval_run_id"] is None and row["cost"] is not None:
            model = row["served_model"] or row["requested_model"]
            with decimal.localcontext(prec=decimal.MAX_PREC):
                spend[model] = spend.get(model, Decimal(0)) + row["cost"]
    assert {g.model: g.spend for g in got if g.spend} == spend
    assert both, "a model has served calls logged with and without its served model"
    (merged,) = [g for g in got if g.model == "p:f"]
    assert merged.ok, "p:f served calls"
    assert merged.errors, "and its failed calls, logged without a served model, count with them"


@pytest.mark.parametrize("above", [0.0, 200.0])
def test_slower_counts_per_model_equal_one_grouped_count(catalog: Catalog, above: float) -> None:
    """Served calls slower than a bound, counted per served model and for the calls without
    one apart, are the grouped count's (the query before), over every grouping."""
    rows = _served(6)
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), rows)
    calls = CallFilter(T0, T0 + dt.timedelta(hours=1))
    c = t.ai_calls.c
    with catalog.connect() as connection:
        for by in GROUPINGS:
            groups = [Group(by, model=m, org=o) for m in MODELS for o in ORGS]
            got = callstats.slower_counts(connection, calls, by, groups, above)
            keys = callstats._keys(by)
            query = select(*keys, func.count().label("n")).where(
                *callstats.where_window(calls), c.status == "ok", c.latency_ms > above
            )
            expected = connection.execute(query.group_by(*keys) if keys else query).all()
            want = {callstats._values(row, by): row.n for row in expected if row.n}
            assert {(row.model, row.org): row.n for row in got} == want, by
            assert len(got) == len(want)
    unserved = [r for r in rows if r["served_model"] is None and r["status"] == "ok"]
    assert any(r["latency_ms"] for r in unserved), "served calls logged without their model"


def test_per_model_reads_leave_the_planner_settings_as_they_were(catalog: Catalog) -> None:
    """PostgreSQL reads the window model by model without JIT or sequential scans (for
    that statement only): the caller's settings are back afterwards, and the figures and
    examples are the same as read with the caller's settings."""
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), _served(7))
    calls = CallFilter(T0, T0 + dt.timedelta(hours=1))
    groups = [Group(("model",), model=m) for m in MODELS]
    with catalog.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        settings = ("jit", "enable_seqscan")
        if postgres:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        before = [_setting(connection, name) for name in settings] if postgres else []
        totals = callstats.window_totals(connection, calls, ("model",), (0.5, 0.95))
        slowest = callstats.offending_rows(connection, calls, ("model",), groups, "slow")
        slower = callstats.slower_counts(connection, calls, ("model",), groups, 200.0)
        if postgres:
            assert [_setting(connection, name) for name in settings] == before
            assert before[1] == "on"

    def key(totals: Any) -> tuple[bool, str]:
        return (totals.model is None, totals.model or "")

    assert sorted(totals, key=key) == sorted(_grouped_totals_of(catalog, calls), key=key)
    assert slowest
    assert slower


def _setting(connection: Any, name: str) -> str:
    return str(connection.execute(select(func.current_setting(name))).scalar())


def _grouped_totals_of(catalog: Catalog, calls: CallFilter) -> Any:
    with catalog.connect() as connection:
        return _grouped_totals(connection, calls, ("model",))
