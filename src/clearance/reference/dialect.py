"""How a wire protocol writes what a simulated model does: the :class:`Dialect` protocol.

The behaviours (:mod:`clearance.reference.behaviours`) decide *what* happens to a
request: an answer, a failure with a status, a prompt too long for the window, an error
inside a 200 answer. A dialect decides how that looks on its wire: OpenAI chat
completions (:class:`OpenAIDialect`, here), Anthropic Messages
(:mod:`clearance.reference.anthropic_wire`) or Gemini
(:mod:`clearance.reference.gemini_wire`). So every behaviour answers the same on every
protocol, each in its own shapes.

A dialect is a frozen value: what it holds (the name a reply echoes, whether thinking
was asked for, ...) comes from the request, and the simulator keeps replies by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clearance.reference.catalog import CREATED
from clearance.reference.request import ChatRequest
from clearance.reference.wire import (
    PROVIDER,
    Answer,
    Reply,
    completion_body,
    error_reply,
    event,
    openrouter_error,
    stream_events,
)

__all__ = ["OPENAI", "Dialect", "OpenAIDialect"]


class Dialect(Protocol):
    """How one protocol writes the simulator's replies (a frozen, hashable value)."""

    def success(self, request: ChatRequest, answer: Answer, tag: str) -> Reply:
        """The answer, plain or streamed as ``request.stream`` says.

        Args:
            request: the checked request.
            answer: what the simulated model says.
            tag: a hex digest of (seed, request) that ids are drawn from.
        """
        ...

    def failure(self, status: int, message: str, *, retry_after_s: int) -> Reply:
        """A provider failure with this HTTP status (a 429 says when to retry)."""
        ...

    def unknown_model(self, name: str) -> Reply:
        """The answer to a model name the simulator does not serve."""
        ...

    def too_long(self, prompt_tokens: int, limit: int) -> Reply:
        """The answer to a prompt longer than the model's context window."""
        ...

    def broken(self, request: ChatRequest, tag: str, first: str | None, message: str) -> Reply:
        """An error inside a 200 answer: the whole body, or (streamed) after ``first``.

        Args:
            request: the checked request.
            tag: as for :meth:`success`.
            first: the text sent before the error in a stream (``None``: the error at once).
            message: the error's message.
        """
        ...


@dataclass(frozen=True, slots=True)
class OpenAIDialect:
    """OpenAI chat completions, with OpenRouter's error bodies for provider failures."""

    def success(self, request: ChatRequest, answer: Answer, tag: str) -> Reply:
        """A ``chat.completion``, or its ``chat.completion.chunk`` stream."""
        rid = response_id(tag)
        if request.stream:
            events = stream_events(
                rid,
                request.model,
                answer,
                request.prompt_tokens,
                include_usage=request.include_usage,
            )
            return Reply(200, content_type="text/event-stream", events=events)
        return Reply.json(200, completion_body(rid, request.model, answer, request.prompt_tokens))

    def failure(self, status: int, message: str, *, retry_after_s: int) -> Reply:
        """OpenRouter's error body (``Retry-After`` on a 429)."""
        headers = (("retry-after", str(retry_after_s)),) if status == 429 else ()
        return Reply.json(status, openrouter_error(status, message), headers)

    def unknown_model(self, name: str) -> Reply:
        """OpenAI's 404 ``model_not_found``."""
        return error_reply(
            404,
            f"The model {name!r} does not exist on the reference provider; "
            "GET /v1/models lists the simulated models",
            "model_not_found",
            param="model",
        )

    def too_long(self, prompt_tokens: int, limit: int) -> Reply:
        """OpenAI's 400 ``context_length_exceeded``."""
        message = (
            f"This model's maximum context length is {limit} tokens. "
            f"However, your messages resulted in {prompt_tokens} tokens. "
            "Please reduce the length of the messages."
        )
        return error_reply(400, message, "context_length_exceeded", param="messages")

    def broken(self, request: ChatRequest, tag: str, first: str | None, message: str) -> Reply:
        """OpenRouter's error body in a 200 answer, or in a chunk with ``finish_reason: error``."""
        error = openrouter_error(502, message)
        if not request.stream:
            return Reply.json(200, error)
        base = {
            "id": response_id(tag),
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": request.model,
            "provider": PROVIDER,
        }
        events = []
        if first is not None:
            delta = {"role": "assistant", "content": first}
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
            events.append(event({**base, "choices": [choice]}))
        failed = {"index": 0, "delta": {"content": ""}, "logprobs": None, "finish_reason": "error"}
        events.append(event({**base, **error, "choices": [failed]}))
        return Reply(200, content_type="text/event-stream", events=tuple(events))


def response_id(tag: str) -> str:
    """An OpenAI-style answer id drawn from a digest."""
    return "chatcmpl-ref-" + tag[:24]


OPENAI = OpenAIDialect()
"""The dialect of ``POST /v1/chat/completions``."""
