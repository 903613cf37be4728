"""The OpenAI chat-completions format: one whole (non-streaming) answer.

:func:`parse_completion` reads a ``chat.completion`` body (OpenAI's, and every
OpenAI-compatible provider's: OpenRouter, Groq, Together...) into a
:class:`ChatResponse`: content (also sent as a list of parts), reasoning,
refusal, tool calls (also the legacy ``function_call``), the finish reason, and
the ``usage`` object, repaired and marked when :meth:`Usage.from_openai`
refuses it. :func:`read_usage` and :func:`choice_error` serve the streamed form
too (:mod:`clearance.providers.wire.openai_stream`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearance.errors import InvalidUsage, MalformedResponse
from clearance.pricing import Usage
from clearance.providers.types import ChatResponse, ToolCall
from clearance.providers.wire.failures import body_text, classify_error
from clearance.providers.wire.normalize import build_tool_call, normalize_finish_reason

__all__ = ["choice_error", "parse_completion", "read_usage"]

# ---------------------------------------------------------------------------------------------
# Non-streaming answers


def parse_completion(
    body: Mapping[str, Any], *, provider: str, model_id: str | None, status_code: int = 200
) -> ChatResponse:
    """A non-streaming chat completion, normalized.

    Raises:
        ProviderHTTPError: the body is an error (a subclass picked by
            :func:`classify_error`), including an error inside a 200 answer, an
            error on the choice, or ``finish_reason: "error"``.
        MalformedResponse: the body is not a chat completion.
    """
    if status_code >= 400 or (isinstance(body, Mapping) and body.get("error") is not None):
        raise classify_error(status_code, body, None, provider=provider, model_id=model_id)
    if not isinstance(body, Mapping):
        raise _malformed("the answer is not a JSON object", body, provider, model_id)
    choices = body.get("choices")
    if type(choices) is not list or not choices:
        raise _malformed("the answer has no `choices` list", body, provider, model_id)
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, Mapping) else None
    if not isinstance(message, Mapping):
        raise _malformed("`choices[0].message` is not an object", body, provider, model_id)
    finish_raw = choice.get("finish_reason")
    if choice.get("error") is not None or finish_raw == "error":
        raise classify_error(
            status_code, choice_error(choice), None, provider=provider, model_id=model_id
        )

    quirks: list[str] = []
    if len(choices) > 1:
        quirks.append("multiple_choices")
    content = message.get("content")
    if type(content) is not str:
        content = _content_parts(content, quirks, body, provider, model_id)
    reasoning = message.get("reasoning")
    if type(reasoning) is not str:
        reasoning = message.get("reasoning_content")
    refusal = message.get("refusal")

    raw_calls = message.get("tool_calls")
    tool_calls: tuple[ToolCall, ...] = ()
    if raw_calls:
        if type(raw_calls) is not list:
            raise _malformed("`message.tool_calls` is not a list", body, provider, model_id)
        if not all(isinstance(call, Mapping) for call in raw_calls):
            raise _malformed("a tool call is not an object", body, provider, model_id)
        tool_calls = tuple(_message_tool_call(i, call) for i, call in enumerate(raw_calls))
    else:
        legacy = message.get("function_call")
        if isinstance(legacy, Mapping) and legacy.get("name"):
            quirks.append("legacy_function_call")
            tool_calls = (
                build_tool_call(0, None, legacy.get("name"), legacy.get("arguments"), ()),
            )

    if finish_raw is not None and type(finish_raw) is not str:
        finish_raw = str(finish_raw)
    finish, finish_quirks = normalize_finish_reason(finish_raw, has_tool_calls=bool(tool_calls))
    if finish_quirks:
        quirks.extend(finish_quirks)
    raw_usage = body.get("usage")
    usage = None if raw_usage is None else read_usage(raw_usage, quirks)
    model, response_id, served_by = body.get("model"), body.get("id"), body.get("provider")
    return ChatResponse(
        content=content or None,
        tool_calls=tool_calls,
        finish_reason=finish,
        finish_reason_raw=finish_raw,
        usage=usage,
        model=model if type(model) is str and model else None,
        response_id=response_id if type(response_id) is str and response_id else None,
        served_by=served_by if type(served_by) is str and served_by else None,
        reasoning=reasoning if type(reasoning) is str and reasoning else None,
        refusal=refusal if type(refusal) is str and refusal else None,
        quirks=tuple(quirks),
        raw=body if type(body) is dict else dict(body),
        system_fingerprint=_text(body.get("system_fingerprint")),
    )


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _message_tool_call(index: int, call: Mapping[str, Any]) -> ToolCall:
    function = call.get("function")
    if not isinstance(function, Mapping):
        function = {}
    return build_tool_call(
        index, call.get("id"), function.get("name"), function.get("arguments"), ()
    )


def _content_parts(
    content: Any, quirks: list[str], body: Any, provider: str, model_id: str | None
) -> str | None:
    """Content sent as a list of parts (``[{"type": "text", "text": ...}]``): the text joined."""
    if content is None:
        return None
    if type(content) is list:
        quirks.append("content_parts")
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping)
            and part.get("type", "text") == "text"
            and isinstance(part.get("text"), str)
        )
    raise _malformed("`message.content` is neither text nor a list", body, provider, model_id)


def choice_error(choice: Mapping[str, Any]) -> dict[str, Any]:
    """The error body a choice ending in error stands for, for :func:`classify_error`."""
    error = choice.get("error")
    if error is None:
        error = {"message": "the provider ended the answer with finish_reason 'error'"}
    return {"error": error}


def _malformed(reason: str, body: Any, provider: str, model_id: str | None) -> MalformedResponse:
    text = body if isinstance(body, str) else body_text(body)
    return MalformedResponse(
        f"{reason}; not a chat completion", provider=provider, model_id=model_id, body=text
    )


def read_usage(raw: Any, quirks: list[str]) -> Usage | None:
    """``usage`` read by :meth:`Usage.from_openai`; repaired (and marked) when it refuses."""
    if not isinstance(raw, Mapping):
        quirks.append("malformed_usage")
        return None
    data = raw if type(raw) is dict else dict(raw)
    try:
        return Usage.from_openai(data)
    except (InvalidUsage, ValueError, TypeError, ArithmeticError, AttributeError):
        quirks.append("inconsistent_usage")
        return _repaired_usage(data)


def _repaired_usage(data: Mapping[str, Any]) -> Usage:
    """Each count made a non-negative integer and clamped to the whole it is a part of."""
    prompt_details = data.get("prompt_tokens_details")
    completion_details = data.get("completion_tokens_details")
    if not isinstance(prompt_details, Mapping):
        prompt_details = {}
    if not isinstance(completion_details, Mapping):
        completion_details = {}
    prompt = _count(data.get("prompt_tokens"))
    completion = _count(data.get("completion_tokens"))
    cached = min(_count(prompt_details.get("cached_tokens")), prompt)
    written = min(_count(prompt_details.get("cache_write_tokens")), prompt - cached)
    reasoning = min(_count(completion_details.get("reasoning_tokens")), completion)
    try:
        cost = Usage.from_openai(
            {
                "cost": data.get("cost"),
                "is_byok": data.get("is_byok"),
                "cost_details": data.get("cost_details"),
            }
        ).reported_cost
    except (InvalidUsage, ValueError, TypeError, ArithmeticError, AttributeError):
        cost = None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=reasoning,
        reported_cost=cost,
    )


def _count(value: Any) -> int:
    try:
        number = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(number, 0)
