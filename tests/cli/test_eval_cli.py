"""``clearance eval`` and ``clearance runs``: replay recordings, summarize, export."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from clearance.catalog.database import open_catalog
from clearance.cli import app
from clearance.evaluation.cases import load_suites
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import SimulatorProviders
from tests.support.evalproject import SLOPPY, STEADY, ScriptedNetwork, make_project


@pytest.fixture
def recorded(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = make_project(
        project, f"sqlite:///{project / 'catalog.db'}", extra=f'models = ["{STEADY}"]'
    )
    catalog = open_catalog(config.resolved_database_url())
    try:
        Evaluation(
            config,
            catalog,
            load_suites(config, ["contracts", "flows"]),
            [STEADY],
            record_mode="all",
            network=ScriptedNetwork().transport,
            environ={},
            providers=SimulatorProviders(),
        ).run()
    finally:
        catalog.dispose()
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    return project


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_eval_replays_and_the_run_can_be_summarized_and_exported(recorded: Path) -> None:
    code, out, _ = invoke("eval", "--record-mode", "none", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["counts"] == {"pass": 4, "fail": 20, "infra_error": 2, "not_run": 0}
    assert document["models"][STEADY]["passed_share"] == round(4 / 24, 4)
    run_id = document["run_id"]

    code, out, _ = invoke("runs", "show", run_id, "--json")
    assert code == 0
    summary = json.loads(out)
    (model,) = summary["models"]
    assert model["model_id"] == STEADY
    assert model["infra_errors"] == 2

    code, out, _ = invoke("runs", "list", "--json")
    assert code == 0
    assert json.loads(out)[0]["run_id"] == run_id

    target = recorded / "run.jsonl"
    code, _, _ = invoke("runs", "export", run_id, "--out", str(target))
    assert code == 0
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines[0]["type"] == "run"
    assert len(lines) == 1 + 26
    assert {line["verdict"] for line in lines[1:]} == {"pass", "fail", "infra_error"}


def test_eval_lists_the_planned_items(recorded: Path) -> None:
    code, out, _ = invoke("eval", "--list", "--cases", "ok,flow_*")
    assert code == 0
    assert out.split() == [
        f"{STEADY}-flow_ok-t1",
        f"{STEADY}-flow_ok-t2",
        f"{STEADY}-ok-t1",
        f"{STEADY}-ok-t2",
    ]


def test_a_missing_recording_exits_1_with_the_command_that_re_records(recorded: Path) -> None:
    next((recorded / "evals" / "cassettes").rglob("ok.json")).unlink()
    code, _, err = invoke("eval", "--record-mode", "none", "--cases", "ok")
    assert code == 1
    assert "ref:ref/steady / ok / trial 1" in err
    assert "clearance eval --models ref:ref/steady --cases ok --record-mode new" in err


def test_bad_options_are_usage_errors(recorded: Path) -> None:
    assert invoke("eval", "--record-mode", "sometimes")[0] == 2
    assert invoke("eval", "--cost-cap", "lots")[0] == 2
    assert invoke("eval", "--shard", "3/2")[0] == 2
    code, _, err = invoke("runs", "show", "no-such-run")
    assert code == 2
    assert "no eval run 'no-such-run'" in err


# -- infrastructure errors -------------------------------------------------------------------

UPSTREAM_TOKEN = "tok-9f8e7d6c5b4a"  # a secret the provider echoed back in its message


def _record(project: Path, network: httpx.MockTransport, models: list[str]) -> None:
    config = make_project(
        project, f"sqlite:///{project / 'catalog.db'}", extra=f"models = {json.dumps(models)}"
    )
    catalog = open_catalog(config.resolved_database_url())
    try:
        suite = load_suites(config, ["contracts", "flows"])
        Evaluation(
            config,
            catalog,
            suite,
            models,
            record_mode="all",
            network=network,
            environ={},
            providers=SimulatorProviders(),
        ).run()
    finally:
        catalog.dispose()


def _leaky(request: httpx.Request) -> httpx.Response:
    """The scripted provider, whose 500s echo a secret and differ for ref/sloppy."""
    body = json.loads(request.content)
    if "[script:server_error]" in json.dumps(body["messages"]):
        message = f"upstream broke (token {UPSTREAM_TOKEN})"
        if body["model"] == "ref/sloppy":
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return httpx.Response(500, json={"error": {"message": message, "code": 500}})
    return ScriptedNetwork().handle(request)


def test_runs_show_gives_each_infra_errors_kind_status_and_message(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(project, httpx.MockTransport(_leaky), [STEADY, SLOPPY])
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    monkeypatch.setenv("UPSTREAM_TOKEN", UPSTREAM_TOKEN)  # its value is redacted everywhere
    code, out, _ = invoke("eval", "--record-mode", "none", "--cases", "ok,server_error", "--json")
    assert code == 0
    run_id = json.loads(out)["run_id"]

    code, out, _ = invoke("runs", "show", run_id, "--json")
    assert code == 0
    models = {model["model_id"]: model for model in json.loads(out)["models"]}
    assert models[STEADY]["infra_causes"] == [
        {
            "kind": "server_error",
            "status_code": 500,
            "trials": 2,
            "cases": ["server_error"],
            "messages": [{"message": "upstream broke (token <redacted>)", "trials": 2}],
            "other_messages": 0,
            "from_recording": 2,
            "fix": "record them again: clearance eval --models ref:ref/steady "
            "--cases server_error --record-mode new",
        }
    ]
    (sloppy,) = models[SLOPPY]["infra_causes"]
    assert (sloppy["status_code"], sloppy["messages"]) == (
        503,
        [{"message": "overloaded", "trials": 2}],
    )

    code, out, _ = invoke("runs", "show", run_id)
    assert code == 0
    assert UPSTREAM_TOKEN not in out
    table = out[out.index("infrastructure errors") :]
    rows = [line.split() for line in table.splitlines() if line.strip().startswith("ref:")]
    assert rows == [
        [SLOPPY, "server_error", "503", "2", "(2", "replayed)", "overloaded", "server_error"],
        [STEADY, "server_error", "500", "2", "(2", "replayed)", "upstream", "broke", "(token",
         "<redacted>)", "server_error"],
    ]  # fmt: skip
    assert (
        "fix: record them again: clearance eval --models ref:ref/sloppy --cases server_error" in out
    )


def test_eval_exits_3_when_every_item_of_a_model_failed_on_infrastructure(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(project, ScriptedNetwork(failing_models={"ref/steady"}).transport, [STEADY])
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    code, out, err = invoke("eval", "--record-mode", "none", "--cases", "ok,wrong_tool")
    assert code == 3  # infrastructure unavailable (README, "Exit codes")
    assert "0 passed, 0 failed, 4 infra errors" in out
    assert (
        "error: ref:ref/steady: all 4 items failed on infrastructure (HTTP 500 from provider: "
        "upstream broke [replayed from a recording]); nothing was judged"
    ) in err
    assert "fix: `clearance runs show " in err
    code, out, _ = invoke("eval", "--record-mode", "none", "--cases", "ok", "--json")
    assert code == 3  # infrastructure unavailable (README, "Exit codes")
    assert json.loads(out)["unjudged_models"] == {
        STEADY: "ref:ref/steady: all 2 items failed on infrastructure (HTTP 500 from provider: "
        "upstream broke [replayed from a recording]); nothing was judged"
    }
