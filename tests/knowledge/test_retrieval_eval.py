"""``clearance eval --suites retrieval``: configured retrievers scored on labelled query
sets, the scores stored per run, retriever and query (both dialects), and the command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.catalog import retrievalruns
from clearance.catalog.database import Catalog
from clearance.cli import app
from clearance.config import ClearanceConfig, RetrieverConfig, load_config
from clearance.errors import ConfigError, InputError
from clearance.knowledge import ingest_text
from clearance.knowledge.configured import config_fingerprint
from clearance.knowledge.evalrun import run_retrieval_eval

DOCS = {
    "billing/refunds.md": "# Refunds\n\nA refund reaches the card within five days.",
    "billing/invoices.md": "# Invoices\n\nInvoices carry your VAT number.",
    "admin/sso.md": "# Single sign-on\n\nTurn on SSO with Okta under Settings.",
    "api/limits.md": "# Rate limits\n\nThe API allows 100 requests a minute.",
}
QUERIES = """\
knowledge_base: tiny-help
queries:
  - id: refund
    query: how long does a refund take
    relevant: [billing/refunds.md]
  - id: vat
    query: VAT number on the invoice
    relevant: {billing/invoices.md: 3, billing/refunds.md: 1}
  - id: okta
    query: Okta single sign-on
    relevant: [admin/sso.md]
  - id: limits
    query: how many requests a minute
    relevant: [api/limits.md]
    tags: [api]
  - id: unanswerable
    query: zebra migration
    relevant: [api/limits.md]
"""
TOML = """\
[evals]
retrieval_sets = [{{ path = "queries.yaml", org = "acme" }}]

[[retrievers]]
name = "lexical-k1"
k = 1

