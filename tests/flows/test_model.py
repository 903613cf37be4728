"""Loading flow files: the FORMAT.md example loads; every rule is enforced with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearance.errors import ContractError
from clearance.flows import load_flow, load_flows, parse_tool_ref
from clearance.flows.matchers import AnyMatcher, ExactMatcher, OptionalMatcher, RegexMatcher
from tests.flows.helpers import EXAMPLE_FLOW, write


def test_the_format_example_loads(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, "schedule_followup.yaml", EXAMPLE_FLOW))
    assert flow.id == "schedule_followup"
    assert flow.kind == "flow"
    assert flow.tags == ("scheduling",)
    assert flow.tools == ("search_contacts@1.0.0", "create_event@2.0.0", "delete_contact@1.0.0")
    assert flow.tool_names == ("search_contacts", "create_event", "delete_contact")
    assert flow.forbidden_tools == frozenset({"delete_contact"})
    assert flow.max_turns == 4
    assert len(flow.steps) == 3
    first, second, third = flow.steps
    assert first.any_order is True
    assert first.allow_extra_calls is False
    assert first.results[0].content == {
        "contacts": [{"contact_id": "c_42", "name": "Ada Lovelace"}]
    }
    args = second.calls[0].args
    assert args["contact_id"] == ExactMatcher("c_42")
    assert isinstance(args["start"], RegexMatcher)
    assert args["title"] == AnyMatcher()
    assert isinstance(args["notes"], OptionalMatcher)
    assert third.user == "Thanks!"
    assert third.calls == ()
    assert [a.kind for a in flow.final] == ["contains", "regex"]
    assert not flow.needs_answer_turn
    assert flow.final[0].failure("Booked: E_7") is None  # case-insensitive
    assert flow.final[1].failure("done, e_7") == "the answer does not match /(?i)confirmed|booked/"


def test_defaults_and_json_files(tmp_path: Path) -> None:
    document = {
        "id": "lookup",
        "tools": ["search_contacts@1.0.0"],
        "user": "Find Ada",
        "steps": [
            {
                "expect": {"calls": [{"tool": "search_contacts", "args": {"query": "Ada"}}]},
                "results": [{"tool": "search_contacts", "content": {"contacts": []}}],
            }
        ],
        "final": [{"json_path": {"path": "$.found", "equals": False}}],
    }
    path = tmp_path / "lookup.json"
    path.write_text(json.dumps(document, indent=2))
    flow = load_flow(path)
    assert flow.kind == "flow"
    assert flow.max_turns == 2  # steps + 1
    assert flow.system is None
    assert flow.forbidden_tools == frozenset()
    assert flow.needs_answer_turn
    assert flow.final[0].failure('{"found": false}') is None
    assert flow.final[0].failure('```json\n{"found": false}\n```') is None
    assert flow.final[0].failure('{"found": 0}') == "$.found is 0, expected false"
    assert flow.final[0].failure("no") == "the answer is not JSON"
    assert flow.final[0].failure("{}") == "$.found is not in the answer"


def test_dates_stay_strings(tmp_path: Path) -> None:
    text = EXAMPLE_FLOW.replace('start: {$regex: "^2026-12-01T10:00"}', "start: 2026-12-01")
    flow = load_flow(write(tmp_path, "schedule_followup.yaml", text))
    assert flow.steps[1].calls[0].args["start"] == ExactMatcher("2026-12-01")


def test_json_path_subset(tmp_path: Path) -> None:
    text = EXAMPLE_FLOW.replace(
        "final:\n",
        "final:\n  - json_path: {path: \"$.events[0]['event id']\", equals: {$regex: '^e_'}}\n",
    )
    flow = load_flow(write(tmp_path, "schedule_followup.yaml", text))
    check = flow.final[0]
    assert check.failure('{"events": [{"event id": "e_7"}]}') is None
    assert check.failure('{"events": [{"event id": "x"}]}') is not None
    assert check.failure('{"events": []}') is not None


def test_known_tools_is_consulted(tmp_path: Path) -> None:
    path = write(tmp_path, "schedule_followup.yaml", EXAMPLE_FLOW)
    asked: list[str] = []

    def known(ref: str) -> bool:
        asked.append(ref)
        return ref != "create_event@2.0.0"

    with pytest.raises(ContractError) as info:
        load_flow(path, known_tools=known)
    assert info.value.message.endswith("no contract for tool create_event@2.0.0")
    assert info.value.pointer == "/tools/1"
    assert info.value.line == 7
    assert info.value.fix is not None
    assert "contracts/tools/create_event/2.0.0.yaml" in info.value.fix
    assert asked[:2] == ["search_contacts@1.0.0", "create_event@2.0.0"]
    assert load_flow(path, known_tools=lambda ref: True).id == "schedule_followup"


def test_parse_tool_ref() -> None:
    assert parse_tool_ref("create_event@2.0.0") == ("create_event", "2.0.0")
    for bad in ("create_event", "create_event@2.0", "create_event@02.0.0", "@1.0.0"):
        with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.PATCH"):
            parse_tool_ref(bad)


# (edit applied to the example, message fragment, pointer, line, fix fragment)
CASES = [
    (
        ("kind: flow", "knd: flow"),
        "unknown key 'knd' in the flow",
        "/knd",
        3,
        "did you mean 'kind'?",
    ),
    (
        ("id: schedule_followup", "id: Schedule"),
        "flow id 'Schedule' does not match",
        "/id",
        1,
        "lower-case",
    ),
    (
        ("id: schedule_followup", "id: other"),
        "flow id 'other' differs from the file name 'schedule_followup'",
        "/id",
        1,
        "rename the file to other.yaml",
    ),
    (("kind: flow", "kind: story"), "kind must be flow or case, not 'story'", "/kind", 3, None),
    (
        ("  - create_event@2.0.0", "  - create_event"),
        "tool 'create_event' is not NAME@MAJOR.MINOR.PATCH",
        "/tools/1",
        7,
        "create_event@1.0.0",
    ),
    (
        ("  - create_event@2.0.0", "  - create_event@2.0.0\n  - create_event@3.0.0"),
        "tool 'create_event' is offered twice",
        "/tools/2",
        8,
        "one version",
    ),
    (
        ("forbidden_tools: [delete_contact]", "forbidden_tools: [search_contacts]"),
        "tool 'search_contacts' is expected here but listed in forbidden_tools",
        "/steps/0/expect/calls/0/tool",
        16,
        "remove it",
    ),
    (
        ("forbidden_tools: [delete_contact]", "forbidden_tools: [delete_contact@1.0.0]"),
        "forbidden tool 'delete_contact@1.0.0' is not a tool name",
        "/forbidden_tools/0",
        12,
        "no @version",
    ),
    (
        ("        - tool: create_event", "        - tool: create_evnt"),
        "expected tool 'create_evnt' is not offered in tools",
        "/steps/1/expect/calls/0/tool",
        26,
        "did you mean 'create_event'?",
    ),
    (
        ("      any_order: true", "      any_ordr: true"),
        "unknown key 'any_ordr' in expect",
        "/steps/0/expect/any_ordr",
        19,
        "did you mean 'any_order'?",
    ),
    (
        ("      any_order: true", "      any_order: yes please"),
        "expected true or false",
        "/steps/0/expect/any_order",
        19,
        None,
    ),
    (
        ("          args:\n            query", "          arg:\n            query"),
        "unknown key 'arg' in an expected call",
        "/steps/0/expect/calls/0/arg",
        17,
        "did you mean 'args'?",
    ),
    (
        ('start: {$regex: "^2026-12-01T10:00"}', 'start: {$regexp: "^2026"}'),
        "unknown matcher '$regexp'",
        "/steps/1/expect/calls/0/args/start/$regexp",
        29,
        "did you mean '$regex'?",
    ),
    (
        ("duration_minutes: {$range: [30, 30]}", "duration_minutes: {$range: [40, 30]}"),
        "$range minimum 40 is above its maximum 30",
        "/steps/1/expect/calls/0/args/duration_minutes/$range",
        30,
        None,
    ),
    (
        (
            "      - tool: create_event\n        content",
            "      - tool: search_contacts\n        content",
        ),
        "result 0 is for 'search_contacts' but expected call 0 is 'create_event'",
        "/steps/1/results/0/tool",
        34,
        "order",
    ),
    (
        (
            "    results:\n      - tool: search_contacts\n"
            "        content: {contacts: [{contact_id: c_42, name: Ada Lovelace}]}\n",
            "",
        ),
        "0 result(s) for 1 expected call(s)",
        "/steps/0/results",
        14,
        "one result per expected call",
    ),
    (
        ("      calls: []", "      calls: []\n    results: [{tool: create_event, content: {}}]"),
        "1 result(s) for 0 expected call(s)",
        "/steps/2/results",
        39,
        "remove results",
    ),
    (
        ("max_turns: 4", "max_turns: 2"),
        "max_turns 2 is below the number of steps (3)",
        "/max_turns",
        11,
        "at least 3",
    ),
    (("max_turns: 4", "max_turns: many"), "max_turns must be an integer", "/max_turns", 11, None),
    (
        ("  - contains: e_7", "  - contain: e_7"),
        "unknown key 'contain' in a final assertion",
        "/final/0/contain",
        40,
        "did you mean 'contains'?",
    ),
    (
        ('  - regex: "(?i)confirmed|booked"', '  - regex: "(?i"'),
        "invalid regular expression '(?i'",
        "/final/1/regex",
        41,
        None,
    ),
    (
        ("  - contains: e_7", '  - json_path: {path: "$..status", equals: x}'),
        "JSON path '$..status': unsupported syntax",
        "/final/0/json_path/path",
        40,
        "$.a.b[0].c",
    ),
    (
        ("  - contains: e_7", "  - json_path: {path: $.status}"),
        "json_path has no 'equals'",
        "/final/0/json_path",
        40,
        None,
    ),
    (
        ("user: Find", "usr: Find"),
        "unknown key 'usr' in the flow",
        "/usr",
        10,
        "did you mean 'user'?",
    ),
    (("tags: [scheduling]", "tags: scheduling"), "expected a list, not a string", "/tags", 4, None),
    (
        ("  - user: Thanks!\n", "  - user: Thanks!\n    expect: {calls: []}\n"),
        "duplicate key 'expect'",
        "/steps/2/expect",
        38,
        "keep one",
    ),
]


@pytest.mark.parametrize(("edit", "message", "pointer", "line", "fix"), CASES)
def test_flow_file_errors(
    tmp_path: Path,
    edit: tuple[str, str],
    message: str,
    pointer: str,
    line: int,
    fix: str | None,
) -> None:
    old, new = edit
    assert old in EXAMPLE_FLOW
    path = write(tmp_path, "schedule_followup.yaml", EXAMPLE_FLOW.replace(old, new, 1))
    with pytest.raises(ContractError) as info:
        load_flow(path)
    error = info.value
    assert message in error.message
    assert error.pointer == pointer
    assert error.line == line
    assert error.path == str(path)
    assert str(error).startswith(f"{path}:{line} at {pointer}: ")
    if fix is not None:
        assert error.fix is not None
        assert fix in error.fix


CASE = """\
id: pick_search
kind: case
tools: [search_contacts@1.0.0, create_event@2.0.0]
user: Who is Ada?
steps:
  - expect:
      calls: [{tool: search_contacts, args: {query: {$text: ada}}}]
