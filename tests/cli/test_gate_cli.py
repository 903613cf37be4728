"""``clearance gate``, ``clearance decisions`` and the audited ``clearance models`` overrides.

An eval project (tests/support/evalproject.py) is evaluated in-process with the
scripted network of tests/test_gate_run.py (``ref/steady`` right on every case,
``ref/sloppy`` mostly wrong), then every command runs through typer's runner against
its SQLite catalog. The catalog layer itself is tested on both back ends in
tests/test_gate_store.py.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from clearance.catalog.database import open_catalog
from clearance.catalog.gatestore import latest_decisions
from clearance.cli import app
from clearance.evaluation.cases import load_suites
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import SimulatorProviders
from tests.support.evalproject import SLOPPY, STEADY, make_project
from tests.test_gate_run import POLICY, answer

FLAKY = "ref:ref/flaky"
REQUIRE_STEADY = POLICY + 'required_models: ["ref:ref/steady"]\n'


def invoke(*args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def as_json(*args: str, code: int = 0) -> Any:
    return json.loads(invoke(*args, "--json", code=code)[0])


class Gated:
    """A project folder with a gate policy, and a way to evaluate models into its catalog."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = make_project(root, f"sqlite:///{root / 'catalog.db'}")
        (root / "gates").mkdir()
        self.write_policy(REQUIRE_STEADY)

    def write_policy(self, text: str) -> None:
        (self.root / "gates" / "release.yaml").write_text(text)

    def evaluate(self, models: tuple[str, ...] = (STEADY, SLOPPY)) -> str:
        catalog = open_catalog(self.config.resolved_database_url())
        try:
            suite = load_suites(self.config, ["contracts", "flows"])
            outcome = Evaluation(
                self.config,
                catalog,
                suite,
                list(models),
                cases=[case for case in suite.cases if case.id != "turn_limit"],
                trials=3,
                record_mode="all",
                network=httpx.MockTransport(answer),
                environ={},
                providers=SimulatorProviders(),
            ).run()
        finally:
            catalog.dispose()
        return str(outcome.run_id)


@pytest.fixture
def gated(project: Path, monkeypatch: pytest.MonkeyPatch) -> Gated:
    made = Gated(project)
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return made


@pytest.fixture
def evaluated(gated: Gated) -> Gated:
    gated.evaluate()
    return gated


