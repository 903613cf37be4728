"""Aggregates of ``ai_calls`` computed in the database, and the calls behind them.

One module past 600 lines, on purpose: it is the one home of the aggregate queries on
``ai_calls``, and they share its window and grouping clauses and its dialect shims
(exact sums and percentiles on PostgreSQL and SQLite alike).

Over a time window, per group of calls (their model, their org, or both), for the SLOs
(:mod:`clearance.slo.aggregate` defines each figure; this module only computes it):

* :func:`window_totals`: one scan of the window: counts, exact spend, latency
  percentiles;
* :func:`routed_counts`: served calls per model the policy chose, and how many of those
  a fallback answered;
* :func:`failure_counts` and :func:`fallback_counts`: the exceptional rows only, by
  error kind, by fallback reason and answering model; :func:`exceptional_counts`: the
  same rows in one scan, split by every value those two and :func:`routed_counts` need;
* :func:`slower_counts`: served calls slower than a bound;
* :func:`offending_rows`: the few calls of each group that show a kind of offence
  (:data:`Offence`), most telling first;
* :func:`snapshot_counts`: served calls per model and the model snapshot its provider
  reported, with the first and last of each (what ``clearance slo check`` compares with
  the snapshots a gate decision was taken on).

For an eval run's report, :func:`run_call_pricing`: the run's logged calls per served
model, by how they were priced.

The store knows columns, not objectives. A window is any object with the fields of
:class:`CallWindow` (:class:`clearance.slo.CallFilter` is one); a group comes back as
its ``model`` and ``org`` values (``None``: not grouped by it, or NULL), for the caller
to turn into its own type. Group ``model`` is ``served_model``, else
``requested_model``; the fallback figures group by the model the policy chose
(``fallback_from``, else the group model).

On PostgreSQL the sums and percentiles are SQL (``SUM(CAST(cost AS NUMERIC))``,
``percentile_cont(q) WITHIN GROUP``). SQLite has neither: the percentiles are the
aggregates of :mod:`clearance.catalog.sqlite_aggregates`, registered on the connection
before the first query, and a sum of costs is the costs joined by ``group_concat``,
added up exactly in Python (:func:`_spend`); both back ends give identical figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

from sqlalchemy import (
    Connection,
    Float,
    Numeric,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from clearance.catalog import tables as t
from clearance.catalog.sqlite_aggregates import (
    decimal_sum,
    percentile_function,
    percentiles_function,
    read_percentiles,
    register,
)

__all__ = [
    "CallWindow",
    "EstimatedCost",
    "ExceptionalCount",
    "FailureCount",
    "FallbackCount",
    "GroupCount",
    "GroupTotals",
    "GroupValues",
    "Offence",
    "OffendingRow",
    "PricingCount",
    "RoutedCount",
    "RunCallPricing",
    "SnapshotCount",
    "exceptional_counts",
    "failure_counts",
    "fallback_counts",
    "offending_rows",
    "routed_counts",
    "run_call_pricing",
    "slower_counts",
    "snapshot_counts",
    "where_window",
    "window_totals",
]

_C = t.ai_calls.c
_MODEL: ColumnElement[Any] = func.coalesce(_C.served_model, _C.requested_model)
_CHOSEN: ColumnElement[Any] = func.coalesce(_C.fallback_from, _C.served_model, _C.requested_model)
_OK = _C.status == "ok"
_ESTIMATED = _C.pricing_source == "estimated"
_DEFAULT_PRICED = or_(_C.pricing_source == "default", and_(_ESTIMATED, _C.price_id.is_(None)))
_EXCEPTIONAL: ColumnElement[bool] = text(f"({t.CALL_EXCEPTIONAL})")  # type: ignore[assignment]
"""Failed, refused or fallback-served, word for word as ``ix_ai_calls_exceptional`` says
it: SQLite reads a partial index only for a query stating its condition (a bound
parameter in place of ``'ok'`` would not do). Stated beside the narrower conditions it
implies, it lets both back ends read those rows alone."""


# --- what callers pass -----------------------------------------------------------------------


class CallWindow(Protocol):
    """Which calls count: ``since <= started_at < until``, optionally one org or model; live
    traffic only unless ``include_evals``."""

    @property
    def since(self) -> dt.datetime: ...
    @property
    def until(self) -> dt.datetime: ...
    @property
    def org(self) -> str | None: ...
    @property
    def model(self) -> str | None:
        """Matched against the group model (or the chosen model, for fallback figures)."""

    @property
    def include_evals(self) -> bool:
        """Also count calls made by eval runs (``eval_run_id`` set)."""


class GroupValues(Protocol):
    """A group the caller asks about: its model and org values (``None``: NULL, or not
    grouped by it)."""

    @property
    def model(self) -> str | None: ...
    @property
    def org(self) -> str | None: ...


Offence = Literal["failed", "fell_back", "escalated", "invalid_tool_calls", "slow", "costly"]
"""Which calls :func:`offending_rows` reads, most telling first:

