"""What the simulator sends on the Anthropic Messages protocol: messages, streams, errors.

The shapes follow recordings of the real API (``api.anthropic.com/v1/messages``): a
``message`` whose ``content`` holds ``thinking``, ``text`` and ``tool_use`` blocks
(``toolu_`` ids, several in one answer when the model calls in parallel), ``usage``
with the cache fields, and ``model`` naming a dated snapshot; a stream of named
server-sent events (``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` with ``text_delta``, ``thinking_delta``, ``signature_delta``
and ``input_json_delta`` whose first piece is ``""``, ``content_block_stop``,
``message_delta``, ``message_stop``); and errors as
``{"type": "error", "error": {"type", "message"}}``, with 529 ``overloaded_error``
where the OpenAI route answers 503.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from clearance.reference.answers import thinking_text
from clearance.reference.catalog import CREATED, REFERENCE_MODELS
from clearance.reference.names import anthropic_snapshot
from clearance.reference.request import ChatRequest
from clearance.reference.signing import thinking_signature
from clearance.reference.wire import Answer, Reply, dumps, pieces

__all__ = [
    "AnthropicDialect",
    "anthropic_error",
    "anthropic_models_document",
    "message_body",
    "message_events",
]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
"""The error type Anthropic names for each status (its documented table)."""

_STOP_REASONS = {"tool_calls": "tool_use", "length": "max_tokens", "stop": "end_turn"}


def anthropic_error(
    status: int, message: str, kind: str | None = None, headers: tuple[tuple[str, str], ...] = ()
) -> Reply:
    """An Anthropic error reply: ``{"type": "error", "error": {"type", "message"}}``."""
    kind = kind or _ERROR_TYPES.get(status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Reply.json(status, body, headers)


def _tool_id(call_id: str) -> str:
    return "toolu_ref" + call_id.removeprefix("call")


def _input(arguments: str) -> Any:
    """A call's input object (the simulator never breaks the JSON on this protocol)."""
    try:
        return json.loads(arguments) if arguments else {}
    except ValueError:  # not expected: malformed_json is not drawn here
        return {}


@dataclass(frozen=True, slots=True)
class AnthropicDialect:
    """The Anthropic Messages dialect of one request."""

    snapshot: str
    """The dated model id answers name (``ref-steady-20231114``)."""
    thinking: bool = False
    """Whether the request turned extended thinking on: answers start with a signed
    ``thinking`` block."""
    cache_read: int = 0
    """Prompt tokens read from the simulated prompt cache."""
    cache_creation: int = 0
    """Prompt tokens written to it."""

    def _usage(self, request: ChatRequest, output: int) -> dict[str, Any]:
        cached = self.cache_read + self.cache_creation
        return {
            "input_tokens": max(1, request.prompt_tokens - cached),
            "cache_creation_input_tokens": self.cache_creation,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": output,
            "service_tier": "standard",
        }

    def blocks(self, answer: Answer) -> list[dict[str, Any]]:
        """The answer's content blocks: thinking (when on), text, tool uses."""
        blocks: list[dict[str, Any]] = []
        if self.thinking:
            text = thinking_text(answer)
            signature = thinking_signature(text)
            blocks.append({"type": "thinking", "thinking": text, "signature": signature})
        if answer.content:
            blocks.append({"type": "text", "text": answer.content})
        for call in answer.tool_calls:
            block = {"type": "tool_use", "id": _tool_id(call.id), "name": call.name}
            blocks.append({**block, "input": _input(call.arguments)})
        return blocks

    def _output_tokens(self, answer: Answer) -> int:
        thought = len(thinking_text(answer)) // 4 if self.thinking else 0
        return answer.completion_tokens + thought

    def success(self, request: ChatRequest, answer: Answer, tag: str) -> Reply:
        """A ``message``, or its event stream."""
        if request.stream:
            events = message_events(self, request, answer, tag)
            return Reply(200, content_type="text/event-stream", events=events)
        return Reply.json(200, message_body(self, request, answer, tag))

    def failure(self, status: int, message: str, *, retry_after_s: int) -> Reply:
        """Anthropic's error body; 503 becomes 529 ``overloaded_error``, as on the real API."""
        if status == 503:
            status = 529
        headers = (("retry-after", str(retry_after_s)),) if status == 429 else ()
        return anthropic_error(status, message, headers=headers)

    def unknown_model(self, name: str) -> Reply:
        """404 ``not_found_error`` naming the model."""
        return anthropic_error(404, f"model: {name}")

    def too_long(self, prompt_tokens: int, limit: int) -> Reply:
        """400 ``invalid_request_error``: the prompt is too long."""
        return anthropic_error(400, f"prompt is too long: {prompt_tokens} tokens > {limit} maximum")

    def broken(self, request: ChatRequest, tag: str, first: str | None, message: str) -> Reply:
        """An error body in a 200 answer, or an ``error`` event inside the stream."""
        if not request.stream:
            return Reply.json(
                200, {"type": "error", "error": {"type": "api_error", "message": message}}
            )
        events = [_start(self, request, tag)]
        if first is not None:
            events.append(
                _event("content_block_start", index=0, content_block={"type": "text", "text": ""})
            )
            delta = {"type": "text_delta", "text": first}
            events.append(_event("content_block_delta", index=0, delta=delta))
        error = {"type": "overloaded_error", "message": message}
        events.append(_event("error", error=error))
        return Reply(200, content_type="text/event-stream", events=tuple(events))


