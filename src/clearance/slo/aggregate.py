"""Aggregates of the ``ai_calls`` table per group, computed in the database.

One scan of the window gives every group's counts, exact spend and latency
percentiles (:func:`aggregate_calls`); a second one, grouping the exceptional rows
only, gives the reasons behind the rates (:func:`breakdown_calls`) and the fallback
rate's denominator (:func:`aggregate_window` runs the two once for both); and for a
breached objective :mod:`clearance.slo.examples` reads example calls.

Definitions (a call is one ``ai_calls`` row with ``since <= started_at < until``):

* group ``model``: ``served_model``, or ``requested_model`` when nothing was
  served (a failed call counts against the model the router meant to use; a
  refusal before any model was chosen has no model). So a fallback-served call
  counts in the group of the model that answered it for every figure but one:
* ``fallbacks`` and ``routed``, the fallback rate's numerator and denominator,
  count for the model the policy chose (``fallback_from`` when a fallback
  answered, else the served model): a model that fails over shows its own fallback
  rate, and the model that rescued it is not blamed. The breakdown names the
  models that answered instead.
* ``ok`` (served messages) / ``errors`` / ``refused``: ``status`` is ``ok`` /
  ``error`` (every attempt failed) / ``refused`` (kill switch, policy).
* ``attempted``: ``ok + errors`` (a refusal never reached a provider).
* ``fallbacks``: served calls with ``fallback_from`` set. The router sets
  ``fallback_from`` exactly when a model other than the policy's choice answered;
  ``fallback_reason`` alone is not used, because the router also sets it on calls
  that tried their fallbacks and still failed (those are errors).
  ``served_model != requested_model`` is not used either: the policy may serve a
  model other than the one requested (not enabled for the org) without any fallback.
* ``escalated``: served calls flagged for human hand-off (at call time, or after
  with :meth:`clearance.calllog.CallLog.flag_escalated`).
* ``spend_usd``: exact sum of ``cost`` over every call (NULL costs add nothing);
  ``estimated`` / ``estimated_spend_usd``: the calls with ``pricing_source =
  'estimated'`` (the answer reported no usage: tokens estimated from the text, see
  :mod:`clearance.tokencount`) and their part of ``spend_usd``;
  ``default_priced``: calls priced by the default price (``pricing_source =
  'default'``, or ``'estimated'`` without a catalog ``price_id``); ``unpriced``:
  served calls without a cost.
* latency percentiles: over served calls with a latency, by linear interpolation
  between the closest ranks (PostgreSQL's ``percentile_cont``, pandas' default
  ``quantile``).

The SQL is :mod:`clearance.catalog.callstats`' (this module turns its rows into
groups and figures). On PostgreSQL the sums and percentiles are SQL
(``SUM(CAST(cost AS NUMERIC))``, ``percentile_cont(q) WITHIN GROUP``). SQLite has
neither, so the aggregates of :mod:`clearance.catalog.sqlite_aggregates` (an exact
decimal sum, ``percentile_cont`` with PostgreSQL's arithmetic) are registered on the
connection before the first query; both back ends give identical figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from clearance.catalog import callstats
from clearance.errors import InputError
from clearance.slo.objectives import Dimension

__all__ = [
    "QUANTILES",
    "Breakdown",
    "CallFilter",
    "Counts",
    "Group",
    "GroupStats",
    "aggregate_calls",
    "aggregate_window",
    "breakdown_calls",
    "group_of",
    "ranked",
    "to_decimal",
]

QUANTILES = (0.5, 0.95)
"""The latency percentiles computed for every group."""

Counts = tuple[tuple[str, int], ...]
"""``(name, count)`` pairs, largest count first (ties by name)."""


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls count: a half-open window ``[since, until)``, optionally one org or model;
    live traffic only unless ``include_evals`` (an eval run's calls are not production's).

    Raises:
        InputError: a naive datetime, or ``until`` not after ``since``.
    """

    since: dt.datetime
    until: dt.datetime
    org: str | None = None
    model: str | None = None
    """Matched against the group's model (served, else requested), exactly as logged."""
    include_evals: bool = False
    """Also count calls made by eval runs (``ai_calls.eval_run_id`` set)."""

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            if getattr(self, name).tzinfo is None:
                raise InputError(
                    f"{name} has no timezone", fix="give an aware datetime (UTC, e.g. ...Z)"
                )
        if self.until <= self.since:
            raise InputError(
                f"the window ends ({self.until.isoformat()}) before it starts "
                f"({self.since.isoformat()})",
                fix="give --since earlier than --until",
            )

    def conditions(self) -> list[Any]:
        """The WHERE conditions on ``ai_calls`` that select these calls.

        Kept for ``benchmarks/bench_slo.py``, which builds its own query; the conditions
        are :func:`clearance.catalog.callstats.where_window`'s.
        """
        return list(callstats.where_window(self))


