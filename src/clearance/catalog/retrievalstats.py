"""Aggregates of ``retrievals`` computed in the database, and the retrievals behind them.

Over a time window (``since <= created_at < until``, optionally one org), per group of
retrievals (their org, their retriever configuration, both, or none), for the retrieval
SLOs (:mod:`clearance.slo.retrieval` defines each figure; this module only computes it):

* :func:`retrieval_totals`: one scan of the window: counts of failed, empty and
  truncated retrievals, and the latency percentiles of those that did not fail;
* :func:`offending_retrievals`: the few retrievals of each group that show a kind of
  offence (:data:`RetrievalOffence`), most telling first, with how many show it.

The window is read through ``ix_retrievals_created_at`` (or ``ix_retrievals_org_id_created_at``
for one org), both made by migration 0008. A retrieval's query text is never stored, so
none can be read here: an offending retrieval is named by its call id.

On PostgreSQL the percentiles are ``percentile_cont(q) WITHIN GROUP``; SQLite has none,
so the aggregates of :mod:`clearance.catalog.sqlite_aggregates` are registered on the
connection before the query, with PostgreSQL's arithmetic: both back ends agree to the
last bit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from clearance.catalog import tables as t
from clearance.catalog.sqlite_aggregates import percentile_function, register

__all__ = [
    "RetrievalGroupValues",
    "RetrievalOffence",
    "RetrievalOffendingRow",
    "RetrievalTotals",
    "RetrievalWindow",
    "offending_retrievals",
    "retrieval_totals",
]

_R = t.retrievals.c
_FAILED: ColumnElement[bool] = _R.error.is_not(None)
_ANSWERED: ColumnElement[bool] = _R.error.is_(None)
_EMPTY: ColumnElement[bool] = and_(_ANSWERED, _R.chunks == 0, _R.cut_chunks == 0)
_TRUNCATED: ColumnElement[bool] = and_(_ANSWERED, _R.truncated.is_(True))


class RetrievalWindow(Protocol):
    """Which retrievals count: ``since <= created_at < until``, optionally one org."""

    @property
    def since(self) -> dt.datetime: ...
    @property
    def until(self) -> dt.datetime: ...
    @property
    def org(self) -> str | None: ...


class RetrievalGroupValues(Protocol):
    """A group the caller asks about (``None``: not grouped by that dimension)."""

    @property
    def org(self) -> str | None: ...
    @property
    def retriever(self) -> str | None: ...


RetrievalOffence = Literal["empty", "failed", "truncated", "slow"]
"""Which retrievals :func:`offending_retrievals` reads, most telling first:

* ``empty``: did not fail and found nothing, latest first;
* ``failed``: ``error`` set, latest first;
* ``truncated``: did not fail and the budget cut their context, most tokens cut first;
* ``slow``: did not fail (slower than the bound, if given), slowest first.
"""


@dataclass(frozen=True, slots=True)
class RetrievalTotals:
    """One group's figures over a window (a group with at least one retrieval)."""

    org: str | None
    retriever: str | None
    retrievals: int
    failed: int
    """``error`` is set: the call went without context."""
    empty: int
    """Did not fail, and found nothing (no chunk injected, none cut)."""
    truncated: int
    """Did not fail, and the token budget cut their context."""
    percentiles: tuple[float | None, ...]
    """``percentile_cont`` of the latency of those that did not fail, one per quantile."""


@dataclass(frozen=True, slots=True)
class RetrievalOffendingRow:
    """One retrieval read by :func:`offending_retrievals` (``rank``: 1 for the most telling)."""

    org: str | None
    retriever: str | None
    rank: int
    matching: int
    """How many retrievals of the group show the offence (all of them, not only those read)."""
    call_id: str | None
    """The call it served (``None``: logged without one)."""
    created_at: dt.datetime
    latency_ms: float
    k: int
    chunks: int
    cut_chunks: int
    tokens: int
    tokens_cut: int
    error: str | None


def _keys(by: Sequence[str]) -> list[ColumnElement[Any]]:
    return [(_R.org_id if d == "org" else _R.retriever).label(d) for d in by]


def _values(row: Any, by: Sequence[str]) -> tuple[str | None, str | None]:
    mapping = row._mapping
    return (
        mapping["org"] if "org" in by else None,
        mapping["retriever"] if "retriever" in by else None,
    )


def _where(window: RetrievalWindow) -> list[ColumnElement[bool]]:
    found = [_R.created_at >= window.since, _R.created_at < window.until]
    if window.org is not None:
        found.append(_R.org_id == window.org)
    return found


