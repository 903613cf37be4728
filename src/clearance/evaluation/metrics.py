"""Rates, pass^k, failure codes, cost and latency, computed from stored results.

Nothing here is kept as a counter: every figure is computed again from the
rows :meth:`clearance.evaluation.results.ResultStore.results` returns (or any
DataFrame with those columns), so a re-run shard that replaced rows changes
the figures the way it should.

The rules:

* An ``infra_error`` row is not the model's failure: it is left out of every
  rate's denominator, and counted and reported on its own (count and share, and,
  when the frame holds the evidence, each cause's kind, HTTP status and provider's
  message: :mod:`clearance.evaluation.infra`).
  A row served by a fallback model (``fallback_served``) is an infra error too,
  whatever its verdict: it says nothing about the model under test.
* A *case* is one ``case_id`` for one model; rows of several runs in one frame
  pool into the same case (more trials).
* Money stays :class:`~decimal.Decimal`: costs are summed as Python Decimals,
  never as floats.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import chain, repeat
from typing import Any

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from clearance.evaluation.infra import InfraGroup, group_infra

__all__ = [
    "GroupRate",
    "ModelSummary",
    "PassHatK",
    "Summary",
    "cost_sum",
    "mark_judged",
    "pass_hat_k",
    "summarize",
    "summary_to_dict",
]

_NEEDED = (
    "model_id",
    "case_id",
    "case_kind",
    "tool",
    "trial",
    "verdict",
    "failure_code",
    "latency_ms",
    "cost",
    "fallback_served",
)
_VERDICTS = {"pass", "fail", "infra_error"}


def pass_hat_k(n: int, c: int, k: int) -> float:
    """tau-bench's pass^k for one case: the chance that k of its n trials, drawn
    without replacement, all pass, given c of the n passed: C(c, k) / C(n, k).

    Computed exactly (integers and a Fraction), returned as a float.

    Raises:
        ValueError: ``k < 1``, ``c`` outside ``0..n``, or ``n < k`` (undefined).
    """
    if k < 1:
        raise ValueError(f"k={k}: pass^k needs k >= 1")
    if not 0 <= c <= n:
        raise ValueError(f"c={c}, n={n}: need 0 <= c <= n")
    if n < k:
        raise ValueError(f"n={n} < k={k}: pass^k is undefined with fewer trials than k")
    return float(Fraction(math.comb(c, k), math.comb(n, k)))


@dataclass(frozen=True, slots=True)
class PassHatK:
    """pass^k over the cases with at least k valid (non-infra) trials."""

    k: int
    value: float | None
    """Mean over the included cases; ``None`` when no case has k valid trials."""
    cases: int
    """Cases included."""
    cases_excluded: int
    """Cases left out for having fewer than k valid trials."""


@dataclass(frozen=True, slots=True)
class GroupRate:
    """Pass figures for one tool (contract and BFCL cases) or one flow."""

    name: str | None
    """The tool, or the flow's case id; ``None``: rows without a tool."""
    passes: int
    valid_trials: int
    """Trials that were not infra errors."""
    infra_errors: int
    cases: int
    """Distinct cases with at least one valid trial."""
    rate: float | None
    """Mean over cases of the per-case pass fraction (as ``pass_at_1``)."""


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """Everything computed for one model."""

    model_id: str
    items: int
    """Rows (trials) of every verdict."""
    passed: int
    failed: int
    infra_errors: int
    """``infra_error`` verdicts plus fallback-served rows."""
    infra_share: float
    """infra_errors / items."""
    cases: int
    """Distinct cases."""
    cases_without_valid_trials: int
    """Cases whose every trial was an infra error (left out of the rates)."""
    pass_at_1: float | None
    """Mean over cases of (passes / valid trials); ``None`` without valid trials."""
    pass_hat_k: Mapping[int, PassHatK]
    """k -> pass^k, for k = 1 .. the summary's ``max_k`` in order."""
    tools: tuple[GroupRate, ...]
    flows: tuple[GroupRate, ...]
    failure_codes: Mapping[str, int]
    """Codes of ``fail`` rows, most frequent first (``""``: no code given)."""
    infra_codes: Mapping[str, int]
    """Codes of infra rows (``fallback_served`` when a fallback answered without a code)."""
    total_cost: Decimal
    """USD over every priced row, infra errors included (money spent is spent)."""
    priced_items: int
    unpriced_items: int
    """Rows without a cost: ``total_cost`` is a lower bound when this is not 0."""
    cost_per_pass: Decimal | None
    """total_cost / passed (Decimal context precision); ``None`` when nothing passed."""
    latency_p50_ms: float | None
    """Median latency of the valid rows (linear interpolation)."""
    latency_p95_ms: float | None
    infra_causes: tuple[InfraGroup, ...] = ()
    """The infra rows grouped by kind and HTTP status, with the provider's messages
    (redacted); empty when the frame holds no evidence (read with ``evidence=False``)."""


