"""``clearance eval --until-decided`` end to end, through the CLI against the simulator
(the unit tests of ``gate.adaptive`` are in tests/test_gate_adaptive.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.cli import app

REPO = Path(__file__).resolve().parents[1]


def _project(root: Path) -> Path:
    shutil.copytree(REPO / "contracts", root / "contracts")
    shutil.copytree(REPO / "gates", root / "gates")
    (root / "clearance.toml").write_text(
        f"""
[catalog]
database_url = "sqlite:///{root / "catalog.db"}"
[gate]
require_decision = false
policy = "default"
[evals]
models = ["ref:ref/steady", "ref:ref/sloppy"]
suites = ["contracts", "flows"]
trials = 3
cassettes = "evals/cassettes"
""",
        encoding="utf-8",
    )
    return root / "clearance.toml"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


def _decisions(output: str) -> list[str]:
    start = output.index("until decided")
    return output[start:].splitlines()


@pytest.mark.slow
def test_eval_until_decided_records_against_the_simulator_and_replays_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARANCE_CONFIG", str(_project(tmp_path)))
    code, recorded = _invoke("eval", "--until-decided", "--record-mode", "all")
    assert code == 0, recorded
    lines = _decisions(recorded)
    assert "  ref:ref/sloppy: disable" in lines
    assert "  ref:ref/steady: enable" in lines
    saved = lines[-1]
    assert " saved (" in saved
    assert not saved.strip().startswith("0 ")
    # the cassettes hold exactly the trials played, and replaying them decides the same
    code, first = _invoke("eval", "--until-decided", "--record-mode", "none")
    assert code == 0, first
    code, second = _invoke("eval", "--until-decided", "--record-mode", "none")
    assert code == 0, second
    assert _decisions(first) == _decisions(second) == lines
    # the gate judging the stored adaptive run takes the decision the run stopped on
    code, gated = _invoke("gate", "--dry-run", "--json")
    assert '"decision": "disable"' in gated
    assert '"decision": "enable"' in gated


def test_budget_and_max_trials_need_until_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARANCE_CONFIG", str(_project(tmp_path)))
    code, out = _invoke("eval", "--budget", "1.00", "--record-mode", "none")
    assert code == 2
    assert "--until-decided" in out
    code, out = _invoke("eval", "--until-decided", "--budget", "lots", "--record-mode", "none")
    assert code == 2
    assert "--budget 'lots'" in out
