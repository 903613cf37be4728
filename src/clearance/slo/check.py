"""Objectives judged on live traffic: one :class:`SloResult` per objective and group.

:func:`check_slos` reads the aggregates of :mod:`clearance.slo.aggregate` and
compares each group's measurement with each objective that applies to it. It
returns data, never raises on a breach; the CLI picks the exit code.

Statuses:

* ``breach``: the measurement is past the bound (a bound itself is met);
* ``ok``: it is not;
* ``insufficient_data``: the metric's denominator (its ``n``) is below
  ``min_calls``; not a breach, whatever the measurement (``spend_usd`` is a budget
  and never insufficient);
* ``no_data``: nothing to measure: no calls in the group, no tool calls for
  ``tool_success_rate``, no served call for the served-call metrics, or a model or
  org an objective names that has no calls in the window.

Comparisons are exact: a rate is compared as the fraction ``numerator /
denominator``, money as Decimal, a latency as the exact value of its float.

The ``retrieval:`` section's objectives are judged the same way on the window's
``retrievals`` rows (:mod:`clearance.slo.retrieval`); a breach there fails the check too.

Beside the objectives, the report holds the live traffic of each gated model by model
snapshot (:mod:`clearance.slo.snapshots`): a snapshot no enabling decision was taken on
is an unverified snapshot, and fails the check as a breach does
(:attr:`SloReport.exit_code`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import Connection

from clearance.catalog.database import Catalog
from clearance.slo.aggregate import (
    Breakdown,
    CallFilter,
    Counts,
    Group,
    GroupStats,
    aggregate_window,
)
from clearance.slo.examples import ExampleCall, Offenders, offending_calls, slower_than
from clearance.slo.objectives import Objective, SloPolicy, format_duration
from clearance.slo.retrieval import RetrievalCheck, check_retrievals
from clearance.slo.snapshots import SnapshotCheck, UnverifiedSnapshot, check_snapshots

__all__ = [
    "Evidence",
    "SloReport",
    "SloResult",
    "SloStatus",
    "check_slos",
    "check_window",
    "window_bounds",
]

SloStatus = Literal["ok", "breach", "insufficient_data", "no_data"]
"""Outcome of one objective in one group; only ``breach`` fails a check."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a measurement rests on, and for a breach, the calls behind it."""

    numerator: int | Decimal | None
    """Rates: the counted calls; costs: the spend (USD); latency breaches: the served calls
    slower than the bound; otherwise None."""
    denominator: int
    """The sample size ``n``: tool calls, served calls, attempted calls or all calls."""
    detail: str
    """One sentence for people: ``3 of 120 attempted calls failed``."""
    reasons: Counts = ()
    """What the counted calls have in common, most frequent first: error kinds, fallback
    reasons, tool-call validation errors, pricing."""
    examples: tuple[ExampleCall, ...] = ()
    """A few of the calls behind a breach (empty unless breached)."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (money as an exact string)."""
        numerator = self.numerator
        return {
            "numerator": str(numerator) if isinstance(numerator, Decimal) else numerator,
            "denominator": self.denominator,
            "detail": self.detail,
            "reasons": dict(self.reasons),
            "examples": [example.to_json() for example in self.examples],
        }


