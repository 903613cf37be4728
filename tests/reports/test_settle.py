"""What would settle an inconclusive gate: a seeded run, its plan worked out by hand.

Three models over three critical cases, written by hand: ``p:unsure`` is inconclusive
(one case short of trials, its critical rate straddling the bar), ``p:good`` enabled and
``p:bad`` disabled; only the first gets a plan, on its page and on the overview. Every
number asserted is worked out from the trials written here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider
from clearance.config import ClearanceConfig
from clearance.evaluation.results import ItemResult, ResultStore, RunSpec
from clearance.gate.decide import decide
from clearance.gate.policy import GatePolicy
from clearance.gate.stats import clustered_rate, trials_to_settle
from clearance.reports import collect_report, model_slug, write_report
from clearance.reports.settle import settle_plan
from tests.support.html import parse

pytestmark = pytest.mark.any_dialect

UNSURE, GOOD, BAD = "p:unsure", "p:good", "p:bad"
HOSTILE = 'c<script>alert("x")</script>&'
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
POLICY = GatePolicy.model_validate(
    {
        "version": 1,
        "name": "release",
        "confidence": 0.9,
        "criticality": {"critical": {"min_lower_bound": 0.6}},
        "min_trials_per_case": 3,
        "expires_after_days": None,
    }
)
D = Decimal
# (model, case) -> marks (P pass, F fail), and each trial's cost (None: unpriced)
TRIALS: dict[tuple[str, str], tuple[str, tuple[Decimal | None, ...]]] = {
    (UNSURE, "c1"): ("PPF", (D("0.001"), D("0.002"), D("0.003"))),
    (UNSURE, "c2"): ("PP", (D("0.004"), D("0.004"))),
    (UNSURE, HOSTILE): ("PFP", (None, None, None)),
    (GOOD, "c1"): ("PPP", (D("0.01"),) * 3),
    (GOOD, "c2"): ("PPP", (D("0.01"),) * 3),
    (GOOD, HOSTILE): ("PPP", (D("0.01"),) * 3),
    (BAD, "c1"): ("FFF", (D("0.01"),) * 3),
    (BAD, "c2"): ("FFF", (D("0.01"),) * 3),
    (BAD, HOSTILE): ("FFF", (D("0.01"),) * 3),
}


def _items() -> list[ItemResult]:
    return [
        ItemResult(
            model_id=model,
            case_id=case,
            case_kind="contract",
            tool="book",
            criticality="critical",
            trial=trial,
            verdict="pass" if mark == "P" else "fail",
            failure_code=None if mark == "P" else "missing_call",
            evidence=None,
            fallback_served=False,
            served_model=model,
            cost=cost,
            latency_ms=100.0,
        )
        for (model, case), (marks, costs) in TRIALS.items()
        for trial, (mark, cost) in enumerate(zip(marks, costs, strict=True), start=1)
    ]


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1", now=T0)
        connection.execute(
            insert(t.models),
            [
                {
                    "id": model,
                    "provider": "p",
                    "name": model.split(":", 1)[1],
                    "capabilities": {"tools": True},
                    "discovered_at": T0,
                    "last_seen_at": T0,
                    "source_metadata": {
                        "description": "SIMULATOR: scripted" if model == UNSURE else "a model"
                    },
                }
                for model in (UNSURE, GOOD, BAD)
            ],
        )
    store = ResultStore(catalog, clock=lambda: T0)
    spec = RunSpec(
        run_id="r1",
        suites=("contracts",),
        models=(UNSURE, GOOD, BAD),
        trials=3,
        record_mode="none",
        suite_hash="s" * 64,
        contracts_hash="c" * 64,
        git_commit="0123456789abcdef",
    )
    store.start_run(spec, shard=None)
    store.add_results("r1", _items())
    store.finish("r1", shard=None, status="complete", spend=Decimal(0))
    return catalog


def _critical_estimate() -> int:
    """The gate's estimate for p:unsure's critical class: 6 passes of 8 over 3 cases."""
    rated = clustered_rate([(2, 3), (2, 2), (2, 3)])
    more = trials_to_settle(6, 8, 0.6, level=0.9, method="wilson", deff=rated.design_effect)
    assert more is not None
    return more


def test_an_inconclusive_model_gets_a_plan_worked_out_by_hand(
    seeded: Catalog, tmp_path: Path
) -> None:
    data = collect_report(ClearanceConfig(root=tmp_path), seeded, policy=POLICY)
    verdicts = {model.model_id: model.verdict for model in data.models}
    assert verdicts == {UNSURE: "inconclusive", GOOD: "enable", BAD: "disable"}
    assert data.model(GOOD).settle is None
    assert data.model(BAD).settle is None
    plan = data.model(UNSURE).settle
    assert plan is not None

    critical = next(c for c in data.model(UNSURE).checks if c["name"] == "criticality.critical")
    assert critical["verdict"] == "inconclusive"
    more = _critical_estimate()
    assert critical["more_trials"] == more
    assert more >= 3, "the seed must need trials of every case for the hand-count below"
    # class-short: spread evenly over the 3 cases, the remainder by disagreement:
    # c1 2/3 and the hostile case 2/3 (p(1-p) = 2/9, tie broken by trials then id:
    # "c1" < "c<script>..."), then c2 2/2 (0). min_trials asks 1 more of c2 (3 - 2).
    each, extra = divmod(more, 3)
    expected = {
        "c1": each + (1 if extra > 0 else 0),
        HOSTILE: each + (1 if extra > 1 else 0),
        "c2": max(each, 1),
    }
    assert {case.case_id: case.more for case in plan.cases} == expected
    total = sum(expected.values())
    assert plan.more_trials == total
    assert plan.complete
    steps = {step.check: step for step in plan.steps}
    assert steps["min_trials_per_case"].rule == "fewest-trials"
    assert steps["min_trials_per_case"].cases == ("c2",)
    assert steps["min_trials_per_case"].more_trials == 1
    assert steps["criticality.critical"].rule == "class-short"
    assert steps["criticality.critical"].cases == ("c1", HOSTILE, "c2")
    # cost: judged trials of c1, c2 and the hostile case: 5 priced (0.001 + 0.002 + 0.003
    # + 0.004 + 0.004 = 0.014), 3 unpriced; 0.014 / 5 = 0.0028 a trial
    assert plan.priced_trials == 5
    assert plan.unpriced_trials == 3
    assert plan.cost_per_trial == Decimal("0.0028")
    assert plan.expected_cost == Decimal("0.0028") * total
    assert any("3 of 8 judged trials" in note for note in plan.notes)
    assert any("simulator" in note for note in plan.notes)
    assert any("replayed" in note for note in plan.notes)

    out = tmp_path / "report"
    write_report(data, out, secrets=[])
    page = parse(out / "models" / f"{model_slug(UNSURE)}.html")
    section = page.one("section", id="settle")
    assert (
        section.one("p", data_settle_total=str(total))
        .words()
        .startswith(f"About {total} more trials of 3 case(s)")
    )
    rows = {row.attrs["data-case"]: row for row in section.all("tr", data_case=None)}
    assert set(rows) == set(expected)
    assert rows[HOSTILE].all("td")[0].text() == HOSTILE  # text, not markup
    assert not page.all("script")
    assert {row.attrs["data-step"] for row in section.all("tr", data_step=None)} == {
        "min_trials_per_case",
        "criticality.critical",
    }
    index = parse(out / "index.html")
    line = index.one("div", data_settle=UNSURE)
    assert f"about {total} more trials of 3 case(s)" in line.words()
    assert not index.all("div", data_settle=GOOD)
    assert not index.all("div", data_settle=BAD)
    for model in (GOOD, BAD):
        other = parse(out / "models" / f"{model_slug(model)}.html")
        assert not other.all("section", id="settle")


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base = {
        "model_id": "p:m",
        "case_kind": "contract",
        "criticality": "critical",
        "fallback_served": False,
        "cost": None,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def test_infra_errors_ask_for_judged_trials_enough_to_bring_the_share_under_the_limit() -> None:
    # 2 infra errors in 5 rows, limit 0.25: ceil(2 / 0.25) - 5 = 3 more judged trials,
    # spread over the two cases hit (a first, then b)
    frame = _frame(
        [
            {"case_id": "a", "verdict": "infra_error"},
            {"case_id": "a", "verdict": "pass", "cost": Decimal("0.3")},
            {"case_id": "b", "verdict": "infra_error"},
            {"case_id": "b", "verdict": "pass", "cost": Decimal("0.1")},
            {"case_id": "c", "verdict": "pass", "cost": Decimal("5")},
        ]
    )
    checks = [
        {
            "name": "infra_error_share",
            "verdict": "inconclusive",
            "threshold": 0.25,
            "cases": ["a", "b"],
        },
        {"name": "regression", "verdict": "inconclusive", "cases": ["c"]},
    ]
    plan = settle_plan(frame, checks, model_id="p:m")
    assert plan is not None
    assert [(case.case_id, case.more, case.rule) for case in plan.cases] == [
        ("a", 2, "infra-errors"),
        ("b", 1, "infra-errors"),
    ]
    assert plan.more_trials == 3
    assert not plan.complete  # regression has no estimate: the total is a floor
    assert plan.steps[1].rule == "no-estimate"
    assert plan.steps[1].cases == ("c",)
    # (0.3 + 0.1) / 2 = 0.2 a trial, x 3 = 0.6; case c's 5 USD is not one of the plan's
    assert plan.cost_per_trial == Decimal("0.2")
    assert plan.expected_cost == Decimal("0.6")
    assert plan.to_json()["expected_cost_usd"] == "0.6"
    assert any("floor" in note for note in plan.notes)


def test_pass_hat_k_brings_each_case_to_k_and_unpriced_trials_leave_the_cost_unknown() -> None:
    frame = _frame(
        [
            {"case_id": "a", "verdict": "pass"},
            {"case_id": "b", "verdict": "pass"},
            {"case_id": "b", "verdict": "fail"},
        ]
    )
    checks = [{"name": "pass_hat_k", "verdict": "inconclusive", "cases": []}]
    plan = settle_plan(frame, checks, model_id="p:m", pass_hat_k=3)
    assert plan is not None
    assert [(case.case_id, case.more) for case in plan.cases] == [("a", 2), ("b", 1)]
    assert plan.expected_cost is None
    assert plan.cost_per_trial is None
    assert "costs unknown: no judged trial of these cases was priced" in plan.notes


def test_an_inexact_mean_is_named_and_the_expected_cost_is_one_division() -> None:
    frame = _frame(
        [
            {"case_id": "a", "verdict": "pass", "cost": Decimal("0.01")},
            {"case_id": "a", "verdict": "fail", "cost": Decimal("0.01")},
            {"case_id": "a", "verdict": "pass", "cost": Decimal("0.02")},
        ]
    )
    checks = [
        {"name": "min_trials_per_case", "verdict": "inconclusive", "threshold": 6.0, "cases": ["a"]}
    ]
    plan = settle_plan(frame, checks, model_id="p:m")
    assert plan is not None
    # 3 more trials at 0.04 / 3 each: 0.04 x 3 / 3 = 0.04 exactly, though the mean is not
    assert plan.more_trials == 3
    assert plan.expected_cost == Decimal("0.04")
    assert plan.cost_per_trial == Decimal("0.01" + "3" * 49)  # 50 significant digits
    assert [note for note in plan.notes if "rounded" in note] == [
        "the mean cost a trial is rounded to 50 significant digits (the expected cost is "
        "one division of the exact sum)"
    ]


def test_no_plan_unless_the_decision_is_inconclusive() -> None:
    frame = _frame([{"case_id": "a", "verdict": "pass"}])
    unsure = {"name": "min_trials_per_case", "verdict": "inconclusive", "threshold": 3.0}
    assert settle_plan(frame, [{"name": "x", "verdict": "pass"}], model_id="p:m") is None
    assert settle_plan(frame, [unsure, {"name": "y", "verdict": "fail"}], model_id="p:m") is None


def test_the_plan_reads_the_gates_own_checks() -> None:
    items = _items()
    frame = pd.DataFrame(
        [
            {
                "model_id": item.model_id,
                "case_id": item.case_id,
                "case_kind": item.case_kind,
                "criticality": item.criticality,
                "verdict": item.verdict,
                "fallback_served": item.fallback_served,
                "latency_ms": item.latency_ms,
                "cost": item.cost,
            }
            for item in items
        ]
    )
    result = decide(frame, POLICY, model_id=UNSURE)
    assert result.decision == "inconclusive"
    plan = settle_plan(frame, result.to_json()["checks"], model_id=UNSURE)
    assert plan is not None
    assert plan.steps[1].more_trials == _critical_estimate()