* ``failed``: ``status = 'error'``, latest first;
* ``fell_back``: served calls a fallback answered, latest first, grouped by the model
  the policy chose;
* ``escalated``: served calls flagged for hand-off, latest first;
* ``invalid_tool_calls``: calls with an invalid tool call, latest first;
* ``slow``: served calls with a latency (above the bound, if given), slowest first;
* ``costly``: served calls with a cost (above the bound, if given), costliest first.
"""


# --- what the store returns ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """One group's figures over a window (a group with at least one call)."""

    model: str | None
    org: str | None
    calls: int
    ok: int
    errors: int
    refused: int
    tool_calls: int
    tool_calls_valid: int
    escalated: int
    """Served calls flagged for hand-off."""
    spend: Decimal
    """Exact sum of ``cost`` over every call (USD; 0 when none is priced)."""
    estimated: int
    """Calls with ``pricing_source = 'estimated'``."""
    estimated_spend: Decimal
    """Their part of ``spend`` (USD)."""
    default_priced: int
    """``pricing_source = 'default'``, or ``'estimated'`` without a ``price_id``."""
    unpriced: int
    """Served calls without a cost."""
    latency_n: int
    """Served calls with a latency: the percentiles' sample."""
    percentiles: tuple[float | None, ...]
    """``percentile_cont`` of the served calls' ``latency_ms``, one per quantile asked."""


@dataclass(frozen=True, slots=True)
class RoutedCount:
    """Served calls the policy routed to a group's model, and those a fallback answered."""

    model: str | None
    org: str | None
    routed: int
    fallbacks: int


@dataclass(frozen=True, slots=True)
class FailureCount:
    """Failed or refused calls of a group with one ``status`` and ``error_kind``."""

    model: str | None
    org: str | None
    status: str
    error_kind: str | None
    n: int


@dataclass(frozen=True, slots=True)
class FallbackCount:
    """Fallback-served calls routed to a group's model, by reason and answering model."""

    model: str | None
    org: str | None
    fallback_reason: str | None
    served_model: str | None
    n: int


@dataclass(frozen=True, slots=True)
class ExceptionalCount:
    """The window's failed, refused or fallback-served calls with one set of values."""

    model: str | None
    """The group model (served, else requested): what failures count against."""
    chosen: str | None
    """The model the policy chose (``fallback_from``, else the group model)."""
    org: str | None
    status: str
    error_kind: str | None
    fallback_reason: str | None
    served_model: str | None
    fell_back: bool
    """``fallback_from`` is set."""
    n: int


@dataclass(frozen=True, slots=True)
class GroupCount:
    """How many calls of a group matched."""

    model: str | None
    org: str | None
    n: int


@dataclass(frozen=True, slots=True)
class OffendingRow:
    """One call read by :func:`offending_rows` (``rank``: 1 for the most telling)."""

    model: str | None
    org: str | None
    rank: int
    call_id: str
    started_at: dt.datetime
    error_kind: str | None
    fallback_reason: str | None
    served_model: str | None
    latency_ms: float | None
    cost: Decimal | None
    pricing_source: str | None
    tool_calls: int
    tool_calls_valid: int
    extra: Any
    """The ``extra`` JSON as the driver returns it (a dict, or its text)."""


@dataclass(frozen=True, slots=True)
class SnapshotCount:
    """A window's served calls of one model that reported one model snapshot."""

    served_model: str
    model_snapshot: str | None
    """As the provider reported it (``None``: it reported none)."""
    calls: int
    first_at: dt.datetime
    """The first of those calls' ``started_at``."""
    last_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PricingCount:
    """A run's calls served by one model with one ``pricing_source``."""

    served_model: str
    pricing_source: str | None
    without_price_id: bool
    """No catalog ``price_id`` (priced by the default, or not priced)."""
    calls: int


@dataclass(frozen=True, slots=True)
class EstimatedCost:
    """The cost of one of a run's calls priced from estimated tokens."""

    served_model: str
    cost: Decimal


