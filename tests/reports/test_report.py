"""The HTML report end to end: a small store written by hand, collected, rendered, parsed.

Two runs of three trials per case (``r-old``, then ``r-now``) over two models, two tools
and two flows, with a flaky case, an infra error and a fallback-served trial; a gate
decision on each run and a person's override. Every figure checked below is worked out
by hand from the trials written here. The files are read back with the standard
library's HTML parser, never with regular expressions.

Runs on SQLite and PostgreSQL (the ``catalog`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import Provenance, record_decision, record_override
from clearance.catalog.modelstore import ensure_provider
from clearance.config import ClearanceConfig
from clearance.errors import InputError
from clearance.evaluation.results import ItemResult, ResultStore, RunSpec
from clearance.gate.decide import decide
from clearance.gate.policy import GatePolicy
from clearance.gate.stats import clustered_interval
from clearance.reports import (
    FLOWS,
    ReportData,
    collect_report,
    model_slug,
    write_report,
)
from clearance.reports.render import MONEY_DIGITS, money_exact, money_text
from clearance.reports.turns import FlowScripts
from tests.support.html import Node, assert_self_contained, parse

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

GOOD = "p:good"
BAD = "p:bad"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
OLD_START = T0
NOW_START = T0 + dt.timedelta(days=1)
RUN_TIME = dt.timedelta(hours=1)
POLICY = GatePolicy.model_validate(
    {
        "version": 1,
        "name": "release",
        "confidence": 0.9,
        "criticality": {"critical": {"min_lower_bound": 0.5}, "standard": {"min_lower_bound": 0.5}},
        "flows": {"min_lower_bound": 0.3},
        "min_trials_per_case": 2,
        "latency": {"p95_ms_max": 1000},
        "expires_after_days": None,
    }
)
BARS = {"book": 0.5, "find": 0.5, FLOWS: 0.3}
PAIRS = {  # r-now: (passes, judged trials) per case, by model and matrix row
    (GOOD, "book"): [(3, 3), (3, 3), (2, 3)],
    (GOOD, "find"): [(3, 3), (2, 2)],
    (GOOD, FLOWS): [(3, 3), (2, 2)],
    (BAD, "book"): [(0, 3), (0, 3), (3, 3)],
    (BAD, "find"): [(0, 3), (0, 3)],
    (BAD, FLOWS): [(0, 3), (3, 3)],
}
KINDS = {"b": ("contract", "book", "critical"), "f": ("contract", "find", "standard")}
FLOW = ("flow", None, None)


# --- the store ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _evidence(case: str, code: str, tool: str | None) -> dict[str, Any]:
    """A failing trial's evidence, shaped as the engine writes it."""
    name = tool or "create_event"
    call_id = f"call_{case}_0"
    sent: Any = {"date": "tomorrow", "person_id": "pers 7"}
    where = {"tool": name, "call_id": call_id, "index": 0}
    if code == "argument_mismatch":
        failures = [
            {
                "code": code,
                "turn": 1,
                "evidence": {
                    **where,
                    "pointer": "/date",
                    "expected": "'2026-12-01'",
                    "actual": "tomorrow",
                    "reason": "mismatch",
                },
            }
        ]
    elif code == "schema_violation":
        failures = [
            {
                "code": code,
                "turn": 1,
                "evidence": {
                    **where,
                    "pointer": "/person_id",
                    "schema_pointer": "/properties/person_id/pattern",
                    "validator": "pattern",
                    "message": "'pers 7' does not match '^p_[0-9]+$'",
                },
            }
        ]
    elif code == "invalid_json":
        sent = '{"name": "A'
        failures = [
            {
                "code": code,
                "turn": 1,
                "evidence": {**where, "raw_arguments": sent, "quirks": ["truncated_json"]},
            }
        ]
    else:  # missing_call: the model answered in words
        failures = [
            {
                "code": code,
                "turn": 1,
                "evidence": {"tool": name, "expected_args": {"title": "text like 'kickoff'"}},
            }
        ]
    message: dict[str, Any] = {"role": "assistant", "content": "Done."}
    if code != "missing_call":
        arguments = sent if isinstance(sent, str) else json.dumps(sent)
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        }
    return {
        "turns": [{"passed": False, "failures": [code]}],
        "failures": failures,
        "transcript": [
            {"role": "user", "content": f"[case {case}] Book p_7 on 2026-12-01."},
            message,
        ],
    }


@dataclass
class Trials:
    """The trials of one case: marks P pass, F fail, I infra error, S fallback-served."""

    model: str
    case: str
    marks: str
    code: str | None = None
    cost: Decimal | None = None

    def items(self, latencies: Iterator[float] | None) -> list[ItemResult]:
        kind, tool, criticality = FLOW if self.case.startswith("flow") else KINDS[self.case[0]]
        out = []
        for trial, mark in enumerate(self.marks, start=1):
            judged = mark in "PF"
            out.append(
                ItemResult(
                    model_id=self.model,
                    case_id=self.case,
                    case_kind=kind,  # type: ignore[arg-type]
                    tool=tool,
                    criticality=criticality,
                    trial=trial,
                    verdict={"P": "pass", "F": "fail", "I": "infra_error", "S": "pass"}[mark],
                    failure_code=self.code if mark == "F" else None if judged else "infra_error",
                    evidence=_evidence(self.case, self.code or "", tool)
                    if mark == "F"
                    else {"kind": "server_error", "status_code": 500, "message": "upstream broke"}
                    if mark == "I"
                    else None,
                    fallback_served=mark == "S",
                    served_model="p:spare" if mark == "S" else self.model,
                    cost=None if mark == "I" else self.cost,
                    latency_ms=(next(latencies) if judged else 5000.0)
                    if latencies is not None
                    else None,
                    turns_passed=(1 if mark == "P" else 0) if kind == "flow" and judged else None,
                    turns_total=1 if kind == "flow" and judged else None,
                )
            )
        return out


