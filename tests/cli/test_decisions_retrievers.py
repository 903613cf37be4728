"""``clearance decisions list`` shows the retriever configurations beside the models, and
alone with ``--retrievers``: each one's retrieval-gate state as the router sees it now."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clearance.catalog.database import open_catalog
from clearance.catalog.retrieverdecisions import record_retriever_decision
from clearance.cli import app
from clearance.config import load_config
from clearance.knowledge.configured import config_document, config_fingerprint

TOML = """\
[catalog]
database_url = "sqlite:///catalog.db"

[[retrievers]]
name = "lexical-k5"
k = 5

[[retrievers]]
name = "hybrid-k3"
kind = "hybrid"
embedder = "hashing"
k = 3

[[retrievers]]
name = "lexical-k9"
k = 9

[knowledge]
default_retriever = "lexical-k5"
org_retrievers = { globex = "hybrid-k3", initech = "hybrid-k3" }
"""
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """lexical-k5 enabled, hybrid-k3 inconclusive, lexical-k9 never judged, and an old
    enable of lexical-k2, no longer declared."""
    (tmp_path / "clearance.toml").write_text(TOML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLEARANCE_CONFIG", raising=False)
    monkeypatch.delenv("CLEARANCE_DATABASE_URL", raising=False)
    config = load_config(environ={}, cwd=tmp_path)
    catalog = open_catalog(config.resolved_database_url())
    decided = {
        "lexical-k5": ("enable", config_document(config.retriever("lexical-k5"))),
        "hybrid-k3": ("inconclusive", config_document(config.retriever("hybrid-k3"))),
        "lexical-k2": ("enable", {"name": "lexical-k2", "kind": "lexical", "k": 2}),
    }
    try:
        with catalog.begin() as connection:
            for name, (decision, document) in decided.items():
                record_retriever_decision(
                    connection,
                    retriever=name,
                    decision=decision,
                    reason=None,
                    checks=[],
                    config=document,
                    config_sha256=config_fingerprint(config.retriever(name))
                    if name != "lexical-k2"
                    else "2" * 64,
                    policy_name="retrieval",
                    policy_path=None,
                    policy_hash=None,
                    run_ids=["r1"],
                    decided_by="ci",
                    host=None,
                    decided_at=NOW - dt.timedelta(days=1),
                    expires_at=NOW + dt.timedelta(days=29),
                )
    finally:
        catalog.dispose()
    return tmp_path


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def listed() -> dict[str, Any]:
    return {
        state["retriever"]: state
        for state in json.loads(invoke("decisions", "list", "--retrievers", "--json"))
    }


def test_each_retriever_is_listed_with_whom_it_serves_and_whether_it_is_used(
    project: Path,
) -> None:
    states = listed()
    assert list(states) == ["lexical-k5", "hybrid-k3", "lexical-k9", "lexical-k2"]
    enabled = states["lexical-k5"]
    assert (enabled["allows"], enabled["label"], enabled["serves"]) == (True, "enable", ["default"])
    assert enabled["decision"]["decided_by"] == "ci"
    assert enabled["decision"]["policy"]["name"] == "retrieval"
    hybrid = states["hybrid-k3"]
    assert (hybrid["allows"], hybrid["label"], hybrid["kind"]) == (False, "inconclusive", "hybrid")
    assert hybrid["serves"] == ["globex", "initech"]
    never = states["lexical-k9"]
    assert (never["allows"], never["label"], never["serves"], never["decision"]) == (
        False,
        "ungated",
        [],
        None,
    )
    # an enable on a configuration no longer declared is shown, never as used
    gone = states["lexical-k2"]
    assert (gone["declared"], gone["allows"], gone["label"]) == (False, False, "enable")
    assert "no longer in [[retrievers]]" in gone["detail"]


def test_a_changed_configuration_is_listed_as_changed(project: Path) -> None:
    toml = project / "clearance.toml"
    toml.write_text(toml.read_text().replace("k = 5", "k = 6"), encoding="utf-8")
    state = listed()["lexical-k5"]
    assert (state["allows"], state["label"]) == (False, "changed")


def test_the_models_table_is_followed_by_the_retrievers(project: Path) -> None:
    out = invoke("decisions", "list")
    assert "gate state of 0 models" in out
    retrievers = out.split("retrieval-gate state of 4 retrievers", 1)[1]
    rows = {line.split()[0]: line.split() for line in retrievers.splitlines() if line.strip()}
    assert rows["lexical-k5"][1:5] == ["lexical", "default", "yes", "enable"]
    assert rows["hybrid-k3"][1:5] == ["hybrid", "globex,", "initech", "no"]
    assert rows["lexical-k9"][1:5] == ["lexical", "-", "no", "ungated"]
    # the models' JSON is unchanged: a list of models (here none)
    assert json.loads(invoke("decisions", "list", "--json")) == []


def test_without_retrievers_nothing_is_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "clearance.toml").write_text(
        '[catalog]\ndatabase_url = "sqlite:///catalog.db"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLEARANCE_CONFIG", raising=False)
    monkeypatch.delenv("CLEARANCE_DATABASE_URL", raising=False)
    assert "retriever" not in invoke("decisions", "list")
    assert "no retriever configuration: declare [[retrievers]]" in invoke(
        "decisions", "list", "--retrievers"
    )
    assert json.loads(invoke("decisions", "list", "--retrievers", "--json")) == []
