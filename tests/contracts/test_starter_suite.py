"""The starter suite in ``contracts/`` follows ``contracts/FORMAT.md``.

Checked with PyYAML and jsonschema only, so the suite can be trusted before (and
independently of) clearance's own loaders.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2] / "contracts"
TOOL_FILES = sorted((ROOT / "tools").glob("*/*.yaml"))
FLOW_FILES = sorted((ROOT / "flows").glob("*.yaml"))

TOOL_KEYS = {
    "name",
    "version",
    "description",
    "criticality",
    "input_schema",
    "output_schema",
    "examples",
}
FLOW_KEYS = {
    "id",
    "description",
    "kind",
    "tags",
    "tools",
    "system",
    "user",
    "max_turns",
    "forbidden_tools",
    "steps",
    "final",
}
STEP_KEYS = {"user", "expect", "results"}
EXPECT_KEYS = {"calls", "any_order", "allow_extra_calls"}
CALL_KEYS = {"tool", "args", "allow_extra_args"}
MATCHERS = {"$any", "$regex", "$range", "$one_of", "$subset", "$text", "$optional", "$exact"}
NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
FLOW_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path}: top level must be a mapping"
    return document


# Parsed on first use, not at import: collecting the suite parses no YAML (35 files,
# a quarter of a second of every collection in each xdist worker).
@functools.cache
def tool_docs() -> dict[Path, dict[str, Any]]:
    """Every tool contract, by path."""
    return {path: _load(path) for path in TOOL_FILES}


@functools.cache
def flow_docs() -> dict[Path, dict[str, Any]]:
    """Every flow and case file, by path."""
    return {path: _load(path) for path in FLOW_FILES}


@functools.cache
def by_key() -> dict[str, dict[str, Any]]:
    """Every tool contract, by ``name@version``."""
    return {f"{doc['name']}@{doc['version']}": doc for doc in tool_docs().values()}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _matcher_key(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if isinstance(key, str) and key.startswith("$"):
            return key
    return None


def _is_optional(value: Any) -> bool:
    return _matcher_key(value) == "$optional"


def _is_specific(value: Any) -> bool:
    """Whether a matcher pins the value down (a schema-valid filler would not hit it by luck)."""
    key = _matcher_key(value)
    if key is None:
        return True
    if key in ("$any", "$optional"):
        return False
    if key == "$range":
        low, high = value[key]
        return low is not None and high is not None
    return True


def _walk_matchers(value: Any) -> list[str]:
    """Every ``$`` key used anywhere in an argument matcher."""
    found: list[str] = []
    key = _matcher_key(value)
    if key is not None:
        found.append(key)
        inner = value[key]
        if key == "$one_of":
            for option in inner:
                found += _walk_matchers(option)
        elif key == "$subset":
            for item in inner.values():
                found += _walk_matchers(item)
        elif key == "$optional":
            found += _walk_matchers(inner)
    return found


# -- tool contracts -------------------------------------------------------------------


def test_suite_size() -> None:
    names = Counter(doc["name"] for doc in tool_docs().values())
    assert len(names) >= 12
    assert sum(1 for count in names.values() if count >= 2) >= 3
    flows = [doc for doc in flow_docs().values() if doc["kind"] == "flow"]
    cases = [doc for doc in flow_docs().values() if doc["kind"] == "case"]
    assert len(flows) >= 10
    assert all(2 <= len(doc["steps"]) <= 5 for doc in flows)
    assert len(cases) >= 4


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_tool_contract(path: Path) -> None:
    doc = tool_docs()[path]
    assert set(doc) == TOOL_KEYS
    assert NAME.match(doc["name"])
    assert doc["name"] == path.parent.name
    assert VERSION.match(str(doc["version"]))
    assert str(doc["version"]) == path.stem
    assert isinstance(doc["description"], str)
    assert len(doc["description"]) >= 20
    assert doc["criticality"] in ("critical", "standard")
    Draft202012Validator.check_schema(doc["input_schema"])
    Draft202012Validator.check_schema(doc["output_schema"])
    assert doc["input_schema"]["type"] == "object"
    assert set(doc["examples"]) == {"valid", "invalid"}
    validator = Draft202012Validator(
        doc["input_schema"], format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    plain = Draft202012Validator(doc["input_schema"])
    assert len(doc["examples"]["valid"]) >= 2
    assert len(doc["examples"]["invalid"]) >= 2
    for example in doc["examples"]["valid"]:
        assert not list(validator.iter_errors(example)), example
    for example in doc["examples"]["invalid"]:
        assert set(example) == {"args", "reason"}
        assert example["reason"].strip()
        # invalid even without format checking: what a loader without formats sees
        assert list(plain.iter_errors(example["args"])), example


def test_destructive_and_money_tools_are_critical() -> None:
    critical = {"delete_contact", "cancel_event", "send_email", "create_deal", "update_deal_stage"}
    for doc in tool_docs().values():
        if doc["name"] in critical:
            assert doc["criticality"] == "critical", doc["name"]
        if doc["name"].startswith(("search_", "get_", "list_", "check_")):
            assert doc["criticality"] == "standard", doc["name"]


def _pair(name: str, old: str, new: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return by_key()[f"{name}@{old}"], by_key()[f"{name}@{new}"]


def test_major_bump_is_breaking() -> None:
    old, new = _pair("create_event", "1.0.0", "2.0.0")
    assert _version(new["version"])[0] == _version(old["version"])[0] + 1
    # arguments the old version accepted are rejected now: a new required property
    assert set(new["input_schema"]["required"]) - set(old["input_schema"]["required"])
    accepted_before = old["examples"]["valid"]
    validator = Draft202012Validator(new["input_schema"])
    assert all(list(validator.iter_errors(args)) for args in accepted_before)


def test_minor_bump_is_widening() -> None:
    old, new = _pair("search_contacts", "1.0.0", "1.1.0")
    assert _version(new["version"])[:2] == (_version(old["version"])[0], 1)
    assert new["input_schema"]["required"] == old["input_schema"]["required"]
    added = set(new["input_schema"]["properties"]) - set(old["input_schema"]["properties"])
    assert added == {"limit"}
    validator = Draft202012Validator(new["input_schema"])
    for args in old["examples"]["valid"]:
        assert not list(validator.iter_errors(args))
    assert new["output_schema"] == old["output_schema"]


def test_patch_bump_is_description_only() -> None:
    old, new = _pair("send_email", "1.0.0", "1.0.1")
    assert old["description"] != new["description"]
    strip = {"description", "version"}
    assert {k: v for k, v in old.items() if k not in strip} == {
        k: v for k, v in new.items() if k not in strip
    }


# -- flows and cases ------------------------------------------------------------------


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_flow(path: Path) -> None:
    doc = flow_docs()[path]
    assert set(doc) <= FLOW_KEYS
    assert {"id", "kind", "tools", "user", "steps"} <= set(doc)
    assert FLOW_ID.match(doc["id"])
    assert doc["id"] == path.stem
    assert doc["kind"] in ("flow", "case")
    offered = {}
    for ref in doc["tools"]:
        assert ref in by_key(), f"{path.name}: {ref} is not in contracts/tools"
        offered[ref.partition("@")[0]] = by_key()[ref]
    assert len(offered) == len(doc["tools"]), "one version per tool in a flow"
    forbidden = set(doc.get("forbidden_tools", []))
    if doc["kind"] == "case":
        assert len(doc["steps"]) == 1
        assert "results" not in doc["steps"][0]
    for number, step in enumerate(doc["steps"]):
        assert set(step) <= STEP_KEYS
        assert set(step["expect"]) <= EXPECT_KEYS
        calls = step["expect"]["calls"]
        if len(calls) > 1:
            assert step["expect"].get("any_order") is True
        for call in calls:
            assert set(call) <= CALL_KEYS
            assert call["tool"] in offered, f"step {number}: {call['tool']} is not offered"
            assert call["tool"] not in forbidden
            schema = offered[call["tool"]]["input_schema"]
            args = call.get("args", {})
            for name in schema.get("required", []):
                assert name in args, f"step {number}: required {name} is not expected"
                assert not _is_optional(args[name]), f"step {number}: {name} is required"
            if schema.get("additionalProperties") is False:
                assert set(args) <= set(schema["properties"]), f"step {number}: unknown args"
            for name, value in args.items():
                assert set(_walk_matchers(value)) <= MATCHERS
                key = _matcher_key(value)
                if key is None and name in schema.get("properties", {}):
                    # a plain value must be one a schema-valid call can send
                    single = {"type": "object", "properties": {name: schema["properties"][name]}}
                    assert not list(Draft202012Validator(single).iter_errors({name: value}))
        results = step.get("results", [])
        assert len(results) in (0, len(calls))
        for result in results:
            content = result["content"]
            if isinstance(content, dict) and set(content) == {"error", "message"}:
                # a tool error (contracts/FORMAT.md): exempt from the output schema
                assert all(isinstance(v, str) and v for v in content.values()), result
                continue
            contract = offered[result["tool"]]
            validator = Draft202012Validator(contract["output_schema"])
            assert not list(validator.iter_errors(content)), result
        assert Counter(r["tool"] for r in results) <= Counter(c["tool"] for c in calls)


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_negative_controls_fail(path: Path) -> None:
    """Neither a model that never calls nor one that calls every offered tool passes."""
    doc = flow_docs()[path]
    steps = doc["steps"]
    expects_calls = any(step["expect"]["calls"] for step in steps)
    if not expects_calls:
        assert doc["kind"] == "case", "only a single-turn case may expect no call at all"
        return
    specific = [
        value
        for step in steps
        for call in step["expect"]["calls"]
        for value in call.get("args", {}).values()
        if _is_specific(value)
    ]
    assert specific, "no expected argument value is specific"
    first = steps[0]["expect"]
    expected_tools = Counter(call["tool"] for call in first["calls"])
    everything = Counter(ref.partition("@")[0] for ref in doc["tools"])
    assert not first.get("allow_extra_calls", False)
    assert expected_tools != everything


def test_suite_uses_every_matcher_and_feature() -> None:
    used: set[str] = set()
    any_order = irrelevance = final = forbidden = False
    for doc in flow_docs().values():
        steps = doc["steps"]
        for step in steps:
            any_order = any_order or bool(step["expect"].get("any_order"))
            for call in step["expect"]["calls"]:
                for value in call.get("args", {}).values():
                    used.update(_walk_matchers(value))
        if doc["kind"] == "flow":
            irrelevance = irrelevance or (steps[0]["expect"]["calls"] == [] and len(steps) > 1)
            final = final or (bool(doc.get("final")) and steps[-1]["expect"]["calls"] == [])
            forbidden = forbidden or bool(doc.get("forbidden_tools"))
    assert {"$optional", "$regex", "$range", "$one_of", "$text", "$subset", "$any"} <= used
    assert any_order
    assert irrelevance
    assert final
    assert forbidden


def test_lookup_then_act_uses_returned_ids() -> None:
    """In a chain, an id that a scripted result returned is expected verbatim in a later call."""
    chained = 0
    for doc in flow_docs().values():
        returned: set[str] = set()
        for step in doc["steps"]:
            for call in step["expect"]["calls"]:
                for value in call.get("args", {}).values():
                    if isinstance(value, str) and value in returned:
                        chained += 1
            for result in step.get("results", []):
                returned |= set(re.findall(r"\b[cdeimt]_[0-9a-z]+\b", str(result["content"])))
    assert chained >= 6