@dataclass(frozen=True, slots=True)
class Group:
    """A group of calls: its dimensions and their values (``None``: not set on the calls)."""

    by: tuple[Dimension, ...] = ()
    model: str | None = None
    org: str | None = None

    @property
    def label(self) -> str:
        """``p:a``, ``acme``, ``p:a / acme``; ``all`` when not grouped; ``(none)`` for NULL."""
        parts = [(self.model if d == "model" else self.org) or f"(no {d})" for d in self.by]
        return " / ".join(parts) or "all"

    @property
    def sort_key(self) -> tuple[tuple[bool, str], ...]:
        """Order of groups: by model, then org; a missing value (NULL) after the others."""
        return tuple(
            (value is None, value or "")
            for dimension, value in (("model", self.model), ("org", self.org))
            if dimension in self.by
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"by": list(self.by), "model": self.model, "org": self.org, "label": self.label}


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group's figures over the window (see the module docstring for each definition)."""

    group: Group
    calls: int
    ok: int
    errors: int
    refused: int
    fallbacks: int
    """Served calls the policy routed to this group's model that a fallback answered."""
    tool_calls: int
    tool_calls_valid: int
    escalated: int
    spend_usd: Decimal
    default_priced: int
    unpriced: int
    latency_n: int
    """Served calls with a latency: the sample of the percentiles."""
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    routed: int = 0
    """Served calls the policy routed to this group's model (answered by it or by a
    fallback): the fallback rate's denominator."""
    estimated: int = 0
    """Calls priced from estimated tokens (the answer reported no usage)."""
    estimated_spend_usd: Decimal = Decimal(0)
    """The part of ``spend_usd`` those calls make (USD)."""

    @property
    def attempted(self) -> int:
        """Calls that reached a provider: served plus failed."""
        return self.ok + self.errors

    @property
    def tool_success_rate(self) -> float | None:
        """Valid tool calls / tool calls (None without tool calls)."""
        return _rate(self.tool_calls_valid, self.tool_calls)

    @property
    def fallback_rate(self) -> float | None:
        """Calls routed here that a fallback answered / served calls routed here."""
        return _rate(self.fallbacks, self.routed)

    @property
    def error_rate(self) -> float | None:
        """Failed calls / attempted calls."""
        return _rate(self.errors, self.attempted)

    @property
    def escalation_rate(self) -> float | None:
        """Escalated served calls / served calls."""
        return _rate(self.escalated, self.ok)

    @property
    def avg_cost_per_message_usd(self) -> Decimal | None:
        """Spend / served calls, exact to 28 significant digits (None without a served call)."""
        return None if self.ok == 0 else self.spend_usd / self.ok

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (money as exact strings)."""
        avg = self.avg_cost_per_message_usd
        return {
            "group": self.group.to_json(),
            "calls": self.calls,
            "ok": self.ok,
            "errors": self.errors,
            "refused": self.refused,
            "attempted": self.attempted,
            "fallbacks": self.fallbacks,
            "routed": self.routed,
            "tool_calls": self.tool_calls,
            "tool_calls_valid": self.tool_calls_valid,
            "escalated": self.escalated,
            "spend_usd": str(self.spend_usd),
            "estimated": self.estimated,
            "estimated_spend_usd": str(self.estimated_spend_usd),
            "default_priced": self.default_priced,
            "unpriced": self.unpriced,
            "latency_n": self.latency_n,
            "p50_latency_ms": self.p50_latency_ms,
            "p95_latency_ms": self.p95_latency_ms,
            "tool_success_rate": self.tool_success_rate,
            "fallback_rate": self.fallback_rate,
            "error_rate": self.error_rate,
            "escalation_rate": self.escalation_rate,
            "avg_cost_per_message_usd": None if avg is None else str(avg),
        }


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The reasons behind one group's rates."""

    group: Group
    fallback_reasons: Counts
    """``fallback_reason`` of the calls routed to this group's model that a fallback
    answered."""
    fallback_to: Counts
    """The models that answered them instead."""
    error_kinds: Counts
    """``error_kind`` of the failed calls."""
    refusal_kinds: Counts
    """``error_kind`` of the refused calls (``killed``, ``NoModelAvailable``, ...)."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (each count list as an object, largest first)."""
        return {
            "group": self.group.to_json(),
            "fallback_reasons": dict(self.fallback_reasons),
            "fallback_to": dict(self.fallback_to),
            "error_kinds": dict(self.error_kinds),
            "refusal_kinds": dict(self.refusal_kinds),
        }


# --- queries -------------------------------------------------------------------------------


def group_of(row: Any, group_by: tuple[Dimension, ...]) -> Group:
    """The group of a store row (anything with ``model`` and ``org``)."""
    return Group(
        group_by,
        model=row.model if "model" in group_by else None,
        org=row.org if "org" in group_by else None,
    )


def aggregate_calls(
    connection: Connection, calls: CallFilter, group_by: Sequence[Dimension] = ("model",)
) -> tuple[GroupStats, ...]:
    """Every group's figures over the window; groups sorted by label.

    Two scans: every call once for the totals, and the exceptional calls (failed,
    refused, fallback-served) once, grouped (as :func:`aggregate_window`).
    """
    return aggregate_window(connection, calls, group_by)[0]


