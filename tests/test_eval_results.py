"""Eval runs and results in the catalog: round trips, shards, replacement, export, outages."""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.runrecords import ItemResult, RunSpec
from clearance.catalog.runstore import RESULT_COLUMNS, ResultStore
from clearance.errors import (
    CatalogUnavailable,
    InputError,
    InvalidShard,
    RunSpecMismatch,
    UnknownRun,
)

TINY = Decimal("0.000000123456789")


def spec(run_id: str = "run-1", **changes: Any) -> RunSpec:
    values: dict[str, Any] = {
        "run_id": run_id,
        "suites": ("contracts", "flows"),
        "models": ("ref:ref/steady", "ref:ref/flaky"),
        "trials": 3,
        "record_mode": "none",
        "shards": 1,
        "suite_hash": "s" * 64,
        "contracts_hash": "c" * 64,
        "git_commit": "abc123",
        "cost_cap": Decimal("2.50"),
        "details": {"cases": 4, "contract_versions": {"weather": "1.2.0"}},
    }
    values.update(changes)
    return RunSpec(**values)


def item(model: str, case: str, trial: int, **changes: Any) -> ItemResult:
    values: dict[str, Any] = {
        "model_id": model,
        "case_id": case,
        "case_kind": "contract",
        "tool": "weather",
        "trial": trial,
        "verdict": "pass",
        "cost": Decimal("0.001"),
    }
    values.update(changes)
    return ItemResult(**values)


FULL = item(
    "ref:ref/steady",
    "weather/happy-path",
    2,
    case_kind="flow",
    contract_version="1.2.0",
    criticality="high",
    shard=1,
    verdict="fail",
    failure_code="schema_violation",
    evidence={"failures": [{"code": "schema_violation", "pointer": "/days"}], "n": 1.5},
    turns_passed=1,
    turns_total=3,
    latency_ms=123.456,
    prompt_tokens=812,
    completion_tokens=41,
    cost=TINY,
    served_model="ref:ref/steady",
    fallback_served=False,
    cassette="evals/cassettes/ref/weather.yaml",
)
BARE = ItemResult(model_id="m", case_id="bfcl/simple_1", case_kind="bfcl", trial=1, verdict="pass")


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(catalog: Catalog) -> ResultStore:
    return ResultStore(catalog, clock=Clock())


def stored(store: ResultStore, run_id: str) -> list[ItemResult]:
    frame = store.results(run_id)
    return [ItemResult.from_row(row) for row in frame.to_dict("records")]


def count_rows(catalog: Catalog) -> int:
    with catalog.connect() as connection:
        query = select(func.count()).select_from(t.eval_results)
        return int(connection.execute(query).scalar() or 0)


def test_every_field_round_trips_exactly(store: ResultStore) -> None:
    store.start_run(spec(), shard=None)
    bare = ItemResult(**{**BARE.to_json(), "model_id": "ref:ref/flaky"})
    store.add_results("run-1", [FULL, bare])

    frame = store.results("run-1")
    assert list(frame.columns) == list(RESULT_COLUMNS)
    assert frame["cost"].dtype == object
    assert sorted(stored(store, "run-1"), key=lambda r: r.model_id) == [bare, FULL]
    full = frame[frame["model_id"] == "ref:ref/steady"].iloc[0]
    assert isinstance(full["cost"], Decimal)
    assert full["cost"] == TINY
    assert full["evidence"] == {
        "failures": [{"code": "schema_violation", "pointer": "/days"}],
        "n": 1.5,
    }
    assert full["run_id"] == "run-1"
    assert frame[frame["model_id"] == "ref:ref/flaky"].iloc[0]["cost"] is None

    record = store.run("run-1")
    assert record is not None
    assert record.spec == spec()
    assert (record.run_id, record.models, record.trials) == ("run-1", spec().models, 3)
    assert record.spec.cost_cap == Decimal("2.50")
    assert record.status == "running"
    assert record.shard_states[1].status == "running"
    assert store.results("run-1", model_id="ref:ref/flaky")["model_id"].tolist() == [
        "ref:ref/flaky"
    ]
    assert store.results("nothing").empty


