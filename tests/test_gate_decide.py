"""The gate decision: hand-built results frames against the shipped and varied policies."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from clearance.gate.decide import Check, GateResult, decide
from clearance.gate.policy import GatePolicy, Threshold, load_policy
from clearance.gate.stats import mean_lower_bound, mean_upper_bound

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


def drop_bounds(losses: float, gains: float, n: int, level: float) -> tuple[float, float]:
    """The regression check's bounds: each part one-sided at ``1 − (1 − level)/2``."""
    half = 1.0 - (1.0 - level) / 2.0
    return (
        mean_lower_bound(losses, n, level=half) - mean_upper_bound(gains, n, level=half),
        mean_upper_bound(losses, n, level=half) - mean_lower_bound(gains, n, level=half),
    )


def test_regression_pass_on_paired_cases(policy: GatePolicy) -> None:
    # Equal rates over 1200 cases: no case lost or gained, so each bound is the exact
    # bound for 0 of 1200 at 0.975: ±(1 − 0.025^(1/1200)) ≈ ±0.0031 < 0.05 (Hoeffding's
    # ±0.0707 could not pass it). A candidate 0.1 better passes too.
    same = check(
        decide(paired(["pass"] * 3, ["pass"] * 3, 1200), policy, model_id=MODEL, baseline_id=BASE),
        "regression",
    )
    zero = 1 - 0.025 ** (1 / 1200)
    assert same.interval == pytest.approx((-zero, zero), abs=1e-12)
    assert (same.verdict, same.measured, same.method) == ("pass", 0.0, "paired-split-kl")
    better = paired(["pass"] * 3, ["pass", "pass", "pass"], 1080)
    better = frame(
        better,
        many("q", 120, ["pass"] * 3),
        many("q", 120, ["fail"] * 3, model_id=BASE),
    )
    found = check(decide(better, policy, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.measured == pytest.approx(-0.1)
    assert found.interval == pytest.approx(drop_bounds(0, 0.1, 1200, 0.95), abs=1e-12)
    assert found.interval[1] == pytest.approx(zero - mean_lower_bound(0.1, 1200, level=0.975))
    assert found.interval == pytest.approx((-0.1252, -0.0751), abs=1e-4)
    assert found.verdict == "pass"


def test_regression_fail_and_inconclusive(policy: GatePolicy) -> None:
    # 40 cases, candidate loses everything the baseline passed: drop 1; losses' lower
    # bound for 40 of 40 at 0.975 is 0.025^(1/40), gains' upper bound 1 − 0.025^(1/40).
    worse = decide(paired(["fail"] * 3, ["pass"] * 3, 40), policy, model_id=MODEL, baseline_id=BASE)
    found = check(worse, "regression")
    assert found.verdict == "fail"
    assert found.measured == 1.0
    assert found.interval == pytest.approx((2 * 0.025 ** (1 / 40) - 1, 1.0), abs=1e-12)
    assert worse.decision == "disable"
    # A drop of 1/3 on 10 cases: bounds ≈ [−0.254, 0.743] straddle 0.05; on 40 cases
    # the same drop is told apart from 0.05 (lower bound ≈ 0.071).
    unsure = paired(["pass", "pass", "fail"], ["pass"] * 3, 10)
    found = check(decide(unsure, policy, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.verdict == "inconclusive"
    assert found.measured == pytest.approx(1 / 3)
    assert found.interval == pytest.approx((-0.2537, 0.7433), abs=1e-4)
    sure = paired(["pass", "pass", "fail"], ["pass"] * 3, 40)
    found = check(decide(sure, policy, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.verdict == "fail"
    assert found.interval == pytest.approx((0.0706, 0.5467), abs=1e-4)


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
    low = 2 * 0.025 ** (1 / 40) - 1
    assert found.measured == 1.0
    assert found.interval == pytest.approx((low, 1.0), abs=1e-12)
    assert found.verdict == "fail"
    assert found.cases == tuple(f"p-{i}" for i in sorted(range(40), key=str))
    assert found.detail == (
        f"mean drop vs {BASE} +1.000 over 40 paired cases (losses 1.000, gains 0.000); "
        f"paired-split-kl one-sided 0.95 bounds [{low:+.3f}, +1.000] > 0.05; "
        "2 of 42 shared cases left out for lack of a judged trial in one model (z-base, z-cand)"
    )


# --- a worked example: every check's case list, detail and JSON ------------------------------

Z_90_ONE_SIDED = 1.2815515655446004  # Φ⁻¹(0.9): the one-sided z at confidence 0.9

WORKED = GatePolicy.model_validate(
    {
        "version": 1,
        "name": "worked",
        "confidence": 0.9,
        "criticality": {
            "critical": {"min_lower_bound": 0.9},
            "standard": {"min_lower_bound": 0.5},
        },
        "flows": {"min_lower_bound": 0.2},
        "pass_hat_k": {"k": 2, "min": 0.5},
        "min_trials_per_case": 2,
        "max_infra_error_share": 0.25,
        "latency": {"p95_ms_max": 2000},
        "cost": {"per_successful_task_max_usd": "0.01"},
        "regression": {"max_drop": 0.05, "level": 0.9},
    }
)
P, F, INFRA = "pass", "fail", "infra_error"


def wilson(x: float, n: float, z: float = Z_90_ONE_SIDED) -> tuple[float, float]:
    """Wilson's score bounds from the closed form (z for a one-sided bound at 0.9)."""
    p = x / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def worked() -> pd.DataFrame:
    """Ten cases of two judged trials, each all-pass or all-fail (so ICC 1, design effect 2:
    a case counts once), and a baseline that passes every case but has no judged trial of f-3."""
    return frame(
        case_rows("c-1", [P, P], criticality="critical"),
        case_rows("c-2", [F, F], criticality="critical"),
        case_rows("c-3", [F, F], criticality="critical"),
        case_rows("c-4", [P, INFRA, P], criticality="critical"),
        case_rows("s-1", [P, P]),
        case_rows("s-2", [P, P]),
        case_rows("s-3", [F, F]),
        *(case_rows(f"f-{i}", [P, P], kind="flow") for i in (1, 2, 3)),
        *(
            case_rows(case, [P, P], model_id=BASE)
            for case in ("c-1", "c-2", "c-3", "c-4", "s-1", "s-2", "s-3", "f-1", "f-2")
        ),
        case_rows("f-3", [INFRA, INFRA], model_id=BASE),
    )


def settle_by_hand(rate: float, n: int, deff: float, threshold: float) -> int:
    """More trials until the one-sided 0.9 Wilson lower bound, at ``rate`` on n / deff
    effective trials, reaches ``threshold`` (the rate above it), counted one by one."""
    extra = 0
    while wilson(rate * (n + extra) / deff, (n + extra) / deff)[0] < threshold:
        extra += 1
    return extra


def test_worked_example_json() -> None:
    # critical: 2 of 4 cases pass, counted once each → Wilson on 2/4: [0.230, 0.770] < 0.9.
    # standard: 2 of 3 → [0.321, 0.894] straddles 0.5. flows: 3 of 3 → lower 3/(3 + z²).
    # pass^2: c-1, c-4, s-1, s-2, f-1..3 are 1, c-2, c-3, s-3 are 0 → 7/10.
    # cost: 21 rows × 0.001 = 0.021 over 14 passes = 0.0015 exactly.
    # regression: f-3 left out; drops 1 on c-2, c-3, s-3, 0 elsewhere → 3/9: losses 1/3,
    # no gains, each part bounded at 0.95 (level 0.9 split in two).
    critical, standard, flows = wilson(2, 4), wilson(2, 3), wilson(3, 3)
    more = settle_by_hand(2 / 3, 6, 2.0, 0.5)
    assert more == 24
    drop = drop_bounds(1 / 3, 0, 9, 0.9)
    assert drop == pytest.approx((-0.2211, 0.7258), abs=1e-4)
    critical_detail = (
        "4/8 passed over 4 cases (rate 0.500, design effect 2.00); "
        f"one-sided 0.9 bounds [{critical[0]:.3f}, {critical[1]:.3f}] < 0.9"
    )
    assert critical_detail.endswith("[0.230, 0.770] < 0.9")

    def row(
        name: str, verdict: str, measured: Any, threshold: Any, detail: str, **more: Any
    ) -> Any:
        return {
            "name": name,
            "verdict": verdict,
            "measured": measured,
            "interval": more.get("interval"),
            "threshold": threshold,
            "detail": detail,
            "more_trials": more.get("more_trials"),
            "cases": more.get("cases", []),
            "method": more.get("method"),
        }

    result = decide(worked(), WORKED, model_id=MODEL, baseline_id=BASE)
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert data == {
        "model_id": MODEL,
        "decision": "disable",
        "policy_hash": None,
        "reasons": [f"criticality.critical: {critical_detail}"],
        "snapshots": {},  # the hand-built frame has no model_snapshot column
        "checks": [
            row(
                "infra_error_share",
                "pass",
                pytest.approx(1 / 21),
                0.25,
                "1/21 rows were infra errors or fallback-served (share 0.048) ≤ 0.25",
            ),
            row(
                "min_trials_per_case",
                "pass",
                2.0,
                2.0,
                "every case has at least 2 judged trials (fewest 2)",
            ),
            row(
                "criticality.critical",
                "fail",
                0.5,
                0.9,
                critical_detail,
                interval=pytest.approx(list(critical), abs=1e-12),
                cases=["c-2", "c-3"],
            ),
            row(
                "criticality.standard",
                "inconclusive",
                pytest.approx(2 / 3),
                0.5,
                "4/6 passed over 3 cases (rate 0.667, design effect 2.00); "
                f"one-sided 0.9 bounds [{standard[0]:.3f}, {standard[1]:.3f}] straddle 0.5; "
                "about 24 more trials (12 more cases at 2 trials each) would settle it",
                interval=pytest.approx(list(standard), abs=1e-12),
                more_trials=more,
                cases=["s-3"],
            ),
            row(
                "flows",
                "pass",
                1.0,
                0.2,
                "6/6 passed over 3 cases (rate 1.000, design effect 2.00); "
                f"one-sided 0.9 bounds [{flows[0]:.3f}, 1.000] ≥ 0.2",
                interval=[pytest.approx(3 / (3 + Z_90_ONE_SIDED**2), abs=1e-12), 1.0],
            ),
            row("pass_hat_k", "pass", pytest.approx(0.7), 0.5, "pass^2 0.700 over 10 cases ≥ 0.5"),
            row(
                "latency.p95_ms",
                "pass",
                1000.0,
                2000.0,
                "p95 latency 1000 ms over 20 judged calls ≤ 2000 ms",
            ),
            row(
                "cost.per_successful_task",
                "pass",
                "0.0015",
                "0.01",
                "USD 0.021 / 14 passes = 0.0015 ≤ 0.01",
            ),
            row(
                "regression",
                "inconclusive",
                pytest.approx(1 / 3),
                0.05,
                f"mean drop vs {BASE} +0.333 over 9 paired cases (losses 0.333, gains 0.000); "
                f"paired-split-kl one-sided 0.9 bounds [{drop[0]:+.3f}, {drop[1]:+.3f}] "
                "straddle 0.05; "
                "1 of 10 shared cases left out for lack of a judged trial in one model (f-3)",
                interval=pytest.approx(list(drop), abs=1e-12),
                cases=["c-2", "c-3", "s-3"],
                method="paired-split-kl",
            ),
        ],
    }


# --- each check's case list and wording --------------------------------------------------------


def test_infra_share_names_the_cases_hit_sorted_once_and_allows_the_limit_itself() -> None:
    # 10 rows, 1 infra error: share 0.1 exactly at a limit of 0.1 passes ("must not exceed").
    at_limit = WORKED.model_copy(update={"max_infra_error_share": 0.1})
    rows = frame(case_rows("a", [P] * 4), case_rows("b", [P, P, P, P, INFRA, P]))
    found = check(decide(rows, at_limit, model_id=MODEL), "infra_error_share")
    assert (found.verdict, found.measured, found.cases) == ("pass", 0.1, ())
    assert found.detail == "1/10 rows were infra errors or fallback-served (share 0.100) ≤ 0.1"
    # Over it: the cases with an infra error or a fallback-served row, each once, sorted.
    rows = frame(
        case_rows("z", [INFRA, INFRA, P]),
        case_rows("m", [P, P, P]),
        case_rows("b", [F, P], fallback=True),
    )
    found = check(decide(rows, at_limit, model_id=MODEL), "infra_error_share")
    assert (found.verdict, found.cases, found.threshold) == ("inconclusive", ("b", "z"), 0.1)
    assert found.measured == pytest.approx(4 / 8)
    assert found.detail == "4/8 rows were infra errors or fallback-served (share 0.500) > 0.1"
    assert found.interval is None


def test_infra_share_skips_without_a_limit_or_rows() -> None:
    unlimited = WORKED.model_copy(update={"max_infra_error_share": None})
    found = check(decide(worked(), unlimited, model_id=MODEL), "infra_error_share")
    assert (found.verdict, found.threshold, found.detail) == (
        "skipped",
        None,
        "max_infra_error_share not in the policy",
    )
    empty = decide(frame(case_rows("a", [P], model_id=BASE)), WORKED, model_id=MODEL)
    found = check(empty, "infra_error_share")
    assert (found.verdict, found.threshold, found.detail) == ("skipped", 0.25, "no rows")


def test_min_trials_lists_every_short_case_and_shows_five() -> None:
    three = WORKED.model_copy(update={"min_trials_per_case": 3})
    rows = frame(
        *(case_rows(f"s{i}", [P, P]) for i in range(7)),
        case_rows("ok", [P, P, P]),
        case_rows("infra", [P, P, INFRA]),  # 2 judged trials: short too
    )
    result = decide(rows, three, model_id=MODEL)
    found = check(result, "min_trials_per_case")
    assert found.verdict == "inconclusive"
    assert found.cases == ("infra", "s0", "s1", "s2", "s3", "s4", "s5", "s6")
    assert (found.measured, found.threshold) == (2.0, 3.0)
    assert found.detail == (
        "8 of 9 cases have fewer than 3 judged trials (infra, s0, s1, s2, s3, …)"
    )
    assert result.reasons[0] == f"min_trials_per_case: {found.detail}"
    # Exactly five short cases: all shown, no ellipsis; exactly the minimum is enough.
    rows = frame(*(case_rows(f"s{i}", [P, P]) for i in range(5)), case_rows("ok", [P, P, P]))
    found = check(decide(rows, three, model_id=MODEL), "min_trials_per_case")
    assert found.detail == "5 of 6 cases have fewer than 3 judged trials (s0, s1, s2, s3, s4)"
    found = check(
        decide(frame(case_rows("ok", [P, P, P])), three, model_id=MODEL), "min_trials_per_case"
    )
    assert (found.verdict, found.cases, found.measured) == ("pass", (), 3.0)
    assert found.detail == "every case has at least 3 judged trials (fewest 3)"


def test_min_trials_without_cases_is_inconclusive() -> None:
    found = check(
        decide(frame(case_rows("a", [P], model_id=BASE)), WORKED, model_id=MODEL),
        "min_trials_per_case",
    )
    assert (found.verdict, found.measured, found.threshold, found.detail) == (
        "inconclusive",
        None,
        2.0,
        "no cases were run",
    )


def test_a_failing_rate_names_the_cases_with_a_judged_failure_only() -> None:
    # Each case all-pass or all-fail (ICC 1, design effect 2): Wilson on 1 of 4 cases
    # gives an upper bound of about 0.58 < 0.9. "a" passed every judged trial and "d" was
    # never judged: neither is behind the failure.
    rows = frame(
        case_rows("c", [F, F], criticality="critical"),
        case_rows("a", [P, P, INFRA], criticality="critical"),
        case_rows("b", [F, F], criticality="critical"),
        case_rows("e", [F, F], criticality="critical"),
        case_rows("d", [INFRA, INFRA], criticality="critical"),
    )
    found = check(decide(rows, WORKED, model_id=MODEL), "criticality.critical")
    low, high = wilson(1, 4)
    assert found.verdict == "fail"
    assert found.cases == ("b", "c", "e")
    assert found.interval == pytest.approx((low, high), abs=1e-12)
    assert found.more_trials is None
    assert found.detail == (
        "2/8 passed over 4 cases (rate 0.250, design effect 2.00); "
        f"one-sided 0.9 bounds [{low:.3f}, {high:.3f}] < 0.9"
    )


def test_a_rate_at_exactly_the_threshold_passes() -> None:
    # One trial per case: no clustering (design effect 1), so the lower bound is Wilson's on
    # 10/10 at z = Φ⁻¹(0.9), 10 / (10 + z²); a threshold equal to it passes ("at or above").
    rows = frame(*(case_rows(f"a{i}", [P]) for i in range(10)))
    found = check(decide(rows, WORKED, model_id=MODEL), "criticality.standard")
    assert found.interval is not None
    low = found.interval[0]
    assert low == pytest.approx(10 / (10 + Z_90_ONE_SIDED**2), abs=1e-12)
    exact = WORKED.model_copy(
        update={"criticality": updated(WORKED.criticality, standard=Threshold(min_lower_bound=low))}
    )
    found = check(decide(rows, exact, model_id=MODEL), "criticality.standard")
    assert found.verdict == "pass"
    assert found.detail == (
        "10/10 passed over 10 cases (rate 1.000, design effect 1.00); "
        f"one-sided 0.9 bounds [{low:.3f}, 1.000] ≥ {low:g}"
    )


def test_an_undecided_rate_asks_for_whole_new_cases() -> None:
    # 4 cases of 3 trials (each all-pass or all-fail; ICC 1, design effect 3): 3 of 4
    # pass, Wilson on 3/4 straddles 0.5. The 8 extra trials come as new cases of 3 trials:
    # 3 cases, rounded up.
    rows = frame(
        *(case_rows(f"p{i}", [P, P, P]) for i in range(3)),
        case_rows("f", [F, F, F, INFRA]),
    )
    found = check(decide(rows, WORKED, model_id=MODEL), "criticality.standard")
    assert settle_by_hand(3 / 4, 12, 3.0, 0.5) == found.more_trials == 8
    assert found.verdict == "inconclusive"
    assert found.cases == ("f",)
    low, high = wilson(3, 4)
    assert low < 0.5 <= high
    assert found.detail == (
        "9/12 passed over 4 cases (rate 0.750, design effect 3.00); "
        f"one-sided 0.9 bounds [{low:.3f}, {high:.3f}] straddle 0.5; "
        "about 8 more trials (3 more cases at 3 trials each) would settle it"
    )


def test_a_failing_pass_hat_k_names_the_cases_it_averaged_that_failed() -> None:
    # k = 2: "a" 1/3 (2 of 3 passed), "b" 0, "c" 1; "short" has one judged trial, so it is
    # not in the mean (nor behind the verdict) though it failed. Mean 4/9 < 0.5.
    rows = frame(
        case_rows("b", [F, F]),
        case_rows("a", [P, F, P]),
        case_rows("c", [P, P]),
        case_rows("short", [F, INFRA]),
    )
    found = check(decide(rows, WORKED, model_id=MODEL), "pass_hat_k")
    assert (found.verdict, found.cases, found.threshold) == ("fail", ("a", "b"), 0.5)
    assert found.measured == pytest.approx(4 / 9)
    assert found.detail == "pass^2 0.444 over 3 cases < 0.5"
    at_min = WORKED.model_copy(update={"pass_hat_k": updated(WORKED.pass_hat_k, min=4 / 9)})
    found = check(decide(rows, at_min, model_id=MODEL), "pass_hat_k")
    assert (found.verdict, found.cases) == ("pass", ())
    assert found.detail == f"pass^2 0.444 over 3 cases ≥ {4 / 9:g}"


def test_pass_hat_k_wording_when_it_cannot_be_computed() -> None:
    rows = frame(case_rows("a", [P, INFRA]))
    found = check(decide(rows, WORKED, model_id=MODEL), "pass_hat_k")
    assert (found.verdict, found.measured, found.threshold, found.detail) == (
        "inconclusive",
        None,
        0.5,
        "no case has 2 judged trials",
    )
    off = WORKED.model_copy(update={"pass_hat_k": None})
    found = check(decide(rows, off, model_id=MODEL), "pass_hat_k")
    assert (found.verdict, found.threshold, found.detail) == (
        "skipped",
        None,
        "pass_hat_k not in the policy",
    )


def test_latency_wording_and_rows_it_leaves_out() -> None:
    # Judged latencies 100, 200, 300 (p95 by linear interpolation: 200 + 0.9 × 100 = 290);
    # a judged row without a latency and an infra error's latency are left out.
    rows = frame(
        case_rows("a", [P], latency=100.0),
        case_rows("b", [F], latency=300.0),
        case_rows("c", [P], latency=200.0),
        case_rows("d", [P], latency=None),
        case_rows("e", [INFRA], latency=90_000.0),
    )
    bar = WORKED.model_copy(update={"latency": updated(WORKED.latency, p95_ms_max=289.5)})
    found = check(decide(rows, bar, model_id=MODEL), "latency.p95_ms")
    assert (found.verdict, found.threshold, found.cases) == ("fail", 289.5, ())
    assert found.measured == pytest.approx(290.0)
    assert found.detail == "p95 latency 290 ms over 3 judged calls > 289.5 ms"
    found = check(decide(rows, WORKED, model_id=MODEL), "latency.p95_ms")
    assert found.detail == "p95 latency 290 ms over 3 judged calls ≤ 2000 ms"
    only_infra = frame(case_rows("e", [INFRA], latency=90_000.0), case_rows("d", [P], latency=None))
    found = check(decide(only_infra, WORKED, model_id=MODEL), "latency.p95_ms")
    assert (found.verdict, found.measured, found.threshold, found.detail) == (
        "inconclusive",
        None,
        2000.0,
        "no judged row has a latency",
    )
    off = WORKED.model_copy(update={"latency": None})
    found = check(decide(rows, off, model_id=MODEL), "latency.p95_ms")
    assert (found.verdict, found.detail) == ("skipped", "latency not in the policy")


def test_cost_wording_at_and_over_the_limit() -> None:
    # 4 rows at 0.0025 = 0.01 over 2 passes = 0.005, exactly the limit: passes.
    rows = frame(case_rows("a", [P, F, P, INFRA], cost=Decimal("0.0025")))
    at_limit = WORKED.model_copy(
        update={"cost": updated(WORKED.cost, per_successful_task_max_usd=Decimal("0.005"))}
    )
    found = check(decide(rows, at_limit, model_id=MODEL), "cost.per_successful_task")
    assert (found.verdict, found.measured, found.threshold) == ("pass", "0.0050", "0.005")
    assert found.detail == "USD 0.0100 / 2 passes = 0.0050 ≤ 0.005"
    under = WORKED.model_copy(
        update={"cost": updated(WORKED.cost, per_successful_task_max_usd=Decimal("0.0049"))}
    )
    found = check(decide(rows, under, model_id=MODEL), "cost.per_successful_task")
    assert (found.verdict, found.measured, found.threshold) == ("fail", "0.0050", "0.0049")
    assert found.detail == "USD 0.0100 / 2 passes = 0.0050 > 0.0049"


def test_cost_wording_without_prices_passes_or_rows() -> None:
    unpriced = frame(case_rows("a", [P, P], cost=None))
    found = check(decide(unpriced, WORKED, model_id=MODEL), "cost.per_successful_task")
    assert (found.verdict, found.measured, found.threshold, found.detail) == (
        "inconclusive",
        None,
        "0.01",
        "no row has a cost",
    )
    nothing_passed = frame(case_rows("a", [F, INFRA], cost=Decimal("0.002")))
    found = check(decide(nothing_passed, WORKED, model_id=MODEL), "cost.per_successful_task")
    assert (found.verdict, found.measured, found.threshold, found.detail) == (
        "fail",
        None,
        "0.01",
        "USD 0.004 spent and nothing passed",
    )
    found = check(
        decide(frame(case_rows("a", [P], model_id=BASE)), WORKED, model_id=MODEL),
        "cost.per_successful_task",
    )
    assert (found.verdict, found.threshold, found.detail) == ("skipped", "0.01", "no rows")
    off = WORKED.model_copy(update={"cost": None})
    found = check(decide(unpriced, off, model_id=MODEL), "cost.per_successful_task")
    assert (found.verdict, found.threshold, found.detail) == (
        "skipped",
        None,
        "cost not in the policy",
    )


def test_partly_priced_cost_is_a_lower_bound_and_says_so() -> None:
    rows = frame(case_rows("a", [P, P, F], cost=Decimal("0.003")), case_rows("b", [P], cost=None))
    found = check(decide(rows, WORKED, model_id=MODEL), "cost.per_successful_task")
    assert found.measured == "0.003"
    assert found.detail == (
        "USD 0.009 / 3 passes = 0.003 (1 unpriced rows left out: a lower bound) ≤ 0.01"
    )


def test_regression_names_only_the_cases_that_dropped() -> None:
    # Per case drop = baseline rate − candidate rate: "down" 1 − 0 = 1, "slip" 1 − 1/2,
    # "same" 0, "up" −1. Mean 1/8 over 4 pairs: losses (1 + 1/2)/4, gains 1/4.
    rows = frame(
        case_rows("up", [P, P]),
        case_rows("up", [F, F], model_id=BASE),
        case_rows("slip", [P, F]),
        case_rows("slip", [P, P], model_id=BASE),
        case_rows("same", [P, F]),
        case_rows("same", [F, P], model_id=BASE),
        case_rows("down", [F, F]),
        case_rows("down", [P, P], model_id=BASE),
        case_rows("mine-only", [F, F]),
        case_rows("theirs-only", [P, P], model_id=BASE),
    )
    found = check(decide(rows, WORKED, model_id=MODEL, baseline_id=BASE), "regression")
    low, high = drop_bounds(3 / 8, 1 / 4, 4, 0.9)
    assert found.verdict == "inconclusive"
    assert found.cases == ("down", "slip")
    assert found.measured == pytest.approx(1 / 8)
    assert found.interval == pytest.approx((low, high), abs=1e-12)
    assert found.detail == (
        f"mean drop vs {BASE} +0.125 over 4 paired cases (losses 0.375, gains 0.250); "
        f"paired-split-kl one-sided 0.9 bounds [{low:+.3f}, {high:+.3f}] straddle 0.05"
    )


def test_regression_pass_wording_lists_no_cases() -> None:
    # 200 paired cases, the candidate better on 40 (drop −1) and equal elsewhere: mean −0.2,
    # no losses; upper bound (1 − 0.05^(1/200)) − (gains' lower bound) ≈ −0.122 < 0.05.
    rows = frame(
        many("eq", 160, [P, P]),
        many("eq", 160, [P, P], model_id=BASE),
        many("up", 40, [P, P]),
        many("up", 40, [F, F], model_id=BASE),
    )
    found = check(decide(rows, WORKED, model_id=MODEL, baseline_id=BASE), "regression")
    low, high = drop_bounds(0, 0.2, 200, 0.9)
    assert high == pytest.approx(1 - 0.05 ** (1 / 200) - mean_lower_bound(0.2, 200, level=0.95))
    assert (found.verdict, found.cases, found.threshold) == ("pass", (), 0.05)
    assert found.measured == pytest.approx(-0.2)
    assert found.detail == (
        f"mean drop vs {BASE} -0.200 over 200 paired cases (losses 0.000, gains 0.200); "
        f"paired-split-kl one-sided 0.9 bounds [{low:+.3f}, {high:+.3f}] < 0.05"
    )
    assert (low, high) == pytest.approx((-0.2748, -0.1222), abs=1e-4)


def test_regression_wording_without_pairs_or_baseline() -> None:
    rows = frame(
        case_rows("a", [P, P]),
        case_rows("a", [INFRA, INFRA], model_id=BASE),
        case_rows("b", [P, P], model_id=BASE),
    )
    found = check(decide(rows, WORKED, model_id=MODEL, baseline_id=BASE), "regression")
    assert (found.verdict, found.measured, found.interval, found.threshold) == (
        "inconclusive",
        None,
        None,
        0.05,
    )
    assert found.detail == (
        f"no case has judged trials for both this model and {BASE}; "
        "1 of 1 shared cases left out for lack of a judged trial in one model (a)"
    )
    found = check(decide(rows, WORKED, model_id=MODEL), "regression")
    assert (found.verdict, found.threshold, found.detail) == ("skipped", None, "no baseline given")
    off = WORKED.model_copy(update={"regression": None})
    found = check(decide(rows, off, model_id=MODEL, baseline_id=BASE), "regression")
    assert (found.verdict, found.detail) == ("skipped", "regression not in the policy")


def test_sections_left_out_say_so() -> None:
    bare = WORKED.model_copy(update={"criticality": None, "flows": None})
    result = decide(worked(), bare, model_id=MODEL)
    details = {c.name: (c.verdict, c.threshold, c.detail) for c in result.checks}
    assert details["criticality.critical"] == ("skipped", None, "critical not in the policy")
    assert details["criticality.standard"] == ("skipped", None, "standard not in the policy")
    assert details["flows"] == ("skipped", None, "flows not in the policy")
    only_flows = frame(case_rows("f", [P, P], kind="flow"))
    found = check(decide(only_flows, WORKED, model_id=MODEL), "criticality.standard")
    assert (found.verdict, found.threshold, found.detail) == ("skipped", 0.5, "no judged trials")


def test_reasons_are_the_inconclusive_checks_when_none_fails() -> None:
    # The worked example without its failing critical cases: 2 of 2 critical cases pass,
    # too few to reach 0.9 (lower bound 2 / (2 + z²) ≈ 0.55), so critical, standard and
    # regression are inconclusive, in the order of the checks.
    rows = worked()
    rows = rows[~rows["case_id"].isin(["c-2", "c-3"])]
    result = decide(rows, WORKED, model_id=MODEL, baseline_id=BASE)
    assert result.decision == "inconclusive"
    unsure = [c for c in result.checks if c.verdict == "inconclusive"]
    assert [c.name for c in unsure] == [
        "criticality.critical",
        "criticality.standard",
        "regression",
    ]
    assert result.reasons == tuple(f"{c.name}: {c.detail}" for c in unsure)


def test_six_short_cases_are_shown_as_five_and_an_ellipsis() -> None:
    three = WORKED.model_copy(update={"min_trials_per_case": 3})
    rows = frame(*(case_rows(f"s{i}", [P, P]) for i in range(6)))
    found = check(decide(rows, three, model_id=MODEL), "min_trials_per_case")
    assert found.detail == "6 of 6 cases have fewer than 3 judged trials (s0, s1, s2, s3, s4, …)"
    assert found.cases == ("s0", "s1", "s2", "s3", "s4", "s5")


def test_the_policy_interval_method_is_used_for_bounds_and_for_the_hint() -> None:
    # Ten cases of one trial each, all passing (no clustering). Clopper–Pearson's one-sided
    # lower bound at 0.9 for n/n is 0.1^(1/n): 0.794 for n = 10 < 0.85, and it reaches 0.85
    # at n ≥ ln 0.1 / ln 0.85 ≈ 14.2, so 5 more trials. Wilson's, n / (n + z²), is already
    # 0.859 at n = 10: under Wilson the same rows pass.
    rows = frame(*(case_rows(f"a{i:02}", [P]) for i in range(10)))
    bar = updated(WORKED.criticality, standard=Threshold(min_lower_bound=0.85))
    exact = WORKED.model_copy(update={"interval": "clopper-pearson", "criticality": bar})
    found = check(decide(rows, exact, model_id=MODEL), "criticality.standard")
    assert found.interval == pytest.approx((0.1 ** (1 / 10), 1.0), abs=1e-12)
    assert math.ceil(math.log(0.1) / math.log(0.85)) - 10 == found.more_trials == 5
    assert found.verdict == "inconclusive"
    assert found.detail.endswith(
        "straddle 0.85; about 5 more trials (5 more cases at 1 trials each) would settle it"
    )
    wilson_policy = WORKED.model_copy(update={"criticality": bar})
    found = check(decide(rows, wilson_policy, model_id=MODEL), "criticality.standard")
    assert found.verdict == "pass"
    assert found.interval == pytest.approx((10 / (10 + Z_90_ONE_SIDED**2), 1.0), abs=1e-12)


def test_an_upper_bound_at_exactly_the_threshold_is_not_a_fail() -> None:
    # Fail needs the upper bound strictly below the threshold: 2 of 10 (one trial each)
    # has an upper bound of about 0.40 < 0.5; a threshold at exactly that bound is undecided.
    rows = frame(*(case_rows(f"a{i}", [P if i < 2 else F]) for i in range(10)))
    found = check(decide(rows, WORKED, model_id=MODEL), "criticality.standard")
    assert found.verdict == "fail"
    assert found.interval is not None
    high = found.interval[1]
    assert high == pytest.approx(wilson(2, 10)[1], abs=1e-12)
    at = WORKED.model_copy(
        update={
            "criticality": updated(WORKED.criticality, standard=Threshold(min_lower_bound=high))
        }
    )
    found = check(decide(rows, at, model_id=MODEL), "criticality.standard")
    assert found.verdict == "inconclusive"


def test_a_rate_on_the_threshold_gets_no_hint() -> None:
    # 5 of 10 against 0.5: no number of trials at that rate settles it.
    rows = frame(*(case_rows(f"a{i}", [P if i < 5 else F]) for i in range(10)))
    found = check(decide(rows, WORKED, model_id=MODEL), "criticality.standard")
    low, high = wilson(5, 10)
    assert (found.verdict, found.more_trials) == ("inconclusive", None)
    assert found.cases == ("a5", "a6", "a7", "a8", "a9")
    assert found.detail == (
        "5/10 passed over 10 cases (rate 0.500, design effect 1.00); "
        f"one-sided 0.9 bounds [{low:.3f}, {high:.3f}] straddle 0.5"
    )


def test_tiny_costs_are_written_out_not_in_exponent_form() -> None:
    rows = frame(case_rows("a", [P, P], cost=Decimal("0.00000001")))
    found = check(decide(rows, WORKED, model_id=MODEL), "cost.per_successful_task")
    assert found.measured == "0.00000001"
    assert found.detail == "USD 0.00000002 / 2 passes = 0.00000001 ≤ 0.01"


def test_regression_bounds_at_exactly_max_drop_stay_undecided() -> None:
    # 200 paired cases of one trial each (one judged trial is enough to pair). Equal rates:
    # drop 0 ± (1 − 0.05^(1/200)). Pass needs the upper bound strictly below max_drop.
    margin = 1 - 0.05 ** (1 / 200)
    equal = frame(many("e", 200, [P]), many("e", 200, [P], model_id=BASE))
    found = check(decide(equal, WORKED, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.interval == pytest.approx((-margin, margin), abs=1e-12)
    assert found.detail.startswith(f"mean drop vs {BASE} +0.000 over 200 paired cases (")
    assert found.interval is not None
    upper = found.interval[1]
    at_upper = WORKED.model_copy(update={"regression": updated(WORKED.regression, max_drop=upper)})
    found = check(decide(equal, at_upper, model_id=MODEL, baseline_id=BASE), "regression")
    assert found.verdict == "inconclusive"
    # Every case lost: drop 1, lower bound 1 − 2·margin. Fail needs the lower bound strictly
    # above max_drop.
    lost = frame(many("e", 200, [F]), many("e", 200, [P], model_id=BASE))
    found = check(decide(lost, WORKED, model_id=MODEL, baseline_id=BASE), "regression")
    assert (found.verdict, found.threshold, len(found.cases)) == ("fail", 0.05, 200)
    assert found.interval is not None
    lower = found.interval[0]
    assert lower == pytest.approx(1 - 2 * margin, abs=1e-12)
    at_lower = WORKED.model_copy(update={"regression": updated(WORKED.regression, max_drop=lower)})
    found = check(decide(lost, at_lower, model_id=MODEL, baseline_id=BASE), "regression")
    assert (found.verdict, found.threshold) == ("inconclusive", lower)


def exactly(message: str) -> str:
    """A ``match`` pattern for exactly this message."""
    return f"^{re.escape(message)}$"


def test_bad_frames_are_refused_with_exact_messages() -> None:
    missing = exactly("the results frame lacks the column(s) latency_ms, cost")
    with pytest.raises(ValueError, match=missing):
        decide(worked().drop(columns=["cost", "latency_ms"]), WORKED, model_id=MODEL)
    with pytest.raises(ValueError, match=exactly("unknown verdict(s) ['maybe', 'perhaps']")):
        decide(frame(case_rows("a", ["maybe", P, "perhaps"])), WORKED, model_id=MODEL)
    rows = frame(case_rows("a", [P, P]))
    rows.loc[1, "verdict"] = None
    with pytest.raises(ValueError, match=exactly("unknown verdict(s) ['<missing>']")):
        decide(rows, WORKED, model_id=MODEL)
