"""The model snapshot on the call log's every path: written, spilled and replayed, journaled
and replayed from a dead process, set aside in a dead letter and loaded back by hand."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from clearance.calllog import CallLog, CallRecord, journal_line, new_call_id, replay_spill
from clearance.catalog import tables as t
from clearance.catalog.callstore import row_from_json, row_to_json
from clearance.catalog.database import Catalog, open_catalog

SNAPSHOT = "gpt-4o-2024-08-06@fp_7f6be3efb0"


def record(**fields: object) -> CallRecord:
    base: dict[str, object] = {
        "call_id": new_call_id(),
        "started_at": dt.datetime.now(dt.UTC),
        "status": "ok",
        "served_model": "p:gpt-4o",
        "model_snapshot": SNAPSHOT,
        "cost": Decimal("0.0000125"),
    }
    base.update(fields)
    return CallRecord(**base)  # type: ignore[arg-type]


def snapshots(catalog: Catalog) -> dict[str, str | None]:
    with catalog.connect() as connection:
        return {row.call_id: row.model_snapshot for row in connection.execute(select(t.ai_calls))}


def test_the_writer_stores_the_snapshot_and_a_provider_s_odd_text_is_cut_not_refused(
    catalog: Catalog, tmp_path: Path
) -> None:
    # the snapshot is the provider's text: a control character or an overlong one must not
    # send the row to the dead letters (PostgreSQL refuses U+0000 in VARCHAR)
    plain = record()
    odd = record(model_snapshot="m\x00" + "x" * 300)
    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=10, flush_interval_s=60)
    for item in (plain, odd):
        log.record(item)
    log.close()
    stored = snapshots(catalog)
    assert stored[plain.call_id] == SNAPSHOT
    assert stored[odd.call_id] == ("m\ufffd" + "x" * 300)[:255]
    assert not list((tmp_path / "spill").glob("dead-letters-*.jsonl"))
    with catalog.connect() as connection:
        extra = connection.execute(
            select(t.ai_calls.c.extra).where(t.ai_calls.c.call_id == odd.call_id)
        ).scalar_one()
    assert extra == {"truncated": {"model_snapshot": 302}}


def test_a_spilled_row_keeps_its_snapshot_through_replay(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    catalog = open_catalog(f"sqlite:///{path}")
    log = CallLog(catalog, spill_dir=tmp_path / "spill", batch_size=5, flush_interval_s=0.05)
    path.rename(tmp_path / "moved.db")  # the database is gone: rows spill
    catalog.dispose()
    items = [record(model_snapshot=f"m@fp_{n}") for n in range(3)] + [record(model_snapshot=None)]
    for item in items:
        log.record(item)
    log.close()
    assert log.spilled == 4
    catalog.dispose()
    path.unlink()
    (tmp_path / "moved.db").rename(path)
    spilled = [
        row_from_json(line)
        for file in (tmp_path / "spill").glob("ai_calls-*.jsonl")
        for line in file.read_text().splitlines()
    ]
    assert sorted(str(row["model_snapshot"]) for row in spilled) == [
        "None",
        "m@fp_0",
        "m@fp_1",
        "m@fp_2",
    ]
    restored = open_catalog(f"sqlite:///{path}")
    assert replay_spill(restored, tmp_path / "spill").inserted == 4
    assert snapshots(restored) == {item.call_id: item.model_snapshot for item in items}
    restored.dispose()


def test_a_dead_process_s_journal_replays_with_its_snapshots(
    catalog: Catalog, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    items = [record(model_snapshot="claude-sonnet-4-5-20250929"), record(model_snapshot=None)]
    lines = []
    for item in items:
        line = journal_line(item)
        assert line is not None
        lines.append(line.decode().strip())
    folder = spill / "journal"
    folder.mkdir(parents=True)
    header = {"$journal": {"version": 1, "pid": 999999, "catalog": catalog.display_url}}
    (folder / "journal-999999-deadbeef-0000.jsonl").write_text(
        "\n".join([json.dumps(header), *lines]) + "\n"
    )
    report = replay_spill(catalog, spill)
    assert (report.journals, report.inserted) == (1, 2)
    assert snapshots(catalog) == {item.call_id: item.model_snapshot for item in items}


def test_a_dead_letter_holds_the_snapshot_and_loads_back_with_it(
    catalog: Catalog, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    log = CallLog(catalog, spill_dir=spill, batch_size=10, flush_interval_s=60)
    bad = record(org_id="x" * 5000, model_snapshot="gemini-2.5-flash-preview-05-20")
    log.record(bad)
    log.close()
    (letter_file,) = spill.glob("dead-letters-*.jsonl")
    letter = json.loads(letter_file.read_text())
    assert letter["row"]["model_snapshot"] == "gemini-2.5-flash-preview-05-20"
    # fixed by hand and put back as a spill file, as `clearance calls dead-letters` says
    row = dict(letter["row"])
    row["org_id"] = "acme"
    fixed = row_from_json(json.dumps(row))
    (spill / "ai_calls-fixed.jsonl").write_text(row_to_json(fixed) + "\n")
    letter_file.unlink()
    assert replay_spill(catalog, spill).inserted == 1
    assert snapshots(catalog) == {bad.call_id: "gemini-2.5-flash-preview-05-20"}