GOOD_COST = Decimal("0.00018")
BAD_COST = Decimal("0.001")
OLD = [
    Trials(GOOD, "b1", "PPP"),
    Trials(GOOD, "b2", "PPP"),
    Trials(GOOD, "b3", "PPP"),
    Trials(GOOD, "f1", "PFP", "argument_mismatch"),
    Trials(GOOD, "f2", "PPP"),
    Trials(GOOD, "flow1", "PPP"),
    Trials(GOOD, "flow2", "PPP"),
    Trials(BAD, "b1", "FFF", "argument_mismatch"),
    Trials(BAD, "b2", "PPP"),
    Trials(BAD, "b3", "PPP"),
    Trials(BAD, "f1", "PPP"),
    Trials(BAD, "f2", "PPP"),
    Trials(BAD, "flow1", "PPP"),
    Trials(BAD, "flow2", "PPP"),
]
NOW = [
    Trials(GOOD, "b1", "PPP", cost=GOOD_COST),
    Trials(GOOD, "b2", "PPP", cost=GOOD_COST),
    Trials(GOOD, "b3", "PFP", "argument_mismatch", GOOD_COST),  # flaky
    Trials(GOOD, "f1", "PPP", cost=GOOD_COST),
    Trials(GOOD, "f2", "PIP", cost=GOOD_COST),  # an infra error, unpriced
    Trials(GOOD, "flow1", "PPP", cost=GOOD_COST),
    Trials(GOOD, "flow2", "PSP", cost=GOOD_COST),  # a fallback answered once
    Trials(BAD, "b1", "FFF", "argument_mismatch", BAD_COST),
    Trials(BAD, "b2", "FFF", "schema_violation", BAD_COST),
    Trials(BAD, "b3", "PPP", cost=BAD_COST),
    Trials(BAD, "f1", "FFF", "argument_mismatch", BAD_COST),
    Trials(BAD, "f2", "FFF", "invalid_json", BAD_COST),
    Trials(BAD, "flow1", "FFF", "missing_call", BAD_COST),
    Trials(BAD, "flow2", "PPP", cost=BAD_COST),
]
# GOOD's judged trials in r-now: 19 (21 less the infra error and the fallback), with
# latencies 100, 110, ..., 280 ms: p50 = the 10th = 190; p95 at 0.95 x 18 = 17.1 between
# 270 and 280 = 271. Spend: 20 priced trials x 0.00018 = 0.0036 USD over 18 passes.
GOOD_P50, GOOD_P95 = 190.0, 271.0
GOOD_SPEND, GOOD_PER_PASS = Decimal("0.0036"), Decimal("0.0002")
BAD_SPEND, BAD_PER_PASS = Decimal("0.021"), Decimal("0.0035")  # 21 x 0.001 over 6 passes


def spec(run_id: str, models: Sequence[str], trials: int = 3) -> RunSpec:
    return RunSpec(
        run_id=run_id,
        suites=("contracts", "flows"),
        models=tuple(models),
        trials=trials,
        record_mode="none",
        suite_hash="s" * 64,
        contracts_hash="c" * 64,
        git_commit="0123456789abcdef",
    )


def add_models(catalog: Catalog, *models: str, simulated: Sequence[str] = ()) -> None:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1", now=T0)
        connection.execute(
            insert(t.models),
            [
                {
                    "id": model,
                    "provider": "p",
                    "name": model.split(":", 1)[1],
                    "capabilities": {"tools": True},
                    "discovered_at": T0,
                    "last_seen_at": T0,
                    "source_metadata": {
                        "description": "SIMULATOR: scripted" if model in simulated else "a model"
                    },
                }
                for model in models
            ],
        )


def run(
    store: ResultStore,
    clock: Clock,
    run_id: str,
    start: dt.datetime,
    items: Sequence[ItemResult],
    models: Sequence[str],
) -> None:
    clock.now = start
    store.start_run(spec(run_id, models), shard=None)
    store.add_results(run_id, items)
    clock.now = start + RUN_TIME
    store.finish(run_id, shard=None, status="complete", spend=Decimal(0))


def decision(
    catalog: Catalog,
    model: str,
    verdict: str,
    run_id: str,
    at: dt.datetime,
    checks: list[dict[str, Any]],
) -> None:
    with catalog.begin() as connection:
        record_decision(
            connection,
            model_id=model,
            decision=verdict,
            reasons=[f"{c['name']}: {c['detail']}" for c in checks if c["verdict"] == "fail"],
            checks=checks,
            provenance=Provenance("release", "ab" * 32, eval_run_ids=(run_id,)),
            decided_by="ci-bot",
            host="ci",
            decided_at=at,
        )


def check(name: str, verdict: str, measured: float, detail: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "verdict": verdict, "measured": measured, "detail": detail, **more}


def call_row(model: str, at: dt.datetime, source: str) -> dict[str, Any]:
    return {
        "call_id": uuid.uuid4().hex,
        "started_at": at,
        "served_model": model,
        "requested_model": model,
        "status": "ok",
        "pricing_source": source,
        "cost": Decimal("0.00001"),
    }


@dataclass
class Built:
    catalog: Catalog
    config: ClearanceConfig
    store: ResultStore
    out: Path


