"""Adaptive trials: when ``clearance eval --until-decided`` may stop, and where its trials go.

An adaptive run plays its trials in rounds and looks at the gate's decision after each:
every model still inconclusive gets one more trial of the cases that can still move its
decision, and a model that is decided gets none. Looking after every round and stopping
on a decision is optional stopping: a bound that misses with probability 5 % at one look
misses more often across several. :class:`StoppingRule` keeps the stated confidence by
**alpha spending over a bounded number of looks** (a Bonferroni split):

* a run has at most ``max_trials`` rounds, so at most that many looks;
* the chance of *enabling* wrongly is spent only at the looks where the policy can enable
  at all (every case has ``min_trials_per_case`` judged trials), in equal parts;
* the chance of *disabling* wrongly is spent at every look, in equal parts.

Equal parts make the levels the same at every look, so a check settled at one look stays
settled at the next, and ``clearance gate`` judging the stored run afterwards
(:func:`rule_of_runs`, :func:`decide_adaptive`) takes the decision the run stopped on.
With ``max_trials`` equal to ``min_trials_per_case`` (the default) an enable is judged at
the policy's own level at the one look that can enable, so it is as sound, and as likely,
as after a fixed run; only disabling pays, with a stricter level at each look.

Within a check every case gets the same number of trials (:func:`cases_to_try`): the
pooled pass rate then weighs each case equally, as in a fixed run. Sending more trials to
the flaky cases of a check would weigh the rate towards them, the very cases chosen for
being unsure, and bias it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clearance.errors import InputError
from clearance.gate.decide import Check, Decision, GateResult, decide

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig
    from clearance.gate.policy import GatePolicy

__all__ = [
    "ADAPTIVE_METHOD",
    "GateRounds",
    "StoppingRule",
    "cases_to_try",
    "decide_adaptive",
    "rule_of_runs",
]

ADAPTIVE_METHOD = "alpha-spending-bonferroni"
"""The name of the stopping rule, as an adaptive run's details record it."""

_SINGLE_TURN = ("contract", "bfcl")


