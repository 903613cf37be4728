"""Filling arguments from a schema and a message: values from the text, and always valid."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.reference.arguments import fill_arguments


def valid(schema: dict[str, Any], value: Any) -> None:
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(value)


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or []}


@pytest.mark.parametrize(
    ("schema", "text", "expected"),
    [
        (
            obj({"city": {"type": "string"}, "limit": {"type": "integer"}}, ["city"]),
            "city: New York, limit=5",
            {"city": "New York", "limit": 5},
        ),
        (
            obj({"url": {"type": "string", "format": "uri"}}, ["url"]),
            "Fetch https://example.com/a?b=1.",
            {"url": "https://example.com/a?b=1"},
        ),
        (
            obj({"start": {"type": "string", "format": "date-time"}}, ["start"]),
            "from 2024-05-01 10:30 on",
            {"start": "2024-05-01T10:30:00Z"},
        ),
        (
            obj({"verbose": {"type": "boolean"}, "dry_run": {"type": "boolean"}}),
            "verbose: yes, and no dry run",
            {"verbose": True, "dry_run": False},
        ),
        (
            obj({"tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}}}),
            "paint it blue and red",
            {"tags": ["blue", "red"]},
        ),
        (
            obj({"amount": {"type": "number", "maximum": 100}}, ["amount"]),
            "transfer 1,250.50 dollars",
            {"amount": 100},
        ),
        (
            obj({"note": {"type": "string", "maxLength": 5}}, ["note"]),
            'note "hello world"',
            {"note": "hello"},
        ),
        (
            {
                "$defs": {
                    "point": obj({"x": {"type": "integer"}, "y": {"type": "integer"}}, ["x", "y"])
                },
                **obj({"at": {"$ref": "#/$defs/point"}}, ["at"]),
            },
            "x: 3, y: 4",
            {"at": {"x": 3, "y": 4}},
        ),
        (
            obj({"name": {"anyOf": [{"type": "null"}, {"type": "string"}]}}, ["name"]),
            'named "Ada"',
            {"name": "Ada"},
        ),
        (obj({"mode": {"const": "fast"}}, ["mode"]), "anything", {"mode": "fast"}),
        (None, "no parameters at all", {}),
    ],
)
def test_values_come_from_the_text(
    schema: dict[str, Any] | None, text: str, expected: dict[str, Any]
) -> None:
    arguments = fill_arguments(schema, text)
    assert arguments == expected
    if schema is not None:
        valid(schema, arguments)


def test_optional_properties_only_when_the_text_names_them() -> None:
    schema = obj(
        {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
        ["city"],
    )
    assert fill_arguments(schema, "weather in Paris") == {"city": "Paris"}
    assert fill_arguments(schema, "weather in Paris for 3 days") == {"city": "Paris", "days": 3}


def test_a_required_property_falls_back_to_default_enum_examples_or_a_placeholder() -> None:
    schema = obj(
        {
            "a": {"type": "string", "default": "dflt"},
            "b": {"type": "string", "enum": ["x", "y"]},
            "c": {"type": "string", "examples": ["ex"]},
            "d": {"type": "integer", "minimum": 10},
            "e": {"type": "array", "items": {"type": "boolean"}, "minItems": 2},
            "f": {"type": "string", "format": "email"},
        },
        ["a", "b", "c", "d", "e", "f"],
    )
    arguments = fill_arguments(schema, "")
    assert arguments == {
        "a": "dflt",
        "b": "x",
        "c": "ex",
        "d": 10,
        "e": [False, True],
        "f": "user@example.com",
    }
    valid(schema, arguments)


_NAMES = st.sampled_from(["city", "count", "email", "date", "tags", "flag", "note", "limit", "a"])


def _string() -> st.SearchStrategy[dict[str, Any]]:
    lengths = st.tuples(st.integers(0, 5), st.integers(0, 20)).map(sorted)
    return st.one_of(
        st.just({"type": "string"}),
        lengths.map(lambda b: {"type": "string", "minLength": b[0], "maxLength": max(b[1], 1)}),
        st.sampled_from(["email", "date", "date-time", "uri"]).map(
            lambda f: {"type": "string", "format": f}
        ),
        st.lists(
            st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=4, unique=True
        ).map(lambda values: {"type": "string", "enum": values}),
    )


def _number() -> st.SearchStrategy[dict[str, Any]]:
    bounds = st.tuples(st.integers(-50, 50), st.integers(0, 100)).map(
        lambda b: (b[0], b[0] + b[1] + 2)
    )
    return st.one_of(
        st.sampled_from([{"type": "integer"}, {"type": "number"}, {"type": "boolean"}]),
        bounds.map(lambda b: {"type": "integer", "minimum": b[0], "maximum": b[1]}),
        bounds.map(lambda b: {"type": "number", "exclusiveMinimum": b[0], "maximum": b[1]}),
        st.just({"type": "integer", "multipleOf": 5, "minimum": 0}),
    )


_SCHEMAS = st.recursive(
    st.one_of(_string(), _number()),
    lambda children: st.one_of(
        st.tuples(children, st.integers(0, 2), st.integers(0, 3)).map(
            lambda t: {"type": "array", "items": t[0], "minItems": t[1], "maxItems": t[1] + t[2]}
        ),
        st.dictionaries(_NAMES, children, max_size=4).flatmap(
            lambda properties: (
                st.lists(st.sampled_from(sorted(properties)), unique=True).map(
                    lambda required: obj(properties, required)
                )
                if properties
                else st.just(obj({}))
            )
        ),
    ),
    max_leaves=8,
)
_ROOTS = st.dictionaries(_NAMES, _SCHEMAS, max_size=5).flatmap(
    lambda properties: (
        st.lists(st.sampled_from(sorted(properties)), unique=True).map(
            lambda required: obj(properties, required)
        )
        if properties
        else st.just(obj({}))
    )
)
_TEXTS = st.lists(
    st.sampled_from(
        [
            "city: Paris",
            "count=3",
            "limit 7",
            "email bob@example.com",
            "on 2024-02-30",
            "on 2024-03-01T10:00",
            "https://x.example/y",
            '"quoted words"',
            "tags: a, b, c",
            "flag: no",
            "in New York",
            "-12.5",
            "1,000",
            "yes",
            "abc",
            "x",
        ]
    ),
    max_size=6,
).map(" ".join)


@settings(max_examples=80, deadline=None)
@given(schema=_ROOTS, text=_TEXTS)
def test_arguments_always_validate_against_the_schema(schema: dict[str, Any], text: str) -> None:
    arguments = fill_arguments(schema, text)
    valid(schema, arguments)
    assert set(schema["required"]) <= set(arguments)
