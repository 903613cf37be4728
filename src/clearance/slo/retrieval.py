"""Retrieval objectives judged on live traffic: the ``retrieval:`` section of ``gates/slo.yaml``.

The router logs one ``retrievals`` row per call made with knowledge (what was retrieved,
how long it took, whether the token budget cut it, why it failed). Per group of those
rows (by retriever configuration, org, both, or none) over the check's window, this
module measures (definitions in :data:`~clearance.slo.objectives.RETRIEVAL_METRICS`):

* ``empty_result_rate``: retrievals that found nothing / retrievals that did not fail;
* ``truncation_rate``: retrievals whose context the budget cut / retrievals that did not
  fail;
* ``error_rate``: failed retrievals / retrievals;
* ``p50_latency_ms``, ``p95_latency_ms``: of retrievals that did not fail.

Statuses are the call objectives' (:data:`~clearance.slo.check.SloStatus`), with
``min_retrievals`` in place of ``min_calls``; comparisons are exact (a rate as the
fraction, a latency as its float's exact value). A breach carries a few example
retrievals, named by the call they served: a query's text is never stored, so it is
never shown. Every retrieval in the window counts: the eval engine makes none, so there
are no eval-run retrievals to leave out; ``--model`` does not narrow retrievals (they are
not grouped by model).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection

from clearance.catalog import retrievalstats
from clearance.catalog.retrievalstats import RetrievalOffence, RetrievalOffendingRow
from clearance.slo.aggregate import QUANTILES, CallFilter
from clearance.slo.objectives import (
    RetrievalDimension,
    RetrievalMetric,
    RetrievalObjective,
    RetrievalObjectives,
)

__all__ = [
    "RetrievalCheck",
    "RetrievalEvidence",
    "RetrievalExample",
    "RetrievalGroup",
    "RetrievalResult",
    "RetrievalStats",
    "aggregate_retrievals",
    "check_retrievals",
]

# the statuses of clearance.slo.check.SloStatus (not imported: check imports this module)
_STATUSES = ("ok", "breach", "insufficient_data", "no_data")


@dataclass(frozen=True, slots=True)
class RetrievalGroup:
    """A group of retrievals: its dimensions and their values."""

    by: tuple[RetrievalDimension, ...] = ()
    org: str | None = None
    retriever: str | None = None

    @property
    def label(self) -> str:
        """``acme``, ``lexical``, ``acme / lexical``; ``all`` when not grouped."""
        parts = [(self.org if d == "org" else self.retriever) or f"(no {d})" for d in self.by]
        return " / ".join(parts) or "all"

    @property
    def sort_key(self) -> tuple[tuple[bool, str], ...]:
        """By org, then retriever."""
        return tuple(
            (value is None, value or "")
            for dimension, value in (("org", self.org), ("retriever", self.retriever))
            if dimension in self.by
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "by": list(self.by),
            "org": self.org,
            "retriever": self.retriever,
            "label": self.label,
        }


@dataclass(frozen=True, slots=True)
class RetrievalStats:
    """One group's retrieval figures over the window."""

    group: RetrievalGroup
    retrievals: int
    failed: int
    empty: int
    truncated: int
    p50_latency_ms: float | None
    p95_latency_ms: float | None

    @property
    def answered(self) -> int:
        """Retrievals that did not fail: the sample of every metric but ``error_rate``."""
        return self.retrievals - self.failed

    @property
    def empty_result_rate(self) -> float | None:
        """Empty / answered (None: none answered)."""
        return None if not self.answered else self.empty / self.answered

    @property
    def truncation_rate(self) -> float | None:
        """Truncated / answered (None: none answered)."""
        return None if not self.answered else self.truncated / self.answered

    @property
    def error_rate(self) -> float | None:
        """Failed / retrievals (None: no retrieval)."""
        return None if not self.retrievals else self.failed / self.retrievals

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "group": self.group.to_json(),
            "retrievals": self.retrievals,
            "failed": self.failed,
            "answered": self.answered,
            "empty": self.empty,
            "truncated": self.truncated,
            "p50_latency_ms": self.p50_latency_ms,
            "p95_latency_ms": self.p95_latency_ms,
            "empty_result_rate": self.empty_result_rate,
            "truncation_rate": self.truncation_rate,
            "error_rate": self.error_rate,
        }


