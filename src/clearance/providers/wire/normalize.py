"""Finish reasons and tool calls, normalized the same way whatever the wire format.

:func:`normalize_finish_reason` maps every provider's spelling of why an answer
ended (OpenAI's, Anthropic's ``end_turn`` / ``tool_use``, Gemini's ``SAFETY``...)
onto the closed :data:`~clearance.providers.types.FinishReason` set.
:func:`normalize_tool_call` turns one tool call as sent (id, name, arguments)
into a :class:`ToolCall`, decoding the arguments and naming each repair in its
``quirks`` (the vocabulary is listed in :mod:`clearance.providers.wire`).
:func:`build_tool_call` is the same, for a format module that already saw quirks
of its own (a streamed call without an index). :func:`build_object_tool_call` reads a
call whose arguments come as a JSON object by design (Anthropic's ``tool_use.input``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from clearance.providers.types import FinishReason, ToolCall

__all__ = [
    "build_object_tool_call",
    "build_tool_call",
    "decode_arguments",
    "normalize_finish_reason",
    "normalize_tool_call",
]

# ---------------------------------------------------------------------------------------------
# Finish reasons

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "eos_token": "stop",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "model_length": "length",
    "model_context_window_exceeded": "length",
    # Anthropic's pause_turn: a long server-tool turn paused, to be sent back to continue;
    # neither finished nor cut short, so said explicitly rather than by the fallback
    "pause_turn": "other",
    "tool_calls": "tool_calls",
    "tool_call": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
    "image_safety": "content_filter",
    # Gemini's image refusals; its MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL and
    # TOO_MANY_TOOL_CALLS (a call that failed to come out) stay "other", the raw reason kept
    "image_prohibited_content": "content_filter",
    "image_recitation": "content_filter",
    "refusal": "content_filter",
    "sensitive": "content_filter",
    "guardrail_intervened": "content_filter",
    "error": "error",
}
_MISSING = ("missing_finish_reason",)


def normalize_finish_reason(
    raw: str | None, *, has_tool_calls: bool
) -> tuple[FinishReason, tuple[str, ...]]:
    """Map a provider's finish reason onto the closed set, with the quirks seen.

    Known spellings map to their meaning (``max_tokens`` and Gemini's
    ``MAX_TOKENS`` to ``length``, ``end_turn`` to ``stop``...); anything else
    is ``other`` (the caller keeps the raw value). ``stop`` beside tool calls
    becomes ``tool_calls`` (quirk ``stop_with_tool_calls``); a missing or empty
    reason is ``tool_calls`` when calls are present, else ``other`` (quirk
    ``missing_finish_reason`` either way).
    """
    if not raw:
        return ("tool_calls" if has_tool_calls else "other"), _MISSING
    reason = _FINISH_REASONS.get(raw)
    if reason is None:
        reason = _FINISH_REASONS.get(raw.lower(), "other")
    if reason == "stop" and has_tool_calls:
        return "tool_calls", ("stop_with_tool_calls",)
    if reason == "tool_calls" and not has_tool_calls:
        return reason, ("tool_calls_without_calls",)
    return reason, ()


# ---------------------------------------------------------------------------------------------
# Tool calls


def normalize_tool_call(index: int, raw_id: Any, name: Any, raw_arguments: Any) -> ToolCall:
    """One tool call as sent, normalized; never raises.

    Args:
        index: the call's position among the message's tool calls (0-based).
        raw_id: the ``id`` as sent (``None`` when absent).
        name: ``function.name`` as sent.
        raw_arguments: ``function.arguments`` as sent (usually a JSON string).
    """
    return build_tool_call(index, raw_id, name, raw_arguments, ())


def build_tool_call(
    index: int, raw_id: Any, name: Any, raw_arguments: Any, extra: tuple[str, ...]
) -> ToolCall:
    """:func:`normalize_tool_call`, with ``extra`` quirks the format module saw first."""
    if type(raw_id) is str and raw_id:
        call_id: str = raw_id
        quirks = extra
    else:
        call_id = f"call_{index}"
        if raw_id is None:
            quirks = (*extra, "missing_id")
        elif raw_id == "":
            quirks = (*extra, "empty_id")
        elif isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
            call_id, quirks = str(raw_id), (*extra, "non_string_id")
        else:
            quirks = (*extra, "missing_id")
    if type(name) is not str or not name:
        quirks = (*quirks, "missing_name")
        name = "" if name is None else str(name)
    arguments, raw, arg_quirks = _decode_arguments(raw_arguments)
    if arg_quirks:
        quirks = (*quirks, *arg_quirks)
    return ToolCall(index, call_id, name, arguments, raw, quirks)


def build_object_tool_call(
    index: int, raw_id: Any, name: Any, raw_input: Any, extra: tuple[str, ...] = ()
) -> ToolCall:
    """A tool call whose arguments are sent as a JSON object (Anthropic's ``tool_use``
    ``input``), where an object is the rule and so no ``object_arguments`` quirk.

    ``arguments`` and ``raw_arguments`` are that object. Anything else is read as
    :func:`build_tool_call` reads it, and marked: a JSON string holding an object gets
    ``string_arguments``, a string that is no JSON object its decoding quirk
    (``truncated_json`` for a streamed input cut off), a missing input
    ``empty_arguments``.
    """
    if type(raw_input) is dict:
        if type(raw_id) is str and raw_id and type(name) is str and name:
            return ToolCall(index, raw_id, name, raw_input, raw_input, extra)  # the usual case
        shell = build_tool_call(index, raw_id, name, _EMPTY_OBJECT_TEXT, extra)
        return ToolCall(index, shell.id, shell.name, raw_input, raw_input, shell.quirks)
    call = build_tool_call(index, raw_id, name, raw_input, extra)
    if (
        isinstance(raw_input, str)
        and call.arguments is not None
        and "empty_arguments" not in call.quirks
    ):
        quirks = (*call.quirks, "string_arguments")
        return ToolCall(index, call.id, call.name, call.arguments, raw_input, quirks)
    return call


_EMPTY_OBJECT_TEXT = "{}"


_ArgumentsResult = tuple[
    dict[str, Any] | None,
    str | dict[str, Any] | list[Any] | int | float | bool | None,
    tuple[str, ...],
]


def decode_arguments(raw: Any) -> _ArgumentsResult:
    """Tool-call arguments as sent, decoded as :func:`normalize_tool_call` decodes them:
    (the JSON object, or ``None`` when they are none; the raw value kept; the quirks)."""
    return _decode_arguments(raw)


_NOT_ORJSON: Any = object()
_LONG_DIGITS = re.compile(r"\d{19}")


def _decode_arguments(raw: Any) -> _ArgumentsResult:
    """(arguments, raw kept, quirks) for ``function.arguments`` as sent."""
    if isinstance(raw, str):
        # orjson first (a few times faster). It refuses NaN and Infinity, and turns integers
        # past 64 bits into floats; the standard library reads those exactly instead.
        value = _NOT_ORJSON
        if _LONG_DIGITS.search(raw) is None:
            try:  # noqa: SIM105 - cheaper than contextlib.suppress on the call path
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
        try:
            if value is _NOT_ORJSON:
                value = json.loads(raw)
        except (ValueError, RecursionError):
            if not raw.strip():
                return {}, raw, ("empty_arguments",)
            return None, raw, (_broken_json_kind(raw),)
        quirks: tuple[str, ...] = ()
        if ("NaN" in raw or "Infinity" in raw) and _has_non_finite(value):
            quirks = ("non_finite_number",)
        if type(value) is dict:
            return value, raw, quirks
        if type(value) is str:
            return _decode_double_encoded(raw, value)
        return None, raw, ("non_object_arguments", *quirks)
    if raw is None:
        return {}, None, ("empty_arguments",)
    if isinstance(raw, dict):
        return raw, raw, ("object_arguments",)
    if isinstance(raw, Mapping):
        as_dict = {str(key): value for key, value in raw.items()}
        return as_dict, as_dict, ("object_arguments",)
    if isinstance(raw, list | int | float | bool):
        return None, raw, ("non_object_arguments",)
    return None, repr(raw), ("invalid_json",)


def _decode_double_encoded(raw: str, value: str) -> _ArgumentsResult:
    """The arguments decoded to a JSON string: is that string itself a JSON object?"""
    if not value.strip():
        return {}, raw, ("double_encoded", "empty_arguments")
    try:
        inner = json.loads(value)
    except (ValueError, RecursionError):
        return None, raw, ("non_object_arguments",)
    if type(inner) is dict:
        if ("NaN" in value or "Infinity" in value) and _has_non_finite(inner):
            return inner, raw, ("double_encoded", "non_finite_number")
        return inner, raw, ("double_encoded",)
    return None, raw, ("double_encoded", "non_object_arguments")


def _has_non_finite(value: Any) -> bool:
    if type(value) is float:
        return not math.isfinite(value)
    if type(value) is dict:
        return any(_has_non_finite(item) for item in value.values())
    if type(value) is list:
        return any(_has_non_finite(item) for item in value)
    return False


def _broken_json_kind(text: str) -> str:
    """``truncated_json`` when the text reads as a cut-off JSON value, else ``invalid_json``.

    A structural scan: brackets and strings still open at the end, with no
    mismatched closer on the way, look like a prefix that was cut off.
    """
    stripped = text.strip()
    if not stripped or stripped[0] not in '{["':
        return "invalid_json"
    closers: list[str] = []
    in_string = escaped = False
    for char in stripped:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                if not closers:  # a whole top-level string: not a cut-off object
                    return "invalid_json"
        elif char == '"':
            in_string = True
        elif char == "{":
            closers.append("}")
        elif char == "[":
            closers.append("]")
        elif char in "}]" and (not closers or closers.pop() != char or not closers):
            # A mismatched closer, or the value closed and still failed to decode.
            return "invalid_json"
    return "truncated_json" if closers or in_string else "invalid_json"
