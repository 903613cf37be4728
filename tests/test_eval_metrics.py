"""Metrics from stored results: pass^k, infra errors kept out of rates, exact cost."""

from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.catalog.database import Catalog
from clearance.catalog.runrecords import ItemResult, RunSpec
from clearance.catalog.runstore import ResultStore
from clearance.evaluation.metrics import (
    GroupRate,
    PassHatK,
    pass_hat_k,
    summarize,
    summary_to_dict,
)

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

# --------------------------------------------------------------------- pass^k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 2, 2, 1 / 6),  # C(2,2)/C(4,2) = 1/6
        (3, 3, 3, 1.0),
        (5, 1, 2, 0.0),  # c < k
        (5, 3, 1, 0.6),
        (8, 4, 2, 3 / 14),  # C(4,2)/C(8,2) = 6/28
        (10, 7, 3, 7 / 24),  # C(7,3)/C(10,3) = 35/120
    ],
)
def test_pass_hat_k_by_hand(n: int, c: int, k: int, expected: float) -> None:
    assert pass_hat_k(n, c, k) == pytest.approx(expected, abs=1e-15)


def test_pass_hat_k_is_exact_for_large_counts() -> None:
    # C(199, 100)/C(200, 100) = 100/200: floats of the two combs would overflow
    assert pass_hat_k(200, 199, 100) == 0.5


@pytest.mark.parametrize(("n", "c", "k"), [(2, 2, 3), (3, 1, 0), (3, 4, 1), (3, -1, 1)])
def test_pass_hat_k_refuses_undefined_inputs(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match=r"n=|k=|c="):
        pass_hat_k(n, c, k)


def brute_force(n: int, c: int, k: int) -> Fraction:
    trials = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(all(trials[i] for i in subset) for subset in subsets), len(subsets))