@dataclass(frozen=True, slots=True)
class RetrievalExample:
    """One retrieval behind a breach (never its query: only its sha256 is stored)."""

    call_id: str | None
    """The call it served (``None``: logged without one)."""
    created_at: dt.datetime
    detail: str
    """What makes it an example: ``nothing found (k=5)``, ``312 ms``, ``CatalogUnavailable``."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "call_id": self.call_id,
            "created_at": self.created_at.isoformat(),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class RetrievalEvidence:
    """What a measurement rests on, and for a breach, the retrievals behind it."""

    numerator: int | None
    """Rates: the counted retrievals; latency breaches: those slower than the bound."""
    denominator: int
    detail: str
    examples: tuple[RetrievalExample, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "detail": self.detail,
            "examples": [example.to_json() for example in self.examples],
        }


@dataclass(frozen=True, slots=True)
class RetrievalResult:
    """One retrieval objective judged in one group."""

    objective: RetrievalObjective
    index: int
    """The objective's position in the ``retrieval:`` section (0-based)."""
    group: RetrievalGroup
    measured: float | None
    n: int
    """The metric's denominator: retrievals, or those that did not fail."""
    min_retrievals: int
    status: str
    """``ok``, ``breach``, ``insufficient_data`` or ``no_data`` (as :data:`SloStatus`)."""
    evidence: RetrievalEvidence

    @property
    def threshold(self) -> Decimal:
        """The objective's bound."""
        return self.objective.threshold

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (the threshold as an exact string)."""
        return {
            "objective": {"index": self.index, **self.objective.to_json()},
            "group": self.group.to_json(),
            "metric": self.objective.metric,
            "measured": self.measured,
            "threshold": str(self.threshold),
            "n": self.n,
            "min_retrievals": self.min_retrievals,
            "status": self.status,
            "evidence": self.evidence.to_json(),
        }


@dataclass(frozen=True, slots=True)
class RetrievalCheck:
    """Every retrieval objective judged over one window, with each group's figures."""

    objectives: RetrievalObjectives
    results: tuple[RetrievalResult, ...]
    """By group (as :attr:`groups`, then groups only an objective names), then objective."""
    groups: tuple[RetrievalStats, ...]
    """Every group with retrievals in the window, sorted by org, then retriever."""

    @property
    def breaches(self) -> tuple[RetrievalResult, ...]:
        """The results in breach."""
        return tuple(r for r in self.results if r.status == "breach")

    @property
    def breached(self) -> bool:
        """Whether any retrieval objective is breached in any group."""
        return bool(self.breaches)

    @property
    def retrievals(self) -> int:
        """Retrievals read, over every group."""
        return sum(g.retrievals for g in self.groups)

    def status_counts(self) -> dict[str, int]:
        """How many results have each status (every status present, zero or not)."""
        counts = dict.fromkeys(_STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "group_by": list(self.objectives.group_by),
            "min_retrievals": self.objectives.min_retrievals,
            "breached": self.breached,
            "retrievals": self.retrievals,
            "status_counts": self.status_counts(),
            "results": [result.to_json() for result in self.results],
            "groups": [group.to_json() for group in self.groups],
        }


def aggregate_retrievals(
    connection: Connection,
    calls: CallFilter,
    group_by: Sequence[RetrievalDimension] = ("retriever",),
) -> tuple[RetrievalStats, ...]:
    """Every group's retrieval figures over the window (``calls.since``..``calls.until``,
    ``calls.org`` if set), sorted by org, then retriever."""
    by = tuple(group_by)
    stats = [
        RetrievalStats(
            group=RetrievalGroup(by, org=row.org, retriever=row.retriever),
            retrievals=row.retrievals,
            failed=row.failed,
            empty=row.empty,
            truncated=row.truncated,
            p50_latency_ms=row.percentiles[0],
            p95_latency_ms=row.percentiles[1],
        )
        for row in retrievalstats.retrieval_totals(connection, calls, by, QUANTILES)
    ]
    return tuple(sorted(stats, key=lambda s: s.group.sort_key))


def check_retrievals(
    connection: Connection,
    objectives: RetrievalObjectives,
    calls: CallFilter,
    *,
    examples: int = 5,
) -> RetrievalCheck:
    """Judge every retrieval objective on the window's retrievals.

    One scan for the figures, then one query per breached objective for its example
    retrievals (and, for a latency bound, how many were slower than it). ``examples=0``
    skips those.
    """
    stats = aggregate_retrievals(connection, calls, objectives.group_by)
    judged: list[RetrievalResult] = []
    for index, objective in enumerate(objectives.objectives):
        needed = objective.min_retrievals or objectives.min_retrievals
        matched = [s for s in stats if _applies(objective, s.group)]
        found = [_judge(objective, index, s, needed) for s in matched]
        breached = [r.group for r in found if r.status == "breach"]
        if breached and examples > 0:
            found = _with_examples(connection, calls, objectives, objective, found, examples)
        judged += found
        judged += [_no_data(objective, index, g, needed) for g in _missing(objective, matched)]
    order = {s.group: position for position, s in enumerate(stats)}
    judged.sort(key=lambda r: (order.get(r.group, len(order)), r.group.sort_key, r.index))
    return RetrievalCheck(objectives=objectives, results=tuple(judged), groups=stats)


# --- judging -------------------------------------------------------------------------------


def _applies(objective: RetrievalObjective, group: RetrievalGroup) -> bool:
    return (not objective.orgs or group.org in objective.orgs) and (
        not objective.retrievers or group.retriever in objective.retrievers
    )


