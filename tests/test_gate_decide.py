"""The gate decision: hand-built results frames against the shipped and varied policies."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from clearance.gate.decide import Check, GateResult, decide
from clearance.gate.policy import GatePolicy, Threshold, load_policy

ROOT = Path(__file__).resolve().parents[1]
MODEL = "openrouter:acme/candidate"
BASE = "openrouter:acme/baseline"


@pytest.fixture(scope="module")
def policy() -> GatePolicy:
    return load_policy(ROOT / "gates" / "default.yaml")


def case_rows(
    case_id: str,
    verdicts: Sequence[str],
    *,
    model_id: str = MODEL,
    kind: str = "contract",
    criticality: str | None = "standard",
    latency: float | None = 1000.0,
    cost: Decimal | None = Decimal("0.001"),
    fallback: bool = False,
) -> list[dict[str, Any]]:
    """One row per trial of one case, with the result columns decide() reads."""
    return [
        {
            "run_id": "r1",
            "model_id": model_id,
            "case_id": case_id,
            "case_kind": kind,
            "tool": None if kind == "flow" else "lookup",
            "criticality": None if kind == "flow" else criticality,
            "trial": trial,
            "verdict": verdict,
            "fallback_served": fallback,
            "latency_ms": latency,
            "cost": cost,
        }
        for trial, verdict in enumerate(verdicts)
    ]


def frame(*groups: pd.DataFrame | Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Rows (lists of row dicts, or frames) stacked into one results frame."""
    rows: list[dict[str, Any]] = []
    for group in groups:
        if isinstance(group, pd.DataFrame):
            rows.extend(group.to_dict("records"))
        else:
            rows.extend(group)
    return pd.DataFrame(rows)


def many(prefix: str, count: int, verdicts: Sequence[str], **kwargs: Any) -> list[dict[str, Any]]:
    return [row for i in range(count) for row in case_rows(f"{prefix}-{i}", verdicts, **kwargs)]


def updated(section: BaseModel | None, **changes: Any) -> Any:
    """A copy of a policy section with some fields changed (nested models are frozen)."""
    assert section is not None
    return section.model_copy(update=changes)


def check(result: GateResult, name: str) -> Check:
    (found,) = [c for c in result.checks if c.name == name]
    return found


def healthy() -> pd.DataFrame:
    """Enough all-passing cases at every level to clear the default bars."""
    return frame(
        many("crit", 60, ["pass"] * 3, criticality="critical"),
        many("std", 40, ["pass"] * 3, criticality="standard"),
        many("flow", 40, ["pass"] * 3, kind="flow"),
    )


# --- whole decisions -------------------------------------------------------------------------


def test_clear_enable(policy: GatePolicy) -> None:
    result = decide(healthy(), policy, model_id=MODEL)
    assert result.decision == "enable"
    assert result.reasons == ()
    assert result.policy_hash == policy.source_hash is not None
    verdicts = {c.name: c.verdict for c in result.checks}
    assert verdicts == {
        "infra_error_share": "pass",
        "min_trials_per_case": "pass",
        "criticality.critical": "pass",
        "criticality.standard": "pass",
        "flows": "pass",
        "pass_hat_k": "pass",
        "latency.p95_ms": "pass",
        "cost.per_successful_task": "pass",
        "regression": "skipped",
    }
    critical = check(result, "criticality.critical")
    assert critical.interval is not None
    assert critical.interval[0] >= 0.95
    assert critical.measured == 1.0


def test_clear_disable(policy: GatePolicy) -> None:
    data = frame(
        many("crit", 30, ["fail", "fail", "pass"], criticality="critical"),
        many("std", 30, ["fail", "fail", "fail"], criticality="standard"),
    )
    result = decide(data, policy, model_id=MODEL)
    assert result.decision == "disable"
    critical = check(result, "criticality.critical")
    assert critical.verdict == "fail"
    assert critical.interval is not None
    assert critical.interval[1] < 0.95
    assert check(result, "criticality.standard").verdict == "fail"
    assert check(result, "pass_hat_k").verdict == "fail"
    assert check(result, "flows").verdict == "skipped"
    names = [reason.split(":")[0] for reason in result.reasons]
    assert names == ["criticality.critical", "criticality.standard", "pass_hat_k"]


