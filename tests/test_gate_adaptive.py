"""Adaptive trials (``gate.adaptive``): the stopping rule's levels, the two-sided decision,
which cases get the next trial, and futility stopping (the CLI end to end is in
tests/test_eval_until_decided.py)."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import InputError
from clearance.evaluation.results import ResultStore
from clearance.gate.adaptive import (
    FUTILITY,
    GateRounds,
    StoppingRule,
    cases_to_try,
    decide_adaptive,
    futile,
    rule_of_runs,
    settle_chance,
)
from clearance.gate.decide import GateResult, decide
from clearance.gate.policy import GatePolicy
from clearance.gate.stats import clustered_interval

POLICY = GatePolicy(
    version=1,
    name="t",
    confidence=0.95,
    criticality={"critical": {"min_lower_bound": 0.80}},  # type: ignore[arg-type]
    flows={"min_lower_bound": 0.80},  # type: ignore[arg-type]
    min_trials_per_case=3,
)


def _rows(model: str, spec: dict[str, tuple[str, str | None, list[bool]]]) -> pd.DataFrame:
    """``{case: (kind, criticality, verdicts per trial)}`` as a results frame."""
    rows: list[dict[str, Any]] = []
    for case, (kind, crit, verdicts) in spec.items():
        for trial, passed in enumerate(verdicts, 1):
            rows.append(
                {
                    "model_id": model,
                    "case_id": case,
                    "case_kind": kind,
                    "criticality": crit,
                    "trial": trial,
                    "verdict": "pass" if passed else "fail",
                    "fallback_served": False,
                    "latency_ms": 10.0,
                    "cost": Decimal("0.001"),
                }
            )
    return pd.DataFrame(rows)


# -- the stopping rule ---------------------------------------------------------------------


@given(
    most=st.integers(1, 12),
    least=st.integers(1, 12),
    level=st.floats(0.51, 0.999),
)
def test_the_levels_spent_over_the_looks_never_exceed_the_stated_error(
    most: int, least: int, level: float
) -> None:
    rule = StoppingRule(most, least)
    alpha = 1 - level
    enable_spent = (1 - rule.enable_level(level)) * rule.enabling_looks
    disable_spent = (1 - rule.disable_level(level)) * most
    assert enable_spent <= alpha + 1e-12
    assert disable_spent <= alpha + 1e-12
    # never looser than the policy's own level
    assert rule.enable_level(level) >= level - 1e-12
    assert rule.disable_level(level) >= rule.enable_level(level) - 1e-12


def test_with_the_cap_at_the_policy_minimum_an_enable_is_judged_at_the_policy_level() -> None:
    rule = StoppingRule(3, 3)
    assert rule.enable_level(0.95) == pytest.approx(0.95)
    assert rule.disable_level(0.95) == pytest.approx(1 - 0.05 / 3)
    assert StoppingRule(6, 3).enable_level(0.95) == pytest.approx(1 - 0.05 / 4)


def test_the_rule_round_trips_through_the_run_details_and_refuses_unknown_ones() -> None:
    rule = StoppingRule(5, 3)
    assert rule.futility == FUTILITY == 0.05
    assert rule_of_runs([None, {"cases": 3}, {"adaptive": rule.to_json()}]) == rule
    assert rule_of_runs([None, {}]) is None
    # a run recorded before futility stopping existed never stopped for it
    old = {"method": "alpha-spending-bonferroni", "max_trials": 3, "min_trials": 3}
    assert rule_of_runs([{"adaptive": old}]) == StoppingRule(3, 3, futility=0.0)
    for bad in (-0.01, 1.0):
        with pytest.raises(InputError, match="futility bound"):
            StoppingRule(3, 3, futility=bad)
    with pytest.raises(InputError, match="unknown adaptive stopping rule"):
        rule_of_runs([{"adaptive": {"method": "peeking", "max_trials": 3, "min_trials": 3}}])
    with pytest.raises(InputError):
        StoppingRule(0, 3)


# -- the decision at a look ------------------------------------------------------------------


def test_a_clear_failure_disables_at_the_first_look() -> None:
    spec: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [i < 5]) for i in range(30)
    }
    frame = _rows("m", spec)
    result = decide_adaptive(frame, POLICY, StoppingRule(3, 3), model_id="m")
    assert result.decision == "disable"
    check = next(c for c in result.checks if c.name == "criticality.critical")
    assert check.verdict == "fail"
    assert "0.983" in check.detail  # judged at the disabling side's level


def test_nothing_enables_before_every_case_has_the_minimum_trials() -> None:
    spec: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [True]) for i in range(60)
    }
    frame = _rows("m", spec)
    rule = StoppingRule(3, 3)
    first = decide_adaptive(frame, POLICY, rule, model_id="m")
    assert first.decision == "inconclusive"
    assert cases_to_try(first, frame, POLICY, rule) == tuple(sorted(spec))
    spec = {case: (kind, crit, [True] * 3) for case, (kind, crit, _) in spec.items()}
    third = decide_adaptive(_rows("m", spec), POLICY, rule, model_id="m")
    assert third.decision == "enable"
    assert cases_to_try(third, _rows("m", spec), POLICY, rule) == ()


@settings(deadline=None)  # two gate decisions per example: slow on a loaded machine
@given(
    verdicts=st.lists(st.lists(st.booleans(), min_size=1, max_size=4), min_size=2, max_size=25),
    most=st.integers(1, 6),
)
def test_a_decision_at_the_spent_levels_is_the_policy_level_decision_too(
    verdicts: list[list[bool]], most: int
) -> None:
    """What an adaptive run stops on, ``clearance gate`` at the policy's level agrees with."""
    spec: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", v) for i, v in enumerate(verdicts)
    }
    frame = _rows("m", spec)
    rule = StoppingRule(most, POLICY.min_trials_per_case)
    adaptive = decide_adaptive(frame, POLICY, rule, model_id="m")
    if adaptive.decision != "inconclusive":
        assert decide(frame, POLICY, model_id="m").decision == adaptive.decision