def _missing(
    objective: RetrievalObjective, matched: Sequence[RetrievalStats]
) -> list[RetrievalGroup]:
    """Orgs and retrievers an objective names that made no retrieval (or, unfiltered, all)."""
    missing = [
        RetrievalGroup(("org",), org=org)
        for org in objective.orgs
        if all(s.group.org != org for s in matched)
    ]
    missing += [
        RetrievalGroup(("retriever",), retriever=name)
        for name in objective.retrievers
        if all(s.group.retriever != name for s in matched)
    ]
    if not matched and not missing:
        missing.append(RetrievalGroup())
    return missing


def _no_data(
    objective: RetrievalObjective, index: int, group: RetrievalGroup, needed: int
) -> RetrievalResult:
    return RetrievalResult(
        objective=objective,
        index=index,
        group=group,
        measured=None,
        n=0,
        min_retrievals=needed,
        status="no_data",
        evidence=RetrievalEvidence(None, 0, "no retrievals in the window"),
    )


def _figures(metric: RetrievalMetric, stats: RetrievalStats) -> tuple[int | None, int, str]:
    """The metric's numerator, denominator and the sentence that says them."""
    answered = stats.answered
    if metric == "empty_result_rate":
        return stats.empty, answered, f"{stats.empty} of {answered} retrievals found nothing"
    if metric == "truncation_rate":
        return (
            stats.truncated,
            answered,
            f"{stats.truncated} of {answered} retrievals were cut to the token budget",
        )
    if metric == "error_rate":
        n = stats.retrievals
        return stats.failed, n, f"{stats.failed} of {n} retrievals failed (no context injected)"
    return None, answered, f"{metric[:3]} over {answered} retrievals that did not fail"


def _judge(
    objective: RetrievalObjective, index: int, stats: RetrievalStats, needed: int
) -> RetrievalResult:
    metric = objective.metric
    numerator, n, detail = _figures(metric, stats)
    measured: float | None
    if numerator is None:
        measured = stats.p50_latency_ms if metric == "p50_latency_ms" else stats.p95_latency_ms
    else:
        measured = None if n == 0 else numerator / n
    if measured is None or n == 0:
        status, measured = "no_data", None
    elif n < needed:
        status = "insufficient_data"
        detail += f"; fewer than min_retrievals ({needed}), so not judged"
    else:
        exact = Fraction(measured) if numerator is None else Fraction(numerator, n)
        status = "breach" if exact > Fraction(objective.threshold) else "ok"
    return RetrievalResult(
        objective=objective,
        index=index,
        group=stats.group,
        measured=measured,
        n=n,
        min_retrievals=needed,
        status=status,
        evidence=RetrievalEvidence(numerator, n, detail),
    )


_OFFENCES: dict[str, RetrievalOffence] = {
    "empty_result_rate": "empty",
    "truncation_rate": "truncated",
    "error_rate": "failed",
    "p50_latency_ms": "slow",
    "p95_latency_ms": "slow",
}


def _with_examples(
    connection: Connection,
    calls: CallFilter,
    objectives: RetrievalObjectives,
    objective: RetrievalObjective,
    found: list[RetrievalResult],
    limit: int,
) -> list[RetrievalResult]:
    """``found`` with each breach's example retrievals (and, for a latency bound, how many
    were slower than it)."""
    breached = [r.group for r in found if r.status == "breach"]
    offence = _OFFENCES[objective.metric]
    above = float(objective.threshold) if offence == "slow" else None
    by = objectives.group_by
    rows: dict[RetrievalGroup, list[RetrievalOffendingRow]] = {}
    for row in retrievalstats.offending_retrievals(
        connection, calls, by, breached, offence, above=above, per_group=limit
    ):
        rows.setdefault(RetrievalGroup(by, org=row.org, retriever=row.retriever), []).append(row)
    result = []
    for judged in found:
        if judged.status != "breach":
            result.append(judged)
            continue
        evidence = judged.evidence
        if offence == "slow":
            found_rows = rows.get(judged.group, [])
            count = found_rows[0].matching if found_rows else 0
            evidence = replace(
                evidence,
                numerator=count,
                detail=f"{evidence.detail}; {count} slower than {judged.threshold} ms",
            )
        shown = tuple(
            RetrievalExample(row.call_id, row.created_at, _detail(offence, row))
            for row in rows.get(judged.group, [])
        )
        result.append(replace(judged, evidence=replace(evidence, examples=shown)))
    return result


def _detail(offence: RetrievalOffence, row: RetrievalOffendingRow) -> str:
    if offence == "empty":
        return f"nothing found (k={row.k})"
    if offence == "failed":
        return row.error or "(no error logged)"
    if offence == "truncated":
        return (
            f"{row.chunks} chunk(s) kept ({row.tokens} tokens), {row.cut_chunks} cut "
            f"({row.tokens_cut} tokens left out)"
        )
    return f"{row.latency_ms:.0f} ms"
