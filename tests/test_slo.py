"""SLOs on live traffic: the objectives file, the aggregates on both back ends, the check.

The aggregates are checked against figures worked out by hand for a small set of
``ai_calls`` rows (:data:`CALLS`), on SQLite and on PostgreSQL: the same expected
values, to the last bit for the percentiles and exactly for money.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.errors import ConfigError, InputError
from clearance.slo import (
    METRICS,
    CallFilter,
    Group,
    SloPolicy,
    aggregate_calls,
    breakdown_calls,
    check_slos,
    decimal_sum,
    format_duration,
    load_slo_policy,
    parse_duration,
    percentile_cont,
    window_bounds,
)

ROOT = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR = CallFilter(T0, T0 + dt.timedelta(hours=1))
A, B = "p:a", "p:b"

_DEFAULTS: dict[str, Any] = {
    "org_id": None,
    "requested_model": None,
    "served_model": None,
    "error_kind": None,
    "cost": None,
    "pricing_source": None,
    "latency_ms": None,
    "fallback_reason": None,
    "fallback_from": None,
    "tool_calls": 0,
    "tool_calls_valid": 0,
    "escalated": False,
    "extra": None,
}

SCHEMA_VIOLATION = {
    "tool_calls": [
        {"name": "weather", "valid": False, "error": "schema_violation", "pointer": "/days"}
    ]
}


def ok(model: str, **fields: Any) -> dict[str, Any]:
    """A served call of ``model`` (requested as itself unless said otherwise)."""
    return {"status": "ok", "served_model": model, "requested_model": model, **fields}


def failed(model: str | None, kind: str, status: str = "error", **fields: Any) -> dict[str, Any]:
    """A call that failed (or was refused) while ``model`` was the router's choice."""
    return {"status": status, "requested_model": model, "error_kind": kind, **fields}


# (call id, minutes after T0, fields). The hand-worked figures are in the tests.
CALLS: list[tuple[str, float, dict[str, Any]]] = [
    # p:a: 4 served, 1 failed, 1 refused
    ("a1", 0, ok(A, org_id="acme", cost=Decimal("0.0010"), pricing_source="catalog",
                 latency_ms=100.0, tool_calls=2, tool_calls_valid=2)),
    ("a2", 5, ok(A, org_id="acme", cost=Decimal("0.0020"), pricing_source="catalog",
                 latency_ms=200.0, tool_calls=1, tool_calls_valid=0, extra=SCHEMA_VIOLATION)),
    ("a3", 10, ok(A, org_id="beta", cost=Decimal("0.0000125"), pricing_source="default",
                  latency_ms=300.0, escalated=True)),
    ("a4", 15, ok(A, org_id="beta")),  # no cost, no latency
    # tried its fallbacks and still failed: an error, not a fallback
    ("a5", 20, failed(A, "timeout", org_id="acme", latency_ms=5000.0, fallback_reason="timeout")),
    ("a6", 25, failed(A, "killed", status="refused", org_id="acme", latency_ms=0.5)),
    # p:b: 3 served (one as a fallback for p:a), 1 failed
    ("b1", 30, ok(B, org_id="acme", requested_model=A, fallback_from=A,
                  fallback_reason="rate_limit", cost=Decimal("0.003"), pricing_source="catalog",
                  latency_ms=400.0)),
    ("b2", 35, ok(B, org_id="beta", cost=Decimal("0.004"), pricing_source="catalog",
                  latency_ms=500.0, escalated=True)),
    ("b3", 40, ok(B, org_id="beta", cost=Decimal("0.1"), pricing_source="default",
                  latency_ms=600.0)),
    ("b4", 45, failed(B, "rate_limit", org_id="beta", latency_ms=50.0)),
    # refused before any model was chosen
    ("n1", 50, failed(None, "NoModelAvailable", status="refused", latency_ms=1.0)),
    # outside [T0, T0 + 1h): one microsecond early, and exactly at the end
    ("early", -1 / 60e6, ok(A, org_id="acme", cost=Decimal("1"), latency_ms=99999.0)),
    ("late", 60, ok(A, org_id="acme", cost=Decimal("1"), latency_ms=99999.0)),
]  # fmt: skip

