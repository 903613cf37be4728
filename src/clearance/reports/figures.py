"""The report's figures, computed with pandas from a results frame (no evidence needed).

Everything here is a pure function of a results frame (as
:meth:`clearance.evaluation.results.ResultStore.results` returns it) and a gate
policy, so the tests check each figure against hand-computed values:

* a **cell** is one model × one tool or one model × the flows. A tool's cell pools
  every judged turn that calls the tool: each trial of a single-turn case (contract
  and BFCL cases; :data:`NO_TOOL` for those with none) is one turn, and each judged
  turn of a flow counts for the tools it expects (:mod:`clearance.reports.turns`);
  the flows' cell pools flow trials, as the gate's ``flows`` check does. Each cell
  has its pooled pass rate, the gate's one-sided bounds around it (the clustered
  interval the gate uses, at the policy's confidence, with the case as the cluster:
  the turns and trials of one case are correlated) and a verdict against the
  policy's bar for the tool's criticality (or the flows'): ``clears`` (lower bound
  ≥ bar), ``fails`` (upper bound < bar), ``unsure`` (the bar lies inside), ``no_bar``;
* **trends**: a model's pooled pass rate per tool in each run, oldest first;
* **flaky** cases: judged trials of one case that disagree (some pass, some fail);
* **diffs**: what moved between two sets of cells or two decisions' checks.

Infra errors and fallback-served rows are never a model's failure: they are left
out of every rate (as in :mod:`clearance.evaluation.metrics` and the gate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from clearance.evaluation.metrics import mark_judged
from clearance.gate.policy import GatePolicy
from clearance.gate.stats import clustered_interval

__all__ = [
    "FLOWS",
    "NO_TOOL",
    "Cell",
    "CellVerdict",
    "Change",
    "FlakyCase",
    "TrendPoint",
    "cell_changes",
    "cells",
    "check_changes",
    "flaky_cases",
    "trends",
]

FLOWS = "(flows)"
"""The row name of a model's multi-turn flows, pooled, in the tool matrix."""
NO_TOOL = "(no tool)"
"""The row name of single-turn cases without a tool (several offered, none expected)."""
_SINGLE_TURN = ("contract", "bfcl")
_ORDER = {"critical": 0, "standard": 1}
CellVerdict = Literal["clears", "fails", "unsure", "no_bar", "no_data"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One model's pass figures for one tool, or for its flows."""

    model_id: str
    name: str
    """The tool, or :data:`FLOWS`."""
    passes: int
    trials: int
    """n: judged turns for a tool (a single-turn trial is one turn), judged trials for
    :data:`FLOWS` (infra errors and fallback-served rows left out)."""
    cases: int
    """Cases with at least one judged turn (or trial)."""
    infra: int
    """Trials that were infra errors or served by a fallback."""
    rate: float | None
    """Pooled: passes / n."""
    low: float | None
    """One-sided lower bound at the policy's confidence (clustered by case)."""
    high: float | None
    bar: float | None
    """The policy's bar for these cases (``min_lower_bound``), if it sets one."""
    verdict: CellVerdict
    flow_turns: int = 0
    """Of the ``trials``, the judged turns of flows (0 for :data:`FLOWS` itself)."""

    @property
    def unit(self) -> str:
        """What ``trials`` counts: ``trials`` for the flows' cell, ``turns`` for a tool's."""
        return "trials" if self.name == FLOWS else "turns"

    @property
    def label(self) -> str:
        """``0.917 [0.709, 1.000] 11/12``, or ``no judged trials``."""
        if self.rate is None or self.low is None or self.high is None:
            return "no judged trials"
        return f"{self.rate:.3f} [{self.low:.3f}, {self.high:.3f}] {self.passes}/{self.trials}"


def _bar(policy: GatePolicy | None, name: str, levels: Iterable[Any]) -> float | None:
    if policy is None:
        return None
    if name == FLOWS:
        return None if policy.flows is None else float(policy.flows.min_lower_bound)
    if policy.criticality is None:
        return None
    bars = []
    for level in levels:
        threshold = getattr(policy.criticality, str(level), None) if level in _ORDER else None
        if threshold is not None:
            bars.append(float(threshold.min_lower_bound))
    return max(bars) if bars else None  # mixed criticality: the strictest bar holds


def _cell(model_id: str, name: str, rows: pd.DataFrame, policy: GatePolicy | None) -> Cell:
    """The cell of ``rows``: one per judged unit (a trial, or a flow's turn), with
    ``case_id``, ``criticality``, ``_pass``, ``_judged`` and ``_turn`` (from a flow)."""
    per_case = rows.groupby("case_id", sort=True)[["_pass", "_judged"]].sum()
    pairs = [(int(p), int(n)) for p, n in zip(per_case["_pass"], per_case["_judged"], strict=True)]
    pairs = [pair for pair in pairs if pair[1] > 0]
    passes = sum(p for p, _ in pairs)
    trials = sum(n for _, n in pairs)
    infra = int((~rows["_judged"]).sum())
    bar = _bar(policy, name, rows["criticality"].dropna().unique())
    if not pairs:
        return Cell(model_id, name, 0, 0, 0, infra, None, None, None, bar, "no_data")
    level = float(policy.confidence) if policy is not None else 0.95
    method = policy.interval if policy is not None else "wilson"
    interval = clustered_interval(pairs, one_sided=True, level=level, method=method)
    verdict: CellVerdict = "no_bar"
    if bar is not None:
        verdict = "clears" if interval.low >= bar else "fails" if interval.high < bar else "unsure"
    return Cell(
        model_id,
        name,
        passes,
        trials,
        len(pairs),
        infra,
        passes / trials,
        interval.low,
        interval.high,
        bar,
        verdict,
        int((rows["_turn"] & rows["_judged"]).sum()),
    )


_UNIT_COLUMNS = ["run_id", "model_id", "case_id", "tool", "criticality", "_pass", "_judged"]


def _tool_units(rows: pd.DataFrame, turns: pd.DataFrame | None) -> pd.DataFrame:
    """What a tool's cell pools: single-turn trials, then the flows' turns (``_turn``)."""
    single = rows[rows["case_kind"].isin(_SINGLE_TURN)]
    units = single.assign(tool=single["tool"].fillna(NO_TOOL))[_UNIT_COLUMNS]
    units = units.assign(_turn=False)
    if turns is not None and not turns.empty:
        wanted = turns[turns["run_id"].isin(rows["run_id"].unique())]
        wanted = wanted[wanted["model_id"].isin(rows["model_id"].unique())]
        units = pd.concat([units, wanted[_UNIT_COLUMNS].assign(_turn=True)], ignore_index=True)
    return units.astype({"_pass": bool, "_judged": bool, "_turn": bool})


def cells(
    frame: pd.DataFrame, policy: GatePolicy | None, turns: pd.DataFrame | None = None
) -> dict[tuple[str, str], Cell]:
    """``(model, tool or FLOWS) -> Cell`` for every model and tool in ``frame``.

    Args:
        frame: results rows.
        policy: the gate policy (confidence, interval method, bars).
        turns: the flows' judged turns by tool
            (:func:`clearance.reports.turns.tool_turns`), pooled into the tools' cells
            for the runs and models of ``frame``; ``None``: single-turn cases only.
    """
    rows = mark_judged(frame)
    out: dict[tuple[str, str], Cell] = {}
    units = _tool_units(rows, turns)
    for (model_id, tool), group in units.groupby(["model_id", "tool"], sort=True):
        out[str(model_id), str(tool)] = _cell(str(model_id), str(tool), group, policy)
    flows = rows[rows["case_kind"] == "flow"].assign(_turn=False)
    for model_id, group in flows.groupby("model_id", sort=True):
        out[str(model_id), FLOWS] = _cell(str(model_id), FLOWS, group, policy)
    return out


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """A model's pooled pass rate for one tool (or its flows) in one run."""

    run_id: str
    started_at: Any
    rate: float
    passes: int
    trials: int


def trends(
    frame: pd.DataFrame,
    started: Mapping[str, Any],
    model_id: str,
    turns: pd.DataFrame | None = None,
) -> dict[str, list[TrendPoint]]:
    """Tool (or :data:`FLOWS`) -> the model's points, oldest run first; a tool's points
    pool what its cells pool (:func:`cells`).

    Args:
        frame: results of several runs.
        started: run id -> its start time (orders the runs).
        model_id: whose trend.
        turns: the flows' judged turns by tool, as for :func:`cells`.
    """
    rows = mark_judged(frame[frame["model_id"] == model_id])
    units = _tool_units(rows, turns).rename(columns={"tool": "_row"})
    flows = rows[rows["case_kind"] == "flow"].assign(_row=FLOWS)
    rows = pd.concat([units, flows[["_row", "run_id", "_pass", "_judged"]]], ignore_index=True)
    rows = rows[rows["_judged"].astype(bool)]
    grouped = rows.groupby(["_row", "run_id"], sort=False)["_pass"].agg(["sum", "count"])
    out: dict[str, list[TrendPoint]] = {}
    for (name, run_id), values in grouped.iterrows():
        passes, trials = int(values["sum"]), int(values["count"])
        point = TrendPoint(str(run_id), started.get(str(run_id)), passes / trials, passes, trials)
        out.setdefault(str(name), []).append(point)
    for points in out.values():
        points.sort(key=lambda point: (str(point.started_at), point.run_id))
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class FlakyCase:
    """A case whose judged trials disagree."""

    case_id: str
    case_kind: str
    tool: str | None
    passes: int
    trials: int
    verdicts: str
    """Trial verdicts in trial order: ``P`` pass, ``F`` fail, ``-`` infra."""


def flaky_cases(frame: pd.DataFrame, model_id: str) -> list[FlakyCase]:
    """The model's cases with at least one judged pass and one judged fail."""
    rows = mark_judged(frame[frame["model_id"] == model_id])
    sums = rows.groupby("case_id", sort=True)[["_pass", "_fail"]].sum()
    flaky = sums[(sums["_pass"] > 0) & (sums["_fail"] > 0)]
    if flaky.empty:
        return []
    rows = rows[rows["case_id"].isin(flaky.index)].sort_values(["case_id", "run_id", "trial"])
    marks: dict[str, list[str]] = {}
    first: dict[str, tuple[str, Any]] = {}
    columns = ("case_id", "case_kind", "tool", "_pass", "_fail")
    for case, kind, tool, passed, failed in zip(*(rows[c] for c in columns), strict=True):
        case_id = str(case)
        marks.setdefault(case_id, []).append("P" if passed else "F" if failed else "-")
        first.setdefault(case_id, (str(kind), tool))
    out = []
    for case_id, passed_n, failed_n in zip(
        flaky.index, flaky["_pass"], flaky["_fail"], strict=True
    ):
        kind, tool = first[str(case_id)]
        passes, fails = int(passed_n), int(failed_n)
        out.append(
            FlakyCase(
                str(case_id),
                kind,
                tool if isinstance(tool, str) else None,
                passes,
                passes + fails,
                "".join(marks[str(case_id)]),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Change:
    """One figure that moved between the last decision and now."""

    name: str
    before: str
    after: str
    direction: Literal["better", "worse", "same"]
    delta: float | None = None
    old: float | None = None
    """A cell's pass rate before (``None`` for a check: its labels are short already)."""
    new: float | None = None

    @property
    def short(self) -> str:
        """``0.820 → 0.600`` for a pass rate, else ``pass 300 → pass 271``."""
        if self.old is None or self.new is None:
            return f"{self.before} → {self.after}"
        return f"{self.old:.3f} → {self.new:.3f}"


def cell_changes(
    before: Mapping[str, Cell], after: Mapping[str, Cell], *, min_delta: float = 1e-9
) -> list[Change]:
    """Tools (and flows) whose pass rate moved, worst first, then new and gone rows."""
    out: list[Change] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None or old.rate is None:
            if new is not None and new.rate is not None:
                out.append(Change(name, "not evaluated", new.label, "same"))
            continue
        if new is None or new.rate is None:
            out.append(Change(name, old.label, "not evaluated", "same"))
            continue
        delta = new.rate - old.rate
        if abs(delta) <= min_delta:
            continue
        direction: Literal["better", "worse"] = "better" if delta > 0 else "worse"
        out.append(Change(name, old.label, new.label, direction, delta, old.rate, new.rate))
    return sorted(out, key=lambda change: (change.delta is None, change.delta or 0.0))


_LOWER_IS_BETTER = ("latency", "cost", "infra_error_share", "regression")
"""Checks whose measured value is better lower (``regression`` measures the drop)."""
_VERDICT_RANK = {"fail": 0, "inconclusive": 1, "pass": 2}


def _measure(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def check_changes(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[Change]:
    """Checks whose verdict or measured value moved between two decisions' ``checks``.

    A value that moved less than its label shows (4 significant digits) is no move. The
    direction follows the verdict when it changed (fail < inconclusive < pass: a
    bar that moved can flip it with the same measured value), else the value.
    """
    old = {str(check.get("name")): check for check in before}
    out = []
    for check in after:
        name = str(check.get("name"))
        previous = old.get(name)
        if previous is None:
            continue
        a, b = _measure(previous.get("measured")), _measure(check.get("measured"))
        verdict_a, verdict_b = previous.get("verdict"), check.get("verdict")
        shown_a = f"{verdict_a} {'' if a is None else f'{a:.4g}'}".strip()
        shown_b = f"{verdict_b} {'' if b is None else f'{b:.4g}'}".strip()
        if shown_a == shown_b:
            continue
        direction: Literal["better", "worse", "same"] = "same"
        delta = None
        if a is not None and b is not None and a != b:
            delta = b - a
            lower_better = name.startswith(_LOWER_IS_BETTER)
            direction = "better" if (delta < 0) == lower_better else "worse"
        rank_a, rank_b = _VERDICT_RANK.get(str(verdict_a)), _VERDICT_RANK.get(str(verdict_b))
        if rank_a is not None and rank_b is not None and rank_a != rank_b:
            direction = "better" if rank_b > rank_a else "worse"
        out.append(Change(name, shown_a, shown_b, direction, delta))
    return out