@pytest.fixture
def built(catalog: Catalog, tmp_path: Path) -> Built:
    clock = Clock()
    store = ResultStore(catalog, clock=clock)
    add_models(catalog, GOOD, BAD, simulated=[GOOD])
    old = [item for trials in OLD for item in trials.items(None)]
    run(store, clock, "r-old", OLD_START, old, [GOOD, BAD])
    latencies = iter(float(100 + 10 * n) for n in range(19))
    now = [item for trials in NOW if trials.model == GOOD for item in trials.items(latencies)]
    fixed = iter([50.0] * 21)
    now += [item for trials in NOW if trials.model == BAD for item in trials.items(fixed)]
    run(store, clock, "r-now", NOW_START, now, [GOOD, BAD])

    decided_old = OLD_START + 2 * RUN_TIME
    decision(
        catalog,
        GOOD,
        "enable",
        "r-old",
        decided_old,
        [
            check("criticality.critical", "pass", 1.0, "9/9 passed", interval=[0.8, 1.0]),
            check("latency.p95_ms", "pass", 300.0, "p95 300 ms", threshold=1000.0),
        ],
    )
    decision(
        catalog,
        BAD,
        "enable",
        "r-old",
        decided_old,
        [check("criticality.critical", "pass", 0.667, "6/9 passed", threshold=0.5)],
    )
    decided_now = NOW_START + 2 * RUN_TIME
    decision(
        catalog,
        BAD,
        "disable",
        "r-now",
        decided_now,
        [
            check(
                "criticality.critical",
                "fail",
                0.333,
                "3/9 passed",
                interval=[0.1, 0.45],
                threshold=0.5,
            ),
            check("flows", "fail", 0.5, "3/6 passed", interval=[0.2, 0.8], threshold=0.9),
        ],
    )
    with catalog.begin() as connection:
        record_override(
            connection,
            model_id=BAD,
            action="enable",
            reason="vendor hotfix checked by hand",
            decided_by="alice",
            host="laptop",
            decided_at=decided_now + RUN_TIME,
        )
        connection.execute(
            insert(t.ai_calls),
            [
                call_row(GOOD, NOW_START + dt.timedelta(minutes=5), "default"),
                call_row(GOOD, NOW_START + dt.timedelta(minutes=6), "catalog"),
                call_row(GOOD, NOW_START - dt.timedelta(minutes=5), "default"),  # before the run
                call_row(GOOD, NOW_START + 2 * RUN_TIME, "default"),  # after it
            ],
        )
    return Built(catalog, ClearanceConfig(root=tmp_path), store, tmp_path / "report")


def collect(built: Built, **options: Any) -> ReportData:
    options.setdefault("policy", POLICY)
    options.setdefault("now", NOW_START + 4 * RUN_TIME)
    return collect_report(built.config, built.catalog, **options)


def expected_verdict(pairs: list[tuple[int, int]], bar: float) -> tuple[str, str]:
    """(verdict, label) of a matrix cell, from its per-case pairs."""
    interval = clustered_interval(pairs, one_sided=True, level=0.9, method="wilson")
    passes, trials = sum(p for p, _ in pairs), sum(n for _, n in pairs)
    verdict = "clears" if interval.low >= bar else "fails" if interval.high < bar else "unsure"
    label = f"{passes / trials:.3f} [{interval.low:.3f}, {interval.high:.3f}] {passes}/{trials}"
    return verdict, label


# --- the index ---------------------------------------------------------------------------


# The only test to read results without their evidence (runstore.results) on PostgreSQL.
@pytest.mark.each_dialect
def test_the_index_has_a_verdict_row_per_model_and_a_cell_per_tool(built: Built) -> None:
    data = collect(built)
    assert data.run is not None
    assert data.run.run_id == "r-now"
    assert data.tools == ("book", "find", FLOWS)
    files = write_report(data, built.out, catalog=built.catalog)
    assert files.index == built.out / "index.html"
    assert_self_contained(files.pages)
    index = parse(files.index)

    rows = {row.attrs["data-model"]: row for row in index.all("tr", data_model=None)}
    assert list(rows) == [BAD, GOOD]
    bad, good = rows[BAD], rows[GOOD]
    assert bad.all("span")[0].words() == "disable"
    assert "recorded 2026-03-03 11:00 UTC by policy release" in bad.words()
    assert [li.words() for li in bad.all("li")] == [
        "criticality.critical: 3/9 passed",
        "flows: 3/6 passed",
    ]
    assert "serves override:enable" in bad.words()
    assert "override by alice: vendor hotfix checked by hand" in bad.words()
    dry = decide(built.store.results("r-now", evidence=False), POLICY, model_id=GOOD)
    assert good.one("span", class_=f"badge b-{dry.decision}").words() == dry.decision
    assert "dry run of policy release: not recorded" in good.words()
    assert good.one("span", class_="sim").words() == "SIMULATOR"
    assert not bad.all("span", class_="sim")

    lead = index.one("p", class_="lead").words()
    enabled = [GOOD] if dry.decision == "enable" else []
    assert lead.startswith(f"{len(enabled)} of 2 model(s) clear the bar")
    assert "1 disable." in lead

    matrix = index.one("table", class_="matrix")
    for tool in data.tools:
        row = matrix.one("tr", data_tool=tool)
        cells = row.all("td", data_verdict=None)
        assert len(cells) == 2  # BAD, then GOOD
        for model, cell in zip((BAD, GOOD), cells, strict=True):
            verdict, label = expected_verdict(PAIRS[model, tool], BARS[tool])
            assert cell.attrs["data-verdict"] == verdict, (model, tool)
            assert cell.one("svg").attrs["aria-label"] == label, (model, tool)
            assert cell.one("title").words() == label


def test_the_index_says_what_moved_since_the_last_decision(built: Built) -> None:
    data = collect(built)
    files = write_report(data, built.out, catalog=built.catalog)
    rows = {row.attrs["data-model"]: row for row in parse(files.index).all("tr", data_model=None)}

    bad_worse = rows[BAD].one("div", class_="worse").words()
    # three at most, worst first, then a link to the model page for the rest
    assert (
        bad_worse
        == "worse: find 1.000 → 0.000; all flows 1.000 → 0.500; book 0.667 → 0.333; +1 more"
    )
    assert rows[BAD].one("a", href=f"models/{model_slug(BAD)}.html#checks").words() == "+1 more"
    assert not rows[BAD].all("div", class_="better")
    assert [c.name for c in data.model(BAD).cell_diff] == ["find", FLOWS, "book"]

    good = data.model(GOOD)
    assert [(c.name, c.direction) for c in good.cell_diff] == [
        ("book", "worse"),
        ("find", "better"),
    ]
    assert {c.name: c.direction for c in good.check_diff} == {
        "criticality.critical": "worse",
        "latency.p95_ms": "better",
    }
    good_worse = rows[GOOD].one("div", class_="worse").words()
    good_better = rows[GOOD].one("div", class_="better").words()
    assert good_worse.startswith("worse: book 1.000 → 0.889")
    assert "criticality.critical pass" in good_worse
    assert good_better.startswith("better: find 0.833 → 1.000")
    assert "latency.p95_ms pass 300 → pass 271" in good_better