# percentile_cont with PostgreSQL's arithmetic: lo + (f·(n-1) - floor) · (hi - lo)
P95_OF_3 = 0.95 * 2 - 1  # the fraction between the 2nd and 3rd of three values


def seed(catalog: Catalog, calls: list[tuple[str, float, dict[str, Any]]] = CALLS) -> None:
    rows = [
        {
            **_DEFAULTS,
            "call_id": call_id,
            "started_at": T0 + dt.timedelta(minutes=minutes),
            **fields,
        }
        for call_id, minutes, fields in calls
    ]
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), rows)


def policy(text: str, tmp_path: Path) -> SloPolicy:
    path = tmp_path / "slo.yaml"
    path.write_text(text)
    return load_slo_policy(path)


def config_error(text: str, tmp_path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        policy(text, tmp_path)
    return caught.value


# --- the objectives file ---------------------------------------------------------------


def test_the_shipped_objectives_file_covers_every_core_metric() -> None:
    shipped = load_slo_policy(ROOT / "gates" / "slo.yaml")
    assert shipped.window == dt.timedelta(hours=1)
    assert shipped.min_calls == 20
    assert shipped.group_by == ("model",)
    bounds = {o.metric: (o.info.bound, o.threshold) for o in shipped.objectives}
    assert bounds == {
        "tool_success_rate": ("min", Decimal("0.98")),
        "fallback_rate": ("max", Decimal("0.05")),
        "error_rate": ("max", Decimal("0.02")),
        "escalation_rate": ("max", Decimal("0.05")),
        "p95_latency_ms": ("max", Decimal("8000")),
        "avg_cost_per_message_usd": ("max", Decimal("0.02")),
        "spend_usd": ("max", Decimal("50")),
    }
    assert shipped.source_hash is not None
    assert len(shipped.source_hash) == 64


def test_thresholds_are_exact_and_filters_and_groupings_are_read(tmp_path: Path) -> None:
    read = policy(
        "version: 1\nwindow: 1h30m\nmin_calls: 5\ngroup_by: model+org\nobjectives:\n"
        "  - {metric: avg_cost_per_message_usd, max: 0.1, models: [p:a], min_calls: 2}\n"
        "  - {metric: error_rate, max: 0.02, orgs: [acme]}\n",
        tmp_path,
    )
    assert read.window == dt.timedelta(minutes=90)
    assert read.group_by == ("model", "org")
    cost, errors = read.objectives
    assert cost.max == Decimal("0.1")  # the written text, never the float 0.1000000000000000055
    assert (cost.models, cost.min_calls, errors.orgs) == (("p:a",), 2, ("acme",))
    assert cost.label == "avg_cost_per_message_usd <= 0.1 [models: p:a]"
    # [org, model] is the same grouping, in the canonical order
    assert policy(
        "version: 1\ngroup_by: [org, model]\nobjectives: [{metric: spend_usd, max: 1}]\n",
        tmp_path,
    ).group_by == ("model", "org")


@pytest.mark.parametrize(
    ("text", "key", "message", "fix"),
    [
        (
            "version: 1\nobjectives:\n  - {metric: error_rte, max: 0.02}\n",
            "objectives.0.metric",
            "unknown metric 'error_rte' at line 3",
            "did you mean 'error_rate'?",
        ),
        (
            "version: 1\nobjectives:\n  - metric: error_rate\n    maxx: 0.02\n",
            "objectives.0.maxx",
            "unknown key 'maxx' at line 4",
            "did you mean 'max'?",
        ),
        (
            "version: 1\nwindw: 1h\nobjectives: [{metric: error_rate, max: 0.02}]\n",
            "windw",
            "unknown key 'windw' at line 2",
            "did you mean 'window'?",
        ),
        (
            "version: 1\nobjectives:\n  - {metric: error_rate, min: 0.02}\n",
            "objectives.0.min",
            "error_rate is better lower, so it takes max, not min",
            "write max: instead of min:",
        ),
        (
            "version: 1\nobjectives:\n  - {metric: tool_success_rate, min: 98}\n",
            "objectives.0.min",
            "got 98: a rate is between 0 and 1",
            "write a rate between 0 and 1, e.g. 0.02",
        ),
        (
            "version: 1\nobjectives:\n  - {metric: p95_latency_ms}\n",
            "objectives.0.max",
            "no threshold for p95_latency_ms",
            "add max: 8000",
        ),
        (
            "version: 1\nwindow: an hour\nobjectives: [{metric: error_rate, max: 0.02}]\n",
            "window",
            "'an hour' is not a duration",
            "e.g. 15m, 1h, 24h, 7d",
        ),
        (
            "version: 1\ngroup_by: [org]\nobjectives:\n  - {metric: error_rate, max: 0.02}\n"
            "  - {metric: spend_usd, max: '5', models: [p:a]}\n",
            "objectives.1.models",
            "objective 1 names models, but groups are not by model at line 5",
            "add model to group_by, or remove models from the objective",
        ),
        (
            "version: 1\ngroup_by: [region]\nobjectives: [{metric: error_rate, max: 0.02}]\n",
            "group_by",
            "unknown dimension 'region'",
            "group by [model], [org], [model, org]",
        ),
        (
            "version: 2\nobjectives: [{metric: error_rate, max: 0.02}]\n",
            "version",
            "got 2 at line 1",
            "write `version: 1`",
        ),
        (
            "version: 1\nobjectives: []\n",
            "objectives",
            "got [] at line 2",
            "write a list of objectives",
        ),
        (
            "version: 1\nmin_calls: true\nobjectives: [{metric: error_rate, max: 0.02}]\n",
            "min_calls",
            "a number is required, not true/false",
            "write a number",
        ),
    ],
)
def test_a_bad_objectives_file_names_the_key_the_line_and_the_fix(
    tmp_path: Path, text: str, key: str, message: str, fix: str
) -> None:
    error = config_error(text, tmp_path)
    assert error.source == str(tmp_path / "slo.yaml")
    assert error.key == key
    assert message in error.message
    assert error.fix is not None
    assert fix in error.fix


def test_a_file_that_is_not_a_mapping_or_repeats_a_key_is_refused(tmp_path: Path) -> None:
    assert "the file is empty" in config_error("", tmp_path).message
    repeated = config_error(
        "version: 1\nwindow: 1h\nwindow: 2h\nobjectives: [{metric: error_rate, max: 0.02}]\n",
        tmp_path,
    )
    assert (repeated.key, "duplicate key 'window' at line 3" in repeated.message) == (
        "window",
        True,
    )
    with pytest.raises(ConfigError, match="cannot read"):
        load_slo_policy(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h", 3600), ("24h", 86400), ("7d", 604800), ("1h30m", 5400), ("2w", 1209600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)
    assert parse_duration(format_duration(dt.timedelta(seconds=seconds))).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "1x", "1.5h", "-1h", "0m", "1h 30"])
