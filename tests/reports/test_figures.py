"""The report's figures against hand-computed values: cells, trends, flaky cases, diffs.

Frames are written by hand, one row per trial, with only the columns the figures read.
Expected bounds come from :func:`clearance.gate.stats.clustered_interval` on the
per-case ``(passes, judged trials)`` pairs written out here, and, where every case has
one trial (design effect 1), from Wilson's formula itself.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist
from typing import Any

import pandas as pd
import pytest

from clearance.gate.policy import GatePolicy
from clearance.gate.stats import clustered_interval
from clearance.reports.figures import (
    FLOWS,
    NO_TOOL,
    Cell,
    Change,
    FlakyCase,
    TrendPoint,
    cell_changes,
    cells,
    check_changes,
    flaky_cases,
    trends,
)

M = "p:model"
OTHER = "p:other"
POLICY = GatePolicy.model_validate(
    {
        "version": 1,
        "name": "figures",
        "confidence": 0.9,
        "criticality": {"critical": {"min_lower_bound": 0.7}, "standard": {"min_lower_bound": 0.5}},
        "flows": {"min_lower_bound": 0.3},
        "min_trials_per_case": 1,
    }
)
Z90 = NormalDist().inv_cdf(0.9)


def trials(case: str, marks: str, **fields: Any) -> list[dict[str, Any]]:
    """One row per mark: P pass, F fail, I infra error, S served by a fallback (a pass)."""
    verdicts = {"P": "pass", "F": "fail", "I": "infra_error", "S": "pass"}
    rows = []
    for number, mark in enumerate(marks, start=1):
        row = {
            "run_id": "r1",
            "model_id": M,
            "case_id": case,
            "case_kind": "contract",
            "tool": "book",
            "criticality": "critical",
            "trial": number,
            "verdict": verdicts[mark],
            "failure_code": {"F": "argument_mismatch", "I": "infra_error"}.get(mark),
            "fallback_served": mark == "S",
        }
        row.update(fields)
        rows.append(row)
    return rows


def frame(*groups: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([row for group in groups for row in group])


def wilson(passes: int, n: int, z: float) -> tuple[float, float]:
    p = passes / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


# --- cells -------------------------------------------------------------------------------


def test_a_cell_pools_judged_trials_and_leaves_infra_and_fallbacks_out() -> None:
    data = frame(
        trials("c1", "PPP"),
        trials("c2", "PFP"),
        trials("c3", "FFI"),
        trials("c4", "PPS"),
        trials("c5", "II"),  # no judged trial: not a case of the rate
    )
    cell = cells(data, POLICY)[M, "book"]
    pairs = [(3, 3), (2, 3), (0, 2), (2, 2)]
    expected = clustered_interval(pairs, one_sided=True, level=0.9, method="wilson")
    assert (cell.model_id, cell.name) == (M, "book")
    assert (cell.passes, cell.trials, cell.cases, cell.infra) == (7, 10, 4, 4)
    assert cell.rate == 0.7
    assert (cell.low, cell.high) == (expected.low, expected.high)
    assert cell.bar == 0.7
    assert expected.low < 0.7 <= expected.high
    assert cell.verdict == "unsure"
    assert cell.label == f"0.700 [{expected.low:.3f}, {expected.high:.3f}] 7/10"


def test_one_trial_per_case_gives_the_plain_wilson_bounds() -> None:
    data = frame(
        *(trials(f"ok{n}", "P", tool="find", criticality="standard") for n in range(9)),
        trials("bad", "F", tool="find", criticality="standard"),
    )
    cell = cells(data, POLICY)[M, "find"]
    low, high = wilson(9, 10, Z90)
    assert cell.low == pytest.approx(low, abs=1e-12)
    assert cell.high == pytest.approx(high, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.7176, 0.9696)
    assert (cell.passes, cell.trials, cell.cases, cell.bar) == (9, 10, 10, 0.5)
    assert cell.verdict == "clears"  # 0.718 >= 0.5


def test_a_cell_whose_upper_bound_is_below_the_bar_fails() -> None:
    data = frame(
        *(trials(f"s{n}", "F", tool="send") for n in range(5)), trials("s5", "P", tool="send")
    )
    cell = cells(data, POLICY)[M, "send"]
    low, high = wilson(1, 6, Z90)
    assert cell.high == pytest.approx(high, abs=1e-12)
    assert cell.low == pytest.approx(low, abs=1e-12)
    assert high < 0.7
    assert (cell.passes, cell.trials, cell.verdict) == (1, 6, "fails")


def test_no_bar_without_a_threshold_for_the_cases_or_without_a_policy() -> None:
    data = frame(
        trials("n1", "PP", tool="note", criticality=None),
        trials("n2", "P", tool="note", criticality="high", case_kind="bfcl"),
    )
    cell = cells(data, POLICY)[M, "note"]
    assert (cell.bar, cell.verdict, cell.passes, cell.trials) == (None, "no_bar", 3, 3)
    bare = cells(data, None)[M, "note"]
    expected = clustered_interval([(2, 2), (1, 1)], one_sided=True, level=0.95)
    assert (bare.low, bare.high, bare.bar, bare.verdict) == (
        expected.low,
        expected.high,
        None,
        "no_bar",
    )


def test_mixed_criticality_takes_the_strictest_bar() -> None:
    data = frame(
        trials("m1", "PPP", tool="mixed", criticality="critical"),
        trials("m2", "PPP", tool="mixed", criticality="standard"),
    )
    assert cells(data, POLICY)[M, "mixed"].bar == 0.7
    flipped = POLICY.model_copy(
        update={
            "criticality": POLICY.criticality.model_copy(  # type: ignore[union-attr]
                update={
                    "critical": POLICY.criticality.standard,  # type: ignore[union-attr]
                    "standard": POLICY.criticality.critical,  # type: ignore[union-attr]
                }
            )
        }
    )
    assert cells(data, flipped)[M, "mixed"].bar == 0.7  # now standard's: still the higher
    assert cells(data[data["case_id"] == "m1"], flipped)[M, "mixed"].bar == 0.5


def test_flows_pool_into_one_row_with_the_flows_bar() -> None:
    data = frame(
        trials("f1", "PPF", case_kind="flow", tool=None, criticality=None),
        trials("f2", "PI", case_kind="flow", tool=None, criticality=None),
        trials("c1", "P"),
    )
    found = cells(data, POLICY)
    assert set(found) == {(M, "book"), (M, FLOWS)}
    flows = found[M, FLOWS]
    expected = clustered_interval([(2, 3), (1, 1)], one_sided=True, level=0.9)
    assert (flows.passes, flows.trials, flows.cases, flows.infra) == (3, 4, 2, 1)
    assert (flows.low, flows.high, flows.bar) == (expected.low, expected.high, 0.3)
    assert expected.low >= 0.3
    assert flows.verdict == "clears"


def test_a_tool_with_only_infra_rows_has_no_data() -> None:
    data = frame(trials("x1", "II", tool="down"), trials("x2", "S", tool="down"))
    cell = cells(data, POLICY)[M, "down"]
    assert cell == Cell(M, "down", 0, 0, 0, 3, None, None, None, 0.7, "no_data")
    assert cell.label == "no judged trials"


def test_single_turn_cases_without_a_tool_keep_a_row_of_their_own() -> None:
    # several tools offered and none expected (an irrelevance case): the gate judges it,
    # so the matrix and the trends must not drop it
    data = frame(
        trials("i1", "PF", tool=None, criticality="standard", case_kind="bfcl"),
        trials("c1", "PP"),
    )
    found = cells(data, POLICY)
    assert set(found) == {(M, "book"), (M, NO_TOOL)}
    none = found[M, NO_TOOL]
    assert (none.passes, none.trials, none.cases, none.bar) == (1, 2, 1, 0.5)
    started = {"r1": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    assert trends(data, started, M)[NO_TOOL] == [TrendPoint("r1", started["r1"], 0.5, 1, 2)]


def test_cells_are_per_model() -> None:
    data = frame(trials("c1", "PP"), trials("c1", "FF", model_id=OTHER))
    found = cells(data, POLICY)
    assert (found[M, "book"].rate, found[OTHER, "book"].rate) == (1.0, 0.0)


# --- trends ------------------------------------------------------------------------------


def test_trends_order_runs_by_start_per_tool_and_flows() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    started = {"r-b": t0, "r-a": t0 + dt.timedelta(days=1), "r-c": t0 + dt.timedelta(days=2)}
    flow = {"case_kind": "flow", "tool": None, "criticality": None}
    data = frame(  # the newest run first: the frame's order must not matter
        trials("c1", "PPPF", run_id="r-c"),
        trials("c1", "PPI", run_id="r-a"),
        trials("f1", "F", run_id="r-a", **flow),
        trials("c1", "PF", run_id="r-b"),
        trials("f1", "P", run_id="r-b", **flow),
        trials("c1", "FFF", run_id="r-a", model_id=OTHER),
    )
    found = trends(data, started, M)
    assert list(found) == [FLOWS, "book"]
    assert found["book"] == [
        TrendPoint("r-b", started["r-b"], 0.5, 1, 2),
        TrendPoint("r-a", started["r-a"], 1.0, 2, 2),
        TrendPoint("r-c", started["r-c"], 0.75, 3, 4),
    ]
    assert found[FLOWS] == [
        TrendPoint("r-b", started["r-b"], 1.0, 1, 1),
        TrendPoint("r-a", started["r-a"], 0.0, 0, 1),
    ]
    assert trends(data, started, OTHER) == {"book": [TrendPoint("r-a", started["r-a"], 0.0, 0, 3)]}


# --- flaky cases -------------------------------------------------------------------------


def test_flaky_cases_list_disagreeing_trials_in_order_with_infra_as_a_dash() -> None:
    flow = {"case_kind": "flow", "tool": None, "criticality": None}
    fallback_fail = trials("e_fallback", "PFF")
    fallback_fail[1]["fallback_served"] = True  # a fallback's wrong answer is not the model's
    data = frame(
        trials("a_steady", "PPP"),
        trials("b_flaky", "PIF"),
        trials("c_failing", "FF"),
        trials("d_flow", "P", run_id="r2", **flow),
        trials("d_flow", "F", run_id="r1", **flow),
        fallback_fail,
        trials("b_flaky", "PF", model_id=OTHER),
        trials("z_one_pass", "SF"),  # the pass was a fallback's: not flaky
    )
    assert flaky_cases(data, M) == [
        FlakyCase("b_flaky", "contract", "book", 1, 2, "P-F"),
        FlakyCase("d_flow", "flow", None, 1, 2, "FP"),
        FlakyCase("e_fallback", "contract", "book", 1, 2, "P-F"),
    ]
    assert flaky_cases(data, OTHER) == [FlakyCase("b_flaky", "contract", "book", 1, 2, "PF")]


# --- what changed ------------------------------------------------------------------------


def cell(name: str, passes: int, trials_: int) -> Cell:
    return Cell(M, name, passes, trials_, trials_, 0, passes / trials_, 0.1, 0.9, None, "no_bar")


def test_cell_changes_list_worse_first_then_better_then_new_and_gone() -> None:
    before = {
        "book": cell("book", 2, 4),
        "send": cell("send", 4, 5),
        "same": cell("same", 3, 4),
        "gone": cell("gone", 1, 1),
    }
    after = {
        "book": cell("book", 3, 4),
        "send": cell("send", 3, 5),
        "same": cell("same", 6, 8),
        "new": cell("new", 1, 2),
    }
    changes = cell_changes(before, after)
    assert [(c.name, c.direction) for c in changes] == [
        ("send", "worse"),
        ("book", "better"),
        ("gone", "same"),
        ("new", "same"),
    ]
    assert changes[0].delta == pytest.approx(-0.2)
    assert changes[1].delta == pytest.approx(0.25)
    assert (changes[0].before, changes[0].after) == (before["send"].label, after["send"].label)
    assert (changes[2].before, changes[2].after, changes[2].delta) == (
        before["gone"].label,
        "not evaluated",
        None,
    )
    assert (changes[3].before, changes[3].after) == ("not evaluated", after["new"].label)


def test_check_changes_know_which_way_is_better() -> None:
    before = [
        {"name": "criticality.critical", "verdict": "pass", "measured": 0.8},
        {"name": "latency.p95_ms", "verdict": "pass", "measured": 900.0},
        {"name": "cost.per_successful_task", "verdict": "pass", "measured": "0.0020"},
        {"name": "infra_error_share", "verdict": "pass", "measured": 0.1},
        {"name": "regression", "verdict": "pass", "measured": 0.01},
        {"name": "pass_hat_k", "verdict": "pass", "measured": 0.9},
    ]
    after = [
        {"name": "criticality.critical", "verdict": "pass", "measured": 0.7},
        {"name": "latency.p95_ms", "verdict": "pass", "measured": 1200.0},
        {"name": "cost.per_successful_task", "verdict": "pass", "measured": "0.0015"},
        {"name": "infra_error_share", "verdict": "pass", "measured": 0.05},
        {"name": "regression", "verdict": "pass", "measured": 0.04},  # a bigger drop
        {"name": "pass_hat_k", "verdict": "pass", "measured": 0.9},  # unchanged: left out
        {"name": "flows", "verdict": "pass", "measured": 0.5},  # not checked before
    ]
    changes = {c.name: c for c in check_changes(before, after)}
    assert {name: c.direction for name, c in changes.items()} == {
        "criticality.critical": "worse",
        "latency.p95_ms": "worse",
        "cost.per_successful_task": "better",
        "infra_error_share": "better",
        "regression": "worse",
    }
    assert changes["latency.p95_ms"].delta == 300.0
    assert changes["cost.per_successful_task"].delta == pytest.approx(-0.0005)
    assert (changes["cost.per_successful_task"].before, changes["latency.p95_ms"].after) == (
        "pass 0.002",
        "pass 1200",
    )


def test_check_changes_follow_the_verdict_when_only_the_bar_moved() -> None:
    before = [
        {"name": "flows", "verdict": "fail", "measured": 0.5},
        {"name": "criticality.critical", "verdict": "pass", "measured": 0.8},
        {"name": "criticality.standard", "verdict": "pass", "measured": 0.6},
        {"name": "min_trials_per_case", "verdict": "inconclusive", "measured": 2.0},
    ]
    after = [
        {"name": "flows", "verdict": "pass", "measured": 0.5},
        {"name": "criticality.critical", "verdict": "fail", "measured": 0.8},
        # the rate rose, yet a raised bar now fails it: the verdict says which way
        {"name": "criticality.standard", "verdict": "inconclusive", "measured": 0.65},
        {"name": "min_trials_per_case", "verdict": "pass", "measured": 2.0},
    ]
    changes = check_changes(before, after)
    assert changes == [
        Change("flows", "fail 0.5", "pass 0.5", "better", None),
        Change("criticality.critical", "pass 0.8", "fail 0.8", "worse", None),
        Change(
            "criticality.standard",
            "pass 0.6",
            "inconclusive 0.65",
            "worse",
            pytest.approx(0.05),  # type: ignore[arg-type]
        ),
        Change("min_trials_per_case", "inconclusive 2", "pass 2", "better", None),
    ]


def test_check_changes_leave_out_moves_too_small_to_show() -> None:
    # replayed latencies jitter by microseconds: "pass 5041 → pass 5041" is not "worse"
    before = [{"name": "latency.p95_ms", "verdict": "pass", "measured": 5041.00555}]
    after = [{"name": "latency.p95_ms", "verdict": "pass", "measured": 5041.0128}]
    assert check_changes(before, after) == []
    after = [{"name": "latency.p95_ms", "verdict": "fail", "measured": 5041.0128}]
    assert [c.direction for c in check_changes(before, after)] == ["worse"]
