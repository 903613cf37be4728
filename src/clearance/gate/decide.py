"""The gate decision: one model's eval results against a policy, as data.

:func:`decide` is pure: it reads a results frame (as
:meth:`~clearance.evaluation.results.ResultStore.results` returns it) and a
:class:`~clearance.gate.policy.GatePolicy`, and returns a :class:`GateResult`
with one :class:`Check` per rule. Nothing is written and nothing is raised for
a model that fails; the caller stores the result and picks an exit code.

The rules, in the order of the checks:

* ``infra_error_share``: rows with verdict ``infra_error`` or ``fallback_served``
  are not the model's doing, so they are left out of every rate; their share of
  the model's rows must not exceed ``max_infra_error_share``.
* ``min_trials_per_case``: a case with fewer judged trials than required makes
  the gate ``inconclusive`` (too little evidence), never a pass.
* ``criticality.<level>`` and ``flows``: the pooled pass rate of the single-turn
  cases (``contract``, ``bfcl``) of that criticality, or of the flow cases, with a
  one-sided interval at ``confidence`` that accounts for trials clustering within
  a case (:func:`~clearance.gate.stats.clustered_interval`). Lower bound at or
  above the threshold: pass; upper bound below it: fail; otherwise inconclusive,
  with an estimate of the trials that would settle it.
* ``pass_hat_k``: mean over cases with at least k judged trials of tau-bench's
  pass^k, a point estimate compared with ``min``.
* ``latency.p95_ms``: 95th percentile (linear interpolation) of judged rows' latency.
* ``cost.per_successful_task``: USD over every row (infra errors included:
  money spent is spent) divided by the passes, in exact Decimal arithmetic.
* ``regression``: paired non-inferiority against a baseline model on the cases both
  have judged trials of, case by case (see :func:`_regression_check` for the bounds,
  :func:`~clearance.gate.stats.paired_drop_bounds`); a case
  one model has no judged trial of is left out, and the detail says which.

The decision is ``disable`` if any check fails, else ``inconclusive`` if any is
inconclusive, else ``enable``. It records the model snapshots it was taken on
(:func:`result_snapshots`: the judged results per ``model_snapshot``), which
``clearance slo check`` compares with the snapshots serving live traffic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from clearance.evaluation.metrics import cost_sum, mark_judged, pass_hat_k
from clearance.gate.policy import GatePolicy, Regression, Threshold
from clearance.gate.stats import (
    clustered_interval,
    clustered_rate,
    paired_drop_bounds,
    trials_to_settle,
)

__all__ = ["Check", "CheckVerdict", "Decision", "GateResult", "decide", "result_snapshots"]

CheckVerdict = Literal["pass", "fail", "inconclusive", "skipped"]
"""Outcome of one check; ``skipped`` when the policy does not ask for it or no rows apply."""
Decision = Literal["enable", "disable", "inconclusive"]
"""Outcome of the whole gate."""

_NEEDED = (
    "model_id",
    "case_id",
    "case_kind",
    "criticality",
    "verdict",
    "fallback_served",
    "latency_ms",
    "cost",
)
_VERDICTS = frozenset({"pass", "fail", "infra_error"})
_SINGLE_TURN = ("contract", "bfcl")


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one rule of the policy."""

    name: str
    """Stable identifier, e.g. ``criticality.critical``, ``flows``, ``regression``."""
    verdict: CheckVerdict
    measured: float | str | None
    """The measured value (a rate, milliseconds, or USD as a decimal string)."""
    interval: tuple[float, float] | None
    """One-sided bounds ``(lower, upper)`` at the policy's level, where one applies."""
    threshold: float | str | None
    """The policy's bar (USD as a decimal string)."""
    detail: str
    """One human sentence on what was measured and why this verdict."""
    more_trials: int | None = None
    """For an inconclusive rate check: about how many more trials would settle it."""
    cases: tuple[str, ...] = ()
    """The case ids behind a fail or inconclusive verdict (failing, short or regressed
    cases), sorted; what a person re-runs to reproduce it."""
    method: str | None = None
    """The statistical method behind ``interval`` where a check's bounds have a choice of
    method: ``paired-split-kl`` for ``regression``. A decision stored before checks named
    their method has none; its regression bounds were Hoeffding's."""