def test_the_next_trials_go_only_to_the_cases_of_an_unsettled_check() -> None:
    """Critical cases clearly pass; the flows straddle their bar: only the flows get more."""
    spec: dict[str, tuple[str, str | None, list[bool]]] = {
        f"crit{i:02d}": ("contract", "critical", [True] * 3) for i in range(60)
    }
    spec.update({f"flow{i:02d}": ("flow", None, [True, i % 4 != 0, True]) for i in range(12)})
    frame = _rows("m", spec)
    rule = StoppingRule(6, 3)
    result = decide_adaptive(frame, POLICY, rule, model_id="m")
    verdicts = {c.name: c.verdict for c in result.checks}
    assert verdicts["criticality.critical"] == "pass"
    assert verdicts["flows"] == "inconclusive"
    chosen = cases_to_try(result, frame, POLICY, rule)
    assert chosen == tuple(f"flow{i:02d}" for i in range(12))
    # a case at the cap gets no more
    capped = cases_to_try(result, frame, POLICY, StoppingRule(3, 3))
    assert capped == ()


# -- futility ----------------------------------------------------------------------------------


def _settles(cases: list[tuple[int, int]], bar: float, enable: float, disable: float) -> bool:
    judged = [(c, n) for c, n in cases if n > 0]
    low = clustered_interval(judged, level=enable, one_sided=True).low
    high = clustered_interval(judged, level=disable, one_sided=True).high
    return low >= bar or high < bar


def _any_completion_settles(
    cases: list[tuple[int, int, int]], bar: float, enable: float, disable: float
) -> bool:
    """Brute force: every pass/fail sequence of every case's trials left, every look."""
    rounds = max(left for _, _, left in cases)
    sequences = [list(itertools.product((0, 1), repeat=left)) for _, _, left in cases]
    for completion in itertools.product(*sequences):
        for look in range(1, rounds + 1):
            now = [
                (c + sum(seq[:look]), n + min(look, left))
                for (c, n, left), seq in zip(cases, completion, strict=True)
            ]
            if _settles(now, bar, enable, disable):
                return True
    return False


