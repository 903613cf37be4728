"""``clearance slo check`` and ``clearance calls escalate``, in-process against a real catalog.

The calls are the hand-made set of tests/test_slo.py (its figures are checked there);
here: exit codes, the table, the evidence printed for a breach, and ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.cli import app
from tests.test_slo import T0, seed

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

SINCE = ("--since", T0.isoformat(), "--window", "1h")
STRICT = """\
version: 1
window: 1h
min_calls: 1
objectives:
  - {metric: error_rate, max: 0.2}
  - {metric: spend_usd, max: "0.1"}
"""
LENIENT = """\
version: 1
min_calls: 5
group_by: [org]
objectives:
  - {metric: error_rate, max: 0.5}
  - {metric: p95_latency_ms, max: 8000}
"""


@pytest.fixture
def seeded(project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    """The project's catalog with the hand-made calls, and gates/slo.yaml = STRICT."""
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    (project / "gates").mkdir()
    (project / "gates" / "slo.yaml").write_text(STRICT)
    catalog = open_catalog(catalog_url)
    seed(catalog)
    yield catalog
    catalog.dispose()


def run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_a_breach_exits_1_and_prints_its_evidence(seeded: Catalog) -> None:
    lines = run("slo", "check", *SINCE, code=1).stdout.splitlines()
    assert lines[0].endswith(
        "2026-03-01 12:00 to 2026-03-01 13:00 UTC, grouped by model: 11 calls in 3 group(s)"
    )
    rows = [line.split() for line in lines if line.startswith("  p:") or "(no model)" in line]
    assert rows == [
        ["p:a", "error_rate", "20.00%", "≤", "20.00%", "5", "ok"],  # 1 of 5: at the bound
        ["p:a", "spend_usd", "0.0030125", "USD", "≤", "0.1", "USD", "6", "ok"],
        ["p:b", "error_rate", "25.00%", "≤", "20.00%", "4", "breach"],
        ["p:b", "spend_usd", "0.107", "USD", "≤", "0.1", "USD", "4", "breach"],
        ["(no", "model)", "error_rate", "-", "≤", "20.00%", "0", "no_data"],  # only a refusal
        ["(no", "model)", "spend_usd", "0", "USD", "≤", "0.1", "USD", "1", "ok"],
    ]
    evidence = lines[lines.index(next(x for x in lines if x.startswith("breach"))) :]
    assert evidence == [
        "breach p:b error_rate 25.00% (objective ≤ 20.00%): 1 of 4 attempted calls failed",
        "  why: rate_limit: 1",
        "  call b4 at 2026-03-01 12:45:00: rate_limit",
        "breach p:b spend_usd 0.107 USD (objective ≤ 0.1 USD): 0.107 USD spent on 4 calls",
        "  why: priced at the default price: 1",
        "  call b3 at 2026-03-01 12:40:00: 0.1 USD (default)",
        "  call b2 at 2026-03-01 12:35:00: 0.004 USD (catalog)",
        "  call b1 at 2026-03-01 12:30:00: 0.003 USD (catalog)",
        "0 insufficient_data (fewer calls than min_calls) and 1 no_data (nothing to measure): "
        "neither is a breach",
        "2 objective(s) breached",
    ]


def test_json_holds_the_whole_report(seeded: Catalog) -> None:
    document = json.loads(run("slo", "check", *SINCE, "--json", code=1).stdout)
    assert document["breached"] is True
    assert document["status_counts"] == {
        "ok": 3,
        "breach": 2,
        "insufficient_data": 0,
        "no_data": 1,
    }
    breaches = [
        (r["group"]["label"], r["metric"], r["measured"], r["evidence"]["numerator"])
        for r in document["results"]
        if r["status"] == "breach"
    ]
    assert breaches == [("p:b", "error_rate", 0.25, 1), ("p:b", "spend_usd", "0.107", "0.107")]
    assert [g["group"]["label"] for g in document["groups"]] == ["p:a", "p:b", "(no model)"]
    assert document["policy"]["path"].endswith("gates/slo.yaml")


