"""The report's retrieval page: configurations, intervals, decisions and the worst
queries, their text escaped; linked from the report's index."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from clearance.catalog.database import Catalog
from clearance.gate.policy import load_policy
from clearance.gate.retrieval import run_retrieval_gate
from clearance.knowledge.evalrun import run_retrieval_eval
from clearance.reports.collect import ReportData
from clearance.reports.render import write_report
from clearance.reports.retrievalpage import collect_retrieval, render_retrieval_page
from tests.knowledge.test_retrieval_eval import QUERIES, ingest, project

# Above the stores: tests/knowledge/test_retrieval_eval.py and tests/test_gate_retrieval.py
# run their SQL on PostgreSQL.
pytestmark = pytest.mark.any_dialect

HOSTILE = "<script>alert(1)</script> zebra"


@pytest.fixture
def page_html(catalog: Catalog, catalog_url: str, tmp_path: Path) -> str:
    ingest(catalog)
    config = project(tmp_path, catalog_url, extra='[knowledge]\ndefault_retriever = "lexical-k1"\n')
    (tmp_path / "queries.yaml").write_text(
        QUERIES.replace("query: zebra migration", f"query: {HOSTILE!r}"), encoding="utf-8"
    )
    run_retrieval_eval(config, catalog, resamples=100, retrievers=["lexical-k1"])
    policy_file = tmp_path / "retrieval.yaml"
    policy_file.write_text(
        "version: 1\nname: retrieval\nretrieval:\n  recall_at_k: {min_lower_bound: 0.99}\n",
        encoding="utf-8",
    )
    run_retrieval_gate(
        config, catalog, policy=load_policy(policy_file), retrievers=["lexical-k1"], decided_by="ci"
    )
    page = collect_retrieval(config, catalog)
    assert page is not None
    assert [s.config.name for s in page.sections] == ["lexical-k1", "hybrid-k3"]
    [scored] = page.sections[0].sets
    assert scored.worst[0].ndcg == min(row.ndcg for row in scored.worst)
    assert page.sections[1].sets == ()
    return render_retrieval_page(page, report_index="index.html")


def test_the_page_shows_configurations_intervals_and_decisions(page_html: str) -> None:
    assert 'data-retriever="lexical-k1" data-state="inconclusive"' in page_html
    assert 'data-retriever="hybrid-k3" data-state="ungated"' in page_html
    assert "hybrid (hashing)" in page_html
    assert "not scored yet" in page_html
    assert "tiny-help (org acme): 5 queries in 3 clusters" in page_html
    assert "under policy <code>retrieval</code>" in page_html
    assert 'recall@1 <span class="interval">0.700 <span class="muted">[0.500, 1.000]' in page_html
    assert '<span class="badge b-inconclusive">inconclusive</span>' in page_html
    assert "<td>default</td>" in page_html  # whom the configuration serves
    assert 'data-query="unanswerable"' in page_html


def test_query_text_is_escaped(page_html: str) -> None:
    assert "<script>" not in page_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; zebra" in page_html


def test_the_page_is_written_beside_the_report(tmp_path: Path) -> None:
    data = ReportData(
        generated_at=dt.datetime.now(dt.UTC), run=None, policy=None, policy_error=None
    )
    write_report(data, tmp_path / "out", extra_pages={"retrieval.html": "<p>x</p>"})
    assert (tmp_path / "out" / "retrieval.html").read_text() == "<p>x</p>"