@dataclass(frozen=True, slots=True)
class SloResult:
    """One objective judged in one group."""

    objective: Objective
    index: int
    """The objective's position in the file (0-based)."""
    group: Group
    measured: float | Decimal | None
    """Rates and latencies as float, money as exact Decimal; None: nothing to measure."""
    n: int
    """The metric's denominator (see :attr:`Evidence.denominator`)."""
    min_calls: int | None
    """The sample the objective needs (None: ``spend_usd``, which needs none)."""
    status: SloStatus
    evidence: Evidence

    @property
    def threshold(self) -> Decimal:
        """The objective's bound."""
        bound = self.objective.threshold
        assert bound is not None  # validated when the file was read
        return bound

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (Decimals as plain strings)."""
        measured = self.measured
        return {
            "objective": {"index": self.index, **self.objective.to_json()},
            "group": self.group.to_json(),
            "metric": self.objective.metric,
            "measured": str(measured) if isinstance(measured, Decimal) else measured,
            "threshold": str(self.threshold),
            "n": self.n,
            "min_calls": self.min_calls,
            "status": self.status,
            "evidence": self.evidence.to_json(),
        }


@dataclass(frozen=True, slots=True)
class SloReport:
    """Every objective judged over one window, with each group's figures and reasons."""

    policy: SloPolicy
    since: dt.datetime
    until: dt.datetime
    org: str | None
    """Only this org's calls were read (``--org``)."""
    model: str | None
    """Only this model's calls were read (``--model``)."""
    results: tuple[SloResult, ...]
    """By group (as :attr:`groups`, then groups only an objective names), then objective."""
    groups: tuple[GroupStats, ...]
    """Every group with calls in the window, sorted by label."""
    breakdowns: tuple[Breakdown, ...]
    """The reasons behind each group's rates (groups with none are left out)."""
    checked_at: dt.datetime
    snapshots: SnapshotCheck | None = None
    """Each gated model's live calls by model snapshot (``None``: not checked)."""
    retrieval: RetrievalCheck | None = None
    """The retrieval objectives judged (``None``: the file declares none)."""

    @property
    def window(self) -> dt.timedelta:
        """``until - since``."""
        return self.until - self.since

    @property
    def breaches(self) -> tuple[SloResult, ...]:
        """The results in breach."""
        return tuple(r for r in self.results if r.status == "breach")

    @property
    def breached(self) -> bool:
        """Whether any objective, on calls or on retrievals, is breached in any group."""
        return any(r.status == "breach" for r in self.results) or (
            self.retrieval is not None and self.retrieval.breached
        )

    @property
    def unverified(self) -> tuple[UnverifiedSnapshot, ...]:
        """Live traffic served by model snapshots no enabling decision was taken on."""
        return () if self.snapshots is None else self.snapshots.unverified

    @property
    def exit_code(self) -> int:
        """``clearance slo check``'s: 1 on a breach (calls or retrievals) or an unverified
        snapshot, else 0."""
        return 1 if self.breached or self.unverified else 0

    @property
    def calls(self) -> int:
        """Calls read, over every group."""
        return sum(g.calls for g in self.groups)

    def status_counts(self) -> dict[SloStatus, int]:
        """How many call results have each status (every status present, zero or not;
        the retrieval results are :meth:`RetrievalCheck.status_counts`)."""
        counts: dict[SloStatus, int] = {
            "ok": 0,
            "breach": 0,
            "insufficient_data": 0,
            "no_data": 0,
        }
        for result in self.results:
            counts[result.status] += 1
        return counts

    def breakdown(self, group: Group) -> Breakdown | None:
        """The reasons behind ``group``'s rates (None: it had no failure, refusal or fallback)."""
        return next((b for b in self.breakdowns if b.group == group), None)

    def stats(self, group: Group) -> GroupStats | None:
        """``group``'s figures (None: no calls in the window)."""
        return next((g for g in self.groups if g.group == group), None)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (Decimals as plain strings, datetimes in ISO 8601)."""
        policy = self.policy
        return {
            "policy": {
                "path": None if policy.path is None else str(policy.path),
                "source_hash": policy.source_hash,
                "group_by": list(policy.group_by),
                "min_calls": policy.min_calls,
                "window": format_duration(policy.window),
            },
            "window": {
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
                "duration": format_duration(self.window),
            },
            "filters": {"org": self.org, "model": self.model},
            "checked_at": self.checked_at.isoformat(),
            "breached": self.breached,
            "calls": self.calls,
            "status_counts": self.status_counts(),
            "results": [result.to_json() for result in self.results],
            "groups": [group.to_json() for group in self.groups],
            "breakdowns": [breakdown.to_json() for breakdown in self.breakdowns],
            "exit_code": self.exit_code,
            "snapshots": None if self.snapshots is None else self.snapshots.to_json(),
            "retrieval": None if self.retrieval is None else self.retrieval.to_json(),
        }


def window_bounds(
    policy: SloPolicy,
    *,
    window: dt.timedelta | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """``(since, until)`` of a check.

    Nothing given: the last ``window`` (default: the file's) up to now. ``since`` alone:
    from then up to now; with ``window``: that long from then. ``until`` alone: the
    ``window`` before it. Both: as given.
    """
    now = now or dt.datetime.now(dt.UTC)
    length = window or policy.window
    if since is None:
        until = until or now
        return until - length, until
    if until is None:
        until = since + window if window is not None else now
    return since, until


def check_window(
    catalog: Catalog,
    policy: SloPolicy,
    *,
    window: dt.timedelta | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    org: str | None = None,
    model: str | None = None,
    include_evals: bool = False,
    now: dt.datetime | None = None,
) -> SloReport:
    """:func:`check_slos` over the window :func:`window_bounds` gives (default: the last
    ``policy.window``), optionally one org's or model's calls.

    Raises:
        InputError: the window ends before it starts.
        CatalogUnavailable: the database cannot be read.
    """
    start, end = window_bounds(policy, window=window, since=since, until=until, now=now)
    calls = CallFilter(start, end, org=org, model=model, include_evals=include_evals)
    with catalog.connect() as connection:
        return check_slos(connection, policy, calls, now=now)


def check_slos(
    connection: Connection,
    policy: SloPolicy,
    calls: CallFilter,
    *,
    examples: int = 5,
    now: dt.datetime | None = None,
    snapshots: bool = True,
) -> SloReport:
    """Judge every objective of ``policy`` on the calls ``calls`` selects.

    Two scans of the window (the figures, the reasons), then for each breached
    objective one more for its example calls (two for a latency bound, which also
    counts the calls slower than it). ``examples=0`` skips those. With ``snapshots``,
    one more reads the gated models' live calls by model snapshot
    (:func:`~clearance.slo.snapshots.check_snapshots`). A ``retrieval:`` section is judged
    on the window's retrievals (:func:`~clearance.slo.retrieval.check_retrievals`).
    """
    by = policy.group_by
    stats, found_breakdowns = aggregate_window(connection, calls, by)
    breakdowns = {b.group: b for b in found_breakdowns}
    judged: list[SloResult] = []
    for index, objective in enumerate(policy.objectives):
        matched = [s for s in stats if _applies(objective, s.group)]
        needed = objective.min_calls or policy.min_calls
        found = [_judge(objective, index, s, breakdowns.get(s.group), needed) for s in matched]
        breached = [r.group for r in found if r.status == "breach"]
        if breached and examples > 0:
            offenders = offending_calls(
                connection,
                calls,
                breached,
                objective.metric,
                threshold=objective.threshold,
                limit=examples,
            )
            slower = (
                slower_than(connection, calls, breached, objective.threshold or Decimal(0))
                if objective.info.unit == "ms"
                else {}
            )
            found = [_with_offenders(r, offenders.get(r.group), slower.get(r.group)) for r in found]
        judged += found
        judged += [
            _no_data(objective, index, group, needed) for group in _missing(objective, matched)
        ]
    order = {s.group: position for position, s in enumerate(stats)}
    judged.sort(key=lambda r: (order.get(r.group, len(order)), r.group.sort_key, r.index))
    return SloReport(
        policy=policy,
        since=calls.since,
        until=calls.until,
        org=calls.org,
        model=calls.model,
        results=tuple(judged),
        groups=stats,
        breakdowns=tuple(breakdowns.values()),
        checked_at=now or dt.datetime.now(dt.UTC),
        snapshots=check_snapshots(connection, calls) if snapshots else None,
        retrieval=None
        if policy.retrieval is None
        else check_retrievals(connection, policy.retrieval, calls, examples=examples),
    )


# --- judging -------------------------------------------------------------------------------


def _applies(objective: Objective, group: Group) -> bool:
    return (not objective.models or group.model in objective.models) and (
        not objective.orgs or group.org in objective.orgs
    )


def _missing(objective: Objective, matched: Sequence[GroupStats]) -> list[Group]:
    """Models and orgs an objective names that have no calls (or, unfiltered, the platform).

    A named model missing under ``model+org`` grouping is reported as the model alone
    (any org), and likewise for an org.
    """
    missing = [
        Group(("model",), model=model)
        for model in objective.models
        if all(s.group.model != model for s in matched)
    ]
    missing += [
        Group(("org",), org=org)
        for org in objective.orgs
        if all(s.group.org != org for s in matched)
    ]
    if not matched and not missing:
        missing.append(Group())
    return missing


def _no_data(objective: Objective, index: int, group: Group, needed: int) -> SloResult:
    return SloResult(
        objective=objective,
        index=index,
        group=group,
        measured=None,
        n=0,
        min_calls=needed if objective.info.uses_min_calls else None,
        status="no_data",
        evidence=Evidence(None, 0, "no calls in the window"),
    )


def _judge(
    objective: Objective,
    index: int,
    stats: GroupStats,
    breakdown: Breakdown | None,
    needed: int,
) -> SloResult:
    metric = objective.metric
    numerator: int | Decimal | None
    exact: Fraction | None
    reasons: Counts = ()
    if metric == "tool_success_rate":
        numerator, n = stats.tool_calls_valid, stats.tool_calls
        measured: float | Decimal | None = stats.tool_success_rate
        detail = f"{numerator} of {n} tool calls had valid arguments"
    elif metric == "fallback_rate":
        numerator, n, measured = stats.fallbacks, stats.routed, stats.fallback_rate
        detail = f"{numerator} of {n} served calls routed here were answered by a fallback"
        if breakdown is not None:
            reasons = breakdown.fallback_reasons
            if breakdown.fallback_to:
                detail += " (" + _counts(breakdown.fallback_to) + ")"
    elif metric == "error_rate":
        numerator, n, measured = stats.errors, stats.attempted, stats.error_rate
        detail = f"{numerator} of {n} attempted calls failed"
        if breakdown is not None:
            reasons = breakdown.error_kinds
        if stats.refused:
            detail += f" ({stats.refused} refused calls are not counted)"
    elif metric == "escalation_rate":
        numerator, n, measured = stats.escalated, stats.ok, stats.escalation_rate
        detail = f"{numerator} of {n} served calls were escalated to a person"
    elif metric in ("p50_latency_ms", "p95_latency_ms"):
        numerator, n = None, stats.latency_n
        measured = stats.p50_latency_ms if metric == "p50_latency_ms" else stats.p95_latency_ms
        detail = f"{metric[:3]} over {n} served calls with a latency"
    else:
        numerator = stats.spend_usd
        if metric == "spend_usd":
            n, measured = stats.calls, stats.spend_usd
            detail = f"{stats.spend_usd} USD spent on {n} calls"
        else:
            n, measured = stats.ok, stats.avg_cost_per_message_usd
            detail = f"{stats.spend_usd} USD spent on {n} served calls"
        if stats.estimated:
            detail += (
                f", of which {stats.estimated_spend_usd} USD estimated"
                f" ({stats.estimated} call{'' if stats.estimated == 1 else 's'} reported no usage)"
            )
        reasons = tuple(
            (name, count)
            for name, count in (
                ("tokens estimated: no usage reported", stats.estimated),
                ("priced at the default price", stats.default_priced),
                ("served without a cost", stats.unpriced),
            )
            if count
        )
    exact = _exact(metric, numerator, n, measured)
    uses_min = objective.info.uses_min_calls
    status: SloStatus
    if exact is None:
        status = "no_data"
        measured = None  # a group with no calls measured nothing, not a spend of 0
    elif uses_min and n < needed:
        status = "insufficient_data"
        detail += f"; fewer than min_calls ({needed}), so not judged"
    else:
        bound = Fraction(objective.threshold or 0)
        past = exact < bound if objective.info.bound == "min" else exact > bound
        status = "breach" if past else "ok"
    return SloResult(
        objective=objective,
        index=index,
        group=stats.group,
        measured=measured,
        n=n,
        min_calls=needed if uses_min else None,
        status=status,
        evidence=Evidence(numerator, n, detail, reasons),
    )


def _exact(
    metric: str, numerator: int | Decimal | None, n: int, measured: float | Decimal | None
) -> Fraction | None:
    """The measurement as an exact fraction (None: nothing to measure)."""
    if measured is None or n == 0:
        return None
    if metric in ("p50_latency_ms", "p95_latency_ms", "spend_usd"):
        return Fraction(measured)
    assert numerator is not None
    return Fraction(numerator) / n


def _with_offenders(
    result: SloResult, offenders: Offenders | None, slower: int | None
) -> SloResult:
    if result.status != "breach" or offenders is None:
        return result
    evidence = result.evidence
    if slower is not None:
        evidence = replace(
            evidence,
            numerator=slower,
            detail=f"{evidence.detail}; {slower} slower than {result.threshold} ms",
        )
    if offenders.reasons:
        evidence = replace(
            evidence,
            reasons=offenders.reasons,
            detail=f"{evidence.detail}; the errors are from the {offenders.sampled} latest calls "
            "with an invalid tool call",
        )
    return replace(result, evidence=replace(evidence, examples=offenders.examples))


def _counts(counts: Counts, limit: int = 3) -> str:
    shown = ", ".join(f"{name}: {count}" for name, count in counts[:limit])
    return shown + (f" and {len(counts) - limit} more" if len(counts) > limit else "")