def message_body(
    dialect: AnthropicDialect, request: ChatRequest, answer: Answer, tag: str
) -> dict[str, Any]:
    """A ``message`` object."""
    return {
        "id": _message_id(tag),
        "type": "message",
        "role": "assistant",
        "model": dialect.snapshot,
        "content": dialect.blocks(answer),
        "stop_reason": _STOP_REASONS.get(answer.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": dialect._usage(request, dialect._output_tokens(answer)),
    }


def _message_id(tag: str) -> str:
    return "msg_ref_" + tag[:24]


def _event(kind: str, **fields: Any) -> bytes:
    """One named event. Its ``data:`` line ends in a few spaces, as the real API's do."""
    data = dumps({"type": kind, **fields})
    padding = b" " * (len(data) * 7 % 13)
    return b"event: " + kind.encode() + b"\ndata: " + data + padding + b"\n\n"


def _start(dialect: AnthropicDialect, request: ChatRequest, tag: str) -> bytes:
    message: dict[str, Any] = {
        "id": _message_id(tag),
        "type": "message",
        "role": "assistant",
        "model": dialect.snapshot,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": dialect._usage(request, 1),
    }
    return _event("message_start", message=message)


def message_events(
    dialect: AnthropicDialect, request: ChatRequest, answer: Answer, tag: str
) -> tuple[bytes, ...]:
    """The answer as Anthropic's named server-sent events.

    Each block opens with ``content_block_start`` (a tool use with ``input: {}``, a
    thinking block with an empty signature) and closes with ``content_block_stop``;
    between them text comes four words a delta, thinking likewise and then its
    signature in one ``signature_delta``, and a tool use's input as ``input_json_delta``
    pieces of 16 characters after a first empty one. A ``ping`` follows the first
    block's start.
    """
    events = [_start(dialect, request, tag)]
    for index, block in enumerate(dialect.blocks(answer)):
        kind = block["type"]
        opened: dict[str, Any]
        deltas: list[dict[str, Any]]
        if kind == "thinking":
            opened = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            opened = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in pieces(block["text"])]
        else:
            opened = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            text = json.dumps(block["input"], ensure_ascii=False)
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas.extend({"type": "input_json_delta", "partial_json": p} for p in pieces(text, 16))
        events.append(_event("content_block_start", index=index, content_block=opened))
        if index == 0:
            events.append(_event("ping"))
        events.extend(_event("content_block_delta", index=index, delta=d) for d in deltas)
        events.append(_event("content_block_stop", index=index))
    stop = {
        "stop_reason": _STOP_REASONS.get(answer.finish_reason, "end_turn"),
        "stop_sequence": None,
    }
    usage = dialect._usage(request, dialect._output_tokens(answer))
    usage.pop("cache_creation")
    usage.pop("service_tier")
    events.append(_event("message_delta", delta=stop, usage=usage))
    events.append(_event("message_stop"))
    return tuple(events)


def anthropic_models_document() -> dict[str, Any]:
    """``GET /v1/models`` in Anthropic's shape (asked with Anthropic's headers).

    Lists the dated snapshot ids; each display name says it is a simulator.
    """
    created = dt.datetime.fromtimestamp(CREATED, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = [
        {
            "type": "model",
            "id": anthropic_snapshot(model),
            "display_name": (
                f"Reference simulator: {model.id.removeprefix('ref/')} (not a real model)"
            ),
            "created_at": created,
        }
        for model in REFERENCE_MODELS
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"],
        "last_id": data[-1]["id"],
        "simulator": True,
    }
