"""The ``bfcl`` scoring profile end to end: a case's answer key loads, and run_flow judges
a turn the way BFCL's eval runner does (decoding, relevance, counting), with clearance's
failure codes and BFCL's own error type in the evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clearance.errors import ContractError
from clearance.flows import load_flow, read_scoring_profile, run_flow
from clearance.flows.bfcl.judge import score_bfcl_turn
from clearance.flows.bfcl.key import BfclKey, category_kind, category_language, parse_bfcl_key
from clearance.providers.types import ChatResponse
from clearance.providers.wire.normalize import normalize_tool_call
from tests.flows.helpers import Scripted, write

SCHEMA = {
    "type": "object",
    "properties": {"base": {"type": "integer"}, "unit": {"type": "string", "enum": ["units"]}},
    "required": ["base"],
}
CASE = """\
id: bfcl_simple_python_0
kind: case
tools: [area@1.0.0, other@1.0.0]
user: Area of a triangle of base 10?
steps:
  - expect:
      calls:
        - tool: area
          args: {base: 10, unit: {$optional: units}}
bfcl:
  category: {category}
  functions:
    area:
      required: [base]
      parameters: {base: integer, unit: string, sides: {type: array, items: float}}
    other: {required: [], parameters: {}}
  ground_truth:
    - area: {base: [10], unit: [units, '']}