def test_a_bad_duration_names_where_it_came_from(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_duration(text, where="--window")
    assert caught.value.message.startswith("--window: ")
    assert caught.value.fix is not None
    assert "15m, 1h, 24h, 7d" in caught.value.fix


def test_window_bounds(tmp_path: Path) -> None:
    read = policy("version: 1\nwindow: 2h\nobjectives: [{metric: error_rate, max: 1}]\n", tmp_path)
    now = T0 + dt.timedelta(hours=5)
    hour = dt.timedelta(hours=1)
    assert window_bounds(read, now=now) == (now - 2 * hour, now)
    assert window_bounds(read, window=hour, now=now) == (now - hour, now)
    assert window_bounds(read, since=T0, now=now) == (T0, now)
    assert window_bounds(read, since=T0, window=hour, now=now) == (T0, T0 + hour)
    assert window_bounds(read, until=T0, now=now) == (T0 - 2 * hour, T0)
    with pytest.raises(InputError, match="before it starts"):
        CallFilter(T0, T0)
    with pytest.raises(InputError, match="no timezone"):
        CallFilter(T0.replace(tzinfo=None), T0 + hour)


# --- the SQLite stand-ins ----------------------------------------------------------------


def test_percentile_cont_by_hand() -> None:
    assert percentile_cont([], 0.95) is None
    assert percentile_cont([7.0], 0.95) == 7.0
    assert percentile_cont([300.0, 100.0, 200.0], 0.5) == 200.0
    assert percentile_cont([300.0, 100.0, 200.0], 0.95) == 200.0 + P95_OF_3 * 100.0
    assert percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.sampled_from([0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0]),
)
def test_percentile_cont_agrees_with_pandas(values: list[float], fraction: float) -> None:
    ours = percentile_cont(values, fraction)
    assert ours == pytest.approx(pd.Series(values).quantile(fraction), rel=1e-12, abs=1e-9)
    assert min(values) <= (ours or 0.0) <= max(values)