def test_cost_latency_and_default_priced_calls(built: Built) -> None:
    data = collect(built)
    good, bad = data.model(GOOD).cost, data.model(BAD).cost
    assert isinstance(good.spend, Decimal)
    assert isinstance(good.cost_per_success, Decimal)
    assert (good.spend, good.cost_per_success) == (GOOD_SPEND, GOOD_PER_PASS)
    assert (good.priced, good.unpriced) == (20, 1)
    assert (good.p50_ms, good.p95_ms) == pytest.approx((GOOD_P50, GOOD_P95))
    assert (good.logged_calls, good.default_priced_calls) == (2, 1)
    assert (bad.spend, bad.cost_per_success, bad.p50_ms) == (BAD_SPEND, BAD_PER_PASS, 50.0)
    assert (bad.logged_calls, bad.default_priced_calls) == (0, 0)

    files = write_report(data, built.out, catalog=built.catalog)
    table = parse(files.index).one("table", class_="cost")
    cells = {row.all("td")[0].children[0]: row.all("td") for row in table.all("tr")[1:]}
    assert [c.words() for c in cells[GOOD][1:5]] == [
        "0.0036",
        "0.0002",
        "190.0 ms",
        "271.0 ms",
    ]
    flag = cells[GOOD][5].one("span", data_flag="default-priced")
    assert flag.words().startswith("1 of 2 logged calls priced by the DEFAULT price")
    assert "1 of 21 trials unpriced" in cells[GOOD][5].words()
    assert [c.words() for c in cells[BAD][1:5]] == ["0.021", "0.0035", "50.0 ms", "50.0 ms"]
    assert cells[BAD][5].words() == "no calls logged during the run"

    page = parse(built.out / "models" / f"{model_slug(GOOD)}.html")
    assert page.one("span", data_flag="default-priced").words().startswith("1 of 2 logged")


def test_live_calls_during_a_run_are_not_the_runs_once_its_calls_carry_its_id(
    built: Built,
) -> None:
    # built's untagged calls stand for a run logged before ai_calls knew its run; once one
    # call carries the run's id, the untagged calls of its window are live traffic
    tagged = call_row(GOOD, NOW_START + dt.timedelta(minutes=7), "catalog")
    tagged.update(eval_run_id="r-now")
    with built.catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), [tagged])
    cost = collect(built).model(GOOD).cost
    assert (cost.logged_calls, cost.default_priced_calls) == (1, 0)


def test_estimated_spend_is_shown_apart_from_the_spend(built: Built) -> None:
    # two answers without usage during the run: one priced from the catalog, one (no
    # catalog price) at the default price
    estimated = [
        {**call_row(GOOD, NOW_START + dt.timedelta(minutes=7), "estimated"), "price_id": 3},
        {**call_row(GOOD, NOW_START + dt.timedelta(minutes=8), "estimated"), "price_id": None},
    ]
    estimated[0]["cost"] = Decimal("0.00003")
    with built.catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), estimated)
    data = collect(built)
    cost = data.model(GOOD).cost
    assert (cost.logged_calls, cost.estimated_calls, cost.default_priced_calls) == (4, 2, 2)
    assert cost.estimated_spend == Decimal("0.00004")
    assert data.model(BAD).cost.estimated_calls == 0

    files = write_report(data, built.out, catalog=built.catalog)
    table = parse(files.index).one("table", class_="cost")
    cells = {row.all("td")[0].children[0]: row.all("td") for row in table.all("tr")[1:]}
    assert cells[GOOD][1].one("div", data_flag="estimated").words() == "of which 0.00004 estimated"
    assert (
        cells[GOOD][5]
        .one("span", data_flag="estimated")
        .words()
        .startswith("2 of 4 logged calls reported no usage")
    )
    assert not cells[BAD][1].all("div", data_flag="estimated")
    page = parse(built.out / "models" / f"{model_slug(GOOD)}.html")
    assert page.one("span", data_flag="estimated").words() == (
        "Of which 0.00004 USD estimated: 2 of 4 logged calls reported no usage."
    )


# --- the model pages ---------------------------------------------------------------------


def test_model_pages_link_back_and_group_failures_flaky_and_infra(built: Built) -> None:
    data = collect(built)
    files = write_report(data, built.out, catalog=built.catalog)
    index = parse(files.index)
    for model in (GOOD, BAD):
        href = f"models/{model_slug(model)}.html"
        assert index.one("tr", data_model=model).all("a")[0].attrs["href"] == href
        page = parse(built.out / href)
        assert page.one("nav").all("a")[0].attrs["href"] == "../index.html"
        assert page.all("title")[0].words() == f"{model}: clearance"

    good = parse(built.out / "models" / f"{model_slug(GOOD)}.html")
    flaky = good.one("section", id="flaky")
    listed_flaky = flaky.one("table", class_="flaky").all("tr")[1:]
    assert [[td.words() for td in tr.all("td")] for tr in listed_flaky] == [
        ["b3", "contract", "book", "2/3", "PFP"]
    ]
    shown = flaky.one("div", data_case="b3")
    mismatch = shown.one("tr", class_="m-mismatch")
    assert [td.words() for td in mismatch.all("td")] == [  # both strings: shown as JSON
        "/date",
        '"2026-12-01"',
        '"tomorrow"',
        "mismatch",
    ]
    assert not good.one("section", id="failures").all("div", data_case=None)
    infra = good.one("section", id="infra").one("table")
    # by the error's kind and HTTP status, with its messages, as the evidence recorded them
    assert [[td.words() for td in tr.all("td")] for tr in infra.all("tr")[1:]] == [
        ["fallback_served", "-", "1", "", "flow2"],
        ["server_error", "500", "1", "upstream broke", "f2"],
    ]
    flows = good.one("table", class_="flows")
    assert [[td.words() for td in tr.all("td")] for tr in flows.all("tr")[1:]] == [
        ["flow1", "3/3", "3/3", "0"],
        ["flow2", "2/2", "2/2", "1"],
    ]
    book_row = next(
        tr
        for tr in good.one("table", class_="matrix").all("tr")
        if tr.all("th")[0].words() == "book"
    )
    sparkline = book_row.all("svg")[1]
    assert sparkline.attrs["aria-label"] == "pass rate over 2 runs"
    assert sparkline.one("title").words() == "r-old: 1.000 (9/9); r-now: 0.889 (8/9)"

    bad = parse(built.out / "models" / f"{model_slug(BAD)}.html")
    codes = bad.one("table", class_="codes")
    listed = {
        tr.all("td")[0].words(): (tr.all("td")[1].words(), [a.words() for a in tr.all("a")])
        for tr in codes.all("tr")[1:]
    }
    assert listed == {
        "argument_mismatch": ("6", ["b1", "f1"]),
        "invalid_json": ("3", ["f2"]),
        "missing_call": ("3", ["flow1"]),
        "schema_violation": ("3", ["b2"]),
    }
    assert bad.one("section", id="flaky").one("p").words() == (
        "No case changed verdict across its trials."
    )
    assert [c.attrs["data-check"] for c in bad.one("table", class_="checks").all("tr")[1:]] == [
        "criticality.critical",
        "flows",
    ]
    failures = bad.one("section", id="failures")
    assert [div.attrs["data-case"] for div in failures.all("div", data_case=None)] == [
        "b1",
        "f1",
        "f2",
        "flow1",
        "b2",
    ]
    schema = failures.one("div", data_case="b2")
    problem = schema.one("table", class_="problems").all("tr")[1]
    assert [td.words() for td in problem.all("td")] == [
        "schema_violation",
        "1",
        "tool book; 'pers 7' does not match '^p_[0-9]+$'",
        "/person_id",
        "/properties/person_id/pattern",
    ]
    raw = failures.one("div", data_case="f2").all("pre")[0]
    assert raw.text() == '{"name": "A'
    assert "expected, never called" in failures.one("div", data_case="flow1").words()