@dataclass(frozen=True, slots=True)
class RunCallPricing:
    """An eval run's logged calls, as :func:`run_call_pricing` reads them."""

    counts: tuple[PricingCount, ...]
    estimated_costs: tuple[EstimatedCost, ...]
    """Few (answers without usage), so read one by one for the caller to sum exactly."""


# --- dialects --------------------------------------------------------------------------------


def _prepare(connection: Connection, quantiles: Collection[float]) -> bool:
    """Register the SQLite aggregates on this connection; True on PostgreSQL (SQL has them)."""
    if connection.dialect.name != "sqlite":
        return True
    pooled = connection.connection
    known: set[float] | None = pooled.info.get("clearance_aggregates")
    sets: set[str] = pooled.info.get("clearance_percentile_sets", set())
    together = percentiles_function(tuple(quantiles)) if quantiles else None
    if known is None or not known.issuperset(quantiles) or (together and together not in sets):
        register(pooled.driver_connection, tuple(quantiles))
        # info lives as long as the DBAPI connection
        pooled.info["clearance_aggregates"] = (known or set()) | set(quantiles)
        pooled.info["clearance_percentile_sets"] = sets | ({together} if together else set())
    return False


def _spend(native: bool, *where: ColumnElement[bool]) -> ColumnElement[Any]:
    """Exact sum of ``cost`` (over the rows matching ``where``, if given); on SQLite the
    costs joined by commas, for :func:`_decimal` to add up.

    SQLite calls a Python aggregate once per row (``clearance_decimal_sum``: about a
    microsecond each, a second over a million calls); ``group_concat`` joins the decimal
    strings in C and Python reads one string per group (a decimal string holds no comma).
    """
    if native:
        total = func.sum(cast(_C.cost, Numeric()))
        return total.filter(and_(*where)) if where else total
    return func.group_concat(_C.cost, ",").filter(_C.cost.is_not(None), *where)


def _percentiles(native: bool, quantiles: Sequence[float]) -> list[ColumnElement[Any]]:
    """The latency percentiles' columns: ``q0``, ``q1``... on PostgreSQL; on SQLite one
    column ``q`` computing them all from one collection of the latencies."""
    if native or not quantiles:
        return [_percentile(native, q).label(f"q{index}") for index, q in enumerate(quantiles)]
    served = and_(_OK, _C.latency_ms.is_not(None))
    aggregate: Any = getattr(func, percentiles_function(tuple(quantiles)))
    return [aggregate(_C.latency_ms).filter(served).label("q")]


def _percentile(native: bool, fraction: float) -> ColumnElement[Any]:
    served = and_(_OK, _C.latency_ms.is_not(None))
    if native:
        return func.percentile_cont(fraction).within_group(_C.latency_ms).filter(served)
    aggregate: Any = getattr(func, percentile_function(fraction))
    found: ColumnElement[Any] = aggregate(_C.latency_ms).filter(served)
    return found


# --- windows and groups ----------------------------------------------------------------------


def where_window(
    window: CallWindow, *, chosen: bool = False, either: bool = False
) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``ai_calls`` that select the window's calls.

    ``chosen``: ``window.model`` matches the model the policy chose, not the group model;
    ``either``: it matches either of them.
    """
    found = [_C.started_at >= window.since, _C.started_at < window.until]
    if not window.include_evals:
        found.append(_C.eval_run_id.is_(None))
    if window.org is not None:
        found.append(_C.org_id == window.org)
    if window.model is not None and either:
        found.append(or_(*(model == window.model for model in (_MODEL, _CHOSEN))))
    elif window.model is not None:
        found.append((_CHOSEN if chosen else _MODEL) == window.model)
    return found


def _keys(by: Sequence[str], model: ColumnElement[Any] = _MODEL) -> list[ColumnElement[Any]]:
    return [(model if dimension == "model" else _C.org_id).label(dimension) for dimension in by]


def _values(row: Any, by: Sequence[str]) -> tuple[str | None, str | None]:
    mapping = row._mapping
    return (
        mapping["model"] if "model" in by else None,
        mapping["org"] if "org" in by else None,
    )


def _only(
    groups: Sequence[GroupValues], by: Sequence[str], model: ColumnElement[Any] = _MODEL
) -> list[ColumnElement[bool]]:
    """Narrow the scan to the values the groups name (a superset; exact groups are kept)."""
    found: list[ColumnElement[bool]] = []
    for dimension, column in (("model", model), ("org", _C.org_id)):
        if dimension not in by:
            continue
        values = {g.model if dimension == "model" else g.org for g in groups}
        named = [v for v in values if v is not None]
        either = [column.in_(named)] if named else []
        if None in values:
            either.append(column.is_(None))
        found.append(or_(*either))
    return found


def _decimal(value: Any) -> Decimal:
    """A :func:`_spend` column's exact value: PostgreSQL's sum, or SQLite's joined costs
    added up (:func:`~clearance.catalog.sqlite_aggregates.decimal_sum`); 0 for NULL."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    total = decimal_sum(str(value).split(","))
    return Decimal(0) if total is None else total


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# --- the SLO figures -------------------------------------------------------------------------