@settings(max_examples=30, deadline=None)
@given(
    cases=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)).map(
            lambda t: (min(t[0], t[1]), t[1], t[2])
        ),
        min_size=2,
        max_size=4,
    ).filter(lambda cs: all(n + left > 0 for _, n, left in cs) and any(n for _, n, _ in cs)),
    bar=st.sampled_from([0.3, 0.5, 0.6, 0.7]),
    most=st.integers(2, 4),
)
def test_the_settle_chance_agrees_with_every_completion_of_a_small_suite(
    cases: list[tuple[int, int, int]], bar: float, most: int
) -> None:
    """No completion settles: the chance is 0 (so futility fires, exactly); a positive
    chance: some completion settles. Brute force over every outcome of every trial left
    at every look, so a bound that is not monotone in the passes (the design effect) is
    covered too."""
    rule = StoppingRule(most, 1)
    enable, disable = rule.enable_level(0.9), rule.disable_level(0.9)
    chance = settle_chance(cases, bar, enable_level=enable, disable_level=disable, draws=40)
    reachable = any(left for _, _, left in cases) and _any_completion_settles(
        cases, bar, enable, disable
    )
    assert 0.0 <= chance <= 1.0
    if not reachable:
        assert chance == 0.0
    if chance > 0.0:
        assert reachable


def test_the_design_effect_makes_the_bound_not_monotone_in_the_passes() -> None:
    """Why futility cannot just try the all-pass completion: one fail more can raise the
    lower bound (the ICC becomes estimable and the effective sample grows)."""
    all_pass = [(3, 3)] * 30
    one_fail = [(2, 3)] + [(3, 3)] * 29
    low_all = clustered_interval(all_pass, level=0.95, one_sided=True).low
    low_one = clustered_interval(one_fail, level=0.95, one_sided=True).low
    assert low_one > low_all


def test_the_settle_chance_is_seeded_by_the_counts_alone() -> None:
    cases = [(1, 1, 2)] * 40 + [(0, 1, 2)] * 8
    chance = settle_chance(cases, 0.85, enable_level=0.95, disable_level=0.983)
    again = settle_chance(list(reversed(cases)), 0.85, enable_level=0.95, disable_level=0.983)
    assert chance == again
    # nothing left to play settles nothing
    done = [(c, n, 0) for c, n, _ in cases]
    assert settle_chance(done, 0.85, enable_level=0.95, disable_level=0.983) == 0.0
    # `enough` stops early with a lower bound at or above it
    early = settle_chance(cases, 0.5, enable_level=0.95, disable_level=0.983, enough=0.1)
    assert early >= 0.1


def test_a_clear_model_has_a_high_settle_chance_and_a_borderline_one_a_low_one() -> None:
    clear = [(1, 1, 2)] * 60
    assert settle_chance(clear, 0.85, enable_level=0.95, disable_level=0.983) > 0.9
    # 51 of 60 pass at the first look: 0.85, on the bar of 0.85 with two trials left
    borderline = [(1, 1, 2)] * 51 + [(0, 1, 2)] * 9
    chance = settle_chance(borderline, 0.85, enable_level=0.95, disable_level=0.983)
    assert chance < FUTILITY


def _borderline(trials: int) -> dict[str, tuple[str, str | None, list[bool]]]:
    spec: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [i >= 7] * trials) for i in range(36)
    }
    # 29 of 36 pass at the first look: 0.81, on the bar of 0.80, with a flaky case
    spec["c00"] = ("contract", "critical", [False] + [True] * (trials - 1))
    return spec


def test_a_model_that_cannot_settle_by_the_cap_gets_no_more_trials() -> None:
    frame = _rows("m", _borderline(1))
    rule = StoppingRule(3, 3)
    result = decide_adaptive(frame, POLICY, rule, model_id="m")
    verdicts = {c.name: c.verdict for c in result.checks}
    assert result.decision == "inconclusive"
    assert verdicts["criticality.critical"] == "inconclusive"
    assert cases_to_try(result, frame, POLICY, rule)  # there are trials left to give
    assert futile(result, frame, POLICY, rule)
    # futility off: the model plays on
    assert not futile(result, frame, POLICY, StoppingRule(3, 3, futility=0.0))
    # 31 of 36: a fair chance to settle, below a bound of one half but not below 0.05
    spec = _borderline(1)
    spec.update({case: ("contract", "critical", [True]) for case in ("c05", "c06")})
    likelier = _rows("m", spec)
    result = decide_adaptive(likelier, POLICY, rule, model_id="m")
    assert result.decision == "inconclusive"
    assert not futile(result, likelier, POLICY, rule)
    assert futile(result, likelier, POLICY, StoppingRule(3, 3, futility=0.5))