def test_near_the_threshold_is_inconclusive_with_more_trials(policy: GatePolicy) -> None:
    # 28/30 standard passes: one-sided 95% bounds about [0.817, 0.978] around 0.85.
    data = frame(
        many("std", 8, ["pass"] * 3),
        many("std-shaky", 2, ["pass", "pass", "fail"]),
    )
    only_standard = policy.model_copy(update={"pass_hat_k": None})
    result = decide(data, only_standard, model_id=MODEL)
    standard = check(result, "criticality.standard")
    assert standard.verdict == "inconclusive"
    assert standard.interval is not None
    low, high = standard.interval
    assert low < 0.85 <= high
    assert standard.measured == pytest.approx(28 / 30)
    assert isinstance(standard.more_trials, int)
    assert standard.more_trials == 20
    assert result.decision == "inconclusive"
    assert result.reasons[0].startswith("criticality.standard: ")


def test_no_rows_for_the_model_is_inconclusive(policy: GatePolicy) -> None:
    data = frame(many("std", 3, ["pass"] * 3, model_id=BASE))
    result = decide(data, policy, model_id=MODEL)
    assert result.decision == "inconclusive"
    assert check(result, "criticality.critical").verdict == "skipped"
    assert check(result, "min_trials_per_case").verdict == "inconclusive"


# --- infrastructure errors and trial counts -----------------------------------------------


def test_too_many_infra_errors_make_the_gate_inconclusive_never_a_disable(
    policy: GatePolicy,
) -> None:
    data = frame(
        healthy(),
        many("crit", 60, ["infra_error"], criticality="critical"),  # one more trial each
        many("std", 40, ["fail"], criticality="standard", fallback=True),  # served by fallback
    )
    result = decide(data, policy, model_id=MODEL)
    infra = check(result, "infra_error_share")
    assert infra.verdict == "inconclusive"
    assert infra.measured == pytest.approx(100 / 520)
    assert infra.threshold == pytest.approx(0.10)
    # The rates and pass^k saw only the judged trials: still perfect.
    assert check(result, "criticality.critical").measured == 1.0
    assert check(result, "criticality.standard").measured == 1.0
    assert check(result, "pass_hat_k").measured == 1.0
    assert result.decision == "inconclusive"
    assert [reason.split(":")[0] for reason in result.reasons] == ["infra_error_share"]


def test_too_few_trials_is_inconclusive_never_pass(policy: GatePolicy) -> None:
    data = frame(healthy(), case_rows("std-short", ["pass", "pass", "infra_error"]))
    result = decide(data, policy, model_id=MODEL)
    trials = check(result, "min_trials_per_case")
    assert trials.verdict == "inconclusive"
    assert trials.measured == 2.0
    assert "std-short" in trials.detail
    assert result.decision == "inconclusive"
    assert [reason.split(":")[0] for reason in result.reasons] == ["min_trials_per_case"]


# --- pass^k, latency, cost -------------------------------------------------------------------


def test_pass_hat_k_arithmetic(policy: GatePolicy) -> None:
    # C(2,2)/C(3,2) = 1/3 and C(3,2)/C(3,2) = 1; a case with 1 judged trial is left out.
    variant = policy.model_copy(
        update={
            "pass_hat_k": updated(policy.pass_hat_k, k=2, min=0.6),
            "min_trials_per_case": 1,
        }
    )
    data = frame(
        case_rows("a", ["pass", "pass", "fail"]),
        case_rows("b", ["pass", "pass", "pass"]),
        case_rows("c", ["fail", "infra_error"]),
    )
    found = check(decide(data, variant, model_id=MODEL), "pass_hat_k")
    assert found.measured == pytest.approx(2 / 3)
    assert found.verdict == "pass"
    stricter = variant.model_copy(update={"pass_hat_k": updated(variant.pass_hat_k, min=0.7)})
    assert check(decide(data, stricter, model_id=MODEL), "pass_hat_k").verdict == "fail"


