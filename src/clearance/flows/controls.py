"""Negative controls: scripted non-models that a well-written flow must fail.

``never_calls_tools`` answers every turn with a fixed text; ``calls_every_tool``
calls every offered tool once per turn with schema-valid arguments. A flow that
either passes cannot tell a good model from a bad one (``contracts/FORMAT.md``);
a flow that expects no call at all is judged only against ``calls_every_tool``.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clearance.errors import ContractError
from clearance.flows.model import Flow
from clearance.flows.scoring import FlowVerdict, Model, run_flow
from clearance.providers.types import ChatResponse, ToolCall

__all__ = [
    "ControlReport",
    "calls_every_tool",
    "check_controls",
    "generate_arguments",
    "never_calls_tools",
]

NEVER_CALLS_TOOLS = "never_calls_tools"
CALLS_EVERY_TOOL = "calls_every_tool"

_FORMATS = {
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "uri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "regex": "x",
    "json-pointer": "/x",
}
_STRING_TRIES = ("x", "a", "A", "0", "a1", "abc", "ABC", "123", "x_1", "user@example.com")


@dataclass(frozen=True, slots=True)
class ControlReport:
    """Whether a flow is broken, and which controls pass it."""

    broken: bool
    passed_by: list[str]
    """Names of the controls that pass the flow (``never_calls_tools``, ``calls_every_tool``)."""
    verdicts: dict[str, FlowVerdict] = field(default_factory=dict, repr=False)
    """Each control run, by control name."""


def _response(content: str | None, calls: Sequence[ToolCall]) -> ChatResponse:
    return ChatResponse(
        content=content,
        tool_calls=tuple(calls),
        finish_reason="tool_calls" if calls else "stop",
        finish_reason_raw="tool_calls" if calls else "stop",
        usage=None,
        model="control",
    )


def never_calls_tools(text: str = "I have done what you asked.") -> Model:
    """A model that answers every turn with ``text`` and never calls a tool."""

    def model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatResponse:
        return _response(text, ())

    model.__name__ = NEVER_CALLS_TOOLS
    return model


def calls_every_tool(tool_schemas: Mapping[str, Mapping[str, Any]], seed: int = 0) -> Model:
    """A model that, every turn, calls each offered tool once with schema-valid arguments.

    Arguments come from :func:`generate_arguments`; they are generated up front, so a
    schema the generator cannot satisfy fails here, not in the middle of a run.

    Raises:
        ContractError: a schema for which no valid arguments could be generated.
    """
    prepared = {
        name: generate_arguments(schema, seed=seed, name=name)
        for name, schema in tool_schemas.items()
    }

    def model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatResponse:
        turn = 1 + sum(1 for m in messages if m.get("role") == "assistant")
        calls = []
        for index, tool in enumerate(tools):
            function = tool.get("function", {})
            name = str(function.get("name"))
            if name in prepared:
                arguments = prepared[name]
            else:
                arguments = generate_arguments(function.get("parameters", {}), seed=seed, name=name)
            calls.append(
                ToolCall(
                    index=index,
                    id=f"call_control_{turn}_{index}",
                    name=name,
                    arguments=json.loads(json.dumps(arguments)),
                    raw_arguments=json.dumps(arguments),
                )
            )
        return _response(None, calls)

    model.__name__ = CALLS_EVERY_TOOL
    return model


def check_controls(
    flow: Flow, tool_schemas: Mapping[str, Mapping[str, Any]], *, seed: int = 0
) -> ControlReport:
    """Run both negative controls on ``flow``; it is broken if either passes it.

    A flow whose every step expects no call is judged only against ``calls_every_tool``
    (never calling a tool is then the right behaviour, not a sign of a bad flow).
    """
    controls: dict[str, Model] = {}
    if not flow.expects_no_call:
        controls[NEVER_CALLS_TOOLS] = never_calls_tools()
    controls[CALLS_EVERY_TOOL] = calls_every_tool(
        {name: tool_schemas[name] for name in flow.tool_names if name in tool_schemas},
        seed=seed,
    )
    verdicts = {
        name: run_flow(flow, model, tool_schemas=tool_schemas) for name, model in controls.items()
    }
    passed_by = [name for name, verdict in verdicts.items() if verdict.passed]
    return ControlReport(bool(passed_by), passed_by, verdicts)


def generate_arguments(
    schema: Mapping[str, Any] | bool, *, seed: int = 0, name: str = "tool"
) -> dict[str, Any]:
    """Small deterministic arguments valid under an object ``schema``.

    Uses defaults (those of the schema's type), ``const``, the first enum value (the
    ``seed``-th, cycling), formats' placeholders and type placeholders; fills required
    properties only (and optional ones up to ``minProperties``); respects
    ``minimum``/``maximum`` (exclusive too), ``multipleOf``, ``minLength``/``maxLength``,
    simple ``pattern``s, ``minItems`` and local ``$ref``s. The result is checked with
    jsonschema.

    Raises:
        ContractError: the generated arguments do not validate (an unusual schema).
    """
    from jsonschema import Draft202012Validator

    root: Any = schema
    value = _Generator(root, seed).make(schema, 0)
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(value), key=lambda e: e.path)
    if not isinstance(value, dict) or errors:
        detail = errors[0].message if errors else "the schema does not describe an object"
        raise ContractError(
            f"cannot generate valid arguments for tool {name!r}: {detail}",
            path=f"input_schema of {name}",
            pointer="".join(f"/{p}" for p in errors[0].absolute_path) if errors else "",
            fix="simplify the schema, or give the property a default or an example-like enum",
        )
    return value


def _of_its_type(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether ``value`` has the schema's ``type`` (a ``default`` may not: BFCL writes
    ``"default": "false"`` on booleans and ``"default": "location"`` on an object)."""
    if "type" not in schema:
        return True
    from jsonschema import Draft202012Validator

    return bool(Draft202012Validator({"type": schema["type"]}).is_valid(value))


