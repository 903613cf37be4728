"""What the reference provider sends: replies, completions, stream chunks, error bodies.

Bodies follow the OpenAI chat-completions wire format (with OpenRouter's
``provider`` field), and errors come in the two shapes clients meet:
OpenAI's ``{"error": {"message", "type", "code"}}`` for a bad request, and
OpenRouter's ``{"error": {"code": 429, "message", "metadata"}}`` for a
provider failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from clearance.reference.catalog import CREATED

__all__ = [
    "DONE",
    "PROVIDER",
    "Answer",
    "OutCall",
    "Reply",
    "completion_body",
    "dumps",
    "error_reply",
    "event",
    "openai_error",
    "openrouter_error",
    "pieces",
    "stream_events",
    "usage",
]

PROVIDER = "clearance-reference"
"""The ``provider`` every answer names (OpenRouter's field for the upstream that served it)."""


def dumps(document: Any) -> bytes:
    """Compact, deterministic JSON bytes."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer, before it is written."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"
    events: tuple[bytes, ...] | None = None
    """For a stream: each server-sent event, already framed (``data: ...\\n\\n``)."""
    delay_s: float = 0.0
    """Seconds to wait before answering; ``math.inf`` waits until the client or server stops."""

    @classmethod
    def json(cls, status: int, document: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        """A JSON reply."""
        return cls(status, dumps(document), headers)


@dataclass(frozen=True, slots=True)
class OutCall:
    """A tool call as sent: ``arguments`` is the JSON text (which a fault may break)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What the simulated model says: text, or tool calls."""

    content: str | None
    tool_calls: tuple[OutCall, ...]
    finish_reason: str
    fault: str | None = None
    """The fault ``ref/sloppy`` put in (sent as the ``x-reference-fault`` header only)."""

    @property
    def completion_tokens(self) -> int:
        """``len(output) // 4``, at least 1 (output: the text, or names plus arguments)."""
        size = len(self.content or "")
        size += sum(len(call.name) + len(call.arguments) for call in self.tool_calls)
        return max(1, size // 4)


def openai_error(
    message: str, kind: str, code: str | None, *, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def openrouter_error(
    code: int, message: str, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """OpenRouter's error body (a numeric ``code``, the HTTP status it stands for)."""
    error: dict[str, Any] = {"code": code, "message": message}
    error["metadata"] = {"provider_name": PROVIDER, **(metadata or {})}
    return {"error": error}


def error_reply(
    status: int,
    message: str,
    code: str | None,
    *,
    kind: str = "invalid_request_error",
    param: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Reply:
    """An OpenAI-style error reply."""
    return Reply.json(status, openai_error(message, kind, code, param=param), headers)


def usage(prompt_tokens: int, answer: Answer) -> dict[str, int]:
    """The usage object."""
    completion = answer.completion_tokens
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


def _call(call: OutCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def completion_body(
    response_id: str, model: str, answer: Answer, prompt_tokens: int
) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
    if answer.tool_calls:
        message["tool_calls"] = [_call(call) for call in answer.tool_calls]
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "provider": PROVIDER,
        "system_fingerprint": "reference-simulator",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": usage(prompt_tokens, answer),
    }


_PIECE = re.compile(r"(?:\S+\s*){1,4}|\s+")


def pieces(text: str, size: int = 0) -> list[str]:
    """A text cut the way a stream delivers it: four words, or ``size`` characters, a piece."""
    if size:
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]
    return _PIECE.findall(text) or [""]


def event(document: Any) -> bytes:
    """One server-sent event."""
    return b"data: " + dumps(document) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def stream_events(
    response_id: str,
    model: str,
    answer: Answer,
    prompt_tokens: int,
    *,
    include_usage: bool,
) -> tuple[bytes, ...]:
    """The answer as ``chat.completion.chunk`` events, ending with ``[DONE]``.

    The first chunk carries the role; text comes four words a chunk; each tool
    call comes as a header (id, name, empty arguments) and then its arguments
    in 16-character pieces; the last choice chunk carries the finish reason;
    with ``include_usage``, a final chunk with no choices carries the usage.
    """
    base: dict[str, Any] = {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "provider": PROVIDER,
        "system_fingerprint": "reference-simulator",
    }
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return event({**base, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""})]
    if answer.content:
        events.extend(chunk({"content": piece}) for piece in pieces(answer.content))
    for index, call in enumerate(answer.tool_calls):
        header = {"index": index, "id": call.id, "type": "function"}
        header["function"] = {"name": call.name, "arguments": ""}
        events.append(chunk({"tool_calls": [header]}))
        for piece in pieces(call.arguments, 16) if call.arguments else []:
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    events.append(chunk({}, answer.finish_reason))
    if include_usage:
        events.append(event({**base, "choices": [], "usage": usage(prompt_tokens, answer)}))
    events.append(DONE)
    return tuple(events)