def test_pass_hat_k_without_enough_trials_is_inconclusive(policy: GatePolicy) -> None:
    data = frame(case_rows("a", ["pass", "pass"]))
    assert check(decide(data, policy, model_id=MODEL), "pass_hat_k").verdict == "inconclusive"


def test_latency_p95_of_judged_rows(policy: GatePolicy) -> None:
    rows = [row for i in range(20) for row in case_rows(f"c{i}", ["pass"], latency=100.0 * (i + 1))]
    rows += case_rows("slow", ["infra_error"], latency=99_999.0)
    # Linear interpolation over 100..2000: position 0.95 × 19 = 18.05 → 1900 + 0.05 × 100.
    tight = policy.model_copy(update={"latency": updated(policy.latency, p95_ms_max=1905)})
    found = check(decide(frame(rows), tight, model_id=MODEL), "latency.p95_ms")
    assert found.measured == pytest.approx(1905.0)
    assert found.verdict == "pass"
    tighter = policy.model_copy(update={"latency": updated(policy.latency, p95_ms_max=1904)})
    assert check(decide(frame(rows), tighter, model_id=MODEL), "latency.p95_ms").verdict == "fail"


def test_cost_per_successful_task_is_exact(policy: GatePolicy) -> None:
    data = frame(
        case_rows("a", ["pass", "pass", "fail"], cost=Decimal("0.01")),
        case_rows("b", ["pass"], cost=Decimal("0.01")),
        case_rows("c", ["infra_error"], cost=Decimal("0.005")),  # spent all the same
        case_rows("d", ["fail"], cost=None),
    )
    found = check(decide(data, policy, model_id=MODEL), "cost.per_successful_task")
    assert found.measured == "0.015"  # 0.045 / 3
    assert found.threshold == "0.05"
    assert found.verdict == "pass"
    assert "1 unpriced" in found.detail
    cheap = policy.model_copy(
        update={"cost": updated(policy.cost, per_successful_task_max_usd=Decimal("0.0149"))}
    )
    assert check(decide(data, cheap, model_id=MODEL), "cost.per_successful_task").verdict == "fail"


def test_cost_without_passes_fails(policy: GatePolicy) -> None:
    data = frame(case_rows("a", ["fail"] * 3))
    found = check(decide(data, policy, model_id=MODEL), "cost.per_successful_task")
    assert found.verdict == "fail"
    assert found.measured is None


# --- regression ------------------------------------------------------------------------------


def paired(candidate: Sequence[str], baseline: Sequence[str], count: int) -> pd.DataFrame:
    return frame(
        many("p", count, candidate),
        many("p", count, baseline, model_id=BASE),
        many("only-base", 5, ["fail"] * 3, model_id=BASE),  # not paired: ignored
    )


