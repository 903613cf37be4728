"""The version-bump classifier: structural diff, probe, bump rules and the report."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance.contracts.bump import diff_contracts, format_diff
from clearance.contracts.diff import Change, diff_schemas
from clearance.contracts.probe import probe_compatibility
from clearance.errors import ContractError


def obj(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """An object schema (the shape of every tool input)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = required
    return schema


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741 (a short name keeps the tables readable)
CLOSED = {"additionalProperties": False}

# (id, old, new, kind, breaking for input, breaking for output, pointer)
# fmt: off
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, bool, bool, str]] = [
    ("new required property", obj({"a": S}), obj({"a": S, "b": S}, ["b"]),
     "property_added_required", True, False, "/properties/b"),
    ("new required property, closed",
     obj({"a": S}, **CLOSED),
     obj({"a": S, "b": S}, ["b"], **CLOSED),
     "property_added_required", True, True, "/properties/b"),
    ("new optional property", obj({"a": S}), obj({"a": S, "b": I}),
     "property_added_optional", False, False, "/properties/b"),
    ("new optional property, closed", obj({"a": S}, **CLOSED), obj({"a": S, "b": I}, **CLOSED),
     "property_added_optional", False, True, "/properties/b"),
    ("removed under additionalProperties false",
     obj({"a": S, "b": I}, **CLOSED),
     obj({"a": S}, **CLOSED),
     "property_removed", True, False, "/properties/b"),
    ("removed, extras still accepted", obj({"a": S, "b": I}), obj({"a": S}),
     "property_removed", False, True, "/properties/b"),
    ("required removed property, closed",
     obj({"a": S, "b": I}, ["b"], **CLOSED),
     obj({"a": S}, **CLOSED),
     "property_removed", True, True, "/properties/b"),
    ("became required", obj({"a": S}), obj({"a": S}, ["a"]),
     "required_added", True, False, "/properties/a"),
    ("no longer required", obj({"a": S}, ["a"]), obj({"a": S}),
     "required_removed", False, True, "/properties/a"),
    ("type narrowed", obj({"a": {"type": ["string", "integer"]}}), obj({"a": S}),
     "type_narrowed", True, False, "/properties/a/type"),
    ("number to integer", obj({"a": {"type": "number"}}), obj({"a": I}),
     "type_narrowed", True, False, "/properties/a/type"),
    ("type widened", obj({"a": I}), obj({"a": {"type": "number"}}),
     "type_widened", False, True, "/properties/a/type"),
    ("type added", obj({"a": {}}), obj({"a": S}),
     "type_narrowed", True, False, "/properties/a/type"),
    ("type changed", obj({"a": S}), obj({"a": I}),
     "type_changed", True, True, "/properties/a/type"),
    ("enum narrowed", obj({"a": {"enum": ["x", "y"]}}), obj({"a": {"enum": ["x"]}}),
     "enum_narrowed", True, False, "/properties/a/enum"),
    ("enum widened", obj({"a": {"enum": ["x"]}}), obj({"a": {"enum": ["x", "y"]}}),
     "enum_widened", False, True, "/properties/a/enum"),
    ("enum added", obj({"a": S}), obj({"a": {"type": "string", "enum": ["x"]}}),
     "enum_narrowed", True, False, "/properties/a/enum"),
    ("enum dropped", obj({"a": {"enum": ["x"]}}), obj({"a": {}}),
     "enum_widened", False, True, "/properties/a/enum"),
    ("const changed", obj({"a": {"const": "x"}}), obj({"a": {"const": "y"}}),
     "const_changed", True, True, "/properties/a/const"),
    ("const added", obj({"a": S}), obj({"a": {"type": "string", "const": "x"}}),
     "const_changed", True, False, "/properties/a/const"),
    ("minimum raised",
     obj({"a": {"type": "integer", "minimum": 0}}),
     obj({"a": {"type": "integer", "minimum": 1}}),
     "bound_tightened", True, False, "/properties/a/minimum"),
    ("minimum made exclusive",
     obj({"a": {"type": "number", "minimum": 0}}),
     obj({"a": {"type": "number", "exclusiveMinimum": 0}}),
     "bound_tightened", True, False, "/properties/a/exclusiveMinimum"),
    ("maximum raised",
     obj({"a": {"type": "integer", "maximum": 10}}),
     obj({"a": {"type": "integer", "maximum": 20}}),
     "bound_loosened", False, True, "/properties/a/maximum"),
    ("exclusiveMaximum added",
     obj({"a": I}),
     obj({"a": {"type": "integer", "exclusiveMaximum": 9}}),
     "bound_tightened", True, False, "/properties/a/exclusiveMaximum"),
    ("maxLength added", obj({"a": S}), obj({"a": {"type": "string", "maxLength": 5}}),
     "bound_tightened", True, False, "/properties/a/maxLength"),
    ("minLength dropped", obj({"a": {"type": "string", "minLength": 2}}), obj({"a": S}),
     "bound_loosened", False, True, "/properties/a/minLength"),
    ("minItems raised",
     obj({"a": {"type": "array", "minItems": 1}}),
     obj({"a": {"type": "array", "minItems": 2}}),
     "bound_tightened", True, False, "/properties/a/minItems"),
    ("maxProperties dropped", obj({"a": S}, maxProperties=3), obj({"a": S}),
     "bound_loosened", False, True, "/maxProperties"),
    ("pattern added", obj({"a": S}), obj({"a": {"type": "string", "pattern": "^x"}}),
     "pattern_added", True, False, "/properties/a/pattern"),
    ("pattern removed", obj({"a": {"type": "string", "pattern": "^x"}}), obj({"a": S}),
     "pattern_removed", False, True, "/properties/a/pattern"),
    ("pattern changed",
     obj({"a": {"type": "string", "pattern": "^x"}}),
     obj({"a": {"type": "string", "pattern": "^y"}}),
     "pattern_changed", True, True, "/properties/a/pattern"),
    ("format added", obj({"a": S}), obj({"a": {"type": "string", "format": "email"}}),
     "format_changed", True, False, "/properties/a/format"),
    ("format changed",
     obj({"a": {"type": "string", "format": "date"}}),
     obj({"a": {"type": "string", "format": "email"}}),
     "format_changed", True, True, "/properties/a/format"),
    ("additionalProperties turned off", obj({"a": S}), obj({"a": S}, **CLOSED),
     "additional_properties_closed", True, False, "/additionalProperties"),
    ("additionalProperties turned on", obj({"a": S}, **CLOSED), obj({"a": S}),
     "additional_properties_opened", False, True, "/additionalProperties"),
    ("items constrained", obj({"a": {"type": "array"}}), obj({"a": {"type": "array", "items": S}}),
     "items_changed", True, False, "/properties/a/items"),
    ("prefixItems extended",
     obj({"a": {"type": "array", "prefixItems": [S]}}),
     obj({"a": {"type": "array", "prefixItems": [S, I]}}),
     "items_changed", True, False, "/properties/a/prefixItems"),
    ("description",
     obj({"a": {"type": "string", "description": "old"}}),
     obj({"a": {"type": "string", "description": "new"}}),
     "description_changed", False, False, "/properties/a/description"),
    ("default",
     obj({"a": {"type": "integer", "default": 1}}),
     obj({"a": {"type": "integer", "default": 2}}),
     "default_changed", False, False, "/properties/a/default"),
    ("anyOf changed", obj({"a": {"anyOf": [S, I]}}), obj({"a": {"anyOf": [S]}}),
     "other", False, False, "/properties/a/anyOf"),
    ("property schema set to false", obj({"a": S}), obj({"a": False}),
     "other", True, False, "/properties/a"),
]
# fmt: on


