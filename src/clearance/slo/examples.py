"""The calls behind a breached objective: examples a person can look up by call id.

One query per breached objective ranks the window's offending calls per group (the
latest failures or fallbacks, the slowest, the costliest, those with an invalid
tool call) and reads the few kept; for tool calls it also samples the validation
errors behind the rate. Groups are those of :mod:`clearance.slo.aggregate`; the
queries are :mod:`clearance.catalog.callstats`' (this module says which calls a metric
points at and what to show of each).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from clearance.catalog import callstats
from clearance.catalog.callstats import Offence, OffendingRow
from clearance.slo.aggregate import CallFilter, Counts, Group, group_of, ranked, to_decimal
from clearance.slo.objectives import Metric

__all__ = ["TOOL_ERROR_SAMPLE", "ExampleCall", "Offenders", "offending_calls", "slower_than"]

TOOL_ERROR_SAMPLE = 200
"""Calls with an invalid tool call read per group for the validation errors behind a breach."""


@dataclass(frozen=True, slots=True)
class ExampleCall:
    """One call behind a breach."""

    call_id: str
    started_at: dt.datetime
    detail: str
    """What makes it an example: ``timeout``, ``9120 ms``, ``0.031 USD (default)``..."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "call_id": self.call_id,
            "started_at": self.started_at.isoformat(),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Offenders:
    """The calls behind one group's measurement."""

    examples: tuple[ExampleCall, ...]
    """The first few, most telling first (latest, slowest or costliest)."""
    reasons: Counts = ()
    """For tool calls: the validation errors found in the sampled invalid calls."""
    sampled: int = 0
    """For tool calls: how many calls with an invalid tool call were read for ``reasons``."""


def offending_calls(
    connection: Connection,
    calls: CallFilter,
    groups: Iterable[Group],
    metric: Metric,
    *,
    threshold: Decimal | None = None,
    limit: int = 5,
    sample: int = TOOL_ERROR_SAMPLE,
) -> dict[Group, Offenders]:
    """Example calls behind ``metric`` in each of ``groups``, in one query.

    Which calls: failed ones (``error_rate``), fallback-served (``fallback_rate``),
    escalated (``escalation_rate``), with an invalid tool call (``tool_success_rate``;
    up to ``sample`` of them per group are read for the validation errors), served
    calls slower than ``threshold`` (latency), served calls that cost more than
    ``threshold`` (average cost per message), or the costliest served calls (spend).
    """
    wanted = list(groups)
    if not wanted:
        return {}
    by = wanted[0].by
    offence, above = _offence(metric, threshold)
    take = sample if metric == "tool_success_rate" else limit
    rows = callstats.offending_rows(
        connection, calls, by, wanted, offence, above=above, per_group=take
    )
    found: dict[Group, list[OffendingRow]] = {}
    for row in rows:
        found.setdefault(group_of(row, by), []).append(row)
    result: dict[Group, Offenders] = {}
    for group in wanted:
        kept = found.get(group, [])
        reasons: Counts = ()
        if metric == "tool_success_rate":
            reasons = ranked(
                Counter(
                    verdict.get("error", "invalid")
                    for row in kept
                    for verdict in _tool_verdicts(row.extra)
                    if not verdict.get("valid")
                )
            )
        result[group] = Offenders(
            examples=tuple(
                ExampleCall(row.call_id, row.started_at, _detail(metric, row))
                for row in kept[:limit]
            ),
            reasons=reasons,
            sampled=len(kept) if metric == "tool_success_rate" else 0,
        )
    return result


def slower_than(
    connection: Connection, calls: CallFilter, groups: Iterable[Group], threshold_ms: Decimal
) -> dict[Group, int]:
    """How many served calls of each group took longer than ``threshold_ms``."""
    wanted = list(groups)
    if not wanted:
        return {}
    by = wanted[0].by
    found = {
        group_of(row, by): row.n
        for row in callstats.slower_counts(connection, calls, by, wanted, float(threshold_ms))
    }
    return {group: found.get(group, 0) for group in wanted}


def _offence(metric: Metric, threshold: Decimal | None) -> tuple[Offence, float | None]:
    """The calls behind a metric, and the bound they pass (a latency or a cost per call)."""
    if metric == "error_rate":
        return "failed", None
    if metric == "fallback_rate":
        return "fell_back", None
    if metric == "escalation_rate":
        return "escalated", None
    if metric == "tool_success_rate":
        return "invalid_tool_calls", None
    bound = None if threshold is None else float(threshold)
    if metric in ("p50_latency_ms", "p95_latency_ms"):
        return "slow", bound
    # costs: the costliest first; for a bound per message, only the messages that cost
    # more than it (a spend budget bounds the window, not a call)
    return "costly", bound if metric == "avg_cost_per_message_usd" else None


def _detail(metric: Metric, row: OffendingRow) -> str:
    if metric == "error_rate":
        return row.error_kind or "(no kind logged)"
    if metric == "fallback_rate":
        return f"answered by {row.served_model} ({row.fallback_reason or 'no reason logged'})"
    if metric == "escalation_rate":
        escalation = (row.extra or {}).get("escalation") or {}
        reason = escalation.get("reason")
        if escalation:
            return f"flagged after the call: {reason}" if reason else "flagged after the call"
        return "flagged at call time"
    if metric == "tool_success_rate":
        bad = [v for v in _tool_verdicts(row.extra) if not v.get("valid")]
        shown = ", ".join(
            f"{v.get('name')}: {v.get('error', 'invalid')}"
            + (f" at {v['pointer']}" if v.get("pointer") else "")
            for v in bad[:3]
        )
        invalid = row.tool_calls - row.tool_calls_valid
        return f"{invalid} of {row.tool_calls} tool calls invalid" + (
            f" ({shown})" if shown else ""
        )
    if metric in ("p50_latency_ms", "p95_latency_ms"):
        return f"{row.latency_ms:.0f} ms"
    return f"{to_decimal(row.cost)} USD ({row.pricing_source or 'no pricing source'})"


def _tool_verdicts(extra: Any) -> list[dict[str, Any]]:
    if isinstance(extra, str):  # a JSON column read raw
        extra = json.loads(extra)
    verdicts = (extra or {}).get("tool_calls") or []
    return [v for v in verdicts if isinstance(v, dict)]
