"""The retrieval gate: policy bars on retrieval intervals, enable / disable /
inconclusive per retriever configuration, decisions written with their provenance
(both dialects), and what clears a configuration for the router."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from clearance.catalog import retrievalruns
from clearance.catalog.database import Catalog
from clearance.catalog.retrieverdecisions import latest_retriever_decisions
from clearance.cli import app
from clearance.config import RetrieverConfig, load_config
from clearance.errors import ConfigError
from clearance.gate.policy import GatePolicy, load_policy
from clearance.gate.retrieval import (
    decide_retriever,
    retriever_clearance,
    run_retrieval_gate,
)
from clearance.gate.run import run_gate
from clearance.knowledge.evalrun import run_retrieval_eval
from tests.knowledge.test_retrieval_eval import ingest, project

POLICY = """\
version: 1
name: retrieval
expires_after_days: 7
retrieval:
  recall_at_k: {min_lower_bound: 0.5}
  mrr: {min_lower_bound: 0.5}
"""
NOW = dt.datetime(2026, 12, 8, 12, tzinfo=dt.UTC)


def policy(tmp_path: Path, text: str = POLICY) -> GatePolicy:
    path = tmp_path / "retrieval.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def score(low: float, high: float, mean: float | None = None) -> retrievalruns.ScoreRow:
    middle = (low + high) / 2 if mean is None else mean
    interval = retrievalruns.Interval(middle, low, high)
    return retrievalruns.ScoreRow(
        run_id="r1",
        retriever="lex",
        org_id="acme",
        knowledge_base="kb",
        config={},
        config_sha256="0" * 64,
        query_set="q.yaml",
        query_set_sha256="1" * 64,
        k=5,
        queries=10,
        clusters=4,
        recall=interval,
        mrr=interval,
        ndcg=interval,
    )


def test_a_policy_may_check_retrievers_only(tmp_path: Path) -> None:
    loaded = policy(tmp_path)
    assert loaded.retrieval is not None
    assert list(loaded.retrieval.bars()) == ["recall_at_k", "mrr"]
    assert loaded.checks_models is False


def test_a_retrieval_section_that_checks_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="retrieval checks nothing") as caught:
        policy(tmp_path, "version: 1\nname: r\nretrieval: {}\n")
    assert caught.value.key == "retrieval"


def test_a_misspelt_metric_names_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'ndcg_at_10'"):
        policy(tmp_path, "version: 1\nname: r\nretrieval: {ndcg_at10: {min_lower_bound: 0.5}}\n")


def test_the_model_gate_refuses_a_retrieval_only_policy(tmp_path: Path) -> None:
    config = load_config(environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="checks retriever configurations only"):
        run_gate(config, None, policy=policy(tmp_path))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("low", "high", "decision"),
    [(0.5, 0.9, "enable"), (0.1, 0.49, "disable"), (0.4, 0.7, "inconclusive")],
)
def test_bounds_decide(tmp_path: Path, low: float, high: float, decision: str) -> None:
    verdict = decide_retriever("lex", [score(low, high)], policy(tmp_path))
    assert verdict.decision == decision
    assert len(verdict.checks) == 2
    assert bool(verdict.reasons) == (decision != "enable")


def test_one_failing_set_disables_and_no_scores_is_no_decision(tmp_path: Path) -> None:
    loaded = policy(tmp_path)
    assert decide_retriever("lex", [score(0.6, 0.9), score(0.1, 0.3)], loaded).decision == "disable"
    assert decide_retriever("lex", [score(0.6, 0.9), score(0.4, 0.9)], loaded).decision == (
        "inconclusive"
    )
    nothing = decide_retriever("lex", [], loaded)
    assert nothing.decision is None
    assert "clearance eval --suites retrieval" in nothing.reasons[0]


@given(
    low=st.floats(0, 1),
    width=st.floats(0, 1),
    bar=st.floats(0, 1),
)
def test_the_decision_is_monotone_in_the_bounds(low: float, width: float, bar: float) -> None:
    high = min(1.0, low + width)
    built = GatePolicy.model_validate(
        {"version": 1, "name": "p", "retrieval": {"ndcg_at_10": {"min_lower_bound": bar}}}
    )
    decision = decide_retriever("lex", [score(low, high)], built).decision
    assert (decision == "enable") == (low >= bar)
    assert (decision == "disable") == (high < bar)


def test_the_gate_writes_decisions_the_router_can_trust(
    catalog: Catalog, catalog_url: str, tmp_path: Path
) -> None:
    ingest(catalog)
    config = project(tmp_path, catalog_url)
    evaluated = run_retrieval_eval(config, catalog, resamples=200)
    loaded = policy(tmp_path)
    gate = run_retrieval_gate(config, catalog, policy=loaded, decided_by="ci", now=NOW)
    decisions = {v.retriever: v.decision for v in gate.verdicts}
    assert set(decisions) == {"lexical-k1", "hybrid-k3"}
    assert all(v.run_ids == (evaluated.run_id,) for v in gate.verdicts)
    assert gate.expires_at == NOW + dt.timedelta(days=7)
    with catalog.connect() as connection:
        stored = latest_retriever_decisions(connection)
    for name, decision in decisions.items():
        row = stored[name]
        assert row.decision == decision
        assert row.policy_hash == loaded.source_hash
        assert row.policy_name == "retrieval"
        assert row.run_ids == (evaluated.run_id,)
        assert row.decided_by == "ci"
        assert row.expires_at == NOW + dt.timedelta(days=7)
        assert row.checks[0]["min_lower_bound"] == 0.5
        entry = config.retriever(name)
        cleared = retriever_clearance(entry, row, now=NOW)
        assert cleared.allows == (decision == "enable")
        assert not retriever_clearance(entry, row, now=NOW + dt.timedelta(days=8)).allows
        edited = entry.model_copy(update={"k": entry.k + 1})
        assert retriever_clearance(edited, row, now=NOW).label == "changed"
    assert retriever_clearance(RetrieverConfig(name="new"), None, now=NOW).label == "ungated"

    # a dry run writes nothing; the latest decision is the one in force
    again = run_retrieval_gate(config, catalog, policy=loaded, write=False, now=NOW)
    assert not again.written
    with catalog.connect() as connection:
        assert latest_retriever_decisions(connection) == stored


@pytest.mark.any_dialect
def test_a_changed_configuration_is_not_judged_on_old_scores(
    catalog: Catalog, catalog_url: str, tmp_path: Path
) -> None:
    ingest(catalog)
    config = project(tmp_path, catalog_url)
    run_retrieval_eval(config, catalog, resamples=50, retrievers=["lexical-k1"])
    edited = config.model_copy(update={"retrievers": (RetrieverConfig(name="lexical-k1", k=4),)})
    gate = run_retrieval_gate(edited, catalog, policy=policy(tmp_path), now=NOW)
    [verdict] = gate.verdicts
    assert verdict.decision is None
    assert "run clearance eval --suites retrieval --retrievers lexical-k1" in verdict.reasons[0]
    assert gate.exit_code == 1
    with catalog.connect() as connection:
        assert latest_retriever_decisions(connection) == {}


@pytest.mark.any_dialect
def test_clearance_gate_retrieval_command(
    catalog: Catalog, catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(catalog)
    project(tmp_path, catalog_url)
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "retrieval.yaml").write_text(POLICY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["eval", "--suites", "retrieval"]).exit_code == 0
    shown = runner.invoke(
        app, ["gate", "--retrieval", "--policy", "retrieval", "--dry-run"], catch_exceptions=False
    )
    assert "retrieval gate, policy retrieval" in shown.stdout
    assert "dry run: nothing written" in shown.stdout
    out = runner.invoke(
        app,
        ["gate", "--retrievers", "lexical-k1", "--policy", "retrieval", "--json"],
        catch_exceptions=False,
    )
    document = json.loads(out.stdout)
    [judged] = document["retrievers"]
    assert judged["retriever"] == "lexical-k1"
    assert out.exit_code == (0 if judged["decision"] == "enable" else 1)
    assert document["written"] is True
