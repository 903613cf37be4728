"""What a provider answers, normalized: messages, tool calls, finish reasons, usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from clearance.pricing import Usage

__all__ = [
    "FINISH_REASONS",
    "NATIVE_KEY",
    "PROTOCOLS",
    "ChatResponse",
    "FinishReason",
    "NativeTurn",
    "Protocol",
    "ToolCall",
]

Protocol = Literal["openai", "anthropic", "gemini"]
"""A wire protocol: OpenAI chat completions, Anthropic Messages, Google Gemini."""
PROTOCOLS: tuple[Protocol, ...] = ("openai", "anthropic", "gemini")

NATIVE_KEY = "clearance_native"
"""The key of an assistant message (OpenAI form) that carries the turn as its provider
sent it (:meth:`NativeTurn.as_message_field`), so that the next request gives a
native provider back its own blocks unchanged (Anthropic ``thinking`` signatures,
Gemini ``thoughtSignature`` parts). The OpenAI-compatible provider never sends it."""

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]
FINISH_REASONS: tuple[FinishReason, ...] = (
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "error",
    "other",
)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call, normalized, with what the provider sent kept beside it.

    ``arguments`` is the parsed JSON object, or ``None`` when the raw arguments
    do not decode to an object; ``quirks`` names every repair or oddity seen
    (``empty_arguments``, ``object_arguments``, ``double_encoded``,
    ``invalid_json``, ``truncated_json``, ``non_object_arguments``,
    ``missing_id``, ``empty_id``, ``missing_index``).
    """

    index: int
    """Position among the message's tool calls (0-based)."""
    id: str
    """The provider's id, or ``call_<index>`` made up when it sent none or ``''``."""
    name: str
    """The tool name as sent."""
    arguments: dict[str, Any] | None
    """Decoded arguments, or ``None`` when they are not a JSON object."""
    raw_arguments: str | dict[str, Any] | list[Any] | int | float | bool | None
    """The arguments exactly as sent (usually a JSON string)."""
    quirks: tuple[str, ...] = ()

    @property
    def valid_json(self) -> bool:
        """Whether the arguments decoded to a JSON object."""
        return self.arguments is not None


@dataclass(frozen=True, slots=True)
class NativeTurn:
    """An assistant turn exactly as a native protocol sent it, to be sent back unchanged.

    Anthropic's ``thinking`` and ``redacted_thinking`` blocks must come back with their
    signatures, and Gemini's ``thoughtSignature`` parts likewise; rebuilding them from
    the normalized answer would lose them, so the provider keeps the decoded content.
    """

    protocol: Protocol
    content: tuple[Any, ...]
    """Anthropic content blocks, or Gemini parts, as decoded from the answer."""

    def as_message_field(self) -> dict[str, Any]:
        """The value stored under :data:`NATIVE_KEY` in an assistant message."""
        return {"protocol": self.protocol, "content": list(self.content)}


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """One chat completion, from a plain answer or an assembled stream."""

    content: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: FinishReason
    finish_reason_raw: str | None
    """The provider's own finish reason (kept when it is outside the closed set)."""
    usage: Usage | None
    model: str | None = None
    """The model the provider says answered (may differ from the one asked for)."""
    response_id: str | None = None
    served_by: str | None = None
    """OpenRouter's ``provider`` field: the upstream that served it."""
    reasoning: str | None = None
    refusal: str | None = None
    quirks: tuple[str, ...] = ()
    """Response-level oddities (``stop_with_tool_calls``, ``keepalive_comments``, ...)."""
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """The decoded body (for a stream: None)."""
    system_fingerprint: str | None = None
    """OpenAI's ``system_fingerprint``: the backend configuration that served it."""
    native: NativeTurn | None = field(default=None, repr=False, compare=False)
    """The turn in the provider's own form (native protocols only), for sending back."""

    @property
    def snapshot(self) -> str | None:
        """The provider-reported identity of what answered: ``model`` (Anthropic's
        ``model``, Gemini's ``modelVersion``), with OpenAI's ``system_fingerprint`` after
        an ``@`` when there is one. ``None`` when the provider named nothing."""
        if self.model is None:
            return None if self.system_fingerprint is None else f"@{self.system_fingerprint}"
        if self.system_fingerprint is None:
            return self.model
        return f"{self.model}@{self.system_fingerprint}"
