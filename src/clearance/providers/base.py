"""The provider protocol: what the router needs from any chat-completions backend."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from clearance.providers.types import NATIVE_KEY, ChatResponse

__all__ = ["ChatRequest", "ChunkCallback", "Provider", "ProviderReply", "tool_schemas"]

ChunkCallback = Callable[[Mapping[str, Any]], None]
"""Called with each decoded stream chunk, for callers that show text as it arrives."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat request, independent of the model it is sent to."""

    messages: Sequence[Mapping[str, Any]]
    """OpenAI chat messages (``role``, ``content``, ``tool_calls``, ``tool_call_id``)."""
    tools: Sequence[Mapping[str, Any]] | None = None
    """OpenAI function tools: ``{"type": "function", "function": {name, description,
    parameters}}``."""
    tool_choice: str | Mapping[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Further body fields passed through as they are (``seed``, ``response_format``, ...)."""

    def body(self, model_name: str) -> dict[str, Any]:
        """The JSON body for ``POST /chat/completions`` (a native turn kept on an assistant
        message, :data:`~clearance.providers.types.NATIVE_KEY`, is left out)."""
        body: dict[str, Any] = {
            "model": model_name,
            "messages": [
                message
                if NATIVE_KEY not in message
                else {k: v for k, v in message.items() if k != NATIVE_KEY}
                for message in self.messages
            ],
        }
        if self.tools:
            body["tools"] = list(self.tools)
        if self.tool_choice is not None:
            body["tool_choice"] = self.tool_choice
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(self.extra)
        return body

    def tool_schemas(self) -> dict[str, Any]:
        """Tool name to the parameters schema sent, for checking the calls that come back."""
        return tool_schemas(self.tools)


def tool_schemas(tools: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """Tool name to its parameters schema, from OpenAI function tools."""
    schemas: dict[str, Any] = {}
    for tool in tools or ():
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            schemas[function["name"]] = function.get("parameters") or {"type": "object"}
    return schemas


@dataclass(frozen=True, slots=True)
class ProviderReply:
    """A provider's answer and how long clearance waited for it."""

    response: ChatResponse
    wait_s: float
    """Seconds from sending the request to having read the whole answer."""
    status_code: int = 200


@runtime_checkable
class Provider(Protocol):
    """A chat-completions backend, called with the provider's own model name."""

    name: str

    def complete(
        self,
        model_name: str,
        request: ChatRequest,
        *,
        model_id: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> ProviderReply:
        """Send one request and return the normalized answer (raises ProviderError).

        ``timeout_s`` (default: the provider's own) bounds this attempt from the request
        to the last byte of the answer, a stream included; ``deadline_s`` is what is left
        of the whole call's deadline, which ends the attempt sooner when it is shorter.
        Running out of either raises :class:`~clearance.errors.ProviderTimeout` naming it.
        """
        ...

    async def acomplete(
        self,
        model_name: str,
        request: ChatRequest,
        *,
        model_id: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> ProviderReply:
        """The same, without blocking the event loop."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    async def aclose(self) -> None:
        """Release connections held by the async client."""
        ...
