"""The OpenAI chat-completions wire protocol, parsed and normalized.

Pure functions over decoded bodies and SSE lines: no I/O (the clock is read
only to turn an HTTP-date ``Retry-After`` into seconds). They sit on every
model call's path, so the common case (a well-formed answer) takes the
shortest route and the repairs run only when something is off.

Every repair or oddity is named in a ``quirks`` tuple, never dropped silently:

- on a :class:`ToolCall`: ``empty_arguments`` (``""`` or none at all, read as
  ``{}``), ``object_arguments`` (an object where a JSON string belongs),
  ``double_encoded`` (a JSON string holding the JSON object), ``truncated_json``
  (a cut-off prefix of JSON), ``invalid_json``, ``non_object_arguments`` (a list,
  a number...), ``non_finite_number`` (``NaN`` / ``Infinity`` literals, kept as
  floats), ``missing_id`` / ``empty_id`` (``call_<index>`` made up),
  ``non_string_id``, ``missing_name``, ``missing_index`` (a streamed call that
  came without its own ``index``, or that reused the index of another call);
- on a :class:`ChatResponse`: ``stop_with_tool_calls``,
  ``missing_finish_reason``, ``tool_calls_without_calls``, ``keepalive_comments``
  (SSE comment lines such as ``: OPENROUTER PROCESSING``),
  ``sse_leading_whitespace``, ``unknown_sse_line``, ``data_after_done``,
  ``multiple_choices`` (only the first is read), ``content_parts`` (content sent
  as a list of parts), ``legacy_function_call``, ``malformed_usage`` and
  ``inconsistent_usage`` (a usage object that :meth:`Usage.from_openai` refuses,
  repaired by clamping each part to its whole).

An error answer is never returned as a clean stop: an error body, also inside
an HTTP 200 answer, on a choice or as a stream chunk, raises the
:class:`~clearance.errors.ProviderHTTPError` subclass :func:`classify_error`
picks; a body that is not a chat completion raises
:class:`~clearance.errors.MalformedResponse`.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ContentPolicyViolation,
    ContextLengthExceeded,
    InvalidUsage,
    MalformedResponse,
    ModelNotFound,
    PaymentRequired,
    ProviderHTTPError,
    ProviderServerError,
    RateLimited,
)
from clearance.pricing import Usage
from clearance.providers.types import ChatResponse, FinishReason, ToolCall

__all__ = [
    "StreamAssembler",
    "classify_error",
    "normalize_finish_reason",
    "normalize_tool_call",
    "parse_completion",
    "parse_sse",
]

_MESSAGE_LIMIT = 500
_BODY_LIMIT = 2000

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
    return _tool_call(index, raw_id, name, raw_arguments, ())


def _tool_call(
    index: int, raw_id: Any, name: Any, raw_arguments: Any, extra: tuple[str, ...]
) -> ToolCall:
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


_ArgumentsResult = tuple[
    dict[str, Any] | None,
    str | dict[str, Any] | list[Any] | int | float | bool | None,
    tuple[str, ...],
]


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


# ---------------------------------------------------------------------------------------------
# Errors

# Error codes (and Anthropic-style error types) that name the failure whatever the status.
_CODE_CLASSES: dict[str, type[ProviderHTTPError]] = {
    "rate_limit_exceeded": RateLimited,
    "rate_limit_error": RateLimited,
    "rate_limited": RateLimited,
    "too_many_requests": RateLimited,
    "resource_exhausted": RateLimited,
    "insufficient_quota": PaymentRequired,
    "insufficient_credits": PaymentRequired,
    "payment_required": PaymentRequired,
    "invalid_api_key": AuthenticationFailed,
    "authentication_error": AuthenticationFailed,
    "permission_error": AuthenticationFailed,
    "permission_denied": AuthenticationFailed,
    "unauthenticated": AuthenticationFailed,
    "model_not_found": ModelNotFound,
    "not_found_error": ModelNotFound,
    "context_length_exceeded": ContextLengthExceeded,
    "string_above_max_length": ContextLengthExceeded,
    "content_filter": ContentPolicyViolation,
    "content_policy_violation": ContentPolicyViolation,
    "moderation_blocked": ContentPolicyViolation,
    "responsibleaipolicyviolation": ContentPolicyViolation,
    "overloaded_error": ProviderServerError,
    "server_error": ProviderServerError,
    "internal_error": ProviderServerError,
    "api_error": ProviderServerError,
}
_STATUS_CLASSES: dict[int, type[ProviderHTTPError]] = {
    401: AuthenticationFailed,
    402: PaymentRequired,
    403: AuthenticationFailed,
    404: ModelNotFound,
    408: ProviderServerError,  # the provider timed out on its side: worth a retry
    429: RateLimited,
}
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "context window",
    "too many tokens",
    "prompt is too long",
    "input is too long",
    "reduce the length of the messages",
)
_CONTENT_MARKERS = (
    "content_filter",
    "content policy",
    "content management policy",
    "moderation",
    "flagged",
    "safety system",
)
_MODERATION_KEYS = ("flagged", "reasons", "flagged_input")
_SECRET = re.compile(
    r"\b(?:sk|gsk|hf|xai)[-_][A-Za-z0-9_\-*.]{8,}"
    r"|\bAIza[0-9A-Za-z_\-]{20,}"
    r"|(?i:bearer)\s+[A-Za-z0-9_\-.=+/]{8,}"
)


def classify_error(
    status_code: int,
    body: Any,
    headers: Mapping[str, str] | None,
    *,
    provider: str,
    model_id: str | None,
    api_key_env: str | None = None,
) -> ProviderHTTPError:
    """The typed error for an error answer (returned, not raised).

    The class comes from the error code or type in the body when it names the
    failure (``insufficient_quota``, ``context_length_exceeded``...), then from
    the status: for an error inside a 200 answer or a stream, OpenRouter's
    numeric ``error.code`` stands in for the status. 403 with OpenRouter's
    moderation metadata is a :class:`ContentPolicyViolation`; a 4xx whose
    message is about the context window a :class:`ContextLengthExceeded`.

    Args:
        status_code: the HTTP status (200 for an error inside a 200 answer or stream).
        body: the decoded JSON body, or its text.
        headers: the response headers, read for ``Retry-After``, ``Retry-After-Ms``
            and ``X-RateLimit-Reset`` (never copied into the error).
        provider: the provider's name.
        model_id: the catalog model id called.
        api_key_env: the variable the provider's key was read from, named by an
            :class:`AuthenticationFailed` (401/403).
    """
    decoded = _decode_error_body(body)
    error = _error_object(decoded)
    raw_code = error.get("code")
    error_type = error.get("type")
    metadata = error.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    status = status_code
    if status < 400:
        status = _status_like(raw_code) or 0
    code: str | None = None
    if raw_code is not None and raw_code != "":
        code = str(raw_code)
    elif isinstance(error_type, str) and error_type:
        code = error_type
    text = _redact(_error_text(error, decoded, metadata))

    cls = _choose_class(status, raw_code, error_type, text, metadata)
    where = "" if status_code >= 400 else "error inside a 200 answer: "
    fields: dict[str, Any] = {
        "provider": provider,
        "model_id": model_id,
        "status_code": status_code,
        "body": _redact_value(decoded),
        "code": code,
        "retry_after": _retry_after(headers, metadata),
    }
    if issubclass(cls, AuthenticationFailed):
        fields["api_key_env"] = api_key_env
    return cls(where + _truncate(text, _MESSAGE_LIMIT), **fields)


def _choose_class(
    status: int, raw_code: Any, error_type: Any, text: str, metadata: Mapping[str, Any]
) -> type[ProviderHTTPError]:
    if any(key in metadata for key in _MODERATION_KEYS):
        return ContentPolicyViolation
    for name in (raw_code, error_type):
        if isinstance(name, str):
            named = _CODE_CLASSES.get(name.lower())
            if named is not None:
                return named
    by_status = _STATUS_CLASSES.get(status)
    if by_status is not None:
        return by_status
    if status in (0, 400, 413, 422):
        lowered = text.lower()
        if any(marker in lowered for marker in _CONTEXT_MARKERS):
            return ContextLengthExceeded
        if any(marker in lowered for marker in _CONTENT_MARKERS):
            return ContentPolicyViolation
    if 400 <= status < 500:
        return BadRequest
    return ProviderServerError


def _status_like(code: Any) -> int | None:
    """OpenRouter's numeric ``error.code`` (the upstream HTTP status), if it is one."""
    if isinstance(code, bool):
        return None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and 400 <= code <= 599:
        return code
    return None


