"""Reading a ``POST /v1/messages`` body (Anthropic Messages) into the simulator's request.

The native conversation becomes the simulator's own (OpenAI-shaped) one, so every
behaviour answers the same as on the OpenAI route: ``system`` becomes a system message,
``tool_use`` blocks an assistant's ``tool_calls`` (ids kept), each ``tool_result`` block
a ``tool`` message answering its ``tool_use_id``, and ``thinking`` blocks are checked
and dropped. A body the real API would refuse is refused the way it would be: a 400
``invalid_request_error`` naming the field (``max_tokens: Field required``), and a
``thinking`` block whose signature does not match what the simulator signed
(the client altered it) or a tool-use turn sent back without its thinking block while
thinking is on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from clearance.reference.anthropic_wire import AnthropicDialect, anthropic_error
from clearance.reference.lowered import read_lowered
from clearance.reference.names import anthropic_snapshot, find_anthropic
from clearance.reference.promptcache import PromptCache
from clearance.reference.request import ChatRequest, canonical, tool_specs
from clearance.reference.signing import same_signature, thinking_signature
from clearance.reference.wire import Reply

__all__ = ["parse_messages_request"]

_CHOICES = {"auto": "auto", "any": "required", "none": "none", "tool": "function"}
_THINKING_KINDS = frozenset({"thinking", "redacted_thinking"})


class _Refused(Exception):
    """A body the API refuses (carried up to one place that makes the reply)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _blocks(content: Any, where: str) -> list[Mapping[str, Any]]:
    """A message's content as blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _Refused(f"{where}: Input should be a valid string or a list of content blocks")
    for index, block in enumerate(content):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise _Refused(f"{where}.{index}.type: Field required")
    return content


def _text(content: Any) -> str:
    """The text of a string or of a list's ``text`` blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, Mapping) and block.get("type") == "text"
        )
    return ""


def _check_thinking(index: int, blocks: Sequence[Mapping[str, Any]]) -> None:
    for position, block in enumerate(blocks):
        if block["type"] != "thinking":
            continue
        thinking = block.get("thinking")
        expected = thinking_signature(thinking) if isinstance(thinking, str) else ""
        if not expected or not same_signature(block.get("signature"), expected):
            raise _Refused(
                f"messages.{index}.content.{position}: Invalid `signature` in `thinking` block"
            )


def _conversation(raw: Any) -> tuple[list[dict[str, Any]], list[list[Mapping[str, Any]]]]:
    """The simulator's messages, and each native message's blocks (checked)."""
    if not isinstance(raw, list):
        raise _Refused("messages: Field required")
    if not raw:
        raise _Refused("messages: at least one message is required")
    messages: list[dict[str, Any]] = []
    native: list[list[Mapping[str, Any]]] = []
    for index, message in enumerate(raw):
        where = f"messages.{index}"
        role = message.get("role") if isinstance(message, Mapping) else None
        if role not in ("user", "assistant"):
            raise _Refused(f"{where}.role: Input should be 'user' or 'assistant'")
        blocks = _blocks(message.get("content"), f"{where}.content")
        native.append(blocks)
        if role == "assistant":
            _check_thinking(index, blocks)
            texts = [str(b.get("text", "")) for b in blocks if b["type"] == "text"]
            calls = [
                {
                    "id": str(b.get("id")),
                    "type": "function",
                    "function": {
                        "name": str(b.get("name")),
                        "arguments": canonical(b.get("input", {})),
                    },
                }
                for b in blocks
                if b["type"] == "tool_use"
            ]
            said: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) or None}
            messages.append({**said, "tool_calls": calls} if calls else said)
            continue
        texts = []
        for block in blocks:
            if block["type"] == "tool_result":
                result = {"role": "tool", "tool_call_id": str(block.get("tool_use_id"))}
                messages.append({**result, "content": _text(block.get("content", ""))})
            elif block["type"] == "text":
                texts.append(str(block.get("text", "")))
        if texts or not any(b["type"] == "tool_result" for b in blocks):
            messages.append({"role": "user", "content": "\n".join(texts)})
    return messages, native


def _check_thinking_kept(native: list[list[Mapping[str, Any]]], raw: list[Any]) -> None:
    """With thinking on, the assistant turn before the last tool results must start with
    its thinking block, as the real API requires."""
    if len(raw) < 2 or not any(b["type"] == "tool_result" for b in native[-1]):
        return
    index = len(raw) - 2
    if raw[index].get("role") != "assistant" or not native[index]:
        return
    first = native[index][0]["type"]
    if any(b["type"] == "tool_use" for b in native[index]) and first not in _THINKING_KINDS:
        raise _Refused(
            f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
            f"found `{first}`. When `thinking` is enabled, a final `assistant` message must "
            "start with a thinking block (preceding the lastmost set of `tool_use` and "
            "`tool_result` blocks). We recommend you include thinking blocks from previous "
            "turns. To avoid this requirement, disable `thinking`."
        )


