"""Flows and single-turn cases: the data, and the loader that checks them.

See "Flow (and single-turn case)" in ``contracts/FORMAT.md``. Every error the loader
raises is a :class:`~clearance.errors.ContractError` naming the file, the line when
it is known, the JSON pointer of the bad value and the fix.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

from clearance.errors import ContractError
from clearance.flows._source import read_document
from clearance.flows.bfcl.key import BfclKey, parse_bfcl_key
from clearance.flows.jsonpath import JsonPath, JsonPathError, parse_json_path
from clearance.flows.matchers import (
    Matcher,
    Mismatch,
    compile_arguments,
    compile_matcher,
    escape_pointer,
    line_for,
    match_arguments,
)
from clearance.providers.types import ToolCall

__all__ = [
    "FLOW_ID_PATTERN",
    "TOOL_REF_PATTERN",
    "ExpectedCall",
    "FinalAssertion",
    "Flow",
    "FlowKind",
    "Step",
    "ToolResult",
    "load_flow",
    "load_flows",
    "parse_tool_ref",
]

FlowKind = Literal["flow", "case"]
FLOW_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
TOOL_REF_PATTERN = re.compile(
    r"^(?P<name>[a-zA-Z_][a-zA-Z0-9_-]{0,63})"
    r"@(?P<version>(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*))$"
)
FLOW_SUFFIXES = (".yaml", ".yml", ".json")

_FLOW_KEYS = (
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
    "bfcl",
)
_STEP_KEYS = ("user", "expect", "results")
_EXPECT_KEYS = ("calls", "any_order", "allow_extra_calls")
_CALL_KEYS = ("tool", "args", "allow_extra_args")
_RESULT_KEYS = ("tool", "content")
_FINAL_KINDS = ("contains", "regex", "json_path")
_JSON_PATH_KEYS = ("path", "equals")


def parse_tool_ref(ref: str) -> tuple[str, str]:
    """Split ``name@MAJOR.MINOR.PATCH`` into (name, version).

    Raises:
        ValueError: the text is not a tool reference.
    """
    match = TOOL_REF_PATTERN.match(ref)
    if match is None:
        raise ValueError(f"{ref!r} is not NAME@MAJOR.MINOR.PATCH")
    return match["name"], match["version"]


@dataclass(frozen=True, slots=True)
class ExpectedCall:
    """One tool call a step expects."""

    tool: str
    """The tool name (offered by the flow)."""
    args: Mapping[str, Matcher] = field(default_factory=dict)
    """Argument name → matcher."""
    allow_extra_args: bool = False
    """Whether arguments not named in ``args`` are accepted."""

    def compare(self, call: ToolCall) -> tuple[Mismatch, ...] | None:
        """How ``call`` differs from this expectation: ``None`` for another tool, () = a match.

        A call whose arguments are not a JSON object differs by one mismatch at ``""``.
        """
        if call.name != self.tool:
            return None
        if call.arguments is None:
            return (Mismatch("", "arguments as a JSON object", call.raw_arguments, "mismatch"),)
        return tuple(match_arguments(self.args, call.arguments, allow_extra=self.allow_extra_args))


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A scripted tool result, fed back for the expected call at the same position."""

    tool: str
    content: Any
    """Any JSON value; sent to the model as its JSON text."""


@dataclass(frozen=True, slots=True)
class Step:
    """One model turn: an optional user message, the expected calls, the scripted results."""

    calls: tuple[ExpectedCall, ...]
    results: tuple[ToolResult, ...] = ()
    any_order: bool = True
    """Whether parallel calls may come in any order (default true: providers do not
    promise an order among parallel calls)."""
    allow_extra_calls: bool = False
    user: str | None = None
    """A further user message sent before this turn."""


