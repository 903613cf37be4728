"""The call journal: no row lost to SIGKILL, replayed once, never from a live process."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from clearance.calllog import CallLog, CallRecord, new_call_id, replay_spill
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.config import load_config
from clearance.discovery import fetch_model_list, parse_model_list
from clearance.errors import AuthenticationFailed
from clearance.journal import Journal, claim_dead
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.reference import ReferenceServer
from clearance.router import Router
from tests.support.processes import child


def record(**fields: object) -> CallRecord:
    base: dict[str, object] = {
        "call_id": new_call_id(),
        "started_at": dt.datetime.now(dt.UTC).timestamp(),
        "status": "ok",
        "served_model": "ref:ref/steady",
        "cost": Decimal("0.0000125"),
        "prompt_tokens": 10,
    }
    base.update(fields)
    return CallRecord(**base)  # type: ignore[arg-type]


def stored_ids(catalog: Catalog) -> set[str]:
    with catalog.connect() as connection:
        return set(connection.execute(select(t.ai_calls.c.call_id)).scalars())


def journal_files(spill: Path) -> list[Path]:
    return sorted((spill / "journal").glob("journal-*.jsonl"))


def test_a_record_is_in_the_journal_before_record_returns(catalog: Catalog, tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    log = CallLog(catalog, spill_dir=spill, batch_size=1000, flush_interval_s=60)
    item = record(cost=Decimal("0.000000123456789"), tool_calls=(), extra={"k": [1, "ü"]})
    log.record(item)
    (path,) = journal_files(spill)
    header, line = path.read_text().splitlines()
    assert json.loads(header)["$journal"]["catalog"] == catalog.display_url
    assert json.loads(line)["call_id"] == item.call_id
    assert stored_ids(catalog) == set()  # not written yet: the journal is all there is
    log.close()
    assert stored_ids(catalog) == {item.call_id}
    assert journal_files(spill) == []  # all of it written: deleted
    with catalog.connect() as connection:
        cost = connection.execute(select(t.ai_calls.c.cost)).scalar_one()
    assert cost == Decimal("0.000000123456789")


def test_a_journal_is_truncated_when_caught_up_and_rotated_when_behind(tmp_path: Path) -> None:
    journal = Journal(tmp_path, {"catalog": "x"}, rotate_bytes=200)
    header = journal.paths[0].stat().st_size
    first = journal.append(b'{"call_id":"a"}\n')
    assert first is not None
    journal.settle({first: 1})
    assert journal.paths[0].stat().st_size == header  # caught up: back to the header
    held = [journal.append(b'{"call_id":"%d"}\n' % n) for n in range(20)]
    journal.settle({first: 0})  # behind (nothing settled) and past 200 bytes: a new file
    old, new = journal.paths
    assert old.exists()
    assert new.exists()
    assert journal.append(b'{"call_id":"z"}\n') is not None
    journal.settle({held[0]: 20})  # type: ignore[dict-item]
    assert journal.paths == [new]
    assert not old.exists()
    journal.close()
    assert new.exists()  # "z" is not settled: left for a replay
    (dead,), live = claim_dead(tmp_path)
    assert live == 0
    assert dead.lines()[1] == ['{"call_id":"z"}']
    dead.release()


def test_a_live_journal_is_never_claimed(tmp_path: Path) -> None:
    journal = Journal(tmp_path, {"catalog": "x"})
    journal.append(b'{"call_id":"a"}\n')
    claimed, live = claim_dead(tmp_path)  # another descriptor, even in this process
    assert (claimed, live) == ([], 1)
    journal.close()
    (dead,), live = claim_dead(tmp_path)
    assert live == 0
    dead.release()


def dead_journal(folder: Path, catalog: Catalog, lines: list[str], pid: int = 999999) -> Path:
    """A journal file as a killed process leaves it (unlocked)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"journal-{pid}-deadbeef-0000.jsonl"
    header = {"$journal": {"version": 1, "pid": pid, "catalog": catalog.display_url}}
    path.write_text("\n".join([json.dumps(header), *lines]) + "\n")
    return path


