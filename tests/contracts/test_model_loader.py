"""Loading tool contracts: the good file, every check in FORMAT.md, lines and pointers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from clearance.contracts.loader import load_contract, load_contracts
from clearance.contracts.model import ContractSet, ToolContract, UnknownContract
from clearance.contracts.semver import Version
from clearance.errors import ContractError

# Line numbers below refer to this text (1-based).
GOOD = """\
name: create_contact
version: 1.2.0
description: Create a contact in the CRM.
criticality: critical
input_schema:
  type: object
  properties:
    name: {type: string, minLength: 1}
    email: {type: string, format: email}
    age: {type: integer}
  required: [name, email]
  additionalProperties: false
output_schema:
  type: object
  properties:
    contact_id: {type: string}
  required: [contact_id]
examples:
  valid:
    - {name: Ada Lovelace, email: ada@example.com}
  invalid:
    - args: {name: Ada Lovelace}
      reason: email is required
"""


def write(root: Path, text: str, *, name: str = "create_contact", file: str = "1.2.0.yaml") -> Path:
    path = root / "tools" / name / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def replace_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def load_error(path: Path) -> ContractError:
    with pytest.raises(ContractError) as info:
        load_contract(path)
    return info.value


# The good contract -------------------------------------------------------------------


def test_a_good_contract_loads(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    contract = load_contract(path)
    assert contract.name == "create_contact"
    assert contract.version == Version(1, 2, 0)
    assert contract.key == "create_contact@1.2.0"
    assert contract.description == "Create a contact in the CRM."
    assert contract.criticality == "critical"
    assert contract.input_schema["required"] == ["name", "email"]
    assert contract.output_schema["properties"] == {"contact_id": {"type": "string"}}
    assert contract.valid_examples == ({"name": "Ada Lovelace", "email": "ada@example.com"},)
    assert contract.invalid_examples == (({"name": "Ada Lovelace"}, "email is required"),)
    assert contract.path == path
    canonical = json.dumps(yaml.safe_load(GOOD), sort_keys=True, separators=(",", ":"))
    assert contract.content_hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_the_hash_covers_the_whole_file_but_not_its_layout(tmp_path: Path) -> None:
    base = load_contract(write(tmp_path / "a", GOOD))
    reformatted = load_contract(write(tmp_path / "b", "# a comment\n" + GOOD))
    as_json = load_contract(
        write(tmp_path / "c", json.dumps(yaml.safe_load(GOOD), indent=1), file="1.2.0.json")
    )
    changed_example = load_contract(
        write(tmp_path / "d", GOOD.replace("email is required", "no email"))
    )
    assert base.content_hash == reformatted.content_hash == as_json.content_hash
    assert changed_example.content_hash != base.content_hash


def test_provider_tool_shapes_are_copies(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, GOOD))
    tool = contract.openai_tool()
    assert tool == {
        "type": "function",
        "function": {
            "name": "create_contact",
            "description": "Create a contact in the CRM.",
            "parameters": contract.input_schema,
        },
    }
    tool["function"]["parameters"]["required"].append("age")
    assert contract.input_schema["required"] == ["name", "email"]
    assert contract.anthropic_tool()["input_schema"] == contract.input_schema


def test_examples_are_optional(tmp_path: Path) -> None:
    text = GOOD.split("examples:")[0]
    contract = load_contract(write(tmp_path, text))
    assert contract.valid_examples == ()
    assert contract.invalid_examples == ()


def test_location_checks_can_be_turned_off(tmp_path: Path) -> None:
    path = tmp_path / "anything.yaml"
    path.write_text(GOOD)
    assert load_contract(path, check_location=False).key == "create_contact@1.2.0"
    error = load_error(path)
    assert "differs from its folder" in error.message


# Every loading error: message, line and pointer --------------------------------------


@pytest.mark.parametrize(
    ("line", "new", "message", "error_line", "pointer", "fix"),
    [
        (
            3,
            "descripton: Create a contact.",
            "unknown key 'descripton' in a tool contract",
            3,
            "/descripton",
            "did you mean 'description'?",
        ),
        (
            1,
            "name: 9create",
            "tool name '9create' is invalid: it must match",
            1,
            "/name",
            "starting with a letter",
        ),
        (
            2,
            "version: 1.2",
            "version must be a string like '1.2.0', got float 1.2",
            2,
            "/version",
            "MAJOR.MINOR.PATCH",
        ),
        (2, "version: 01.2.0", "leading zero", 2, "/version", "MAJOR.MINOR.PATCH"),
        (
            2,
            "version: 1.3.0",
            "version 1.3.0 differs from the file name '1.2.0.yaml'",
            2,
            "/version",
            "rename the file to 1.3.0.yaml",
        ),
        (
            4,
            "criticality: critcal",
            "criticality 'critcal' is not one of critical, standard",
            4,
            "/criticality",
            "did you mean 'critical'?",
        ),
        (3, "description: ''", "description must be a non-empty string", 3, "/description", ""),
        (
            10,
            "    age: {type: intger}",
            "input_schema is not a valid JSON Schema 2020-12: 'intger' is not valid",
            10,
            "/input_schema/properties/age/type",
            "fix the schema at /input_schema/properties/age/type",
        ),
        (
            17,
            "  required: contact_id",
            "output_schema is not a valid JSON Schema 2020-12: 'contact_id' is not of type 'array'",
            17,
            "/output_schema/required",
            "",
        ),
        (
            6,
            "  type: array",
            "input_schema must have type: object at the top level, got 'array'",
            6,
            "/input_schema/type",
            "set type: object",
        ),
        (
            20,
            "    - {name: Ada Lovelace, email: not-an-email}",
            "valid example 0 does not validate against input_schema: "
            "'not-an-email' is not a 'email' (at /email)",
            20,
            "/examples/valid/0/email",
            "fix the example",
        ),
        (
            20,
            "    - {name: Ada Lovelace}",
            "valid example 0 does not validate against input_schema: "
            "'email' is a required property (at /)",
            20,
            "/examples/valid/0",
            "",
        ),
        (
            22,
            "    - args: {name: Ada Lovelace, email: ada@example.com}",
            "invalid example 0 unexpectedly validates against input_schema "
            "(it should fail because: email is required)",
            22,
            "/examples/invalid/0/args",
            "tighten the schema",
        ),
        (
            23,
            "      why: email is required",
            "unknown key 'why' in invalid example 0",
            23,
            "/examples/invalid/0/why",
            "remove it",
        ),
        (
            3,
            "description: 2024-01-01",
            "'2024-01-01' reads as a YAML date, which JSON does not have",
            3,
            "/description",
            "quote it: '2024-01-01'",
        ),
        (
            16,
            "    contact_id: {type: string, type: integer}",
            "duplicate key 'type'",
            16,
            "/output_schema/properties/contact_id/type",
            "keep only one",
        ),
        (19, "  vaild:", "unknown key 'vaild' in examples", 19, "/examples/vaild", "'valid'"),
    ],
)
def test_each_loading_error_names_line_pointer_and_fix(
    tmp_path: Path, line: int, new: str, message: str, error_line: int, pointer: str, fix: str
) -> None:
    path = write(tmp_path, replace_line(GOOD, line, new))
    error = load_error(path)
    assert message in error.message
    assert error.path == str(path)
    assert error.line == error_line
    assert error.pointer == pointer
    assert error.fix is not None
    assert fix in error.fix
    assert f"{path}:{error_line}" in str(error)


def test_a_missing_key_points_at_the_document(tmp_path: Path) -> None:
    text = GOOD.replace("criticality: critical\n", "")
    error = load_error(write(tmp_path, text))
    assert error.message.endswith("missing key 'criticality' in a tool contract")
    assert (error.line, error.pointer) == (1, "")


def test_name_must_match_the_folder(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, GOOD, name="add_contact"))
    assert error.message.endswith(
        "tool name 'create_contact' differs from its folder 'add_contact'"
    )
    assert (error.line, error.pointer) == (1, "/name")
    assert error.fix == "move the file to tools/create_contact/, or rename the tool"


def test_a_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, replace_line(GOOD, 12, "  additionalProperties: [false")))
    assert ": YAML syntax error:" in error.message
    assert error.line == 13
    assert error.pointer == ""


def test_bad_indentation_gives_its_line(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, replace_line(GOOD, 9, "     email: {type: string}")))
    assert ": YAML syntax error: " in error.message  # the wording is the parser's (libyaml or not)
    assert error.line == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- name: x\n", "a tool contract must be a mapping, got list"),
        ("<<: {name: x}\n", "YAML merge keys (<<) are not supported"),
        ("1: one\n", "key 1 is a int, not a string"),
    ],
)
def test_documents_that_are_not_contracts(tmp_path: Path, text: str, message: str) -> None:
    error = load_error(write(tmp_path, text))
    assert message in error.message


def test_json_contracts_get_lines_and_pointers(tmp_path: Path) -> None:
    document = yaml.safe_load(GOOD)
    document["input_schema"]["properties"]["age"]["type"] = "intger"
    text = json.dumps(document, indent=2)
    expected_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"intger"' in line)
    error = load_error(write(tmp_path, text, file="1.2.0.json"))
    assert error.pointer == "/input_schema/properties/age/type"
    assert error.line == expected_line


def test_json_syntax_errors_and_duplicate_keys(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, '{\n  "name": "x",\n  "version": }\n', file="1.2.0.json"))
    assert ": JSON syntax error: Expecting value" in error.message
    assert error.line == 3
    error = load_error(write(tmp_path, '{"name": "a", "name": "b"}', file="1.2.0.json"))
    assert error.message.endswith("duplicate key 'name'")


def test_schema_with_another_dialect_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace(
        "input_schema:\n", "input_schema:\n  $schema: http://json-schema.org/draft-07/schema#\n"
    )
    error = load_error(write(tmp_path, text))
    assert "declares $schema 'http://json-schema.org/draft-07/schema#'" in error.message
    assert (error.line, error.pointer) == (6, "/input_schema/$schema")


def test_a_file_with_the_wrong_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, file="1.2.0.yaml.bak")
    error = load_error(path)
    assert "not a contract file" in error.message


# A folder of contracts ---------------------------------------------------------------


def version_of(text: str, version: str) -> str:
    return text.replace("version: 1.2.0", f"version: {version}")


def test_load_contracts_reads_every_tool(tmp_path: Path) -> None:
    for version in ("1.2.0", "1.10.0", "1.9.0"):
        write(tmp_path, version_of(GOOD, version), file=f"{version}.yaml")
    other = GOOD.replace("create_contact", "delete_contact")
    write(tmp_path, other, name="delete_contact", file="1.2.0.yml")
    contracts = load_contracts(tmp_path)
    assert contracts.keys() == [
        "create_contact@1.2.0",
        "create_contact@1.9.0",
        "create_contact@1.10.0",
        "delete_contact@1.2.0",
    ]
    assert [c.key for c in contracts] == contracts.keys()
    assert len(contracts) == 4
    assert contracts.root == tmp_path


def test_duplicate_versions_across_yaml_and_json(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    json_path = write(tmp_path, json.dumps(yaml.safe_load(GOOD)), file="1.2.0.json")
    yaml_path = json_path.with_suffix(".yaml")
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    error = info.value
    assert error.message.endswith(
        "tool 'create_contact' version 1.2.0 is defined twice: in 1.2.0.json and in 1.2.0.yaml"
    )
    assert error.path == str(yaml_path)
    assert error.fix == "keep one of 1.2.0.json and 1.2.0.yaml"


def test_collect_returns_every_error_and_the_good_contracts(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    bad = write(
        tmp_path, version_of(GOOD, "2.0.0").replace("critical\n", "urgent\n"), file="2.0.0.yaml"
    )
    stray = tmp_path / "tools" / "create_contact" / "notes.txt"
    stray.write_text("hello")
    loose = tmp_path / "tools" / "readme.md"
    loose.write_text("hello")
    contracts, errors = load_contracts(tmp_path, collect=True)
    assert contracts.keys() == ["create_contact@1.2.0"]
    assert [(e.path, e.line, e.pointer) for e in errors] == [
        (str(bad), 4, "/criticality"),
        (str(stray), None, ""),
        (str(loose), None, ""),
    ]
    assert "not a contract file" in errors[1].message
    assert "a file directly under tools/" in errors[2].message
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    assert info.value is not errors[0]
    assert info.value.pointer == "/criticality"


def test_collect_reports_several_errors_of_one_file(tmp_path: Path) -> None:
    text = GOOD.replace("critical\n", "urgent\n").replace("version: 1.2.0", "version: 1.2.x")
    write(tmp_path, text)
    _, errors = load_contracts(tmp_path, collect=True)
    assert [e.pointer for e in errors] == ["/version", "/criticality"]


def test_missing_contracts_folder(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="the contracts folder does not exist"):
        load_contracts(tmp_path / "nope")
    assert len(load_contracts(tmp_path)) == 0


# ContractSet ---------------------------------------------------------------------------


@pytest.fixture
def contract_set(tmp_path: Path) -> ContractSet:
    for version in ("1.2.0", "1.10.0", "1.9.0"):
        write(tmp_path, version_of(GOOD, version), file=f"{version}.yaml")
    write(tmp_path, GOOD.replace("create_contact", "delete_contact"), name="delete_contact")
    return load_contracts(tmp_path)


def test_versions_latest_get(contract_set: ContractSet) -> None:
    assert contract_set.names() == ["create_contact", "delete_contact"]
    assert [str(c.version) for c in contract_set.versions("create_contact")] == [
        "1.2.0",
        "1.9.0",
        "1.10.0",
    ]
    assert contract_set.versions("nope") == []
    assert contract_set.latest("create_contact").key == "create_contact@1.10.0"
    found = contract_set.get("create_contact", "1.9.0")
    assert found is not None
    assert found.key == "create_contact@1.9.0"
    assert contract_set.get("create_contact", Version(1, 9, 0)) is found
    assert contract_set.get("create_contact", "3.0.0") is None
    assert contract_set.get("create_contact", "junk") is None
    assert contract_set["create_contact@1.9.0"] is found
    assert "create_contact@1.9.0" in contract_set
    assert found in contract_set
    assert "create_contact@3.0.0" not in contract_set


def test_resolve(contract_set: ContractSet) -> None:
    assert contract_set.resolve("create_contact").key == "create_contact@1.10.0"
    assert contract_set.resolve("create_contact@1.2.0").key == "create_contact@1.2.0"


def test_resolve_an_unknown_name_suggests_close_ones(contract_set: ContractSet) -> None:
    with pytest.raises(UnknownContract) as info:
        contract_set.resolve(
            "create_contcat@1.2.0", path="flows/x.yaml", line=7, pointer="/tools/0"
        )
    error = info.value
    assert isinstance(error, KeyError)
    assert isinstance(error, ContractError)
    assert error.message.endswith("no tool named 'create_contcat' in the contracts")
    assert error.fix == "did you mean 'create_contact', 'delete_contact'?"
    assert error.candidates == ("create_contact", "delete_contact")
    assert (error.path, error.line, error.pointer) == ("flows/x.yaml", 7, "/tools/0")
    assert str(error).startswith("flows/x.yaml:7 at /tools/0: no tool named")


def test_resolve_an_unknown_version_lists_the_known_ones(contract_set: ContractSet) -> None:
    with pytest.raises(UnknownContract) as info:
        contract_set.resolve("create_contact@2.0.0")
    error = info.value
    assert error.message.endswith(
        "tool 'create_contact' has no version 2.0.0 (it has 1.2.0, 1.9.0, 1.10.0)"
    )
    assert error.candidates[0] == "create_contact@1.10.0"
    assert error.path == str(contract_set.root)


def test_resolve_a_bad_version(contract_set: ContractSet) -> None:
    with pytest.raises(UnknownContract, match=r"bad tool reference 'create_contact@1\.2'"):
        contract_set.resolve("create_contact@1.2")
    with pytest.raises(KeyError):
        contract_set["create_contact"]
    with pytest.raises(KeyError):
        contract_set.latest("nope")


def test_contract_set_refuses_duplicates(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, GOOD))
    with pytest.raises(ContractError, match="is defined twice"):
        ContractSet([contract, contract])


def test_contracts_are_hashable_and_frozen(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, GOOD))
    assert len({contract, contract}) == 1
    with pytest.raises(AttributeError):
        contract.name = "x"  # type: ignore[misc]
    assert isinstance(contract, ToolContract)


def test_the_flattened_metaschema_agrees_with_the_official_one() -> None:
    """The fast path may never accept what the official 2020-12 metaschema rejects."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from jsonschema import Draft202012Validator

    from clearance.contracts.loader import _flat_metaschema

    official = Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    keywords = st.sampled_from(
        [
            "type",
            "properties",
            "required",
            "items",
            "prefixItems",
            "enum",
            "const",
            "minimum",
            "maxLength",
            "pattern",
            "format",
            "anyOf",
            "$defs",
            "$ref",
            "additionalProperties",
            "unevaluatedProperties",
            "dependentRequired",
            "dependencies",
            "definitions",
            "if",
            "contentMediaType",
            "minItems",
            "uniqueItems",
            "not",
            "$anchor",
            "title",
        ]
    )
    values = st.recursive(
        st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["string", "(", "a"]),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keywords, inner, max_size=3),
        max_leaves=8,
    )

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.dictionaries(keywords, values, max_size=4))
    def agree(schema: dict[str, object]) -> None:
        assert _flat_metaschema().is_valid(schema) == official.is_valid(schema)

    agree()