@dataclass(frozen=True, slots=True)
class FinalAssertion:
    """An assertion on the model's last text answer."""

    kind: Literal["contains", "regex", "json_path"]
    expected: str
    """The substring, the pattern, or the JSON path text."""
    pattern: re.Pattern[str] | None = None
    """For ``regex``: the compiled pattern."""
    path: JsonPath | None = None
    """For ``json_path``: the parsed path."""
    equals: Matcher | None = None
    """For ``json_path``: what the value must match (any matcher, or a plain value)."""

    def failure(self, text: str) -> str | None:
        """Why ``text`` does not satisfy the assertion, or ``None`` when it does."""
        if self.kind == "contains":
            if self.expected.casefold() in text.casefold():
                return None
            return f"the answer does not contain {self.expected!r}"
        if self.kind == "regex":
            assert self.pattern is not None
            if self.pattern.search(text):
                return None
            return f"the answer does not match /{self.expected}/"
        assert self.path is not None
        assert self.equals is not None
        document = _answer_json(text)
        if document is _NOT_JSON:
            return "the answer is not JSON"
        found, value = self.path.find(document)
        if not found:
            return f"{self.expected} is not in the answer"
        if not self.equals.matches(value):
            return f"{self.expected} is {json.dumps(value)}, expected {self.equals.describe()}"
        return None

    def describe(self) -> str:
        """The assertion, in words."""
        if self.kind == "json_path":
            assert self.equals is not None
            return f"json_path {self.expected} equals {self.equals.describe()}"
        return f"{self.kind} {self.expected!r}"