@pytest.mark.parametrize(
    ("old", "new", "kind", "breaks_input", "breaks_output", "pointer"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_kind_of_change_in_both_directions(
    old: dict[str, Any],
    new: dict[str, Any],
    kind: str,
    breaks_input: bool,
    breaks_output: bool,
    pointer: str,
) -> None:
    for direction, breaking in (("input", breaks_input), ("output", breaks_output)):
        changes = diff_schemas(old, new, direction=direction)  # type: ignore[arg-type]
        assert [(c.kind, c.pointer, c.breaking) for c in changes] == [(kind, pointer, breaking)], (
            direction
        )
        assert changes[0].detail


def test_required_property_detail_reads_as_a_sentence() -> None:
    changes = diff_schemas(obj({"email": S}), obj({"email": S}, ["email"]), direction="input")
    assert changes == [
        Change("/properties/email", "required_added", True, "property 'email' became required")
    ]


def test_enum_that_gains_and_loses_values_reports_both() -> None:
    old, new = obj({"a": {"enum": ["x", "y"]}}), obj({"a": {"enum": ["x", "z"]}})
    kinds = {(c.kind, c.breaking) for c in diff_schemas(old, new, direction="input")}
    assert kinds == {("enum_narrowed", True), ("enum_widened", False)}
    kinds = {(c.kind, c.breaking) for c in diff_schemas(old, new, direction="output")}
    assert kinds == {("enum_narrowed", False), ("enum_widened", True)}


def test_json_equality_of_values() -> None:
    # 1 and 1.0 are the same JSON number; true is not 1.
    assert (
        diff_schemas(obj({"a": {"const": 1}}), obj({"a": {"const": 1.0}}), direction="input") == []
    )
    changes = diff_schemas(obj({"a": {"const": 1}}), obj({"a": {"const": True}}), direction="input")
    assert [c.kind for c in changes] == ["const_changed"]


def test_renamed_property_is_breaking_in_both_directions() -> None:
    old = obj({"mail": {"type": "string", "format": "email"}}, ["mail"], **CLOSED)
    new = obj({"email": {"type": "string", "format": "email"}}, ["email"], **CLOSED)
    for direction in ("input", "output"):
        changes = diff_schemas(old, new, direction=direction)  # type: ignore[arg-type]
        assert [(c.kind, c.pointer, c.breaking) for c in changes] == [
            ("property_renamed", "/properties/email", True)
        ]
        assert changes[0].detail == "property 'mail' was renamed to 'email'"


def test_rename_found_by_description_also_diffs_the_schemas() -> None:
    old = obj({"qty": {"type": "integer", "description": "How many."}})
    new = obj({"quantity": {"type": "integer", "minimum": 1, "description": "How many."}})
    changes = diff_schemas(old, new, direction="input")
    assert [(c.kind, c.pointer) for c in changes] == [
        ("property_renamed", "/properties/quantity"),
        ("bound_tightened", "/properties/quantity/minimum"),
    ]


def test_nested_pointers() -> None:
    old = obj(
        {"address": obj({"zip": S, "city": S}, ["zip"]), "tags": {"type": "array", "items": S}}
    )
    new = obj(
        {
            "address": obj({"zip": I, "city": S}, ["zip", "city"]),
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 9}},
        }
    )
    changes = diff_schemas(old, new, direction="input")
    assert {(c.pointer, c.kind) for c in changes} == {
        ("/properties/address/properties/zip/type", "type_changed"),
        ("/properties/address/properties/city", "required_added"),
        ("/properties/tags/items/maxLength", "bound_tightened"),
    }
    details = {c.detail for c in changes}
    assert "property 'address.city' became required" in details
    assert "type of 'address.zip' changed from string to integer" in details