def test_failing_cases_are_paged(built: Built) -> None:
    data = collect(built)
    files = write_report(data, built.out, catalog=built.catalog, page_size=2, max_pages=2)
    assert_self_contained(files.pages)
    slug = model_slug(BAD)
    models = built.out / "models"
    assert sorted(p.name for p in models.iterdir() if p.name.startswith(slug)) == [
        f"{slug}-failures-2.html",
        f"{slug}.html",
    ]
    assert sorted(files.pages) == sorted(
        [built.out / "index.html", *(models / name for name in os.listdir(models))]
    )
    first, second = parse(models / f"{slug}.html"), parse(models / f"{slug}-failures-2.html")

    def shown(page: Node) -> list[str]:
        section = page.one("section", id="failures")
        return [div.attrs["data-case"] for div in section.all("div", data_case=None)]

    assert (shown(first), shown(second)) == (["b1", "f1"], ["f2", "flow1"])
    assert [a.attrs["href"] for a in first.one("p", class_="pager").all("a")] == [
        f"{slug}-failures-2.html"
    ]
    assert [a.attrs["href"] for a in second.one("p", class_="pager").all("a")] == [f"{slug}.html"]
    assert not first.all("p", class_="note")
    note = second.one("p", class_="note").words()
    assert note.startswith("1 more failing case(s) are not shown here")
    links = {a.words(): a.attrs["href"] for a in first.one("table", class_="codes").all("a")}
    assert links == {
        "b1": f"{slug}.html#case-b1",
        "f1": f"{slug}.html#case-f1",
        "f2": f"{slug}-failures-2.html#case-f2",
        "flow1": f"{slug}-failures-2.html#case-flow1",
    }
    not_shown = first.one("table", class_="codes").all("tr")[-1].all("td")
    assert [td.words() for td in not_shown] == ["schema_violation", "3", "b2"]
    assert not not_shown[2].all("a")  # past the last page: named, not linked
    assert not second.all("section", id="flaky")  # the first page's only


def test_a_newer_run_is_not_in_the_trends_nor_the_decision_before(built: Built) -> None:
    # r-next started after r-now and is still running, with a decision of its own
    clock = Clock()
    clock.now = NOW_START + 2 * RUN_TIME
    store = ResultStore(built.catalog, clock=clock)
    store.start_run(spec("r-next", [GOOD]), shard=None)
    store.add_results("r-next", Trials(GOOD, "b1", "FFF", "argument_mismatch").items(None))
    check_ = check("criticality.critical", "fail", 0.0, "0/3 passed")
    decision(built.catalog, GOOD, "disable", "r-next", NOW_START + 3 * RUN_TIME, [check_])

    data = collect(built)
    assert data.run is not None
    assert data.run.run_id == "r-now"
    assert [run.run_id for run in data.trend_runs] == ["r-old", "r-now"]
    good = data.model(GOOD)
    assert [(p.run_id, p.rate) for p in good.trends["book"]] == [("r-old", 1.0), ("r-now", 8 / 9)]
    assert good.recorded is None
    assert good.previous is not None
    assert good.previous.eval_run_ids == ["r-old"]


def test_a_model_with_no_priced_trial_has_no_cost_per_success(built: Built) -> None:
    cost = collect(built, run_id="r-old").model(BAD).cost  # r-old's trials have no cost
    assert (cost.spend, cost.priced, cost.unpriced) == (Decimal(0), 0, 21)
    assert cost.cost_per_success is None


def test_case_ids_alike_once_sanitized_keep_their_own_anchors(
    catalog: Catalog, tmp_path: Path
) -> None:
    clock = Clock()
    add_models(catalog, BAD)
    cases = ["b x", "b/x", "b#x", "b-x"]
    items = [i for case in cases for i in Trials(BAD, case, "FF", "argument_mismatch").items(None)]
    run(ResultStore(catalog, clock=clock), clock, "r-x", NOW_START, items, [BAD])
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY)
    write_report(data, tmp_path / "report", catalog=catalog)
    page = parse(tmp_path / "report" / "models" / f"{model_slug(BAD)}.html")
    anchors = {div.attrs["data-case"]: div.attrs["id"] for div in page.all("div", data_case=None)}
    assert sorted(anchors) == sorted(cases)
    assert len(set(anchors.values())) == len(cases)
    assert anchors["b-x"] == "case-b-x"
    links = {a.words(): a.attrs["href"] for a in page.one("table", class_="codes").all("a")}
    assert {case: href.partition("#")[2] for case, href in links.items()} == anchors


