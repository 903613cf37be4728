"""The model snapshot behind every eval result: recorded from the answers, kept per turn for
a flow answered by several, and replayed from the cassette body that holds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.runrecords import ItemResult
from clearance.catalog.runstore import ResultStore
from clearance.config import ClearanceConfig
from clearance.errors import InputError
from clearance.evaluation.cases import load_suites, select_cases
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import SimulatorProviders
from tests.support.evalproject import STEADY, NoNetwork, ScriptedNetwork, make_project

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect


class RollingOut(ScriptedNetwork):
    """The scripted endpoint, reporting a ``system_fingerprint``: ``fp_old`` on the first two
    turns of a conversation and ``fp_new`` from the third on (a rollout mid-flow)."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if response.status_code != 200:
            return response
        body = json.loads(request.content)
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        answer = response.json()
        answer["system_fingerprint"] = "fp_old" if turn < 2 else "fp_new"
        return httpx.Response(200, json=answer)


@pytest.fixture
def setup(project: Path, catalog_url: str) -> Iterator[tuple[ClearanceConfig, Catalog]]:
    config = make_project(project, catalog_url)
    catalog = open_catalog(config.resolved_database_url())
    yield config, catalog
    catalog.dispose()


def run(config: ClearanceConfig, catalog: Catalog, network: Any, mode: str) -> Any:
    suite = load_suites(config, ["contracts", "flows"])
    return Evaluation(
        config,
        catalog,
        suite,
        [STEADY],
        cases=select_cases(suite.cases, ["ok", "flow_ok", "final_answer_mismatch", "server_error"]),
        record_mode=mode,  # type: ignore[arg-type]
        network=network,
        environ={},
        providers=SimulatorProviders(),
        trials=1,
    ).run()


def stored(catalog: Catalog, run_id: str) -> dict[str, tuple[str | None, Any]]:
    frame = ResultStore(catalog).results(run_id)
    return {
        str(row.case_id): (row.model_snapshot, (row.evidence or {}).get("snapshots"))
        for row in frame.itertuples()
    }


def test_each_result_keeps_the_snapshot_that_answered_and_a_mixed_flow_every_turn_s(
    setup: tuple[ClearanceConfig, Catalog],
) -> None:
    config, catalog = setup
    outcome = run(config, catalog, RollingOut().transport, "all")
    mixed = ["ref/steady@fp_old", "ref/steady@fp_old", "ref/steady@fp_new"]
    assert stored(catalog, outcome.run_id) == {
        "ok": ("ref/steady@fp_old", None),  # one call, one snapshot: no list
        "flow_ok": ("ref/steady@fp_new", mixed),  # the last turn's, and every turn's
        "final_answer_mismatch": ("ref/steady@fp_new", mixed),
        "server_error": (None, None),  # no answer: nothing reported a snapshot
    }
    row = outcome.outcomes[(STEADY, "flow_ok", 1)].result
    assert row.model_snapshot == "ref/steady@fp_new"


def test_a_replay_reports_the_snapshot_its_cassette_body_holds(
    setup: tuple[ClearanceConfig, Catalog], project: Path
) -> None:
    config, catalog = setup
    recorded = run(config, catalog, RollingOut().transport, "all")
    replayed = run(config, catalog, NoNetwork(), "none")
    assert stored(catalog, replayed.run_id) == stored(catalog, recorded.run_id)

    # the snapshot comes from the recorded answer, not from anything the replay knows
    cassette = next((project / "evals" / "cassettes").rglob("ok.json"))
    data = json.loads(cassette.read_text())
    (interaction,) = data["interactions"]
    interaction["response"]["body"]["json"]["model"] = "ref/steady-2026-01-01"
    interaction["response"]["body"]["json"]["system_fingerprint"] = "fp_<script>"
    cassette.write_text(json.dumps(data))
    again = run(config, catalog, NoNetwork(), "none")
    assert stored(catalog, again.run_id)["ok"] == ("ref/steady-2026-01-01@fp_<script>", None)


@pytest.mark.each_dialect
def test_the_store_keeps_the_snapshot_through_results_and_the_jsonl_export(
    catalog: Catalog, tmp_path: Path
) -> None:
    from tests.test_eval_results import item, spec

    store = ResultStore(catalog)
    store.start_run(spec(), shard=None)
    rows = [
        item("ref:ref/steady", "c1", 1, model_snapshot="gpt-4o-2024-08-06@fp_<x>"),
        item("ref:ref/steady", "c1", 2),
    ]
    store.add_results("run-1", rows)
    frame = store.results("run-1")
    assert list(frame["model_snapshot"]) == ["gpt-4o-2024-08-06@fp_<x>", None]
    assert [ItemResult.from_row(row) for row in frame.to_dict("records")] == rows
    out = tmp_path / "run.jsonl"
    store.export_jsonl("run-1", out)
    lines = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert [ItemResult.from_json(line) for line in lines] == rows
    with pytest.raises(InputError, match="model_snapshot"):
        item("m", "c", 1, model_snapshot="x" * 256)  # the column holds 255