def aggregate_window(
    connection: Connection, calls: CallFilter, group_by: Sequence[Dimension] = ("model",)
) -> tuple[tuple[GroupStats, ...], tuple[Breakdown, ...]]:
    """:func:`aggregate_calls` and :func:`breakdown_calls` together, from the same two scans.

    The fallback rate's denominator (served calls per model the policy chose) is not a
    third scan grouping every served call again: it is the group's served calls, less
    those a fallback answered for another model, plus the fallbacks answered for it.
    """
    by = tuple(group_by)
    exceptional = callstats.exceptional_counts(connection, calls, by)
    fallbacks: Counter[Group] = Counter()
    served_by_fallback: Counter[Group] = Counter()
    for counted in exceptional:
        if counted.status != "ok" or not counted.fell_back:
            continue
        if _counts_for(counted.chosen, calls):
            fallbacks[_group(counted.chosen, counted.org, by)] += counted.n
        if _counts_for(counted.model, calls):
            served_by_fallback[_group(counted.model, counted.org, by)] += counted.n
    stats = []
    for row in callstats.window_totals(connection, calls, by, QUANTILES):
        group = group_of(row, by)
        p50, p95 = row.percentiles
        stats.append(
            GroupStats(
                group=group,
                calls=row.calls,
                ok=row.ok,
                errors=row.errors,
                refused=row.refused,
                fallbacks=fallbacks[group],
                tool_calls=row.tool_calls,
                tool_calls_valid=row.tool_calls_valid,
                escalated=row.escalated,
                spend_usd=row.spend,
                default_priced=row.default_priced,
                unpriced=row.unpriced,
                latency_n=row.latency_n,
                p50_latency_ms=p50,
                p95_latency_ms=p95,
                routed=row.ok - served_by_fallback[group] + fallbacks[group],
                estimated=row.estimated,
                estimated_spend_usd=row.estimated_spend,
            )
        )
    seen = {stat.group for stat in stats}
    # a model that served nothing itself (every call it was routed went to a fallback)
    stats += [_only_routed(group, n, n) for group, n in fallbacks.items() if group not in seen]
    ordered = tuple(sorted(stats, key=lambda s: s.group.sort_key))
    return ordered, _breakdowns(exceptional, calls, by)


def _counts_for(model: str | None, calls: CallFilter) -> bool:
    """Whether a row of this model is in a window that may name one model."""
    return calls.model is None or model == calls.model


def _group(model: str | None, org: str | None, by: tuple[Dimension, ...]) -> Group:
    return Group(by, model=model if "model" in by else None, org=org if "org" in by else None)


def _only_routed(group: Group, routed: int, fallbacks: int) -> GroupStats:
    return GroupStats(
        group=group,
        calls=0,
        ok=0,
        errors=0,
        refused=0,
        fallbacks=fallbacks,
        tool_calls=0,
        tool_calls_valid=0,
        escalated=0,
        spend_usd=Decimal(0),
        default_priced=0,
        unpriced=0,
        latency_n=0,
        p50_latency_ms=None,
        p95_latency_ms=None,
        routed=routed,
    )


def breakdown_calls(
    connection: Connection, calls: CallFilter, group_by: Sequence[Dimension] = ("model",)
) -> tuple[Breakdown, ...]:
    """Counts by fallback reason, fallback origin, error kind and refusal kind, per group.

    Only the exceptional rows are grouped (failed, refused or fallback-served), so this
    costs one scan of the window and little else. Groups without any are left out.
    """
    by = tuple(group_by)
    return _breakdowns(callstats.exceptional_counts(connection, calls, by), calls, by)


def _breakdowns(
    exceptional: Sequence[callstats.ExceptionalCount],
    calls: CallFilter,
    by: tuple[Dimension, ...],
) -> tuple[Breakdown, ...]:
    """Failures count against the group model, fallbacks for the model the policy chose."""
    tallies: dict[Group, tuple[Counter[str], ...]] = {}

    def tally(group: Group) -> tuple[Counter[str], ...]:
        found = tallies.get(group)
        if found is None:
            found = tallies[group] = (Counter(), Counter(), Counter(), Counter())
        return found

    for row in exceptional:
        if row.status != "ok" and _counts_for(row.model, calls):
            errors, refusals = tally(_group(row.model, row.org, by))[2:]
            kind = row.error_kind or "(no kind logged)"
            (refusals if row.status == "refused" else errors)[kind] += row.n
        elif row.status == "ok" and row.fell_back and _counts_for(row.chosen, calls):
            reasons, answerers = tally(_group(row.chosen, row.org, by))[:2]
            reasons[row.fallback_reason or "(no reason logged)"] += row.n
            answerers[row.served_model or "(no model logged)"] += row.n
    return tuple(
        Breakdown(group, *(ranked(counter) for counter in counters))
        for group, counters in sorted(tallies.items(), key=lambda item: item[0].sort_key)
    )


# --- helpers -------------------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def to_decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def ranked(counter: Counter[str]) -> Counts:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
