"""``ai_calls`` rows: their columns, inserting them once each, flagging one for hand-off,
and their text form in spill files.

A row's ``call_id`` is unique, so loading the same rows twice (a spill file replayed
again, a journal replayed after its rows were written) inserts nothing twice:
:func:`insert_new_calls` skips the ids already stored and, for a race with another
process loading the same rows, inserts with ``ON CONFLICT (call_id) DO NOTHING`` on
both SQLite and PostgreSQL. A call's knowledge retrieval, carried in its row's
``extra["retrieval"]``, becomes its ``retrievals`` row in the same transaction
(:mod:`clearance.catalog.retrievalstore`). :func:`mark_escalated` sets a stored call's ``escalated``
flag and its ``extra["escalation"]`` in one transaction. What a row holds, and when a
call is flagged, are :mod:`clearance.calllog`'s; the aggregates over the rows are
:mod:`clearance.catalog.callstats`'.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, String, func, insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.retrievalstore import insert_retrievals, retrieval_row, split_retrieval

__all__ = [
    "CALL_COLUMNS",
    "TEXT_LIMITS",
    "count_by_status",
    "insert_new_calls",
    "mark_escalated",
    "row_from_json",
    "row_to_json",
]

TEXT_LIMITS: Mapping[str, int] = {
    column.name: column.type.length
    for column in t.ai_calls.columns
    if type(column.type) is String and column.type.length is not None
}
"""Most characters each bounded text column of ``ai_calls`` holds (what the router checks
identifiers against and fits free text to, before the database would refuse a row)."""

CALL_COLUMNS: tuple[str, ...] = tuple(column.name for column in t.ai_calls.columns)
"""The names of ``ai_calls``' columns, in table order (``id`` first)."""


def _insert(dialect: str) -> Insert:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(t.ai_calls).on_conflict_do_nothing(index_elements=["call_id"])
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(t.ai_calls).on_conflict_do_nothing(index_elements=["call_id"])
    return insert(t.ai_calls)


def insert_new_calls(catalog: Catalog, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose ``call_id`` is not stored yet; returns how many were new.

    Raises:
        CatalogUnavailable: the database cannot be written.
        CatalogError: it refused a value of one of the rows (nothing was inserted).
    """
    if not rows:
        return 0
    split = [split_retrieval(row) for row in rows]
    rows = [row for row, _ in split]
    with catalog.begin() as connection:
        ids = [row["call_id"] for row in rows]
        existing: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            existing.update(
                connection.execute(
                    select(t.ai_calls.c.call_id).where(t.ai_calls.c.call_id.in_(chunk))
                ).scalars()
            )
        fresh = [row for row in rows if row["call_id"] not in existing]
        if fresh:
            connection.execute(_insert(catalog.dialect), fresh)
        insert_retrievals(
            connection,
            [
                retrieval_row(row["call_id"], retrieval)
                for row, retrieval in split
                if retrieval is not None and row["call_id"] not in existing
            ],
        )
    return len(fresh)


def mark_escalated(catalog: Catalog, call_id: str, escalation: Mapping[str, Any]) -> bool:
    """Set the call's ``escalated`` flag and its ``extra["escalation"]`` (replacing an earlier
    one, keeping the rest of ``extra``), in one transaction; False when no row has this id.

    Raises:
        CatalogUnavailable: the database cannot be written.
    """
    c = t.ai_calls.c
    with catalog.begin() as connection:
        row = connection.execute(select(c.id, c.extra).where(c.call_id == call_id)).first()
        if row is None:
            return False
        extra = dict(row.extra or {})
        extra["escalation"] = dict(escalation)
        connection.execute(
            update(t.ai_calls).where(c.id == row.id).values(escalated=True, extra=extra)
        )
    return True


def row_to_json(row: Mapping[str, Any]) -> str:
    """A row as one JSON line (decimals and times tagged, so they load back exactly)."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return {"$decimal": str(value)}
        if isinstance(value, dt.datetime):
            return {"$datetime": value.isoformat()}
        raise TypeError(f"cannot spill {type(value).__name__}")

    return json.dumps(row, default=default, separators=(",", ":"))


def row_from_json(line: str) -> dict[str, Any]:
    """The row :func:`row_to_json` wrote.

    Raises:
        ValueError: the line is not a JSON object (a file cut off mid-write).
    """

    def hook(value: dict[str, Any]) -> Any:
        if value.keys() == {"$decimal"}:
            return Decimal(value["$decimal"])
        if value.keys() == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        return value

    row = json.loads(line, object_hook=hook)
    if not isinstance(row, dict):
        raise ValueError(f"not a JSON object: {line[:80]!r}")
    return row


def count_by_status(catalog: Catalog) -> list[tuple[bool, str, int]]:
    """``(live, status, calls)`` for every status, live calls (no eval run) and eval calls
    apart: eval calls first, then by status."""
    c = t.ai_calls.c
    live = c.eval_run_id.is_(None).label("live")
    with catalog.connect() as connection:
        rows = connection.execute(select(live, c.status, func.count()).group_by(live, c.status))
        found = [(bool(r[0]), str(r[1]), int(r[2])) for r in rows]
    return sorted(found)