_NOT_JSON = object()
_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def _answer_json(text: str) -> object:
    """The answer decoded as JSON; a single fenced code block around it is accepted."""
    for candidate in (text, *(m.group(1) for m in [_FENCE.match(text)] if m)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return _NOT_JSON


@dataclass(frozen=True, slots=True)
class Flow:
    """A multi-turn flow or a single-turn case, as loaded from ``contracts/flows/``."""

    id: str
    path: str
    """The file it was read from."""
    description: str
    kind: FlowKind
    tags: tuple[str, ...]
    tools: tuple[str, ...]
    """Tools offered to the model, as ``name@version``."""
    system: str | None
    user: str
    max_turns: int
    """Model turns allowed in all."""
    forbidden_tools: frozenset[str]
    steps: tuple[Step, ...]
    final: tuple[FinalAssertion, ...] = ()
    bfcl: BfclKey | None = None
    """BFCL's answer key, for the ``bfcl`` scoring profile (imported cases only)."""

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The offered tools' names, in the order given."""
        return tuple(ref.partition("@")[0] for ref in self.tools)

    @property
    def needs_answer_turn(self) -> bool:
        """Whether the model gets one more turn after the steps, to answer from the results."""
        return bool(self.steps[-1].results)

    @property
    def expects_no_call(self) -> bool:
        """Whether no step expects any tool call."""
        return all(not step.calls for step in self.steps)


def load_flows(root: Path, *, known_tools: Callable[[str], bool] | None = None) -> list[Flow]:
    """Load every ``root/flows/*.yaml|.yml|.json``, sorted by id (``root`` = ``contracts/``).

    Raises:
        ContractError: a file that is wrong, or two files for one id.
    """
    folder = root / "flows"
    if not folder.is_dir():
        return []
    flows: dict[str, Flow] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in FLOW_SUFFIXES or not path.is_file():
            continue
        flow = load_flow(path, known_tools=known_tools)
        if flow.id in flows:
            raise ContractError(
                f"flow {flow.id!r} is defined twice (also in {flows[flow.id].path})",
                path=str(path),
                fix="keep one file per flow id",
            )
        flows[flow.id] = flow
    return [flows[key] for key in sorted(flows)]


def load_flow(path: Path, *, known_tools: Callable[[str], bool] | None = None) -> Flow:
    """Read and check one flow file.

    Args:
        path: the ``.yaml``/``.yml``/``.json`` file.
        known_tools: says whether a tool contract ``name@version`` exists; ``None``
            skips that check.

    Raises:
        ContractError: anything FORMAT.md rules out, with file, line, pointer and fix.
    """
    document = read_document(path)
    return _FlowReader(str(path), path.stem, document.lines, known_tools).flow(document.data)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _FlowReader:
    path: str
    stem: str
    lines: Mapping[str, int]
    known_tools: Callable[[str], bool] | None

    def fail(self, message: str, pointer: str = "", fix: str | None = None) -> NoReturn:
        raise ContractError(
            message, path=self.path, line=line_for(self.lines, pointer), pointer=pointer, fix=fix
        )

    def mapping(
        self,
        value: object,
        pointer: str,
        what: str,
        allowed: Sequence[str],
        required: Sequence[str] = (),
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(f"{what} must be an object, not {_type_name(value)}", pointer)
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                self.fail(
                    f"unknown key {key!r} in {what}",
                    f"{pointer}/{escape_pointer(str(key))}",
                    fix=f"did you mean {close[0]!r}?"
                    if close
                    else f"allowed keys: {', '.join(allowed)}",
                )
        for key in required:
            if key not in value:
                self.fail(f"{what} has no {key!r}", pointer, fix=f"add {key}: ...")
        return value

    def string(self, value: object, pointer: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(f"expected a string, not {_type_name(value)}", pointer)
        if not allow_empty and not value.strip():
            self.fail("must not be empty", pointer)
        return value

    def boolean(self, value: object, pointer: str) -> bool:
        if not isinstance(value, bool):
            self.fail(f"expected true or false, not {_type_name(value)}", pointer)
        return value

    def list_of(self, value: object, pointer: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(f"expected a list, not {_type_name(value)}", pointer)
        return value

    # -- the document -------------------------------------------------------

    def flow(self, data: object) -> Flow:
        doc = self.mapping(data, "", "the flow", _FLOW_KEYS, ("id", "tools", "user", "steps"))
        flow_id = self.string(doc["id"], "/id")
        if not FLOW_ID_PATTERN.match(flow_id):
            self.fail(
                f"flow id {flow_id!r} does not match {FLOW_ID_PATTERN.pattern}",
                "/id",
                fix="use lower-case letters, digits, '_', '.' and '-'",
            )
        if flow_id != self.stem:
            self.fail(
                f"flow id {flow_id!r} differs from the file name {self.stem!r}",
                "/id",
                fix=f"rename the file to {flow_id}{Path(self.path).suffix} or set id: {self.stem}",
            )
        kind: FlowKind
        match doc.get("kind", "flow"):
            case "flow":
                kind = "flow"
            case "case":
                kind = "case"
            case other:
                self.fail(f"kind must be flow or case, not {other!r}", "/kind")
        description = self.string(doc.get("description", ""), "/description", allow_empty=True)
        tags = tuple(
            self.string(tag, f"/tags/{i}")
            for i, tag in enumerate(self.list_of(doc.get("tags", []), "/tags"))
        )
        system = doc.get("system")
        if system is not None:
            system = self.string(system, "/system")
        user = self.string(doc["user"], "/user")
        tools = self.tools(doc["tools"])
        offered = {ref.partition("@")[0] for ref in tools}
        forbidden = self.forbidden(doc.get("forbidden_tools", []))
        raw_steps = self.list_of(doc["steps"], "/steps")
        if kind == "case" and len(raw_steps) != 1:
            self.fail(
                f"a case has exactly one step, this one has {len(raw_steps)}",
                "/steps",
                fix="make it kind: flow, or keep one step",
            )
        steps = tuple(
            self.step(raw, f"/steps/{i}", offered, forbidden, last=i == len(raw_steps) - 1)
            for i, raw in enumerate(raw_steps)
        )
        if not steps:
            self.fail("a flow needs at least one step", "/steps")
        if kind == "case" and steps[0].results:
            self.fail(
                "a case has no tool results",
                "/steps/0/results",
                fix="remove results, or make it kind: flow",
            )
        max_turns = doc.get("max_turns", len(steps) + 1)
        if not isinstance(max_turns, int) or isinstance(max_turns, bool):
            self.fail(f"max_turns must be an integer, not {_type_name(max_turns)}", "/max_turns")
        if max_turns < len(steps):
            self.fail(
                f"max_turns {max_turns} is below the number of steps ({len(steps)})",
                "/max_turns",
                fix=f"set max_turns to at least {len(steps)}, or leave it out "
                f"(default: {len(steps) + 1})",
            )
        final = tuple(
            self.assertion(raw, f"/final/{i}")
            for i, raw in enumerate(self.list_of(doc.get("final", []), "/final"))
        )
        if final and steps[-1].calls and not steps[-1].results:
            self.fail(
                "final assertions need a text answer, but the last step ends on tool calls "
                "with no results to answer from",
                "/final",
                fix="add results to the last step, or a last step with calls: []",
            )
        bfcl = None
        if "bfcl" in doc:
            bfcl = parse_bfcl_key(doc["bfcl"], path=self.path, lines=self.lines)
            if kind != "case":
                self.fail("a bfcl answer key belongs to a case", "/kind", fix="set kind: case")
            for name in bfcl.functions:
                if name not in offered:
                    self.fail(
                        f"bfcl.functions names {name!r}, which the case does not offer",
                        f"/bfcl/functions/{escape_pointer(name)}",
                        fix="import the case again with clearance contracts import-bfcl",
                    )
        return Flow(
            id=flow_id,
            path=self.path,
            description=description,
            kind=kind,
            tags=tags,
            tools=tools,
            system=system,
            user=user,
            max_turns=max_turns,
            forbidden_tools=forbidden,
            steps=steps,
            final=final,
            bfcl=bfcl,
        )

    def tools(self, value: object) -> tuple[str, ...]:
        refs: list[str] = []
        names: dict[str, str] = {}
        for i, raw in enumerate(self.list_of(value, "/tools")):
            pointer = f"/tools/{i}"
            ref = self.string(raw, pointer)
            match = TOOL_REF_PATTERN.match(ref)
            if match is None:
                self.fail(
                    f"tool {ref!r} is not NAME@MAJOR.MINOR.PATCH",
                    pointer,
                    fix=f"name the contract version, as {ref.partition('@')[0]}@1.0.0",
                )
            name = match["name"]
            if name in names:
                self.fail(
                    f"tool {name!r} is offered twice ({names[name]} and {ref})",
                    pointer,
                    fix="offer one version of each tool: the model sees names only",
                )
            names[name] = ref
            if self.known_tools is not None and not self.known_tools(ref):
                self.fail(
                    f"no contract for tool {ref}",
                    pointer,
                    fix=f"add contracts/tools/{name}/{match['version']}.yaml, "
                    "or name a version that exists",
                )
            refs.append(ref)
        return tuple(refs)

    def forbidden(self, value: object) -> frozenset[str]:
        names: set[str] = set()
        for i, raw in enumerate(self.list_of(value, "/forbidden_tools")):
            pointer = f"/forbidden_tools/{i}"
            name = self.string(raw, pointer)
            if not TOOL_NAME_PATTERN.match(name):
                self.fail(
                    f"forbidden tool {name!r} is not a tool name",
                    pointer,
                    fix="forbid a tool by its name alone (no @version): every version is forbidden",
                )
            names.add(name)
        return frozenset(names)

    def step(
        self,
        value: object,
        pointer: str,
        offered: set[str],
        forbidden: frozenset[str],
        *,
        last: bool,
    ) -> Step:
        raw = self.mapping(value, pointer, "a step", _STEP_KEYS, ("expect",))
        user = raw.get("user")
        if user is not None:
            user = self.string(user, f"{pointer}/user")
        expect = self.mapping(
            raw["expect"], f"{pointer}/expect", "expect", _EXPECT_KEYS, ("calls",)
        )
        calls = tuple(
            self.call(item, f"{pointer}/expect/calls/{j}", offered, forbidden)
            for j, item in enumerate(self.list_of(expect["calls"], f"{pointer}/expect/calls"))
        )
        any_order = self.boolean(expect.get("any_order", True), f"{pointer}/expect/any_order")
        allow_extra = self.boolean(
            expect.get("allow_extra_calls", False), f"{pointer}/expect/allow_extra_calls"
        )
        results = tuple(
            self.result(item, f"{pointer}/results/{k}")
            for k, item in enumerate(self.list_of(raw.get("results", []), f"{pointer}/results"))
        )
        if results or (calls and not last):
            if len(results) != len(calls):
                self.fail(
                    f"{len(results)} result(s) for {len(calls)} expected call(s)",
                    f"{pointer}/results",
                    fix="give one result per expected call, in the same order"
                    if calls
                    else "remove results: this step expects no call",
                )
            for k, (call, result) in enumerate(zip(calls, results, strict=True)):
                if call.tool != result.tool:
                    self.fail(
                        f"result {k} is for {result.tool!r} but expected call {k} is {call.tool!r}",
                        f"{pointer}/results/{k}/tool",
                        fix="list the results in the order of the expected calls",
                    )
        return Step(calls, results, any_order, allow_extra, user)

    def call(
        self, value: object, pointer: str, offered: set[str], forbidden: frozenset[str]
    ) -> ExpectedCall:
        raw = self.mapping(value, pointer, "an expected call", _CALL_KEYS, ("tool",))
        tool = self.string(raw["tool"], f"{pointer}/tool")
        if tool in forbidden:
            self.fail(
                f"tool {tool!r} is expected here but listed in forbidden_tools",
                f"{pointer}/tool",
                fix="remove it from forbidden_tools or from the expected calls",
            )
        if tool not in offered:
            close = difflib.get_close_matches(tool, sorted(offered), n=1)
            self.fail(
                f"expected tool {tool!r} is not offered in tools",
                f"{pointer}/tool",
                fix=f"did you mean {close[0]!r}?" if close else f"add {tool}@VERSION to tools",
            )
        args = compile_arguments(
            raw.get("args", {}), path=self.path, pointer=f"{pointer}/args", lines=self.lines
        )
        allow_extra = self.boolean(
            raw.get("allow_extra_args", False), f"{pointer}/allow_extra_args"
        )
        return ExpectedCall(tool, args, allow_extra)

    def result(self, value: object, pointer: str) -> ToolResult:
        raw = self.mapping(value, pointer, "a tool result", _RESULT_KEYS, _RESULT_KEYS)
        tool = self.string(raw["tool"], f"{pointer}/tool")
        content = raw["content"]
        try:
            json.dumps(content, allow_nan=False)
        except (TypeError, ValueError) as exc:
            self.fail(f"result content is not JSON: {exc}", f"{pointer}/content")
        return ToolResult(tool, content)

    def assertion(self, value: object, pointer: str) -> FinalAssertion:
        if not isinstance(value, Mapping) or len(value) != 1:
            self.fail(
                "a final assertion is an object with one key: contains, regex or json_path",
                pointer,
            )
        raw = self.mapping(value, pointer, "a final assertion", _FINAL_KINDS)
        kind, arg = next(iter(raw.items()))
        here = f"{pointer}/{kind}"
        if kind == "contains":
            return FinalAssertion("contains", self.string(arg, here))
        if kind == "regex":
            text = self.string(arg, here)
            try:
                return FinalAssertion("regex", text, pattern=re.compile(text))
            except re.error as exc:
                self.fail(f"invalid regular expression {text!r}: {exc}", here)
        spec = self.mapping(arg, here, "json_path", _JSON_PATH_KEYS, _JSON_PATH_KEYS)
        text = self.string(spec["path"], f"{here}/path")
        try:
            path = parse_json_path(text)
        except JsonPathError as exc:
            self.fail(
                f"JSON path {text!r}: {exc}",
                f"{here}/path",
                fix="write a path like $.a.b[0].c",
            )
        equals = compile_matcher(
            spec["equals"], path=self.path, pointer=f"{here}/equals", lines=self.lines
        )
        return FinalAssertion("json_path", text, path=path, equals=equals)