@pytest.mark.each_dialect
def test_no_breach_exits_0_and_filters_narrow_the_calls(seeded: Catalog, tmp_path: Path) -> None:
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(LENIENT)
    out = run("slo", "check", *SINCE, "--file", str(lenient), code=0).stdout
    assert "grouped by org: 11 calls in 3 group(s)" in out
    # beta: 1 of 5 attempted calls failed, which meets the bound; acme attempted 4 (below
    # min_calls 5), and each org has 3 served latencies; the org-less refusal has nothing
    assert out.splitlines()[-2:] == [
        "3 insufficient_data (fewer calls than min_calls) and 2 no_data (nothing to measure): "
        "neither is a breach",
        "no objective breached (1 met)",
    ]
    only_b = json.loads(
        run(
            "slo", "check", *SINCE, "--file", str(lenient), "--model", "p:b", "--json", code=0
        ).stdout
    )
    assert only_b["filters"] == {"org": None, "model": "p:b"}
    assert {g["group"]["label"]: g["calls"] for g in only_b["groups"]} == {"acme": 1, "beta": 3}
    # acme alone: p:a failed 1 of its 3 attempted calls (a5), over the 20% bound
    acme = json.loads(run("slo", "check", *SINCE, "--org", "acme", "--json", code=1).stdout)
    assert {g["group"]["label"]: g["calls"] for g in acme["groups"]} == {"p:a": 4, "p:b": 1}
    first = acme["results"][0]
    assert (first["group"]["label"], first["metric"], first["measured"]) == (
        "p:a",
        "error_rate",
        1 / 3,
    )


def test_a_window_without_calls_is_no_data_and_exits_0(seeded: Catalog) -> None:
    out = run("slo", "check", "--since", "2020-01-01T00:00", "--window", "15m", code=0).stdout
    assert "0 calls in 0 group(s)" in out
    assert "2 no_data (nothing to measure): neither is a breach" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--window", "an hour"), "--window: 'an hour' is not a duration"),
        (("--since", "yesterday"), "--since: 'yesterday' is not an ISO 8601 time"),
        (
            ("--since", "2026-03-01T13:00", "--until", "2026-03-01T12:00"),
            "the window ends (2026-03-01T12:00:00+00:00) before it starts",
        ),
        (("--file", "nowhere.yaml"), "nowhere.yaml: cannot read"),
    ],
)
def test_bad_arguments_exit_2(seeded: Catalog, args: tuple[str, ...], message: str) -> None:
    assert message in run("slo", "check", *args, code=2).stderr


def test_a_bad_objectives_file_exits_2_naming_the_key(seeded: Catalog, project: Path) -> None:
    (project / "gates" / "slo.yaml").write_text(
        "version: 1\nobjectives:\n  - {metric: p95_latency, max: 8000}\n"
    )
    stderr = run("slo", "check", code=2).stderr
    assert "slo.yaml: objectives.0.metric: unknown metric 'p95_latency' at line 3" in stderr
    assert "did you mean 'p95_latency_ms'?" in stderr


def escalated(catalog: Catalog, call_id: str) -> tuple[bool, Any]:
    with catalog.connect() as connection:
        row = connection.execute(
            select(t.ai_calls.c.escalated, t.ai_calls.c.extra).where(
                t.ai_calls.c.call_id == call_id
            )
        ).one()
    return row.escalated, row.extra


def test_calls_escalate_flags_a_call_and_the_slo_sees_it(seeded: Catalog, project: Path) -> None:
    (project / "gates" / "slo.yaml").write_text(
        "version: 1\nmin_calls: 1\nobjectives: [{metric: escalation_rate, max: 0.3}]\n"
    )
    before = json.loads(run("slo", "check", *SINCE, "--json", code=1).stdout)
    assert [(r["group"]["label"], r["measured"]) for r in before["results"][:2]] == [
        ("p:a", 0.25),
        ("p:b", 1 / 3),
    ]
    out = run("calls", "escalate", "a1", "--reason", "asked for a person", code=0).stdout
    assert "call a1 flagged for human hand-off: asked for a person" in out
    flag, extra = escalated(seeded, "a1")
    assert flag is True
    assert extra["escalation"]["reason"] == "asked for a person"
    after = json.loads(run("slo", "check", *SINCE, "--json", code=1).stdout)
    a = after["results"][0]
    assert (a["group"]["label"], a["measured"], a["status"]) == ("p:a", 0.5, "breach")
    examples = {e["call_id"]: e["detail"] for e in a["evidence"]["examples"]}
    assert examples == {
        "a1": "flagged after the call: asked for a person",
        "a3": "flagged at call time",
    }


def test_calls_escalate_an_unknown_call_exits_1(seeded: Catalog) -> None:
    stderr = run("calls", "escalate", "no-such-call", code=2).stderr
    assert "no call with id 'no-such-call' in the call log" in stderr
    assert "clearance calls replay-spill" in stderr