"""


def answer(text: str | None, *calls: tuple[str, Any]) -> ChatResponse:
    """An answer as the OpenAI provider normalizes it (raw argument strings as sent)."""
    tool_calls = tuple(
        normalize_tool_call(i, f"call_{i}", name, raw if isinstance(raw, str) else json.dumps(raw))
        for i, (name, raw) in enumerate(calls)
    )
    return ChatResponse(
        content=text,
        tool_calls=tool_calls,
        finish_reason="tool_calls" if calls else "stop",
        finish_reason_raw=None,
        usage=None,
    )


def judge(case: Path, response: ChatResponse, profile: Any = "bfcl") -> Any:
    flow = load_flow(case)
    schemas = {"area": SCHEMA, "other": {"type": "object"}}
    return run_flow(flow, Scripted([response]), tool_schemas=schemas, profile=profile)


@pytest.fixture
def simple(tmp_path: Path) -> Path:
    return write(tmp_path, "bfcl_simple_python_0.yaml", CASE.replace("{category}", "simple_python"))


def test_the_answer_key_loads_with_the_case(simple: Path) -> None:
    key = load_flow(simple).bfcl
    assert isinstance(key, BfclKey)
    assert (key.kind, key.language) == ("simple", "python")
    assert list(key.functions) == ["area", "other"]
    assert key.functions["area"].parameters["sides"].items == "float"
    assert key.ground_truth == (("area", {"base": (10,), "unit": ("units", "")}),)
    assert parse_bfcl_key(key.document(), path="x") == key


def test_bfcl_and_clearance_profiles_judge_the_same_answer_differently(simple: Path) -> None:
    loose = answer(None, ("area", {"base": 10, "unit": "UNITS"}))
    assert judge(simple, loose).passed  # class A: BFCL normalizes strings
    strict = judge(simple, loose, "clearance")
    assert not strict.passed
    assert {f.code for f in strict.failures} >= {"schema_violation"}  # outside the enum
    float_base = answer(None, ("area", {"base": 10.0}))
    assert judge(simple, float_base, "clearance").passed  # JSON Schema: 10.0 is an integer
    verdict = judge(simple, float_base)
    assert not verdict.passed  # class B
    (failure,) = verdict.failures
    assert failure.code == "argument_mismatch"
    assert failure.turn == 1
    assert failure.evidence["bfcl_error_type"] == "type_error:simple"
    assert failure.evidence["pointer"] == "/base"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{", "invalid_json"),
        ("", "invalid_json"),  # clearance reads a blank string as {}; json.loads does not
        (json.dumps(json.dumps({"base": 10})), "invalid_json"),  # a JSON string, not an object
        ("[10]", "invalid_json"),
    ],
)
def test_arguments_bfcl_cannot_decode_fail_an_ast_case(simple: Path, raw: str, code: str) -> None:
    verdict = judge(simple, answer(None, ("area", raw)))
    assert not verdict.passed
    assert [f.code for f in verdict.failures] == [code]
    assert verdict.failures[0].evidence["bfcl_error_type"] == "ast_decoder:decoder_failed"


def test_counting_and_tools(simple: Path) -> None:
    good = {"base": 10}
    assert judge(simple, answer(None, ("area", good))).passed
    assert [f.code for f in judge(simple, answer("no call")).failures] == ["missing_call"]
    two = judge(simple, answer(None, ("area", good), ("area", good)))
    assert [f.code for f in two.failures] == ["extra_call"]
    assert [f.code for f in judge(simple, answer(None, ("other", {}))).failures] == ["wrong_tool"]
    assert [f.code for f in judge(simple, answer(None, ("nope", good))).failures] == [
        "invented_tool"
    ]


@pytest.mark.parametrize(
    ("response", "passed"),
    [
        (answer("That is not something these tools do."), True),
        (answer(""), True),  # class D: no call and no text passes BFCL
        (answer(None), True),
        (answer(None, ("area", "{")), True),  # a call BFCL cannot decode is no call
        (answer(None, ("area", "")), True),
        (answer(None, ("area", {"base": 1})), False),
        (answer("sure", ("nope", {})), False),
    ],
)
def test_irrelevance_passes_whenever_no_call_decodes(
    tmp_path: Path, response: ChatResponse, passed: bool
) -> None:
    text = CASE.replace("{category}", "live_irrelevance").replace(
        "  ground_truth:\n    - area: {base: [10], unit: [units, '']}\n", ""
    )
    text = text.replace("      calls:\n        - tool: area\n          args: {base: 10, unit: "
                        "{$optional: units}}\n", "      calls: []\n")  # fmt: skip
    case = write(tmp_path, "bfcl_simple_python_0.yaml", text)
    verdict = judge(case, response)
    assert verdict.passed is passed
    if not passed:
        assert {f.code for f in verdict.failures} == {"extra_call"}
        assert (
            verdict.failures[0].evidence["bfcl_error_type"] == "irrelevance_error:decoder_success"
        )
    if passed and response.content == "":
        assert not judge(case, response, "clearance").passed  # no_final_answer


def test_relevance_passes_any_call_that_decodes(tmp_path: Path) -> None:
    key = parse_bfcl_key(
        {"category": "live_relevance", "functions": {"area": {}, "other": {}}}, path="x"
    )
    assert score_bfcl_turn(key, answer(None, ("other", {"anything": 1}))).passed
    assert not score_bfcl_turn(key, answer("I would search for it.")).passed
    broken = score_bfcl_turn(key, answer(None, ("other", "{")))
    assert [f.code for f in broken.failures] == ["missing_call", "invalid_json"]


def test_the_bfcl_profile_needs_an_answer_key(tmp_path: Path) -> None:
    text = CASE.replace("{category}", "simple_python").split("bfcl:")[0]
    case = write(tmp_path, "bfcl_simple_python_0.yaml", text)
    with pytest.raises(ContractError, match="no bfcl answer key"):
        judge(case, answer(None, ("area", {"base": 10})))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("category: simple_python", "category: 3"), "category"),
        (("    - area: {base: [10], unit: [units, '']}", "    - nope: {base: [10]}"), "nope"),
        (("parameters: {base: integer,", "parameters: {base: {type: 1},"), "TYPE"),
        (("    - area: {base: [10], unit: [units, '']}", "    - area: {base: 10}"), "list"),
        (("kind: case", "kind: flow"), "belongs to a case"),
        (("tools: [area@1.0.0, other@1.0.0]", "tools: [area@1.0.0]"), "does not offer"),
    ],
)
def test_a_malformed_answer_key_is_refused_with_its_place(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = CASE.replace("{category}", "simple_python").replace(*change)
    if change[1] == "tools: [area@1.0.0]":
        text = text.replace("    other: {required: [], parameters: {}}\n", "    other: {}\n")
    case = write(tmp_path, "bfcl_simple_python_0.yaml", text)
    with pytest.raises(ContractError, match=message) as caught:
        load_flow(case)
    assert caught.value.path == str(case)


def test_categories_are_read_as_bfcl_reads_their_names() -> None:
    kinds = {
        c: category_kind(c)
        for c in ("simple_java", "live_parallel_multiple", "live_multiple", "irrelevance")
    }
    assert kinds == {
        "simple_java": "simple",
        "live_parallel_multiple": "parallel",
        "live_multiple": "multiple",
        "irrelevance": "irrelevance",
    }
    assert category_kind("live_relevance") == "relevance"
    assert category_language("simple_javascript") == "javascript"
    assert category_language("simple_java") == "java"


def test_a_suite_folder_names_its_profile(tmp_path: Path) -> None:
    assert read_scoring_profile(tmp_path) == "clearance"
    (tmp_path / "suite.yaml").write_text("scoring: bfcl\n")
    assert read_scoring_profile(tmp_path) == "bfcl"
    (tmp_path / "suite.yaml").write_text("scoring: lenient\n")
    with pytest.raises(ContractError, match="unknown scoring profile 'lenient'") as caught:
        read_scoring_profile(tmp_path)
    assert caught.value.line == 1
    (tmp_path / "suite.yaml").write_text("scoring: bfcl\nprofile: x\n")
    with pytest.raises(ContractError, match="unknown key 'profile'"):
        read_scoring_profile(tmp_path)