def test_transcripts_show_structured_content_as_json_and_cut_long_text(
    catalog: Catalog, tmp_path: Path
) -> None:
    clock = Clock()
    add_models(catalog, BAD)
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 50_000}}
    parts = [{"type": "text", "text": "what's on it?"}, image]
    evidence = {
        "failures": [{"code": "missing_call", "turn": 1, "evidence": {"tool": "book"}}],
        "transcript": [
            {"role": "user", "content": parts},
            {"role": "tool", "tool_call_id": "c0", "content": f"{'y' * 9_989} {OPENROUTER_KEY} ."},
            {
                "role": "assistant",
                "content": "z" * 50_000,
                "tool_calls": [
                    {"id": "c1", "function": {"name": "book", "arguments": {"day": "mon"}}}
                ],
            },
        ],
    }
    items = Trials(BAD, "b1", "FF", "missing_call").items(None)
    items = [replace(item, evidence=evidence) for item in items]
    run(ResultStore(catalog, clock=clock), clock, "r-x", NOW_START, items, [BAD])
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY)
    files = write_report(data, tmp_path / "report", catalog=catalog)
    assert files.bytes < 60_000
    case = parse(tmp_path / "report" / "models" / f"{model_slug(BAD)}.html").one(
        "div", data_case="b1"
    )
    user, straddling, answer, call_ = (pre.text() for pre in case.one("details").all("pre"))
    assert user.startswith('[{"')  # JSON, not a Python repr (PostgreSQL may reorder keys)
    assert '"text": "what\'s on it?"' in user
    assert user.endswith(f"… [{len(json.dumps(parts))} chars]")
    assert answer == "z" * 10_000 + "… [50000 chars]"
    # a key across the cut is redacted whole, never left half shown
    assert straddling == "y" * 9_989 + " <redacted>… [10002 chars]"
    assert call_ == 'book({"day": "mon"})  [c1]'


def test_an_out_that_is_not_a_report_is_never_replaced(tmp_path: Path) -> None:
    data = ReportData(NOW_START, None, POLICY, None)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "gate-summary.md").write_text("mine")
    for out in (notes, folder):
        with pytest.raises(InputError) as raised:
            write_report(data, out)
        assert raised.value.message == f"{out} exists and is not a clearance report"
    assert notes.read_text() == "mine"
    assert [p.name for p in folder.iterdir()] == ["gate-summary.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "reports"]
    (tmp_path / "empty").mkdir()
    for out in (folder / "html", folder / "html", tmp_path / "empty"):  # new, a report, empty
        assert write_report(data, out).index.is_file()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.0036", "0.0036"),
        ("100.00", "100"),
        ("1E+3", "1000"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),  # whole units kept
        ("1234567.891", "1234568"),
        ("0.000513021428571428571428571428571286", "0.000513021"),  # 6 significant digits
        ("1.999999999", "2"),  # rounded, not cut
        ("0.0000000033333", "0.0000000033333"),  # small amounts keep their digits
        ("0.00000000999999949", "0.00000001"),
        ("-0.000000004", "-0.000000004"),
        ("0E-8", "0"),
        ("-0", "0"),
    ],
)
def test_money_text(value: str, text: str) -> None:
    assert money_text(Decimal(value)) == text
    assert money_text(value) == text  # a decimal string, as a check stores USD
    assert Decimal(money_exact(Decimal(value))) == Decimal(value)


def test_money_reads_apart_from_the_bound_it_is_compared_with() -> None:
    assert money_text(Decimal("0.1000001"), Decimal("0.1")) == "0.1000001"
    assert money_text(Decimal("0.1"), Decimal("0.1000001")) == "0.1"
    assert money_text(Decimal("0.10000004"), Decimal("0.10000003")) == "0.10000004"
    assert money_text(Decimal("0.10000003"), Decimal("0.10000004")) == "0.10000003"
    assert money_text(Decimal("0.1"), Decimal("0.1")) == "0.1"


_AMOUNTS = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False)


@given(_AMOUNTS, _AMOUNTS)
def test_money_text_is_close_short_and_tells_amounts_apart(a: Decimal, b: Decimal) -> None:
    shown = Decimal(money_text(a))
    if not a.is_zero():
        # MONEY_DIGITS significant digits, or the whole units when there are more of them
        places = max(0, MONEY_DIGITS - 1 - a.adjusted())
        assert abs(shown - a) <= Decimal(1).scaleb(-places) / 2
        assert len(shown.normalize().as_tuple().digits) <= max(MONEY_DIGITS, a.adjusted() + 1)
    if a != b:
        assert Decimal(money_text(a, b)) != Decimal(money_text(b, a))


def test_money_is_shown_short_with_the_exact_amount_in_its_title(
    catalog: Catalog, tmp_path: Path
) -> None:
    clock = Clock()
    add_models(catalog, GOOD)
    cases = [Trials(GOOD, f"b{n}", "PPP") for n in range(9)] + [Trials(GOOD, "b9", "P")]
    items = [item for trials in cases for item in trials.items(None)]  # 28 passes
    items = [replace(item, cost=Decimal("0.0143646") if i == 0 else Decimal(0))
             for i, item in enumerate(items)]  # fmt: skip
    run(ResultStore(catalog, clock=clock), clock, "r-x", NOW_START, items, [GOOD])
    policy = GatePolicy.model_validate(
        {
            **POLICY.model_dump(exclude={"source_hash", "path"}),
            "cost": {"per_successful_task_max_usd": "0.01"},
        }
    )
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=policy)
    files = write_report(data, tmp_path / "report", catalog=catalog)
    per_pass = Decimal("0.0143646") / 28
    exact = format(per_pass, "f")
    assert len(exact) > 20

    def money(node: Node) -> tuple[str, str]:
        found = node.one("span", class_="money")
        return found.words(), found.attrs["title"]

    cost = parse(files.index).one("table", class_="cost").all("tr")[1].all("td")
    assert money(cost[1]) == ("0.0143646", "0.0143646")
    assert money(cost[2]) == ("0.000513021", exact)
    page = parse(tmp_path / "report" / "models" / f"{model_slug(GOOD)}.html")
    check_ = page.one("tr", data_check="cost.per_successful_task").all("td")
    assert money(check_[2]) == ("0.000513021", exact)  # measured
    assert money(check_[5]) == ("0.000513021", exact)  # in the gate's sentence
    assert check_[5].words() == "USD 0.0143646 / 28 passes = 0.000513021 ≤ 0.01"
    assert money(check_[4]) == ("0.01", "0.01")  # the bar
    assert "0.000513021 USD" in page.one("section", id="tools").words()