def test_decimal_sum_is_exact_past_28_digits() -> None:
    tiny = "0.0000000000000000000000000000001"
    assert decimal_sum([None, None]) is None
    assert decimal_sum(["1000000000", tiny, None, Decimal("0.1")]) == Decimal(
        "1000000000.1000000000000000000000000000001"
    )
    assert sum([0.1, 0.003, 0.004]) != 0.107  # what a float sum would have given
    assert decimal_sum(["0.1", "0.003", "0.004"]) == Decimal("0.107")


# --- aggregates on both back ends ----------------------------------------------------------


def stats_by_label(catalog: Catalog, calls: CallFilter, by: Any = ("model",)) -> dict[str, Any]:
    with catalog.connect() as connection:
        return {s.group.label: s for s in aggregate_calls(connection, calls, by)}


def test_aggregates_per_model_match_the_hand_worked_figures(catalog: Catalog) -> None:
    seed(catalog)
    stats = stats_by_label(catalog, HOUR)
    assert list(stats) == [A, B, "(no model)"]  # early and late are outside the window
    a, b, none = stats[A], stats[B], stats["(no model)"]
    # p:a: a1..a6
    assert (a.calls, a.ok, a.errors, a.refused, a.attempted) == (6, 4, 1, 1, 5)
    # b1 was routed to p:a and answered by p:b: p:a's fallback, counted against p:a
    assert (a.routed, a.fallbacks) == (5, 1)
    assert (a.tool_calls, a.tool_calls_valid, a.escalated) == (3, 2, 1)
    assert a.spend_usd == Decimal("0.0030125")  # 0.0010 + 0.0020 + 0.0000125
    assert (a.default_priced, a.unpriced, a.latency_n) == (1, 1, 3)
    assert a.p50_latency_ms == 200.0
    assert a.p95_latency_ms == 200.0 + P95_OF_3 * 100.0  # ≈ 290, bit for bit on both
    assert a.error_rate == 1 / 5
    assert a.fallback_rate == 1 / 5
    assert a.escalation_rate == 1 / 4
    assert a.tool_success_rate == 2 / 3
    assert a.avg_cost_per_message_usd == Decimal("0.000753125")  # 0.0030125 / 4
    # p:b: b1..b4; b1 is a fallback for p:a: served here, so its cost, latency and
    # tokens count here, but p:b's fallback rate is about the calls routed to p:b
    assert (b.calls, b.ok, b.errors, b.refused, b.escalated) == (4, 3, 1, 0, 1)
    assert (b.routed, b.fallbacks) == (2, 0)
    assert b.spend_usd == Decimal("0.107")  # exact: a float sum gives 0.10700000000000001
    assert (b.default_priced, b.unpriced) == (1, 0)
    assert (b.p50_latency_ms, b.p95_latency_ms) == (500.0, 500.0 + P95_OF_3 * 100.0)
    assert b.tool_success_rate is None  # no tool calls: nothing to measure
    assert b.fallback_rate == 0.0
    assert b.error_rate == 1 / 4
    assert b.avg_cost_per_message_usd == Decimal("0.107") / 3
    # the refusal before any model was chosen
    assert (none.calls, none.refused, none.attempted, none.spend_usd) == (1, 1, 0, Decimal(0))
    assert (none.error_rate, none.p95_latency_ms, none.avg_cost_per_message_usd) == (
        None,
        None,
        None,
    )