def _decode_error_body(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        stripped = body.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(stripped)
            except (ValueError, RecursionError):
                pass
        return body[:_BODY_LIMIT]
    if isinstance(body, Mapping) and not isinstance(body, dict):
        return dict(body)
    return body


def _error_object(decoded: Any) -> Mapping[str, Any]:
    """The ``error`` object of an error body, in whichever shape the provider sent it."""
    if isinstance(decoded, list) and decoded and isinstance(decoded[0], Mapping):
        decoded = decoded[0]  # Google's native errors come as a one-element list
    if isinstance(decoded, Mapping):
        error = decoded.get("error")
        if isinstance(error, Mapping):
            return error
        if isinstance(error, str):
            return {"message": error}
        message = decoded.get("message", decoded.get("detail"))
        if message is not None:
            return {"message": message, "code": decoded.get("code"), "type": decoded.get("type")}
        return {}
    if isinstance(decoded, str):
        return {"message": decoded}
    return {}


def _error_text(error: Mapping[str, Any], decoded: Any, metadata: Mapping[str, Any]) -> str:
    message = error.get("message")
    if message is None:
        message = decoded if error == {} else error
    text = message if isinstance(message, str) else _dump(message)
    raw = metadata.get("raw")
    if raw is not None:
        raw_text = raw if isinstance(raw, str) else _dump(raw)
        upstream = metadata.get("provider_name")
        text += f" ({upstream}: {raw_text})" if isinstance(upstream, str) else f" ({raw_text})"
    reasons = metadata.get("reasons")
    if isinstance(reasons, list) and reasons:
        text += f" (reasons: {', '.join(map(str, reasons))})"
    code = error.get("code")
    if isinstance(code, str) and code:
        text = f"[{code}] {text}"
    return text or "no error message"


def _redact(text: str) -> str:
    return _SECRET.sub("[redacted]", text) if text else text


def _redact_value(value: Any) -> Any:
    """A copy of a decoded body with anything that looks like an API key masked."""
    if isinstance(value, str):
        return _redact(value)
    if isinstance(value, Mapping):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    return value


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        return repr(value)


def _retry_after(headers: Mapping[str, str] | None, metadata: Mapping[str, Any]) -> float | None:
    """Seconds to wait, from the response headers or OpenRouter's upstream headers."""
    sources: list[Mapping[str, Any]] = []
    if headers:
        sources.append(headers)
    upstream = metadata.get("headers")
    if isinstance(upstream, Mapping):
        sources.append(upstream)
    for source in sources:
        lowered = {str(key).lower(): value for key, value in source.items()}
        milliseconds = _seconds(lowered.get("retry-after-ms"))
        if milliseconds is not None:
            return milliseconds / 1000
        for name, parse in (("retry-after", _retry_after_value), ("x-ratelimit-reset", _reset)):
            value = lowered.get(name)
            if value is not None:
                seconds = parse(value)
                if seconds is not None:
                    return seconds
    return None


def _seconds(value: Any) -> float | None:
    if isinstance(value, list | tuple) and value:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _retry_after_value(value: Any) -> float | None:
    """``Retry-After`` as delay-seconds or as an HTTP date."""
    seconds = _seconds(value)
    if seconds is not None or not isinstance(value, str):
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def _reset(value: Any) -> float | None:
    """``X-RateLimit-Reset``: an epoch time in milliseconds or seconds, or a delay."""
    number = _seconds(value)
    if number is None:
        return None
    if number > 1e11:
        return max(0.0, number / 1000 - time.time())
    if number > 1e9:
        return max(0.0, number - time.time())
    return number


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
            status_code, _choice_error(choice), None, provider=provider, model_id=model_id
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
            tool_calls = (_tool_call(0, None, legacy.get("name"), legacy.get("arguments"), ()),)

    if finish_raw is not None and type(finish_raw) is not str:
        finish_raw = str(finish_raw)
    finish, finish_quirks = normalize_finish_reason(finish_raw, has_tool_calls=bool(tool_calls))
    if finish_quirks:
        quirks.extend(finish_quirks)
    raw_usage = body.get("usage")
    usage = None if raw_usage is None else _usage(raw_usage, quirks)
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
    )