def _percentile(native: bool, fraction: float) -> ColumnElement[Any]:
    if native:
        return func.percentile_cont(fraction).within_group(_R.latency_ms).filter(_ANSWERED)
    aggregate: Any = getattr(func, percentile_function(fraction))
    found: ColumnElement[Any] = aggregate(_R.latency_ms).filter(_ANSWERED)
    return found


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.count().filter(condition)


def retrieval_totals(
    connection: Connection,
    window: RetrievalWindow,
    by: Sequence[str],
    quantiles: Sequence[float],
) -> list[RetrievalTotals]:
    """Every group's figures over the window, in one query (groups in no particular order)."""
    native = connection.dialect.name != "sqlite"
    if not native:  # the percentiles SQLite lacks, with PostgreSQL's arithmetic
        register(connection.connection.driver_connection, tuple(quantiles))
    keys = _keys(by)
    query = select(
        *keys,
        func.count().label("retrievals"),
        _count(_FAILED).label("failed"),
        _count(_EMPTY).label("empty"),
        _count(_TRUNCATED).label("truncated"),
        *(_percentile(native, q).label(f"q{i}") for i, q in enumerate(quantiles)),
    ).where(*_where(window))
    if keys:
        query = query.group_by(*keys)
    found = []
    for row in connection.execute(query):
        if not row.retrievals:  # an ungrouped scan of an empty window
            continue
        org, retriever = _values(row, by)
        mapping = row._mapping
        found.append(
            RetrievalTotals(
                org=org,
                retriever=retriever,
                retrievals=row.retrievals,
                failed=row.failed,
                empty=row.empty,
                truncated=row.truncated,
                percentiles=tuple(
                    None if mapping[f"q{i}"] is None else float(mapping[f"q{i}"])
                    for i in range(len(quantiles))
                ),
            )
        )
    return found


def _offence(
    offence: RetrievalOffence, above: float | None
) -> tuple[ColumnElement[bool], list[ColumnElement[Any]]]:
    """The condition of an offence, and its order (most telling first)."""
    latest: list[ColumnElement[Any]] = [_R.created_at.desc(), _R.id.desc()]
    if offence == "empty":
        return _EMPTY, latest
    if offence == "failed":
        return _FAILED, latest
    if offence == "truncated":
        return _TRUNCATED, [_R.tokens_cut.desc(), *latest]
    condition = _ANSWERED if above is None else and_(_ANSWERED, _R.latency_ms > above)
    return condition, [_R.latency_ms.desc(), *latest]


def offending_retrievals(
    connection: Connection,
    window: RetrievalWindow,
    by: Sequence[str],
    groups: Sequence[RetrievalGroupValues],
    offence: RetrievalOffence,
    *,
    above: float | None = None,
    per_group: int = 5,
) -> list[RetrievalOffendingRow]:
    """Up to ``per_group`` retrievals of each of ``groups`` showing ``offence``, in one query
    (``above``: for ``slow``, only those slower than it, in milliseconds)."""
    if not groups:
        return []
    condition, order = _offence(offence, above)
    keys = _keys(by)
    narrow: list[ColumnElement[bool]] = []
    for dimension, column in (("org", _R.org_id), ("retriever", _R.retriever)):
        if dimension in by:
            values = {g.org if dimension == "org" else g.retriever for g in groups}
            named = [v for v in values if v is not None]
            either = [column.in_(named)] if named else []
            if None in values:
                either.append(column.is_(None))
            narrow.append(or_(*either))
    rank = func.row_number().over(partition_by=keys or None, order_by=order).label("rank")
    matching = func.count().over(partition_by=keys or None).label("matching")
    columns = (
        "call_id",
        "created_at",
        "latency_ms",
        "k",
        "chunks",
        "cut_chunks",
        "tokens",
        "tokens_cut",
        "error",
    )
    ranked = (
        select(*keys, rank, matching, *(_R[name] for name in columns))
        .where(*_where(window), condition, *narrow)
        .subquery()
    )
    query = (
        select(ranked)
        .where(ranked.c.rank <= per_group)
        .order_by(*(ranked.c[d] for d in by), ranked.c.rank)
    )
    wanted = {(g.org, g.retriever) for g in groups}
    found = []
    for row in connection.execute(query):
        org, retriever = _values(row, by)
        if (org, retriever) not in wanted:  # the narrowing is a superset of the groups
            continue
        mapping = row._mapping
        found.append(
            RetrievalOffendingRow(
                org=org,
                retriever=retriever,
                rank=row.rank,
                matching=row.matching,
                **{name: mapping[name] for name in columns},
            )
        )
    return found
