"""Error answers classified: the typed error a provider's error body stands for.

:func:`classify_error` picks the :class:`~clearance.errors.ProviderHTTPError`
subclass for an error answer (from the error code or type in the body, then
the status), reads how long to wait from ``Retry-After``, ``Retry-After-Ms``,
``X-RateLimit-Reset``, OpenRouter's upstream headers or Google's ``RetryInfo``
detail, and masks anything that looks like an API key in the message and the
body it keeps. It reads the error shapes of every format (OpenAI's and
OpenRouter's ``error`` object, Anthropic's error types, Google's ``status`` and
``ErrorInfo`` reason, also in a one-element list), so each format module
calls it rather than classifying its own errors. Named ``failures``, not
``errors``, to stay apart from :mod:`clearance.errors`, where the classes
live; :mod:`clearance.providers.transport_errors` handles failures below HTTP.
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

from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ContentPolicyViolation,
    ContextLengthExceeded,
    ModelNotFound,
    PaymentRequired,
    ProviderHTTPError,
    ProviderServerError,
    RateLimited,
)

__all__ = ["body_text", "classify_error"]

_MESSAGE_LIMIT = 500
_BODY_LIMIT = 2000

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
    # Anthropic: 402 billing_error; 504 timeout_error (its side timed out: worth a retry);
    # a 429 rate_limit_error whose error.details.error_code says the month's spend cap is
    # reached, which no retry fixes before the month ends
    "billing_error": PaymentRequired,
    "timeout_error": ProviderServerError,
    "enforced_spend_limit_reached": PaymentRequired,
    # Google's canonical statuses (error.status) and ErrorInfo reasons; RESOURCE_EXHAUSTED,
    # PERMISSION_DENIED and UNAUTHENTICATED are above. A bad key is a 400 INVALID_ARGUMENT
    # whose ErrorInfo reason is API_KEY_INVALID.
    "api_key_invalid": AuthenticationFailed,
    "unavailable": ProviderServerError,
    "deadline_exceeded": ProviderServerError,
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
    "exceeds the maximum number of tokens",  # Gemini: "The input token count (N) exceeds..."
)
_CONTENT_MARKERS = (
    "content_filter",
    "content policy",
    "content management policy",
    "moderation",
    "flagged",
    "safety system",
)
_SPEND_LIMIT_MARKERS = (
    # Anthropic's 400 invalid_request_error when an organization's or workspace's own spend
    # limit is reached: "You have reached your specified [workspace] API usage limits"
    "reached your specified api usage limits",
    "reached your specified workspace api usage limits",
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
    if raw_code is None:
        raw_code = _detail_code(error)
    error_type = error.get("type")
    metadata = error.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    status = status_code
    if status < 400:
        status = _status_like(raw_code) or 0
    code: str | None = None
    google = _google_names(error)
    if google:
        code = google[0]  # Google's error.code repeats the HTTP status; these name the failure
    elif raw_code is not None and raw_code != "":
        code = str(raw_code)
    elif isinstance(error_type, str) and error_type:
        code = error_type
    text = _redact(_error_text(error, decoded, metadata))

    cls = _choose_class(status, (*google, raw_code, error_type), text, metadata)
    retry_after = _retry_after(headers, metadata)
    if retry_after is None:
        retry_after = _google_retry_delay(error)
    where = "" if status_code >= 400 else "error inside a 200 answer: "
    fields: dict[str, Any] = {
        "provider": provider,
        "model_id": model_id,
        "status_code": status_code,
        "body": _redact_value(decoded),
        "code": code,
        "retry_after": retry_after,
    }
    if issubclass(cls, AuthenticationFailed):
        fields["api_key_env"] = api_key_env
    return cls(where + _truncate(text, _MESSAGE_LIMIT), **fields)


def _detail_code(error: Mapping[str, Any]) -> str | None:
    """Anthropic's ``error.details.error_code`` (``enforced_spend_limit_reached``)."""
    details = error.get("details")
    if isinstance(details, Mapping):
        code = details.get("error_code")
        if isinstance(code, str) and code:
            return code
    return None


def _google_names(error: Mapping[str, Any]) -> tuple[str, ...]:
    """Google's names for an error, most specific first: the ``ErrorInfo`` reason in
    ``error.details`` (``API_KEY_INVALID``), then ``error.status`` (``NOT_FOUND``)."""
    status = error.get("status")
    if not isinstance(status, str) or not status:
        return ()
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("ErrorInfo"):
            reason = detail.get("reason")
            if isinstance(reason, str) and reason:
                return reason, status
    return (status,)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _google_retry_delay(error: Mapping[str, Any]) -> float | None:
    """Seconds from Google's ``RetryInfo`` detail (``"retryDelay": "58s"``), if it sent one."""
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("RetryInfo"):
            delay = detail.get("retryDelay")
            found = _DURATION.match(delay) if isinstance(delay, str) else None
            if found is not None:
                return float(found[1])
    return None


def _choose_class(
    status: int, names: tuple[Any, ...], text: str, metadata: Mapping[str, Any]
) -> type[ProviderHTTPError]:
    if any(key in metadata for key in _MODERATION_KEYS):
        return ContentPolicyViolation
    for name in names:
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
        if any(marker in lowered for marker in _SPEND_LIMIT_MARKERS):
            return PaymentRequired
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
    text = message if isinstance(message, str) else body_text(message)
    raw = metadata.get("raw")
    if raw is not None:
        raw_text = raw if isinstance(raw, str) else body_text(raw)
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


def body_text(value: Any) -> str:
    """A decoded body as text, for the ``body`` of an error (never raises)."""
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