def test_a_clear_model_or_an_open_check_futility_cannot_predict_is_not_futile() -> None:
    rule = StoppingRule(3, 3)
    clear: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [True]) for i in range(60)
    }
    frame = _rows("m", clear)
    result = decide_adaptive(frame, POLICY, rule, model_id="m")
    assert result.decision == "inconclusive"  # only min_trials_per_case is open
    assert not futile(result, frame, POLICY, rule)
    # a decided model is never futile
    failing = _rows("m", {f"c{i:02d}": ("contract", "critical", [i < 5]) for i in range(30)})
    decided = decide_adaptive(failing, POLICY, rule, model_id="m")
    assert decided.decision == "disable"
    assert not futile(decided, failing, POLICY, rule)
    # an open infrastructure share is not a rate futility can predict
    frame = _rows("m", _borderline(1))
    frame.loc[frame["case_id"] == "c10", "verdict"] = "infra_error"
    policy = POLICY.model_copy(update={"max_infra_error_share": 0.0})
    result = decide_adaptive(frame, policy, rule, model_id="m")
    assert {c.name for c in result.checks if c.verdict == "inconclusive"} >= {
        "infra_error_share",
        "criticality.critical",
    }
    assert not futile(result, frame, policy, rule)


def test_futility_counts_only_judged_trials_and_the_trials_left_by_the_cap() -> None:
    """An infra error is a trial played but not judged: the case has one trial fewer left."""
    frame = _rows("m", _borderline(2))
    rule = StoppingRule(3, 3)
    result = decide_adaptive(frame, POLICY, rule, model_id="m")
    assert result.decision == "inconclusive"
    assert futile(result, frame, POLICY, rule)
    # at the cap nothing is left: settle_chance is 0, but cases_to_try gives nothing anyway
    at_cap = _rows("m", _borderline(3))
    capped = decide_adaptive(at_cap, POLICY, rule, model_id="m")
    if capped.decision == "inconclusive":
        assert cases_to_try(capped, at_cap, POLICY, rule) == ()


@settings(max_examples=25, deadline=None)
@given(
    outcomes=st.lists(
        st.tuples(st.booleans(), st.booleans(), st.booleans()), min_size=12, max_size=24
    )
)
def test_futility_never_adds_a_decision_the_plain_run_would_not_take(
    outcomes: list[tuple[bool, bool, bool]],
) -> None:
    """On the same trials, the run with futility ends on the plain run's decision or is
    inconclusive, never the other decision: it stops earlier or at the same look."""
    ending: dict[float, tuple[str, int]] = {}
    for bound in (0.0, 0.5):
        rule = StoppingRule(3, 3, futility=bound)
        for look in range(1, 4):
            spec: dict[str, tuple[str, str | None, list[bool]]] = {
                f"c{i:02d}": ("contract", "critical", list(o[:look]))
                for i, o in enumerate(outcomes)
            }
            frame = _rows("m", spec)
            result = decide_adaptive(frame, POLICY, rule, model_id="m")
            if result.decision != "inconclusive" or look == 3:
                break
            if futile(result, frame, POLICY, rule):
                break
        ending[bound] = (result.decision, look)
    plain, stopped = ending[0.0], ending[0.5]
    assert stopped[1] <= plain[1]
    assert stopped[0] in (plain[0], "inconclusive")
    if stopped[1] == plain[1]:
        assert stopped == plain


class _Rounds(GateRounds):
    """The planner with the gate's judgement of the stored run replaced by ``decide_adaptive``
    on a frame held here (what the catalog would give back)."""

    def __init__(self, frame: pd.DataFrame, rule: StoppingRule) -> None:
        super().__init__(None, None, POLICY, (), rule)  # type: ignore[arg-type]
        self.frame = frame

    def judge(self, run_id: str) -> dict[str, GateResult]:
        return {
            model: decide_adaptive(self.frame, POLICY, self.rule, model_id=model)
            for model in sorted(set(self.frame["model_id"]))
        }


def test_the_planner_sends_trials_to_open_models_and_none_to_futile_or_decided_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [True]) for i in range(36)
    }
    failing: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [i < 5]) for i in range(36)
    }
    frame = pd.concat(
        [_rows("clear", clear), _rows("close", _borderline(1)), _rows("bad", failing)],
        ignore_index=True,
    )
    planner = _Rounds(frame, StoppingRule(3, 3))
    monkeypatch.setattr(ResultStore, "results", lambda self, runs, evidence: planner.frame)
    assert planner.details() == StoppingRule(3, 3).to_json()
    wanted = planner.next_round("run", 1)
    assert dict(wanted) == {"clear": tuple(sorted(clear))}
    assert planner.futile == {"close": 1}
    assert planner.history == [{"bad": "disable", "clear": "inconclusive", "close": "inconclusive"}]
    # without futility the close model plays on
    plain = _Rounds(frame, StoppingRule(3, 3, futility=0.0))
    assert set(plain.next_round("run", 1)) == {"clear", "close"}
    assert plain.futile == {}