def test_pointer_tokens_are_escaped() -> None:
    changes = diff_schemas(obj({"a/b~c": S}), obj({"a/b~c": I}), direction="input")
    assert [c.pointer for c in changes] == ["/properties/a~1b~0c/type"]


def test_local_refs_are_followed_and_reported_at_the_definition() -> None:
    def with_zip(zip_schema: dict[str, Any]) -> dict[str, Any]:
        address = {"$ref": "#/$defs/Address"}
        return obj(
            {"home": address, "work": address},
            **{"$defs": {"Address": obj({"zip": zip_schema})}},
        )

    old, new = with_zip(S), with_zip({"type": "string", "pattern": "^[0-9]{5}$"})
    changes = diff_schemas(old, new, direction="input")
    # Two references, one definition: reported once, where the edit was made.
    assert [(c.pointer, c.kind, c.breaking) for c in changes] == [
        ("/$defs/Address/properties/zip/pattern", "pattern_added", True)
    ]
    # Inlining a definition is not a change.
    inlined = obj({"home": obj({"zip": S}), "work": obj({"zip": S})})
    assert diff_schemas(old, inlined, direction="input") == []


def test_recursive_refs_terminate() -> None:
    node = {"$defs": {"N": obj({"next": {"$ref": "#/$defs/N"}, "v": S})}, "$ref": "#/$defs/N"}
    changed = copy.deepcopy(node)
    changed["$defs"]["N"]["properties"]["v"] = I
    changes = diff_schemas(node, changed, direction="input")
    assert [(c.pointer, c.kind) for c in changes] == [
        ("/$defs/N/properties/v/type", "type_changed")
    ]


