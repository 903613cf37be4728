"""``clearance slo check`` with retrieval objectives, in-process against a real catalog.

The retrievals are the hand-made set of tests/test_slo_retrieval.py (its figures are
checked there, on both dialects); here: exit codes, what is printed, and ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from clearance.catalog.database import Catalog, open_catalog
from clearance.cli import app
from tests.test_slo import T0
from tests.test_slo_retrieval import seed_retrievals

# Above the stores: tests/test_slo_retrieval.py runs this SQL on PostgreSQL.
pytestmark = pytest.mark.any_dialect

SINCE = ("--since", T0.isoformat(), "--window", "1h")
HEAD = "version: 1\nmin_calls: 1\nobjectives:\n  - {metric: error_rate, max: 0.5}\n"
STRICT = """\
retrieval:
  min_retrievals: 2
  objectives:
    - {metric: empty_result_rate, max: 0.25}
    - {metric: p95_latency_ms, max: 200}
"""
LENIENT = """\
retrieval:
  group_by: [org, retriever]
  min_retrievals: 1
  objectives:
    - {metric: empty_result_rate, max: 0.5}
    - {metric: p95_latency_ms, max: 500, orgs: [beta]}
"""


@pytest.fixture
def seeded(project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    """The project's catalog with the hand-made retrievals, gates/slo.yaml = STRICT."""
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    (project / "gates").mkdir()
    (project / "gates" / "slo.yaml").write_text(HEAD + STRICT)
    catalog = open_catalog(catalog_url)
    seed_retrievals(catalog)
    yield catalog
    catalog.dispose()


def run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_a_retrieval_breach_exits_1_and_prints_its_retrievals_by_call(seeded: Catalog) -> None:
    lines = run("slo", "check", *SINCE, code=1).stdout.splitlines()
    assert "retrieval objectives, grouped by retriever: 7 retrieval(s) in 2 group(s)" in lines
    rows = [line.split() for line in lines if line.startswith(("  hybrid", "  lexical"))]
    assert rows == [
        ["hybrid", "empty_result_rate", "50.00%", "≤", "25.00%", "2", "breach"],
        ["hybrid", "p95_latency_ms", "290.0", "ms", "≤", "200.0", "ms", "2", "breach"],
        ["lexical", "empty_result_rate", "25.00%", "≤", "25.00%", "4", "ok"],
        ["lexical", "p95_latency_ms", "38.5", "ms", "≤", "200.0", "ms", "4", "ok"],
    ]
    start = lines.index(next(x for x in lines if x.startswith("breach retrieval")))
    assert lines[start : start + 4] == [
        "breach retrieval hybrid empty_result_rate 50.00% (objective ≤ 25.00%): 1 of 2 "
        "retrievals found nothing",
        "  call h2 at 2026-03-01 12:30:00: nothing found (k=5)",
        "breach retrieval hybrid p95_latency_ms 290.0 ms (objective ≤ 200.0 ms): p95 over 2 "
        "retrievals that did not fail; 1 slower than 200 ms",
        "  call h2 at 2026-03-01 12:30:00: 300 ms",
    ]
    assert lines[-1] == "2 objective(s) breached"


def test_json_carries_the_retrieval_results(seeded: Catalog) -> None:
    document = json.loads(run("slo", "check", *SINCE, "--json", code=1).stdout)
    assert document["exit_code"] == 1
    retrieval = document["retrieval"]
    assert retrieval["status_counts"] == {
        "ok": 2,
        "breach": 2,
        "insufficient_data": 0,
        "no_data": 0,
    }
    breach = next(r for r in retrieval["results"] if r["status"] == "breach")
    assert breach["evidence"]["examples"][0]["call_id"] == "h2"
    assert [g["group"]["label"] for g in retrieval["groups"]] == ["hybrid", "lexical"]


def test_met_retrieval_objectives_exit_0(seeded: Catalog, project: Path) -> None:
    (project / "gates" / "slo.yaml").write_text(HEAD + LENIENT)
    lines = run("slo", "check", *SINCE, code=0).stdout.splitlines()
    assert lines[-1].startswith("no objective breached")
    # --org narrows the retrievals too: beta's alone
    document = json.loads(run("slo", "check", *SINCE, "--org", "beta", "--json", code=0).stdout)
    groups = [g["group"]["label"] for g in document["retrieval"]["groups"]]
    assert groups == ["beta / hybrid", "beta / lexical"]


def test_a_bad_retrieval_section_exits_2_naming_the_key(seeded: Catalog, project: Path) -> None:
    (project / "gates" / "slo.yaml").write_text(
        HEAD + "retrieval:\n  objectives: [{metric: empty_result_rate, max: 2}]\n"
    )
    result = run("slo", "check", *SINCE, code=2)
    assert "retrieval.objectives.0.max" in result.stderr
    assert "a rate is between 0 and 1" in result.stderr