def _message_tool_call(index: int, call: Mapping[str, Any]) -> ToolCall:
    function = call.get("function")
    if not isinstance(function, Mapping):
        function = {}
    return _tool_call(index, call.get("id"), function.get("name"), function.get("arguments"), ())


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


def _choice_error(choice: Mapping[str, Any]) -> dict[str, Any]:
    error = choice.get("error")
    if error is None:
        error = {"message": "the provider ended the answer with finish_reason 'error'"}
    return {"error": error}


def _malformed(reason: str, body: Any, provider: str, model_id: str | None) -> MalformedResponse:
    text = body if isinstance(body, str) else _dump(body)
    return MalformedResponse(
        f"{reason}; not a chat completion", provider=provider, model_id=model_id, body=text
    )


def _usage(raw: Any, quirks: list[str]) -> Usage | None:
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


# ---------------------------------------------------------------------------------------------
# Streams


class _CallBuilder:
    """One streamed tool call, assembled from its deltas."""

    __slots__ = ("arguments", "id", "name", "object_arguments", "quirks", "saw_empty_id")

    def __init__(self) -> None:
        self.id: str | None = None
        self.saw_empty_id = False
        self.name = ""
        self.arguments: list[str] = []
        self.object_arguments: Any = None
        self.quirks: tuple[str, ...] = ()


