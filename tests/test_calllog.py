"""The call log: batched off-path writes, tool-call validity, and no row lost in an outage."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from clearance.calllog import CallLog, CallRecord, new_call_id, replay_spill, validate_tool_calls
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.providers.types import ToolCall
from tests.support.postgres import create_database, drop_database, to_conninfo

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
    "additionalProperties": False,
}

TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}]


def record(**fields: object) -> CallRecord:
    base: dict[str, object] = {
        "call_id": new_call_id(),
        "started_at": dt.datetime.now(dt.UTC),
        "status": "ok",
        "served_model": "ref:ref/steady",
        "cost": Decimal("0.0000125"),
        "prompt_tokens": 10,
    }
    base.update(fields)
    return CallRecord(**base)  # type: ignore[arg-type]


def call(name: str, arguments: dict[str, object] | None, raw: object = None) -> ToolCall:
    return ToolCall(0, "c1", name, arguments, raw if raw is not None else json.dumps(arguments))


def count(catalog: Catalog) -> int:
    with catalog.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.ai_calls)).scalar() or 0)


def test_tool_call_validity_against_the_schema_sent() -> None:
    verdicts = validate_tool_calls(
        [
            call("weather", {"city": "Oslo", "days": 3}),
            call("weather", {"city": "Oslo", "days": "3"}),
            call("weather", None, raw='{"city": "Os'),
            call("invented", {"x": 1}),
        ],
        {"weather": SCHEMA},
    )
    assert [v["valid"] for v in verdicts] == [True, False, False, False]
    assert verdicts[1]["error"] == "schema_violation"
    assert verdicts[1]["pointer"] == "/days"
    assert verdicts[2]["error"] == "invalid_json"
    assert verdicts[3]["error"] == "unknown_tool"


def test_records_are_written_in_batches_with_exact_cost(catalog: Catalog, tmp_path: Path) -> None:
    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=7, flush_interval_s=0.05)
    records = [
        record(tool_calls=[call("weather", {"city": "Oslo"})], tools=TOOLS) for _ in range(20)
    ]
    for item in records:
        log.record(item)
    log.flush()
    assert count(catalog) == 20
    with catalog.connect() as connection:
        row = connection.execute(
            select(t.ai_calls).where(t.ai_calls.c.call_id == records[0].call_id)
        ).one()
    assert row.cost == Decimal("0.0000125")
    assert (row.tool_calls, row.tool_calls_valid) == (1, 1)
    assert row.extra["tool_calls"][0]["valid"] is True
    log.close()
    assert log.written == 20
    assert not (tmp_path / "spill").exists()


def test_close_flushes_what_is_queued(catalog: Catalog, tmp_path: Path) -> None:
    log = CallLog(catalog, spill_dir=tmp_path, batch_size=1000, flush_interval_s=60)
    for _ in range(5):
        log.record(record())
    log.close()
    assert count(catalog) == 5
    with pytest.raises(RuntimeError, match="closed"):
        log.record(record())


@pytest.fixture
def outage_postgres(postgres_template: tuple[str, str]) -> Iterator[tuple[str, str]]:
    admin, template = postgres_template
    name = "outage_" + new_call_id().replace("-", "")[:12]
    url = create_database(admin, name, template=template)
    yield admin, url
    with psycopg.connect(to_conninfo(admin), autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    drop_database(admin, name)


def _set_outage(admin: str, url: str, down: bool) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(to_conninfo(admin), autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not down).lower()}')
        if down:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


@pytest.mark.postgres
def test_a_postgres_outage_during_calls_loses_no_row(
    outage_postgres: tuple[str, str], tmp_path: Path
) -> None:
    admin, url = outage_postgres
    catalog = open_catalog(url)
    spill = tmp_path / "spill"
    log = CallLog(catalog, spill_dir=spill, batch_size=10, flush_interval_s=0.05)
    before = [record() for _ in range(25)]
    for item in before:
        log.record(item)
    log.flush()
    _set_outage(admin, url, down=True)
    during = [record(status="error", error_kind="timeout") for _ in range(40)]
    for item in during:
        log.record(item)
    log.flush()
    assert log.spilled == 40
    assert log.last_error is not None
    _set_outage(admin, url, down=False)
    after = [record() for _ in range(5)]
    for item in after:
        log.record(item)
    log.close()
    report = replay_spill(catalog, spill)
    assert (report.files, report.rows, report.inserted) == (1, 40, 40)
    with catalog.connect() as connection:
        ids = set(connection.execute(select(t.ai_calls.c.call_id)).scalars())
    assert ids == {r.call_id for r in before + during + after}
    again = replay_spill(catalog, spill)
    assert again.rows == 0
    catalog.dispose()


def test_a_lost_sqlite_file_spills_and_replays_idempotently(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    catalog = open_catalog(f"sqlite:///{path}")
    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=5, flush_interval_s=0.05)
    path.rename(tmp_path / "moved.db")  # the database is gone: an empty file takes its place
    catalog.dispose()
    lost = [record() for _ in range(12)]
    for item in lost:
        log.record(item)
    log.close()
    assert log.spilled == 12
    catalog.dispose()
    path.unlink()
    (tmp_path / "moved.db").rename(path)
    restored = open_catalog(f"sqlite:///{path}")
    spill_file = next((tmp_path / "spill").glob("*.jsonl"))
    spill_file.write_text(spill_file.read_text() + '{"call_id": "half-writt')  # cut mid-line
    report = replay_spill(restored, tmp_path / "spill", keep=True)
    assert (report.inserted, report.bad_lines) == (12, 1)
    assert count(restored) == 12
    assert next((tmp_path / "spill").glob("*.bad")).read_text().startswith('{"call_id": "half')
    assert replay_spill(restored, tmp_path / "spill").inserted == 0
    restored.dispose()


def escalation(catalog: Catalog, call_id: str) -> tuple[bool, object]:
    with catalog.connect() as connection:
        row = connection.execute(
            select(t.ai_calls.c.escalated, t.ai_calls.c.extra).where(
                t.ai_calls.c.call_id == call_id
            )
        ).one()
    extra = row.extra or {}
    return row.escalated, extra.get("escalation", {}).get("reason")


def test_a_flag_waits_for_the_row_it_names(catalog: Catalog, tmp_path: Path) -> None:
    # a long interval and a large batch: the row is still queued when the flag is asked for
    log = CallLog(catalog, spill_dir=tmp_path, batch_size=1000, flush_interval_s=60)
    queued, other = record(), record()
    log.record(queued)
    log.record(other)
    outcome = log.flag_escalated(queued.call_id, reason="asked for a person")
    assert outcome.result(timeout=30) == "flagged"
    assert log.flag_escalated("no-such-call").result(timeout=30) == "unknown"
    assert escalation(catalog, queued.call_id) == (True, "asked for a person")
    assert escalation(catalog, other.call_id) == (False, None)
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        log.flag_escalated(queued.call_id)


def test_a_flag_for_a_spilled_row_is_spilled_and_applied_on_replay(tmp_path: Path) -> None:
    path, moved, spill = tmp_path / "catalog.db", tmp_path / "moved.db", tmp_path / "spill"
    catalog = open_catalog(f"sqlite:///{path}")
    log = CallLog(catalog, spill_dir=spill, batch_size=5, flush_interval_s=0.05)
    catalog.dispose()  # closing the last connection checkpoints the WAL into the file
    path.rename(moved)  # the database is gone: an empty file takes its place
    lost = [record() for _ in range(3)]
    for item in lost:
        log.record(item)
    assert log.flag_escalated(lost[0].call_id, reason="down").result(timeout=30) == "spilled"
    # the database is back, but lost[1]'s row is in the spill file, not in the table
    catalog.dispose()
    path.unlink()
    moved.rename(path)
    assert log.flag_escalated(lost[1].call_id, reason="back").result(timeout=30) == "spilled"
    assert log.flag_escalated("no-such-call").result(timeout=30) == "unknown"
    log.close()
    assert log.spilled == 3  # rows; the two flags are spill lines, not rows
    report = replay_spill(catalog, spill)
    assert (report.rows, report.inserted, report.escalations, report.bad_lines) == (3, 3, 2, 0)
    assert [escalation(catalog, item.call_id) for item in lost] == [
        (True, "down"),
        (True, "back"),
        (False, None),
    ]
    catalog.dispose()