def test_aggregates_per_org_per_pair_and_for_the_platform(catalog: Catalog) -> None:
    seed(catalog)
    orgs = stats_by_label(catalog, HOUR, ("org",))
    assert list(orgs) == ["acme", "beta", "(no org)"]
    acme, beta = orgs["acme"], orgs["beta"]
    assert (acme.calls, acme.ok, acme.errors, acme.refused, acme.fallbacks) == (5, 3, 1, 1, 1)
    assert acme.spend_usd == Decimal("0.006")
    assert (beta.calls, beta.ok, beta.errors, beta.escalated) == (5, 4, 1, 2)
    assert beta.spend_usd == Decimal("0.1040125")
    pairs = stats_by_label(catalog, HOUR, ("model", "org"))
    assert {label: s.calls for label, s in pairs.items()} == {
        "p:a / acme": 4,
        "p:a / beta": 2,
        "p:b / acme": 1,
        "p:b / beta": 3,
        "(no model) / (no org)": 1,
    }
    (everything,) = stats_by_label(catalog, HOUR, ()).values()
    assert everything.group == Group()
    assert (everything.calls, everything.spend_usd) == (11, Decimal("0.1100125"))
    # six served latencies 100..600: p50 between the 3rd and 4th, p95 at 4.75
    assert everything.p50_latency_ms == 350.0
    assert everything.p95_latency_ms == 500.0 + (0.95 * 5 - 4) * 100.0


def test_the_window_is_half_open_and_filters_apply(catalog: Catalog) -> None:
    seed(catalog)
    wide = CallFilter(T0 - dt.timedelta(minutes=1), T0 + dt.timedelta(hours=2))
    assert stats_by_label(catalog, wide)[A].calls == 8  # early and late now count
    assert stats_by_label(catalog, wide)[A].spend_usd == Decimal("2.0030125")
    first = CallFilter(T0, T0 + dt.timedelta(minutes=5))  # a1 at T0 in, a2 at +5 min out
    assert {k: s.calls for k, s in stats_by_label(catalog, first).items()} == {A: 1}
    acme = CallFilter(HOUR.since, HOUR.until, org="acme")
    assert {k: s.calls for k, s in stats_by_label(catalog, acme).items()} == {A: 4, B: 1}
    only_b = CallFilter(HOUR.since, HOUR.until, model=B)
    assert {k: s.calls for k, s in stats_by_label(catalog, only_b, ("org",)).items()} == {
        "acme": 1,
        "beta": 3,
    }


def test_an_eval_runs_calls_are_not_live_traffic(catalog: Catalog) -> None:
    seed(catalog)
    evals = [
        (f"e{i}", 10 + i, ok(A, org_id="acme", cost=Decimal("5"), latency_ms=9000.0,
                            eval_run_id="run-1"))
        for i in range(3)
    ]  # fmt: skip
    seed(catalog, evals)
    live = stats_by_label(catalog, HOUR)[A]
    assert (live.calls, live.spend_usd) == (6, Decimal("0.0030125"))  # as without them
    both = CallFilter(HOUR.since, HOUR.until, include_evals=True)
    counted = stats_by_label(catalog, both)[A]
    assert (counted.calls, counted.spend_usd) == (9, Decimal("15.0030125"))


def test_money_is_summed_exactly_past_28_digits_on_both_back_ends(catalog: Catalog) -> None:
    seed(
        catalog,
        [
            ("x1", 1, ok(A, cost=Decimal("1000000000"))),
            ("x2", 2, ok(A, cost=Decimal("0.0000000000000000000000000000001"))),
            ("x3", 3, ok(A, cost=Decimal("0.1"))),
        ],
    )
    assert stats_by_label(catalog, HOUR)[A].spend_usd == Decimal(
        "1000000000.1000000000000000000000000000001"
    )


def test_breakdowns_give_the_reasons_behind_each_rate(catalog: Catalog) -> None:
    seed(catalog)
    with catalog.connect() as connection:
        found = {b.group.label: b for b in breakdown_calls(connection, HOUR, ("model",))}
    assert list(found) == [A, B, "(no model)"]
    a, b, none = found[A], found[B], found["(no model)"]
    # a5 has a fallback_reason, but failed: it is an error, not a fallback
    assert (a.error_kinds, a.refusal_kinds) == ((("timeout", 1),), (("killed", 1),))
    assert (b.fallback_reasons, b.fallback_to, b.error_kinds) == ((), (), (("rate_limit", 1),))
    # p:a failed over once (b1, rate-limited), and p:b answered instead
    assert (a.fallback_reasons, a.fallback_to) == ((("rate_limit", 1),), ((B, 1),))
    assert none.refusal_kinds == (("NoModelAvailable", 1),)