@dataclass(frozen=True, slots=True)
class _Generator:
    root: Any
    seed: int

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        target: Any = self.root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target[int(part)] if isinstance(target, list) else target[part]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**self.resolve(target), **rest}

    def make(self, raw: Any, depth: int) -> Any:
        if raw is True or not isinstance(raw, Mapping):
            return "x"
        if depth > 16:
            return None
        schema = self.resolve(raw)
        if "default" in schema and _of_its_type(schema["default"], schema):
            return schema["default"]
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[self.seed % len(enum)]
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                rest = {k: v for k, v in schema.items() if k != key}
                branch = branches[self.seed % len(branches)]
                return self.make({**rest, **self.resolve(branch)}, depth + 1)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in all_of:
                part = self.resolve(part)
                merged["properties"] = {
                    **merged.get("properties", {}),
                    **part.get("properties", {}),
                }
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                merged.update(
                    {k: v for k, v in part.items() if k not in ("properties", "required")}
                )
            return self.make(merged, depth + 1)
        kind = schema.get("type", self.infer(schema))
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        maker = {
            "object": self.object,
            "array": self.array,
            "string": self.string,
            "integer": self.integer,
            "number": self.number,
        }.get(kind)
        if maker is not None:
            return maker(schema, depth)
        if kind == "boolean":
            return self.seed % 2 == 1
        return None

    @staticmethod
    def infer(schema: Mapping[str, Any]) -> str:
        keys = set(schema)
        if keys & {"properties", "required", "additionalProperties", "minProperties"}:
            return "object"
        if keys & {"items", "prefixItems", "minItems", "maxItems"}:
            return "array"
        if keys & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
            return "number"
        return "string"

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        out = {
            key: self.make(properties.get(key, {}), depth + 1) for key in schema.get("required", [])
        }
        wanted = schema.get("minProperties", 0)
        for key, sub in properties.items():
            if len(out) >= wanted:
                break
            out.setdefault(key, self.make(sub, depth + 1))
        return out

    def array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = [self.make(sub, depth + 1) for sub in schema.get("prefixItems", [])]
        count = max(int(schema.get("minItems", 0)) - len(prefix), 0)
        items = schema.get("items", {})
        made = [self.make(items, depth + 1) for _ in range(count)]
        if schema.get("uniqueItems") and isinstance(items, Mapping) and items.get("enum"):
            made = list(items["enum"][:count])
        return prefix + made

    def string(self, schema: Mapping[str, Any], depth: int) -> str:
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        length = max(low, 1) if high is None else min(max(low, 1), int(high))
        pattern = schema.get("pattern")
        if not isinstance(pattern, str):
            return "x" * length
        for extra in range(length + 2):
            candidate = _from_pattern(pattern, extra, self.seed)
            if (
                candidate is not None
                and re.search(pattern, candidate)
                and len(candidate) >= low
                and (high is None or len(candidate) <= high)
            ):
                return candidate
        for base in _STRING_TRIES:
            candidate = (base * (length // len(base) + 1))[: max(length, len(base))]
            if len(candidate) < low or (high is not None and len(candidate) > high):
                candidate = (base * (low + 1))[: max(low, 1)]
            if re.search(pattern, candidate) and (high is None or len(candidate) <= high):
                return candidate
        return "x" * length

    def bounds(self, schema: Mapping[str, Any], step: float) -> tuple[float | None, float | None]:
        low = schema.get("minimum")
        high = schema.get("maximum")
        if "exclusiveMinimum" in schema:
            ex = schema["exclusiveMinimum"]
            low = ex + step if low is None else max(low, ex + step)
        if "exclusiveMaximum" in schema:
            ex = schema["exclusiveMaximum"]
            high = ex - step if high is None else min(high, ex - step)
        return low, high

    def integer(self, schema: Mapping[str, Any], depth: int) -> int:
        low, high = self.bounds(schema, 1)
        value = math.ceil(low) if low is not None else 0
        if high is not None and value > high:
            value = math.floor(high)
        multiple = schema.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            value = math.ceil(value / multiple) * multiple
        return int(value)

    def number(self, schema: Mapping[str, Any], depth: int) -> float | int:
        if "exclusiveMinimum" in schema and "exclusiveMaximum" in schema:
            return float(schema["exclusiveMinimum"] + schema["exclusiveMaximum"]) / 2
        low, high = self.bounds(schema, 1)
        value: float = low if low is not None else 0
        if high is not None and value > high:
            value = high
        multiple = schema.get("multipleOf")
        if isinstance(multiple, int | float) and multiple > 0:
            value = math.ceil(value / multiple) * multiple
        return value


_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}


class _Unsupported(Exception):
    """A regular expression construct the small generator does not handle."""


def _from_pattern(pattern: str, extra: int, seed: int) -> str | None:
    """A short string for a simple regular expression (each repeat ``min + extra`` times).

    Handles literals, classes, ``.``, categories, groups, alternation (the
    ``seed``-th branch) and repeats; anything else gives ``None``. The caller checks
    the result with ``re.search``.
    """
    parser: Any = importlib.import_module("re._parser")
    try:
        return _emit(parser.parse(pattern), extra, seed)
    except (_Unsupported, re.error, ValueError, TypeError):
        return None


def _emit(items: Any, extra: int, seed: int) -> str:
    out: list[str] = []
    for op, value in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(value))
        elif name == "NOT_LITERAL":
            out.append("b" if chr(value) == "a" else "a")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_class_char(value))
        elif name == "CATEGORY":
            out.append(_CATEGORY_CHARS.get(str(value), "a"))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = value
            count = low + extra if low + extra <= high else high
            out.append(_emit(sub, extra, seed) * count)
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            out.append(_emit(value[-1] if name == "SUBPATTERN" else value, extra, seed))
        elif name == "BRANCH":
            branches = value[1]
            out.append(_emit(branches[seed % len(branches)], extra, seed))
        elif name == "AT":
            continue
        else:
            raise _Unsupported(name)
    return "".join(out)


def _class_char(items: Any) -> str:
    if items and str(items[0][0]) == "NEGATE":
        raise _Unsupported("NEGATE")
    op, value = items[0]
    name = str(op)
    if name == "LITERAL":
        return chr(value)
    if name == "RANGE":
        return chr(value[0])
    if name == "CATEGORY":
        return _CATEGORY_CHARS.get(str(value), "a")
    raise _Unsupported(name)
