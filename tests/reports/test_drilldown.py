"""A failing trial's evidence as a person reads it: problems, argument diffs, transcript.

The evidence below has the shapes the eval engine stores (copied from failing rows of
``clearance demo``'s catalog): ``failures`` of ``{code, turn, evidence}`` and the
``transcript`` of OpenAI-style messages, tool-call arguments as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clearance.reports.drilldown import (
    ArgRow,
    CallDiff,
    FailingCase,
    Problem,
    failing_case,
    pointer_items,
)

SYSTEM = {"role": "system", "content": "You are the CRM and scheduling assistant of Sam Reyes."}


def call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def assistant(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}


def tool_reply(call_id: str, content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(content)}


def failure(code: str, turn: int | None, **evidence: Any) -> dict[str, Any]:
    return {"code": code, "turn": turn, "evidence": evidence}


def test_argument_mismatches_and_schema_errors_line_up_per_call() -> None:
    sent = {"to": "ada@analytical.example", "body": "Quote: 12,500 GBP", "bcc": "x@y.example"}
    where = {"tool": "send_email", "call_id": "call_1", "index": 0}
    evidence = {
        "turns": [{"passed": False, "failures": ["schema_violation", "argument_mismatch"]}],
        "failures": [
            failure(
                "schema_violation",
                1,
                **where,
                pointer="/to",
                schema_pointer="/properties/to/type",
                validator="type",
                message="'ada@analytical.example' is not of type 'array'",
            ),
            failure(
                "argument_mismatch",
                1,
                **where,
                pointer="/to",
                expected="['ada@analytical.example']",
                actual="ada@analytical.example",
                reason="mismatch",
            ),
            failure(
                "argument_mismatch",
                1,
                **where,
                pointer="/subject",
                expected="text like 'your renewal quote' (case and spacing ignored)",
                actual=None,
                reason="missing",
            ),
            failure(
                "argument_mismatch",
                1,
                **where,
                pointer="/bcc",
                expected="no such argument",
                actual="x@y.example",
                reason="unexpected",
            ),
        ],
        "transcript": [
            SYSTEM,
            {"role": "user", "content": "Send Ada her renewal quote."},
            assistant(call("call_1", "send_email", sent)),
            tool_reply("call_1", {"sent": True}),
        ],
    }
    case = failing_case("renewal_email", "flow", 2, evidence, failed_trials=3, trials=3)
    assert (case.case_id, case.case_kind, case.trial, case.failed_trials, case.trials) == (
        "renewal_email",
        "flow",
        2,
        3,
        3,
    )
    assert case.transcript == tuple(evidence["transcript"])
    assert [(p.code, p.turn, p.pointer, p.schema_pointer) for p in case.problems] == [
        ("schema_violation", 1, "/to", "/properties/to/type"),
        ("argument_mismatch", 1, "/to", None),
        ("argument_mismatch", 1, "/subject", None),
        ("argument_mismatch", 1, "/bcc", None),
    ]
    assert case.problems[0].summary == (
        "tool send_email; 'ada@analytical.example' is not of type 'array'"
    )
    # a plain value is shown as JSON (the matcher wrote a Python list), types named apart
    assert case.problems[1].summary == (
        'tool send_email; mismatch; at /to: expected ["ada@analytical.example"] (array), '
        'got "ada@analytical.example" (string)'
    )
    assert case.calls == (
        CallDiff(
            "send_email",
            "call_1",
            1,
            (
                ArgRow("/bcc", "no such argument", '"x@y.example"', "unexpected"),
                ArgRow("/body", None, '"Quote: 12,500 GBP"', ""),
                ArgRow(
                    "/subject",
                    "text like 'your renewal quote' (case and spacing ignored)",
                    None,
                    "missing",
                ),
                # the schema error came first and its note stays beside the mismatch
                ArgRow(
                    "/to",
                    '["ada@analytical.example"]',
                    '"ada@analytical.example"',
                    "mismatch",
                    "type: 'ada@analytical.example' is not of type 'array'",
                    "array",
                    "string",
                ),
            ),
        ),
    )


def test_a_required_property_points_at_the_whole_object() -> None:
    where = {"tool": "list_events", "call_id": "call_888401ca2534_0", "index": 0}
    evidence = {
        "failures": [
            failure(
                "schema_violation",
                1,
                **where,
                pointer="",
                schema_pointer="/required",
                validator="required",
                message="'date' is a required property",
            ),
            failure(
                "argument_mismatch",
                1,
                **where,
                pointer="/date",
                expected="'2026-12-09'",
                actual=None,
                reason="missing",
            ),
        ],
        "transcript": [SYSTEM, assistant(call("call_888401ca2534_0", "list_events", {}))],
    }
    case = failing_case("cancel_meeting", "flow", 1, evidence)
    assert case.problems[0] == Problem(
        "schema_violation",
        1,
        "tool list_events; 'date' is a required property",
        "/",
        "/required",
    )
    assert case.problems[1].pointer == "/date"
    assert case.calls[0].rows == (
        ArgRow("/", None, "{}", "schema", "required: 'date' is a required property"),
        ArgRow("/date", '"2026-12-09"', None, "missing"),
    )
    assert case.problems[1].summary == (
        'tool list_events; missing; at /date: expected "2026-12-09", got nothing'
    )


def test_a_mismatch_on_a_list_the_model_sent_shows_the_list() -> None:
    where = {"tool": "log_interaction", "call_id": "call_ffb4", "index": 0}
    evidence = {
        "failures": [
            failure(
                "schema_violation",
                1,
                **where,
                pointer="/contact_id",
                schema_pointer="/properties/contact_id/type",
                validator="type",
                message="['c_3107'] is not of type 'string'",
            ),
            failure(
                "argument_mismatch",
                1,
                **where,
                pointer="/contact_id",
                expected="'c_3107'",
                actual=["c_3107"],
                reason="mismatch",
            ),
        ],
        "transcript": [
            assistant(call("call_ffb4", "log_interaction", {"contact_id": ["c_3107"], "n": 2}))
        ],
    }
    rows = failing_case("log_call", "contract", 1, evidence).calls[0].rows
    assert rows == (  # shallow pointers first
        ArgRow(
            "/contact_id",
            '"c_3107"',
            '["c_3107"]',
            "mismatch",
            "type: ['c_3107'] is not of type 'string'",
            "string",
            "array",
        ),
        ArgRow("/n", None, "2", ""),
        ArgRow("/contact_id/0", None, '"c_3107"', ""),
    )


def test_invalid_json_keeps_the_raw_argument_text() -> None:
    raw = '{"stage": "n'
    evidence = {
        "failures": [
            failure(
                "invalid_json",
                1,
                tool="list_deals",
                call_id="call_f99a_0",
                index=0,
                raw_arguments=raw,
                quirks=["truncated_json"],
            )
        ],
        "transcript": [
            assistant(
                call("call_f99a_0", "list_deals", raw),
                call("call_f99a_1", "list_deals", {"stage": "proposal"}),
            )
        ],
    }
    case = failing_case("pipeline_review_parallel", "flow", 1, evidence)
    assert case.problems == (Problem("invalid_json", 1, "tool list_deals; quirks: truncated_json"),)
    assert case.calls == (CallDiff("list_deals", "call_f99a_0", 1, (), raw_arguments=raw),)


def test_arguments_nested_past_the_parsers_depth_are_kept_raw() -> None:
    # a model stuck repeating "[" until its token limit: json.loads raises RecursionError
    raw = "[" * 5000
    evidence = {
        "failures": [failure("invalid_json", 1, tool="note", call_id="c1", index=0)],
        "transcript": [assistant(call("c1", "note", raw))],
    }
    case = failing_case("deep", "contract", 1, evidence)
    assert case.calls == (CallDiff("note", "c1", 1, (), raw_arguments=raw),)


def test_a_missing_call_is_expected_and_never_called() -> None:
    expected_args = {
        "title": "text like 'compiler roadmap' (case and spacing ignored)",
        "start": "a string matching /^2026-12-08T13:30/",
        "a/b~c": "optional: any value",
    }
    evidence = {
        "failures": [
            failure(
                "invented_tool",
                2,
                tool="create_event_v2",
                call_id="call_eea2_0",
                index=0,
                offered=["cancel_event", "create_event"],
            ),
            failure("missing_call", 2, tool="create_event", expected_args=expected_args),
        ],
        "transcript": [
            SYSTEM,
            assistant(call("call_7fab_0", "check_availability", {"date": "2026-12-08"})),
            tool_reply("call_7fab_0", {"slots": []}),
            assistant(call("call_eea2_0", "create_event_v2", {"title": "Compiler roadmap"})),
        ],
    }
    case = failing_case("book_first_free_slot", "flow", 1, evidence)
    assert case.problems[0].summary == ("tool create_event_v2; offered: cancel_event, create_event")
    assert case.problems[1] == Problem("missing_call", 2, "tool create_event")
    invented, missing = case.calls
    # the invented call was the model's second turn: its arguments are shown as sent
    assert invented == CallDiff(
        "create_event_v2", "call_eea2_0", 2, (ArgRow("/title", None, '"Compiler roadmap"', ""),)
    )
    assert missing == CallDiff(
        "create_event",
        None,
        2,
        (
            ArgRow("/title", expected_args["title"], None, "missing"),
            ArgRow("/start", expected_args["start"], None, "missing"),
            ArgRow("/a~1b~0c", "optional: any value", None, "missing"),
        ),
    )


def test_a_call_the_transcript_does_not_hold_keeps_what_the_failures_say() -> None:
    evidence = {
        "failures": [
            failure(
                "argument_mismatch",
                1,
                tool="book",
                call_id="gone_1",
                pointer="/date",
                expected="'2026-12-01'",
                actual="tomorrow",
                reason="mismatch",
            ),
            failure(
                "wrong_tool",
                1,
                expected_tool="list_events",
                actual_tool="cancel_event",
                call_id="gone_2",
                index=1,
            ),
        ],
        "transcript": [assistant(call("other", "book", {"date": "2026-12-01"}))],
    }
    case = failing_case("lost", "contract", 1, evidence)
    assert case.calls == (
        CallDiff("book", "gone_1", None, (ArgRow("/date", '"2026-12-01"', None, "mismatch"),)),
        CallDiff("cancel_event", "gone_2", None, (), expected_tool="list_events"),
    )
    assert case.problems[1].summary == "called cancel_event; expected list_events"


def test_no_evidence_gives_an_empty_case_and_infra_evidence_one_problem() -> None:
    empty = FailingCase("c", "contract", 1, (), (), ())
    assert failing_case("c", "contract", 1, None) == empty
    assert failing_case("c", "contract", 1, {}) == empty
    assert failing_case("c", "contract", 1, {"failures": ["junk", 3], "transcript": "x"}) == (
        FailingCase(
            "c",
            "contract",
            1,
            (Problem("evidence", None, '{"failures": ["junk", 3], "transcript": "x"}'),),
            (),
            (),
        )
    )
    infra = {
        "kind": "server_error",
        "error": "ProviderHTTPError",
        "message": "upstream broke",
        "fix": None,
        "status_code": 500,
    }
    case = failing_case("c", "contract", 3, infra)
    assert case.problems == (Problem("server_error", None, "upstream broke"),)
    assert case.calls == ()


def test_long_values_are_cut_with_their_length() -> None:
    text = "x" * 2500
    evidence = {
        "failures": [
            failure(
                "argument_mismatch",
                1,
                tool="note",
                call_id="c1",
                pointer="/body",
                expected="short",
                actual=text,
                reason="mismatch",
            )
        ],
        "transcript": [assistant(call("c1", "note", {"body": text}))],
    }
    row = failing_case("long", "contract", 1, evidence).calls[0].rows[0]
    assert row.actual == '"' + "x" * 1999 + "… [2502 chars]"  # the JSON text, quotes counted


def test_pointer_items_walks_objects_and_lists_and_escapes_keys() -> None:
    value = {
        "a": {"b": [1, {"c": 2}], "e": {}},
        "x/y": 1,
        "t~": [],
        "~1": "literal",
        "n": None,
    }
    assert list(pointer_items(value)) == [
        ("/a/b/0", 1),
        ("/a/b/1/c", 2),
        ("/a/e", {}),
        ("/x~1y", 1),
        ("/t~0", []),
        ("/~01", "literal"),
        ("/n", None),
    ]
    assert list(pointer_items(5)) == [("", 5)]
    assert list(pointer_items([])) == [("", [])]
    assert list(pointer_items([[True]], "/p")) == [("/p/0/0", True)]


def test_a_secret_across_the_cut_is_redacted_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_KEY", "shop-secret-value-0123456789")
    # both secrets straddle the 2,000th character of the JSON text (its opening quote
    # included): a cut first would leave half of each
    for secret in ("sk-or-v1-" + "a1" * 20, "shop-secret-value-0123456789"):
        text = "x" * 1988 + " " + secret + " " + "y" * 600
        evidence = {
            "failures": [
                failure("argument_mismatch", 1, tool="note", call_id="c1", pointer="/body",
                        expected="short", actual=text, reason="mismatch")
            ],
            "transcript": [assistant(call("c1", "note", {"body": text}))],
        }  # fmt: skip
        row = failing_case("long", "contract", 1, evidence).calls[0].rows[0]
        assert row.actual is not None
        assert secret[:8] not in row.actual
        assert row.actual.startswith('"' + "x" * 1988 + " <redacted>")


def test_a_dropped_constraint_is_shown_as_a_schema_error_the_provider_never_saw() -> None:
    where = {"tool": "update_contact", "call_id": "call_1", "index": 0}
    sent = {"contact_id": "c_1", "nickname": "Ada"}
    evidence = {
        "failures": [
            failure(
                "dropped_constraint",
                1,
                **where,
                pointer="",
                schema_pointer="/additionalProperties",
                validator="additionalProperties",
                message="Additional properties are not allowed ('nickname' was unexpected)",
                protocol="gemini",
                keyword="additionalProperties",
                detail="additionalProperties is not sent (Gemini has no such field)",
            )
        ],
        "transcript": [SYSTEM, assistant(call("call_1", "update_contact", sent))],
    }
    case = failing_case("update_contact", "flow", 1, evidence)
    assert [(p.code, p.pointer) for p in case.problems] == [("dropped_constraint", "/")]
    (root,) = [row for row in case.calls[0].rows if row.pointer == "/"]
    assert root.mark == "schema"
    assert root.note == (
        "additionalProperties: Additional properties are not allowed ('nickname' was "
        "unexpected); not sent to the provider: additionalProperties is not sent (Gemini "
        "has no such field)"
    )
