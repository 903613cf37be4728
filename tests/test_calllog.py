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
    assert not list((tmp_path / "spill").glob("ai_calls-*"))  # nothing spilled
    assert not list((tmp_path / "spill" / "journal").iterdir())  # the journal is deleted


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


def dead_letters(folder: Path) -> list[dict[str, object]]:
    """The dead-letter lines in a spill folder, parsed."""
    return [
        json.loads(line)
        for path in sorted(folder.glob("dead-letters-*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def stored_ids(catalog: Catalog) -> set[str]:
    with catalog.connect() as connection:
        return set(connection.execute(select(t.ai_calls.c.call_id)).scalars())


def test_one_bad_row_in_a_batch_of_20_is_set_aside_and_19_are_written(
    catalog: Catalog, tmp_path: Path
) -> None:
    # issue 15: on PostgreSQL all 20 were spilled, and their replay failed every time;
    # SQLite stored the 5,000-character id. Now both set that one row aside.
    spill = tmp_path / "spill"
    log = CallLog(catalog, spill_dir=spill, batch_size=20, flush_interval_s=60)
    good = [record(org_id=f"org-{n}") for n in range(19)]
    bad = record(org_id="x" * 5000)
    for item in [*good[:7], bad, *good[7:]]:
        log.record(item)
    log.close()
    assert stored_ids(catalog) == {item.call_id for item in good}
    assert log.spilled == 0
    assert not list(spill.glob("ai_calls-*.jsonl"))
    (letter,) = dead_letters(spill)
    assert letter["call_id"] == bad.call_id
    assert letter["source"] == "writer"
    assert letter["error"] == "ai_calls.org_id is 5000 characters long; the column holds 128"
    assert letter["row"]["org_id"] == "x" * 5000  # type: ignore[index]


def test_a_batch_the_database_refuses_is_bisected_to_the_refused_rows(
    catalog: Catalog, tmp_path: Path
) -> None:
    # a value the column type refuses at insert time (not caught before): ExactDecimal
    # takes Decimal only. Three bad rows among 40, in one batch.
    spill = tmp_path / "spill"
    log = CallLog(catalog, spill_dir=spill, batch_size=40, flush_interval_s=60)
    items = [record() for _ in range(40)]
    for n in (0, 17, 39):
        items[n] = record(cost=1.5)
    for item in items:
        log.record(item)
    log.close()
    refused = {items[n].call_id for n in (0, 17, 39)}
    assert stored_ids(catalog) == {item.call_id for item in items} - refused
    letters = dead_letters(spill)
    assert {letter["call_id"] for letter in letters} == refused
    assert all("ExactDecimal takes Decimal" in str(letter["error"]) for letter in letters)
    assert log.spilled == 0


def test_replay_of_a_spill_file_with_one_bad_row_loads_the_other_19(
    catalog: Catalog, tmp_path: Path
) -> None:
    # a spill file as an older clearance wrote it on PostgreSQL: 19 good rows, 1 too long
    from clearance.calllog import _row, _Validators
    from clearance.catalog.callstore import row_to_json

    spill = tmp_path / "spill"
    spill.mkdir()
    items = [record(org_id=f"org-{n}") for n in range(19)]
    bad = record(org_id="x" * 5000)
    rows = [_row(item, _Validators()) for item in [*items[:3], bad, *items[3:]]]
    (spill / "ai_calls-4242.jsonl").write_text("".join(row_to_json(r) + "\n" for r in rows))
    report = replay_spill(catalog, spill)
    assert (report.rows, report.inserted, report.dead_letters) == (20, 19, 1)
    assert stored_ids(catalog) == {item.call_id for item in items}
    assert not (spill / "ai_calls-4242.jsonl").exists()
    (letter,) = dead_letters(spill)
    assert (letter["call_id"], letter["source"]) == (bad.call_id, "spill")
    again = replay_spill(catalog, spill)
    assert (again.rows, again.inserted) == (0, 0)


def test_a_nul_in_a_providers_message_does_not_lose_the_row(
    catalog: Catalog, tmp_path: Path
) -> None:
    # PostgreSQL's JSONB refuses \u0000: the row is stored with the text cleaned
    spill = tmp_path / "spill"
    log = CallLog(catalog, spill_dir=spill, batch_size=10, flush_interval_s=60)
    nul = record(status="error", extra={"refusal": "bad\x00byte"})
    others = [record() for _ in range(4)]
    for item in [nul, *others]:
        log.record(item)
    log.close()
    assert stored_ids(catalog) == {item.call_id for item in [nul, *others]}
    assert dead_letters(spill) == []
    with catalog.connect() as connection:
        extra = connection.execute(
            select(t.ai_calls.c.extra).where(t.ai_calls.c.call_id == nul.call_id)
        ).scalar_one()
    if catalog.dialect == "postgresql":
        assert extra == {"refusal": "bad\ufffdbyte", "scrubbed": True}
    else:
        assert extra == {"refusal": "bad\x00byte"}


def test_a_providers_overlong_finish_reason_is_cut_not_refused(
    catalog: Catalog, tmp_path: Path
) -> None:
    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=10, flush_interval_s=60)
    long = record(finish_reason_raw="stop" * 1000)
    log.record(long)
    log.close()
    with catalog.connect() as connection:
        row = connection.execute(
            select(t.ai_calls).where(t.ai_calls.c.call_id == long.call_id)
        ).one()
    assert row.finish_reason_raw == ("stop" * 1000)[:64]
    assert row.extra == {"truncated": {"finish_reason_raw": 4000}}


def test_a_dead_letter_keeps_key_like_text_out(catalog: Catalog, tmp_path: Path) -> None:
    # rows hold no API keys; a key pasted into a caller's text is redacted all the same
    spill = tmp_path / "spill"
    key = "sk-proj-abcdefghij0123456789ABCDEFGH"
    log = CallLog(catalog, spill_dir=spill, batch_size=10, flush_interval_s=60)
    log.record(record(org_id="y" * 200, extra={"note": f"Bearer {key}"}))
    log.close()
    text = "".join(p.read_text() for p in spill.glob("dead-letters-*.jsonl"))
    assert "y" * 200 in text
    assert key not in text
    assert "<redacted>" in text


def test_steady_light_traffic_never_waits_longer_than_the_flush_interval(
    catalog: Catalog, tmp_path: Path
) -> None:
    # a record every 0.05 s with a 0.2 s interval: the queue never stays empty for an
    # interval, and a batch of 1,000 never fills; the first rows must be written anyway
    import time

    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=1000, flush_interval_s=0.2)
    first = record()
    log.record(first)
    deadline = time.monotonic() + 5
    while first.call_id not in stored_ids(catalog):
        assert time.monotonic() < deadline, "the first record waited more than 5 s"
        time.sleep(0.05)
        log.record(record())
    log.close()