@dataclass(frozen=True, slots=True)
class GateResult:
    """The decision for one model, with every check that led to it."""

    model_id: str
    decision: Decision
    checks: tuple[Check, ...]
    policy_hash: str | None
    """SHA-256 of the policy file's bytes (``None`` for a policy built in code)."""
    reasons: tuple[str, ...] = field(default=())
    """``name: detail`` of the failing checks (or, when none fails, the inconclusive ones)."""
    snapshots: Mapping[str, int] = field(default_factory=dict)
    """The model snapshots the judged results were answered by, to how many results
    (:func:`result_snapshots`); provider text, so untrusted."""

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (intervals as lists; money is already a string)."""
        return {
            "model_id": self.model_id,
            "decision": self.decision,
            "policy_hash": self.policy_hash,
            "reasons": list(self.reasons),
            "snapshots": dict(self.snapshots),
            "checks": [
                {
                    "name": check.name,
                    "verdict": check.verdict,
                    "measured": check.measured,
                    "interval": None if check.interval is None else list(check.interval),
                    "threshold": check.threshold,
                    "detail": check.detail,
                    "more_trials": check.more_trials,
                    "cases": list(check.cases),
                    "method": check.method,
                }
                for check in self.checks
            ],
        }


# --- helpers -------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return format(value, "f")


def _prepare(frame: pd.DataFrame, model_id: str) -> pd.DataFrame:
    """The model's rows with ``_judged`` and ``_pass`` columns (:func:`mark_judged`)."""
    return mark_judged(frame.loc[frame["model_id"] == model_id, list(_NEEDED)])


def _per_case(rows: pd.DataFrame) -> list[tuple[str, int, int]]:
    """``(case_id, passes, judged trials)`` per case, cases with no judged trial included."""
    if rows.empty:
        return []
    grouped = rows.groupby("case_id", sort=True)[["_pass", "_judged"]].sum()
    return [
        (str(case), int(passes), int(judged))
        for case, passes, judged in zip(
            grouped.index, grouped["_pass"], grouped["_judged"], strict=True
        )
    ]


def _shown(cases: Sequence[str]) -> str:
    """The first five case ids, comma-separated, with an ellipsis when there are more."""
    return ", ".join(cases[:5]) + (", …" if len(cases) > 5 else "")


def _failing(per_case: Sequence[tuple[str, int, int]]) -> tuple[str, ...]:
    """Cases with at least one judged trial that did not pass."""
    return tuple(case for case, passes, n in per_case if passes < n)


