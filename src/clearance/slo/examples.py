"""The calls behind a breached objective: examples a person can look up by call id.

One query per breached objective ranks the window's offending calls per group (the
latest failures or fallbacks, the slowest, the costliest, those with an invalid
tool call) and reads the few kept; for tool calls it also samples the validation
errors behind the rate. Groups are those of :mod:`clearance.slo.aggregate`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Float, and_, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from clearance.catalog import tables as t
from clearance.slo.aggregate import (
    CallFilter,
    Counts,
    Group,
    chosen_model,
    group_keys,
    group_of,
    model_of_call,
    ranked,
    to_decimal,
)
from clearance.slo.objectives import Metric

__all__ = ["TOOL_ERROR_SAMPLE", "ExampleCall", "Offenders", "offending_calls", "slower_than"]

TOOL_ERROR_SAMPLE = 200
"""Calls with an invalid tool call read per group for the validation errors behind a breach."""

_C = t.ai_calls.c
_OK = _C.status == "ok"


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
    model = chosen_model if metric == "fallback_rate" else model_of_call
    keys = group_keys(by, model)
    condition, order = _offence(metric, threshold)
    take = sample if metric == "tool_success_rate" else limit
    partition = keys or None
    # Rank narrow rows (id, group, rank), then read the few kept in full: sorting a
    # million wide rows (JSON included) costs SQLite several times more.
    ranking = (
        select(
            _C.id,
            *keys,
            func.row_number().over(partition_by=partition, order_by=order).label("rank"),
        )
        .where(*calls.conditions(model), condition, *_group_filter(wanted, model))
        .subquery()
    )
    kept = select(ranking).where(ranking.c.rank <= take).subquery()
    query = (
        select(
            *(kept.c[dimension] for dimension in by),
            kept.c.rank,
            _C.call_id,
            _C.started_at,
            _C.error_kind,
            _C.fallback_reason,
            _C.served_model,
            _C.latency_ms,
            _C.cost,
            _C.pricing_source,
            _C.tool_calls,
            _C.tool_calls_valid,
            _C.extra,
        )
        .join_from(kept, t.ai_calls, kept.c.id == _C.id)
        .order_by(kept.c.rank)
    )
    found: dict[Group, list[Any]] = {}
    for row in connection.execute(query):
        found.setdefault(group_of(row, by), []).append(row)
    result: dict[Group, Offenders] = {}
    for group in wanted:
        rows = found.get(group, [])
        reasons: Counts = ()
        if metric == "tool_success_rate":
            reasons = ranked(
                Counter(
                    verdict.get("error", "invalid")
                    for row in rows
                    for verdict in _tool_verdicts(row.extra)
                    if not verdict.get("valid")
                )
            )
        result[group] = Offenders(
            examples=tuple(
                ExampleCall(row.call_id, row.started_at, _detail(metric, row))
                for row in rows[:limit]
            ),
            reasons=reasons,
            sampled=len(rows) if metric == "tool_success_rate" else 0,
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
    keys = group_keys(by)
    query = select(*keys, func.count().label("n")).where(
        *calls.conditions(),
        _OK,
        _C.latency_ms > float(threshold_ms),
        *_group_filter(wanted),
    )
    if keys:
        query = query.group_by(*keys)
    found = {group_of(row, by): int(row.n) for row in connection.execute(query)}
    return {group: found.get(group, 0) for group in wanted}


def _offence(
    metric: Metric, threshold: Decimal | None
) -> tuple[ColumnElement[bool], list[ColumnElement[Any]]]:
    latest: list[ColumnElement[Any]] = [_C.started_at.desc(), _C.id.desc()]
    if metric == "error_rate":
        return _C.status == "error", latest
    if metric == "fallback_rate":
        return and_(_OK, _C.fallback_from.is_not(None)), latest
    if metric == "escalation_rate":
        return and_(_OK, _C.escalated.is_(True)), latest
    if metric == "tool_success_rate":
        return _C.tool_calls_valid < _C.tool_calls, latest
    if metric in ("p50_latency_ms", "p95_latency_ms"):
        slow = and_(_OK, _C.latency_ms.is_not(None))
        if threshold is not None:
            slow = and_(slow, _C.latency_ms > float(threshold))
        return slow, [_C.latency_ms.desc(), _C.id.desc()]
    # costs: the costliest first (the float cast only picks examples; figures stay exact);
    # for a bound per message, only the messages that cost more than it
    priced = and_(_OK, _C.cost.is_not(None))
    if metric == "avg_cost_per_message_usd" and threshold is not None:
        priced = and_(priced, cast(_C.cost, Float) > float(threshold))
    return priced, [cast(_C.cost, Float).desc(), _C.id.desc()]


def _group_filter(
    groups: Sequence[Group], model: ColumnElement[Any] = model_of_call
) -> list[ColumnElement[bool]]:
    """Narrow the scan to the values the groups name (a superset; exact groups are kept)."""
    found: list[ColumnElement[bool]] = []
    for dimension, column in (("model", model), ("org", _C.org_id)):
        if dimension not in groups[0].by:
            continue
        values = {g.model if dimension == "model" else g.org for g in groups}
        named = [v for v in values if v is not None]
        either = [column.in_(named)] if named else []
        if None in values:
            either.append(column.is_(None))
        found.append(or_(*either))
    return found


def _detail(metric: Metric, row: Any) -> str:
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
