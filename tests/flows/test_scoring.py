"""Scoring turns and driving flows: every failure code, wiring of results, partial credit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clearance.errors import ContractError
from clearance.flows import (
    FAILURE_CODES,
    FAILURE_MEANINGS,
    ExpectedCall,
    Failure,
    Flow,
    Step,
    load_flow,
    run_flow,
    score_final,
    score_turn,
)
from clearance.flows.matchers import compile_arguments
from clearance.providers.types import ChatResponse
from tests.flows.helpers import EXAMPLE_FLOW, SCHEMAS, Scripted, call, response, write

OFFERED = {"search_contacts", "create_event", "delete_contact"}


def step(*calls: tuple[str, dict[str, Any]], any_order: bool = True, extra: bool = False) -> Step:
    return Step(
        calls=tuple(
            ExpectedCall(tool, compile_arguments(args, path="f", pointer=""))
            for tool, args in calls
        ),
        any_order=any_order,
        allow_extra_calls=extra,
    )


def codes(step_: Step, answer: ChatResponse | None) -> list[str]:
    verdict = score_turn(
        step_, answer, tool_schemas=SCHEMAS, offered=OFFERED, forbidden={"delete_contact"}
    )
    assert verdict.passed == (not verdict.failures)
    return [f.code for f in verdict.failures]


def failures(step_: Step, answer: ChatResponse | None) -> tuple[Failure, ...]:
    return score_turn(
        step_, answer, tool_schemas=SCHEMAS, offered=OFFERED, forbidden={"delete_contact"}
    ).failures


SEARCH = step(("search_contacts", {"query": {"$text": "ada"}}))


def test_a_correct_turn_passes() -> None:
    assert codes(SEARCH, response(None, call("search_contacts", {"query": "Ada"}))) == []
    assert codes(step(), response("All done.")) == []


def test_wrong_tool() -> None:
    found = failures(
        SEARCH,
        response(
            None,
            call(
                "create_event",
                {
                    "contact_id": "c",
                    "start": "2026-01-01T00:00:00Z",
                    "duration_minutes": 30,
                    "title": "t",
                },
            ),
        ),
    )
    assert [f.code for f in found] == ["wrong_tool"]
    assert found[0].evidence["expected_tool"] == "search_contacts"
    assert found[0].evidence["actual_tool"] == "create_event"


def test_missing_call() -> None:
    found = failures(SEARCH, response("Ada is a mathematician."))
    assert [f.code for f in found] == ["missing_call"]
    assert found[0].evidence == {
        "tool": "search_contacts",
        "expected_args": {"query": "text like 'ada' (case and spacing ignored)"},
    }
    assert codes(SEARCH, None) == ["missing_call"]


def test_extra_call_unless_allowed() -> None:
    answer = response(
        None,
        call("search_contacts", {"query": "ada"}, index=0),
        call("search_contacts", {"query": "lovelace"}, index=1),
    )
    found = failures(SEARCH, answer)
    assert [f.code for f in found] == ["extra_call"]
    assert found[0].evidence["index"] == 1
    allowing = step(("search_contacts", {"query": {"$text": "ada"}}), extra=True)
    assert codes(allowing, answer) == []
    assert codes(step(), response(None, call("search_contacts", {"query": "x"}))) == ["extra_call"]


def test_invented_tool() -> None:
    found = failures(
        SEARCH,
        response(
            None,
            call("search_contacts", {"query": "ada"}),
            call("send_email", {"to": "x"}, index=1),
        ),
    )
    assert [f.code for f in found] == ["invented_tool"]
    assert found[0].evidence["tool"] == "send_email"
    assert found[0].evidence["offered"] == sorted(OFFERED)


def test_forbidden_tool() -> None:
    found = failures(
        SEARCH,
        response(
            None,
            call("search_contacts", {"query": "ada"}),
            call("delete_contact", {"contact_id": "c_1"}, index=1),
        ),
    )
    assert [f.code for f in found] == ["forbidden_tool"]
    assert found[0].evidence["tool"] == "delete_contact"


def test_invalid_json_is_not_also_an_argument_mismatch() -> None:
    found = failures(SEARCH, response(None, call("search_contacts", None, raw='{"query": "ada"')))
    assert [f.code for f in found] == ["invalid_json"]
    assert found[0].evidence["raw_arguments"] == '{"query": "ada"'
    assert found[0].evidence["quirks"] == ["invalid_json"]


def test_schema_violation_names_pointer_and_validator() -> None:
    found = failures(SEARCH, response(None, call("search_contacts", {"query": "ada", "limit": 0})))
    assert [f.code for f in found] == ["schema_violation", "argument_mismatch"]
    evidence = found[0].evidence
    assert evidence["pointer"] == "/limit"
    assert evidence["validator"] == "minimum"
    assert evidence["message"] == "0 is less than the minimum of 1"
    assert evidence["schema_pointer"] == "/properties/limit/minimum"
    # Formats are asserted too (those jsonschema can check without extra packages).
    schemas = {"invite": {"type": "object", "properties": {"email": {"format": "email"}}}}
    verdict = score_turn(
        step(("invite", {"email": {"$any": True}})),
        response(None, call("invite", {"email": "not an address"})),
        tool_schemas=schemas,
        offered={"invite"},
        forbidden=set(),
    )
    assert [(f.code, f.evidence["pointer"], f.evidence["validator"]) for f in verdict.failures] == [
        ("schema_violation", "/email", "format")
    ]


def test_argument_mismatch_evidence() -> None:
    found = failures(SEARCH, response(None, call("search_contacts", {"query": "bob"})))
    assert [f.code for f in found] == ["argument_mismatch"]
    assert found[0].evidence == {
        "tool": "search_contacts",
        "call_id": "call_search_contacts_0",
        "index": 0,
        "pointer": "/query",
        "expected": "text like 'ada' (case and spacing ignored)",
        "actual": "bob",
        "reason": "mismatch",
    }


def test_no_final_answer_on_an_answer_turn() -> None:
    assert codes(step(), response("   ")) == ["no_final_answer"]
    assert codes(step(), None) == ["no_final_answer"]


def test_parallel_calls_are_matched_optimally() -> None:
    two = step(
        ("search_contacts", {"query": {"$any": True}}), ("search_contacts", {"query": "ada"})
    )
    answer = response(
        None,
        call("search_contacts", {"query": "ada"}, index=0),
        call("search_contacts", {"query": "bob"}, index=1),
    )
    assert codes(two, answer) == []
    in_order = step(
        ("search_contacts", {"query": {"$any": True}}),
        ("search_contacts", {"query": "ada"}),
        any_order=False,
    )
    assert codes(in_order, answer) == ["argument_mismatch"]


def example(tmp_path: Path, text: str = EXAMPLE_FLOW) -> Flow:
    return load_flow(write(tmp_path, "schedule_followup.yaml", text))


SEARCH_CALL = call("search_contacts", {"query": "Ada  Lovelace"}, id="call_s1")
EVENT_ARGS = {
    "contact_id": "c_42",
    "start": "2026-12-01T10:00:00Z",
    "duration_minutes": 30,
    "title": "Follow-up with Ada",
}
EVENT_CALL = call("create_event", EVENT_ARGS, id="call_e1")
ANSWER = response("Booked: event e_7 is confirmed.")


def test_a_correct_model_passes_and_results_are_wired(tmp_path: Path) -> None:
    flow = example(tmp_path)
    model = Scripted([response(None, SEARCH_CALL), response("Booking.", EVENT_CALL), ANSWER])
    verdict = run_flow(flow, model, tool_schemas=SCHEMAS, descriptions={"create_event": "Book."})
    assert verdict.failures == ()
    assert verdict.passed
    assert (verdict.turns_passed, verdict.turns_total) == (3, 3)
    assert verdict.final_text == "Booked: event e_7 is confirmed."
    transcript = verdict.transcript
    assert [m["role"] for m in transcript] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "user",
        "assistant",
    ]
    assert transcript[2]["tool_calls"] == [
        {
            "id": "call_s1",
            "type": "function",
            "function": {"name": "search_contacts", "arguments": '{"query": "Ada  Lovelace"}'},
        }
    ]
    assert transcript[3]["tool_call_id"] == "call_s1"
    assert json.loads(transcript[3]["content"]) == {
        "contacts": [{"contact_id": "c_42", "name": "Ada Lovelace"}]
    }
    assert transcript[4]["content"] == "Booking."
    assert transcript[5]["tool_call_id"] == "call_e1"
    assert json.loads(transcript[5]["content"]) == {"event_id": "e_7", "status": "confirmed"}
    assert transcript[6] == {"role": "user", "content": "Thanks!"}
    # What the model saw: the conversation so far and the offered tools.
    messages, tools = model.seen[1]
    assert messages == transcript[:4]
    assert [t["function"]["name"] for t in tools] == [
        "search_contacts",
        "create_event",
        "delete_contact",
    ]
    assert tools[1]["function"]["description"] == "Book."
    assert tools[0]["function"]["parameters"] == SCHEMAS["search_contacts"]


def test_parallel_results_follow_the_assignment_not_the_arrival_order(tmp_path: Path) -> None:
    text = """\
    id: two_searches
    tools: [search_contacts@1.0.0]
    user: Find Ada and Bob.
    steps:
      - expect:
          calls:
            - {tool: search_contacts, args: {query: {$text: ada}}}
            - {tool: search_contacts, args: {query: {$text: bob}}}
        results:
          - {tool: search_contacts, content: {contacts: [ada]}}
          - {tool: search_contacts, content: {contacts: [bob]}}
    final: [{contains: found}]
    """
    flow = load_flow(write(tmp_path, "two_searches.yaml", text))
    model = Scripted(
        [
            response(
                None,
                call("search_contacts", {"query": "Bob"}, id="b", index=0),
                call("search_contacts", {"query": "ADA"}, id="a", index=1),
            ),
            response("found both"),
        ]
    )
    verdict = run_flow(flow, model, tool_schemas=SCHEMAS)
    assert verdict.passed
    assert (verdict.turns_passed, verdict.turns_total) == (2, 2)  # the answer turn counts
    tools = [m for m in verdict.transcript if m["role"] == "tool"]
    assert [(m["tool_call_id"], json.loads(m["content"])) for m in tools] == [
        ("b", {"contacts": ["bob"]}),
        ("a", {"contacts": ["ada"]}),
    ]


def test_unexpected_calls_get_an_error_result(tmp_path: Path) -> None:
    flow = example(tmp_path)
    model = Scripted([response(None, SEARCH_CALL, call("lookup", {}, id="x", index=1))])
    verdict = run_flow(flow, model, tool_schemas=SCHEMAS)
    assert [f.code for f in verdict.failures] == ["invented_tool"]
    assert verdict.failures[0].turn == 1
    last = verdict.transcript[-1]
    assert last["tool_call_id"] == "x"
    assert "no scripted result" in json.loads(last["content"])["error"]


def test_partial_credit(tmp_path: Path) -> None:
    flow = example(tmp_path)
    wrong_event = call("create_event", {**EVENT_ARGS, "duration_minutes": 60}, id="call_e1")
    script = [response(None, SEARCH_CALL), response(None, wrong_event), ANSWER]
    stopped = run_flow(flow, Scripted(script), tool_schemas=SCHEMAS)
    assert not stopped.passed
    assert (stopped.turns_passed, stopped.turns_total, len(stopped.turns)) == (1, 3, 2)
    assert [(f.code, f.turn, f.evidence["pointer"]) for f in stopped.failures] == [
        ("argument_mismatch", 2, "/duration_minutes")
    ]
    went_on = run_flow(flow, Scripted(script), tool_schemas=SCHEMAS, stop_on_failure=False)
    assert not went_on.passed
    assert (went_on.turns_passed, went_on.turns_total, len(went_on.turns)) == (2, 3, 3)
    assert [t.passed for t in went_on.turns] == [True, False, True]


def test_forbidden_tool_is_checked_every_turn(tmp_path: Path) -> None:
    flow = example(tmp_path)
    model = Scripted(
        [
            response(None, SEARCH_CALL),
            response(None, EVENT_CALL),
            response("done e_7, confirmed", call("delete_contact", {"contact_id": "c_42"}, id="d")),
        ]
    )
    verdict = run_flow(flow, model, tool_schemas=SCHEMAS)
    assert [(f.code, f.turn) for f in verdict.failures] == [("forbidden_tool", 3)]
    assert verdict.turns_passed == 2


def test_final_answer_mismatch_and_no_final_answer(tmp_path: Path) -> None:
    flow = example(tmp_path)
    model = Scripted([response(None, SEARCH_CALL), response(None, EVENT_CALL), response("ok")])
    verdict = run_flow(flow, model, tool_schemas=SCHEMAS)
    assert not verdict.passed
    assert verdict.turns_passed == 3
    assert [(f.code, f.turn) for f in verdict.failures] == [
        ("final_answer_mismatch", None),
        ("final_answer_mismatch", None),
    ]
    assert verdict.failures[0].evidence["assertion"] == "contains 'e_7'"
    assert verdict.failures[0].evidence["reason"] == "the answer does not contain 'e_7'"
    silent = Scripted([response(None, SEARCH_CALL), response(None, EVENT_CALL), response("")])
    verdict = run_flow(flow, silent, tool_schemas=SCHEMAS)
    assert [f.code for f in verdict.failures] == ["no_final_answer"]  # reported once
    assert score_final(flow, None) == [Failure("no_final_answer", {"content": None})]
    assert score_final(flow, "e_7 booked") == []


def test_turn_limit(tmp_path: Path) -> None:
    text = EXAMPLE_FLOW.replace("max_turns: 4", "max_turns: 2").replace(
        "  - user: Thanks!\n    expect:\n      calls: []\n", ""
    )
    flow = example(tmp_path, text)
    assert flow.needs_answer_turn
    model = Scripted([response(None, SEARCH_CALL), response(None, EVENT_CALL), ANSWER])
    verdict = run_flow(flow, model, tool_schemas=SCHEMAS)
    assert not verdict.passed
    assert [(f.code, f.turn) for f in verdict.failures] == [("turn_limit", 3)]
    assert verdict.failures[0].evidence == {"max_turns": 2, "turns_needed": 3}
    assert (verdict.turns_passed, verdict.turns_total) == (2, 3)
    assert len(model.seen) == 2  # the third turn was never played


def test_every_failure_code_is_produced_somewhere() -> None:
    # The codes are a closed set the eval suite and the reports rely on.
    assert set(FAILURE_CODES) == {
        "wrong_tool",
        "missing_call",
        "extra_call",
        "invented_tool",
        "invalid_json",
        "schema_violation",
        "dropped_constraint",
        "argument_mismatch",
        "no_final_answer",
        "final_answer_mismatch",
        "turn_limit",
        "forbidden_tool",
    }
    # each with its meaning, one line a report can show
    assert set(FAILURE_MEANINGS) == set(FAILURE_CODES)
    assert all(meaning.strip() for meaning in FAILURE_MEANINGS.values())


def test_a_tool_without_schema_is_a_contract_error(tmp_path: Path) -> None:
    flow = example(tmp_path)
    with pytest.raises(ContractError, match=r"no input schema for tool create_event@2\.0\.0"):
        run_flow(flow, Scripted([]), tool_schemas={"search_contacts": {}})