def _rate_check(name: str, rows: pd.DataFrame, bar: Threshold, policy: GatePolicy) -> Check:
    threshold = float(bar.min_lower_bound)
    per_case = _per_case(rows)
    cases = [(passes, n) for _, passes, n in per_case if n > 0]
    if not cases:
        return Check(name, "skipped", None, None, threshold, "no judged trials")
    level = float(policy.confidence)
    rated = clustered_rate(cases)
    interval = clustered_interval(cases, one_sided=True, level=level, method=policy.interval)
    bounds = (interval.low, interval.high)
    summary = (
        f"{rated.successes}/{rated.n_trials} passed over {rated.n_cases} cases "
        f"(rate {rated.rate:.3f}, design effect {rated.design_effect:.2f}); "
        f"one-sided {level:g} bounds [{interval.low:.3f}, {interval.high:.3f}]"
    )
    if interval.low >= threshold:
        return Check(name, "pass", rated.rate, bounds, threshold, f"{summary} ≥ {threshold:g}")
    if interval.high < threshold:
        return Check(
            name,
            "fail",
            rated.rate,
            bounds,
            threshold,
            f"{summary} < {threshold:g}",
            cases=_failing(per_case),
        )
    more = trials_to_settle(
        rated.successes,
        rated.n_trials,
        threshold,
        level=level,
        method=policy.interval,
        deff=rated.design_effect,
    )
    hint = ""
    if more is not None:
        # Trials of one case are correlated, so the extra trials must come from new
        # cases, at the suite's trials per case, to count as the design effect says.
        each = max(1, round(rated.n_trials / rated.n_cases))
        new_cases = -(-more // each)
        hint = (
            f"; about {more} more trials ({new_cases} more cases at {each} trials each) "
            "would settle it"
        )
    return Check(
        name,
        "inconclusive",
        rated.rate,
        bounds,
        threshold,
        f"{summary} straddle {threshold:g}{hint}",
        more_trials=more,
        cases=_failing(per_case),
    )


def _infra_check(rows: pd.DataFrame, limit: float | None) -> Check:
    name = "infra_error_share"
    if limit is None:
        return Check(name, "skipped", None, None, None, "max_infra_error_share not in the policy")
    limit = float(limit)
    if rows.empty:
        return Check(name, "skipped", None, None, limit, "no rows")
    infra = int((~rows["_judged"]).sum())
    share = infra / len(rows)
    text = f"{infra}/{len(rows)} rows were infra errors or fallback-served (share {share:.3f})"
    if share > limit:
        # Infrastructure errors are not the model's failures: too many leave too little
        # evidence to judge it, so the gate cannot enable it, nor hold it against it.
        hit = rows.loc[~rows["_judged"], "case_id"].astype(str).unique()
        return Check(
            name,
            "inconclusive",
            share,
            None,
            limit,
            f"{text} > {limit:g}",
            cases=tuple(sorted(hit)),
        )
    return Check(name, "pass", share, None, limit, f"{text} ≤ {limit:g}")


def _min_trials_check(per_case: Sequence[tuple[str, int, int]], required: int) -> Check:
    name = "min_trials_per_case"
    if not per_case:
        return Check(name, "inconclusive", None, None, float(required), "no cases were run")
    short = [case for case, _, n in per_case if n < required]
    fewest = min(n for _, _, n in per_case)
    if short:
        return Check(
            name,
            "inconclusive",
            float(fewest),
            None,
            float(required),
            f"{len(short)} of {len(per_case)} cases have fewer than {required} judged "
            f"trials ({_shown(short)})",
            cases=tuple(short),
        )
    return Check(
        name,
        "pass",
        float(fewest),
        None,
        float(required),
        f"every case has at least {required} judged trials (fewest {fewest})",
    )


def _pass_hat_k_check(per_case: Sequence[tuple[str, int, int]], policy: GatePolicy) -> Check:
    name = "pass_hat_k"
    if policy.pass_hat_k is None:
        return Check(name, "skipped", None, None, None, "pass_hat_k not in the policy")
    k = policy.pass_hat_k.k
    minimum = float(policy.pass_hat_k.min)
    counted = [(case, c, n) for case, c, n in per_case if n >= k]
    values = [pass_hat_k(n, c, k) for _, c, n in counted]
    if not values:
        return Check(name, "inconclusive", None, None, minimum, f"no case has {k} judged trials")
    value = math.fsum(values) / len(values)
    text = f"pass^{k} {value:.3f} over {len(values)} cases"
    if value >= minimum:
        return Check(name, "pass", value, None, minimum, f"{text} ≥ {minimum:g}")
    return Check(
        name, "fail", value, None, minimum, f"{text} < {minimum:g}", cases=_failing(counted)
    )


def _latency_check(rows: pd.DataFrame, policy: GatePolicy) -> Check:
    name = "latency.p95_ms"
    if policy.latency is None:
        return Check(name, "skipped", None, None, None, "latency not in the policy")
    limit = float(policy.latency.p95_ms_max)
    latency = rows.loc[rows["_judged"], "latency_ms"].dropna().astype(float)
    if latency.empty:
        return Check(name, "inconclusive", None, None, limit, "no judged row has a latency")
    p95 = float(latency.quantile(0.95))
    text = f"p95 latency {p95:g} ms over {len(latency)} judged calls"
    if p95 <= limit:
        return Check(name, "pass", p95, None, limit, f"{text} ≤ {limit:g} ms")
    return Check(name, "fail", p95, None, limit, f"{text} > {limit:g} ms")


def _cost_check(rows: pd.DataFrame, policy: GatePolicy) -> Check:
    name = "cost.per_successful_task"
    if policy.cost is None:
        return Check(name, "skipped", None, None, None, "cost not in the policy")
    limit = policy.cost.per_successful_task_max_usd
    threshold = _money(limit)
    if rows.empty:
        return Check(name, "skipped", None, None, threshold, "no rows")
    total, _, unpriced = cost_sum(rows["cost"])
    if unpriced == len(rows):
        return Check(name, "inconclusive", None, None, threshold, "no row has a cost")
    note = f" ({unpriced} unpriced rows left out: a lower bound)" if unpriced else ""
    passes = int(rows["_pass"].sum())
    if passes == 0:
        return Check(
            name, "fail", None, None, threshold, f"USD {_money(total)} spent and nothing passed"
        )
    per_pass = total / passes
    text = f"USD {_money(total)} / {passes} passes = {_money(per_pass)}{note}"
    if per_pass <= limit:
        return Check(name, "pass", _money(per_pass), None, threshold, f"{text} ≤ {threshold}")
    return Check(name, "fail", _money(per_pass), None, threshold, f"{text} > {threshold}")


def _regression_check(
    candidate: pd.DataFrame, baseline: pd.DataFrame, rule: Regression, baseline_id: str
) -> Check:
    """Paired non-inferiority on the cases both models have judged trials for.

    A case both models ran but one of them has no judged trial of (every row an infra
    error or fallback-served) has no rate for that model; it is left out of the pairs
    and named at the end of the detail.

    Per paired case i, ``d_i = rate_base,i − rate_cand,i`` (the drop, in [−1, 1]);
    ``D̂`` is their mean over the n paired cases, and the bounds on the mean drop come
    from :func:`~clearance.gate.stats.paired_drop_bounds` (method ``paired-split-kl``,
    named in the check's ``method``): the case is the unit, so the correlation of trials
    within a case is absorbed by working on per-case rates, and the bounds hold for
    every n (no normal approximation) while narrowing when the two models agree on most
    cases. Decisions taken before it used Hoeffding's data-blind ``D̂ ± sqrt(2·ln(1/α)/n)``
    and record no method; gates/README.md argues the choice.

    Upper bound below ``max_drop``: pass; lower bound above it: fail; else inconclusive.
    """
    name = "regression"
    max_drop = float(rule.max_drop)
    cand = {case: (c, n) for case, c, n in _per_case(candidate)}
    base = {case: (c, n) for case, c, n in _per_case(baseline)}
    # A case both models ran but one has no judged trial of (all infra errors or
    # fallback-served) has no rate for that model: 0/0 is no evidence of a drop.
    both = sorted(cand.keys() & base.keys())
    paired = [case for case in both if min(cand[case][1], base[case][1]) > 0]
    left_out = [case for case in both if min(cand[case][1], base[case][1]) == 0]
    note = (
        f"; {len(left_out)} of {len(both)} shared cases left out for lack of a judged trial "
        f"in one model ({_shown(left_out)})"
        if left_out
        else ""
    )
    if not paired:
        return Check(
            name,
            "inconclusive",
            None,
            None,
            max_drop,
            f"no case has judged trials for both this model and {baseline_id}{note}",
        )
    drops = [base[case][0] / base[case][1] - cand[case][0] / cand[case][1] for case in paired]
    level = float(rule.level)
    test = paired_drop_bounds([(*base[case], *cand[case]) for case in paired], level=level)
    mean_drop = test.mean_drop
    bounds = (test.low, test.high)
    text = (
        f"mean drop vs {baseline_id} {mean_drop:+.3f} over {test.n_cases} paired cases "
        f"(losses {test.losses:.3f}, gains {test.gains:.3f}); "
        f"{test.method} one-sided {level:g} bounds [{bounds[0]:+.3f}, {bounds[1]:+.3f}]"
    )
    method = test.method
    if bounds[1] < max_drop:
        return Check(
            name, "pass", mean_drop, bounds, max_drop, f"{text} < {max_drop:g}{note}", method=method
        )
    worse = tuple(case for case, drop in zip(paired, drops, strict=True) if drop > 0)
    if bounds[0] > max_drop:
        return Check(
            name,
            "fail",
            mean_drop,
            bounds,
            max_drop,
            f"{text} > {max_drop:g}{note}",
            cases=worse,
            method=method,
        )
    return Check(
        name,
        "inconclusive",
        mean_drop,
        bounds,
        max_drop,
        f"{text} straddle {max_drop:g}{note}",
        cases=worse,
        method=method,
    )


def _validate(frame: pd.DataFrame) -> None:
    missing = [name for name in _NEEDED if name not in frame.columns]
    if missing:
        raise ValueError(f"the results frame lacks the column(s) {', '.join(missing)}")
    verdicts = frame["verdict"]
    unknown = set(verdicts.dropna().unique()) - _VERDICTS
    if unknown or verdicts.isna().any():
        raise ValueError(f"unknown verdict(s) {sorted(map(str, unknown)) or ['<missing>']}")


def result_snapshots(frame: pd.DataFrame, model_id: str) -> dict[str, int]:
    """``{model snapshot: judged results}`` of ``model_id``, most results first (ties by name).

    Judged as every figure is (:func:`~clearance.evaluation.metrics.mark_judged`): an
    infrastructure error or a fallback's answer is not the model's. Results without a
    snapshot (the provider named none, or stored before snapshots were kept) are left
    out; a frame without the ``model_snapshot`` column gives ``{}``.
    """
    if "model_snapshot" not in frame.columns:
        return {}
    mine = frame[frame["model_id"] == model_id]
    judged = mark_judged(mine[["verdict", "fallback_served"]])["_judged"].to_numpy(dtype=bool)
    counts = mine["model_snapshot"][judged].dropna().astype(str).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), item[0]))
    return {str(name): int(count) for name, count in ordered}


