"""Gemini's error answers: the typed error each stands for, and what the router does then.

Google's error body is ``{"error": {"code": <HTTP status>, "message", "status":
<canonical code>, "details": [...]}}``, sometimes wrapped in a one-element list, and also
sent as an SSE event inside a 200 stream. No real 429 or 503 is recorded in the realdata
cassettes (see its README); the bodies below follow the ones users pasted in public bug
reports, cited at each.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ContextLengthExceeded,
    ModelNotFound,
    ProviderHTTPError,
    ProviderServerError,
    RateLimited,
)
from clearance.providers.wire import (
    GeminiStreamAssembler,
    classify_error,
    parse_gemini_response,
    parse_gemini_sse,
)
from clearance.retryplan import rule_for

P = {"provider": "gemini", "model_id": "gemini:gemini-2.5-flash"}


def _google(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}


# A free-tier quota 429 (Farrice/mes-knowledge-base, swarm_outputs/.../daniel-priestley.md).
QUOTA = _google(
    429,
    "RESOURCE_EXHAUSTED",
    "You exceeded your current quota, please check your plan and billing details.",
    {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
    {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}],
    },
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "58s"},
)
# A bad key is a 400, not a 401 (continuedev/continue#8516, as a one-element list).
BAD_KEY = [
    _google(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        },
    )
]
# google-gemini/gemini-cli#4118
TOO_LONG = _google(
    400,
    "INVALID_ARGUMENT",
    "The input token count (132478) exceeds the maximum number of tokens allowed (131072).",
)


@pytest.mark.parametrize(
    ("status", "body", "expected", "code", "retry", "fall_back"),
    [
        (429, QUOTA, RateLimited, "RESOURCE_EXHAUSTED", True, True),
        (503, _google(503, "UNAVAILABLE", "The model is overloaded."), ProviderServerError,
         "UNAVAILABLE", True, True),
        (500, _google(500, "INTERNAL", "An internal error has occurred."), ProviderServerError,
         "INTERNAL", True, True),
        (504, _google(504, "DEADLINE_EXCEEDED", "Deadline expired."), ProviderServerError,
         "DEADLINE_EXCEEDED", True, True),
        (400, BAD_KEY, AuthenticationFailed, "API_KEY_INVALID", False, True),
        (403, _google(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
         AuthenticationFailed, "PERMISSION_DENIED", False, True),
        (404, _google(404, "NOT_FOUND", "models/x is not found for API version v1beta"),
         ModelNotFound, "NOT_FOUND", False, True),
        (400, TOO_LONG, ContextLengthExceeded, "INVALID_ARGUMENT", False, True),
        (400, _google(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
         BadRequest, "INVALID_ARGUMENT", False, False),
        (400, _google(400, "FAILED_PRECONDITION", "User location is not supported."),
         BadRequest, "FAILED_PRECONDITION", False, False),
    ],
    ids=lambda value: value if isinstance(value, str) and value.isupper() else None,
)  # fmt: skip
def test_each_google_status_is_a_typed_error_with_its_router_rule(
    status: int,
    body: Any,
    expected: type[ProviderHTTPError],
    code: str,
    retry: bool,
    fall_back: bool,
) -> None:
    error = classify_error(status, body, None, api_key_env="GEMINI_API_KEY", **P)
    assert type(error) is expected
    assert (error.status_code, error.code) == (status, code)
    assert (rule_for(error).retry, rule_for(error).fall_back) == (retry, fall_back)
    assert error.retryable is retry
    # the whole answer path raises the same error
    with pytest.raises(expected):
        parse_gemini_response(body, status_code=status, **P)


def test_retry_info_says_how_long_to_wait() -> None:
    error = classify_error(429, QUOTA, None, **P)
    assert error.retry_after == 58.0
    fractional = _google(
        429,
        "RESOURCE_EXHAUSTED",
        "quota",
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"},
    )
    assert classify_error(429, fractional, None, **P).retry_after == 1.5
    # a Retry-After header, when there is one, is the answer's own word and wins
    assert classify_error(429, QUOTA, {"Retry-After": "7"}, **P).retry_after == 7.0
    # no RetryInfo (a daily quota): nothing to wait for said
    daily = _google(429, "RESOURCE_EXHAUSTED", "Quota exceeded for metric: per day")
    assert classify_error(429, daily, None, **P).retry_after is None


def test_a_bad_key_names_its_variable_and_never_shows_a_key() -> None:
    echoed = [
        _google(
            400,
            "INVALID_ARGUMENT",
            "API key not valid: AIzaSyD-fake-key-000000000000000000000",
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
        )
    ]
    error = classify_error(400, echoed, None, api_key_env="GEMINI_API_KEY", **P)
    assert isinstance(error, AuthenticationFailed)
    assert error.api_key_env == "GEMINI_API_KEY"
    assert "GEMINI_API_KEY" in str(error)
    assert "AIzaSyD" not in str(error)
    assert "AIzaSyD" not in str(error.body)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (429, "RESOURCE_EXHAUSTED", RateLimited),
        (503, "UNAVAILABLE", ProviderServerError),
        (500, "INTERNAL", ProviderServerError),
        (400, "INVALID_ARGUMENT", BadRequest),
    ],
)
def test_an_error_event_inside_a_200_stream_raises_its_typed_error(
    code: int, status: str, expected: type[ProviderHTTPError]
) -> None:
    text = (
        'data: {"candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}}]}\r\n'
        "\r\n"
        f'data: {{"error": {{"code": {code}, "message": "stopped", "status": "{status}"}}}}\r\n'
        "\r\n"
    )
    with pytest.raises(expected) as caught:
        parse_gemini_sse(text, **P)
    assert caught.value.status_code == 200
    assert caught.value.code == status
    assert "error inside a 200 answer" in str(caught.value)


def test_the_error_raises_from_the_line_that_carries_it() -> None:
    assembler = GeminiStreamAssembler("gemini", "m")
    assembler.feed_line('data: {"candidates": [{"content": {"parts": [{"text": "a"}]}}]}')
    assert assembler.last_chunk is not None
    with pytest.raises(RateLimited):
        assembler.feed_line(f"data: {json.dumps([QUOTA])}")


def test_an_error_inside_a_200_answer_is_never_a_clean_stop() -> None:
    for body in (QUOTA, [QUOTA]):
        with pytest.raises(RateLimited) as caught:
            parse_gemini_response(body, **P)
        assert caught.value.status_code == 200