def test_an_empty_table_gives_no_groups(catalog: Catalog) -> None:
    assert stats_by_label(catalog, HOUR) == {}
    assert stats_by_label(catalog, HOUR, ()) == {}
    with catalog.connect() as connection:
        assert breakdown_calls(connection, HOUR) == ()


# --- the check -----------------------------------------------------------------------------

CHECK = """\
version: 1
min_calls: 1
objectives:
  - {metric: error_rate, max: 0.2}
  - {metric: p95_latency_ms, max: 580}
  - {metric: spend_usd, max: "0.1"}
  - {metric: tool_success_rate, min: 0.9}
  - {metric: escalation_rate, max: 0.3}
  - {metric: fallback_rate, max: 0.1}
  - {metric: avg_cost_per_message_usd, max: "0.01"}
  - {metric: error_rate, max: 0.2, min_calls: 5, models: [p:b, p:zzz]}
"""


def test_every_objective_is_judged_per_group_with_evidence(
    catalog: Catalog, tmp_path: Path
) -> None:
    seed(catalog)
    with catalog.connect() as connection:
        report = check_slos(connection, policy(CHECK, tmp_path), HOUR)
    table = {(r.group.label, r.index): r for r in report.results}
    status = {key: r.status for key, r in table.items()}
    assert status == {
        # error_rate <= 0.2: p:a is exactly at the bound (1 of 5), which meets it
        (A, 0): "ok",
        (B, 0): "breach",
        ("(no model)", 0): "no_data",  # a refusal is not an attempt
        (A, 1): "ok",
        (B, 1): "breach",
        ("(no model)", 1): "no_data",
        (A, 2): "ok",
        (B, 2): "breach",
        ("(no model)", 2): "ok",  # nothing spent is within budget
        (A, 3): "breach",
        (B, 3): "no_data",
        ("(no model)", 3): "no_data",
        (A, 4): "ok",
        (B, 4): "breach",
        ("(no model)", 4): "no_data",
        (A, 5): "breach",  # b1: 1 of the 5 served calls routed to p:a fell back
        (B, 5): "ok",
        ("(no model)", 5): "no_data",
        (A, 6): "ok",
        (B, 6): "breach",
        ("(no model)", 6): "no_data",
        (B, 7): "insufficient_data",  # 4 attempted calls, min_calls 5
        ("p:zzz", 7): "no_data",  # named, but no calls
    }
    assert report.breached
    assert len(report.breaches) == 7

    errors = table[(B, 0)]
    assert (errors.measured, errors.n, errors.threshold) == (0.25, 4, Decimal("0.2"))
    assert errors.evidence.numerator == 1
    assert errors.evidence.reasons == (("rate_limit", 1),)
    assert [(e.call_id, e.detail) for e in errors.evidence.examples] == [("b4", "rate_limit")]
    assert errors.evidence.detail == "1 of 4 attempted calls failed"

    slow = table[(B, 1)]
    assert slow.measured == 500.0 + P95_OF_3 * 100.0
    assert slow.evidence.numerator == 1  # one served call slower than 580 ms
    assert [(e.call_id, e.detail) for e in slow.evidence.examples] == [("b3", "600 ms")]

    spend = table[(B, 2)]
    assert (spend.measured, spend.evidence.numerator) == (Decimal("0.107"), Decimal("0.107"))
    assert [e.call_id for e in spend.evidence.examples] == ["b3", "b2", "b1"]  # costliest first
    assert spend.evidence.examples[0].detail == "0.1 USD (default)"
    assert spend.evidence.reasons == (("priced at the default price", 1),)

    tools = table[(A, 3)]
    assert (tools.measured, tools.evidence.numerator, tools.n) == (2 / 3, 2, 3)
    assert tools.evidence.reasons == (("schema_violation", 1),)
    assert [(e.call_id, e.detail) for e in tools.evidence.examples] == [
        ("a2", "1 of 1 tool calls invalid (weather: schema_violation at /days)")
    ]

    escalations = table[(B, 4)]
    assert [(e.call_id, e.detail) for e in escalations.evidence.examples] == [
        ("b2", "flagged at call time")
    ]

    fallbacks = table[(A, 5)]
    assert (fallbacks.measured, fallbacks.n, fallbacks.evidence.numerator) == (0.2, 5, 1)
    assert fallbacks.evidence.reasons == (("rate_limit", 1),)
    assert fallbacks.evidence.detail == (
        "1 of 5 served calls routed here were answered by a fallback (p:b: 1)"
    )
    assert [(e.call_id, e.detail) for e in fallbacks.evidence.examples] == [
        ("b1", "answered by p:b (rate_limit)")
    ]

    cost = table[(B, 6)]
    assert cost.measured == Decimal("0.107") / 3
    assert (table[(A, 6)].measured, table[(A, 6)].evidence.reasons) == (
        Decimal("0.000753125"),
        (("priced at the default price", 1), ("served without a cost", 1)),
    )
    # only breaches carry example calls
    assert table[(A, 0)].evidence.examples == ()
    assert report.stats(Group(("model",), model=A)) == next(
        g for g in report.groups if g.group.model == A
    )
    breakdown = report.breakdown(Group(("model",), model=A))
    assert breakdown is not None
    assert breakdown.fallback_to == ((B, 1),)


