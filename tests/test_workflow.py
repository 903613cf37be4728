"""The shipped GitHub Actions workflow: its PR job's steps run here, as CI would run them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "clearance.yml"


def _workflow() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(document, dict)
    return document


def test_the_workflow_gates_pull_requests_with_contracts_evals_and_the_gate() -> None:
    document = _workflow()
    triggers = document[True]  # YAML 1.1 reads the bare key `on` as true
    assert "pull_request" in triggers
    gate = document["jobs"]["gate"]
    runs = [step["run"] for step in gate["steps"] if "run" in step]
    assert any(run.startswith("clearance contracts check") for run in runs)
    replay = next(run for run in runs if "pytest evals" in run)
    assert "--clearance-record-mode=none" in replay
    assert any(run.startswith("clearance gate --ci") for run in runs)
    assert any(run.startswith("clearance report --run") for run in runs)
    assert gate["env"]["CI"] == "true"
    # a PR never writes to the production catalog: its catalog is a throwaway file
    assert gate["env"]["CLEARANCE_DATABASE_URL"].startswith("sqlite:///")
    publish = document["jobs"]["publish"]
    assert "refs/heads/main" in publish["if"]
    assert "secrets.CLEARANCE_DATABASE_URL" in publish["env"]["CLEARANCE_DATABASE_URL"]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What `actions/checkout` gives the job: the project files the steps read."""
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("contracts", "evals", "gates"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("clearance.toml", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    return root


@pytest.mark.slow
def test_the_pull_request_job_passes_on_this_repository(checkout: Path, tmp_path: Path) -> None:
    job = _workflow()["jobs"]["gate"]
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step's summary\n")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "CI": "true",
        "CLEARANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'ci.db'}",
        "CLEARANCE_RUN_ID": "ci-test-1",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    env.pop("CLEARANCE_CONFIG", None)
    for step in job["steps"]:
        if "run" not in step or step.get("id") == "install":
            continue  # `uses:` actions and the install are GitHub's / already done here
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"step {step['name']!r}:\n{done.stdout}\n{done.stderr}"
    text = summary.read_text()
    assert text.startswith("earlier step's summary\n")  # appended, not overwritten
    assert "ref:ref/sloppy" in text
    junit = ET.parse(checkout / "reports" / "gate-junit.xml").getroot()
    assert junit.tag == "testsuites"
    assert int(junit.get("failures", "0")) == 0  # sloppy is disabled but not required
    assert (checkout / "reports" / "evals-junit.xml").is_file()
    index = (checkout / "reports" / "html" / "index.html").read_text()
    assert '<tr data-model="ref:ref/sloppy">' in index