def window_totals(
    connection: Connection, window: CallWindow, by: Sequence[str], quantiles: Sequence[float]
) -> list[GroupTotals]:
    """Every group's figures over the window, in one query (groups in no particular order).

    On SQLite, grouped by model, each served model's calls are aggregated on their own,
    read in the order of ``ix_ai_calls_served_model_window`` (which holds every column the
    figures read): no sort of the window by group and no table row read (over a million
    calls 2.5 -> 1.5 s). The calls without a served model are grouped by the requested
    one; a group found in both parts is added up, and read again as one group when both
    parts have latencies (percentiles do not add). Otherwise, and on PostgreSQL, one
    grouped scan of the window: PostgreSQL did not read the index alone for these
    aggregates (a bitmap heap scan per model), and the parts took longer than the one
    scan (3.1 against 2.5 s, bench_slo's million calls, one process, under load).
    """
    native = _prepare(connection, quantiles)
    if "model" not in by or native:
        query = _totals_query(native, quantiles, by, where_window(window))
        return _totals(connection, [query], len(quantiles))
    found: dict[tuple[str | None, str | None], GroupTotals] = {}
    again: list[str | None] = []
    parts = [
        _totals_query(native, quantiles, by, where_window(window), served=model)
        for model in ([window.model] if window.model is not None else _served_models(connection))
    ]
    parts.append(_totals_query(native, quantiles, by, where_window(window), unserved=True))
    for totals in _totals(connection, parts, len(quantiles)):
        key = (totals.model, totals.org)
        seen = found.get(key)
        if seen is None:
            found[key] = totals
        elif seen.latency_n and totals.latency_n:
            again.append(totals.model)
        else:
            found[key] = _added(seen, totals)
    if again:
        model = _MODEL.label("model")
        exact = [
            _totals_query(native, quantiles, by, [*where_window(window), model == name])
            if name is not None
            else _totals_query(native, quantiles, by, [*where_window(window), model.is_(None)])
            for name in dict.fromkeys(again)
        ]
        found.update(
            {(row.model, row.org): row for row in _totals(connection, exact, len(quantiles))}
        )
    return list(found.values())


def _served_models(connection: Connection) -> list[str]:
    """Every ``served_model`` value, found by one index seek each (a loose index scan)."""
    found = text(
        "WITH RECURSIVE m(model) AS ("
        " SELECT min(served_model) FROM ai_calls"
        " UNION ALL"
        " SELECT (SELECT min(served_model) FROM ai_calls WHERE served_model > m.model)"
        " FROM m WHERE m.model IS NOT NULL"
        ") SELECT model FROM m WHERE model IS NOT NULL"
    )
    return [str(model) for (model,) in connection.execute(found)]


_PARTS = 200
"""Queries read in one ``UNION ALL`` at most (SQLite allows 500 by default)."""


def _part(
    by: Sequence[str],
    where: Sequence[ColumnElement[bool]],
    *,
    served: str | None = None,
    unserved: bool = False,
) -> tuple[list[ColumnElement[Any]], list[ColumnElement[bool]], list[ColumnElement[Any]]]:
    """``(keys, conditions, group by)`` of a grouped query over the calls ``where`` selects:
    with ``served``, only that served model's calls (one group per org, if grouped by it;
    read in order from ``ix_ai_calls_served_model_window``); with ``unserved``, only the
    calls without a served model, grouped by the requested one; else all, grouped."""
    keys = _keys(by)
    conditions = list(where)
    if unserved:
        keys = _keys(by, _C.requested_model)
        return keys, [*conditions, _C.served_model.is_(None)], keys
    if served is None:
        return keys, conditions, keys
    keys = [literal(served, _C.served_model.type).label("model")]
    group_by: list[ColumnElement[Any]] = []
    if "org" in by:
        keys.append(_C.org_id.label("org"))
        group_by = [_C.org_id]
    return keys, [*conditions, _C.served_model == served], group_by


