"""The eval engine end to end: scripted answers over HTTP, recorded, replayed, stored.

A small suite (two tools, one case per failure code, two flows) runs against models of
the reference provider's catalog, but the answers come from an ``httpx.MockTransport``
scripted per case, so every failure code, infrastructure error, fallback and cost is
known in advance. Each test records with the mock as the network, and where it matters
replays the recordings with no network at all.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import set_enabled
from clearance.catalog.orgstore import set_fallback_chain
from clearance.catalog.runstore import ResultStore
from clearance.config import ClearanceConfig, load_config
from clearance.errors import InputError
from clearance.evaluation.cases import load_suites, select_cases
from clearance.evaluation.engine import Evaluation, parse_shard, plan_items
from clearance.evaluation.scrub import scan_for_secrets
from clearance.evaluation.simulator import SimulatorProviders
from tests.support.evalproject import (
    SLOPPY,
    STEADY,
    NoNetwork,
    ScriptedNetwork,
    make_project,
)

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect


@pytest.fixture
def setup(project: Path, catalog_url: str) -> tuple[ClearanceConfig, Catalog]:
    config = make_project(project, catalog_url)
    catalog = open_catalog(config.resolved_database_url())
    yield config, catalog
    catalog.dispose()


def run(
    config: ClearanceConfig,
    catalog: Catalog,
    network: Any,
    *,
    models: tuple[str, ...] = (STEADY,),
    mode: str = "all",
    cases: tuple[str, ...] = (),
    **options: Any,
) -> Any:
    suite = load_suites(config, ["contracts", "flows"])
    evaluation = Evaluation(
        config,
        catalog,
        suite,
        list(models),
        cases=select_cases(suite.cases, list(cases)),
        record_mode=mode,  # type: ignore[arg-type]
        network=network,
        environ={},
        providers=SimulatorProviders(),
        **options,
    )
    return evaluation.run()


EXPECTED_CODES = {
    "ok": ("pass", None),
    "wrong_tool": ("fail", "wrong_tool"),
    "missing_call": ("fail", "missing_call"),
    "extra_call": ("fail", "extra_call"),
    "invented_tool": ("fail", "invented_tool"),
    "invalid_json": ("fail", "invalid_json"),
    "schema_violation": ("fail", "schema_violation"),
    "argument_mismatch": ("fail", "argument_mismatch"),
    "no_final_answer": ("fail", "no_final_answer"),
    "flow_ok": ("pass", None),
    "final_answer_mismatch": ("fail", "final_answer_mismatch"),
    "turn_limit": ("fail", "turn_limit"),
    "server_error": ("infra_error", "infra_error"),
}


def test_every_failure_code_is_stored_with_its_evidence(setup: Any) -> None:
    config, catalog = setup
    network = ScriptedNetwork()
    outcome = run(config, catalog, network.transport)
    assert outcome.status == "complete"
    frame = ResultStore(catalog).results(outcome.run_id)
    assert len(frame) == len(EXPECTED_CODES) * 2
    got = {(row.case_id, row.trial): (row.verdict, row.failure_code) for row in frame.itertuples()}
    for case_id, expected in EXPECTED_CODES.items():
        assert got[(case_id, 1)] == expected, case_id
        assert got[(case_id, 2)] == expected, case_id
    rows = {row.case_id: row for row in frame.itertuples() if row.trial == 1}
    schema = rows["schema_violation"].evidence["failures"][0]["evidence"]
    assert schema["pointer"] == "/date"
    assert schema["validator"] == "pattern"
    mismatch = rows["argument_mismatch"].evidence["failures"][0]["evidence"]
    assert (mismatch["pointer"], mismatch["expected"], mismatch["actual"]) == (
        "/person_id",
        "'p_7'",  # the matcher, described
        "p_8",
    )
    assert (
        rows["invalid_json"]
        .evidence["failures"][0]["evidence"]["raw_arguments"]
        .endswith('"date": ')
    )
    # a failed case keeps its transcript for the report; the model's words are in it
    transcript = rows["final_answer_mismatch"].evidence["transcript"]
    assert transcript[-1] == {"role": "assistant", "content": "I could not do it."}
    # flows keep per-turn partial credit
    assert (
        rows["final_answer_mismatch"].turns_passed,
        rows["final_answer_mismatch"].turns_total,
    ) == (3, 3)
    assert (rows["turn_limit"].turns_passed, rows["turn_limit"].turns_total) == (2, 3)
    # criticality follows the tools the case expects to be called
    assert rows["ok"].criticality == "critical"
    assert rows["ok"].tool == "book"
    assert rows["flow_ok"].case_kind == "flow"
    assert rows["ok"].case_kind == "contract"


def test_infra_errors_never_count_as_the_models_failure(setup: Any) -> None:
    config, catalog = setup
    network = ScriptedNetwork()
    outcome = run(config, catalog, network.transport, cases=("server_error",))
    results = list(outcome.outcomes.values())
    assert {o.result.verdict for o in results} == {"infra_error"}
    evidence = results[0].result.evidence
    assert evidence["kind"] == "server_error"
    assert evidence["status_code"] == 500
    # the router retried once (retries_per_model = 1) before giving up
    assert [a["status_code"] for a in evidence["attempts"]] == [500, 500]
    assert not results[0].recording_problem


def test_replay_reproduces_the_recorded_verdicts_without_network(setup: Any) -> None:
    config, catalog = setup
    recorded = run(config, catalog, ScriptedNetwork().transport)
    replayed = run(config, catalog, NoNetwork(), mode="none")
    assert recorded.run_id != replayed.run_id
    before = {k: (o.result.verdict, o.result.failure_code) for k, o in recorded.outcomes.items()}
    after = {k: (o.result.verdict, o.result.failure_code) for k, o in replayed.outcomes.items()}
    assert after == before
    # replay skips Retry-After and backoff waits, and spends what the recording spent
    assert replayed.spend == recorded.spend > 0


def test_a_replay_reports_the_latency_the_provider_had_when_recorded(
    setup: Any, project: Path
) -> None:
    config, catalog = setup
    network = ScriptedNetwork()

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.03)  # the provider takes 30 ms (not a timing assertion: a fixture)
        return network.handle(request)

    recorded = run(config, catalog, httpx.MockTransport(slow), cases=("ok",), trials=1)
    cassette = next((project / "evals" / "cassettes").rglob("ok.json"))
    (interaction,) = json.loads(cassette.read_text())["interactions"]
    assert interaction["elapsed_ms"] >= 30
    replayed = run(config, catalog, NoNetwork(), mode="none", cases=("ok",), trials=1)
    before = recorded.outcomes[(STEADY, "ok", 1)].result.latency_ms
    after = replayed.outcomes[(STEADY, "ok", 1)].result.latency_ms
    # the provider's recorded time plus clearance's own, never the instant replay
    assert after >= interaction["elapsed_ms"]
    assert before >= interaction["elapsed_ms"]


def test_a_missing_recording_fails_loudly_and_names_the_re_record_command(setup: Any) -> None:
    config, catalog = setup
    outcome = run(config, catalog, NoNetwork(), mode="none", cases=("ok",))
    first = outcome.outcomes[(STEADY, "ok", 1)]
    assert first.result.verdict == "infra_error"
    assert first.recording_problem
    text = first.explain()
    assert "ref:ref/steady / ok / trial 1" in text
    assert "clearance eval --models ref:ref/steady --cases ok --record-mode new" in text


def test_recorded_interactions_left_unplayed_fail_the_case(setup: Any, project: Path) -> None:
    config, catalog = setup
    # recorded with one retry per model: trial 1 got a 503, then the answer
    run(config, catalog, ScriptedNetwork(flaky=True).transport, cases=("ok",))
    toml = project / "clearance.toml"
    toml.write_text(toml.read_text().replace("retries_per_model = 1", "retries_per_model = 0"))
    fewer_retries = load_config(toml, environ={})
    outcome = run(fewer_retries, catalog, NoNetwork(), mode="none", cases=("ok",))
    last = outcome.outcomes[(STEADY, "ok", 2)]
    assert last.recording_problem
    assert type(last.error).__name__ == "UnplayedRecording"
    assert "--record-mode new" in last.explain()


# -- provider failures in recordings ---------------------------------------------------------


def _interactions(project: Path, case: str) -> list[tuple[int, int]]:
    path = next((project / "evals" / "cassettes").rglob(f"{case}.json"))
    data = json.loads(path.read_text())
    return [(i["trial"], i["response"]["status"]["code"]) for i in data["interactions"]]


@pytest.mark.parametrize("mode", ["once", "new"])
def test_a_recording_of_a_provider_failure_is_recorded_again(
    setup: Any, project: Path, mode: str
) -> None:
    config, catalog = setup
    failing = ScriptedNetwork(failing_models={"ref/steady"})
    first = run(config, catalog, failing.transport, mode="once", cases=("ok",))
    assert {o.result.verdict for o in first.outcomes.values()} == {"infra_error"}
    evidence = first.outcomes[(STEADY, "ok", 1)].result.evidence
    assert (evidence["kind"], evidence["status_code"]) == ("server_error", 500)
    assert evidence["provider_message"] == "upstream broke"
    # the cassette keeps what happened, marked as a provider failure
    assert _interactions(project, "ok") == [(1, 500), (1, 500), (2, 500), (2, 500)]
    path = next((project / "evals" / "cassettes").rglob("ok.json"))
    marked = json.loads(path.read_text())["clearance"]["infra_failures"]
    assert [(f["trial"], f["kind"], f["status_code"]) for f in marked] == [
        (1, "server_error", 500),
        (2, "server_error", 500),
    ]

    healthy = ScriptedNetwork()
    second = run(config, catalog, healthy.transport, mode=mode, cases=("ok",))
    assert len(healthy.requests) == 2  # recorded again, never replayed
    assert {o.result.verdict for o in second.outcomes.values()} == {"pass"}
    assert _interactions(project, "ok") == [(1, 200), (2, 200)]
    assert "infra_failures" not in json.loads(path.read_text())["clearance"]


def test_a_replay_only_run_reports_a_recorded_failure_as_infra_with_the_fix(
    setup: Any,
) -> None:
    config, catalog = setup
    run(config, catalog, ScriptedNetwork().transport, mode="once", cases=("server_error", "ok"))
    outcome = run(config, catalog, NoNetwork(), mode="none", cases=("server_error", "ok"))
    failed = outcome.outcomes[(STEADY, "server_error", 1)]
    assert failed.result.verdict == "infra_error"
    assert failed.result.failure_code == "infra_error"  # never a model failure code
    assert not failed.recording_problem  # infrastructure, not a broken recording
    assert type(failed.error).__name__ == "RecordedProviderFailure"
    evidence = failed.result.evidence
    assert evidence["from_recording"] is True
    assert (evidence["kind"], evidence["status_code"]) == ("server_error", 500)
    assert evidence["provider_message"] == "upstream broke"
    text = failed.explain()
    assert "holds a provider failure, not the model's answer" in text
    assert "HTTP 500 (server_error): upstream broke" in text
    assert "clearance eval --models ref:ref/steady --cases server_error --record-mode new" in text
    assert outcome.outcomes[(STEADY, "ok", 1)].result.verdict == "pass"


def test_a_timeout_is_kept_as_a_failure_and_replays_as_one(setup: Any) -> None:
    config, catalog = setup

    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    first = run(config, catalog, httpx.MockTransport(hang), mode="once", cases=("ok",), trials=1)
    assert first.outcomes[(STEADY, "ok", 1)].result.evidence["kind"] == "timeout"
    replayed = run(config, catalog, NoNetwork(), mode="none", cases=("ok",), trials=1)
    result = replayed.outcomes[(STEADY, "ok", 1)]
    assert not result.recording_problem  # not "missing": the recording says what happened
    assert result.result.evidence["kind"] == "timeout"
    assert result.result.evidence["provider_message"] == (
        "no complete answer within timeout_s=60 s of the request (ReadTimeout)"
    )


def test_a_model_none_of_whose_items_was_judged_is_named_with_the_cause(setup: Any) -> None:
    config, catalog = setup
    failing = ScriptedNetwork(failing_models={"ref/steady"})
    outcome = run(
        config, catalog, failing.transport, models=(STEADY, SLOPPY), cases=("ok", "wrong_tool")
    )
    assert outcome.unjudged_models() == {
        STEADY: f"{STEADY}: all 4 items failed on infrastructure "
        "(HTTP 500 from provider: upstream broke); nothing was judged"
    }
    partly = run(config, catalog, ScriptedNetwork().transport, cases=("ok", "server_error"))
    assert partly.unjudged_models() == {}


def test_a_changed_contract_makes_its_recordings_stale(setup: Any, project: Path) -> None:
    config, catalog = setup
    run(config, catalog, ScriptedNetwork().transport, cases=("ok",))
    path = project / "contracts" / "tools" / "book" / "1.0.0.yaml"
    path.write_text(path.read_text().replace("Book a meeting", "Book one meeting"))
    outcome = run(config, catalog, NoNetwork(), mode="none", cases=("ok",))
    first = outcome.outcomes[(STEADY, "ok", 1)]
    assert first.recording_problem
    assert "book" in first.explain()
    assert type(first.error).__name__ == "StaleRecording"


def test_fallback_served_answers_do_not_count_for_the_candidate(setup: Any) -> None:
    config, catalog = setup
    network = ScriptedNetwork(failing_models={"ref/steady"})
    run(config, catalog, network.transport, cases=("ok",), trials=1)  # registers the models
    with catalog.begin() as connection:
        set_fallback_chain(connection, STEADY, [SLOPPY])
        set_enabled(connection, SLOPPY, True)  # a fallback must be enabled to serve
    outcome = run(config, catalog, network.transport, cases=("ok",), trials=1)
    result = outcome.outcomes[(STEADY, "ok", 1)].result
    assert result.verdict == "infra_error"
    assert result.fallback_served is True
    assert result.served_model == SLOPPY
    assert result.evidence["kind"] == "fallback_served"
    assert result.evidence["fallback_reason"] == "server_error"


def test_the_cost_cap_stops_the_run_cleanly_and_says_how_far_it_got(setup: Any) -> None:
    config, catalog = setup
    # each call: 1000 prompt + 100 completion tokens at ref/steady's price = 0.00065 USD
    outcome = run(
        config,
        catalog,
        ScriptedNetwork().transport,
        cost_cap=Decimal("0.002"),
        concurrency=1,
    )
    assert outcome.status == "stopped"
    assert outcome.spend >= Decimal("0.002")
    done = len(outcome.outcomes)
    assert 0 < done < outcome.planned
    assert f"{done} of {outcome.planned} items run" in outcome.note
    stored = ResultStore(catalog).run(outcome.run_id)
    assert stored.status == "stopped"
    assert stored.spend == outcome.spend


def test_two_shards_write_one_complete_run(setup: Any) -> None:
    config, catalog = setup
    network = ScriptedNetwork()
    first = run(config, catalog, network.transport, shard=(1, 2), run_id="ci-42")
    store = ResultStore(catalog)
    assert store.run("ci-42").status == "running"
    second = run(config, catalog, network.transport, shard=(2, 2), run_id="ci-42")
    assert set(first.outcomes).isdisjoint(second.outcomes)
    frame = store.results("ci-42")
    assert len(frame) == len(EXPECTED_CODES) * 2
    assert set(frame["shard"]) == {1, 2}
    record = store.run("ci-42")
    assert record.status == "complete"
    assert record.spend == first.spend + second.spend


def test_a_sharded_run_needs_a_shared_run_id(setup: Any) -> None:
    config, catalog = setup
    with pytest.raises(InputError, match="run id"):
        run(config, catalog, ScriptedNetwork().transport, shard=(1, 2))


def test_shards_split_pairs_evenly_and_keep_trials_together() -> None:
    suite_cases = [type("C", (), {"id": f"c{i}"})() for i in range(7)]
    plans = [plan_items(["a", "b"], suite_cases, 3, (i, 3)) for i in (1, 2, 3)]  # type: ignore[arg-type]
    pairs = [{(it.model_id, it.case.id) for it in plan} for plan in plans]
    assert sum(len(p) for p in pairs) == 14
    assert max(len(p) for p in pairs) - min(len(p) for p in pairs) <= 1
    for plan in plans:
        assert len(plan) == 3 * len({(it.model_id, it.case.id) for it in plan})
    assert parse_shard("2/8") == (2, 8)
    for bad in ("0/2", "3/2", "x", "1/0"):
        with pytest.raises(InputError):
            parse_shard(bad)


def test_secrets_never_reach_a_cassette(setup: Any, project: Path) -> None:
    config, catalog = setup
    secret = "sk-or-v1-" + "9f" * 24
    network = ScriptedNetwork()
    suite = load_suites(config, ["contracts"])
    evaluation = Evaluation(
        config,
        catalog,
        suite,
        [STEADY],
        cases=select_cases(suite.cases, ["ok"]),
        record_mode="all",
        network=network.transport,
        environ={"REF_API_KEY": secret},
        providers=SimulatorProviders(),
    )
    _set_key_variable(catalog, "REF_API_KEY")  # after the engine registered the provider
    evaluation.run()
    assert network.requests, "the request went out"
    assert network.requests[0]["headers"]["authorization"] == f"Bearer {secret}"
    cassettes = list((project / "evals" / "cassettes").rglob("*.json"))
    assert cassettes
    for path in cassettes:
        text = path.read_text()
        assert secret not in text
        assert "authorization" not in text.lower()
        assert scan_for_secrets(path) == []


def _set_key_variable(catalog: Catalog, variable: str) -> None:
    with catalog.begin() as connection:
        connection.execute(
            t.providers.update().where(t.providers.c.name == "ref").values(api_key_env=variable)
        )
    with catalog.connect() as connection:
        assert (
            connection.execute(
                select(t.providers.c.api_key_env).where(t.providers.c.name == "ref")
            ).scalar_one()
            == variable
        )


class _Gauge:
    """The scripted network, answering after a short wait, with what was in flight."""

    def __init__(self) -> None:
        import asyncio

        self._sleep = asyncio.sleep
        self.scripted = ScriptedNetwork()
        self.now: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.pairs: dict[tuple[str, str], int] = {}
        self.most_per_pair = 0
        self.transport = httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        model = body["model"]
        first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        pair = (model, first_user)
        self.now[model] = self.now.get(model, 0) + 1
        self.pairs[pair] = self.pairs.get(pair, 0) + 1
        self.most[model] = max(self.most.get(model, 0), self.now[model])
        self.most_per_pair = max(self.most_per_pair, self.pairs[pair])
        try:
            await self._sleep(0.01)
            return self.scripted.handle(request)
        finally:
            self.now[model] -= 1
            self.pairs[pair] -= 1


def test_concurrency_counts_requests_per_model_and_trials_run_at_once(setup: Any) -> None:
    config, catalog = setup
    gauge = _Gauge()
    cases = ("ok", "wrong_tool", "flow_ok", "extra_call")
    recorded = run(
        config,
        catalog,
        gauge.transport,
        models=(STEADY, SLOPPY),
        cases=cases,
        trials=3,
        concurrency=2,
    )
    assert recorded.status == "complete"
    # never more than 2 requests of one model in flight, and the 2 slots were used
    assert set(gauge.most.values()) == {2}
    assert gauge.most_per_pair >= 2  # trials of one (model, case) overlapped
    replayed = run(
        config, catalog, NoNetwork(), models=(STEADY, SLOPPY), cases=cases, trials=3, mode="none"
    )
    verdicts = {key: o.result.verdict for key, o in recorded.outcomes.items()}
    assert {key: o.result.verdict for key, o in replayed.outcomes.items()} == verdicts
    assert len(verdicts) == 2 * len(cases) * 3


@pytest.mark.parametrize("concurrency", [1, 4])
def test_the_cost_cap_starts_no_trial_once_reached(setup: Any, concurrency: int) -> None:
    config, catalog = setup
    network = ScriptedNetwork()
    outcome = run(
        config,
        catalog,
        network.transport,
        cost_cap=Decimal("0.002"),
        concurrency=concurrency,
        trials=3,
    )
    assert outcome.status == "stopped"
    done = len(outcome.outcomes)
    assert 0 < done < outcome.planned
    assert f"{done} of {outcome.planned} items run" in outcome.note
    # every call made belongs to a stored trial: a trial the cap stopped sent nothing
    stored = ResultStore(catalog).results(outcome.run_id)
    assert len(stored) == done
    assert sum(stored["cost"]) == outcome.spend
