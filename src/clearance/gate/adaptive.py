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

**Futility** (:func:`futile`): a model whose open rate checks would very likely still
straddle their bars at the cap gets no more trials and stays inconclusive. Stopping
without a decision never adds a wrong decision (every decision the run still takes, it
takes at the same look, on the same trials, at the same levels as without futility), so
the stated confidence holds whatever the futility estimate's accuracy; what it can cost is
a decision the full run would have reached, with probability about ``rule.futility``.
The exact form, stopping only when *no* outcome of the trials left can decide, never
fires on suites of tens of cases: the trials left can always all pass or all fail, and
that always moves the bound past the bar (benchmarks/RESULTS.md, "Adaptive trials").
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clearance.errors import InputError
from clearance.gate.decide import Check, Decision, GateResult, decide
from clearance.gate.stats import Method, clustered_interval, clustered_rate

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig
    from clearance.gate.policy import GatePolicy

__all__ = [
    "ADAPTIVE_METHOD",
    "FUTILITY",
    "FUTILITY_DRAWS",
    "GateRounds",
    "StoppingRule",
    "cases_to_try",
    "decide_adaptive",
    "futile",
    "rule_of_runs",
    "settle_chance",
]

ADAPTIVE_METHOD = "alpha-spending-bonferroni"
"""The name of the stopping rule, as an adaptive run's details record it."""

FUTILITY = 0.05
"""The default futility bound: a model whose open checks settle by the cap with a predicted
chance below it gets no more trials (``0`` turns futility off)."""

FUTILITY_DRAWS = 200
"""Simulated completions behind one :func:`settle_chance`."""

_SINGLE_TURN = ("contract", "bfcl")
_RATE_CHECKS = ("criticality.critical", "criticality.standard", "flows")