def _union(connection: Connection, queries: Sequence[Any]) -> list[Any]:
    """The rows of ``queries`` (with the same columns), ``_PARTS`` queries a statement."""
    rows: list[Any] = []
    with _per_model_plan(connection):
        for start in range(0, len(queries), _PARTS):
            batch = queries[start : start + _PARTS]
            rows += connection.execute(batch[0] if len(batch) == 1 else union_all(*batch)).all()
    return rows


_PER_MODEL_SETTINGS = {"jit": "off", "enable_seqscan": "off"}
"""PostgreSQL settings while one statement reads a window model by model.

The planner costs each model's part alone: a model with a fifth of a window that is most
of the table looks cheaper to read by a sequential scan, and a dozen parts then read the
table a dozen times (3.5 s over a million calls instead of 0.7 s from the index).
Compiling the parts' expressions (JIT) took 0.15-1.9 s, more than running them."""


@contextmanager
def _per_model_plan(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, :data:`_PER_MODEL_SETTINGS` for the statements inside, then the
    caller's values back (``set_config(..., true)``: this transaction only)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    set_config = text("SELECT set_config(:name, :value, true)")
    before = {
        name: connection.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar()
        for name in _PER_MODEL_SETTINGS
    }
    for name, value in _PER_MODEL_SETTINGS.items():
        connection.execute(set_config, {"name": name, "value": value})
    try:
        yield
    finally:
        for name, value in before.items():
            connection.execute(set_config, {"name": name, "value": value})


def _totals_query(
    native: bool,
    quantiles: Sequence[float],
    by: Sequence[str],
    where: Sequence[ColumnElement[bool]],
    *,
    served: str | None = None,
    unserved: bool = False,
) -> Any:
    """The figures' query (over the calls of :func:`_part`)."""
    count = func.count()
    keys, conditions, group_by = _part(by, where, served=served, unserved=unserved)
    query = select(
        *keys,
        count.label("calls"),
        count.filter(_OK).label("ok"),
        count.filter(_C.status == "error").label("errors"),
        count.filter(_C.status == "refused").label("refused"),
        func.sum(_C.tool_calls).label("tool_calls"),
        func.sum(_C.tool_calls_valid).label("tool_calls_valid"),
        count.filter(and_(_OK, _C.escalated.is_(True))).label("escalated"),
        _spend(native).label("spend"),
        count.filter(_ESTIMATED).label("estimated"),
        _spend(native, _ESTIMATED).label("estimated_spend"),
        count.filter(_DEFAULT_PRICED).label("default_priced"),
        count.filter(and_(_OK, _C.cost.is_(None))).label("unpriced"),
        count.filter(and_(_OK, _C.latency_ms.is_not(None))).label("latency_n"),
        *_percentiles(native, quantiles),
    ).where(*conditions)
    return query.group_by(*group_by) if group_by else query


def _totals(connection: Connection, queries: Sequence[Any], quantiles: int) -> list[GroupTotals]:
    """The rows of ``queries`` (built by :func:`_totals_query` with ``quantiles``
    percentiles), read ``_PARTS`` queries a statement."""
    found = []
    for row in _union(connection, queries):
        if not row.calls:  # an ungrouped query over nothing still returns one row
            continue
        mapping = row._mapping
        count = quantiles
        found.append(
            GroupTotals(
                mapping.get("model"),
                mapping.get("org"),
                calls=row.calls,
                ok=row.ok,
                errors=row.errors,
                refused=row.refused,
                tool_calls=int(row.tool_calls or 0),
                tool_calls_valid=int(row.tool_calls_valid or 0),
                escalated=row.escalated,
                spend=_decimal(row.spend),
                estimated=row.estimated,
                estimated_spend=_decimal(row.estimated_spend),
                default_priced=row.default_priced,
                unpriced=row.unpriced,
                latency_n=row.latency_n,
                percentiles=read_percentiles(row.q, count)
                if "q" in mapping
                else tuple(_float(mapping[f"q{i}"]) for i in range(count)),
            )
        )
    return found


def _added(one: GroupTotals, other: GroupTotals) -> GroupTotals:
    """Two parts of one group added up (at most one of them with latencies)."""
    timed = one if one.latency_n else other
    return GroupTotals(
        one.model,
        one.org,
        calls=one.calls + other.calls,
        ok=one.ok + other.ok,
        errors=one.errors + other.errors,
        refused=one.refused + other.refused,
        tool_calls=one.tool_calls + other.tool_calls,
        tool_calls_valid=one.tool_calls_valid + other.tool_calls_valid,
        escalated=one.escalated + other.escalated,
        spend=decimal_sum((one.spend, other.spend)) or Decimal(0),
        estimated=one.estimated + other.estimated,
        estimated_spend=decimal_sum((one.estimated_spend, other.estimated_spend)) or Decimal(0),
        default_priced=one.default_priced + other.default_priced,
        unpriced=one.unpriced + other.unpriced,
        latency_n=one.latency_n + other.latency_n,
        percentiles=timed.percentiles,
    )


def routed_counts(
    connection: Connection, window: CallWindow, by: Sequence[str]
) -> list[RoutedCount]:
    """Per group of the model the policy chose: served calls routed to it, and of those the
    ones a fallback answered (groups with a served call only)."""
    keys = _keys(by, _CHOSEN)
    query = select(
        *keys,
        func.count().label("routed"),
        func.count().filter(_C.fallback_from.is_not(None)).label("fallbacks"),
    ).where(*where_window(window, chosen=True), _OK)
    if keys:
        query = query.group_by(*keys)
    return [
        RoutedCount(*_values(row, by), routed=int(row.routed), fallbacks=int(row.fallbacks))
        for row in connection.execute(query)
        if row.routed
    ]


def failure_counts(
    connection: Connection, window: CallWindow, by: Sequence[str]
) -> list[FailureCount]:
    """The window's failed and refused calls, counted per group, status and error kind."""
    keys = _keys(by)
    details = (_C.status, _C.error_kind)
    query = (
        select(*keys, *details, func.count().label("n"))
        .where(*where_window(window), _C.status != "ok", _EXCEPTIONAL)
        .group_by(*keys, *details)
    )
    return [
        FailureCount(*_values(row, by), status=row.status, error_kind=row.error_kind, n=row.n)
        for row in connection.execute(query)
    ]


def fallback_counts(
    connection: Connection, window: CallWindow, by: Sequence[str]
) -> list[FallbackCount]:
    """The window's fallback-served calls, counted per group of the model the policy chose,
    fallback reason and the model that answered."""
    keys = _keys(by, _CHOSEN)
    answered = (_C.fallback_reason, _C.served_model)
    query = (
        select(*keys, *answered, func.count().label("n"))
        .where(*where_window(window, chosen=True), _OK, _C.fallback_from.is_not(None), _EXCEPTIONAL)
        .group_by(*keys, *answered)
    )
    return [
        FallbackCount(
            *_values(row, by),
            fallback_reason=row.fallback_reason,
            served_model=row.served_model,
            n=row.n,
        )
        for row in connection.execute(query)
    ]


def exceptional_counts(
    connection: Connection, window: CallWindow, by: Sequence[str]
) -> list[ExceptionalCount]:
    """The window's failed or refused calls and its fallback-served calls, counted per
    every value the SLO figures split them by, in one scan that groups those rows only.

    From these :mod:`clearance.slo.aggregate` derives what :func:`failure_counts`,
    :func:`fallback_counts` and :func:`routed_counts` give (a served call the policy
    routed to a model is its served call without a fallback, or a fallback from it), so
    the ~all served calls are never grouped a second time. ``window.model`` matches the
    group model or the chosen one: the caller keeps the rows each figure counts. ``org``
    is read only when ``by`` groups by it (``None`` otherwise).
    """
    found = where_window(window, either=True)
    fell_back = _C.fallback_from.is_not(None)
    values = [
        _MODEL.label("model"),
        _CHOSEN.label("chosen"),
        _C.status,
        _C.error_kind,
        _C.fallback_reason,
        _C.served_model,
        fell_back.label("fell_back"),
    ]
    org = _C.org_id.label("org") if "org" in by else None
    query = (
        select(*values, org if org is not None else null().label("org"), func.count().label("n"))
        .where(*found, _EXCEPTIONAL)
        .group_by(*values, *([org] if org is not None else []))
    )
    return [
        ExceptionalCount(
            row.model,
            row.chosen,
            row.org,
            row.status,
            row.error_kind,
            row.fallback_reason,
            row.served_model,
            bool(row.fell_back),
            int(row.n),
        )
        for row in connection.execute(query)
    ]


def slower_counts(
    connection: Connection,
    window: CallWindow,
    by: Sequence[str],
    groups: Sequence[GroupValues],
    above_ms: float,
) -> list[GroupCount]:
    """How many served calls of each of ``groups`` took longer than ``above_ms`` (groups
    with none are left out).

    Grouped by model, each group's served model is counted on its own from
    ``ix_ai_calls_served_model_window`` alone, and the calls without a served model apart.
    """
    slow = [*where_window(window), _OK, _C.latency_ms > above_ms, *_only(groups, by)]
    parts = [_part(by, slow)]
    if "model" in by:
        named = sorted({group.model for group in groups if group.model is not None})
        parts = [_part(by, slow, served=model) for model in named]
        parts.append(_part(by, slow, unserved=True))
    queries = []
    for keys, conditions, group_by in parts:
        query = select(*keys, func.count().label("n")).where(*conditions)
        queries.append(query.group_by(*group_by) if group_by else query)
    found: Counter[tuple[str | None, str | None]] = Counter()
    for row in _union(connection, queries):
        found[_values(row, by)] += int(row.n)
    return [GroupCount(model, org, n=n) for (model, org), n in found.items() if n]


def _offence(
    offence: Offence, above: float | None
) -> tuple[ColumnElement[bool], list[ColumnElement[Any]]]:
    """(which calls show it, what ranks them: each descending, most telling first)."""
    latest: list[ColumnElement[Any]] = [_C.started_at, _C.id]
    if offence == "failed":
        return and_(_C.status == "error", _EXCEPTIONAL), latest
    if offence == "fell_back":
        return and_(_OK, _C.fallback_from.is_not(None), _EXCEPTIONAL), latest
    if offence == "escalated":
        return and_(_OK, _C.escalated.is_(True)), latest
    if offence == "invalid_tool_calls":
        return _C.tool_calls_valid < _C.tool_calls, latest
    if offence == "slow":
        slow = and_(_OK, _C.latency_ms.is_not(None))
        if above is not None:
            slow = and_(slow, _C.latency_ms > above)
        return slow, [_C.latency_ms, _C.id]
    # the costliest first (the float cast only picks examples; figures stay exact)
    priced = and_(_OK, _C.cost.is_not(None))
    if above is not None:
        priced = and_(priced, cast(_C.cost, Float) > above)
    return priced, [cast(_C.cost, Float), _C.id]


_SERVED_OFFENCES = ("slow", "costly")
"""Offences of served calls ranked over most of the window: by model, one bounded query
per model reads them (:func:`_ranked_per_model`) from ``ix_ai_calls_served_model_window``
alone, on both back ends. (Before that index held the columns, PostgreSQL's union of
bounded queries read a table row per call and cost it 4.4 s over 1M calls, and its one
window function over the whole window 1.45 s.)"""


def _ranked_per_model(
    window: CallWindow,
    groups: Sequence[GroupValues],
    condition: ColumnElement[bool],
    order: Sequence[ColumnElement[Any]],
    per_group: int,
) -> Any:
    """``(id, model, rank)`` of the ``per_group`` first calls of each model's, as the one
    ranking query gives them, read from ``ix_ai_calls_served_model_window`` alone.

    Ranking every served call of the window at once makes SQLite sort nearly all of them
    (2.2 s for the costliest over a million calls); a model's own ``ORDER BY ... LIMIT``
    keeps a few rows while it reads that model's calls. A group's model is the served
    model, else the requested one: its calls with no served model are read apart.
    """
    parts = []
    for group in groups:
        model = group.model
        unserved = _C.served_model.is_(None)
        ways: list[list[ColumnElement[bool]]] = [[unserved, _C.requested_model.is_(None)]]
        if model is not None:
            ways = [[_C.served_model == model], [unserved, _C.requested_model == model]]
        for found in ways:
            part = (
                select(
                    _C.id.label("id"),
                    _MODEL.label("model"),
                    *(value.label(f"o{n}") for n, value in enumerate(order)),
                )
                .where(*where_window(window), condition, *found)
                .order_by(*(value.desc() for value in order))
                .limit(per_group)
                .subquery()
            )
            parts.append(select(part))
    union = union_all(*parts).subquery()
    rank = func.row_number().over(
        partition_by=union.c.model,
        order_by=[union.c[f"o{n}"].desc() for n in range(len(order))],
    )
    return select(union.c.id, union.c.model, rank.label("rank")).subquery()


def offending_rows(
    connection: Connection,
    window: CallWindow,
    by: Sequence[str],
    groups: Sequence[GroupValues],
    offence: Offence,
    *,
    above: float | None = None,
    per_group: int = 5,
) -> list[OffendingRow]:
    """Up to ``per_group`` calls of each of ``groups`` that show ``offence``, in one query.

    Ordered by rank (the most telling of every group first); ``above``: the bound of
    ``slow`` (ms) and ``costly`` (USD), ignored by the others.
    """
    if not groups:
        return []
    model = _CHOSEN if offence == "fell_back" else _MODEL
    keys = _keys(by, model)
    condition, order = _offence(offence, above)
    partition = keys or None
    per_model = offence in _SERVED_OFFENCES and tuple(by) == ("model",)
    if per_model:
        ranking = _ranked_per_model(window, groups, condition, order, per_group)
    else:
        # Rank narrow rows (id, group, rank), then read the few kept in full: sorting a
        # million wide rows (JSON included) costs SQLite several times more.
        ranking = (
            select(
                _C.id,
                *keys,
                func.row_number()
                .over(partition_by=partition, order_by=[o.desc() for o in order])
                .label("rank"),
            )
            .where(*where_window(window, chosen=offence == "fell_back"), condition)
            .where(*_only(groups, by, model))
            .subquery()
        )
    kept = select(ranking).where(ranking.c.rank <= per_group).subquery()
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
    with _per_model_plan(connection) if per_model else nullcontext():
        found = connection.execute(query).all()
    return [
        OffendingRow(
            *_values(row, by),
            rank=row.rank,
            call_id=row.call_id,
            started_at=row.started_at,
            error_kind=row.error_kind,
            fallback_reason=row.fallback_reason,
            served_model=row.served_model,
            latency_ms=row.latency_ms,
            cost=row.cost,
            pricing_source=row.pricing_source,
            tool_calls=row.tool_calls,
            tool_calls_valid=row.tool_calls_valid,
            extra=row.extra,
        )
        for row in found
    ]


def snapshot_counts(
    connection: Connection, window: CallWindow, models: Sequence[str]
) -> list[SnapshotCount]:
    """The window's served calls of ``models``, counted per model and reported snapshot,
    with the first and last call of each: one ``GROUP BY`` over the window, read from
    ``ix_ai_calls_served_model_window`` alone. Ordered by model, then snapshot."""
    if not models:
        return []
    query = (
        select(
            _C.served_model,
            _C.model_snapshot,
            func.count().label("calls"),
            func.min(_C.started_at).label("first_at"),
            func.max(_C.started_at).label("last_at"),
        )
        .where(*where_window(window), _OK, _C.served_model.in_(sorted(set(models))))
        .group_by(_C.served_model, _C.model_snapshot)
    )
    found = [
        SnapshotCount(
            str(row.served_model), row.model_snapshot, int(row.calls), row.first_at, row.last_at
        )
        for row in connection.execute(query)
    ]
    return sorted(
        found, key=lambda c: (c.served_model, c.model_snapshot is None, c.model_snapshot or "")
    )


# --- an eval run's calls ---------------------------------------------------------------------


def run_call_pricing(
    connection: Connection,
    run_id: str,
    *,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    models: Sequence[str],
) -> RunCallPricing:
    """The calls an eval run made, served by one of ``models``, by how they were priced.

    The run's calls are those tagged with its id; for a run logged before ``ai_calls``
    knew its run (no call carries its id), the untagged calls of ``[started_at,
    ended_at]`` (untagged calls are live traffic otherwise).
    """
    c = t.ai_calls.c
    own = c.eval_run_id == run_id
    if connection.execute(select(c.id).where(own).limit(1)).first() is None:
        own = and_(c.eval_run_id.is_(None), c.started_at >= started_at, c.started_at <= ended_at)
    served = c.served_model.in_(list(models))
    no_price = c.price_id.is_(None)
    query = (
        select(c.served_model, c.pricing_source, no_price, func.count())
        .where(own)
        .where(served)
        .group_by(c.served_model, c.pricing_source, no_price)
    )
    counts = tuple(
        PricingCount(str(model_id), source, bool(without), int(count))
        for model_id, source, without, count in connection.execute(query)
    )
    estimated = (
        select(c.served_model, c.cost)
        .where(own)
        .where(served)
        .where(c.pricing_source == "estimated", c.cost.is_not(None))
    )
    costs = tuple(
        EstimatedCost(str(model_id), cost) for model_id, cost in connection.execute(estimated)
    )
    return RunCallPricing(counts, costs)