def decisions(model: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = as_json("decisions", "show", model)
    return rows


def listed() -> dict[str, dict[str, Any]]:
    return {entry["model_id"]: entry for entry in as_json("decisions", "list")}


# --- clearance gate ------------------------------------------------------------------------


def test_gate_exits_0_when_the_required_models_pass_and_prints_json(gated: Gated) -> None:
    run_id = gated.evaluate()
    document = as_json("gate", "--policy", "release")
    assert set(document) >= {
        "policy",
        "run_ids",
        "decided_at",
        "expires_at",
        "written",
        "exit_code",
        "missing",
        "stale",
        "models",
    }
    assert document["policy"]["name"] == "release"
    assert Path(document["policy"]["path"]).resolve() == gated.root / "gates" / "release.yaml"
    assert document["policy"]["hash"] == hashlib.sha256(REQUIRE_STEADY.encode()).hexdigest()
    assert document["run_ids"] == [run_id]
    assert (document["written"], document["exit_code"]) == (True, 0)
    assert (document["missing"], document["stale"]) == ([], {})
    decided = dt.datetime.fromisoformat(document["decided_at"])
    expires = dt.datetime.fromisoformat(document["expires_at"])
    assert expires - decided == dt.timedelta(days=7)
    models = {model["model_id"]: model for model in document["models"]}
    assert list(models) == [SLOPPY, STEADY]
    steady, sloppy = models[STEADY], models[SLOPPY]
    assert (steady["decision"], steady["required"], steady["baseline"]) == ("enable", True, None)
    assert steady["effective"]["allows"] is True
    assert steady["effective"]["label"] == "enable"
    assert steady["effective"]["detail"].startswith("enabled by gate policy release at ")
    assert steady["reasons"] == []
    assert [c["name"] for c in steady["checks"]][:3] == [
        "infra_error_share",
        "min_trials_per_case",
        "criticality.critical",
    ]
    critical = steady["checks"][2]
    assert (critical["verdict"], critical["measured"], critical["threshold"]) == (
        "pass",
        1.0,
        0.6,
    )
    assert (sloppy["decision"], sloppy["required"]) == ("disable", False)
    assert sloppy["effective"] == {
        "allows": False,
        "label": "disable",
        "detail": sloppy["effective"]["detail"],
    }
    assert sloppy["repro"][1] == "clearance gate --policy release --models ref:ref/sloppy --dry-run"


def test_gate_exits_1_when_a_required_model_fails_and_says_why(evaluated: Gated) -> None:
    evaluated.write_policy(POLICY)  # no required_models: every evaluated model is required
    out, _ = invoke("gate", "--policy", "release", code=1)
    assert "gate policy release (" in out
    assert "ref:ref/sloppy: disable" in out
    assert "criticality.critical fail: 3/27 passed over 9 cases" in out
    assert "cases: argument_mismatch, extra_call, invalid_json" in out
    assert "reproduce: clearance eval --models ref:ref/sloppy --cases " in out
    assert "decisions written to the catalog (they expire: " in out
    assert out.rstrip().endswith("gate failed")
    assert "ref:ref/steady: " not in out  # passed models get no failure section


def test_gate_usage_and_configuration_errors_exit_2(gated: Gated) -> None:
    _, err = invoke("gate", "--policy", "release", code=2)
    assert "there is no complete eval run to judge in the catalog" in err
    gated.evaluate((STEADY,))
    _, err = invoke("gate", code=2)  # [gate] policy defaults to "default"
    assert "no gate policy named 'default'" in err
    assert "(found: release)" in err
    _, err = invoke("gate", "--policy", "nosuch", code=2)
    assert "no gate policy named 'nosuch'" in err
    _, err = invoke("gate", "--policy", "release", "--run", "nope", code=2)
    assert "no eval run 'nope' in the catalog" in err

    (gated.root / "broken.yaml").write_text("version: 1\nname: [release\n")
    _, err = invoke("gate", "--policy", "broken.yaml", code=2)
    assert "broken.yaml" in err
    assert "not valid YAML at line" in err
    (gated.root / "typo.yaml").write_text(POLICY.replace("confidence:", "confidense:"))
    _, err = invoke("gate", "--policy", "typo.yaml", code=2)
    assert "unknown key 'confidense' at line 3" in err
    assert "did you mean 'confidence'?" in err
    catalog = open_catalog(gated.config.resolved_database_url())
    try:
        with catalog.connect() as connection:
            assert latest_decisions(connection) == ({}, {})  # no error wrote anything
    finally:
        catalog.dispose()


def test_a_dry_run_prints_the_decisions_and_writes_none(evaluated: Gated) -> None:
    out, _ = invoke("gate", "--policy", "release", "--dry-run")
    assert "dry run: nothing written to the catalog" in out
    assert "gate passed" in out
    document = as_json("gate", "--policy", "release", "--dry-run")
    assert document["written"] is False
    assert all(model["effective"] is None for model in document["models"])
    states = listed()
    assert {states[m]["label"] for m in (STEADY, SLOPPY)} == {"ungated"}
    assert decisions(STEADY) == []


def test_decisions_list_and_show_report_the_stored_decisions(evaluated: Gated) -> None:
    run_id = as_json("gate", "--policy", "release")["run_ids"][0]
    states = listed()
    assert (states[STEADY]["allows"], states[STEADY]["label"]) == (True, "enable")
    assert states[STEADY]["decision"]["policy_name"] == "release"
    assert states[STEADY]["override"] is None
    assert (states[SLOPPY]["allows"], states[SLOPPY]["label"]) == (False, "disable")
    # never gated, and [gate] require_decision = false in this project: served
    assert (states[FLAKY]["allows"], states[FLAKY]["label"]) == (True, "ungated")
    out, _ = invoke("decisions", "list")
    assert "gate state of" in out
    assert "ref:ref/sloppy" in out

    (row,) = decisions(STEADY)
    assert (row["decision"], row["override"], row["eval_run_ids"]) == ("enable", False, [run_id])
    assert (row["decided_by"], row["host"]) == (getpass.getuser(), socket.gethostname())
    assert len(row["contract_hashes"]) == 14  # 12 cases and 2 contracts
    assert len(row["recordings"]) == 12
    out, _ = invoke("decisions", "show", "ref/sloppy")  # a bare name unique in the catalog
    assert f"gate (release): disable by {getpass.getuser()} on {socket.gethostname()}" in out
    assert "criticality.critical: 3/27 passed over 9 cases" in out
    assert f"runs {run_id}; policy hash " in out
    assert "14 contract/case hashes; 12 recordings" in out
    out, _ = invoke("decisions", "show", FLAKY)
    assert "no gate decision or override yet" in out


# --- overrides -----------------------------------------------------------------------------


def test_a_hand_change_against_the_gate_needs_override_and_is_audited(
    evaluated: Gated,
) -> None:
    invoke("gate", "--policy", "release")
    _, err = invoke("models", "enable", SLOPPY, "--reason", "vendor fixed it", code=2)
    assert "the gate's state disagrees: gate policy release decided disable" in err
    assert "pass --override to enable it anyway" in err
    assert len(decisions(SLOPPY)) == 1  # refused: nothing recorded

    out, _ = invoke("models", "enable", SLOPPY, "--reason", "vendor fixed it", "--override")
    assert "ref:ref/sloppy: disable -> override:enable (override recorded: vendor fixed it)" in out
    assert f"now: enabled by hand by {getpass.getuser()}" in out
    newest = decisions(SLOPPY)[0]
    assert (newest["override"], newest["decision"], newest["reason"]) == (
        True,
        "enable",
        "vendor fixed it",
    )
    assert (newest["decided_by"], newest["host"]) == (getpass.getuser(), socket.gethostname())
    assert newest["expires_at"] is None
    model = next(m for m in as_json("models", "list") if m["id"] == SLOPPY)
    assert (model["enabled"], model["gate_status"]) == (True, "override:enable")

    # the next gate run judges it again, but does not undo the person's decision
    out, _ = invoke("gate", "--policy", "release")
    assert "in force instead: enabled by hand by" in out
    assert listed()[SLOPPY]["label"] == "override:enable"
    assert [(r["override"], r["decision"]) for r in decisions(SLOPPY)] == [
        (False, "disable"),
        (True, "enable"),
        (False, "disable"),
    ]

    out, _ = invoke("models", "clear-override", SLOPPY, "--reason", "back to the gate")
    assert "override:enable -> disable" in out
    assert listed()[SLOPPY]["allows"] is False
    assert decisions(SLOPPY)[0]["decision"] == "clear"
    out, _ = invoke("models", "clear-override", SLOPPY, "--reason", "again")
    assert "no override in force" in out
    assert decisions(SLOPPY)[0]["reason"] == "back to the gate"


def test_a_hand_change_the_gate_agrees_with_or_that_expires(evaluated: Gated) -> None:
    invoke("gate", "--policy", "release")
    _, err = invoke("models", "disable", STEADY, "--reason", "cost", code=2)
    assert "the gate's state disagrees: enabled by gate policy release" in err
    out, _ = invoke("models", "enable", STEADY, "--reason", "sure")
    assert "is already served" in out
    assert len(decisions(STEADY)) == 1  # nothing recorded

    before = dt.datetime.now(dt.UTC)
    invoke(
        "models",
        "disable",
        STEADY,
        "--reason",
        "incident 42",
        "--override",
        "--expires-in-days",
        "2",
    )
    newest = decisions(STEADY)[0]
    expires = dt.datetime.fromisoformat(newest["expires_at"])
    assert (
        before + dt.timedelta(days=2) <= expires <= dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    )
    assert listed()[STEADY]["label"] == "override:disable"
    invoke("models", "enable", STEADY, code=2)  # --reason is required


def test_an_ungated_model_needs_no_override_unless_a_decision_is_required(
    evaluated: Gated, monkeypatch: pytest.MonkeyPatch
) -> None:
    # [gate] require_decision = false: no gate decision to go against
    out, _ = invoke("models", "disable", FLAKY, "--reason", "not reviewed yet")
    assert "ungated -> override:disable" in out
    invoke("models", "clear-override", FLAKY, "--reason", "reviewed")
    assert listed()[FLAKY]["label"] == "ungated"

    monkeypatch.setenv("CLEARANCE_GATE_REQUIRE_DECISION", "true")
    assert listed()[FLAKY]["allows"] is False
    _, err = invoke("models", "enable", FLAKY, "--reason", "trust me", code=2)
    assert "has no gate decision" in err
    out, _ = invoke("models", "enable", FLAKY, "--reason", "trust me", "--override")
    assert "ungated -> override:enable" in out


# --- CI outputs ----------------------------------------------------------------------------


def test_ci_writes_junit_and_markdown_and_appends_to_the_step_summary(
    evaluated: Gated, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clearance.gate.ci  # noqa: F401  (the project's own: an ImportError fails)

    evaluated.write_policy(POLICY)  # both models required: the gate fails
    step = evaluated.root / "step-summary.md"
    step.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    out, _ = invoke("gate", "--policy", "release", "--ci", code=1)
    junit = evaluated.root / "reports" / "gate-junit.xml"
    summary = evaluated.root / "reports" / "gate-summary.md"
    assert f"wrote {junit}" in out
    assert f"wrote {summary}" in out

    root = ET.fromstring(junit.read_text())
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"gate: ref:ref/sloppy", "gate: ref:ref/steady"}
    steady, sloppy = suites["gate: ref:ref/steady"], suites["gate: ref:ref/sloppy"]
    assert (steady.get("tests"), steady.get("failures")) == ("9", "0")
    failed = {
        case.get("name") for case in sloppy.iter("testcase") if case.find("failure") is not None
    }
    assert {"criticality.critical", "min_trials_per_case"} <= failed
    assert root.get("failures") == str(len(failed))
    properties = {p.get("name"): p.get("value") for p in sloppy.iter("property")}
    assert (properties["decision"], properties["policy.name"]) == ("disable", "release")

    markdown = summary.read_text()
    assert markdown.startswith("## ❌ clearance gate failed (exit code 1)")
    assert "ref:ref/sloppy" in markdown
    assert step.read_text() == "# earlier step\n\n" + markdown

    # explicit paths, without --ci
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    evaluated.write_policy(REQUIRE_STEADY)
    target = evaluated.root / "out"
    invoke(
        "gate",
        "--policy",
        "release",
        "--junit",
        str(target / "j.xml"),
        "--summary",
        str(target / "s.md"),
    )
    assert (target / "s.md").read_text().startswith("## ✅ clearance gate passed (exit code 0)")
    assert ET.fromstring((target / "j.xml").read_text()).get("failures") == "0"


def test_a_required_model_the_catalog_lacks_names_the_policy_file_and_required_models(
    gated: Gated,
) -> None:
    """A policy copied from another project names models this one never synced."""
    gated.evaluate()
    gated.write_policy(POLICY + 'required_models: ["mine:gpt-mock"]\n')
    _, err = invoke("gate", "--policy", "release", code=2)
    policy_file = gated.root / "gates" / "release.yaml"
    assert (
        f"model 'mine:gpt-mock', in required_models of {policy_file}, is not in the catalog" in err
    )
    assert f"remove it from required_models in {policy_file}" in err
