"""An imported BFCL suite through the eval engine: judged by the profile its folder names.

``import_bfcl`` writes ``suite.yaml`` with ``scoring: bfcl``; the engine judges those cases
by BFCL's rules, stores which profile judged each suite in the run's details, and a case
judged by another profile is other evidence (its fingerprint, so its recordings, change).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.catalog.database import open_catalog
from clearance.catalog.runstore import ResultStore
from clearance.contracts.bfcl import import_bfcl
from clearance.errors import ContractError
from clearance.evaluation.cases import case_digest, load_suites
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import SimulatorProviders
from clearance.reports import collect_report, write_report
from tests.support.evalproject import STEADY, make_project

pytestmark = pytest.mark.any_dialect

BFCL = Path(__file__).resolve().parents[1] / "data" / "realdata" / "bfcl"
# simple_python_0: calculate_triangle_area(base=10, height=5, unit="units" or left out)
ANSWER = {"base": 10, "height": 5, "unit": "UNITS"}  # BFCL normalizes case; clearance does not


def _network(requests: list[dict[str, Any]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "calculate_triangle_area", "arguments": json.dumps(ANSWER)},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-bfcl",
                "object": "chat.completion",
                "created": 1,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
            },
        )

    return httpx.MockTransport(handle)


def _run(config: Any, catalog: Any, network: Any) -> Any:
    suite = load_suites(config, ["bfcl"], cache=False)
    return suite, Evaluation(
        config,
        catalog,
        suite,
        [STEADY],
        trials=1,
        record_mode="all",
        network=network,
        environ={},
        providers=SimulatorProviders(),
    ).run()


def test_the_imported_suite_is_judged_by_the_bfcl_profile(project: Path, catalog_url: str) -> None:
    config = make_project(project, catalog_url, extra='bfcl_root = "bfcl"')
    import_bfcl(BFCL, project / "bfcl", categories=["simple_python"], limit=1)
    assert (project / "bfcl" / "suite.yaml").read_text().endswith("scoring: bfcl\n")
    catalog = open_catalog(config.resolved_database_url())
    try:
        requests: list[dict[str, Any]] = []
        suite, outcome = _run(config, catalog, _network(requests))
        (case,) = suite.cases
        assert (case.id, case.scoring, suite.scoring) == (
            "bfcl_simple_python_0",
            "bfcl",
            {"bfcl": "bfcl"},
        )
        assert case.fingerprint["scoring"] == "bfcl"
        frame = ResultStore(catalog).results(outcome.run_id)
        assert list(frame.verdict) == ["pass"]
        run = ResultStore(catalog).run(outcome.run_id)
        assert run is not None
        assert run.spec.details["scoring"] == {"bfcl": "bfcl"}
        # the report says which profile judged the suite, and shows BFCL's figures
        data = collect_report(config, catalog, run_id=outcome.run_id)
        assert data.scoring == {"bfcl": "bfcl"}
        board = data.model(STEADY).bfcl
        assert board is not None
        assert board.scoring == "bfcl"
        assert [(r.category, r.accuracy) for r in board.categories] == [("simple_python", 1.0)]
        files = write_report(data, project / "report")
        index = (project / "report" / "index.html").read_text()
        assert "bfcl (bfcl scoring profile)" in index
        page = next(p for p in files.pages if p.parent.name == "models")
        html = page.read_text()
        assert 'data-category="simple_python"' in html
        assert "BFCL leaderboard figures" in html

        # the same answer judged by clearance's own rules: other evidence, and a failure
        (project / "bfcl" / "suite.yaml").write_text("scoring: clearance\n")
        strict, outcome = _run(config, catalog, _network(requests))
        assert strict.cases[0].scoring == "clearance"
        assert "scoring" not in strict.cases[0].fingerprint
        assert case_digest(strict.cases[0]) != case_digest(case)
        frame = ResultStore(catalog).results(outcome.run_id)
        assert list(frame.verdict) == ["fail"]
        assert list(frame.failure_code) == ["argument_mismatch"]
        assert len(requests) == 2
    finally:
        catalog.dispose()


def test_a_bfcl_suite_needs_each_case_to_carry_its_answer_key(
    project: Path, catalog_url: str
) -> None:
    config = make_project(project, catalog_url, extra='bfcl_root = "bfcl"')
    import_bfcl(BFCL, project / "bfcl", categories=["simple_python"], limit=1)
    case = project / "bfcl" / "flows" / "bfcl_simple_python_0.yaml"
    case.write_text(case.read_text().split("bfcl:\n")[0])
    with pytest.raises(ContractError, match="no bfcl answer key") as caught:
        load_suites(config, ["bfcl"], cache=False)
    assert "scoring: clearance" in str(caught.value)