def test_the_next_trials_follow_each_open_check_and_count_only_judged_trials() -> None:
    """min_trials_per_case asks for the cases short of it, a criticality for its own cases
    only (pass^k is open only when every case is short of k <= min_trials_per_case, so it
    adds nothing); an infra error or a fallback's answer is a trial
    played (it counts against the cap) but not judged (it counts for nothing else)."""
    spec: dict[str, tuple[str, str | None, list[bool]]] = {
        f"crit{i:02d}": ("contract", "critical", [True, True]) for i in range(40)
    }
    spec.update({f"std{i:02d}": ("contract", "standard", [True, True]) for i in range(3)})
    spec["std00"] = ("contract", "standard", [True])
    frame = _rows("m", spec)
    infra = (frame["case_id"] == "crit00") & (frame["trial"] == 2)
    frame.loc[infra, "verdict"] = "infra_error"
    served = (frame["case_id"] == "crit01") & (frame["trial"] == 2)
    frame.loc[served, "fallback_served"] = True
    base = POLICY.model_dump(exclude={"path", "source_hash"})
    policy = GatePolicy.model_validate(
        {
            **base,
            "criticality": {
                "critical": {"min_lower_bound": 0.8},
                "standard": {"min_lower_bound": 0.8},
            },
            "flows": None,
            "min_trials_per_case": 2,
        }
    )
    rule = StoppingRule(3, 2)
    result = decide_adaptive(frame, policy, rule, model_id="m")
    verdicts = {c.name: c.verdict for c in result.checks}
    assert verdicts["min_trials_per_case"] == "inconclusive"
    assert verdicts["criticality.critical"] == "pass"
    assert verdicts["criticality.standard"] == "inconclusive"
    # the short cases (one judged trial) and the open standard class, nothing else
    assert cases_to_try(result, frame, policy, rule) == (
        "crit00",
        "crit01",
        *sorted(c for c in spec if c.startswith("std")),
    )
    # a case at the cap gets no more, judged or not
    assert cases_to_try(result, frame, policy, StoppingRule(2, 2)) == ("std00",)
    # a decided model, or no rows, gets nothing
    assert cases_to_try(result, frame.iloc[0:0], policy, rule) == ()


def test_of_several_adaptive_runs_the_one_with_the_most_looks_counts() -> None:
    rules = [StoppingRule(3, 3), StoppingRule(5, 3), StoppingRule(5, 2), StoppingRule(4, 1)]
    # most looks, then most looks that can enable: the strictest levels
    assert rule_of_runs([{"adaptive": r.to_json()} for r in rules]) == StoppingRule(5, 2)
    with pytest.raises(InputError, match="'peeking'") as raised:
        StoppingRule.from_json({"method": "peeking", "max_trials": 3, "min_trials": 3})
    assert "version that recorded it" in (raised.value.fix or "")


def test_an_open_check_over_all_cases_asks_for_all_and_an_unjudged_case_is_short() -> None:
    spec: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [True, True]) for i in range(40)
    }
    frame = _rows("m", spec)
    frame.loc[frame["case_id"] == "c00", "verdict"] = "infra_error"  # no judged trial at all
    policy = GatePolicy.model_validate(
        {**POLICY.model_dump(exclude={"path", "source_hash"}), "max_infra_error_share": 0.0}
    )
    rule = StoppingRule(3, 3)
    result = decide_adaptive(frame, policy, rule, model_id="m")
    open_checks = {c.name for c in result.checks if c.verdict == "inconclusive"}
    assert "infra_error_share" in open_checks
    assert cases_to_try(result, frame, policy, rule) == tuple(sorted(spec))
    short = dataclasses.replace(
        result,
        checks=tuple(c for c in result.checks if c.name == "min_trials_per_case"),
    )
    two = GatePolicy.model_validate({**policy.model_dump(), "min_trials_per_case": 2})
    assert cases_to_try(short, frame, two, rule) == ("c00",)