@given(st.integers(1, 9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_hat_k_properties(case: tuple[int, int]) -> None:
    n, c = case
    values = [pass_hat_k(n, c, k) for k in range(1, n + 1)]
    assert values[0] == c / n
    assert all(later <= earlier for earlier, later in itertools.pairwise(values))
    for k, value in enumerate(values, start=1):
        assert value == float(brute_force(n, c, k))


@given(
    st.lists(
        st.integers(0, 6).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
        min_size=1,
        max_size=40,
    )
)
def test_summary_pass_hat_k_is_the_mean_over_cases(cases: list[tuple[int, int]]) -> None:
    """Each case's pass^k computed once per distinct (trials, passes) gives the mean of
    every case's own value, to the last bit (math.fsum of each case's value)."""
    rows = [
        {
            "model_id": "p:m",
            "case_id": f"c{number}",
            "case_kind": "contract",
            "tool": "t",
            "trial": trial,
            "verdict": "pass" if trial < passes else "fail",
            "failure_code": None,
            "latency_ms": 1.0,
            "cost": None,
            "fallback_served": False,
        }
        for number, (trials, passes) in enumerate(cases)
        for trial in range(max(trials, 1))
    ]
    for row in rows:  # a case of no valid trial: its one trial is an infra error
        if cases[int(row["case_id"][1:])][0] == 0:
            row["verdict"] = "infra_error"
    found = summarize(pd.DataFrame(rows), k=6).models[0].pass_hat_k
    for k in range(1, 7):
        own = [pass_hat_k(n, c, k) for n, c in cases if n >= k]
        expected = math.fsum(own) / len(own) if own else None
        assert found[k] == PassHatK(k, expected, len(own), len(cases) - len(own))


# ------------------------------------------------------------------ summarize

PRICE = Decimal("0.1")
TINY = Decimal("1E-24")  # below what a float keeps beside 0.1
TOTAL = Decimal("1.200000000000000000000001")


def row(case: str, kind: str, tool: str | None, trial: int, verdict: str, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "model_id": "m1",
        "case_id": case,
        "case_kind": kind,
        "tool": tool,
        "trial": trial,
        "verdict": verdict,
        "cost": PRICE,
    }
    values.update(extra)
    return ItemResult(**values)


def hand_built() -> list[ItemResult]:
    """m1: 5 cases x 3 trials; m2: one unpriced pass. Latencies of valid rows are 10..100."""
    latency = iter(range(10, 101, 10))

    def valid(case: str, kind: str, tool: str | None, trial: int, verdict: str, **kw: Any) -> Any:
        return row(case, kind, tool, trial, verdict, latency_ms=float(next(latency)), **kw)

    def infra(case: str, kind: str, tool: str | None, trial: int, **kw: Any) -> Any:
        return row(case, kind, tool, trial, kw.pop("verdict", "infra_error"), latency_ms=1e4, **kw)

    return [
        # c1: n=3, c=2
        valid("c1", "contract", "weather", 1, "pass", cost=PRICE + TINY),
        valid("c1", "contract", "weather", 2, "pass"),
        valid("c1", "contract", "weather", 3, "fail", failure_code="schema_violation"),
        # c2: one infra error, so n=2, c=2
        valid("c2", "contract", "weather", 1, "pass"),
        infra("c2", "contract", "weather", 2, failure_code="timeout"),
        valid("c2", "contract", "weather", 3, "pass"),
        # c3: a pass served by a fallback model is an infra error: n=2, c=0
        valid("c3", "bfcl", "search", 1, "fail", failure_code="wrong_tool"),
        valid("c3", "bfcl", "search", 2, "fail", failure_code="wrong_tool"),
        infra("c3", "bfcl", "search", 3, verdict="pass", fallback_served=True),
        # c4: nothing but infra errors, unpriced
        *(
            infra("c4", "bfcl", "search", t, failure_code="rate_limit", cost=None)
            for t in (1, 2, 3)
        ),
        # f1: a flow, n=3, c=3
        *(valid("f1", "flow", None, t, "pass") for t in (1, 2, 3)),
        row("c1", "contract", "weather", 1, "pass", model_id="m2", cost=None),
    ]


def frame_of(items: list[ItemResult]) -> pd.DataFrame:
    return pd.DataFrame([{**item.to_json(), "cost": item.cost} for item in items])


def check_hand_built(summary: Any) -> None:
    assert summary.max_k == 3
    assert [m.model_id for m in summary.models] == ["m1", "m2"]
    m1 = summary.model("m1")
    assert (m1.items, m1.passed, m1.failed, m1.infra_errors) == (15, 7, 3, 5)
    assert m1.infra_share == pytest.approx(1 / 3)
    assert (m1.cases, m1.cases_without_valid_trials) == (5, 1)
    # per case: c1 2/3, c2 2/2, c3 0/2, f1 3/3 (c4 has no valid trial)
    assert m1.pass_at_1 == pytest.approx((2 / 3 + 1 + 0 + 1) / 4)
    assert [(k, p.k, p.cases, p.cases_excluded) for k, p in m1.pass_hat_k.items()] == [
        (1, 1, 4, 1),
        (2, 2, 4, 1),
        (3, 3, 2, 3),
    ]
    assert m1.pass_hat_k[1].value == m1.pass_at_1
    assert m1.pass_hat_k[2].value == pytest.approx((1 / 3 + 1 + 0 + 1) / 4)
    assert m1.pass_hat_k[3].value == pytest.approx((0 + 1) / 2)
    assert m1.tools == (
        GroupRate("search", passes=0, valid_trials=2, infra_errors=4, cases=1, rate=0.0),
        GroupRate(
            "weather", passes=4, valid_trials=5, infra_errors=1, cases=2, rate=m1.tools[1].rate
        ),
    )
    assert m1.tools[1].rate == pytest.approx((2 / 3 + 1) / 2)
    assert m1.flows == (
        GroupRate("f1", passes=3, valid_trials=3, infra_errors=0, cases=1, rate=1.0),
    )
    assert dict(m1.failure_codes) == {"wrong_tool": 2, "schema_violation": 1}
    assert list(m1.failure_codes) == ["wrong_tool", "schema_violation"]
    assert list(m1.infra_codes.items()) == [
        ("rate_limit", 3),
        ("fallback_served", 1),
        ("timeout", 1),
    ]
    # twelve priced rows at 0.1 (infra rows included), one of them 1E-24 dearer
    assert m1.total_cost == TOTAL
    assert str(m1.total_cost) == "1.200000000000000000000001"
    assert (m1.priced_items, m1.unpriced_items) == (12, 3)
    assert m1.cost_per_pass == TOTAL / 7
    assert m1.latency_p50_ms == pytest.approx(55.0)
    assert m1.latency_p95_ms == pytest.approx(95.5)  # infra rows' 10 s left out

    m2 = summary.model("m2")
    assert (m2.items, m2.passed, m2.pass_at_1) == (1, 1, 1.0)
    assert m2.pass_hat_k == {
        1: PassHatK(1, 1.0, 1, 0),
        2: PassHatK(2, None, 0, 1),
        3: PassHatK(3, None, 0, 1),
    }
    assert (m2.total_cost, m2.unpriced_items, m2.cost_per_pass) == (Decimal(0), 1, Decimal(0))
    assert m2.latency_p50_ms is None


def test_summarize_a_hand_built_frame() -> None:
    check_hand_built(summarize(frame_of(hand_built())))


def test_summarize_what_the_store_gives(catalog: Catalog) -> None:
    store = ResultStore(catalog)
    spec = RunSpec(
        run_id="r",
        suites=("s",),
        models=("m1", "m2"),
        trials=3,
        record_mode="none",
        suite_hash="h",
        contracts_hash="h",
    )
    store.start_run(spec, shard=None)
    store.add_results("r", hand_built())
    summary = summarize(store.results("r"))
    check_hand_built(summary)
    assert summary.run_ids == ("r",)


def test_k_limits_pass_hat_k_and_dict_is_json() -> None:
    summary = summarize(frame_of(hand_built()), k=2)
    assert list(summary.model("m1").pass_hat_k) == [1, 2]
    data = summary_to_dict(summary)
    text = json.dumps(data)
    assert json.loads(text) == data
    m1 = data["models"][0]
    assert m1["total_cost"] == str(TOTAL)
    assert m1["pass_hat_k"]["2"] == {
        "k": 2,
        "value": pytest.approx(7 / 12),
        "cases": 4,
        "cases_excluded": 1,
    }
    assert m1["tools"][0]["name"] == "search"


def test_summarize_refuses_what_would_mislead() -> None:
    frame = frame_of(hand_built())
    with pytest.raises(ValueError, match="verdict"):
        summarize(frame.drop(columns=["verdict"]))
    floats = frame.assign(cost=[0.1] * len(frame))
    with pytest.raises(TypeError, match="Decimal"):
        summarize(floats)
    with pytest.raises(ValueError, match="unknown verdict"):
        summarize(frame.assign(verdict="passed"))
    assert summarize(frame.iloc[0:0]).models == ()
