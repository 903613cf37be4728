"""The call store's own SQL: columns, flagging a stored call, on both back ends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from clearance.catalog import tables as t
from clearance.catalog.callstore import (
    CALL_COLUMNS,
    TEXT_LIMITS,
    count_by_status,
    insert_new_calls,
    mark_escalated,
)
from clearance.catalog.database import Catalog

AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def row(call_id: str, **values: object) -> dict[str, object]:
    # one insert's rows share their keys, as the call log's rows do
    return {"call_id": call_id, "started_at": AT, "status": "ok", "extra": None, **values}


def stored(catalog: Catalog, call_id: str) -> tuple[bool, object]:
    c = t.ai_calls.c
    with catalog.connect() as connection:
        found = connection.execute(select(c.escalated, c.extra).where(c.call_id == call_id)).one()
    return bool(found.escalated), found.extra


def test_call_columns_are_the_tables_in_order() -> None:
    assert tuple(column.name for column in t.ai_calls.columns) == CALL_COLUMNS
    assert CALL_COLUMNS[0] == "id"
    assert {"call_id", "started_at", "status", "cost", "extra"} <= set(CALL_COLUMNS)


def test_mark_escalated_sets_the_flag_and_keeps_the_rest_of_extra(catalog: Catalog) -> None:
    insert_new_calls(catalog, [row("a", extra={"attempts": [1]}), row("b")])
    assert mark_escalated(catalog, "a", {"reason": "first", "at": "t1"})
    assert mark_escalated(catalog, "a", {"reason": "second", "at": "t2"})
    assert stored(catalog, "a") == (
        True,
        {"attempts": [1], "escalation": {"reason": "second", "at": "t2"}},
    )
    assert stored(catalog, "b") == (False, None)


def test_mark_escalated_of_an_unknown_call_changes_nothing(catalog: Catalog) -> None:
    insert_new_calls(catalog, [row("a")])
    assert mark_escalated(catalog, "nope", {"reason": None, "at": "t"}) is False
    assert stored(catalog, "a") == (False, None)


def test_text_limits_are_the_bounded_text_columns() -> None:
    assert TEXT_LIMITS["org_id"] == t.ai_calls.c.org_id.type.length  # type: ignore[attr-defined]
    assert {"org_id", "session_id", "requested_model", "tier", "status"} <= set(TEXT_LIMITS)
    assert "extra" not in TEXT_LIMITS  # JSON, not bounded text


def test_count_by_status_keeps_live_and_eval_calls_apart(catalog: Catalog) -> None:
    assert count_by_status(catalog) == []
    insert_new_calls(
        catalog,
        [
            row("a", eval_run_id=None),
            row("b", eval_run_id=None),
            row("c", eval_run_id=None, status="error"),
            row("d", eval_run_id="run-1"),
            row("e", eval_run_id="run-1", status="refused"),
        ],
    )
    assert count_by_status(catalog) == [
        (False, "ok", 1),
        (False, "refused", 1),
        (True, "error", 1),
        (True, "ok", 2),
    ]