@dataclass(frozen=True, slots=True)
class StoppingRule:
    """Alpha spending over the looks of an adaptive run."""

    max_trials: int
    """The most trials a case gets: the number of rounds, so of looks."""
    min_trials: int
    """The policy's ``min_trials_per_case``: the first look at which it can enable."""

    def __post_init__(self) -> None:
        if self.max_trials < 1 or self.min_trials < 1:
            raise InputError(
                f"invalid adaptive rule: at most {self.max_trials} trials per case, "
                f"{self.min_trials} needed",
                fix="pass --max-trials N with N >= 1",
            )

    @property
    def enabling_looks(self) -> int:
        """Looks at which an enable is possible (0: the cap is below the policy's minimum)."""
        return max(0, self.max_trials - self.min_trials + 1)

    def enable_level(self, level: float) -> float:
        """The one-sided level a bound that would enable is computed at, each look."""
        return 1.0 - (1.0 - level) / max(1, self.enabling_looks)

    def disable_level(self, level: float) -> float:
        """The one-sided level a bound that would disable is computed at, each look."""
        return 1.0 - (1.0 - level) / self.max_trials

    def to_json(self) -> dict[str, Any]:
        """As a run's details keep it."""
        return {
            "method": ADAPTIVE_METHOD,
            "max_trials": self.max_trials,
            "min_trials": self.min_trials,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoppingRule:
        """Read back :meth:`to_json`.

        Raises:
            InputError: a method other than :data:`ADAPTIVE_METHOD`, or bad counts.
        """
        if data.get("method") != ADAPTIVE_METHOD:
            raise InputError(
                f"unknown adaptive stopping rule {data.get('method')!r} in an eval run",
                fix="judge this run with the clearance version that recorded it",
            )
        return cls(int(data["max_trials"]), int(data["min_trials"]))


def rule_of_runs(details: Sequence[Mapping[str, Any] | None]) -> StoppingRule | None:
    """The stopping rule of the runs judged together (``None``: none of them was adaptive).

    When several are adaptive, the one with the most looks (the strictest levels) counts.
    """
    rules = [
        StoppingRule.from_json(found)
        for detail in details
        if detail and (found := detail.get("adaptive"))
    ]
    if not rules:
        return None
    return max(rules, key=lambda rule: (rule.max_trials, -rule.min_trials))


def _at(policy: GatePolicy, level: float, regression_level: float) -> GatePolicy:
    update: dict[str, Any] = {"confidence": level}
    if policy.regression is not None:
        update["regression"] = policy.regression.model_copy(update={"level": regression_level})
    return policy.model_copy(update=update)


def _merge(enabling: Check, disabling: Check) -> Check:
    """A check passes on the enabling side's bound and fails on the disabling side's."""
    if disabling.verdict == "fail":
        return disabling
    if enabling.verdict == "pass" or enabling.verdict == "skipped":
        return enabling
    unsure = enabling if enabling.verdict == "inconclusive" else disabling
    if unsure.verdict == "inconclusive":
        return unsure
    # the enabling side fails (its bound is narrower) where the disabling side does not
    return dataclasses.replace(
        disabling,
        verdict="inconclusive",
        detail=f"{disabling.detail} (does not fail at the disabling side's level)",
    )


def decide_adaptive(
    frame: pd.DataFrame,
    policy: GatePolicy,
    rule: StoppingRule,
    *,
    model_id: str,
    baseline_id: str | None = None,
) -> GateResult:
    """:func:`~clearance.gate.decide.decide` at the levels ``rule`` spends at each look.

    Every check is judged twice: its pass at :meth:`StoppingRule.enable_level` of the
    policy's ``confidence`` (and of ``regression.level``), its fail at
    :meth:`StoppingRule.disable_level`; anything else is inconclusive.
    """
    levels = (policy.confidence, policy.regression.level if policy.regression else 0.95)
    enabling = decide(
        frame,
        _at(policy, rule.enable_level(levels[0]), rule.enable_level(levels[1])),
        model_id=model_id,
        baseline_id=baseline_id,
    )
    disabling = decide(
        frame,
        _at(policy, rule.disable_level(levels[0]), rule.disable_level(levels[1])),
        model_id=model_id,
        baseline_id=baseline_id,
    )
    checks = tuple(_merge(e, d) for e, d in zip(enabling.checks, disabling.checks, strict=True))
    failed = [check for check in checks if check.verdict == "fail"]
    unsure = [check for check in checks if check.verdict == "inconclusive"]
    decision: Decision = "disable" if failed else "inconclusive" if unsure else "enable"
    return dataclasses.replace(
        enabling,
        decision=decision,
        checks=checks,
        reasons=tuple(f"{check.name}: {check.detail}" for check in (failed or unsure)),
    )


def _members(check: str, kinds: Mapping[str, tuple[str, str | None]]) -> set[str] | None:
    """The cases a rate check is computed over (``None``: every case can move it)."""
    if check.startswith("criticality."):
        level = check.partition(".")[2]
        return {c for c, (kind, crit) in kinds.items() if kind in _SINGLE_TURN and crit == level}
    if check == "flows":
        return {c for c, (kind, _) in kinds.items() if kind == "flow"}
    return None


def cases_to_try(
    result: GateResult,
    rows: pd.DataFrame,
    policy: GatePolicy,
    rule: StoppingRule,
) -> tuple[str, ...]:
    """The cases of one model that get one more trial in the next round, sorted by id.

    None when the model is decided. Otherwise every case that can still move an
    inconclusive check and has had fewer than ``rule.max_trials`` trials: the cases of an
    inconclusive rate check (its criticality, or the flows); the cases short of
    ``min_trials_per_case`` or of pass^k's k judged trials; every case for the other
    checks (regression, infrastructure share, latency, cost). The cases of a check that is
    settled get nothing from it.

    Args:
        result: the model's decision at this look (:func:`decide_adaptive`).
        rows: the model's result rows (``case_id``, ``case_kind``, ``criticality``,
            ``verdict``, ``fallback_served``), every trial run so far.
        policy: the gate policy.
        rule: the run's stopping rule.
    """
    if result.decision != "inconclusive" or rows.empty:
        return ()
    run = rows.groupby("case_id", sort=True).size()
    judged_rows = rows[(rows["verdict"] != "infra_error") & ~rows["fallback_served"].astype(bool)]
    judged = judged_rows.groupby("case_id").size()
    kinds: dict[str, tuple[str, str | None]] = {}
    for case, kind, crit in zip(
        rows["case_id"], rows["case_kind"], rows["criticality"], strict=True
    ):
        kinds[str(case)] = (str(kind), None if crit is None else str(crit))
    wanted: set[str] = set()
    for check in result.checks:
        if check.verdict != "inconclusive":
            continue
        if check.name == "min_trials_per_case":
            wanted |= {str(c) for c in kinds if judged.get(c, 0) < policy.min_trials_per_case}
        elif check.name == "pass_hat_k" and policy.pass_hat_k is not None:
            wanted |= {str(c) for c in kinds if judged.get(c, 0) < policy.pass_hat_k.k}
        else:
            members = _members(check.name, kinds)
            wanted |= set(kinds) if members is None else members
    return tuple(sorted(c for c in wanted if int(run.get(c, 0)) < rule.max_trials))


class GateRounds:
    """The gate's answer to an adaptive run after each round (a
    :class:`~clearance.evaluation.engine.RoundPlanner`).

    Each look judges the run so far as ``clearance gate`` would judge it (without writing
    anything: the run's details carry the stopping rule, so the levels are the rule's) and
    gives each inconclusive model one more trial of :func:`cases_to_try`.

    Args:
        config: the configuration.
        catalog: where the run's results are read.
        policy: the gate policy that decides.
        models: the gated models (empty: every model of the run).
        rule: the stopping rule.
    """

    def __init__(
        self,
        config: ClearanceConfig,
        catalog: Catalog,
        policy: GatePolicy,
        models: Sequence[str],
        rule: StoppingRule,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.policy = policy
        self.models = tuple(models)
        self.rule = rule
        self.history: list[dict[str, Decision]] = []
        """Each look's decision per model, in order."""

    def details(self) -> Mapping[str, Any]:
        """The rule, as the run's details keep it."""
        return self.rule.to_json()

    def judge(self, run_id: str) -> dict[str, GateResult]:
        """Every gated model's decision on the run as it stands (nothing written)."""
        from clearance.gate.run import run_gate

        outcome = run_gate(
            self.config,
            self.catalog,
            policy=self.policy,
            run_ids=(run_id,),
            models=self.models,
            write=False,
        )
        return {verdict.model_id: verdict.result for verdict in outcome.verdicts}

    def next_round(self, run_id: str, look: int) -> Mapping[str, Sequence[str]]:
        """Model id -> the cases that get one more trial after round ``look``."""
        from clearance.evaluation.results import ResultStore

        results = self.judge(run_id)
        self.history.append({model: result.decision for model, result in results.items()})
        frame = ResultStore(self.catalog).results([run_id], evidence=False)
        wanted: dict[str, tuple[str, ...]] = {}
        for model_id, result in sorted(results.items()):
            rows = frame[frame["model_id"] == model_id]
            chosen = cases_to_try(result, rows, self.policy, self.rule)
            if chosen:
                wanted[model_id] = chosen
        return wanted