"""


def test_a_case_has_one_step_and_no_results(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, "pick_search.yaml", CASE))
    assert flow.kind == "case"
    assert flow.max_turns == 2
    two_steps = CASE + "  - expect: {calls: []}\n"
    with pytest.raises(ContractError) as info:
        load_flow(write(tmp_path, "pick_search.yaml", two_steps))
    assert "a case has exactly one step, this one has 2" in info.value.message
    assert (info.value.pointer, info.value.line) == ("/steps", 5)
    with_results = CASE + "    results: [{tool: search_contacts, content: {}}]\n"
    with pytest.raises(ContractError) as info:
        load_flow(write(tmp_path, "pick_search.yaml", with_results))
    assert info.value.message.endswith("a case has no tool results")
    assert (info.value.pointer, info.value.line) == ("/steps/0/results", 8)


def test_final_needs_an_answer_to_check(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as info:
        load_flow(write(tmp_path, "pick_search.yaml", CASE + "final: [{contains: x}]\n"))
    assert "final assertions need a text answer" in info.value.message
    assert (info.value.pointer, info.value.line) == ("/final", 8)


def test_missing_required_keys_and_bad_documents(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as info:
        load_flow(write(tmp_path, "pick_search.yaml", CASE.replace("user: Who is Ada?\n", "")))
    assert info.value.message.endswith("the flow has no 'user'")
    assert info.value.fix == "add user: ..."
    with pytest.raises(ContractError) as info:
        load_flow(write(tmp_path, "pick_search.yaml", "- just\n- a list\n"))
    assert info.value.message.endswith("the flow must be an object, not a list")
    with pytest.raises(ContractError) as info:
        load_flow(write(tmp_path, "pick_search.yaml", "id: [unclosed\n"))
    assert "not valid YAML" in info.value.message
    assert info.value.line == 2
    with pytest.raises(ContractError) as info:
        load_flow(write(tmp_path, "pick_search.json", '{"id": "pick_search",\n  oops}'))
    assert "not valid JSON" in info.value.message
    assert info.value.line == 2
    with pytest.raises(ContractError, match="at least one step"):
        load_flow(
            write(
                tmp_path,
                "pick_search.yaml",
                CASE.split("steps:")[0].replace("kind: case", "kind: flow") + "steps: []\n",
            )
        )


def test_json_flow_errors_carry_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    path.write_text('{\n  "id": "j",\n  "tools": [],\n  "user": "hi",\n  "step": []\n}\n')
    with pytest.raises(ContractError) as info:
        load_flow(path)
    assert info.value.message.endswith("unknown key 'step' in the flow")
    assert (info.value.pointer, info.value.line) == ("/step", 5)


def test_load_flows_reads_the_folder(tmp_path: Path) -> None:
    assert load_flows(tmp_path) == []
    folder = tmp_path / "flows"
    folder.mkdir()
    write(folder, "schedule_followup.yaml", EXAMPLE_FLOW)
    write(folder, "pick_search.yaml", CASE)
    write(folder, "README.md", "not a flow")
    flows = load_flows(tmp_path)
    assert [f.id for f in flows] == ["pick_search", "schedule_followup"]
    write(folder, "pick_search.json", json.dumps({"id": "pick_search"}))
    with pytest.raises(ContractError, match="the flow has no 'tools'"):
        load_flows(tmp_path)
    (folder / "pick_search.json").unlink()
    write(folder, "pick_search.yml", CASE)
    with pytest.raises(ContractError, match="flow 'pick_search' is defined twice"):
        load_flows(tmp_path)