def test_slo_report_writes_the_page_with_breaches_figures_and_reasons(
    seeded: Catalog, tmp_path: Path
) -> None:
    from tests.support.html import assert_self_contained, parse

    out = tmp_path / "slo" / "page.html"
    result = run("slo", "report", *SINCE, "--out", str(out), code=0)  # a page, not an alarm
    assert f"11 calls, 2 objective(s) breached, 3 met; SLO page: {out}" in " ".join(
        result.stdout.split()
    )
    assert_self_contained([out])
    page = parse(out)
    breaches = {
        node.attrs["data-breach"]: node.words() for node in page.all("div", data_breach=None)
    }
    assert sorted(breaches) == ["error_rate", "spend_usd"]
    assert "p:b: error_rate 0.2500, objective ≤ 0.2000" in breaches["error_rate"]
    assert "1 of 4 attempted calls failed" in breaches["error_rate"]
    assert "Why: rate_limit 1" in breaches["error_rate"]
    statuses = {
        row.attrs["data-group"]: [
            cell.attrs["data-status"] for cell in row.all("td", data_status=None)
        ]
        for row in page.all("tr", data_group=None)
    }
    assert statuses["p:a"] == ["ok", "ok"]
    assert statuses["p:b"] == ["breach", "breach"]
    why = page.one("table", class_="why").words()
    assert "rate_limit 1" in why  # the error kind behind p:b's error rate
    assert "timeout 1" in why  # and p:a's


def test_slo_report_on_an_empty_log_says_so(
    project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.html import parse

    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    (project / "gates").mkdir()
    (project / "gates" / "slo.yaml").write_text(STRICT)
    out = project / "reports" / "slo.html"
    run("slo", "report", code=0)
    assert "No calls in this window" in parse(out).one("p", class_="empty note").words()


def test_slo_report_keeps_logged_text_as_text(seeded: Catalog, tmp_path: Path) -> None:
    from tests.support.html import assert_self_contained, parse
    from tests.test_slo import failed

    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    kind = "<script>x</script>'\"><i onclick=x>"  # error_kind holds 48 characters
    seed(seeded, [("x1", 1, failed(f"p:{hostile}", kind, org_id=hostile))])
    out = tmp_path / "slo.html"
    run("slo", "report", *SINCE, "--out", str(out), code=0)
    assert_self_contained([out])  # no script, img or on* attribute made it in as markup
    page = parse(out)
    assert f"p:{hostile}" in page.one("table", class_="figures").words()
    assert kind in page.one("table", class_="why").words()


# The only tests to reach some of callstats' groupings and filters on PostgreSQL.
@pytest.mark.each_dialect
def test_by_regroups_the_check(seeded: Catalog) -> None:
    document = json.loads(run("slo", "check", *SINCE, "--by", "org", "--json", code=1).stdout)
    assert sorted({g["group"]["label"] for g in document["groups"]}) == [
        "(no org)",
        "acme",
        "beta",
    ]
    whole = json.loads(run("slo", "check", *SINCE, "--by", "all", "--json", code=1).stdout)
    assert [g["group"]["label"] for g in whole["groups"]] == ["all"]
    assert whole["groups"][0]["calls"] == 11


def test_by_an_unknown_dimension_exits_2(seeded: Catalog) -> None:
    stderr = run("slo", "check", *SINCE, "--by", "team", code=2).stderr
    assert "--by team: unknown dimension 'team'" in stderr


def test_a_breach_is_printed_with_the_digits_that_tell_it_from_its_bound(
    project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decimal import Decimal

    from tests.test_slo import ok

    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    (project / "gates").mkdir()
    (project / "gates" / "slo.yaml").write_text(
        'version: 1\nmin_calls: 1\nobjectives:\n  - {metric: spend_usd, max: "0.1"}\n'
    )
    catalog = open_catalog(catalog_url)
    try:
        seed(catalog, [(f"c{i}", i, ok("p:a", cost=Decimal(c))) for i, c in
                       enumerate(("0.05", "0.05", "0.0000001"))])  # fmt: skip
    finally:
        catalog.dispose()
    lines = run("slo", "check", *SINCE, code=1).stdout.splitlines()
    row = next(line.split() for line in lines if line.startswith("  p:a"))
    # 0.1000001 > 0.1: at 6 significant digits it would print as the bound itself
    assert row == ["p:a", "spend_usd", "0.1000001", "USD", "≤", "0.1", "USD", "3", "breach"]