def _tools(raw: Any) -> list[dict[str, Any]]:
    """The custom tools as OpenAI function tools (server tools are not the model's to call)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _Refused("tools: Input should be a valid list")
    tools = []
    for index, tool in enumerate(raw):
        if not isinstance(tool, Mapping):
            raise _Refused(f"tools.{index}: Input should be a valid dictionary")
        if tool.get("type") not in (None, "custom"):
            continue  # a server tool (web search, code execution...): Anthropic runs it
        name, schema = tool.get("name"), tool.get("input_schema")
        if not isinstance(name, str) or not name:
            raise _Refused(f"tools.{index}.custom.name: Field required")
        if not isinstance(schema, Mapping):
            raise _Refused(f"tools.{index}.custom.input_schema: Field required")
        description = tool.get("description")
        function = {
            "name": name,
            "description": description if isinstance(description, str) else "",
            "parameters": read_lowered(schema),
        }
        tools.append({"type": "function", "function": function})
    return tools


def _choice(raw: Any, names: set[str]) -> tuple[str, str | None, bool]:
    """(choice, forced tool, parallel calls allowed)."""
    if raw is None:
        return "auto", None, True
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind not in _CHOICES:
        raise _Refused("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    assert isinstance(raw, Mapping)
    if kind != "none" and not names:
        raise _Refused("tool_choice: may only be specified while providing tools")
    forced = raw.get("name") if kind == "tool" else None
    if kind == "tool" and forced not in names:
        raise _Refused(f"tool_choice.name: tool {forced!r} is not in tools")
    return _CHOICES[kind], forced, raw.get("disable_parallel_tool_use") is not True


def _thinking(raw: Any, max_tokens: int) -> bool:
    if raw is None:
        return False
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind == "disabled":
        return False
    if kind == "adaptive":
        return True
    if kind != "enabled":
        raise _Refused("thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'")
    assert isinstance(raw, Mapping)
    budget = raw.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1_024:
        raise _Refused(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if budget >= max_tokens:
        raise _Refused("`max_tokens` must be greater than `thinking.budget_tokens`")
    return True


def _breakpoints(body: Mapping[str, Any]) -> list[tuple[str, int]]:
    """The prompt prefix at each ``cache_control`` breakpoint (tools, system, messages)."""
    segments: list[Any] = []
    marked: list[int] = []
    system = body.get("system")
    messages = body.get("messages")
    for item in [
        *(body.get("tools") or []),
        *(system if isinstance(system, list) else [system] if system else []),
        *(
            block
            for message in (messages if isinstance(messages, list) else [])
            for block in (
                message.get("content")
                if isinstance(message.get("content"), list)
                else [message.get("content")]
            )
        ),
    ]:
        segments.append(item)
        if isinstance(item, Mapping) and "cache_control" in item:
            marked.append(len(segments))
    prefixes = []
    for end in marked:
        text = canonical(segments[:end])
        prefixes.append((text, len(text) // 4))
    return prefixes


def parse_messages_request(
    body: Any, cache: PromptCache
) -> tuple[ChatRequest, AnthropicDialect] | Reply:
    """The simulator's request and the dialect to answer in, or the reply that refuses it."""
    try:
        return _parse(body, cache)
    except _Refused as refused:
        return anthropic_error(400, refused.message)


def _parse(body: Any, cache: PromptCache) -> tuple[ChatRequest, AnthropicDialect] | Reply:
    if not isinstance(body, Mapping):
        raise _Refused("the body must be a JSON object")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise _Refused("model: Field required")
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise _Refused("max_tokens: Field required")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _Refused("max_tokens: Input should be greater than or equal to 1")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _Refused("stream: Input should be a valid boolean")
    messages, native = _conversation(body.get("messages"))
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise _Refused("system: Input should be a valid string or a list of text blocks")
    if system:
        messages.insert(0, {"role": "system", "content": _text(system)})
    tools = _tools(body.get("tools"))
    names = {tool["function"]["name"] for tool in tools}
    choice, forced, parallel = _choice(body.get("tool_choice"), names)
    thinking = _thinking(body.get("thinking"), max_tokens)
    if thinking:
        _check_thinking_kept(native, body["messages"])
    model = find_anthropic(name)
    if model is None:
        return AnthropicDialect(snapshot=name).unknown_model(name)
    read, written = cache.use(_breakpoints(body))
    keyed = canonical({k: v for k, v in body.items() if k != "stream"})
    size = len(canonical(body["messages"])) + len(canonical(system)) * bool(system)
    size += len(canonical(body.get("tools"))) if body.get("tools") else 0
    request = ChatRequest(
        model=model.id,
        messages=tuple(messages),
        tools=tool_specs(tools),
        choice=choice,
        forced=forced,
        stream=stream,
        include_usage=True,
        parallel=parallel,
        max_tokens=max_tokens,
        key=hashlib.sha256(f"anthropic\n{keyed}".encode()).hexdigest(),
        prompt_tokens=max(1, size // 4),
        arguments_as_text=False,
    )
    dialect = AnthropicDialect(
        snapshot=anthropic_snapshot(model),
        thinking=thinking,
        cache_read=read,
        cache_creation=written,
    )
    return request, dialect
