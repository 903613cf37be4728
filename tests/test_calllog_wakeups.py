"""When the call log's writer wakes: a full batch, a flag, a flush, a close, or its
interval; never for each record (issue 20), and no record is lost or reordered for it."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clearance.calllog import CallLog, CallRecord, new_call_id
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog

LONG = 600.0
"""An interval no test waits out: whatever is written, something woke the writer for."""


def record() -> CallRecord:
    return CallRecord(call_id=new_call_id(), started_at=dt.datetime.now(dt.UTC), status="ok")


def count(catalog: Catalog) -> int:
    with catalog.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.ai_calls)).scalar() or 0)


def eventually(check: Callable[[], bool], within_s: float = 20.0) -> bool:
    """Whether ``check`` turns true before ``within_s`` (a bound on a hang, not a timing)."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_a_full_batch_wakes_the_writer(catalog: Catalog, tmp_path: Path) -> None:
    log = CallLog(catalog, spill_dir=tmp_path, batch_size=5, flush_interval_s=LONG)
    for _ in range(4):
        log.record(record())
    log.record(record())
    assert eventually(lambda: log.written == 5)
    log.close()


def test_fewer_records_than_a_batch_are_written_within_the_interval(
    catalog: Catalog, tmp_path: Path
) -> None:
    log = CallLog(catalog, spill_dir=tmp_path, batch_size=1000, flush_interval_s=0.05)
    for _ in range(3):
        log.record(record())
    assert eventually(lambda: count(catalog) == 3)  # no flush, no close: the interval did it
    log.close()


def test_a_flag_wakes_the_writer_after_the_rows_queued_before_it(
    catalog: Catalog, tmp_path: Path
) -> None:
    log = CallLog(catalog, spill_dir=tmp_path, batch_size=1000, flush_interval_s=LONG)
    queued = record()
    log.record(queued)
    assert log.flag_escalated(queued.call_id, reason="a person").result(timeout=20) == "flagged"
    assert log.written == 1
    log.close()


def test_flush_wakes_the_writer(catalog: Catalog, tmp_path: Path) -> None:
    log = CallLog(catalog, spill_dir=tmp_path, batch_size=1000, flush_interval_s=LONG)
    for _ in range(3):
        log.record(record())
    log.flush(timeout=20)
    assert count(catalog) == 3
    log.close()


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_records_from_many_threads_are_all_written_once(
    catalog: Catalog, tmp_path: Path, batch_size: int
) -> None:
    log = CallLog(catalog, spill_dir=tmp_path, batch_size=batch_size, flush_interval_s=0.01)
    ids: list[str] = []
    lock = threading.Lock()

    def calls() -> None:
        for _ in range(150):
            item = record()
            with lock:
                ids.append(item.call_id)
            log.record(item)

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    with catalog.connect() as connection:
        stored = connection.execute(select(t.ai_calls.c.call_id)).scalars().all()
    assert sorted(stored) == sorted(ids)
    assert log.written == 600
    assert not list((tmp_path / "journal").iterdir())  # every line settled, the file deleted
