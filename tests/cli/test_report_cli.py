"""``clearance report``: the HTML report from the command line, on an empty and a small store.

The store is written by hand as in tests/reports/test_report.py (whose builders are
reused); the report itself is checked there, here only what the command prints, writes
and exits with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clearance.catalog.database import Catalog, open_catalog
from clearance.cli import app
from clearance.evaluation.results import ResultStore
from clearance.reports import model_slug
from tests.reports.test_report import BAD, GOOD, NOW, NOW_START, Clock, add_models, run

POLICY = """\
version: 1
name: release
confidence: 0.9
criticality:
  critical: {min_lower_bound: 0.5}
flows: {min_lower_bound: 0.3}
min_trials_per_case: 2
"""


def invoke(*args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, ["report", *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout, result.stderr


@pytest.fixture
def catalog_path(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose configuration names a SQLite catalog and the ``release`` policy."""
    path = project / "catalog.db"
    (project / "clearance.toml").write_text(
        f'[catalog]\ndatabase_url = "sqlite:///{path}"\n[gate]\npolicy = "release"\n'
    )
    (project / "gates").mkdir()
    (project / "gates" / "release.yaml").write_text(POLICY)
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    return path


@pytest.fixture
def stored(catalog_path: Path) -> Path:
    """The catalog with run ``r-now`` of tests/reports/test_report.py (no decisions)."""
    catalog: Catalog = open_catalog(f"sqlite:///{catalog_path}")
    try:
        clock = Clock()
        add_models(catalog, GOOD, BAD, simulated=[GOOD])
        items = [item for trials in NOW for item in trials.items(None)]
        run(ResultStore(catalog, clock=clock), clock, "r-now", NOW_START, items, [GOOD, BAD])
    finally:
        catalog.dispose()
    return catalog_path


def test_an_empty_catalog_writes_a_page_saying_so(catalog_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "html"
    stdout, _ = invoke("--out", str(out))
    assert "nothing to report yet: the catalog holds no eval results" in stdout
    assert f"report: {out / 'index.html'} (1 files" in stdout
    assert "Nothing to report yet" in (out / "index.html").read_text(encoding="utf-8")


def test_a_store_gives_the_index_and_the_verdicts(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "html"
    stdout, _ = invoke("--out", str(out))
    # p:bad book [0.106, 0.679] and flows [0.164, 0.836] straddle their bars: inconclusive
    assert "run r-now: p:bad inconclusive, p:good enable" in stdout
    assert f"report: {out / 'index.html'} (3 files, " in stdout
    for model in (GOOD, BAD):
        assert (out / "models" / f"{model_slug(model)}.html").is_file()

    document: dict[str, Any] = json.loads(invoke("--out", str(out), "--json")[0])
    assert document["index"] == str(out / "index.html")
    assert document["files"] == 3
    assert document["bytes"] == sum(p.stat().st_size for p in out.rglob("*.html"))
    assert document["run_id"] == "r-now"
    assert document["models"] == [
        {"model_id": BAD, "verdict": "inconclusive", "simulated": False},
        {"model_id": GOOD, "verdict": "enable", "simulated": True},
    ]


def test_one_model_only(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "html"
    document = json.loads(invoke("--out", str(out), "--models", GOOD, "--json")[0])
    assert [m["model_id"] for m in document["models"]] == [GOOD]
    assert sorted(p.name for p in (out / "models").iterdir()) == [f"{model_slug(GOOD)}.html"]


def test_an_unknown_run_exits_2_with_the_fix(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "html"
    _, stderr = invoke("--run", "nope", "--out", str(out), code=2)
    assert "error: no eval run 'nope' in the catalog" in stderr
    assert "fix: see `clearance runs list`" in stderr
    assert not out.exists()


def test_a_model_the_run_lacks_exits_2_naming_the_models_it_has(
    stored: Path, tmp_path: Path
) -> None:
    out = tmp_path / "html"
    _, stderr = invoke("--out", str(out), "--models", f"{GOOD}-typo", code=2)
    assert f"has no results for '{GOOD}-typo'" in stderr
    assert f"models in that run: {BAD}, {GOOD}" in " ".join(stderr.split())
    assert not out.exists()


def test_a_broken_slo_file_leaves_the_report_standing_and_says_so(
    stored: Path, tmp_path: Path
) -> None:
    (stored.parent / "gates" / "slo.yaml").write_text(
        "version: 1\nobjectives:\n  - {metric: nope}\n"
    )
    out = tmp_path / "html"
    stdout, stderr = invoke("--out", str(out))
    assert "warning: the SLO page was not written:" in stderr
    assert "slo.yaml: objectives.0.metric: unknown metric 'nope' at line 3" in stderr
    assert "fix: known metrics: tool_success_rate" in stderr
    assert not (out / "slo.html").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "the SLO page was not written" in index
    assert "run r-now:" in stdout  # the release report itself was written
