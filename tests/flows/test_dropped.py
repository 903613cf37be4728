"""``dropped_constraint``: a violation of a constraint the model's provider was not sent.

Arguments are validated against the contract's schema as written; the code says when the
keyword violated is one the lowering for the model's protocol dropped or weakened.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from clearance.flows import ExpectedCall, Step, load_flow, run_flow, score_turn
from clearance.flows.dropped import blame
from clearance.flows.matchers import compile_arguments
from clearance.flows.scoring import arun_flow
from clearance.providers.lowering import schema_losses
from clearance.providers.types import ChatResponse, Protocol
from tests.flows.helpers import EXAMPLE_FLOW, SCHEMAS, Scripted, call, response, write

INVITE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"type": "string", "format": "email"},
        "seats": {"type": "number", "exclusiveMaximum": 10},
        "kind": {"oneOf": [{"type": "string"}, {"type": "string", "minLength": 3}]},
        "contact": {
            "anyOf": [{"type": "string", "format": "email"}, {"type": "integer", "minimum": 1}]
        },
        "day": {"type": "string", "format": "date-time"},
    },
    "required": ["email"],
    "additionalProperties": False,
}
TREE: dict[str, Any] = {
    "type": "object",
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 3},
                "child": {"$ref": "#/$defs/node"},
            },
            "required": ["name"],
        }
    },
    "properties": {"root": {"$ref": "#/$defs/node"}},
    "required": ["root"],
}


def judge(
    arguments: dict[str, Any], protocol: Protocol, schema: dict[str, Any] = INVITE
) -> list[tuple[str, str]]:
    """(code, validator) of each schema failure of one call, for ``protocol``."""
    verdict = score_turn(
        Step(calls=(ExpectedCall("invite", compile_arguments({}, path="f", pointer="")),)),
        response(None, call("invite", arguments)),
        tool_schemas={"invite": schema},
        offered={"invite"},
        forbidden=set(),
        protocol=protocol,
    )
    return [
        (f.code, f.evidence["validator"])
        for f in verdict.failures
        if f.code in ("schema_violation", "dropped_constraint")
    ]


def test_an_extra_key_is_a_dropped_constraint_for_gemini_only() -> None:
    extra = {"email": "a@b.example", "note": "hi"}
    assert judge(extra, "gemini") == [("dropped_constraint", "additionalProperties")]
    # OpenAI is sent the schema as written; Anthropic takes additionalProperties
    assert judge(extra, "openai") == [("schema_violation", "additionalProperties")]
    assert judge(extra, "anthropic") == [("schema_violation", "additionalProperties")]


def test_the_evidence_names_the_keyword_its_path_and_the_lowering() -> None:
    verdict = score_turn(
        Step(calls=()),
        response(None, call("invite", {"email": "not an address"})),
        tool_schemas={"invite": INVITE},
        offered={"invite"},
        forbidden=set(),
        protocol="gemini",
    )
    (dropped,) = [f for f in verdict.failures if f.code == "dropped_constraint"]
    assert dropped.evidence == {
        "tool": "invite",
        "call_id": "call_invite_0",
        "index": 0,
        "pointer": "/email",
        "schema_pointer": "/properties/email/format",
        "validator": "format",
        "message": "'not an address' is not a 'email'",
        "protocol": "gemini",
        "keyword": "format",
        "keyword_path": "/properties/email",
        "lowering": "dropped",
        "detail": dropped.evidence["detail"],
    }
    assert "format 'email' is not sent" in dropped.evidence["detail"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        # the bound is sent inclusive: exactly 10 passes what Gemini was sent
        ({"email": "a@b.example", "seats": 10}, [("dropped_constraint", "exclusiveMaximum")]),
        # past the bound is refused by what was sent too
        ({"email": "a@b.example", "seats": 11}, [("schema_violation", "exclusiveMaximum")]),
        # oneOf is sent as anyOf: matching both alternatives is what anyOf allows...
        ({"email": "a@b.example", "kind": "abcd"}, [("dropped_constraint", "oneOf")]),
        # ...matching none is not
        ({"email": "a@b.example", "kind": 7}, [("schema_violation", "oneOf")]),
        # an alternative that failed only on a dropped format: the model matched it as sent
        ({"email": "a@b.example", "contact": "nobody"}, [("dropped_constraint", "anyOf")]),
        ({"email": "a@b.example", "contact": 0}, [("schema_violation", "anyOf")]),
        # required is sent
        ({"seats": 1}, [("schema_violation", "required")]),
        # one call, two violations: each judged on its own
        (
            {"email": "bad", "seats": 11},
            [("dropped_constraint", "format"), ("schema_violation", "exclusiveMaximum")],
        ),
        (
            {"seats": 1, "note": "x"},
            [("schema_violation", "required"), ("dropped_constraint", "additionalProperties")],
        ),
    ],
)
def test_gemini_losses_against_kept_constraints(
    arguments: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert judge(arguments, "gemini") == expected
    assert {code for code, _ in judge(arguments, "openai")} == {"schema_violation"}


def test_below_a_recursive_ref_cut_off_everything_is_a_dropped_constraint() -> None:
    deep = {"root": {"name": "a", "child": {"name": "b", "child": {"name": "too long"}}}}
    shallow = {"root": {"name": "too long"}}
    assert judge(deep, "gemini", TREE) == [("dropped_constraint", "maxLength")]
    assert judge(shallow, "gemini", TREE) == [("schema_violation", "maxLength")]
    (loss,) = [
        loss for loss in schema_losses(TREE, "gemini") if loss.keyword == "$ref" and loss.loosens
    ]
    assert loss.path == "/properties/root/properties/child/properties/child"


def test_blame_reads_the_error_jsonschema_gives() -> None:
    losses = schema_losses(INVITE, "gemini")
    (error,) = Draft202012Validator(
        INVITE, format_checker=Draft202012Validator.FORMAT_CHECKER
    ).iter_errors({"email": "x"})
    found = blame(error, losses)
    assert found is not None
    assert (found.path, found.keyword) == ("/properties/email", "format")
    assert blame(error, ()) is None


def scripted_flow(tmp_path: Path) -> tuple[Any, list[ChatResponse]]:
    flow = load_flow(write(tmp_path, "schedule_followup.yaml", EXAMPLE_FLOW))
    # create_event's notes key is fine; "room" is a key the contract does not take
    answers = [
        response(None, call("search_contacts", {"query": "Ada Lovelace"})),
        response(
            None,
            call(
                "create_event",
                {
                    "contact_id": "c_42",
                    "start": "2026-12-01T10:00:00Z",
                    "duration_minutes": 30,
                    "title": "Follow-up",
                    "room": "B2",
                },
            ),
        ),
    ]
    return flow, answers


@pytest.mark.parametrize(
    ("protocol", "code"), [("gemini", "dropped_constraint"), ("openai", "schema_violation")]
)
def test_a_flow_played_over_gemini_fails_with_dropped_constraint(
    tmp_path: Path, protocol: Protocol, code: str
) -> None:
    flow, answers = scripted_flow(tmp_path)
    verdict = run_flow(flow, Scripted(answers), tool_schemas=SCHEMAS, protocol=protocol)
    assert not verdict.passed
    (failure,) = [
        f for f in verdict.failures if f.code in ("schema_violation", "dropped_constraint")
    ]
    assert (failure.code, failure.turn, failure.evidence["validator"]) == (
        code,
        2,
        "additionalProperties",
    )
    if code == "dropped_constraint":
        assert failure.evidence["keyword"] == "additionalProperties"
        assert failure.evidence["keyword_path"] == ""
        assert failure.evidence["protocol"] == "gemini"


def test_the_awaited_flow_knows_the_protocol_too(tmp_path: Path) -> None:
    flow, answers = scripted_flow(tmp_path)
    played = Scripted(answers)

    async def model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatResponse:
        return played(messages, tools)

    verdict = asyncio.run(arun_flow(flow, model, tool_schemas=SCHEMAS, protocol="gemini"))
    assert "dropped_constraint" in [f.code for f in verdict.failures]
