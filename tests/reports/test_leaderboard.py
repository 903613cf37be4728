"""BFCL's leaderboard figures: per-category accuracy as BFCL computes it, its summaries
weighted as bfcl-eval weights them, and clearance's interval beside each category."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.evaluation.metrics import mark_judged
from clearance.flows.bfcl.key import case_category
from clearance.reports.leaderboard import bfcl_leaderboard


def results(cases: dict[str, str], model: str = "m", kind: str = "bfcl") -> pd.DataFrame:
    """``cases``: case id -> one mark per trial (P pass, F fail, I infra error)."""
    rows: list[dict[str, Any]] = []
    for case, marks in cases.items():
        for trial, mark in enumerate(marks, start=1):
            rows.append(
                {
                    "model_id": model,
                    "case_id": case,
                    "case_kind": kind,
                    "trial": trial,
                    "verdict": {"P": "pass", "F": "fail", "I": "infra_error"}[mark],
                    "fallback_served": False,
                }
            )
    return mark_judged(pd.DataFrame(rows))


def test_cases_are_filed_under_their_bfcl_category() -> None:
    assert case_category("bfcl_parallel_multiple_12") == "parallel_multiple"
    assert case_category("bfcl_live_parallel_3-1-0") == "live_parallel"
    assert case_category("bfcl_simple_javascript_4") == "simple_javascript"
    assert case_category("bfcl_irrelevance_0") == "irrelevance"
    assert case_category("schedule_followup") is None


def test_accuracy_per_category_and_the_leaderboards_weighting() -> None:
    cases = {
        "bfcl_simple_python_0": "P",
        "bfcl_simple_python_1": "F",  # simple_python 0.5
        "bfcl_simple_java_0": "P",  # simple_java 1.0
        "bfcl_simple_javascript_0": "F",  # simple_javascript 0.0
        "bfcl_multiple_0": "P",
        "bfcl_parallel_0": "P",
        "bfcl_parallel_multiple_0": "F",
        "bfcl_live_simple_0-0-0": "P",  # live: 1 of 1
        "bfcl_live_multiple_0-0-0": "F",
        "bfcl_live_multiple_1-0-0": "F",
        "bfcl_live_multiple_2-0-0": "P",  # live: 1 of 3
        "bfcl_live_parallel_0-0-0": "P",
        "bfcl_live_parallel_multiple_0-0-0": "F",
        "bfcl_irrelevance_0": "P",
        "bfcl_live_irrelevance_0-0-0": "F",
        "bfcl_live_irrelevance_1-0-0": "P",
        "bfcl_live_relevance_0-0-0": "P",
    }
    board = bfcl_leaderboard(results(cases), "m", scoring="bfcl")
    assert board is not None
    accuracy = {row.category: row.accuracy for row in board.categories}
    assert accuracy["simple_python"] == 0.5
    assert accuracy["live_multiple"] == pytest.approx(1 / 3)
    summaries = {row.name: row.accuracy for row in board.summaries}
    simple = (0.5 + 1.0 + 0.0) / 3
    assert summaries["Non-live simple"] == pytest.approx(simple)
    assert summaries["Non-live AST"] == pytest.approx((simple + 1 + 1 + 0) / 4)  # unweighted
    # live: weighted by cases (1 + 3 + 1 + 1), not the mean of the four accuracies
    assert summaries["Live AST"] == pytest.approx((1 * 1 + 3 * (1 / 3) + 1 * 1 + 1 * 0) / 6)
    assert summaries["Irrelevance"] == pytest.approx((1.0 + 0.5) / 2)
    assert summaries["Relevance"] == 1.0
    overall = board.summaries[-1]
    assert (overall.name, overall.accuracy, overall.missing) == (
        "Overall",
        None,
        ("multi-turn", "agentic"),
    )


def test_a_summary_with_a_category_missing_shows_none() -> None:
    board = bfcl_leaderboard(results({"bfcl_simple_python_0": "P"}), "m", scoring="bfcl")
    assert board is not None
    simple = board.summaries[0]
    assert simple.accuracy is None
    assert simple.missing == ("simple_java", "simple_javascript")


def test_several_trials_count_each_case_by_its_share_and_infra_is_left_out() -> None:
    rows = results({"bfcl_multiple_0": "PPF", "bfcl_multiple_1": "FI", "bfcl_multiple_2": "II"})
    board = bfcl_leaderboard(rows, "m", scoring="bfcl")
    assert board is not None
    (row,) = board.categories
    assert (row.cases, row.passes, row.trials) == (2, 2, 4)
    assert row.accuracy == pytest.approx((2 / 3 + 0) / 2)
    assert 0 <= row.low <= 2 / 4 <= row.high <= 1


def test_no_figures_without_judged_bfcl_cases() -> None:
    assert bfcl_leaderboard(results({"lookup": "PP"}, kind="contract"), "m", scoring="x") is None
    assert bfcl_leaderboard(results({"bfcl_multiple_0": "I"}), "m", scoring="bfcl") is None
    assert bfcl_leaderboard(results({"bfcl_multiple_0": "P"}), "other", scoring="bfcl") is None


@given(st.lists(st.text(alphabet="PF", min_size=1, max_size=4), min_size=1, max_size=12))
def test_the_interval_holds_the_pooled_rate(marks: list[str]) -> None:
    rows = results({f"bfcl_parallel_{i}": m for i, m in enumerate(marks)})
    board = bfcl_leaderboard(rows, "m", scoring="bfcl")
    assert board is not None
    (row,) = board.categories
    rate = row.passes / row.trials
    assert row.low - 1e-9 <= rate <= row.high + 1e-9
    if all(len(m) == 1 for m in marks):  # one trial each: BFCL's correct / total
        assert row.accuracy == pytest.approx(rate)