def test_insufficient_data_is_not_a_breach(catalog: Catalog, tmp_path: Path) -> None:
    seed(catalog)
    strict = policy(
        "version: 1\nmin_calls: 10\nobjectives:\n  - {metric: error_rate, max: 0.01}\n"
        "  - {metric: spend_usd, max: '0.05'}\n",
        tmp_path,
    )
    with catalog.connect() as connection:
        report = check_slos(connection, strict, HOUR)
    by_key = {(r.group.label, r.objective.metric): r for r in report.results}
    assert by_key[(A, "error_rate")].status == "insufficient_data"
    assert by_key[(A, "error_rate")].measured == 0.2  # measured and shown, not judged
    assert by_key[(B, "spend_usd")].status == "breach"  # a budget needs no sample
    assert by_key[(B, "spend_usd")].min_calls is None
    assert [r.group.label for r in report.breaches] == [B]


def test_a_group_with_no_calls_of_its_own_has_no_spend_to_judge(
    catalog: Catalog, tmp_path: Path
) -> None:
    # p:down was the router's choice once and served nothing: p:b answered for it
    answered = ok(B, requested_model="p:down", fallback_from="p:down", cost=Decimal("0.01"))
    seed(catalog, [("b1", 0, answered)])
    objectives = "version: 1\nmin_calls: 1\nobjectives:\n  - {metric: spend_usd, max: '1'}\n"
    with catalog.connect() as connection:
        report = check_slos(connection, policy(objectives, tmp_path), HOUR)
    found = {r.group.label: (r.status, r.measured, r.n) for r in report.results}
    assert found == {B: ("ok", Decimal("0.01"), 1), "p:down": ("no_data", None, 0)}


def test_an_empty_table_is_no_data_not_a_crash(catalog: Catalog, tmp_path: Path) -> None:
    shipped = load_slo_policy(ROOT / "gates" / "slo.yaml")
    with catalog.connect() as connection:
        report = check_slos(connection, shipped, HOUR)
    assert [(r.group.label, r.status) for r in report.results] == [("all", "no_data")] * 7
    assert not report.breached
    assert (report.groups, report.breakdowns, report.calls) == ((), (), 0)
    assert report.status_counts() == {"ok": 0, "breach": 0, "insufficient_data": 0, "no_data": 7}


def test_the_report_as_json(catalog: Catalog, tmp_path: Path) -> None:
    seed(catalog)
    with catalog.connect() as connection:
        report = check_slos(connection, policy(CHECK, tmp_path), HOUR, now=T0)
    document = json.loads(json.dumps(report.to_json()))  # plain JSON, no custom encoder
    assert document["window"] == {
        "since": "2026-03-01T12:00:00+00:00",
        "until": "2026-03-01T13:00:00+00:00",
        "duration": "1h",
    }
    assert document["breached"] is True
    assert document["calls"] == 11
    assert document["status_counts"]["breach"] == 7
    spend = next(
        r for r in document["results"] if r["metric"] == "spend_usd" and r["group"]["model"] == B
    )
    assert (spend["measured"], spend["threshold"], spend["status"]) == ("0.107", "0.1", "breach")
    assert spend["evidence"]["numerator"] == "0.107"
    assert spend["evidence"]["examples"][0]["call_id"] == "b3"
    group_b = next(g for g in document["groups"] if g["group"]["model"] == B)
    assert (group_b["spend_usd"], group_b["routed"], group_b["fallbacks"]) == ("0.107", 2, 0)
    group_a = next(g for g in document["groups"] if g["group"]["model"] == A)
    assert (group_a["routed"], group_a["fallbacks"], group_a["fallback_rate"]) == (5, 1, 0.2)
    assert document["breakdowns"][0]["fallback_reasons"] == {"rate_limit": 1}
    assert document["breakdowns"][0]["fallback_to"] == {B: 1}
    assert set(METRICS) >= {r["metric"] for r in document["results"]}


