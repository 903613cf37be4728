"""The faults ``ref/sloppy`` puts into a tool-call answer, one per faulty answer.

The kinds, in their cycle order:

``wrong_type``
    one argument gets the wrong JSON type: a number or flag becomes a string
    (``21`` → ``"21"``), a numeric string a number, another string a list.
``missing_required``
    one required argument is left out.
``invented_tool``
    the call names a tool that was not offered (``get_weather`` → ``get_weather_v2``).
``malformed_json``
    the arguments are cut in half, so they are not valid JSON.
``wrong_tool``
    another offered tool is called (the next one in ``tools``), with arguments
    filled for it.

A fault that cannot apply (no required argument, a single tool, JSON that the wire
carries as an object) passes to the next kind in the cycle; ``invented_tool`` always
applies, and ``malformed_json`` does wherever arguments travel as text.
The fault touches the first call only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from clearance.reference.arguments import fill_arguments
from clearance.reference.tools import PlannedCall, ToolSpec

__all__ = ["FAULT_KINDS", "inject_fault"]

FAULT_KINDS: tuple[str, ...] = (
    "wrong_type",
    "missing_required",
    "invented_tool",
    "malformed_json",
    "wrong_tool",
)


def _required(tool: ToolSpec | None) -> list[str]:
    names = (tool.parameters or {}).get("required", []) if tool else []
    return [n for n in names if isinstance(n, str)]


def _mistyped(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        try:
            return int(value) if value.strip().lstrip("-").isdigit() else [value]
        except ValueError:
            return [value]
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return "null"


def _wrong_type(call: PlannedCall, tool: ToolSpec | None) -> tuple[str, str] | None:
    if not call.arguments:
        return None
    required = _required(tool)
    keys = sorted(call.arguments, key=lambda k: k not in required)
    scalar = [k for k in keys if isinstance(call.arguments[k], int | float)]
    key = (scalar or keys)[0]
    arguments = {**call.arguments, key: _mistyped(call.arguments[key])}
    return call.name, json.dumps(arguments, ensure_ascii=False)


def _missing_required(call: PlannedCall, tool: ToolSpec | None) -> tuple[str, str] | None:
    present = [n for n in _required(tool) if n in call.arguments]
    if not present:
        return None
    arguments = {k: v for k, v in call.arguments.items() if k != present[0]}
    return call.name, json.dumps(arguments, ensure_ascii=False)


def _invented_tool(call: PlannedCall, tools: Sequence[ToolSpec]) -> tuple[str, str]:
    names = {t.name for t in tools}
    version = 2
    while f"{call.name}_v{version}" in names:
        version += 1
    return f"{call.name}_v{version}", json.dumps(call.arguments, ensure_ascii=False)


def _malformed_json(call: PlannedCall) -> tuple[str, str]:
    text = json.dumps(call.arguments, ensure_ascii=False)
    return call.name, text[: max(1, len(text) // 2)]


def _wrong_tool(call: PlannedCall, tools: Sequence[ToolSpec], text: str) -> tuple[str, str] | None:
    others = [t for t in tools if t.name != call.name]
    if not others:
        return None
    names = [t.name for t in tools]
    position = names.index(call.name) if call.name in names else -1
    after = [t for t in tools[position + 1 :] if t.name != call.name]
    other = (after or others)[0]
    arguments = fill_arguments(other.parameters, text)
    return other.name, json.dumps(arguments, ensure_ascii=False)


def inject_fault(
    calls: Sequence[PlannedCall],
    tools: Sequence[ToolSpec],
    text: str,
    start: int,
    *,
    malformed: bool = True,
) -> tuple[list[tuple[str, str]], str]:
    """Break the first call: the kind ``FAULT_KINDS[start % 5]``, or the next that applies.

    Args:
        calls: the calls planned.
        tools: the tools offered.
        text: the request's text (what ``wrong_tool`` fills its arguments from).
        start: where in the cycle to start.
        malformed: whether ``malformed_json`` can apply: not on a wire that carries
            arguments as a JSON object (Anthropic, Gemini), which cannot be cut.

    Returns:
        (name, arguments JSON text) for every call, and the kind applied.
    """
    first = calls[0]
    tool = next((t for t in tools if t.name == first.name), None)
    rest = [(c.name, json.dumps(c.arguments, ensure_ascii=False)) for c in calls[1:]]
    for offset in range(len(FAULT_KINDS)):
        kind = FAULT_KINDS[(start + offset) % len(FAULT_KINDS)]
        broken: tuple[str, str] | None
        if kind == "malformed_json" and not malformed:
            broken = None
        elif kind == "wrong_type":
            broken = _wrong_type(first, tool)
        elif kind == "missing_required":
            broken = _missing_required(first, tool)
        elif kind == "invented_tool":
            broken = _invented_tool(first, tools)
        elif kind == "malformed_json":
            broken = _malformed_json(first)
        else:
            broken = _wrong_tool(first, tools, text)
        if broken is not None:
            return [broken, *rest], kind
    raise AssertionError("invented_tool always applies")  # pragma: no cover