def test_an_interval_never_wraps(built: Built) -> None:
    files = write_report(collect(built), built.out, catalog=built.catalog)
    style = parse(files.index).one("style").text()
    assert ".interval, .money { white-space: nowrap; }" in style
    page = parse(built.out / "models" / f"{model_slug(BAD)}.html")
    shown = page.one("tr", data_check="flows").all("td")[3].one("span", class_="interval")
    assert shown.text() == "[0.200,\xa00.800]"  # a no-break space between the bounds
    book = parse(files.index).one("tr", data_tool="book").all("td")[0]
    assert book.one("div", class_="fig").one("span", class_="interval").text().count("\xa0") == 1


def test_a_type_mismatch_names_json_types_and_a_wrong_tool_reads_in_words(
    catalog: Catalog, tmp_path: Path
) -> None:
    clock = Clock()
    add_models(catalog, BAD)
    sent = {"event_id": "e_77", "notify": "true"}
    evidence = {
        "failures": [
            {
                "code": "argument_mismatch",
                "turn": 1,
                "evidence": {
                    "tool": "book",
                    "call_id": "c1",
                    "index": 0,
                    "pointer": "/notify",
                    "expected": "true",
                    "actual": "true",
                    "reason": "mismatch",
                },
            },
            {
                "code": "wrong_tool",
                "turn": 1,
                "evidence": {
                    "expected_tool": "create_event",
                    "actual_tool": "search_contacts",
                    "call_id": "c2",
                    "index": 1,
                },
            },
        ],
        "transcript": [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "function": {"name": "book", "arguments": json.dumps(sent)}},
                    {"id": "c2", "function": {"name": "search_contacts", "arguments": "{}"}},
                ],
            }
        ],
    }
    items = Trials(BAD, "b1", "FF", "argument_mismatch").items(None)
    run(ResultStore(catalog, clock=clock), clock, "r-x", NOW_START,
        [replace(item, evidence=evidence) for item in items], [BAD])  # fmt: skip
    write_report(collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY),
                 tmp_path / "report", catalog=catalog)  # fmt: skip
    case = parse(tmp_path / "report" / "models" / f"{model_slug(BAD)}.html").one(
        "div", data_case="b1"
    )
    problems = [
        tr.all("td")[2].words() for tr in case.one("table", class_="problems").all("tr")[1:]
    ]
    assert problems == [
        'tool book; mismatch; at /notify: expected true (boolean), got "true" (string)',
        "called search_contacts; expected create_event",
    ]
    mismatch = case.one("tr", class_="m-mismatch").all("td")
    assert [td.words() for td in mismatch[:3]] == ["/notify", "true (boolean)", '"true" (string)']
    calls = case.all("div", class_="call")
    assert calls[1].one("span", class_="worse wrong-tool").words() == (
        "the wrong tool: create_event was expected"
    )


def test_the_tool_cells_pool_flow_turns_and_show_their_n(built: Built) -> None:
    scripts = FlowScripts({"flow1": (("book",),), "flow2": (("book",),)})
    data = collect(built, flow_scripts=scripts)
    assert not [note for note in data.notes if "flow(s)" in note]
    good = data.model(GOOD).cells["book"]
    # r-now: b1, b2, b3 as before, and the book turn of each flow trial (flow2 had one
    # trial a fallback answered: not judged)
    pairs = [(3, 3), (3, 3), (2, 3), (3, 3), (2, 2)]
    expected = clustered_interval(pairs, one_sided=True, level=0.9, method="wilson")
    assert (good.passes, good.trials, good.cases, good.flow_turns, good.infra) == (13, 14, 5, 5, 1)
    assert (good.low, good.high) == (expected.low, expected.high)
    files = write_report(data, built.out, catalog=built.catalog)
    index = parse(files.index)
    cell = index.one("tr", data_tool="book").all("td", data_verdict=None)[1]  # BAD, then GOOD
    n = cell.one("span", class_="n")
    assert (n.attrs["data-n"], n.words()) == ("14", "13/14 turns (5 in flows)")
    assert cell.one("title").words() == good.label
    legend = index.one("p", class_="legend muted").words()
    assert "pools every judged turn that calls the tool" in legend
    assert "clustered by case" in legend
    # without the flows' definitions the tool rows hold single-turn cases, and say so
    bare = collect(built)
    assert bare.model(GOOD).cells["book"].trials == 9
    assert any(
        note.startswith("2 flow(s) are counted in the flows row only") for note in bare.notes
    )


def test_a_policy_that_does_not_load_gives_its_reason_on_dry_run_verdicts(built: Built) -> None:
    data = collect(built, policy=None)  # the configured policy: none in this project
    assert data.policy is None
    assert data.policy_error is not None
    reason = f"no gate policy loaded: {data.policy_error}"
    good = data.model(GOOD)  # nothing recorded on r-now
    assert (good.verdict, good.dry_run_error) == ("not judged", reason)
    write_report(data, built.out, catalog=built.catalog)
    page = parse(built.out / "models" / f"{model_slug(GOOD)}.html")
    assert " ".join(reason.split()) in [note.words() for note in page.all("p", class_="note")]


# --- model output is text, and secrets stay out ------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
QUOTE = "' onmouseover='x"
AMP = "&amp;"
HOSTILE = f"{SCRIPT}{IMG}{QUOTE}{AMP}"
ENV_KEY = "sk-test-abcdefghijklmnop1234"
ENV_TOKEN = "hunter-correct-horse-battery-staple"  # no key pattern: only the variable hides it
OPENROUTER_KEY = "sk-or-v1-" + "0123456789abcdef" * 4


