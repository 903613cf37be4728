"""What would settle an inconclusive gate: how many more trials, of which cases, at what cost.

:func:`settle_plan` reads one model's results and the checks the gate gave it (as JSON,
the form stored in ``gate_decisions.checks``) and, when the decision is
``inconclusive``, returns a :class:`SettlePlan`: one :class:`SettleStep` per
inconclusive check (its estimate, the rule that picks its cases, and why), the cases to
run again with how many more trials each (:class:`SettleCase`), the total, and the
expected cost.

The rules, one per kind of check:

* ``min_trials_per_case`` (rule ``fewest-trials``): each short case needs the trials it
  lacks; nothing else can settle it, whatever its rate.
* ``criticality.<level>`` and ``flows`` (rule ``class-short``): the gate's own estimate
  (:func:`~clearance.gate.stats.trials_to_settle`, at the observed rate and design
  effect) is for the class as a whole, so the trials are spread evenly over its cases,
  the remainder going first to the cases whose trials disagree most (highest
  ``p·(1 − p)`` of their judged trials), then to those with fewest trials.
* ``pass_hat_k`` (rule ``fewest-trials``): it is inconclusive when no case has k judged
  trials; each case is brought to k.
* ``infra_error_share`` (rule ``infra-errors``): judged trials enough to bring the share
  under the limit (``⌈infra / limit⌉ − rows``, counting each new trial as judged), spread
  over the cases the errors hit.
* any other inconclusive check (``regression``, ``latency.p95_ms``, ``cost...``): no
  estimate exists; its cases are named and the total is marked a floor.

A case several checks ask for gets the largest of their asks (one trial counts toward
every check it belongs to). The expected cost is the mean cost of the model's judged,
priced trials of the plan's cases times the total, in Decimal: one division, exact unless
its note says it was rounded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from typing import Any, Literal

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from clearance.evaluation.metrics import cost_sum, mark_judged

__all__ = ["SettleCase", "SettlePlan", "SettleRule", "SettleStep", "settle_plan"]

SettleRule = Literal["fewest-trials", "class-short", "infra-errors", "no-estimate"]
"""How a step picks its cases (see the module's docstring)."""

_SINGLE_TURN = ("contract", "bfcl")
_PRECISION = 50
"""Significant digits of the one division of the expected cost."""


@dataclass(frozen=True, slots=True)
class SettleStep:
    """One inconclusive check and what the plan does about it."""

    check: str
    rule: SettleRule
    more_trials: int | None
    """Trials this check asks for (``None``: no estimate)."""
    cases: tuple[str, ...]
    """The cases it sends them to (or, without an estimate, the cases it names)."""
    why: str
    """One sentence: why these cases and this many."""


@dataclass(frozen=True, slots=True)
class SettleCase:
    """One case to run again."""

    case_id: str
    passes: int
    trials: int
    """Judged trials so far."""
    more: int
    """More trials asked for."""
    rule: SettleRule
    """The rule of the check that asks the most of it."""
    checks: tuple[str, ...]
    """Every inconclusive check that asks for it."""


@dataclass(frozen=True, slots=True)
class SettlePlan:
    """How many more trials of which cases would settle one model's gate, and the cost."""

    model_id: str
    steps: tuple[SettleStep, ...]
    cases: tuple[SettleCase, ...]
    """Most trials first, then by case id."""
    more_trials: int
    """Sum of the cases' ``more``."""
    complete: bool
    """False when a step has no estimate: ``more_trials`` is then a floor."""
    cost_per_trial: Decimal | None
    """USD: mean over the judged, priced trials of the plan's cases (``None``: none priced)."""
    expected_cost: Decimal | None
    """USD: ``cost_per_trial × more_trials``, from one division."""
    priced_trials: int
    unpriced_trials: int
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (USD as decimal strings)."""

        def money(value: Decimal | None) -> str | None:
            return None if value is None else format(value, "f")

        return {
            "model_id": self.model_id,
            "more_trials": self.more_trials,
            "complete": self.complete,
            "cost_per_trial_usd": money(self.cost_per_trial),
            "expected_cost_usd": money(self.expected_cost),
            "priced_trials": self.priced_trials,
            "unpriced_trials": self.unpriced_trials,
            "steps": [
                {
                    "check": step.check,
                    "rule": step.rule,
                    "more_trials": step.more_trials,
                    "cases": list(step.cases),
                    "why": step.why,
                }
                for step in self.steps
            ],
            "cases": [
                {
                    "case_id": case.case_id,
                    "passes": case.passes,
                    "trials": case.trials,
                    "more": case.more,
                    "rule": case.rule,
                    "checks": list(case.checks),
                }
                for case in self.cases
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class _Case:
    case_id: str
    passes: int
    trials: int

    @property
    def disagreement(self) -> float:
        if self.trials == 0:
            return 0.0
        rate = self.passes / self.trials
        return rate * (1.0 - rate)


def _cases(rows: pd.DataFrame) -> dict[str, _Case]:
    if rows.empty:
        return {}
    grouped = rows.groupby("case_id", sort=True)[["_pass", "_judged"]].sum()
    return {
        str(case): _Case(str(case), int(passes), int(judged))
        for case, passes, judged in zip(
            grouped.index, grouped["_pass"], grouped["_judged"], strict=True
        )
    }


def _spread(total: int, ranked: Sequence[str]) -> dict[str, int]:
    """``total`` trials over ``ranked`` cases: evenly, the remainder to the first ones."""
    each, extra = divmod(total, len(ranked))
    return {case: each + (1 if i < extra else 0) for i, case in enumerate(ranked)}


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def _class_rows(rows: pd.DataFrame, name: str) -> pd.DataFrame | None:
    if name == "flows":
        return rows[rows["case_kind"] == "flow"]
    if name.startswith("criticality."):
        level = name.removeprefix("criticality.")
        return rows[rows["case_kind"].isin(_SINGLE_TURN) & (rows["criticality"] == level)]
    return None


def _step(
    check: Mapping[str, Any], rows: pd.DataFrame, cases: Mapping[str, _Case], k: int | None
) -> tuple[SettleStep, dict[str, int]]:
    """One inconclusive check's step and its asks per case."""
    name = str(check.get("name"))
    named = tuple(str(case) for case in check.get("cases") or ())
    if name == "min_trials_per_case":
        required = _whole(check.get("threshold"))
        short = [case for case in named if case in cases]
        if required is not None and short:
            asks = {case: max(0, required - cases[case].trials) for case in short}
            return SettleStep(
                name,
                "fewest-trials",
                sum(asks.values()),
                tuple(short),
                f"each case needs {required} judged trials and these have fewer; a short "
                "case keeps the gate inconclusive whatever its rate",
            ), asks
    elif name == "pass_hat_k" and k is not None:
        short = [case.case_id for case in cases.values() if case.trials < k]
        if short:
            asks = {case: k - cases[case].trials for case in short}
            return SettleStep(
                name,
                "fewest-trials",
                sum(asks.values()),
                tuple(short),
                f"pass^{k} is measured only on cases with {k} judged trials and none has "
                "them; each case is brought to that many",
            ), asks
    elif name == "infra_error_share":
        limit = check.get("threshold")
        hit = [case for case in named if case in cases]
        infra = int((~rows["_judged"]).sum())
        if isinstance(limit, int | float) and limit > 0 and hit and infra:
            needed = max(0, math.ceil(infra / float(limit)) - len(rows))
            asks = _spread(needed, hit)
            return SettleStep(
                name,
                "infra-errors",
                needed,
                tuple(hit),
                f"{infra} of {len(rows)} trials were not judged (infra errors or fallback-"
                f"served); {needed} more judged trials bring the share to {limit:g}, spread over "
                "the cases the errors hit: fix the cause first (see the infra section)",
            ), asks
    else:
        more = _whole(check.get("more_trials"))
        members = _class_rows(rows, name)
        if more is not None and members is not None:
            own = [cases[str(case)] for case in sorted(set(members["case_id"].astype(str)))]
            if own:
                ranked = sorted(own, key=lambda c: (-c.disagreement, c.trials, c.case_id))
                order = [case.case_id for case in ranked]
                asks = _spread(more, order)
                return SettleStep(
                    name,
                    "class-short",
                    more,
                    tuple(order),
                    f"the gate estimates {more} more trials of this class at its observed "
                    "rate and design effect; they are spread over its cases (trials of one "
                    "case are correlated, so piling them on a few is worth less), the "
                    "remainder first to the cases whose trials disagree most, then to those "
                    "with fewest trials; new cases of this class count more than repeats",
                ), asks
    return SettleStep(
        name,
        "no-estimate",
        None,
        named,
        "the gate gives no estimate of the trials that would settle this check",
    ), {}


def settle_plan(
    rows: pd.DataFrame,
    checks: Sequence[Mapping[str, Any]],
    *,
    model_id: str,
    pass_hat_k: int | None = None,
    simulated: bool = False,
    replayed: bool = False,
) -> SettlePlan | None:
    """How many more trials of which cases would settle ``model_id``'s inconclusive gate.

    Args:
        rows: results rows (only ``model_id``'s are read); the columns of
            :meth:`~clearance.evaluation.results.ResultStore.results`.
        checks: the gate's checks as JSON (``GateResult.to_json()["checks"]`` or as stored).
        model_id: the model.
        pass_hat_k: the policy's k for ``pass_hat_k`` (``None``: no estimate for it).
        simulated: the model is clearance's simulator (its costs are not a real model's).
        replayed: the trials were replayed from recordings (their costs are as recorded).

    Returns:
        ``None`` when no check is ``inconclusive`` or any check failed (the gate's
        decision is then not inconclusive).

    Raises:
        TypeError: a cost that is not a Decimal.
    """
    verdicts = [check.get("verdict") for check in checks]
    if "fail" in verdicts or "inconclusive" not in verdicts:
        return None
    mine = mark_judged(rows[rows["model_id"] == model_id])
    cases = _cases(mine)
    steps: list[SettleStep] = []
    asked: dict[str, list[tuple[int, SettleRule, str]]] = {}
    for check in checks:
        if check.get("verdict") != "inconclusive":
            continue
        step, wants = _step(check, mine, cases, pass_hat_k)
        steps.append(step)
        for case_id, want in wants.items():
            asked.setdefault(case_id, []).append((want, step.rule, step.check))
    chosen: list[SettleCase] = []
    for case_id, asks in asked.items():
        most, rule, _ = max(asks, key=lambda ask: ask[0])  # the first of the largest
        if most > 0:
            seen = cases[case_id]
            names = tuple(name for _, _, name in asks)
            chosen.append(SettleCase(case_id, seen.passes, seen.trials, most, rule, names))
    chosen.sort(key=lambda entry: (-entry.more, entry.case_id))
    total = sum(entry.more for entry in chosen)
    complete = all(step.more_trials is not None for step in steps)

    notes: list[str] = []
    if not complete:
        missing = ", ".join(step.check for step in steps if step.more_trials is None)
        notes.append(f"no estimate for {missing}: the total is a floor")
    ids = {case.case_id for case in chosen}
    judged = mine[mine["_judged"] & mine["case_id"].astype(str).isin(ids)]
    spend, priced, unpriced = cost_sum(judged["cost"])
    per_trial = expected = None
    if priced:
        with localcontext() as context:
            context.prec = _PRECISION
            context.clear_flags()
            expected = spend * total / priced
            if context.flags[Inexact]:
                notes.append(f"the expected cost is rounded to {_PRECISION} significant digits")
            context.clear_flags()
            per_trial = spend / priced
            if context.flags[Inexact]:
                notes.append(
                    f"the mean cost a trial is rounded to {_PRECISION} significant digits "
                    "(the expected cost is one division of the exact sum)"
                )
    elif chosen:
        notes.append("costs unknown: no judged trial of these cases was priced")
    if priced and unpriced:
        notes.append(
            f"{unpriced} of {priced + unpriced} judged trials of these cases have no cost: "
            "the mean is over the priced ones"
        )
    if simulated:
        notes.append("a simulator's costs are a simulator's: a real model's would differ")
    if replayed:
        notes.append("replayed trials cost what was recorded when they were recorded")
    return SettlePlan(
        model_id=model_id,
        steps=tuple(steps),
        cases=tuple(chosen),
        more_trials=total,
        complete=complete,
        cost_per_trial=per_trial,
        expected_cost=expected,
        priced_trials=priced,
        unpriced_trials=unpriced,
        notes=tuple(notes),
    )
