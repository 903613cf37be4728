"""Negative controls: good flows survive them, flows that cannot tell models apart do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from clearance.errors import ContractError
from clearance.flows import (
    calls_every_tool,
    check_controls,
    generate_arguments,
    load_flow,
    never_calls_tools,
    run_flow,
)
from tests.flows.helpers import EXAMPLE_FLOW, SCHEMAS, write


def test_a_well_written_flow_is_not_broken(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, "schedule_followup.yaml", EXAMPLE_FLOW))
    report = check_controls(flow, SCHEMAS)
    assert not report.broken
    assert report.passed_by == []
    assert sorted(report.verdicts) == ["calls_every_tool", "never_calls_tools"]
    never = report.verdicts["never_calls_tools"]
    assert [f.code for f in never.failures] == ["missing_call"]
    every = report.verdicts["calls_every_tool"]
    assert {f.code for f in every.failures} == {"forbidden_tool", "extra_call", "argument_mismatch"}


NO_CALL = """\
id: small_talk
tools: [search_contacts@1.0.0]
user: Hello!
steps:
  - expect: {calls: []}
"""


def test_a_flow_expecting_no_call_is_judged_only_against_calls_every_tool(
    tmp_path: Path,
) -> None:
    flow = load_flow(write(tmp_path, "small_talk.yaml", NO_CALL))
    # never_calls_tools does pass it, and that is right: it is excused from that control.
    assert run_flow(flow, never_calls_tools(), tool_schemas=SCHEMAS).passed
    report = check_controls(flow, SCHEMAS)
    assert list(report.verdicts) == ["calls_every_tool"]
    assert not report.broken
    assert [f.code for f in report.verdicts["calls_every_tool"].failures] == ["extra_call"]


ANY_ONLY = """\
id: loose
kind: case
tools: [search_contacts@1.0.0, create_event@2.0.0]
user: Book something with someone.
steps:
  - expect:
      calls:
        - tool: search_contacts
          args: {query: {$any: true}}
        - tool: create_event
          args:
            contact_id: {$any: true}
            start: {$any: true}
            duration_minutes: {$any: true}
            title: {$any: true}
"""


def test_a_flow_of_any_only_expectations_for_every_tool_is_broken(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, "loose.yaml", ANY_ONLY))
    report = check_controls(flow, SCHEMAS)
    assert report.broken
    assert report.passed_by == ["calls_every_tool"]
    tightened = ANY_ONLY.replace("args: {query: {$any: true}}", "args: {query: {$text: ada}}")
    report = check_controls(load_flow(write(tmp_path, "loose.yaml", tightened)), SCHEMAS)
    assert not report.broken


def test_never_calls_tools_answers_with_text() -> None:
    answer = never_calls_tools("nope")([{"role": "user", "content": "hi"}], [])
    assert answer.content == "nope"
    assert answer.tool_calls == ()
    assert answer.finish_reason == "stop"


def test_calls_every_tool_calls_each_offered_tool_once_with_valid_arguments() -> None:
    model = calls_every_tool(SCHEMAS)
    tools = [
        {"type": "function", "function": {"name": name, "parameters": schema}}
        for name, schema in SCHEMAS.items()
    ]
    first = model([{"role": "user", "content": "hi"}], tools)
    assert [c.name for c in first.tool_calls] == list(SCHEMAS)
    assert [c.index for c in first.tool_calls] == [0, 1, 2]
    assert len({c.id for c in first.tool_calls}) == 3
    for tool_call in first.tool_calls:
        assert tool_call.arguments is not None
        Draft202012Validator(
            SCHEMAS[tool_call.name], format_checker=Draft202012Validator.FORMAT_CHECKER
        ).validate(tool_call.arguments)
    second = model([{"role": "user", "content": "hi"}, {"role": "assistant"}], tools[:1])
    assert [c.name for c in second.tool_calls] == ["search_contacts"]
    assert second.tool_calls[0].id != first.tool_calls[0].id
    assert model([{"role": "user", "content": "hi"}], tools) == first  # deterministic


TRICKY: dict[str, Any] = {
    "type": "object",
    "$defs": {"size": {"type": "integer", "exclusiveMinimum": 2, "multipleOf": 5}},
    "properties": {
        "name": {"type": "string", "minLength": 3, "maxLength": 5},
        "code": {"type": "string", "pattern": "^[0-9]+$", "minLength": 2},
        "mode": {"enum": ["fast", "slow"]},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "size": {"$ref": "#/$defs/size"},
        "page": {"type": "integer", "default": 1},
        "when": {"type": ["null", "string"], "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "owner": {
            "type": "object",
            "properties": {"id": {"type": "integer", "maximum": -3}},
            "required": ["id"],
        },
        "flag": {"type": "boolean"},
        "either": {"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string"}]},
        "optional": {"type": "string"},
        "event_id": {"type": "string", "pattern": "^e_[0-9a-z]+$"},
        "phone": {"type": "string", "pattern": "^\\+?[0-9 ()-]{7,20}$"},
    },
    "required": [
        "name",
        "code",
        "mode",
        "ratio",
        "size",
        "page",
        "when",
        "tags",
        "owner",
        "flag",
        "either",
        "event_id",
        "phone",
    ],
    "additionalProperties": False,
}


def test_generate_arguments_respects_the_schema() -> None:
    made = generate_arguments(TRICKY)
    Draft202012Validator(TRICKY).validate(made)
    assert made["name"] == "xxx"
    assert made["mode"] == "fast"
    assert made["size"] == 5
    assert made["page"] == 1
    assert made["owner"] == {"id": -3}
    assert made["either"] == 10
    assert len(made["tags"]) == 2
    assert "optional" not in made
    assert made["event_id"] == "e_0"
    assert made["code"] == "00"
    assert made["phone"] == "0000000"
    other = generate_arguments(TRICKY, seed=1)
    Draft202012Validator(TRICKY).validate(other)
    assert other["mode"] == "slow"
    assert other["flag"] is True
    assert generate_arguments(TRICKY) == made


def test_a_default_of_another_type_is_not_used() -> None:
    # BFCL writes "default": "location" on an object and "default": "false" on booleans
    schema = {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "flag": {"type": "boolean", "default": "false"},
        },
        "required": ["location", "flag"],
        "default": "location",
    }
    made = generate_arguments(schema)
    Draft202012Validator(schema).validate(made)
    assert isinstance(made["flag"], bool)
    kept = generate_arguments(
        {
            **schema,
            "properties": {
                "location": {"type": "string", "default": "Oslo"},
                "flag": {"type": "boolean"},
            },
        }
    )
    assert kept["location"] == "Oslo"


def test_an_unsatisfiable_schema_fails_early() -> None:
    schema = {
        "type": "object",
        "properties": {"zip": {"type": "string", "pattern": "^(?=.*[A-Z])(?=.*[0-9]).{8}$"}},
        "required": ["zip"],
    }
    with pytest.raises(ContractError) as info:
        calls_every_tool({"postal": schema})
    assert "cannot generate valid arguments for tool 'postal'" in info.value.message
    assert info.value.pointer == "/zip"