@dataclass(frozen=True, slots=True)
class Summary:
    """Per-model summaries of one results frame."""

    models: tuple[ModelSummary, ...]
    """Sorted by model id."""
    run_ids: tuple[str, ...]
    """The runs the frame held (empty when it has no ``run_id`` column)."""
    max_k: int
    """pass^k is given for k = 1 .. max_k."""

    def model(self, model_id: str) -> ModelSummary:
        """The summary of one model.

        Raises:
            KeyError: the frame held no rows for it.
        """
        for summary in self.models:
            if summary.model_id == model_id:
                return summary
        raise KeyError(model_id)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


def mark_judged(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with the rule every figure follows: ``_judged`` (neither an
    ``infra_error`` nor served by a fallback), ``_pass`` and ``_fail`` (judged rows with
    that verdict); ``fallback_served`` missing values read as false."""
    rows = frame.copy()
    rows["fallback_served"] = rows["fallback_served"].fillna(False).astype(bool)
    rows["_judged"] = (rows["verdict"] != "infra_error") & ~rows["fallback_served"]
    rows["_pass"] = (rows["verdict"] == "pass") & rows["_judged"]
    rows["_fail"] = (rows["verdict"] == "fail") & rows["_judged"]
    return rows


def cost_sum(costs: pd.Series) -> tuple[Decimal, int, int]:
    """(exact sum, priced rows, unpriced rows) of a column of Decimal costs.

    Raises:
        TypeError: a cost that is not a Decimal (float money is never summed).
    """
    total = Decimal(0)
    priced = 0
    for value in costs:
        if _is_missing(value):
            continue
        if not isinstance(value, Decimal):
            raise TypeError(
                f"cost {value!r} is a {type(value).__name__}: costs must be Decimal "
                "(ResultStore.results() gives them so)"
            )
        total += value
        priced += 1
    return total, priced, len(costs) - priced


def _per_case_rate(frame: pd.DataFrame) -> float | None:
    """Mean over cases of passes / valid trials, over cases that have valid trials."""
    per_case = frame.groupby("case_id")[["_pass", "_judged"]].sum()
    per_case = per_case[per_case["_judged"] > 0]
    if per_case.empty:
        return None
    return float((per_case["_pass"] / per_case["_judged"]).mean())


def _group_rates(frame: pd.DataFrame, by: str) -> tuple[GroupRate, ...]:
    if frame.empty:
        return ()
    # one pass: sums per (group, case), then per group; a case's rate needs valid trials
    per_case = frame.groupby([by, "case_id"], dropna=False, sort=False)[
        ["_pass", "_judged", "_infra"]
    ].sum()
    valid = per_case["_judged"]
    per_case["_rate"] = (per_case["_pass"] / valid).where(valid > 0)
    totals = per_case.groupby(level=0, dropna=False, sort=False).agg(
        passes=("_pass", "sum"),
        valid_trials=("_judged", "sum"),
        infra_errors=("_infra", "sum"),
        cases=("_rate", "count"),
        rate=("_rate", "mean"),
    )
    rates = [
        GroupRate(
            name=None if _is_missing(name) else str(name),
            passes=int(row.passes),
            valid_trials=int(row.valid_trials),
            infra_errors=int(row.infra_errors),
            cases=int(row.cases),
            rate=None if _is_missing(row.rate) else float(row.rate),
        )
        for name, row in zip(totals.index, totals.itertuples(index=False), strict=True)
    ]
    return tuple(sorted(rates, key=lambda rate: (rate.name is None, rate.name or "")))


def _code_counts(codes: pd.Series) -> dict[str, int]:
    counts = codes.fillna("").astype(str).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return {str(code): int(count) for code, count in ordered}


def _pass_hat_ks(frame: pd.DataFrame, max_k: int) -> dict[int, PassHatK]:
    per_case = frame.groupby("case_id")[["_pass", "_judged"]].sum()
    # cases share few (valid trials, passes) pairs: each pair's pass^k is computed once
    # and counted as often as it occurs (fsum rounds the exact sum once: same float)
    counts = Counter(
        (int(n), int(c)) for c, n in zip(per_case["_pass"], per_case["_judged"], strict=True)
    )
    values = {}
    for k in range(1, max_k + 1):
        included = [(pass_hat_k(n, c, k), times) for (n, c), times in counts.items() if n >= k]
        cases = sum(times for _, times in included)
        total = math.fsum(chain.from_iterable(repeat(value, times) for value, times in included))
        values[k] = PassHatK(
            k=k,
            value=total / cases if cases else None,
            cases=cases,
            cases_excluded=len(per_case) - cases,
        )
    return values


def _model_summary(model_id: str, frame: pd.DataFrame, max_k: int) -> ModelSummary:
    items = len(frame)
    infra = int(frame["_infra"].sum())
    passed = int(frame["_pass"].sum())
    per_case_valid = frame.groupby("case_id")["_judged"].sum()
    total_cost, priced, unpriced = cost_sum(frame["cost"])
    latency = frame.loc[frame["_judged"], "latency_ms"].dropna().astype(float)
    infra_rows = frame[frame["_infra"]]
    infra_codes = infra_rows["failure_code"].where(
        infra_rows["failure_code"].notna() | ~infra_rows["fallback_served"], "fallback_served"
    )
    kinds = frame["case_kind"]
    causes: tuple[InfraGroup, ...] = ()
    if "evidence" in frame.columns and infra_rows["evidence"].notna().any():
        causes = group_infra(
            zip(
                infra_rows["case_id"].astype(str),
                infra_rows["evidence"],
                infra_rows["failure_code"].where(infra_rows["failure_code"].notna(), None),
                infra_rows["fallback_served"],
                strict=True,
            ),
            model_id=model_id,
        )
    return ModelSummary(
        model_id=model_id,
        items=items,
        passed=passed,
        failed=int(frame["_fail"].sum()),
        infra_errors=infra,
        infra_share=infra / items,
        cases=int(per_case_valid.size),
        cases_without_valid_trials=int((per_case_valid == 0).sum()),
        pass_at_1=_per_case_rate(frame),
        pass_hat_k=_pass_hat_ks(frame, max_k),
        tools=_group_rates(frame[kinds.isin(["contract", "bfcl"])], "tool"),
        flows=_group_rates(frame[kinds == "flow"], "case_id"),
        failure_codes=_code_counts(frame.loc[frame["_fail"], "failure_code"]),
        infra_codes=_code_counts(infra_codes),
        total_cost=total_cost,
        priced_items=priced,
        unpriced_items=unpriced,
        cost_per_pass=total_cost / passed if passed else None,
        latency_p50_ms=float(latency.quantile(0.5)) if len(latency) else None,
        latency_p95_ms=float(latency.quantile(0.95)) if len(latency) else None,
        infra_causes=causes,
    )


def summarize(frame: pd.DataFrame, *, k: int | None = None) -> Summary:
    """Per-model figures from a results frame.

    ``pass_at_1`` weighs every **case** equally: it is the mean over cases of
    each case's pass fraction (passes / valid trials), as tau-bench and BFCL
    report. Weighing by trial would let a case that lost trials to infra errors
    count less than its neighbours, so the rate would move with the
    infrastructure's luck rather than with the model.

    Args:
        frame: rows as :meth:`ResultStore.results` returns them.
        k: the largest k for pass^k; by default the most trials any (model,
            case) has in the frame.

    Raises:
        ValueError: a column is missing, a verdict is unknown, or ``k < 1``.
        TypeError: a cost that is not a Decimal (a float would lose money).
    """
    missing = [name for name in _NEEDED if name not in frame.columns]
    if missing:
        raise ValueError(f"the results frame lacks the column(s) {', '.join(missing)}")
    unknown = set(frame["verdict"].dropna().unique()) - _VERDICTS
    if unknown or frame["verdict"].isna().any():
        raise ValueError(f"unknown verdict(s) {sorted(map(str, unknown)) or ['<missing>']}")
    if k is not None and k < 1:
        raise ValueError(f"k={k}: pass^k needs k >= 1")

    columns = [*_NEEDED, *(["evidence"] if "evidence" in frame.columns else [])]
    data = mark_judged(frame.loc[:, columns])
    data["_infra"] = ~data["_judged"]

    if k is None:
        sizes = data.groupby(["model_id", "case_id"]).size()
        k = int(sizes.max()) if len(sizes) else 1
    models = tuple(
        _model_summary(str(model_id), group, k)
        for model_id, group in sorted(data.groupby("model_id"), key=lambda item: str(item[0]))
    )
    run_ids: tuple[str, ...] = ()
    if "run_id" in frame.columns:
        run_ids = tuple(sorted(str(run) for run in frame["run_id"].dropna().unique()))
    return Summary(models=models, run_ids=run_ids, max_k=k)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # plain notation: "0.000000123", not "1.23E-7"
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def summary_to_dict(summary: Summary) -> dict[str, Any]:
    """The summary as JSON-ready data (Decimals as plain-notation strings), for ``--json``."""
    result: dict[str, Any] = _jsonable(summary)
    return result
