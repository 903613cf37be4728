"""Adaptive trials (``gate.adaptive``): the stopping rule's levels, the two-sided decision,
which cases get the next trial, and ``clearance eval --until-decided`` end to end."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from clearance.cli import app
from clearance.errors import InputError
from clearance.gate.adaptive import (
    StoppingRule,
    cases_to_try,
    decide_adaptive,
    rule_of_runs,
)
from clearance.gate.decide import decide
from clearance.gate.policy import GatePolicy

REPO = Path(__file__).resolve().parents[1]

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
    assert rule_of_runs([None, {"cases": 3}, {"adaptive": rule.to_json()}]) == rule
    assert rule_of_runs([None, {}]) is None
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


# -- end to end, through the CLI against the simulator ---------------------------------------


def _project(root: Path) -> Path:
    shutil.copytree(REPO / "contracts", root / "contracts")
    shutil.copytree(REPO / "gates", root / "gates")
    (root / "clearance.toml").write_text(
        f"""
[catalog]
database_url = "sqlite:///{root / "catalog.db"}"
[gate]
require_decision = false
policy = "starter"
[evals]
models = ["ref:ref/steady", "ref:ref/sloppy"]
suites = ["contracts", "flows"]
trials = 3
cassettes = "evals/cassettes"
""",
        encoding="utf-8",
    )
    return root / "clearance.toml"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


def _decisions(output: str) -> list[str]:
    start = output.index("until decided")
    return output[start:].splitlines()


@pytest.mark.slow
def test_eval_until_decided_records_against_the_simulator_and_replays_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARANCE_CONFIG", str(_project(tmp_path)))
    code, recorded = _invoke("eval", "--until-decided", "--record-mode", "all")
    assert code == 0, recorded
    lines = _decisions(recorded)
    assert "  ref:ref/sloppy: disable" in lines
    assert "  ref:ref/steady: enable" in lines
    saved = lines[-1]
    assert " saved (" in saved
    assert not saved.strip().startswith("0 ")
    # the cassettes hold exactly the trials played, and replaying them decides the same
    code, first = _invoke("eval", "--until-decided", "--record-mode", "none")
    assert code == 0, first
    code, second = _invoke("eval", "--until-decided", "--record-mode", "none")
    assert code == 0, second
    assert _decisions(first) == _decisions(second) == lines
    # the gate judging the stored adaptive run takes the decision the run stopped on
    code, gated = _invoke("gate", "--dry-run", "--json")
    assert '"decision": "disable"' in gated
    assert '"decision": "enable"' in gated


def test_budget_and_max_trials_need_until_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARANCE_CONFIG", str(_project(tmp_path)))
    code, out = _invoke("eval", "--budget", "1.00", "--record-mode", "none")
    assert code == 2
    assert "--until-decided" in out
    code, out = _invoke("eval", "--until-decided", "--budget", "lots", "--record-mode", "none")
    assert code == 2
    assert "--budget 'lots'" in out