class StreamAssembler:
    """Assembles a streamed (SSE) chat completion, one line or chunk at a time.

    Content, reasoning (``delta.reasoning`` / ``reasoning_content``) and
    tool-call deltas are joined; the last non-null finish reason, the last
    usage, and the first model, id and OpenRouter ``provider`` are kept. An
    error chunk raises its typed error from the feed call that carries it.
    """

    __slots__ = (
        "_by_index",
        "_calls",
        "_chunks",
        "_content",
        "_done",
        "_event",
        "_finish_raw",
        "_model",
        "_model_id",
        "_provider",
        "_quirks",
        "_reasoning",
        "_refusal",
        "_response_id",
        "_served_by",
        "_usage",
        "last_chunk",
    )

    def __init__(self, provider: str, model_id: str | None) -> None:
        self._provider = provider
        self._model_id = model_id
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: list[_CallBuilder] = []
        self._by_index: dict[int, _CallBuilder] = {}
        self._finish_raw: str | None = None
        self._usage: Any = None
        self._model: str | None = None
        self._response_id: str | None = None
        self._served_by: str | None = None
        self._quirks: list[str] = []
        self._done = False
        self._event: str | None = None
        self._chunks = 0
        self.last_chunk: Mapping[str, Any] | None = None
        """The chunk the last feed call took (``None`` when its line held none), for callbacks."""

    def feed_line(self, line: str) -> None:
        """Take one SSE line (``data: {...}``, ``data: [DONE]``, a comment, ``event:``, blank).

        Raises:
            ProviderHTTPError: the line carries an error chunk.
            MalformedResponse: a ``data:`` line whose JSON does not decode.
        """
        self.last_chunk = None
        if line.startswith("data:"):
            self._data(line[5:])
            return
        line = line.rstrip("\r\n")
        if not line:
            self._event = None  # a blank line ends the event
            return
        if line[0] == ":":
            self._quirk("keepalive_comments")
            return
        if line[0].isspace():
            self._quirk("sse_leading_whitespace")
            self.feed_line(line.lstrip())
            return
        if line.startswith("event:"):
            self._event = line[6:].strip()
        elif not line.startswith(("id:", "retry:")):
            self._quirk("unknown_sse_line")

    def _data(self, payload: str) -> None:
        payload = payload.strip()
        if payload == "[DONE]":
            self._done = True
            return
        if not payload:
            return
        if self._done:
            self._quirk("data_after_done")
        try:
            chunk = json.loads(payload)
        except (ValueError, RecursionError):
            raise MalformedResponse(
                "a `data:` line of the stream is not valid JSON",
                provider=self._provider,
                model_id=self._model_id,
                body=payload,
            ) from None
        if self._event == "error" and isinstance(chunk, Mapping) and "error" not in chunk:
            chunk = {"error": chunk}
        self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Mapping[str, Any]) -> None:
        """Take one decoded ``chat.completion.chunk``.

        Raises:
            ProviderHTTPError: the chunk is an error, or its choice ends with an error.
            MalformedResponse: the chunk is not a chunk object.
        """
        if not isinstance(chunk, Mapping):
            raise self._malformed("a stream chunk is not a JSON object", chunk)
        if chunk.get("error") is not None:
            raise classify_error(200, chunk, None, provider=self._provider, model_id=self._model_id)
        self._chunks += 1
        if self._model is None or self._response_id is None or self._served_by is None:
            self._identify(chunk)
        usage = chunk.get("usage")
        if usage is not None:
            self._usage = usage
        self.last_chunk = chunk
        choices = chunk.get("choices")
        if not choices:
            return
        if type(choices) is not list:
            raise self._malformed("`choices` of a stream chunk is not a list", chunk)
        for choice in choices:
            if not isinstance(choice, Mapping):
                raise self._malformed("a choice of a stream chunk is not an object", chunk)
            if choice.get("index") not in (0, None):
                self._quirk("multiple_choices")
                continue
            self._choice(choice, chunk)

    def _identify(self, chunk: Mapping[str, Any]) -> None:
        """Keep the first model, id and OpenRouter ``provider`` the stream names."""
        model, response_id, served_by = chunk.get("model"), chunk.get("id"), chunk.get("provider")
        if self._model is None and type(model) is str and model:
            self._model = model
        if self._response_id is None and type(response_id) is str and response_id:
            self._response_id = response_id
        if self._served_by is None and type(served_by) is str and served_by:
            self._served_by = served_by

    def _choice(self, choice: Mapping[str, Any], chunk: Mapping[str, Any]) -> None:
        finish = choice.get("finish_reason")
        if choice.get("error") is not None or finish == "error":
            raise classify_error(
                200,
                _choice_error(choice),
                None,
                provider=self._provider,
                model_id=self._model_id,
            )
        if finish:
            self._finish_raw = finish if type(finish) is str else str(finish)
        delta = choice.get("delta")
        if delta is None:
            delta = choice.get("message")
            if delta is None:
                return
        if not isinstance(delta, Mapping):
            raise self._malformed("`delta` of a stream chunk is not an object", chunk)
        content = delta.get("content")
        if content:
            if type(content) is not str:
                raise self._malformed("`delta.content` is not text", chunk)
            self._content.append(content)
        reasoning = delta.get("reasoning") or delta.get("reasoning_content")
        if reasoning and type(reasoning) is str:
            self._reasoning.append(reasoning)
        refusal = delta.get("refusal")
        if refusal and type(refusal) is str:
            self._refusal.append(refusal)
        tool_calls = delta.get("tool_calls")
        if tool_calls:
            if type(tool_calls) is not list:
                raise self._malformed("`delta.tool_calls` is not a list", chunk)
            for call in tool_calls:
                if not isinstance(call, Mapping):
                    raise self._malformed("a tool-call delta is not an object", chunk)
                self._tool_delta(call.get("index"), call.get("id"), call.get("function"))
        else:
            legacy = delta.get("function_call")
            if isinstance(legacy, Mapping):
                self._quirk("legacy_function_call")
                self._tool_delta(0, None, legacy)

    def _tool_delta(self, index: Any, raw_id: Any, function: Any) -> None:
        if not isinstance(function, Mapping):
            function = {}
        name = function.get("name")
        new_id = raw_id if type(raw_id) is str and raw_id else None
        has_index = type(index) is int
        found = (
            self._by_index.get(index) if has_index else (self._calls[-1] if self._calls else None)
        )
        if found is None:
            current = self._start_call(index if has_index else None, collided=False)
        else:
            if new_id is not None:
                # Same id: the provider repeated the call (kimi-k2 on Novita does); another
                # id: a new call that reuses the index (or came without one).
                start = found.id != new_id if found.id is not None else bool(found.name)
            else:
                start = bool(name) and bool(found.name)
            if start:
                current = self._start_call(index if has_index else None, collided=True)
            else:
                current = found
                if not has_index and "missing_index" not in current.quirks:
                    current.quirks = (*current.quirks, "missing_index")
        if new_id is not None and current.id is None:
            current.id = new_id
        elif raw_id == "":
            current.saw_empty_id = True
        if name and not current.name:
            current.name = str(name)
        arguments = function.get("arguments")
        if type(arguments) is str:
            if arguments:
                current.arguments.append(arguments)
        elif arguments is not None:
            current.object_arguments = arguments

    def _start_call(self, index: int | None, *, collided: bool) -> _CallBuilder:
        call = _CallBuilder()
        if collided or index is None:
            call.quirks = ("missing_index",)
        self._calls.append(call)
        if index is not None:
            self._by_index[index] = call
        return call

    def result(self) -> ChatResponse:
        """The assembled answer.

        Raises:
            MalformedResponse: the stream ended before ``[DONE]`` and before any
                finish reason, or carried no chunk at all.
        """
        if not self._done and self._finish_raw is None:
            raise self._malformed("the stream ended early (no finish reason, no [DONE])", None)
        if not self._chunks:
            raise self._malformed("the stream carried no chunk", None)
        quirks = list(self._quirks)
        tool_calls = tuple(self._built_call(i, call) for i, call in enumerate(self._calls))
        finish, finish_quirks = normalize_finish_reason(
            self._finish_raw, has_tool_calls=bool(tool_calls)
        )
        quirks.extend(finish_quirks)
        usage = None if self._usage is None else _usage(self._usage, quirks)
        return ChatResponse(
            content="".join(self._content) or None,
            tool_calls=tool_calls,
            finish_reason=finish,
            finish_reason_raw=self._finish_raw,
            usage=usage,
            model=self._model,
            response_id=self._response_id,
            served_by=self._served_by,
            reasoning="".join(self._reasoning) or None,
            refusal="".join(self._refusal) or None,
            quirks=tuple(quirks),
            raw=None,
        )

    def _built_call(self, index: int, call: _CallBuilder) -> ToolCall:
        if call.arguments:
            raw: Any = "".join(call.arguments)
        elif call.object_arguments is not None:
            raw = call.object_arguments
        else:
            raw = None
        raw_id = call.id if call.id is not None else ("" if call.saw_empty_id else None)
        return _tool_call(index, raw_id, call.name, raw, call.quirks)

    def _quirk(self, name: str) -> None:
        if name not in self._quirks:
            self._quirks.append(name)

    def _malformed(self, reason: str, chunk: Any) -> MalformedResponse:
        text = "".join(self._content) if chunk is None else _dump(chunk)
        return MalformedResponse(
            f"{reason}; not a chat-completions stream",
            provider=self._provider,
            model_id=self._model_id,
            body=text,
        )


def parse_sse(text: str, *, provider: str, model_id: str | None) -> ChatResponse:
    """A whole SSE body, assembled (see :class:`StreamAssembler`)."""
    assembler = StreamAssembler(provider, model_id)
    if "\r" in text:
        # JSON cannot hold a raw CR, so every CR is a line ending (CRLF or a lone CR).
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        assembler.feed_line(line)
    return assembler.result()