def test_futility_waits_for_neither_pass_hat_k_nor_trials_the_cap_does_not_allow() -> None:
    policy = GatePolicy.model_validate(
        {**POLICY.model_dump(exclude={"path", "source_hash"}), "pass_hat_k": {"k": 3, "min": 0.5}}
    )
    frame = _rows("m", _borderline(1))
    rule = StoppingRule(3, 3)
    result = decide_adaptive(frame, policy, rule, model_id="m")
    assert {c.name for c in result.checks if c.verdict == "inconclusive"} == {
        "min_trials_per_case",
        "criticality.critical",
        "pass_hat_k",
    }
    assert futile(result, frame, policy, rule)
    # trials played count against the cap, judged or not: 31 of 36 judged, each case at
    # the cap of 3 has nothing left (futile), with a cap of 4 one more trial each could
    # still settle it (a chance of about 0.13)
    spec = _borderline(1)
    spec.update({case: ("contract", "critical", [True]) for case in ("c05", "c06")})
    spec = {c: (k, crit, [*v, True, True]) for c, (k, crit, v) in spec.items()}
    played = _rows("m", spec)
    played.loc[played["trial"] > 1, "verdict"] = "infra_error"
    at_cap = decide_adaptive(played, policy, rule, model_id="m")
    assert at_cap.decision == "inconclusive"
    assert futile(at_cap, played, policy, StoppingRule(3, 3, futility=0.01))
    assert not futile(at_cap, played, policy, StoppingRule(4, 3, futility=0.01))


def test_the_settle_chance_is_the_same_on_every_machine_and_version() -> None:
    """Pinned values: the draws use only ``random.Random(seed).random()``, whose sequence
    Python keeps stable, and a seed from SHA-256 of the counts; a replay anywhere stops
    the same models at the same looks."""
    disable = 1 - 0.05 / 3
    first_look = [(1, 1, 2)] * 48 + [(0, 1, 2)] * 12
    assert settle_chance(first_look, 0.8, enable_level=0.95, disable_level=disable) == 0.005
    second_look = [(2, 2, 1)] * 30 + [(1, 2, 1)] * 4 + [(0, 2, 1)] * 2
    assert settle_chance(second_look, 0.8, enable_level=0.95, disable_level=disable) == 0.52
    exact = settle_chance(
        second_look, 0.8, enable_level=0.95, disable_level=disable, method="clopper-pearson"
    )
    assert exact == 0.415


def test_regression_is_judged_against_the_baseline_at_the_rules_levels() -> None:
    """A clear drop against the baseline fails at the disabling side's level of the
    regression test's own level (0.90 here, so 1 - 0.10/3), not at the rate checks'."""
    good: dict[str, tuple[str, str | None, list[bool]]] = {
        f"c{i:02d}": ("contract", "critical", [True]) for i in range(40)
    }
    worse = {
        case: (kind, crit, [i >= 20]) for i, (case, (kind, crit, _)) in enumerate(good.items())
    }
    frame = pd.concat([_rows("base", good), _rows("m", worse)], ignore_index=True)
    policy = GatePolicy.model_validate(
        {
            **POLICY.model_dump(exclude={"path", "source_hash"}),
            "criticality": {"critical": {"min_lower_bound": 0.1}},
            "regression": {"baseline": "base", "max_drop": 0.05, "level": 0.90},
        }
    )
    rule = StoppingRule(3, 3)
    result = decide_adaptive(frame, policy, rule, model_id="m", baseline_id="base")
    check = next(c for c in result.checks if c.name == "regression")
    assert check.verdict == "fail"
    assert "one-sided 0.966667" in check.detail
    assert result.decision == "disable"
    assert result.reasons == (f"regression: {check.detail}",)
    without = decide_adaptive(frame, policy, rule, model_id="m")
    assert next(c for c in without.checks if c.name == "regression").verdict == "skipped"
    # the rule's fixes say what to pass
    with pytest.raises(InputError) as raised:
        StoppingRule(0, 3)
    assert "--max-trials N with N >= 1" in (raised.value.fix or "")
    with pytest.raises(InputError) as raised:
        StoppingRule(3, 3, futility=2.0)
    assert "futility bound 2.0" in str(raised.value)
    assert "0 turns futility stopping off" in (raised.value.fix or "")