# --- the decision --------------------------------------------------------------------------


def decide(
    frame: pd.DataFrame,
    policy: GatePolicy,
    *,
    model_id: str,
    baseline_id: str | None = None,
) -> GateResult:
    """Decide enable / disable / inconclusive for ``model_id`` from its eval results.

    Args:
        frame: results rows (any models; only ``model_id``'s and ``baseline_id``'s are read).
        policy: the gate policy; a section it leaves out gives a ``skipped`` check.
        model_id: the candidate model.
        baseline_id: the model to compare with for ``regression`` (the caller resolves
            ``org_default``); ``None`` skips that check.

    Raises:
        ValueError: a needed column is missing or a verdict is unknown.
        TypeError: a cost that is not a Decimal.
    """
    _validate(frame)
    rows = _prepare(frame, model_id)
    per_case = _per_case(rows)
    single_turn = rows[rows["case_kind"].isin(_SINGLE_TURN)]

    checks: list[Check] = [
        _infra_check(rows, policy.max_infra_error_share),
        _min_trials_check(per_case, policy.min_trials_per_case),
    ]
    levels = policy.criticality
    for level in ("critical", "standard"):
        bar = None if levels is None else getattr(levels, level)
        name = f"criticality.{level}"
        if bar is None:
            checks.append(Check(name, "skipped", None, None, None, f"{level} not in the policy"))
        else:
            checks.append(
                _rate_check(name, single_turn[single_turn["criticality"] == level], bar, policy)
            )
    if policy.flows is None:
        checks.append(Check("flows", "skipped", None, None, None, "flows not in the policy"))
    else:
        checks.append(_rate_check("flows", rows[rows["case_kind"] == "flow"], policy.flows, policy))
    checks.append(_pass_hat_k_check(per_case, policy))
    checks.append(_latency_check(rows, policy))
    checks.append(_cost_check(rows, policy))
    if policy.regression is None or baseline_id is None:
        why = "regression not in the policy" if policy.regression is None else "no baseline given"
        checks.append(Check("regression", "skipped", None, None, None, why))
    else:
        baseline = _prepare(frame, baseline_id)
        checks.append(_regression_check(rows, baseline, policy.regression, baseline_id))

    failed = [check for check in checks if check.verdict == "fail"]
    unsure = [check for check in checks if check.verdict == "inconclusive"]
    decision: Decision = "disable" if failed else "inconclusive" if unsure else "enable"
    reasons = tuple(f"{check.name}: {check.detail}" for check in (failed or unsure))
    return GateResult(
        model_id=model_id,
        decision=decision,
        checks=tuple(checks),
        policy_hash=policy.source_hash,
        reasons=reasons,
        snapshots=result_snapshots(frame, model_id),
    )