# --------------------------------------------------------------------------- contracts


def contract(version: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "create_contact",
        "version": version,
        "description": "Create a contact in the CRM.",
        "criticality": "critical",
        "input_schema": obj({"name": S, "email": S}, ["name"], **CLOSED),
        "output_schema": obj({"contact_id": S}, ["contact_id"]),
        "examples": {"valid": [{"name": "Ada"}]},
    }
    doc.update(changes)
    return doc


BREAKING = {"input_schema": obj({"name": S, "email": S}, ["name", "email"], **CLOSED)}
MINOR = {"input_schema": obj({"name": S, "email": S, "phone": S}, ["name"], **CLOSED)}
PATCH = {"description": "Create a contact. Use it when the user asks to add a person."}


@pytest.mark.parametrize(
    ("change", "required"),
    [
        pytest.param(BREAKING, "major", id="breaking"),
        pytest.param(MINOR, "minor", id="widening"),
        pytest.param({"criticality": "standard"}, "minor", id="criticality"),
        pytest.param(PATCH, "patch", id="description"),
        pytest.param({"examples": {"valid": []}}, "none", id="examples-only"),
        pytest.param({}, "none", id="nothing"),
    ],
)
def test_required_bump(change: dict[str, Any], required: str) -> None:
    diff = diff_contracts(contract("1.0.0"), contract("1.0.0", **change), probe=False)
    assert diff.required_bump == required


@pytest.mark.parametrize(
    ("old", "new", "actual"),
    [
        ("1.2.3", "2.0.0", "major"),
        ("1.2.3", "1.3.0", "minor"),
        ("1.2.3", "1.2.4", "patch"),
        ("1.2.3", "1.2.3", "none"),
        ("1.2.3", "1.2.2", "downgrade"),
        ("2.0.0", "1.9.9", "downgrade"),
    ],
)
def test_actual_bump(old: str, new: str, actual: str) -> None:
    assert diff_contracts(contract(old), contract(new), probe=False).actual_bump == actual


BUMPS = {
    "major": "2.0.0",
    "minor": "1.1.0",
    "patch": "1.0.1",
    "none": "1.0.0",
    "downgrade": "0.9.0",
}
CHANGES = {"major": BREAKING, "minor": MINOR, "patch": PATCH, "none": {}}
# required bump -> actual bumps that cover it
COVERS = {
    "major": {"major"},
    "minor": {"major", "minor"},
    "patch": {"major", "minor", "patch"},
    "none": {"major", "minor", "patch", "none"},
}


@pytest.mark.parametrize("required", list(CHANGES))
@pytest.mark.parametrize("actual", list(BUMPS))
def test_ok_for_each_combination(required: str, actual: str) -> None:
    diff = diff_contracts(
        contract("1.0.0"), contract(BUMPS[actual], **CHANGES[required]), probe=False
    )
    assert (diff.required_bump, diff.actual_bump) == (required, actual)
    assert diff.ok is (actual in COVERS[required])


def test_contract_pointers_name_the_section() -> None:
    new = contract("2.0.0", **BREAKING, **PATCH, criticality="standard")
    new["output_schema"] = obj({"contact_id": S, "url": S}, ["contact_id"], **CLOSED)
    diff = diff_contracts(contract("1.0.0"), new, probe=False)
    assert {(c.pointer, c.kind, c.breaking) for c in diff.changes} == {
        ("/description", "description_changed", False),
        ("/criticality", "other", False),
        ("/input_schema/properties/email", "required_added", True),
        ("/output_schema/properties/url", "property_added_optional", False),
        ("/output_schema/additionalProperties", "additional_properties_closed", False),
    }
    assert diff.second_opinion == ()


