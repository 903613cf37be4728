"""Reading a ``POST /v1/chat/completions`` body into a checked :class:`ChatRequest`.

A body the OpenAI API would refuse is refused here too, with an OpenAI-style
400 (``{"error": {"message", "type", "code"}}``) naming the bad field.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clearance.reference.tools import ToolSpec
from clearance.reference.wire import Reply, error_reply

__all__ = ["ROLES", "ChatRequest", "canonical", "parse_chat_request", "prompt_tokens", "tool_specs"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_CHOICES = frozenset({"auto", "none", "required"})


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A checked chat-completion request."""

    model: str
    messages: tuple[Mapping[str, Any], ...]
    tools: tuple[ToolSpec, ...]
    choice: str
    """``auto``, ``none``, ``required``, or ``function`` (then :attr:`forced` names it)."""
    forced: str | None
    stream: bool
    include_usage: bool
    parallel: bool
    max_tokens: int | None
    key: str
    """A digest of the body without its stream settings: the same request, streamed or
    not, gets the same answer (and counts as the same request for ``ref/flaky``)."""
    prompt_tokens: int
    """The simulator's estimate: ``len(JSON of messages and tools) // 4``, at least 1."""
    arguments_as_text: bool = True
    """Whether the wire carries a call's arguments as JSON text (OpenAI), so that they can
    be malformed; Anthropic and Gemini carry an object, so ``ref/sloppy`` never breaks
    the JSON there (it picks another fault)."""


def canonical(value: Any) -> str:
    """Compact JSON, keys in the order sent (the same request is the same bytes)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def prompt_tokens(messages: Any, tools: Any) -> int:
    """``len(compact JSON of messages, plus of tools) // 4``, at least 1."""
    size = len(canonical(messages)) + (len(canonical(tools)) if tools else 0)
    return max(1, size // 4)


def _bad(message: str, *, param: str | None = None, code: str = "invalid_value") -> Reply:
    return error_reply(400, message, code, param=param)


def _tools(raw: Any) -> tuple[ToolSpec, ...] | Reply:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        return _bad("'tools' must be a list of function tools", param="tools", code="invalid_type")
    specs = []
    for index, tool in enumerate(raw):
        where = f"tools[{index}]"
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            return _bad(f"{where}.type must be 'function'", param=where)
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            return _bad(f"{where}.function.name is missing", param=f"{where}.function.name")
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, Mapping):
            return _bad(
                f"{where}.function.parameters must be a JSON Schema object",
                param=f"{where}.function.parameters",
            )
        description = function.get("description")
        specs.append(
            ToolSpec.of(
                function["name"], description if isinstance(description, str) else "", parameters
            )
        )
    return tuple(specs)


def _choice(raw: Any, tools: tuple[ToolSpec, ...]) -> tuple[str, str | None] | Reply:
    if raw is None:
        return "auto", None
    if isinstance(raw, str) and raw in _CHOICES:
        if raw != "none" and not tools:
            return _bad("tool_choice is only allowed when tools are specified", param="tool_choice")
        return str(raw), None
    function = raw.get("function") if isinstance(raw, Mapping) else None
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(name, str):
        return _bad(
            "tool_choice must be 'auto', 'none', 'required' or "
            '{"type": "function", "function": {"name": ...}}',
            param="tool_choice",
        )
    if name not in {t.name for t in tools}:
        return _bad(f"tool_choice names {name!r}, which is not in tools", param="tool_choice")
    return "function", name


_UNKEYED = frozenset({"messages", "tools", "stream", "stream_options"})


def _key(body: Mapping[str, Any], messages_json: str, tools_json: str) -> str:
    rest = canonical({k: v for k, v in body.items() if k not in _UNKEYED})
    whole = f"{rest}\n{messages_json}\n{tools_json}"
    return hashlib.sha256(whole.encode()).hexdigest()


@functools.lru_cache(maxsize=1_024)
def _tools_cached(tools_json: str) -> tuple[ToolSpec, ...] | Reply:
    return _tools(json.loads(tools_json))


def tool_specs(tools: list[dict[str, Any]]) -> tuple[ToolSpec, ...]:
    """The specs of checked OpenAI function tools (cached by their JSON, as requests are).

    A native request's tools, once checked and written as OpenAI function tools, go
    through here so that every protocol reads tools the same way.

    Raises:
        ValueError: a tool is not a function tool with a name (the caller checks first).
    """
    specs = _tools_cached(canonical(tools)) if tools else ()
    if isinstance(specs, Reply):
        raise ValueError(f"not OpenAI function tools: {specs.body.decode()}")
    return specs


def parse_chat_request(body: Any) -> ChatRequest | Reply:
    """The checked request, or the 400 reply that refuses it."""
    if not isinstance(body, Mapping):
        return _bad("the body must be a JSON object", code="invalid_type")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _bad("you must provide a model", param="model", code="missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _bad(
            "'messages' must be a non-empty list",
            param="messages",
            code="missing_required_parameter",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in ROLES:
            return _bad(
                f"messages[{index}] must be an object with a role in {sorted(ROLES)}",
                param=f"messages[{index}].role",
            )
    messages_json = canonical(messages)
    raw_tools = body.get("tools")
    tools_json = canonical(raw_tools) if raw_tools is not None else ""
    tools = _tools_cached(tools_json) if tools_json else ()
    if isinstance(tools, Reply):
        return tools
    choice = _choice(body.get("tool_choice"), tools)
    if isinstance(choice, Reply):
        return choice
    stream = body.get("stream", False)
    options = body.get("stream_options")
    if not isinstance(stream, bool):
        return _bad("'stream' must be a boolean", param="stream", code="invalid_type")
    if options is not None and not isinstance(options, Mapping):
        return _bad("'stream_options' must be an object", param="stream_options")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        return _bad("max_tokens must be a positive integer", param="max_tokens")
    return ChatRequest(
        model=model,
        messages=tuple(messages),
        tools=tools,
        choice=choice[0],
        forced=choice[1],
        stream=stream,
        include_usage=bool(stream and options and options.get("include_usage") is True),
        parallel=body.get("parallel_tool_calls", True) is not False,
        max_tokens=limit,
        key=_key(body, messages_json, tools_json),
        prompt_tokens=max(1, (len(messages_json) + len(tools_json if raw_tools else "")) // 4),
    )
