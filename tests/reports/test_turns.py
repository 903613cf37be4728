"""Flows' judged turns by tool, and the tool cells that pool them with single-turn cases.

Frames are written by hand, one row per trial, as in test_figures.py; which turns a
flow trial played and passed is worked out here from the rule the flow runner follows
(it stops at the first failing turn), and checked against the runner itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from clearance.config import ClearanceConfig
from clearance.flows import load_flow, run_flow
from clearance.gate.policy import GatePolicy
from clearance.gate.stats import clustered_interval
from clearance.reports.figures import FLOWS, cells, trends
from clearance.reports.turns import (
    FlowScripts,
    load_flow_scripts,
    pooled_note,
    script_of,
    tool_turns,
)
from tests.flows.helpers import EXAMPLE_FLOW, SCHEMAS, Scripted, call, response, write

ROOT = Path(__file__).resolve().parents[2]
M, OTHER = "p:model", "p:other"
POLICY = GatePolicy.model_validate(
    {
        "version": 1,
        "name": "turns",
        "confidence": 0.9,
        "criticality": {"critical": {"min_lower_bound": 0.7}, "standard": {"min_lower_bound": 0.5}},
        "flows": {"min_lower_bound": 0.3},
        "min_trials_per_case": 1,
    }
)
SCRIPTS = FlowScripts(
    turns={
        "fa": (("search",), ("book", "note"), ()),  # two calls in turn 2, then the answer
        "fb": (("book",),),
    },
    criticality={"search": "standard", "book": "critical", "note": "standard"},
)


def row(case: str, trial: int, verdict: str, passed: int | None, total: int | None, **more: Any):  # type: ignore[no-untyped-def]
    values = {
        "run_id": "r1",
        "model_id": M,
        "case_id": case,
        "case_kind": "flow",
        "tool": None,
        "criticality": None,
        "trial": trial,
        "verdict": verdict,
        "fallback_served": False,
        "turns_passed": passed,
        "turns_total": total,
    }
    return values | more


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    data = pd.DataFrame(list(rows))
    for name in ("turns_passed", "turns_total"):
        data[name] = data[name].astype("Int64")
    return data


FA = [
    row("fa", 1, "pass", 3, 3),  # every turn passed
    row("fa", 2, "fail", 1, 3),  # turn 2 failed; the answer turn was never played
    row("fa", 3, "fail", 0, 3),  # turn 1 failed; nothing after it judged
    row("fa", 4, "fail", 3, 3),  # every turn passed, the final answer did not
    row("fa", 5, "infra_error", None, None),  # not judged: once per tool it calls
]


def test_a_flow_trials_turns_follow_from_its_counts_and_its_script() -> None:
    data = frame(
        *FA,
        row("fb", 1, "fail", 0, 2),  # two turns where the script has one: edited since
        row("fc", 1, "pass", 1, 1),  # no definition
    )
    turns, skipped = tool_turns(data, SCRIPTS)
    assert skipped == ["fb", "fc"]
    got = [
        (trial, tool, critical, passed, judged)
        for trial, tool, critical, passed, judged in zip(
            turns["trial"],
            turns["tool"],
            turns["criticality"],
            turns["_pass"],
            turns["_judged"],
            strict=True,
        )
    ]
    assert got == [
        (1, "search", "standard", True, True),
        (1, "book", "critical", True, True),
        (1, "note", "standard", True, True),
        (2, "search", "standard", True, True),
        (2, "book", "critical", False, True),
        (2, "note", "standard", False, True),
        (3, "search", "standard", False, True),
        (4, "search", "standard", True, True),
        (4, "book", "critical", True, True),
        (4, "note", "standard", True, True),
        (5, "book", "critical", False, False),
        (5, "note", "standard", False, False),
        (5, "search", "standard", False, False),
    ]
    note = pooled_note(skipped, SCRIPTS)
    assert note == (
        "2 flow(s) are counted in the flows row only, not in the tool rows (their definitions "
        "in contracts/flows are missing or have changed since the run): fb, fc"
    )
    assert pooled_note([], SCRIPTS) is None


def test_the_inference_matches_what_the_flow_runner_judged(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, "schedule_followup.yaml", EXAMPLE_FLOW))
    search = call("search_contacts", {"query": "Ada Lovelace"}, id="s1")
    event = {"contact_id": "c_42", "start": "2026-12-01T10:00:00Z", "title": "Ada"}
    good, wrong = (
        call("create_event", {**event, "duration_minutes": minutes}, id="e1")
        for minutes in (30, 60)
    )
    script = script_of(flow)
    assert script == (("search_contacts",), ("create_event",), ())
    scripts = FlowScripts({flow.id: script})
    for answers in (
        [response(None, search), response(None, wrong), response("Booked e_7, confirmed.")],
        [response(None, search), response(None, good), response("Booked e_7, confirmed.")],
        [response(None, search), response(None, good), response("Sorry.")],  # final fails
        [response("I cannot.")],
    ):
        verdict = run_flow(flow, Scripted(answers), tool_schemas=SCHEMAS)  # as the engine runs it
        judged = [
            (tool, turn.passed)
            for turn, tools in zip(verdict.turns, script, strict=False)
            for tool in tools
        ]
        data = frame(
            row(
                flow.id,
                1,
                "pass" if verdict.passed else "fail",
                verdict.turns_passed,
                verdict.turns_total,
            )
        )
        turns, skipped = tool_turns(data, scripts)
        assert skipped == []
        assert list(zip(turns["tool"], turns["_pass"], strict=True)) == judged, answers


def single(case: str, marks: str, tool: str, criticality: str, model: str = M):  # type: ignore[no-untyped-def]
    verdicts = {"P": "pass", "F": "fail", "I": "infra_error"}
    return [
        {
            **row(case, n, verdicts[mark], None, None),
            "model_id": model,
            "case_kind": "contract",
            "tool": tool,
            "criticality": criticality,
        }
        for n, mark in enumerate(marks, start=1)
    ]


def test_a_tool_cell_pools_single_turn_trials_and_flow_turns_clustered_by_case() -> None:
    data = frame(*single("c1", "PPF", "book", "critical"), *FA)
    turns, _ = tool_turns(data, SCRIPTS)
    found = cells(data, POLICY, turns)
    book = found[M, "book"]
    # c1: 2 of 3 trials; fa: trials 1 and 4 passed book's turn, trial 2 failed it,
    # trial 3 never reached it, trial 5 was an infra error
    pairs = [(2, 3), (2, 3)]
    expected = clustered_interval(pairs, one_sided=True, level=0.9, method="wilson")
    assert (book.passes, book.trials, book.cases, book.flow_turns, book.infra) == (4, 6, 2, 3, 1)
    assert (book.low, book.high) == (expected.low, expected.high)
    assert (book.bar, book.unit) == (0.7, "turns")  # book is critical
    search = found[M, "search"]  # only in the flow: its contract's criticality gives the bar
    only = clustered_interval([(3, 4)], one_sided=True, level=0.9, method="wilson")
    assert (search.passes, search.trials, search.cases, search.flow_turns) == (3, 4, 1, 4)
    assert (search.low, search.high, search.bar) == (only.low, only.high, 0.5)
    # the flows' own row still pools flow trials, as the gate's flows check does
    flows = found[M, FLOWS]
    assert (flows.passes, flows.trials, flows.unit) == (1, 4, "trials")
    # without the turns, the single-turn case alone: one case, as before
    assert cells(data, POLICY)[M, "book"].trials == 3
    assert (M, "search") not in cells(data, POLICY)


def test_more_cases_behind_a_tool_narrow_its_bounds_and_part_models() -> None:
    # one single-turn case each: both models read alike ("unsure"); with their flows'
    # turns, the model that passes them clears and the one that fails them does not
    rows: list[dict[str, Any]] = []
    for model, verdict, passed in ((M, "pass", 3), (OTHER, "fail", 0)):
        rows += single("c1", "PPP", "search", "standard", model)
        rows += [
            row(f"f{n}", trial, verdict, passed, 3, model_id=model)
            for n in range(6)
            for trial in (1, 2, 3)
        ]
    scripts = FlowScripts(
        {f"f{n}": (("search",), ("book",), ()) for n in range(6)}, {"search": "standard"}
    )
    data = frame(*rows)
    alone = cells(data, POLICY)
    assert alone[M, "search"].verdict == alone[OTHER, "search"].verdict == "unsure"
    turns, _ = tool_turns(data, scripts)
    pooled = cells(data, POLICY, turns)
    assert (pooled[M, "search"].verdict, pooled[M, "search"].trials) == ("clears", 21)
    assert (pooled[OTHER, "search"].verdict, pooled[OTHER, "search"].trials) == ("fails", 21)
    points = trends(data, {"r1": 1}, OTHER, turns)["search"]
    assert [(p.passes, p.trials) for p in points] == [(3, 21)]


def test_the_shipped_flows_give_their_scripts_and_tool_criticality(tmp_path: Path) -> None:
    scripts = load_flow_scripts(ClearanceConfig(root=ROOT))
    assert scripts.problem is None
    assert scripts.turns["pipeline_review_parallel"] == (("list_deals",), ())
    assert "case_create_deal" not in scripts.turns  # a single-turn case counts by its tool
    assert scripts.criticality["create_deal"] == "critical"
    missing = load_flow_scripts(ClearanceConfig(root=tmp_path))
    assert missing.turns == {}
    assert missing.problem == f"no contracts folder at {tmp_path / 'contracts'}"


@pytest.mark.parametrize("verdict", ["fail", "pass"])
def test_a_fallback_served_flow_trial_is_not_judged(verdict: str) -> None:
    data = frame(row("fa", 1, verdict, 3, 3, fallback_served=True))
    turns, _ = tool_turns(data, SCRIPTS)
    assert sorted(turns["tool"]) == ["book", "note", "search"]
    assert not turns["_judged"].any()