@dataclass(frozen=True, slots=True)
class StoppingRule:
    """Alpha spending over the looks of an adaptive run."""

    max_trials: int
    """The most trials a case gets: the number of rounds, so of looks."""
    min_trials: int
    """The policy's ``min_trials_per_case``: the first look at which it can enable."""
    futility: float = FUTILITY
    """Stop an inconclusive model whose open rate checks settle by the cap with a
    predicted chance below this (:func:`futile`); 0: never stop for futility."""

    def __post_init__(self) -> None:
        if self.max_trials < 1 or self.min_trials < 1:
            raise InputError(
                f"invalid adaptive rule: at most {self.max_trials} trials per case, "
                f"{self.min_trials} needed",
                fix="pass --max-trials N with N >= 1",
            )
        if not 0.0 <= self.futility < 1.0:
            raise InputError(
                f"invalid adaptive rule: futility bound {self.futility!r}",
                fix="give a futility bound in [0, 1); 0 turns futility stopping off",
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
            "futility": self.futility,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoppingRule:
        """Read back :meth:`to_json` (a run recorded before futility stopping has none: 0).

        Raises:
            InputError: a method other than :data:`ADAPTIVE_METHOD`, or bad counts.
        """
        if data.get("method") != ADAPTIVE_METHOD:
            raise InputError(
                f"unknown adaptive stopping rule {data.get('method')!r} in an eval run",
                fix="judge this run with the clearance version that recorded it",
            )
        return cls(
            int(data["max_trials"]), int(data["min_trials"]), float(data.get("futility", 0.0))
        )


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
        if check.name in ("min_trials_per_case", "pass_hat_k"):
            # pass^k is open only while no case has k judged trials, and a policy keeps
            # k <= min_trials_per_case: the cases short of the minimum cover it
            wanted |= {str(c) for c in kinds if judged.get(c, 0) < policy.min_trials_per_case}
        else:
            members = _members(check.name, kinds)
            wanted |= set(kinds) if members is None else members
    return tuple(sorted(c for c in wanted if int(run.get(c, 0)) < rule.max_trials))


def _seed(*parts: object) -> int:
    """A seed that depends only on ``parts`` (never on the process's hash salt)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def settle_chance(
    cases: Sequence[tuple[int, int, int]],
    threshold: float,
    *,
    enable_level: float,
    disable_level: float,
    method: Method = "wilson",
    draws: int = FUTILITY_DRAWS,
    enough: float = 1.0,
) -> float:
    """The predicted chance that a rate check settles at some look up to the cap.

    Each draw completes the run: every case gets its trials left, one per round, each
    passing with the case's predictive chance (a Pólya urn started at the case's own
    passes and fails plus a prior at the pooled rate, its weight ``1/ICC − 1`` from the
    trials so far, 1 when the ICC cannot be estimated), and after each round the check's
    bounds are compared with ``threshold``: a lower bound at ``enable_level`` at or above
    it, or an upper bound at ``disable_level`` below it, settles the draw. ``min_trials``
    is not waited for, so the chance is if anything too high (futility then fires less).
    The draws are seeded by the counts: the same trials give the same answer.

    Args:
        cases: per case ``(passes, judged trials, trials it can still get)``.
        threshold: the check's bar.
        enable_level: the one-sided level a passing bound is computed at.
        disable_level: the one-sided level a failing bound is computed at.
        method: the policy's interval.
        draws: simulated completions.
        enough: stop once the chance is known to reach this (the answer is then a lower
            bound at or above ``enough``); 1 runs every draw.
    """
    counted = sorted((c, n, left) for c, n, left in cases if n + left > 0)
    rounds = max((left for _, _, left in counted), default=0)
    if rounds == 0 or draws < 1:
        return 0.0
    start = [(c, n) for c, n, _ in counted]
    judged = [(c, n) for c, n in start if n > 0]
    pooled = clustered_rate(judged) if judged else None
    rate = 0.5 if pooled is None else pooled.rate
    if pooled is None or not pooled.icc_estimated:
        weight = 1.0
    else:
        weight = min(50.0, max(0.5, 1.0 / pooled.icc - 1.0)) if pooled.icc > 0 else 50.0
    rng = random.Random(
        _seed(counted, threshold, enable_level, disable_level, method, draws, ADAPTIVE_METHOD)
    )
    settled = 0
    for done in range(draws):
        urns = [[c + weight * rate, n - c + weight * (1.0 - rate)] for c, n in start]
        state = [list(case) for case in start]
        for look in range(1, rounds + 1):
            for (_, _, left), urn, case in zip(counted, urns, state, strict=True):
                if left >= look:
                    passed = rng.random() * (urn[0] + urn[1]) < urn[0]
                    urn[0 if passed else 1] += 1.0
                    case[0] += passed
                    case[1] += 1
            now = [(c, n) for c, n in state if n > 0]
            low = clustered_interval(now, level=enable_level, one_sided=True, method=method).low
            high = clustered_interval(now, level=disable_level, one_sided=True, method=method).high
            if low >= threshold or high < threshold:
                settled += 1
                break
        if settled >= enough * draws:
            return settled / (done + 1)
    return settled / draws


def futile(
    result: GateResult,
    rows: pd.DataFrame,
    policy: GatePolicy,
    rule: StoppingRule,
) -> bool:
    """Whether an inconclusive model should get no more trials: continuing would very
    likely leave it inconclusive at the cap.

    True when no check fails, at least one rate check (a criticality or the flows) is
    inconclusive, the other inconclusive checks are only ``min_trials_per_case`` or
    ``pass_hat_k`` (which the trials left settle on their own), and the open rate checks'
    :func:`settle_chance` sum below ``rule.futility`` (a union bound on the chance that
    any of them settles). Non-binding: the model simply stays inconclusive, so no wrong
    decision is added. What is not predicted (a later ``pass_hat_k``, latency or cost
    failure) is judged on the trials played, as for any model the run stops.
    """
    if result.decision != "inconclusive" or rule.futility <= 0.0 or rows.empty:
        return False
    open_checks = [check for check in result.checks if check.verdict == "inconclusive"]
    rate_checks = [check for check in open_checks if check.name in _RATE_CHECKS]
    others = {check.name for check in open_checks} - set(_RATE_CHECKS)
    if not rate_checks or others - {"min_trials_per_case", "pass_hat_k"}:
        return False
    counts: dict[str, list[int]] = {}  # case -> [passes, judged, run]
    kinds: dict[str, tuple[str, str | None]] = {}
    for case, kind, crit, verdict, fallback in zip(
        rows["case_id"],
        rows["case_kind"],
        rows["criticality"],
        rows["verdict"],
        rows["fallback_served"],
        strict=True,
    ):
        kinds[str(case)] = (str(kind), None if crit is None else str(crit))
        count = counts.setdefault(str(case), [0, 0, 0])
        judged = verdict != "infra_error" and not (fallback is True or fallback == 1)
        count[0] += judged and verdict == "pass"
        count[1] += judged
        count[2] += 1
    chance = 0.0
    for check in rate_checks:
        members = _members(check.name, kinds) or set()
        cases = [
            (counts[c][0], counts[c][1], max(0, rule.max_trials - counts[c][2]))
            for c in sorted(members)
        ]
        chance += settle_chance(
            cases,
            float(check.threshold or 0.0),
            enable_level=rule.enable_level(policy.confidence),
            disable_level=rule.disable_level(policy.confidence),
            method=policy.interval,
            enough=rule.futility - chance,
        )
        if chance >= rule.futility:
            return False
    return True


class GateRounds:
    """The gate's answer to an adaptive run after each round (a
    :class:`~clearance.evaluation.engine.RoundPlanner`).

    Each look judges the run so far as ``clearance gate`` would judge it (without writing
    anything: the run's details carry the stopping rule, so the levels are the rule's) and
    gives each inconclusive model one more trial of :func:`cases_to_try`, unless continuing
    is :func:`futile` (then :attr:`futile` names the look it stopped after).

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
        self.futile: dict[str, int] = {}
        """Model id -> the look after which it got no more trials for futility (:func:`futile`)."""

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
            if chosen and futile(result, rows, self.policy, self.rule):
                self.futile.setdefault(model_id, look)
                chosen = ()
            if chosen:
                wanted[model_id] = chosen
        return wanted
