"""Schema lowering: what each protocol is sent, every loss named, and two properties.

The properties, over generated schemas: a lowered schema passes its profile's lint with
no error, and lowering only relaxes (every argument object the original accepts, the
schema as sent accepts too), except where a loss says ``narrowed``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from clearance.contracts.lint import lint_schema
from clearance.contracts.loader import load_contracts
from clearance.errors import InputError
from clearance.providers.lowering import (
    Loss,
    Lowered,
    lower_for_profile,
    lower_parameters,
    lower_schema,
    lowered_for,
    schema_losses,
)
from clearance.providers.profiles import GEMINI_PLACEHOLDER, PROFILES

REPO = Path(__file__).resolve().parents[2]


def losses(lowered: Lowered) -> set[tuple[str, str, str]]:
    return {(loss.path, loss.keyword, loss.action) for loss in lowered.losses}


def accepts(lowered: Lowered, instance: Any) -> bool:
    validator = Draft202012Validator(lowered.as_json_schema())
    return not list(validator.iter_errors(instance))


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


# -- openai, the API -------------------------------------------------------------------------


def test_openai_without_strict_is_sent_as_written_and_shares_nothing() -> None:
    schema = obj({"a": {"type": "string", "format": "email"}}, required=["a"])
    lowered = lower_schema(schema, "openai")
    assert (lowered.schema, lowered.losses, lowered.target) == (schema, (), "openai")
    lowered.schema["properties"]["a"]["type"] = "integer"
    assert schema["properties"]["a"]["type"] == "string"


def test_unknown_protocol_and_profile_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown wire protocol 'mistral'"):
        lower_schema({}, "mistral")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown provider profile 'openai_strict'") as raised:
        lower_for_profile({}, "openai_strict")
    assert raised.value.fix is not None
    assert "openai-strict" in raised.value.fix


def test_lower_parameters_is_cached_and_keeps_the_properties_order() -> None:
    schema = obj({"zeta": {"type": "string"}, "alpha": {"type": "integer"}})
    first = lower_parameters(schema, "gemini")
    assert lower_parameters(copy.deepcopy(schema), "gemini") is first
    assert list(first["properties"]) == ["zeta", "alpha"]
    assert lowered_for(schema, "gemini").schema is first
    assert schema_losses(schema, "gemini") == ()


def test_a_loss_covers_the_schema_paths_of_what_it_took_away() -> None:
    fmt = Loss("/properties/a~1b", "format", "dropped", "d")
    assert fmt.covers("/properties/a~1b/format")
    assert not fmt.covers("/properties/a~1b/pattern")
    cut = Loss("/properties/next", "$ref", "dropped", "d")
    assert cut.covers("/properties/next/properties/x/minLength")
    assert not cut.covers("/properties/nextx/type")
    assert not Loss("", "title", "dropped", "d", loosens=False).covers("/title")


# -- gemini ----------------------------------------------------------------------------------


def test_gemini_inlines_refs_and_cuts_a_recursive_one() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "node": obj(
                {"name": {"type": "string"}, "child": {"$ref": "#/$defs/node"}}, required=["name"]
            )
        },
        "properties": {"root": {"$ref": "#/$defs/node"}},
    }
    lowered = lower_schema(schema, "gemini")
    root = lowered.schema["properties"]["root"]
    assert root["required"] == ["name"]
    assert root["properties"]["child"]["properties"]["name"] == {"type": "string"}
    cut = "/properties/root/properties/child/properties/child"
    assert (cut, "$ref", "dropped") in losses(lowered)
    assert (cut, "type", "narrowed") in losses(lowered)
    assert ("", "$defs", "dropped") in losses(lowered)
    assert "$defs" not in json.dumps(lowered.schema)


def test_gemini_rewrites_what_it_lacks_and_names_each_loss() -> None:
    schema = obj(
        {
            "name": {"type": ["string", "null"], "title": "Name", "format": "email"},
            "age": {"type": "integer", "exclusiveMinimum": 17},
            "ratio": {"type": "number", "exclusiveMaximum": 1},
            "kind": {"const": "person"},
            "level": {"enum": [1, 2, 3]},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "tags": {"type": "array", "items": {"type": "string"}, "examples": [["a"]]},
            "extra": {"type": "object"},
        },
        required=["name", "ghost"],
        additionalProperties=False,
        **{"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )
    lowered = lower_schema(schema, "gemini")
    sent = lowered.schema["properties"]
    assert sent["name"] == {"type": "string", "description": "Format: email.", "nullable": True}
    assert sent["age"] == {"type": "integer", "minimum": 18}  # the same integers pass
    assert sent["ratio"] == {"type": "number", "maximum": 1}
    assert sent["kind"] == {"type": "string", "enum": ["person"]}
    assert sent["level"] == {"type": "integer", "minimum": 1, "maximum": 3}
    assert sent["either"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert sent["tags"]["example"] == ["a"]
    assert list(sent["extra"]["properties"]) == [GEMINI_PLACEHOLDER]
    assert lowered.schema["required"] == ["name"]
    assert "additionalProperties" not in lowered.schema
    by_key = {(loss.path, loss.keyword): loss for loss in lowered.losses}
    expected = {
        ("", "$schema"): ("dropped", False),
        ("", "additionalProperties"): ("dropped", True),
        ("", "required"): ("dropped", True),
        ("/properties/name", "title"): ("dropped", False),
        ("/properties/name", "type"): ("changed", False),
        ("/properties/name", "format"): ("dropped", True),
        ("/properties/age", "exclusiveMinimum"): ("changed", False),
        ("/properties/ratio", "exclusiveMaximum"): ("changed", True),
        ("/properties/kind", "const"): ("changed", False),
        ("/properties/level", "enum"): ("dropped", True),
        ("/properties/either", "oneOf"): ("changed", True),
        ("/properties/tags", "examples"): ("changed", False),
        ("/properties/extra", "properties"): ("narrowed", False),
    }
    assert {key: (by_key[key].action, by_key[key].loosens) for key in by_key} == expected
    assert (
        "the model may send exactly 1" in by_key[("/properties/ratio", "exclusiveMaximum")].detail
    )
    assert "may add keys" in by_key[("", "additionalProperties")].detail


def test_gemini_declares_a_required_name_the_properties_lack() -> None:
    """BFCL's waste_calculation_calculate: population requires adults, children and
    singles but declares none; Gemini refuses an undeclared required name."""
    schema = obj(
        {
            "population": {"type": "object", "required": ["adults", "children"]},
            "counts": {
                "type": "object",
                "required": ["n"],
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "closed": obj({}, required=["x"], additionalProperties=False),
        },
        required=["population"],
    )
    lowered = lower_schema(schema, "gemini")
    sent = lowered.schema["properties"]
    assert sent["population"]["required"] == ["adults", "children"]
    assert set(sent["population"]["properties"]) == {"adults", "children"}
    assert sent["counts"]["properties"]["n"] == {"type": "integer", "minimum": 0}
    assert sent["counts"]["required"] == ["n"]
    assert "required" not in sent["closed"]  # no key may be sent: x cannot be required
    assert {
        ("/properties/population", "required", "narrowed"),
        ("/properties/counts", "additionalProperties", "dropped"),
        ("/properties/closed", "required", "dropped"),
    } <= losses(lowered)
    assert lint_schema(lowered.schema, "gemini") == []
    assert accepts(lowered, {"population": {"adults": 2, "children": 0}, "counts": {"n": 1}})


def test_gemini_merges_all_of_and_keeps_the_first_of_what_cannot_merge() -> None:
    schema = obj(
        {
            "code": {
                "allOf": [
                    {"type": "string", "pattern": "^[A-Z]+$", "maxLength": 9},
                    {"pattern": "^.{3}$", "maxLength": 5, "minLength": 1},
                ]
            },
            "box": {
                "allOf": [
                    obj({"w": {"type": "integer"}}, required=["w"]),
                    obj({"h": {"type": "integer"}, "w": {"minimum": 1}}, required=["h"]),
                ]
            },
        }
    )
    lowered = lower_schema(schema, "gemini")
    code, box = lowered.schema["properties"]["code"], lowered.schema["properties"]["box"]
    assert code == {"type": "string", "pattern": "^[A-Z]+$", "maxLength": 5, "minLength": 1}
    assert box["required"] == ["w", "h"]
    assert box["properties"]["w"] == {"type": "integer", "minimum": 1}
    assert losses(lowered) == {("/properties/code/allOf/1", "pattern", "dropped")}


def test_gemini_sends_a_null_alternative_as_nullable_and_types_what_it_must() -> None:
    schema = obj(
        {
            "maybe": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]},
            "bare": {"minLength": 2},
            "anything": {"description": "any JSON value"},
            "list": {"type": "array"},
        }
    )
    lowered = lower_schema(schema, "gemini")
    sent = lowered.schema["properties"]
    assert sent["maybe"] == {"type": "string", "maxLength": 3, "nullable": True}
    assert sent["bare"] == {"type": "string", "minLength": 2, "nullable": True}
    assert sent["anything"]["description"] == "any JSON value"
    assert [b["type"] for b in sent["anything"]["anyOf"]] == ["string", "number", "boolean"]
    assert sent["list"]["items"]["anyOf"][0] == {"type": "string", "nullable": True}
    assert {(loss.path, loss.action) for loss in lowered.losses if loss.keyword == "type"} == {
        ("/properties/bare", "narrowed"),
        ("/properties/anything", "narrowed"),
        ("/properties/list/items", "narrowed"),
    }
    # what nullable means, as JSON Schema
    assert accepts(lowered, {"maybe": None, "bare": None})
    assert not accepts(lowered, {"maybe": "long"})


def test_every_top_level_combinator_is_joined_into_one_object() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "oneOf": [
            {"properties": {"email": {"type": "string"}}, "required": ["email"]},
            {"properties": {"phone": {"type": "string"}}, "required": ["phone", "id"]},
        ],
        "additionalProperties": False,
    }
    for profile in PROFILES:
        lowered = lower_for_profile(schema, profile)
        assert "oneOf" not in lowered.schema
        assert set(lowered.schema["properties"]) == {"id", "email", "phone"}
        assert ("", "oneOf", "dropped") in losses(lowered), profile
        assert lint_schema(lowered.schema, profile) == [] or profile == "gemini"
    anthropic = lower_for_profile(schema, "anthropic").schema
    assert anthropic["type"] == "object"
    assert "required" not in anthropic  # no name every alternative requires


# -- openai-strict --------------------------------------------------------------------------


def test_strict_closes_objects_and_sends_optional_properties_nullable() -> None:
    schema = obj(
        {
            "to": {"type": "string", "format": "email", "minLength": 3},
            "cc": {"type": "string", "enum": ["a", "b"]},
            "when": {"$ref": "#/$defs/slot"},
            "meta": {"type": "object"},
        },
        required=["to"],
        **{"$defs": {"slot": obj({"at": {"type": "string", "format": "date-time"}})}},
    )
    lowered = lower_for_profile(schema, "openai-strict")
    sent = lowered.schema
    assert sent["additionalProperties"] is False
    assert sent["required"] == ["to", "cc", "when", "meta"]
    assert sent["properties"]["to"] == {"type": "string", "format": "email"}
    assert sent["properties"]["cc"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert sent["properties"]["when"] == {"anyOf": [{"$ref": "#/$defs/slot"}, {"type": "null"}]}
    assert sent["$defs"]["slot"]["required"] == ["at"]
    assert sent["$defs"]["slot"]["additionalProperties"] is False
    assert sent["properties"]["meta"]["properties"] == {}
    assert {
        ("/properties/to", "minLength", "dropped"),
        ("", "additionalProperties", "narrowed"),
        ("/properties/meta", "additionalProperties", "narrowed"),
        ("/properties/cc", "type", "changed"),
        ("/$defs/slot", "additionalProperties", "narrowed"),
    } <= losses(lowered)
    assert lint_schema(sent, "openai-strict") == []


def test_strict_merges_all_of_and_sends_one_of_as_any_of() -> None:
    schema = obj(
        {
            "x": {"allOf": [{"type": "integer"}, {"minimum": 2}]},
            "y": {"oneOf": [{"type": "string"}, {"type": "integer"}], "not": {"const": 3}},
        },
        required=["x", "y"],
        additionalProperties=False,
    )
    lowered = lower_for_profile(schema, "openai-strict")
    assert lowered.schema["properties"]["x"] == {"type": "integer", "minimum": 2}
    assert lowered.schema["properties"]["y"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert losses(lowered) == {
        ("/properties/x", "allOf", "changed"),
        ("/properties/y", "oneOf", "changed"),
        ("/properties/y", "not", "dropped"),
    }


# -- anthropic ------------------------------------------------------------------------------


def test_anthropic_keeps_nested_schemas_and_drops_remote_refs() -> None:
    schema = {
        "allOf": [obj({"a": {"$ref": "https://example.com/a.json"}}), {"required": ["a"]}],
        "properties": {"b": {"oneOf": [{"type": "string"}, {"const": 1}]}},
    }
    lowered = lower_schema(schema, "anthropic")
    assert lowered.schema["type"] == "object"
    assert lowered.schema["required"] == ["a"]
    assert lowered.schema["properties"]["a"] == {}
    assert lowered.schema["properties"]["b"] == {"oneOf": [{"type": "string"}, {"const": 1}]}
    assert losses(lowered) == {
        ("/allOf/0/properties/a", "$ref", "dropped"),
        ("", "allOf", "changed"),
    }
    assert lint_schema(lowered.schema, "anthropic") == []


# -- the shipped contracts (real data: the BFCL import) --------------------------------------


@pytest.mark.parametrize("suite", ["contracts", "contracts/bfcl"])
def test_every_shipped_contract_is_sent_in_a_form_its_provider_takes(suite: str) -> None:
    """Lint of every lowered schema: no error; every valid example still passes as sent."""
    contracts = load_contracts(REPO / suite)
    checked = 0
    for contract in contracts:
        for profile in PROFILES:
            lowered = lower_for_profile(contract.input_schema, profile)
            assert [
                f for f in lint_schema(lowered.schema, profile) if f.severity == "error"
            ] == [], (contract.key, profile)
            validator = Draft202012Validator(lowered.as_json_schema())
            narrowed = any(loss.action == "narrowed" for loss in lowered.losses)
            for example in contract.valid_examples:
                if profile == "openai-strict" or narrowed:
                    continue  # strict sends optional keys as null; see the loss
                assert not list(validator.iter_errors(example)), (contract.key, profile)
                checked += 1
    assert checked > (1000 if suite.endswith("bfcl") else 40)


# -- properties ------------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
LEAVES = st.one_of(
    st.just({"type": "string"}),
    st.builds(
        lambda lo, extra: {"type": "string", "minLength": lo, "maxLength": lo + extra},
        st.integers(0, 3),
        st.integers(0, 5),
    ),
    st.sampled_from(
        [
            {"type": "string", "format": "email"},
            {"type": "string", "format": "date"},
            {"type": "string", "pattern": "^[a-z]+$"},
            {"type": "string", "enum": ["a", "b", "c"]},
            {"const": "fixed"},
            {"enum": [1, 2, 5]},
            {"type": "boolean"},
            {"type": ["string", "null"]},
            {"type": ["integer", "string"]},
            {"type": "integer", "exclusiveMinimum": 0, "maximum": 9},
            {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
            {"type": "integer", "multipleOf": 3},
            {"type": "array", "items": {"type": "integer"}, "uniqueItems": True, "maxItems": 3},
            {"$ref": "#/$defs/money"},
            {"type": "string", "not": {"const": "no"}},
            {"allOf": [{"type": "integer", "minimum": 0}, {"maximum": 20, "exclusiveMinimum": 2}]},
            {"type": "object", "additionalProperties": {"type": "integer"}},
            {"enum": ["x", 1, None]},
        ]
    ),
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    objects = st.builds(
        _object,
        st.dictionaries(NAMES, children, min_size=1, max_size=3),
        st.data(),
        st.sampled_from([None, False]),
    )
    return st.one_of(
        objects,
        st.builds(lambda item: {"type": "array", "items": item, "maxItems": 2}, children),
        st.builds(lambda a, b: {"anyOf": [a, b]}, children, children),
        st.builds(lambda a, b: {"oneOf": [a, b]}, children, children),
        st.builds(lambda a: {"anyOf": [a, {"type": "null"}]}, children),
        st.builds(lambda a, b: {"allOf": [a, b]}, objects, objects),
    )


def _object(properties: dict[str, Any], data: st.DataObject, extra: bool | None) -> dict[str, Any]:
    required = data.draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if extra is False:
        schema["additionalProperties"] = False
    return schema


DEFS = {
    "money": {
        "type": "object",
        "properties": {"amount": {"type": "integer", "minimum": 0}, "currency": {"const": "EUR"}},
        "required": ["amount"],
        "additionalProperties": False,
    }
}
SCHEMAS = st.builds(
    lambda root: {**root, "$defs": DEFS},
    st.builds(
        _object,
        st.dictionaries(NAMES, st.recursive(LEAVES, _extend, max_leaves=6), min_size=1, max_size=4),
        st.data(),
        st.sampled_from([None, False]),
    ),
)


def _closed(schema: Any) -> Any:
    """Every object closed and every property required (what strict mode takes as is)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if isinstance(out.get("properties"), dict):
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(SCHEMAS)
def test_a_lowered_schema_passes_its_profiles_lint(schema: dict[str, Any]) -> None:
    for profile in PROFILES:
        lowered = lower_for_profile(schema, profile)
        errors = [f for f in lint_schema(lowered.schema, profile) if f.severity == "error"]
        assert errors == [], (profile, lowered.schema)


@SETTINGS
@given(SCHEMAS, st.sampled_from(["gemini", "anthropic", "openai-strict"]), st.data())
def test_lowering_only_relaxes(schema: dict[str, Any], profile: str, data: st.DataObject) -> None:
    if profile == "openai-strict":
        schema = _closed(schema)
    lowered = lower_for_profile(schema, profile)
    assume(not any(loss.action == "narrowed" for loss in lowered.losses))
    instance = data.draw(from_schema(schema))
    assert Draft202012Validator(schema).is_valid(instance)
    assert accepts(lowered, instance), (profile, lowered.schema, instance)


def test_a_gemini_tool_without_arguments_is_sent_with_empty_properties() -> None:
    # what a recorded 200 sent (tests/data/realdata/cassettes/gemini/pydantic-ai/
    # test_google_tool_config_any_with_tool_without_args.yaml): `properties: {}`
    for schema in ({"type": "object"}, {"type": "object", "properties": {}}):
        lowered = lower_schema(schema, "gemini")
        assert lowered.schema == {"type": "object", "properties": {}}
        assert lowered.losses == ()
