"""Provider profiles: what each family refuses is found, and a portable schema passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clearance.contracts.lint import (
    RULES,
    LintFinding,
    lint_contract,
    lint_contracts,
    lint_schema,
)
from clearance.contracts.loader import load_contract
from clearance.providers.profiles import PROFILES

PORTABLE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Full name"},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "when": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "kind": {"type": "string", "enum": ["person", "company"]},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "count", "when", "tags", "kind", "address"],
    "additionalProperties": False,
}


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A strict-mode-clean object around the given properties."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


def found(findings: list[LintFinding]) -> set[tuple[str, str, str]]:
    return {(f.rule, f.severity, f.pointer) for f in findings}


@pytest.mark.parametrize("profile", PROFILES)
def test_a_portable_schema_has_no_errors(profile: str) -> None:
    findings = lint_schema(PORTABLE, profile)
    assert [f for f in findings if f.severity == "error"] == []


def test_the_only_portable_warning_is_gemini_dropping_additional_properties() -> None:
    findings = [f for p in PROFILES for f in lint_schema(PORTABLE, p)]
    assert found(findings) == {
        ("gemini/additional-properties", "warning", "/input_schema/additionalProperties"),
        (
            "gemini/additional-properties",
            "warning",
            "/input_schema/properties/address/additionalProperties",
        ),
    }


# OpenAI strict ---------------------------------------------------------------------------


def test_openai_strict_needs_additional_properties_false_on_every_object() -> None:
    schema = obj(
        {"inner": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}}
    )
    findings = lint_schema(schema, "openai-strict")
    assert found(findings) == {
        ("openai-strict/additional-properties", "error", "/input_schema/properties/inner")
    }
    assert "additionalProperties: false" in findings[0].message
    assert findings[0].fix == "add additionalProperties: false"


def test_openai_strict_needs_every_property_required() -> None:
    schema = obj({"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}})
    schema["required"] = ["a"]
    (finding,) = lint_schema(schema, "openai-strict", contract_key="t@1.0.0")
    assert finding.rule == "openai-strict/all-required"
    assert finding.severity == "error"
    assert finding.pointer == "/input_schema/required"
    assert finding.message == "properties not listed in required: b, c"
    assert "nullable" in finding.fix
    assert finding.contract_key == "t@1.0.0"
    assert finding.profile == "openai-strict"


@pytest.mark.parametrize(
    ("keyword", "value", "rule", "severity"),
    [
        ("allOf", [{"type": "string"}], "openai-strict/unsupported-keyword", "error"),
        ("oneOf", [{"type": "string"}], "openai-strict/unsupported-keyword", "error"),
        ("not", {"type": "integer"}, "openai-strict/unsupported-keyword", "error"),
        ("if", {"type": "string"}, "openai-strict/unsupported-keyword", "error"),
        ("minLength", 1, "openai-strict/undocumented-keyword", "warning"),
        ("uniqueItems", True, "openai-strict/undocumented-keyword", "warning"),
        ("format", "uri", "openai-strict/format", "warning"),
    ],
)
def test_openai_strict_keywords(keyword: str, value: Any, rule: str, severity: str) -> None:
    schema = obj({"x": {"type": "string", keyword: value}})
    findings = lint_schema(schema, "openai-strict")
    assert (rule, severity, f"/input_schema/properties/x/{keyword}") in found(findings)
    assert all(f.severity == severity for f in findings)


def test_openai_strict_root_must_be_an_object_without_any_of() -> None:
    findings = lint_schema({"anyOf": [obj({})]}, "openai-strict")
    assert ("openai-strict/root-object", "error", "/input_schema") in found(findings)


def test_openai_strict_nesting_limit() -> None:
    schema: dict[str, Any] = obj({"leaf": {"type": "string"}})
    for _ in range(9):
        schema = obj({"child": schema})
    assert lint_schema(schema, "openai-strict") == []  # 10 levels: allowed
    deeper = obj({"child": schema})
    (finding,) = lint_schema(deeper, "openai-strict")
    assert finding.rule == "openai-strict/limits"
    assert finding.message == "11 levels of object nesting; the limit is 10"
    assert finding.pointer.count("/child") == 10


def test_openai_strict_enum_limit() -> None:
    schema = obj({"x": {"type": "integer", "enum": list(range(1001))}})
    findings = lint_schema(schema, "openai-strict")
    assert [f.message for f in findings] == ["1001 enum values; the limit is 1000"]


def test_openai_strict_accepts_nullable_optionals_and_refs() -> None:
    schema = obj(
        {
            "unit": {"type": ["string", "null"], "enum": ["C", "F", None]},
            "step": {"$ref": "#/$defs/s"},
        },
        **{"$defs": {"s": obj({"n": {"type": "number"}})}},
    )
    assert lint_schema(schema, "openai-strict") == []


# Gemini ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prop", "rule", "severity", "pointer", "message"),
    [
        (
            {"type": "string", "const": "x"},
            "gemini/unknown-field",
            "error",
            "/const",
            "Gemini's Schema has no field 'const'; use enum with the one value",
        ),
        (
            {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "gemini/unknown-field",
            "error",
            "/oneOf",
            "Gemini's Schema has no field 'oneOf'; use anyOf",
        ),
        (
            {"type": "integer", "exclusiveMinimum": 0},
            "gemini/unknown-field",
            "error",
            "/exclusiveMinimum",
            "Gemini's Schema has no field 'exclusiveMinimum'; use minimum",
        ),
        (
            {"$ref": "#/$defs/x"},
            "gemini/unknown-field",
            "error",
            "/$ref",
            "Gemini's Schema has no field '$ref'; inline the referenced schema",
        ),
        (
            {"type": ["string", "null"]},
            "gemini/type-list",
            "error",
            "/type",
            "type is a list ['string', 'null']; Gemini takes one type (and nullable: true)",
        ),
        (
            {"type": "integer", "enum": [1, 2]},
            "gemini/enum-not-string",
            "error",
            "/enum",
            "enum [1, 2] has values that are not strings",
        ),
        (
            {"type": "object"},
            "gemini/empty-object",
            "error",
            "",
            "an object without properties (free-form objects are refused)",
        ),
        (
            {"type": "string", "format": "email"},
            "gemini/format",
            "warning",
            "/format",
            "format 'email' on a string is not one Gemini supports",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {}},
            "gemini/unknown-field",
            "error",
            "/additionalProperties",
            "Gemini's Schema has no field 'additionalProperties'",
        ),
        (
            {"description": "any value"},
            "gemini/untyped",
            "error",
            "",
            "a schema without a type (Gemini needs one, or anyOf)",
        ),
        (
            {"type": "array", "maxItems": 3},
            "gemini/array-items",
            "error",
            "",
            "an array without items (a schema for its items)",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]},
            "gemini/required-undefined",
            "error",
            "/required",
            "required names properties does not declare: b",
        ),
        (
            {"type": "integer", "enum": ["1", "2"]},
            "gemini/enum-not-string",
            "error",
            "/enum",
            "enum on type 'integer': Gemini takes enum on a string only",
        ),
    ],
)
def test_gemini_findings(
    prop: dict[str, Any], rule: str, severity: str, pointer: str, message: str
) -> None:
    schema = {"type": "object", "properties": {"x": prop}, "required": ["x"]}
    findings = lint_schema(schema, "gemini")
    assert [(f.rule, f.severity, f.pointer, f.message) for f in findings] == [
        (rule, severity, f"/input_schema/properties/x{pointer}", message)
    ]


def test_gemini_parameter_names_and_argument_less_tools() -> None:
    findings = lint_schema(
        {"type": "object", "properties": {"first-name": {"type": "string"}}}, "gemini"
    )
    assert found(findings) == {
        ("gemini/parameter-name", "error", "/input_schema/properties/first-name")
    }
    findings = lint_schema({"type": "object"}, "gemini")
    assert found(findings) == {("gemini/no-parameters", "warning", "/input_schema")}


def test_gemini_accepts_its_openapi_subset() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "number", "format": "double", "nullable": True, "minimum": 0},
            "pick": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "d": {"type": "string", "format": "date-time", "example": "2026-01-01T00:00:00Z"},
        },
        "propertyOrdering": ["n", "pick", "d"],
    }
    assert lint_schema(schema, "gemini") == []


# Anthropic -------------------------------------------------------------------------------


def test_anthropic_root_must_be_an_object() -> None:
    findings = lint_schema({"type": ["object", "null"], "properties": {}}, "anthropic")
    assert found(findings) == {("anthropic/root-object", "error", "/input_schema/type")}
    findings = lint_schema({"properties": {}}, "anthropic")
    assert found(findings) == {("anthropic/root-object", "error", "/input_schema")}


def test_anthropic_refuses_top_level_combinators_but_not_nested_ones() -> None:
    nested = {"type": "object", "properties": {"x": {"anyOf": [{"type": "string"}]}}}
    assert lint_schema(nested, "anthropic") == []
    top = {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
    assert found(lint_schema(top, "anthropic")) == {
        ("anthropic/root-combinator", "error", "/input_schema/oneOf")
    }


def test_anthropic_warns_on_remote_refs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "https://example.com/a.json"},
            "b": {"$ref": "#/$defs/b"},
        },
        "$defs": {"b": {"type": "string"}},
    }
    (finding,) = lint_schema(schema, "anthropic")
    assert (finding.rule, finding.severity, finding.pointer) == (
        "anthropic/remote-ref",
        "warning",
        "/input_schema/properties/a/$ref",
    )
    assert "https://example.com/a.json" in finding.message


# The API ---------------------------------------------------------------------------------


def test_unknown_profile() -> None:
    with pytest.raises(
        ValueError, match=r"unknown lint profile 'openai_strict'.*did you mean 'openai-strict'"
    ):
        lint_schema(PORTABLE, "openai_strict")


def test_rules_are_documented_data() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.profile in PROFILES
        assert rule.id.startswith(f"{rule.profile}/")
        assert rule.severity in ("error", "warning")
        assert rule.reason
        assert rule.fix


def test_lint_contract_runs_the_profiles_in_order(tmp_path: Path) -> None:
    path = tmp_path / "tools" / "send_email" / "1.0.0.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        """\
name: send_email
version: 1.0.0
description: Send an email.
criticality: standard
input_schema:
  type: object
  properties:
    to: {type: string, format: email}
    cc: {type: string}
  required: [to]
output_schema: {type: object}
"""
    )
    contract = load_contract(path)
    findings = lint_contract(contract, profiles=("gemini", "openai-strict"))
    assert {f.contract_key for f in findings} == {"send_email@1.0.0"}
    assert [f.profile for f in findings] == sorted(
        (f.profile for f in findings), key=("gemini", "openai-strict").index
    )
    assert found(findings) == {
        ("gemini/format", "warning", "/input_schema/properties/to/format"),
        ("openai-strict/additional-properties", "error", "/input_schema"),
        ("openai-strict/all-required", "error", "/input_schema/required"),
    }
    assert lint_contracts([contract], ("anthropic",)) == []