def test_regression_pass_on_paired_cases(policy: GatePolicy) -> None:
    # Equal rates over 1200 cases: drop 0, Hoeffding margin sqrt(2 ln 20 / 1200) ≈ 0.0707 > 0.05;
    # a candidate 0.1 better: upper bound −0.1 + 0.0707 < 0.05.
    same = check(
        decide(paired(["pass"] * 3, ["pass"] * 3, 1200), policy, model_id=MODEL, baseline_id=BASE),
        "regression",
    )
    assert same.verdict == "inconclusive"
    assert same.measured == 0.0
    better = paired(["pass"] * 3, ["pass", "pass", "pass"], 1080)
    better = frame(
        better,
        many("q", 120, ["pass"] * 3),
        many("q", 120, ["fail"] * 3, model_id=BASE),
    )
    found = check(decide(better, policy, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.measured == pytest.approx(-0.1)
    assert found.interval == pytest.approx((-0.1 - 0.0707, -0.1 + 0.0707), abs=1e-3)
    assert found.verdict == "pass"


def test_regression_fail_and_inconclusive(policy: GatePolicy) -> None:
    # 40 cases, candidate loses everything the baseline passed: drop 1, margin ≈ 0.387.
    worse = decide(paired(["fail"] * 3, ["pass"] * 3, 40), policy, model_id=MODEL, baseline_id=BASE)
    found = check(worse, "regression")
    assert found.verdict == "fail"
    assert found.measured == 1.0
    assert found.interval is not None
    assert found.interval[0] == pytest.approx(1 - (2 * 2.995732 / 40) ** 0.5, abs=1e-6)
    assert worse.decision == "disable"
    # A drop of 1/3 on 40 cases: bounds ≈ [−0.05, 0.72] straddle 0.05.
    unsure = paired(["pass", "pass", "fail"], ["pass"] * 3, 40)
    found = check(decide(unsure, policy, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.verdict == "inconclusive"
    assert found.measured == pytest.approx(1 / 3)


def test_regression_without_paired_cases_is_inconclusive(policy: GatePolicy) -> None:
    data = frame(many("a", 3, ["pass"] * 3), many("b", 3, ["pass"] * 3, model_id=BASE))
    found = check(decide(data, policy, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.verdict == "inconclusive"


# --- skipped sections, JSON, bad input --------------------------------------------------------


def test_sections_not_in_the_policy_are_skipped(policy: GatePolicy) -> None:
    minimal = policy.model_copy(
        update={
            "criticality": updated(policy.criticality, critical=None),
            "flows": None,
            "latency": None,
            "cost": None,
            "regression": None,
            "max_infra_error_share": None,
        }
    )
    data = frame(many("std", 40, ["pass"] * 3))
    result = decide(data, minimal, model_id=MODEL, baseline_id=BASE)
    skipped = [c.name for c in result.checks if c.verdict == "skipped"]
    assert skipped == [
        "infra_error_share",
        "criticality.critical",
        "flows",
        "latency.p95_ms",
        "cost.per_successful_task",
        "regression",
    ]
    assert result.decision == "enable"


def test_level_without_rows_is_skipped(policy: GatePolicy) -> None:
    result = decide(frame(many("std", 40, ["pass"] * 3)), policy, model_id=MODEL)
    assert check(result, "criticality.critical").verdict == "skipped"
    assert check(result, "flows").verdict == "skipped"


def test_to_json_round_trips(policy: GatePolicy) -> None:
    result = decide(healthy(), policy, model_id=MODEL)
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert data["decision"] == "enable"
    assert data["policy_hash"] == policy.source_hash
    cost = next(c for c in data["checks"] if c["name"] == "cost.per_successful_task")
    assert cost["measured"] == "0.001"
    assert cost["threshold"] == "0.05"


def test_bad_frames_are_refused(policy: GatePolicy) -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        decide(healthy().drop(columns=["latency_ms"]), policy, model_id=MODEL)
    with pytest.raises(ValueError, match="maybe"):
        decide(frame(case_rows("a", ["maybe"])), policy, model_id=MODEL)
    with pytest.raises(TypeError, match="Decimal"):
        decide(frame(case_rows("a", ["pass"], cost=0.1)), policy, model_id=MODEL)  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------

LENIENT = GatePolicy.model_validate(
    {
        "version": 1,
        "name": "lenient",
        "confidence": 0.9,
        "criticality": {"standard": {"min_lower_bound": 0.3}, "critical": {"min_lower_bound": 0.4}},
        "flows": Threshold(min_lower_bound=0.3),
        "pass_hat_k": {"k": 2, "min": 0.3},
        "min_trials_per_case": 2,
        "max_infra_error_share": 0.5,
        "latency": {"p95_ms_max": 5000},
        "cost": {"per_successful_task_max_usd": "0.01"},
    }
)

_CASE = st.tuples(
    st.sampled_from([("contract", "standard"), ("bfcl", "critical"), ("flow", None)]),
    st.lists(st.sampled_from(["pass", "pass", "fail", "infra_error"]), min_size=1, max_size=4),
)


def _build(cases: Sequence[tuple[tuple[str, str | None], Sequence[str]]]) -> pd.DataFrame:
    return frame(
        *(
            case_rows(f"c{i}", verdicts, kind=kind, criticality=level, cost=Decimal("0.002"))
            for i, ((kind, level), verdicts) in enumerate(cases)
        )
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(_CASE, min_size=1, max_size=8), pick=st.integers(min_value=0))
def test_one_more_pass_never_turns_enable_into_disable(
    cases: list[tuple[tuple[str, str | None], list[str]]], pick: int
) -> None:
    data = _build(cases)
    failing = data.index[data["verdict"] == "fail"]
    if len(failing) == 0:
        return
    better = data.copy()
    better.loc[failing[pick % len(failing)], "verdict"] = "pass"
    before = decide(data, LENIENT, model_id=MODEL).decision
    after = decide(better, LENIENT, model_id=MODEL).decision
    assert not (before == "enable" and after == "disable")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cases=st.lists(_CASE, min_size=1, max_size=8),
    raise_by=st.floats(min_value=0.0, max_value=0.6),
)
def test_raising_a_threshold_never_turns_disable_into_enable(
    cases: list[tuple[tuple[str, str | None], list[str]]], raise_by: float
) -> None:
    data = _build(cases)
    stricter = LENIENT.model_copy(
        update={
            "criticality": updated(
                LENIENT.criticality, standard=Threshold(min_lower_bound=min(1.0, 0.3 + raise_by))
            ),
            "flows": Threshold(min_lower_bound=min(1.0, 0.3 + raise_by)),
            "pass_hat_k": updated(LENIENT.pass_hat_k, min=min(1.0, 0.3 + raise_by)),
        }
    )
    before = decide(data, LENIENT, model_id=MODEL).decision
    after = decide(data, stricter, model_id=MODEL).decision
    assert not (before == "disable" and after == "enable")
    if before == "disable":
        assert after == "disable"


# --- regression: cases without judged trials -------------------------------------------------


def test_regression_leaves_out_cases_without_judged_trials_and_says_so(
    policy: GatePolicy,
) -> None:
    # 40 paired cases the candidate loses entirely (drop 1 each); two more cases whose
    # only trials in one model are infra errors or fallback-served: a rate of 0/0 is no
    # evidence of a drop (nor of a gain), so they leave the comparison and the detail
    # names them.
    data = frame(
        paired(["fail"] * 3, ["pass"] * 3, 40),
        case_rows("z-cand", ["infra_error"] * 3),
        case_rows("z-cand", ["pass"] * 3, model_id=BASE),
        case_rows("z-base", ["pass"] * 3),
        case_rows("z-base", ["fail"] * 3, model_id=BASE, fallback=True),
    )
    found = check(decide(data, policy, model_id=MODEL, baseline_id=BASE), "regression")
    margin = math.sqrt(2 * math.log(20) / 40)
    assert found.measured == 1.0
    assert found.interval == pytest.approx((1 - margin, 1 + margin), abs=1e-12)
    assert found.verdict == "fail"
    assert found.cases == tuple(f"p-{i}" for i in sorted(range(40), key=str))
    assert found.detail == (
        f"mean drop vs {BASE} +1.000 over 40 paired cases; "
        f"Hoeffding one-sided 0.95 bounds [{1 - margin:+.3f}, {1 + margin:+.3f}] > 0.05; "
        "2 of 42 shared cases left out for lack of a judged trial in one model (z-base, z-cand)"
    )
