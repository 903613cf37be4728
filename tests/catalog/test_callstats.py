"""The SLO and report aggregates over ``ai_calls``, read straight from the store, on both
back ends (the figures' meaning is tested through clearance.slo in tests/test_slo.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from clearance.catalog import callstats
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SERIAL = iter(range(1_000_000))


@dataclass(frozen=True)
class Window:
    since: dt.datetime = T0
    until: dt.datetime = T0 + dt.timedelta(hours=1)
    org: str | None = None
    model: str | None = None
    include_evals: bool = False


@dataclass(frozen=True)
class Values:
    model: str | None
    org: str | None = None


def call(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "call_id": f"c{next(SERIAL)}",
        "started_at": T0 + dt.timedelta(minutes=1),
        "status": "ok",
        "org_id": "acme",
        "requested_model": "p:a",
        "served_model": "p:a",
        "fallback_from": None,
        "fallback_reason": None,
        "error_kind": None,
        "cost": None,
        "pricing_source": None,
        "price_id": None,
        "latency_ms": None,
        "eval_run_id": None,
        "tool_calls": 0,
        "tool_calls_valid": 0,
        "escalated": False,
    }
    base.update(values)
    return base


def store(catalog: Catalog, *rows: dict[str, Any]) -> None:
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), list(rows))


def test_an_empty_window_has_no_group_even_ungrouped(catalog: Catalog) -> None:
    with catalog.connect() as connection:
        assert callstats.window_totals(connection, Window(), (), (0.5,)) == []
        assert callstats.routed_counts(connection, Window(), ()) == []


def test_window_totals_per_model_and_org_exact_in_the_database(catalog: Catalog) -> None:
    store(
        catalog,
        call(cost=Decimal("0.1"), latency_ms=10.0),
        call(cost=Decimal("0.2"), latency_ms=30.0, pricing_source="estimated"),
        call(status="error", served_model=None, error_kind="timeout"),
        call(org_id="other", requested_model="p:b", served_model=None, status="refused"),
        call(started_at=T0 + dt.timedelta(hours=1)),  # past the window
        call(eval_run_id="run-1"),  # an eval run's call
    )
    with catalog.connect() as connection:
        rows = callstats.window_totals(connection, Window(), ("model", "org"), (0.5, 0.95))
    found = {(row.model, row.org): row for row in rows}
    assert set(found) == {("p:a", "acme"), ("p:b", "other")}
    a = found["p:a", "acme"]
    assert (a.calls, a.ok, a.errors, a.refused, a.unpriced) == (3, 2, 1, 0, 0)
    assert a.spend == Decimal("0.3")  # exact: 0.1 + 0.2 in floats is not 0.3
    assert (a.estimated, a.estimated_spend, a.default_priced) == (1, Decimal("0.2"), 1)
    assert (a.latency_n, a.percentiles) == (2, (20.0, 29.0))
    b = found["p:b", "other"]
    assert (b.calls, b.refused, b.spend, b.percentiles) == (1, 1, Decimal(0), (None, None))


def test_fallback_figures_count_for_the_model_the_policy_chose(catalog: Catalog) -> None:
    store(
        catalog,
        call(served_model="p:b", fallback_from="p:a", fallback_reason="timeout"),
        call(served_model="p:b", fallback_from="p:a", fallback_reason="timeout"),
        call(),
        call(status="error", error_kind="rate_limited"),
        call(status="refused", served_model=None, error_kind="killed"),
    )
    with catalog.connect() as connection:
        routed = callstats.routed_counts(connection, Window(model="p:a"), ("model",))
        fell_back = callstats.fallback_counts(connection, Window(model="p:a"), ("model",))
        failed = callstats.failure_counts(connection, Window(), ("model",))
    assert routed == [callstats.RoutedCount("p:a", None, routed=3, fallbacks=2)]
    assert fell_back == [callstats.FallbackCount("p:a", None, "timeout", "p:b", 2)]
    assert sorted((row.status, row.error_kind, row.n) for row in failed) == [
        ("error", "rate_limited", 1),
        ("refused", "killed", 1),
    ]


def test_offending_rows_keep_the_most_telling_per_group_above_the_bound(
    catalog: Catalog,
) -> None:
    store(
        catalog,
        *(call(latency_ms=float(ms)) for ms in (100, 300, 200, 50)),
        call(served_model="p:b", latency_ms=400.0),
        call(served_model="p:c", latency_ms=900.0),  # a group not asked about
    )
    groups = [Values("p:a"), Values("p:b")]
    with catalog.connect() as connection:
        rows = callstats.offending_rows(
            connection, Window(), ("model",), groups, "slow", above=75.0, per_group=2
        )
        slower = callstats.slower_counts(connection, Window(), ("model",), groups, 150.0)
        none = callstats.offending_rows(connection, Window(), ("model",), [], "slow")
    assert [row.rank for row in rows] == [1, 1, 2]  # every group's first, then seconds
    assert sorted((row.rank, row.model, row.latency_ms) for row in rows) == [
        (1, "p:a", 300.0),
        (1, "p:b", 400.0),
        (2, "p:a", 200.0),
    ]
    assert sorted((row.model, row.n) for row in slower) == [("p:a", 2), ("p:b", 1)]
    assert none == []


@pytest.mark.parametrize("tagged", [True, False])
def test_run_call_pricing_reads_the_runs_calls(catalog: Catalog, tagged: bool) -> None:
    run = "run-1" if tagged else None
    store(
        catalog,
        call(eval_run_id=run, cost=Decimal("0.5"), pricing_source="catalog", price_id=None),
        call(eval_run_id=run, cost=Decimal("0.25"), pricing_source="estimated"),
        call(eval_run_id=run, pricing_source="default"),
        call(eval_run_id=run, served_model="p:other"),  # not one of the models asked
        call(started_at=T0 + dt.timedelta(hours=2)),  # untagged, after the run
    )
    with catalog.connect() as connection:
        found = callstats.run_call_pricing(
            connection,
            "run-1",
            started_at=T0,
            ended_at=T0 + dt.timedelta(hours=1),
            models=["p:a"],
        )
    assert sorted((c.pricing_source, c.without_price_id, c.calls) for c in found.counts) == [
        ("catalog", True, 1),
        ("default", True, 1),
        ("estimated", True, 1),
    ]
    assert found.estimated_costs == (callstats.EstimatedCost("p:a", Decimal("0.25")),)