def test_hostile_model_output_is_text_and_secrets_are_redacted(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOO_API_KEY", ENV_KEY)
    monkeypatch.setenv("FOO_TOKEN", ENV_TOKEN)
    clock = Clock()
    store = ResultStore(catalog, clock=clock)
    add_models(catalog, GOOD)
    case_id, tool = f"case {HOSTILE}", f"t{HOSTILE}"
    arguments = json.dumps({"note": HOSTILE, "key": OPENROUTER_KEY, "token": ENV_TOKEN})
    evidence = {
        "failures": [
            {
                "code": "argument_mismatch",
                "turn": 1,
                "evidence": {
                    "tool": tool,
                    "call_id": "call_x",
                    "pointer": "/note",
                    "expected": f"'{QUOTE}'",
                    "actual": HOSTILE,
                    "reason": "mismatch",
                    "message": f"model said {SCRIPT} with {ENV_KEY}",
                },
            }
        ],
        "transcript": [
            {"role": "user", "content": f"use {OPENROUTER_KEY} and {ENV_KEY} {HOSTILE}"},
            {
                "role": "assistant",
                "content": f"Sure {SCRIPT} {IMG} {QUOTE} {AMP} {ENV_TOKEN}",
                "tool_calls": [
                    {
                        "id": "call_x",
                        "type": "function",
                        "function": {"name": tool, "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_x", "content": f"{IMG} ok {ENV_KEY}"},
        ],
    }
    items = [
        ItemResult(
            model_id=GOOD,
            case_id=case_id,
            case_kind="contract",
            tool=tool,
            criticality="critical",
            trial=trial,
            verdict=verdict,  # type: ignore[arg-type]
            failure_code="argument_mismatch" if verdict == "fail" else None,
            evidence=evidence if verdict == "fail" else None,
        )
        for trial, verdict in ((1, "fail"), (2, "fail"), (3, "pass"))
    ]
    run(store, clock, "r-x", NOW_START, items, [GOOD])
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY)
    files = write_report(data, tmp_path / "report", catalog=catalog)
    assert len(files.pages) == 2
    assert_self_contained(files.pages)

    for path in files.pages:
        raw = path.read_text(encoding="utf-8")
        for secret in (ENV_KEY, ENV_TOKEN, OPENROUTER_KEY, "0123456789abcdef"):
            assert secret not in raw, (path.name, secret)
        assert "&amp;amp;" in raw  # the model's "&amp;", escaped once more
        assert not [n for n in parse(path).walk() if n.tag in ("script", "img")]
    index = parse(files.index)
    assert index.one("tr", data_tool=tool).all("th")[0].text() == tool  # the tool's row, as text
    page = parse(tmp_path / "report" / "models" / f"{model_slug(GOOD)}.html")
    case = page.one("div", data_case=case_id)
    assert case.one("h3").children[0] == f"{case_id} "
    sent = json.dumps(HOSTILE, ensure_ascii=False)  # as JSON, still text
    assert case.one("tr", class_="m-mismatch").all("td")[2].words() == " ".join(sent.split())
    transcript = [pre.text() for pre in case.one("details").all("pre")]
    assert transcript[0] == f"use <redacted> and <redacted> {HOSTILE}"
    assert transcript[1] == f"Sure {SCRIPT} {IMG} {QUOTE} {AMP} <redacted>"
    assert transcript[2].startswith(f"t{HOSTILE}(")
    assert '"key": "<redacted>"' in transcript[2]
    assert transcript[3] == f"{IMG} ok <redacted>"
    assert f"model said {SCRIPT} with <redacted>" in case.one("table", class_="problems").text()


# --- nothing to report, and mistakes ----------------------------------------------------


def test_an_empty_catalog_says_there_is_nothing_to_report(catalog: Catalog, tmp_path: Path) -> None:
    config = ClearanceConfig(root=tmp_path)
    data = collect_report(config, catalog, policy=POLICY)
    assert (data.run, data.models, data.policy) == (None, (), POLICY)
    files = write_report(data, tmp_path / "report", catalog=catalog)
    assert files.pages == (tmp_path / "report" / "index.html",)
    page = parse(files.index)
    assert page.one("h1").words() == "Nothing to report yet"
    assert page.one("p", class_="empty").words() == (
        "Nothing to report yet: the catalog holds no eval run."
    )
    assert_self_contained(files.pages)


def test_an_empty_index_still_links_the_pages_beside_it(catalog: Catalog, tmp_path: Path) -> None:
    """A project that only gates retrievers (or only watches SLOs) has no eval run: its
    index must still lead to the retrieval and SLO pages written beside it."""
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY)
    extra = {"slo.html": "<p>slo</p>", "retrieval.html": "<p>retrieval</p>"}
    files = write_report(data, tmp_path / "report", catalog=catalog, extra_pages=extra)
    links = [node.attrs["href"] for node in parse(files.index).all("a") if "href" in node.attrs]
    assert {"slo.html", "retrieval.html"} <= set(links)
    without = write_report(data, tmp_path / "bare", catalog=catalog)
    assert "retrieval.html" not in without.index.read_text()


def test_a_run_without_results_is_reported_as_empty(catalog: Catalog, tmp_path: Path) -> None:
    store = ResultStore(catalog, clock=Clock())
    store.start_run(spec("r-empty", [GOOD]), shard=None)
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY)
    assert data.run is not None
    assert data.run.run_id == "r-empty"
    assert data.models == ()
    assert data.notes == (
        "run r-empty is running: its figures may be partial",
        "the run holds no results",
    )
    files = write_report(data, tmp_path / "report", catalog=catalog)
    assert parse(files.index).one("p", class_="empty").words() == (
        "Nothing to report yet: the catalog holds no eval run with results "
        "(run r-empty is running and holds none)."
    )


def test_an_unknown_run_is_the_callers_mistake(built: Built) -> None:
    with pytest.raises(InputError) as raised:
        collect(built, run_id="nope")
    assert raised.value.message == "no eval run 'nope' in the catalog"
    assert raised.value.fix == "see `clearance runs list`"


def test_an_older_run_and_one_model_can_be_chosen(built: Built) -> None:
    data = collect(built, run_id="r-old", models=[BAD])
    assert data.run is not None
    assert data.run.run_id == "r-old"
    assert [m.model_id for m in data.models] == [BAD]
    bad = data.model(BAD)
    assert bad.recorded is not None
    assert bad.recorded.eval_run_ids == ["r-old"]
    assert (bad.verdict, bad.previous) == ("enable", None)
    assert bad.cells["book"].passes == 6