def test_invalid_version_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match=r"'1\.0'") as caught:
        diff_contracts(contract("1.0.0"), contract("1.0"), probe=False)
    assert caught.value.pointer == "/version"


# --------------------------------------------------------------------------- probe

ENUM3 = obj({"kind": {"enum": ["a", "b", "c"]}}, ["kind"], **CLOSED)
ENUM2 = obj({"kind": {"enum": ["a", "b"]}}, ["kind"], **CLOSED)


def test_probe_finds_a_narrowed_enum() -> None:
    result = probe_compatibility(ENUM3, ENUM2, direction="input", max_examples=50)
    assert not result.inconclusive, result.reason
    assert result.counterexamples == ({"kind": "c"},)
    assert result.checked > 0


def test_probe_finds_nothing_for_a_widened_enum() -> None:
    result = probe_compatibility(ENUM2, ENUM3, direction="input", max_examples=50)
    assert not result.inconclusive, result.reason
    assert result.counterexamples == ()
    assert result.checked > 0


def test_probe_output_direction_generates_from_the_new_schema() -> None:
    # For output, widening is the danger: the new tool may return "c".
    widened = probe_compatibility(ENUM2, ENUM3, direction="output", max_examples=50)
    assert widened.counterexamples == ({"kind": "c"},)
    narrowed = probe_compatibility(ENUM3, ENUM2, direction="output", max_examples=50)
    assert narrowed.counterexamples == ()


def test_probe_handles_nested_objects_and_extra_properties() -> None:
    old = obj({"address": obj({"zip": S}, ["zip"])}, ["address"])
    new = obj({"address": obj({"zip": S}, ["zip"], **CLOSED)}, ["address"])
    result = probe_compatibility(old, new, direction="input", max_examples=100)
    assert not result.inconclusive, result.reason
    assert result.counterexamples
    assert all(set(c["address"]) - {"zip"} for c in result.counterexamples)


def test_probe_is_deterministic() -> None:
    old = obj({"n": {"type": "integer"}}, ["n"])
    new = obj({"n": {"type": "integer", "maximum": 1000}}, ["n"])
    first = probe_compatibility(old, new, direction="input", max_examples=60, seed=3)
    second = probe_compatibility(old, new, direction="input", max_examples=60, seed=3)
    assert first == second
    assert first.counterexamples


def test_probe_is_inconclusive_rather_than_failing() -> None:
    recursive = {"$defs": {"N": obj({"next": {"$ref": "#/$defs/N"}})}, "$ref": "#/$defs/N"}
    result = probe_compatibility(recursive, recursive, direction="input", max_examples=20)
    assert result.inconclusive
    assert "recursive" in result.reason
    unsatisfiable = {"type": "integer", "minimum": 5, "maximum": 1}
    result = probe_compatibility(unsatisfiable, {}, direction="input", max_examples=20)
    assert result.inconclusive
    assert result.reason


def test_disagreement_when_structure_says_compatible_but_the_probe_narrows() -> None:
    # multipleOf is not modelled structurally: it is reported as `other`, not breaking.
    old = contract("1.0.0", input_schema=obj({"n": {"type": "integer"}}, ["n"]))
    new = contract("1.1.0", input_schema=obj({"n": {"type": "integer", "multipleOf": 2}}, ["n"]))
    diff = diff_contracts(old, new, probe_examples=60)
    assert [(c.kind, c.breaking) for c in diff.changes] == [("other", False)]
    assert diff.required_bump == "minor"
    assert diff.ok  # the structural verdict stays the verdict
    assert len(diff.disagreements) == 1
    assert diff.disagreements[0].startswith("input_schema: structural diff says compatible, but {")
    assert "accepted by the old input schema and rejected by the new" in diff.disagreements[0]


def test_disagreement_when_structure_says_breaking_but_the_probe_finds_nothing() -> None:
    # A changed pattern is breaking structurally, but this one only widens.
    old = contract("1.0.0", input_schema=obj({"c": {"type": "string", "pattern": "^a"}}, ["c"]))
    new = contract("2.0.0", input_schema=obj({"c": {"type": "string", "pattern": "^(a|b)"}}, ["c"]))
    diff = diff_contracts(old, new, probe_examples=50)
    assert diff.required_bump == "major"
    (probe,) = diff.second_opinion
    assert probe.direction == "input"
    assert probe.counterexamples == ()
    assert diff.disagreements == (
        f"input_schema: structural diff says breaking, but the probe found no counterexample"
        f" in {probe.checked} instances (the narrowed region may be rare)",
    )