def test_rates_are_compared_exactly(catalog: Catalog, tmp_path: Path) -> None:
    # 1 failure in 3 attempts against a bound of 1/3 written with 20 digits: the exact
    # fraction 1/3 is above 0.33333333333333333333, though as floats they compare equal
    seed(
        catalog,
        [
            ("e1", 1, failed(A, "timeout")),
            ("e2", 2, ok(A)),
            ("e3", 3, ok(A)),
        ],
    )
    bound = "0.33333333333333333333"
    assert float(Fraction(1, 3)) == float(Decimal(bound))
    text = f"version: 1\nmin_calls: 1\nobjectives: [{{metric: error_rate, max: {bound}}}]\n"
    with catalog.connect() as connection:
        report = check_slos(connection, policy(text, tmp_path), HOUR)
    (result,) = report.results
    assert result.status == "breach"


def test_a_named_org_without_calls_is_no_data(catalog: Catalog, tmp_path: Path) -> None:
    seed(catalog)
    pairs = policy(
        "version: 1\nmin_calls: 1\ngroup_by: [model, org]\nobjectives:\n"
        "  - {metric: error_rate, max: 0.5, orgs: [acme, zeta]}\n",
        tmp_path,
    )
    with catalog.connect() as connection:
        report = check_slos(connection, pairs, HOUR)
    # p:a for acme: a5 failed of a1, a2, a5 (a6 was refused); p:b for acme: b1 served
    assert [(r.group.label, r.status, r.measured) for r in report.results] == [
        ("p:a / acme", "ok", 1 / 3),
        ("p:b / acme", "ok", 0.0),
        ("zeta", "no_data", None),
    ]


def test_estimated_spend_is_shown_apart_in_the_figures_and_the_evidence(
    catalog: Catalog, tmp_path: Path
) -> None:
    seed(
        catalog,
        [
            ("c1", 0, ok(A, cost=Decimal("0.001"), pricing_source="catalog", price_id=1)),
            ("d1", 1, ok(A, cost=Decimal("0.002"), pricing_source="default", price_id=None)),
            # answers without usage: one priced from the catalog, one at the default price
            ("e1", 2, ok(A, cost=Decimal("0.0005"), pricing_source="estimated", price_id=1)),
            ("e2", 3, ok(A, cost=Decimal("0.00025"), pricing_source="estimated", price_id=None)),
        ],
    )
    (a,) = stats_by_label(catalog, HOUR).values()
    assert a.spend_usd == Decimal("0.00375")
    assert (a.estimated, a.estimated_spend_usd) == (2, Decimal("0.00075"))
    assert a.default_priced == 2  # d1, and e2: estimated, then priced at the default
    assert a.to_json()["estimated_spend_usd"] == "0.00075"
    objectives = "version: 1\nmin_calls: 1\nobjectives:\n  - {metric: spend_usd, max: '1'}\n"
    with catalog.connect() as connection:
        report = check_slos(connection, policy(objectives, tmp_path), HOUR)
    (result,) = report.results
    assert result.evidence.detail == (
        "0.00375 USD spent on 4 calls, of which 0.00075 USD estimated (2 calls reported no usage)"
    )
    assert dict(result.evidence.reasons) == {
        "tokens estimated: no usage reported": 2,
        "priced at the default price": 2,
    }


def test_no_estimated_call_no_estimated_figure(catalog: Catalog) -> None:
    seed(catalog)
    stats = stats_by_label(catalog, HOUR)
    assert {(s.estimated, s.estimated_spend_usd) for s in stats.values()} == {(0, Decimal(0))}
