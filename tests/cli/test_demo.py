"""`make demo` keeps working: the demo command end to end, offline, on a temporary catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.catalog.database import open_catalog
from clearance.catalog.retrievalstore import read_retrievals
from clearance.cli import app

REPO = Path(__file__).resolve().parents[2]
MODELS = (
    "ref:ref/steady",
    "ref:ref/sloppy",
    "ref:ref/flaky",
    "ref-anthropic:ref-steady",
    "ref-gemini:ref-3-steady",
)
"""The simulated models the demo gates: three over OpenAI chat completions, one over
Anthropic Messages, one over Gemini."""


def test_the_demo_runs_offline_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("CLEARANCE_CONFIG", str(REPO / "examples/demo/clearance.toml"))
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    reports = tmp_path / "reports"
    result = CliRunner().invoke(app, ["demo", "--out", str(reports)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "synced 321 models" in out
    # the example knowledge base: ingested, two retriever configurations scored on its
    # labelled queries and gated; the report gets a retrieval page linked from its index
    retrieval = out.split("10. knowledge retrieval", 1)[1].split("11. SLOs", 1)[0]
    assert "org ourco: 24 help-centre documents" in retrieval
    assert "ourco-help (org ourco): 48 queries in 9 clusters" in retrieval
    verdicts = {
        line.split()[0]: line.split()[1]
        for line in retrieval.splitlines()
        if line.strip().startswith(("lexical-k5 ", "hybrid-hashing-k5 ")) and "passed" in line
    }
    assert verdicts == {"lexical-k5": "enable", "hybrid-hashing-k5": "inconclusive"}
    assert "MiniLM" not in retrieval  # the hybrid one embeds by feature hashing
    # the cleared retriever in use: a routed call for org ourco gets context from
    # lexical-k5, cut to its budget; org ourco-eu's retriever (the inconclusive hybrid)
    # is refused, and its call answered without context
    served = next(
        line for line in retrieval.splitlines() if line.startswith("org ourco: retriever")
    )
    assert "retriever lexical-k5 (cleared) injected" in served
    assert "billing/refunds.md" in served
    assert "of 300 budget tokens; the budget cut" in served
    refused = next(line for line in retrieval.splitlines() if line.startswith("org ourco-eu: "))
    assert "retriever hybrid-hashing-k5 is not cleared: RetrieverNotCleared recorded" in refused
    assert "without context (0 chunks injected)" in refused
    catalog = open_catalog(f"sqlite:///{tmp_path / 'demo.db'}", migrate=False)
    try:
        rows = {row.org_id: row for row in read_retrievals(catalog)}
    finally:
        catalog.dispose()
    assert set(rows) == {"ourco", "ourco-eu"}
    assert (rows["ourco"].retriever, rows["ourco"].error) == ("lexical-k5", None)
    assert rows["ourco"].truncated
    assert 0 < rows["ourco"].tokens <= 300
    assert (rows["ourco-eu"].retriever, rows["ourco-eu"].error, rows["ourco-eu"].chunks) == (
        "hybrid-hashing-k5",
        "RetrieverNotCleared",
        0,
    )
    assert all(row.call_id for row in rows.values())  # linked to their ai_calls rows
    page = reports / "html" / "retrieval.html"
    assert 'data-retriever="lexical-k5" data-state="enable"' in page.read_text()
    assert 'href="retrieval.html"' in (reports / "html" / "index.html").read_text()
    assert "org acme asks for openai/gpt-4.1 -> openai/gpt-4.1 (requested)" in out
    assert "ref/steady (gate: enable) called get_weather({'city': 'Oslo'})" in out
    assert "served by ref:ref/steady from its fallback chain" in out
    assert "refused before any network I/O" in out
    assert "call log: 1546 eval ok, 56 live ok, 1 live refused" in out
    # the SLOs judge the live traffic only: the model that always fails over breaches
    # its fallback rate (the model that answered for it is not blamed)
    assert "SLOs on the last 1h of live traffic (59 calls): 1 breached" in out  # 2 with knowledge
    assert "`clearance slo check` exits 1" in out
    assert (
        "breach ref:ref/status-500 fallback_rate: 21 of 21 served calls routed here were "
        "answered by a fallback (ref:ref/steady: 21) (why: server_error 21)"
    ) in out
    assert "check passes" in out
    # the eval step replays the shipped recordings of the five simulated models: the same
    # flows gate models on the three protocols in one run
    assert "a fixed run makes 1350 (90 cases x 5 models x 3 trials)" in out
    assert "0 infrastructure errors" in out
    for model in MODELS:
        assert model in out
    # the gate judged them, wrote the decisions, and the router obeys them
    # under the default bar: the steady models enabled, the sloppy one disabled, and the
    # gate exits 1 because default.yaml requires every judged model (the demo still succeeds)
    assert "policy default" in out
    decided = {
        line.split("│")[1].strip(): line.split("│")[3].strip()
        for line in out.split("8. the gate", 1)[1].split("9. the router", 1)[0].splitlines()
        if line.startswith("│ ref")
    }
    assert decided == {model: "disable" if "sloppy" in model else "enable" for model in MODELS}
    assert "gate exit code 1 (not enabled: ref:ref/sloppy)" in out
    assert "ref/sloppy requested: refused (gate_refused)" in out
    assert "gate policy default decided disable" in out
    assert "ref/steady (gate: enable) called get_weather" in out
    # one simulator, one port, three protocols: each native model was gated (the same
    # decision as on the OpenAI path) and then called over the socket, its turn sent back
    lines = out.replace("\n", " ")
    assert "ref-anthropic: the same simulator on the same port, speaking anthropic" in out
    assert "its native model list names 24 models" in lines
    for model, protocol in (
        ("ref-anthropic:ref-steady", "anthropic"),
        ("ref-gemini:ref-3-steady", "gemini"),
    ):
        gated = next(
            line for line in out.splitlines() if line.startswith(f"│ {model} ") and "enable" in line
        )
        assert protocol in gated
    assert (
        "ref-anthropic:ref-steady (Anthropic Messages; gate: enable) called "
        "get_weather({'city': 'Oslo'}), then answered 'Here is what I did: get_weather "
        "returned temp_c: -3, sky: snow.' (snapshot ref-steady-20231114)"
    ) in lines
    assert "ref-gemini:ref-3-steady (Gemini; gate: enable) called get_weather" in lines
    served = lines.split("the simulator's one port served ", 1)[1].split(" (the eval", 1)[0]
    assert served == (
        "2 GET /v1/models, 1 GET /v1beta/models, 115 POST /v1/chat/completions, "
        "2 POST /v1/messages, 2 POST /v1beta/models/{model}:generateContent"
    )
    # real models are served only through a person's audited override
    assert "enabled on the platform by a person's override" in out
    summary = (reports / "gate-summary.md").read_text()
    for model in MODELS:  # one run, one summary, every protocol's model in it
        assert model in summary
    assert (reports / "gate-junit.xml").is_file()
    assert f"gate summary: {reports.resolve() / 'gate-summary.md'}" in out.replace("\n", "")
    # it ends by writing the HTML report: the verdicts with intervals, drill-down, costs
    index = reports.resolve() / "html" / "index.html"
    assert out.replace("\n", "").rstrip().endswith(f"reliability report: {index}")
    page = index.read_text()
    for model in MODELS:  # every protocol's model is plainly a simulator
        row = page.split(f'<tr data-model="{model}">', 1)[1].split("</td>", 1)[0]
        assert "SIMULATOR" in row
    assert "ref-steady-20231114" in page  # the Anthropic snapshot its verdict was taken on
    assert page.count("<svg") >= 15  # an interval drawn per model x tool cell
    assert "SIMULATOR" in page
    sloppy = next((reports / "html" / "models").glob("ref_ref_sloppy-*.html")).read_text()
    assert 'id="failures"' in sloppy
    assert "schema_violation" in sloppy
    assert "cost per successful task" in sloppy
    slo = (reports / "html" / "slo.html").read_text()
    assert 'data-breach="fallback_rate"' in slo


def test_outside_a_clearance_checkout_the_demo_refuses_before_opening_any_catalog(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team's project has no tests/data: the demo must not write its demo into their catalog."""
    (project / "clearance.toml").write_text('[catalog]\ndatabase_url = "sqlite:///team.db"\n')
    result = CliRunner().invoke(app, ["demo"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "clearance demo runs in a clearance checkout" in result.stderr
    assert "clearance init" in result.stderr
    assert not (project / "team.db").exists()