def test_agreeing_opinions_are_silent_and_unchanged_schemas_are_not_probed() -> None:
    diff = diff_contracts(
        contract("1.0.0", input_schema=ENUM3),
        contract("2.0.0", input_schema=ENUM2),
        probe_examples=50,
    )
    assert [p.direction for p in diff.second_opinion] == ["input"]
    assert diff.second_opinion[0].counterexamples == ({"kind": "c"},)
    assert diff.disagreements == ()


def test_format_diff_report() -> None:
    diff = diff_contracts(
        contract("1.0.0", input_schema=ENUM3),
        contract("1.1.0", input_schema=ENUM2, **PATCH),
        probe_examples=50,
    )
    text = format_diff(diff)
    assert text.splitlines()[0] == (
        "create_contact 1.0.0 → 1.1.0: needs a major bump, got minor — NOT OK"
    )
    assert "BREAKING  enum_narrowed" in text
    assert "/input_schema/properties/kind/enum" in text
    assert "'kind' no longer accepts \"c\"" in text
    assert "patch     description_changed" in text
    assert "input_schema: 1 counterexample(s) in" in text
    assert '{"kind": "c"}' in text
    unchanged = format_diff(diff_contracts(contract("1.0.0"), contract("1.0.0"), probe=False))
    assert "no changes" in unchanged
    assert "— OK" in unchanged


# --------------------------------------------------------------------------- properties

NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
SCALARS = st.one_of(
    st.just({"type": "string"}),
    st.builds(lambda lo: {"type": "string", "minLength": lo}, st.integers(0, 5)),
    st.builds(lambda p: {"type": "string", "pattern": p}, st.sampled_from(["^a", "b$", "x+"])),
    st.builds(
        lambda lo, hi: {"type": "integer", "minimum": lo, "maximum": lo + hi},
        st.integers(-5, 5),
        st.integers(0, 9),
    ),
    st.builds(lambda t: {"type": t}, st.sampled_from(["number", "boolean", "null"])),
    st.builds(
        lambda t: {"type": t},
        st.lists(st.sampled_from(["string", "integer"]), min_size=1, max_size=2, unique=True),
    ),
    st.builds(
        lambda v: {"enum": v},
        st.lists(st.sampled_from(["x", "y", 1, 2.5, None]), min_size=1, unique=True),
    ),
    st.builds(lambda v: {"const": v}, st.sampled_from(["x", 0, True])),
    st.builds(lambda d: {"type": "string", "description": d}, st.text(max_size=5)),
)


def objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda props, required, closed: obj(
            props,
            sorted(set(required) & set(props)),
            **({"additionalProperties": False} if closed else {}),
        ),
        st.dictionaries(NAMES, children, max_size=4),
        st.lists(NAMES, max_size=3),
        st.booleans(),
    )


SCHEMAS = objects(
    st.one_of(
        SCALARS, st.builds(lambda i: {"type": "array", "items": i}, SCALARS), objects(SCALARS)
    )
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(SCHEMAS)
def test_a_schema_does_not_differ_from_itself(schema: dict[str, Any]) -> None:
    for direction in ("input", "output"):
        assert diff_schemas(schema, schema, direction=direction) == []  # type: ignore[arg-type]
        assert diff_schemas(schema, copy.deepcopy(schema), direction=direction) == []  # type: ignore[arg-type]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(SCHEMAS, st.one_of(SCALARS, objects(SCALARS)))
def test_a_new_optional_input_property_is_never_breaking(
    schema: dict[str, Any], added: dict[str, Any]
) -> None:
    widened = copy.deepcopy(schema)
    widened["properties"]["zz_new"] = added
    changes = diff_schemas(schema, widened, direction="input")
    assert [c.kind for c in changes] == ["property_added_optional"]
    assert not changes[0].breaking