[[retrievers]]
name = "hybrid-k3"
kind = "hybrid"
embedder = "hashing"
k = 3
{extra}"""


def ingest(catalog: Catalog, org: str = "acme") -> None:
    for document_id, text in DOCS.items():
        tag = document_id.split("/")[0]
        ingest_text(catalog, org, document_id, text, tags=[tag], by="test")


def project(tmp_path: Path, catalog_url: str, extra: str = "") -> ClearanceConfig:
    (tmp_path / "queries.yaml").write_text(QUERIES, encoding="utf-8")
    (tmp_path / "clearance.toml").write_text(
        TOML.format(extra=extra) + f'\n[catalog]\ndatabase_url = "{catalog_url}"\n',
        encoding="utf-8",
    )
    return load_config(environ={}, cwd=tmp_path)


def test_each_retriever_is_scored_and_stored_per_query(
    catalog: Catalog, catalog_url: str, tmp_path: Path
) -> None:
    ingest(catalog)
    config = project(tmp_path, catalog_url)
    run = run_retrieval_eval(config, catalog, resamples=200, by="ci")
    assert [(s.retriever.name, s.report.k) for s in run.scores] == [
        ("lexical-k1", 1),
        ("hybrid-k3", 3),
    ]
    assert run.embedded == len(DOCS)  # the hybrid one embedded every chunk once
    lexical = run.scores[0].report
    by_query = {row.query_id: row for row in lexical.rows}
    assert by_query["refund"].recall == 1.0
    assert by_query["unanswerable"].reciprocal_rank == 0.0
    assert by_query["limits"].retrieved == ("api/limits.md",)  # scoped to its tag
    with catalog.connect() as connection:
        record = retrievalruns.run_record(connection, run.run_id)
        scores = retrievalruns.score_rows(connection, [run.run_id])
        rows = retrievalruns.query_rows(connection, run.run_id, "lexical-k1", "acme", "tiny-help")
        latest = retrievalruns.latest_run_ids(connection)
    assert record is not None
    assert record.ended_at is not None
    assert record.retrievers == ("lexical-k1", "hybrid-k3")
    assert record.run_by == "ci"
    assert [s.retriever for s in scores] == ["hybrid-k3", "lexical-k1"]
    stored = {s.retriever: s for s in scores}["lexical-k1"]
    assert stored.recall.mean == pytest.approx(lexical.recall.mean)
    assert (stored.ndcg.low, stored.ndcg.high) == pytest.approx(
        (lexical.ndcg.low, lexical.ndcg.high)
    )
    assert stored.clusters == lexical.clusters
    assert stored.config == {"name": "lexical-k1", "kind": "lexical", "k": 1}
    assert stored.config_sha256 == config_fingerprint(config.retriever("lexical-k1"))
    assert [r.query_id for r in rows] == ["refund", "vat", "okta", "limits", "unanswerable"]
    assert rows[0].query == "how long does a refund take"
    assert rows[4].ndcg == 0.0
    assert latest == {"lexical-k1": run.run_id, "hybrid-k3": run.run_id}


def test_latest_run_ids_skip_an_unfinished_run_and_take_the_newest(catalog: Catalog) -> None:
    score = retrievalruns.ScoreRow(
        run_id="",
        retriever="lex",
        org_id="acme",
        knowledge_base="kb",
        config={"name": "lex"},
        config_sha256="0" * 64,
        query_set="q.yaml",
        query_set_sha256="1" * 64,
        k=5,
        queries=1,
        clusters=1,
        recall=retrievalruns.Interval(1.0, 1.0, 1.0),
        mrr=retrievalruns.Interval(1.0, 1.0, 1.0),
        ndcg=retrievalruns.Interval(1.0, 1.0, 1.0),
    )
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with catalog.begin() as connection:
        for run_id, minutes, finished in (("old", 0, True), ("new", 5, True), ("open", 9, False)):
            retrievalruns.start_run(
                connection,
                run_id=run_id,
                started_at=at + dt.timedelta(minutes=minutes),
                confidence=0.95,
                resamples=10,
                seed=0,
                retrievers=["lex"],
                query_sets=[{"path": "q.yaml", "org": "acme"}],
                run_by="t",
            )
            retrievalruns.write_scores(
                connection, retrievalruns.ScoreRow(**{**_fields(score), "run_id": run_id}), []
            )
            if finished:
                retrievalruns.finish_run(connection, run_id, at + dt.timedelta(minutes=minutes + 1))
    with catalog.connect() as connection:
        assert retrievalruns.latest_run_ids(connection) == {"lex": "new"}
        assert retrievalruns.latest_run_ids(connection, ["other"]) == {}
        assert retrievalruns.run_record(connection, "missing") is None


def _fields(score: retrievalruns.ScoreRow) -> dict[str, object]:
    return {name: getattr(score, name) for name in score.__slots__}


@pytest.mark.any_dialect
def test_nothing_to_score_is_a_config_error(catalog: Catalog, tmp_path: Path) -> None:
    config = load_config(environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError) as caught:
        run_retrieval_eval(config, catalog)
    assert caught.value.key == "retrievers"
    config = config.model_copy(update={"retrievers": (RetrieverConfig(name="lex"),)})
    with pytest.raises(ConfigError) as caught:
        run_retrieval_eval(config, catalog)
    assert caught.value.key == "evals.retrieval_sets"
    with pytest.raises(ConfigError, match="did you mean 'lex'"):
        run_retrieval_eval(config, catalog, retrievers=["lexx"])


@pytest.mark.any_dialect
def test_labels_the_knowledge_base_lacks_are_refused(
    catalog: Catalog, catalog_url: str, tmp_path: Path
) -> None:
    config = project(tmp_path, catalog_url)
    with pytest.raises(InputError, match="org 'acme' has no documents"):
        run_retrieval_eval(config, catalog)
    ingest_text(catalog, "acme", "refunds.md", DOCS["billing/refunds.md"], by="t")
    with pytest.raises(InputError, match=r"does not hold: admin/sso\.md, api/limits\.md"):
        run_retrieval_eval(config, catalog)


@pytest.mark.any_dialect
def test_the_command_prints_intervals_and_json(
    catalog: Catalog, catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(catalog)
    project(tmp_path, catalog_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(
        app, ["eval", "--suites", "retrieval", "--retrievers", "lexical-k1"], catch_exceptions=False
    )
    assert shown.exit_code == 0, shown.stderr
    assert "lexical-k1" in shown.stdout
    assert "hybrid-k3" not in shown.stdout
    assert "clustered bootstrap interval" in shown.stdout
    assert "tiny-help (org acme): 5 queries in 3 clusters" in shown.stdout
    out = runner.invoke(app, ["eval", "--suites", "retrieval", "--json"], catch_exceptions=False)
    document = json.loads(out.stdout)
    assert [s["retriever"] for s in document["scores"]] == ["lexical-k1", "hybrid-k3"]
    recall = document["scores"][0]["recall_at_k"]
    assert recall["low"] <= recall["mean"] <= recall["high"]
    refused = runner.invoke(app, ["eval", "--retrievers", "lexical-k1"])
    assert refused.exit_code == 2
    assert "add --suites retrieval" in refused.stderr