def test_replay_loads_a_dead_journal_once_with_its_flag_and_keeps_a_torn_line(
    catalog: Catalog, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    writer = CallLog(catalog, spill_dir=tmp_path / "elsewhere", flush_interval_s=60)
    items = [record() for _ in range(3)]
    lines = [line.decode().strip() for line in map(_line, items)]
    flag = {
        "$escalate": {
            "call_id": items[1].call_id,
            "reason": "help",
            "at": "2026-01-01T00:00:00+00:00",
        }
    }
    path = dead_journal(
        spill / "journal", catalog, [*lines, json.dumps(flag), '{"call_id": "torn-by-a-pow']
    )
    live = CallLog(catalog, spill_dir=spill, flush_interval_s=60, recover=False)
    report = replay_spill(catalog, spill)
    assert (report.journals, report.rows, report.inserted, report.escalations) == (1, 3, 3, 1)
    assert (report.bad_lines, report.journals_live, report.dead_letters) == (1, 1, 0)
    assert stored_ids(catalog) == {item.call_id for item in items}
    assert not path.exists()
    assert path.with_suffix(".bad").read_text().startswith('{"call_id": "torn')
    with catalog.connect() as connection:
        escalated = (
            connection.execute(select(t.ai_calls.c.call_id).where(t.ai_calls.c.escalated.is_(True)))
            .scalars()
            .all()
        )
    assert escalated == [items[1].call_id]
    again = replay_spill(catalog, spill)  # the live log's own journal is still left alone
    assert (again.journals, again.rows, again.journals_live) == (0, 0, 1)
    live.close()
    writer.close()


def _line(item: CallRecord) -> bytes:
    from clearance.calllog import journal_line

    line = journal_line(item)
    assert line is not None
    return line


def test_a_journal_of_another_catalog_is_left_alone(catalog: Catalog, tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    other = open_catalog(f"sqlite:///{tmp_path / 'other.db'}")
    path = dead_journal(spill / "journal", other, [_line(record()).decode().strip()])
    other.dispose()
    report = replay_spill(catalog, spill)
    assert (report.journals, report.journals_foreign, report.rows) == (0, 1, 0)
    assert path.exists()


def test_a_new_call_log_loads_the_journals_of_ended_processes(
    catalog: Catalog, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    items = [record() for _ in range(5)]
    dead_journal(spill / "journal", catalog, [_line(i).decode().strip() for i in items])
    log = CallLog(catalog, spill_dir=spill, flush_interval_s=60)
    log.flush()
    assert stored_ids(catalog) == {item.call_id for item in items}
    assert log.recovered is not None
    assert log.recovered.inserted == 5
    log.close()
    assert journal_files(spill) == []


SECRET = "sk-test-journal-0123456789abcdef"


def test_no_api_key_reaches_the_journal_spill_or_dead_letters(
    catalog: Catalog, tmp_path: Path
) -> None:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        listed = parse_model_list({"data": [{"id": "a", "context_length": 8000}]}, source="t")
        sync_models(connection, "p", listed, enable_new=True)
    (tmp_path / "clearance.toml").write_text(
        "[calllog]\nflush_interval_s = 60\n[gate]\nrequire_decision = false\n"
    )
    config = load_config(environ={}, cwd=tmp_path)

    def refuse(request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"]
        return httpx.Response(401, json={"error": {"message": f"bad key {key}"}})

    provider = OpenAICompatibleProvider(
        "p", "https://p.example/v1", api_key=SECRET, transport=httpx.MockTransport(refuse)
    )
    router = Router(config, catalog, providers={"p": provider})
    with pytest.raises(AuthenticationFailed):
        router.complete([{"role": "user", "content": "hi"}], model="p:a", org="acme")
    (journal,) = journal_files(config.spill_dir())
    text = journal.read_text()
    assert "acme" in text  # the call is there...
    assert SECRET not in text  # ...without the key
    router.close()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".bad"):
            assert SECRET not in path.read_text()


KILLED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from clearance.catalog.database import open_catalog
    from clearance.config import load_config
    from clearance.router import Router
    config = load_config(cwd=Path(sys.argv[2]))
    router = Router(config, open_catalog(sys.argv[1]))
    n = 0
    while True:  # at full speed until killed
        result = router.complete([{"role": "user", "content": f"call {n}"}], model="ref:ref/steady")
        print(result.call_id, flush=True)
        n += 1
    """
)


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(seed=1) as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("loader", ["replay-spill", "next process"])
def test_every_call_a_killed_process_returned_is_in_ai_calls(
    catalog_url: str, server: ReferenceServer, tmp_path: Path, loader: str
) -> None:
    catalog = open_catalog(catalog_url)
    with catalog.begin() as connection:
        ensure_provider(connection, "ref", base_url=server.base_url)
        sync_models(connection, "ref", fetch_model_list(server.base_url), enable_new=True)
    # a batch is written only after 60 s or 100,000 rows: at the kill, nothing is written
    (tmp_path / "clearance.toml").write_text(
        f'[[providers]]\nname = "ref"\nbase_url = "{server.base_url}"\n'
        "[calllog]\nflush_interval_s = 60\nbatch_size = 100000\n"
        "[gate]\nrequire_decision = false\n"
    )
    config = load_config(environ={}, cwd=tmp_path)
    returned: list[str] = []
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    with child(
        [sys.executable, "-c", KILLED, catalog_url, str(tmp_path)], env=environment
    ) as killed:
        while len(returned) < 40:
            line = killed.readline().strip()
            assert line, killed.stderr()
            returned.append(line)
        os.kill(killed.process.pid, signal.SIGKILL)
        assert killed.wait() == -signal.SIGKILL
        while line := killed.readline().strip():  # what it printed before it died
            returned.append(line)
    assert stored_ids(catalog) == set()  # the killed process wrote no row itself
    assert len(journal_files(config.spill_dir())) == 1
    if loader == "replay-spill":
        report = replay_spill(catalog, config.spill_dir())
        assert report.journals == 1
        assert report.inserted >= len(returned)
    else:
        log = CallLog(catalog, spill_dir=config.spill_dir(), flush_interval_s=60)
        log.close()
        assert log.recovered is not None
        assert log.recovered.journals == 1
    stored = stored_ids(catalog)
    assert set(returned) <= stored  # every call it returned has its row
    assert journal_files(config.spill_dir()) == []
    with catalog.connect() as connection:
        total = connection.execute(select(func.count()).select_from(t.ai_calls)).scalar()
    assert total == len(stored)  # once each
    assert replay_spill(catalog, config.spill_dir()).inserted == 0  # idempotent
    catalog.dispose()