def test_readded_results_replace_and_never_duplicate(catalog: Catalog) -> None:
    store = ResultStore(catalog, batch_size=3)
    store.start_run(spec(), shard=None)
    first = [item("m", f"case-{n}", trial, verdict="fail") for n in range(3) for trial in (1, 2)]
    store.add_results("run-1", first)
    assert count_rows(catalog) == 6

    again = [item("m", "case-1", 2, verdict="pass", cost=Decimal("0.5"))]
    store.add_results("run-1", [*again, item("m", "case-2", 1, verdict="infra_error")])
    store.add_results("run-1", [item("m", "case-0", 1), item("m", "case-0", 1, verdict="fail")])
    assert count_rows(catalog) == 6
    rows = {(r.case_id, r.trial): r for r in stored(store, "run-1")}
    assert rows["case-1", 2] == again[0]
    assert rows["case-2", 1].verdict == "infra_error"
    assert rows["case-0", 1].verdict == "fail"  # the last of the same key wins
    assert rows["case-0", 2].verdict == "fail"  # untouched


def test_shards_writing_from_threads_make_one_complete_run(catalog_url: str) -> None:
    open_catalog(catalog_url).dispose()  # migrated once; each "machine" then connects
    shards = 4
    the_spec = spec("sharded", shards=shards)
    barrier = threading.Barrier(shards)
    errors: list[BaseException] = []

    def shard(number: int) -> None:
        catalog = Catalog(catalog_url)
        try:
            store = ResultStore(catalog)
            barrier.wait()
            store.start_run(the_spec, shard=number)
            rows = [
                item(model, f"case-{number}-{n}", trial, shard=number)
                for model in the_spec.models
                for n in range(5)
                for trial in (1, 2, 3)
            ]
            store.add_results("sharded", rows)
            store.finish("sharded", shard=number, status="complete", spend=Decimal(f"0.{number}1"))
        except BaseException as error:
            errors.append(error)
        finally:
            catalog.dispose()

    threads = [threading.Thread(target=shard, args=(n,)) for n in range(1, shards + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors

    catalog = Catalog(catalog_url)
    store = ResultStore(catalog)
    record = store.run("sharded")
    assert record is not None
    assert record.status == "complete"
    assert record.spend == Decimal("0.11") + Decimal("0.21") + Decimal("0.31") + Decimal("0.41")
    assert record.ended_at is not None
    assert sorted(record.shard_states) == [1, 2, 3, 4]
    assert {s.status for s in record.shard_states.values()} == {"complete"}
    frame = store.results("sharded")
    assert len(frame) == shards * 2 * 5 * 3
    assert sorted(frame["shard"].unique().tolist()) == [1, 2, 3, 4]
    catalog.dispose()


def test_run_status_follows_its_shards(store: ResultStore) -> None:
    store.start_run(spec("r", shards=3), shard=1)
    store.start_run(spec("r", shards=3), shard=2)
    status = store.finish("r", shard=1, status="complete", spend=Decimal("0.10"))
    assert (status.status, status.finished, status.ended_at) == ("running", 1, None)
    status = store.finish("r", shard=2, status="stopped", spend=Decimal("2.40"), note="cost cap")
    assert status.status == "running"  # shard 3 has not even started
    store.start_run(spec("r", shards=3), shard=3)
    status = store.finish("r", shard=3, status="complete", spend=Decimal("0.000000123456789"))
    assert status.status == "stopped"
    assert status.spend == Decimal("2.500000123456789")
    assert status.ended_at is not None
    record = store.run("r")
    assert record is not None
    assert (record.status, record.spend, record.ended_at) == (
        "stopped",
        status.spend,
        status.ended_at,
    )
    assert record.shard_states[2].note == "cost cap"

    # re-running a shard puts the run back to running; what it spent before still counts
    store.start_run(spec("r", shards=3), shard=2)
    record = store.run("r")
    assert record is not None
    assert (record.status, record.ended_at) == ("running", None)
    assert record.shard_states[2].attempts == 2
    status = store.finish("r", shard=2, status="complete", spend=Decimal("1"))
    assert status.status == "complete"
    assert status.spend == Decimal("3.500000123456789")


def test_a_failed_shard_fails_the_run_at_once(store: ResultStore) -> None:
    store.start_run(spec("f", shards=2), shard=1)
    store.start_run(spec("f", shards=2), shard=2)
    status = store.finish("f", shard=1, status="failed", spend=Decimal(0))
    assert (status.status, status.ended_at) == ("failed", None)
    status = store.finish("f", shard=2, status="complete", spend=Decimal(0))
    assert status.status == "failed"
    assert status.ended_at is not None


def test_a_shard_with_another_spec_is_refused(store: ResultStore) -> None:
    store.start_run(spec("r", shards=2), shard=1)
    with pytest.raises(RunSpecMismatch) as caught:
        store.start_run(spec("r", shards=2, suite_hash="x" * 64), shard=2)
    assert isinstance(caught.value, InputError)
    assert caught.value.field == "suite_hash"
    assert "--run-id" in str(caught.value)
    with pytest.raises(RunSpecMismatch) as caught:
        store.start_run(spec("r", shards=2, models=("other:model",), trials=5), shard=2)
    assert set(caught.value.differences) == {"models", "trials"}
    with pytest.raises(RunSpecMismatch, match="shards"):
        store.start_run(spec("r", shards=3), shard=2)
    # the same models in another order are the same spec
    store.start_run(spec("r", shards=2, models=("ref:ref/flaky", "ref:ref/steady")), shard=2)
    record = store.run("r")
    assert record is not None
    assert sorted(record.shard_states) == [1, 2]


def test_shard_numbers_and_transitions_are_checked(store: ResultStore) -> None:
    with pytest.raises(InvalidShard, match="--shard N/2"):
        store.start_run(spec("s", shards=2), shard=None)
    with pytest.raises(InvalidShard, match="out of range"):
        store.start_run(spec("s", shards=2), shard=3)
    store.start_run(spec("s", shards=2), shard=1)
    with pytest.raises(InvalidShard, match="never started"):
        store.finish("s", shard=2, status="complete", spend=Decimal(0))
    store.finish("s", shard=1, status="complete", spend=Decimal(0))
    with pytest.raises(InvalidShard, match="finished already"):
        store.finish("s", shard=1, status="complete", spend=Decimal(0))
    with pytest.raises(UnknownRun):
        store.finish("nope", shard=None, status="complete", spend=Decimal(0))
    with pytest.raises(UnknownRun):
        store.add_results("nope", [BARE])
    with pytest.raises(InputError, match="trial 4"):
        store.add_results("s", [item("m", "c", 4)])


def test_inputs_are_checked_before_the_database() -> None:
    with pytest.raises(InputError, match="verdict"):
        item("m", "c", 1, verdict="passed")
    with pytest.raises(InputError, match="Decimal"):
        item("m", "c", 1, cost=0.1)
    with pytest.raises(InputError, match="failure_code"):
        item("m", "c", 1, failure_code="x" * 33)
    with pytest.raises(InputError, match="JSON"):
        item("m", "c", 1, evidence={"cost": Decimal(1)})
    with pytest.raises(InputError, match="trial"):
        item("m", "c", 0)
    with pytest.raises(InputError, match="reserved"):
        spec(details={"shards": {}})


def test_runs_newest_first(store: ResultStore) -> None:
    assert store.latest_run_id() is None
    assert store.runs() == []
    for name in ("a", "b", "c"):
        store.start_run(spec(name), shard=None)
    assert [r.run_id for r in store.runs()] == ["c", "b", "a"]
    assert [r.run_id for r in store.runs(limit=2)] == ["c", "b"]
    assert store.latest_run_id() == "c"
    assert store.run("missing") is None


def test_results_are_counted_per_tool_and_contract_version(store: ResultStore) -> None:
    assert store.counts_by_contract() == {}
    store.start_run(spec("a"), shard=None)
    store.start_run(spec("b"), shard=None)
    v1 = {"contract_version": "1.2.0"}
    store.add_results("a", [item("m", "c1", 1, **v1), item("m", "c1", 2, **v1), BARE])
    store.add_results("b", [item("m", "c1", 1, **v1), item("m", "c2", 1, contract_version="2.0.0")])
    store.add_results("b", [item("m", "c3", 1)])  # BARE has no tool, c3 no version
    assert store.counts_by_contract() == {
        ("weather", "1.2.0"): 3,  # over every run
        ("weather", "2.0.0"): 1,
        ("weather", None): 1,
    }


def test_jsonl_export_reads_back_as_the_stored_rows(store: ResultStore, tmp_path: Path) -> None:
    store.start_run(spec(), shard=None)
    results = [FULL, *(item("ref:ref/flaky", f"c{n}", 1, cost=TINY * n) for n in range(5))]
    store.add_results("run-1", results)
    store.finish("run-1", shard=None, status="complete", spend=Decimal("0.0100"))

    out = tmp_path / "run.jsonl"
    assert store.export_jsonl("run-1", out) == 7
    lines = out.read_text(encoding="utf-8").splitlines()
    buffer = io.StringIO()
    assert store.export_jsonl("run-1", buffer) == 7
    assert buffer.getvalue().splitlines() == lines  # deterministic

    parsed = [json.loads(line) for line in lines]
    assert all(list(p) == sorted(p) for p in parsed)
    header, rows = parsed[0], parsed[1:]
    assert header["type"] == "run"
    assert (header["run_id"], header["status"], header["spend"]) == ("run-1", "complete", "0.0100")
    assert {row["type"] for row in rows} == {"result"}
    assert [ItemResult.from_json(row) for row in rows] == stored(store, "run-1")
    full = next(row for row in rows if row["case_id"] == FULL.case_id)
    assert full["cost"] == "0.000000123456789"  # a string, in plain notation
    with pytest.raises(UnknownRun):
        store.export_jsonl("missing", tmp_path / "missing.jsonl")
    assert not (tmp_path / "missing.jsonl").exists()
    assert not list(tmp_path.glob("*.partial"))


def test_storing_many_results(store: ResultStore) -> None:
    store.start_run(spec(trials=5), shard=None)
    many = [
        item(f"m{m}", f"case-{c}", trial, evidence={"turns": [{"passed": True}]}, latency_ms=1.5)
        for m in range(4)
        for c in range(100)
        for trial in range(1, 6)
    ]
    store.add_results("run-1", many)
    assert len(store.results("run-1")) == 2000
    assert sum(store.results("run-1")["cost"], Decimal(0)) == Decimal("2.000")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def down() -> Iterator[ResultStore]:
    catalog = Catalog(f"postgresql+psycopg://u:s3cret@127.0.0.1:{closed_port()}/catalog")
    yield ResultStore(catalog)
    catalog.dispose()


def test_a_database_that_is_down_raises(down: ResultStore, tmp_path: Path) -> None:
    with pytest.raises(CatalogUnavailable) as caught:
        down.start_run(spec(), shard=None)
    assert "s3cret" not in str(caught.value)
    with pytest.raises(CatalogUnavailable):
        down.add_results("run-1", [FULL])
    with pytest.raises(CatalogUnavailable):
        down.finish("run-1", shard=None, status="complete", spend=Decimal(0))
    with pytest.raises(CatalogUnavailable):
        down.results("run-1")
    with pytest.raises(CatalogUnavailable):
        down.export_jsonl("run-1", tmp_path / "out.jsonl")
    assert not list(tmp_path.iterdir())
