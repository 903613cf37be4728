"""Tests of ``clearance.providers.wire``: the chat-completions wire protocol, normalized.

Each quirk is checked three ways: the normalized value, the raw value kept
beside it, and the quirk's name. Then finish reasons, whole answers, streams
(parallel tool-call deltas, error chunks, keep-alives, early ends), error
classification with ``Retry-After``, and hypothesis properties of
``normalize_tool_call``.
"""

from __future__ import annotations

import json
import math
import time
from decimal import Decimal
from email.utils import formatdate
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ContentPolicyViolation,
    ContextLengthExceeded,
    MalformedResponse,
    ModelNotFound,
    PaymentRequired,
    ProviderHTTPError,
    ProviderServerError,
    RateLimited,
)
from clearance.pricing import Usage
from clearance.providers.types import FINISH_REASONS, ToolCall
from clearance.providers.wire import (
    StreamAssembler,
    classify_error,
    normalize_finish_reason,
    normalize_tool_call,
    parse_completion,
    parse_sse,
)

P = {"provider": "openrouter", "model_id": "openrouter:test/model"}

TOOL_QUIRKS = {
    "empty_arguments",
    "object_arguments",
    "double_encoded",
    "truncated_json",
    "invalid_json",
    "non_object_arguments",
    "non_finite_number",
    "missing_id",
    "empty_id",
    "non_string_id",
    "missing_name",
    "missing_index",
}


def _completion(message: dict[str, Any], finish: Any = "stop", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "gen-1",
        "model": "test/model",
        "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
    }
    body.update(extra)
    return body


def _call(call_id: str | None, name: str, arguments: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "function", "function": {"name": name}}
    if arguments is not ...:
        call["function"]["arguments"] = arguments
    if call_id is not None:
        call["id"] = call_id
    return call


def _sse(*chunks: dict[str, Any] | str) -> str:
    lines = []
    for chunk in chunks:
        lines.append(chunk if isinstance(chunk, str) else "data: " + json.dumps(chunk))
        lines.append("")
    return "\n".join(lines) + "\n"


def _delta(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": "gen-2",
        "model": "test/model",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    chunk.update(extra)
    return chunk


def _tool_delta(index: int | None = None, call_id: str | None = None, **function: str) -> dict:
    call: dict[str, Any] = {"function": function}
    if index is not None:
        call["index"] = index
    if call_id is not None:
        call["id"] = call_id
        call["type"] = "function"
    return _delta({"tool_calls": [call]})


# ------------------------------------------------------------ normalize_tool_call: quirks


def test_a_well_formed_call_has_no_quirk() -> None:
    call = normalize_tool_call(0, "call_abc", "get_weather", '{"city": "Paris", "days": 2.5}')
    assert call == ToolCall(
        0,
        "call_abc",
        "get_weather",
        {"city": "Paris", "days": 2.5},
        '{"city": "Paris", "days": 2.5}',
    )
    assert call.quirks == ()
    assert call.valid_json
    assert type(call.arguments["days"]) is float  # model output, not money


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_arguments_mean_an_empty_object(raw: str | None) -> None:
    call = normalize_tool_call(0, "call_1", "get_time", raw)
    assert call.arguments == {}
    assert call.raw_arguments == raw
    assert call.quirks == ("empty_arguments",)


def test_arguments_sent_as_an_object() -> None:
    sent = {"city": "Paris"}
    call = normalize_tool_call(0, "call_1", "get_weather", sent)
    assert call.arguments == {"city": "Paris"}
    assert call.raw_arguments == sent
    assert call.quirks == ("object_arguments",)


def test_double_encoded_arguments() -> None:
    raw = json.dumps(json.dumps({"city": "Paris", "units": "metric"}))
    call = normalize_tool_call(0, "call_1", "get_weather", raw)
    assert call.arguments == {"city": "Paris", "units": "metric"}
    assert call.raw_arguments == raw
    assert call.quirks == ("double_encoded",)


def test_double_encoded_non_object_is_not_an_object() -> None:
    raw = json.dumps(json.dumps([1, 2]))
    call = normalize_tool_call(0, "call_1", "f", raw)
    assert call.arguments is None
    assert call.raw_arguments == raw
    assert call.quirks == ("double_encoded", "non_object_arguments")


@pytest.mark.parametrize(
    "raw",
    [
        '{"city": "Par',  # unterminated string
        '{"city": "Paris", "days": [1, 2',  # open list and object
        '{"city": "Paris",',  # cut after a comma
        '{"a": {"b": tru',  # cut inside a literal
        "[",
    ],
)
def test_truncated_json_is_kept_raw(raw: str) -> None:
    call = normalize_tool_call(2, "call_1", "get_weather", raw)
    assert call.arguments is None
    assert call.raw_arguments == raw
    assert call.quirks == ("truncated_json",)
    assert not call.valid_json


@pytest.mark.parametrize(
    "raw",
    [
        "{'city': 'Paris'}",  # Python repr, balanced
        "city=Paris",
        '{"a": 1}}',  # a closer too many
        '{"a": 1} {"b": 2}',  # two objects run together
        '{"a": ]',  # mismatched closer
        '"unterminated" tail',
    ],
)
def test_invalid_json_is_kept_raw(raw: str) -> None:
    call = normalize_tool_call(0, "call_1", "get_weather", raw)
    assert call.arguments is None
    assert call.raw_arguments == raw
    assert call.quirks == ("invalid_json",)


@pytest.mark.parametrize(
    ("raw", "kept"),
    [("[1, 2]", "[1, 2]"), ("42", "42"), ('"Paris"', '"Paris"'), ("null", "null"), ([1], [1])],
)
def test_arguments_that_are_not_an_object(raw: Any, kept: Any) -> None:
    call = normalize_tool_call(0, "call_1", "f", raw)
    assert call.arguments is None
    assert call.raw_arguments == kept
    assert call.quirks == ("non_object_arguments",)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_do_not_crash(literal: str) -> None:
    raw = '{"x": ' + literal + ', "y": [1, {"z": ' + literal + "}]}"
    call = normalize_tool_call(0, "call_1", "f", raw)
    assert call.arguments is not None
    assert not math.isfinite(call.arguments["x"])
    assert call.raw_arguments == raw
    assert call.quirks == ("non_finite_number",)


def test_a_key_named_nan_is_not_a_non_finite_number() -> None:
    call = normalize_tool_call(0, "call_1", "f", '{"NaN": "Infinity"}')
    assert call.arguments == {"NaN": "Infinity"}
    assert call.quirks == ()


def test_very_deep_nesting_never_raises() -> None:
    balanced = "[" * 50_000 + "]" * 50_000
    assert normalize_tool_call(0, "c", "f", balanced).quirks == ("invalid_json",)
    assert normalize_tool_call(0, "c", "f", "[" * 50_000).quirks == ("truncated_json",)
    assert normalize_tool_call(0, "c", "f", '{"a":' * 50_000).quirks == ("truncated_json",)


def test_missing_id_is_synthesized_from_the_index() -> None:
    call = normalize_tool_call(3, None, "f", "{}")
    assert call.id == "call_3"
    assert call.arguments == {}
    assert call.quirks == ("missing_id",)


def test_empty_id_as_gemini_sends_it() -> None:
    call = normalize_tool_call(0, "", "get_current_time", "{}")
    assert call.id == "call_0"
    assert call.quirks == ("empty_id",)


def test_numeric_id_and_missing_name() -> None:
    call = normalize_tool_call(1, 7, None, "{}")
    assert (call.id, call.name) == ("7", "")
    assert call.quirks == ("non_string_id", "missing_name")


def test_quirks_accumulate() -> None:
    call = normalize_tool_call(1, "", "f", "")
    assert (call.id, call.arguments, call.raw_arguments) == ("call_1", {}, "")
    assert call.quirks == ("empty_id", "empty_arguments")


def test_arguments_of_an_unexpected_type_never_raise() -> None:
    call = normalize_tool_call(0, "c", "f", object())
    assert call.arguments is None
    assert isinstance(call.raw_arguments, str)
    assert call.quirks == ("invalid_json",)


# ------------------------------------------------------------ normalize_tool_call: properties

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_json_objects = st.dictionaries(st.text(max_size=10), _json_values, max_size=6)
_json_texts = _json_values.map(json.dumps)
_jsonish = (
    st.text()
    | _json_texts
    | _json_texts.flatmap(lambda s: st.integers(0, len(s)).map(lambda k: s[:k]))
    | _json_texts.map(json.dumps)
    | st.text(alphabet='{}[]",:0123456789.eE+-tfrunlasNIiy\\ ')
    | _json_values
)


@settings(max_examples=400, deadline=None)
@given(
    index=st.integers(0, 50),
    raw_id=st.none() | st.text(max_size=5) | st.integers(),
    name=st.none() | st.text(max_size=5),
    raw=_jsonish,
)
def test_normalize_tool_call_never_raises(index: int, raw_id: Any, name: Any, raw: Any) -> None:
    call = normalize_tool_call(index, raw_id, name, raw)
    assert call.index == index
    assert call.id
    assert call.arguments is None or isinstance(call.arguments, dict)
    assert set(call.quirks) <= TOOL_QUIRKS
    if call.arguments is None:
        assert {"truncated_json", "invalid_json", "non_object_arguments"} & set(call.quirks)


@settings(max_examples=300, deadline=None)
@given(obj=_json_objects, ascii_only=st.booleans(), indent=st.sampled_from([None, 2]))
def test_any_json_object_round_trips_without_quirks(
    obj: dict[str, Any], ascii_only: bool, indent: int | None
) -> None:
    raw = json.dumps(obj, ensure_ascii=ascii_only, indent=indent)
    call = normalize_tool_call(0, "call_x", "f", raw)
    assert call.arguments == obj
    assert call.raw_arguments == raw
    assert call.quirks == ()


@settings(max_examples=300, deadline=None)
@given(obj=_json_objects.filter(bool), data=st.data())
def test_every_cut_of_a_json_object_is_truncated_json(obj: dict[str, Any], data: Any) -> None:
    raw = json.dumps(obj)
    cut = raw[: data.draw(st.integers(1, len(raw) - 1))]
    call = normalize_tool_call(0, "call_x", "f", cut)
    assert call.arguments is None
    assert call.raw_arguments == cut
    assert call.quirks == ("truncated_json",)


# ------------------------------------------------------------ finish reasons


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("stop", "stop"),
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("STOP", "stop"),
        ("eos", "stop"),
        ("length", "length"),
        ("max_tokens", "length"),
        ("MAX_TOKENS", "length"),
        ("content_filter", "content_filter"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("error", "error"),
        ("something_new", "other"),
        ("abort", "other"),
    ],
)
def test_finish_reasons_without_tool_calls(raw: str, expected: str) -> None:
    assert normalize_finish_reason(raw, has_tool_calls=False) == (expected, ())


@pytest.mark.parametrize("raw", ["tool_calls", "function_call", "tool_use"])
def test_tool_call_finish_reasons(raw: str) -> None:
    assert normalize_finish_reason(raw, has_tool_calls=True) == ("tool_calls", ())


def test_stop_with_tool_calls_is_tool_calls() -> None:
    assert normalize_finish_reason("stop", has_tool_calls=True) == (
        "tool_calls",
        ("stop_with_tool_calls",),
    )


def test_tool_calls_reason_without_calls_is_marked() -> None:
    assert normalize_finish_reason("tool_calls", has_tool_calls=False) == (
        "tool_calls",
        ("tool_calls_without_calls",),
    )


@pytest.mark.parametrize("raw", [None, ""])
def test_missing_finish_reason(raw: str | None) -> None:
    assert normalize_finish_reason(raw, has_tool_calls=False) == (
        "other",
        ("missing_finish_reason",),
    )
    assert normalize_finish_reason(raw, has_tool_calls=True) == (
        "tool_calls",
        ("missing_finish_reason",),
    )


@given(raw=st.none() | st.text(), has_tool_calls=st.booleans())
def test_finish_reason_is_always_in_the_closed_set(raw: str | None, has_tool_calls: bool) -> None:
    reason, _ = normalize_finish_reason(raw, has_tool_calls=has_tool_calls)
    assert reason in FINISH_REASONS


# ------------------------------------------------------------ parse_completion


def test_parallel_calls_in_one_message() -> None:
    body = _completion(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                _call("call_a", "get_weather", '{"city": "Paris"}'),
                _call("call_b", "get_time", ""),
                _call("call_c", "get_weather", '{"city": "Ber'),
            ],
        },
        finish="tool_calls",
        usage={"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0012},
        provider="OpenAI",
    )
    response = parse_completion(body, **P)
    assert [c.index for c in response.tool_calls] == [0, 1, 2]
    assert [c.id for c in response.tool_calls] == ["call_a", "call_b", "call_c"]
    assert [c.arguments for c in response.tool_calls] == [{"city": "Paris"}, {}, None]
    assert [c.quirks for c in response.tool_calls] == [
        (),
        ("empty_arguments",),
        ("truncated_json",),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.finish_reason_raw == "tool_calls"
    assert response.content is None
    assert response.usage == Usage(10, 5, reported_cost=Decimal("0.0012"))
    assert (response.model, response.response_id, response.served_by) == (
        "test/model",
        "gen-1",
        "OpenAI",
    )
    assert response.quirks == ()
    assert response.raw is body


def test_text_answer() -> None:
    response = parse_completion(
        _completion({"role": "assistant", "content": "Hello", "refusal": None}), **P
    )
    assert (response.content, response.finish_reason, response.tool_calls) == ("Hello", "stop", ())
    assert response.usage is None


def test_stop_with_tool_calls_in_an_answer() -> None:
    body = _completion({"content": "", "tool_calls": [_call("c1", "f", "{}")]}, finish="stop")
    response = parse_completion(body, **P)
    assert response.finish_reason == "tool_calls"
    assert response.finish_reason_raw == "stop"
    assert response.quirks == ("stop_with_tool_calls",)


def test_unknown_finish_reason_keeps_the_raw_value() -> None:
    response = parse_completion(_completion({"content": "x"}, finish="abort"), **P)
    assert (response.finish_reason, response.finish_reason_raw) == ("other", "abort")


def test_reasoning_content_and_reasoning() -> None:
    deepseek = _completion({"content": "4", "reasoning_content": "2+2"})
    openrouter = _completion({"content": "4", "reasoning": "two and two"})
    assert parse_completion(deepseek, **P).reasoning == "2+2"
    assert parse_completion(openrouter, **P).reasoning == "two and two"


def test_content_as_a_list_of_parts() -> None:
    body = _completion(
        {"content": [{"type": "text", "text": "Hel"}, {"type": "image_url"}, {"text": "lo"}]}
    )
    response = parse_completion(body, **P)
    assert response.content == "Hello"
    assert response.quirks == ("content_parts",)


def test_legacy_function_call() -> None:
    body = _completion(
        {"content": None, "function_call": {"name": "f", "arguments": '{"a": 1}'}},
        finish="function_call",
    )
    response = parse_completion(body, **P)
    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [("call_0", "f", {"a": 1})]
    assert response.tool_calls[0].quirks == ("missing_id",)
    assert response.quirks == ("legacy_function_call",)


def test_null_usage_fields_are_tolerated() -> None:
    usage = {
        "prompt_tokens": None,
        "completion_tokens": 5,
        "total_tokens": None,
        "prompt_tokens_details": None,
        "completion_tokens_details": {"reasoning_tokens": None},
        "cost": None,
    }
    response = parse_completion(_completion({"content": "x"}, usage=usage), **P)
    assert response.usage == Usage(prompt_tokens=0, completion_tokens=5)
    assert response.quirks == ()


def test_usage_that_contradicts_itself_is_clamped_and_marked() -> None:
    # OpenRouter's minimax-m2 stream reported 11 reasoning tokens out of 10 completion tokens.
    usage = {
        "prompt_tokens": 43,
        "completion_tokens": 10,
        "cost": 0.0002,
        "completion_tokens_details": {"reasoning_tokens": 11},
    }
    response = parse_completion(_completion({"content": "x"}, usage=usage), **P)
    assert response.usage == Usage(43, 10, reasoning_tokens=10, reported_cost=Decimal("0.0002"))
    assert response.quirks == ("inconsistent_usage",)


def test_usage_that_is_not_an_object() -> None:
    response = parse_completion(_completion({"content": "x"}, usage=[1, 2]), **P)
    assert response.usage is None
    assert response.quirks == ("malformed_usage",)


def test_only_the_first_choice_is_read() -> None:
    body = _completion({"content": "first"})
    body["choices"].append({"index": 1, "finish_reason": "stop", "message": {"content": "second"}})
    response = parse_completion(body, **P)
    assert response.content == "first"
    assert response.quirks == ("multiple_choices",)


def test_error_inside_a_200_answer_raises() -> None:
    body = {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-day"}}
    with pytest.raises(RateLimited) as caught:
        parse_completion(body, **P)
    assert caught.value.status_code == 200
    assert caught.value.code == "429"
    assert "free-models-per-day" in str(caught.value)
    assert caught.value.provider == "openrouter"


def test_error_beside_choices_still_raises() -> None:
    body = _completion({"content": ""}, error={"code": 502, "message": "upstream died"})
    with pytest.raises(ProviderServerError, match="upstream died"):
        parse_completion(body, **P)


def test_error_on_a_choice_raises() -> None:
    body = _completion({"content": "partial"}, finish="error")
    body["choices"][0]["error"] = {"code": 502, "message": "Upstream error from Chutes"}
    with pytest.raises(ProviderServerError, match="Upstream error from Chutes") as caught:
        parse_completion(body, **P)
    assert caught.value.status_code == 200


def test_finish_reason_error_without_details_raises() -> None:
    with pytest.raises(ProviderServerError, match="finish_reason 'error'"):
        parse_completion(_completion({"content": "partial"}, finish="error"), **P)


def test_an_error_status_raises_the_classified_error() -> None:
    body = {"error": {"code": "model_not_found", "message": "no such model"}}
    with pytest.raises(ModelNotFound):
        parse_completion(body, status_code=404, **P)
    with pytest.raises(ProviderServerError, match="Bad Gateway"):
        parse_completion("<html>Bad Gateway</html>", status_code=502, **P)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"choices": []},
        {"choices": "nope"},
        {"choices": [None]},
        {"choices": [{"index": 0}]},
        {"choices": [{"message": "text"}]},
        {"choices": [{"message": {"content": 3}}]},
        {"choices": [{"message": {"tool_calls": {"id": "x"}}}]},
        {"choices": [{"message": {"tool_calls": ["get_weather"]}}]},
        ["not", "an", "object"],
    ],
)
def test_a_body_that_is_not_a_completion_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponse) as caught:
        parse_completion(body, **P)
    assert caught.value.retryable
    assert caught.value.body


# ------------------------------------------------------------ streams


def test_stream_assembles_content_usage_and_identity() -> None:
    text = _sse(
        _delta({"role": "assistant", "content": ""}, provider="Novita"),
        _delta({"content": "Hel"}),
        _delta({"content": "lo"}),
        _delta({}, finish="stop"),
        {"id": "gen-2", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}},
        "data: [DONE]",
    )
    response = parse_sse(text, **P)
    assert response.content == "Hello"
    assert (response.finish_reason, response.finish_reason_raw) == ("stop", "stop")
    assert response.usage == Usage(7, 2)
    assert (response.model, response.response_id, response.served_by) == (
        "test/model",
        "gen-2",
        "Novita",
    )
    assert response.tool_calls == ()
    assert response.raw is None
    assert response.quirks == ()


def test_streamed_parallel_calls_with_distinct_indexes() -> None:
    text = _sse(
        _tool_delta(0, "call_a", name="get_weather", arguments=""),
        _tool_delta(0, arguments='{"city": "Pa'),
        _tool_delta(0, arguments='ris"}'),
        _tool_delta(1, "call_b", name="get_weather", arguments=""),
        _tool_delta(1, arguments='{"city": "Berlin"}'),
        _delta({}, finish="tool_calls"),
        "data: [DONE]",
    )
    calls = parse_sse(text, **P).tool_calls
    assert [(c.index, c.id, c.name, c.arguments, c.quirks) for c in calls] == [
        (0, "call_a", "get_weather", {"city": "Paris"}, ()),
        (1, "call_b", "get_weather", {"city": "Berlin"}, ()),
    ]
    assert calls[0].raw_arguments == '{"city": "Paris"}'


def test_streamed_parallel_calls_all_at_index_zero() -> None:
    text = _sse(
        _tool_delta(0, "call_a", name="get_weather", arguments=""),
        _tool_delta(0, arguments='{"city": "Paris"}'),
        _tool_delta(0, "call_b", name="get_time", arguments='{"tz": '),
        _tool_delta(0, arguments='"CET"}'),
        _delta({}, finish="tool_calls"),
        "data: [DONE]",
    )
    calls = parse_sse(text, **P).tool_calls
    assert [(c.index, c.id, c.name, c.arguments) for c in calls] == [
        (0, "call_a", "get_weather", {"city": "Paris"}),
        (1, "call_b", "get_time", {"tz": "CET"}),
    ]
    assert [c.raw_arguments for c in calls] == ['{"city": "Paris"}', '{"tz": "CET"}']
    assert [c.quirks for c in calls] == [(), ("missing_index",)]


def test_streamed_parallel_calls_without_index_or_id() -> None:
    # Gemini's OpenAI endpoint style: each call whole in one delta, no index, no id.
    text = _sse(
        _tool_delta(None, name="get_weather", arguments='{"city": "Paris"}'),
        _tool_delta(None, name="get_weather", arguments='{"city": "Rome"}'),
        _delta({}, finish="tool_calls"),
        "data: [DONE]",
    )
    calls = parse_sse(text, **P).tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_0", "get_weather", {"city": "Paris"}),
        ("call_1", "get_weather", {"city": "Rome"}),
    ]
    assert [c.quirks for c in calls] == [("missing_index", "missing_id")] * 2


def test_streamed_calls_without_index_but_with_ids() -> None:
    text = _sse(
        _tool_delta(None, "call_a", name="f", arguments='{"a"'),
        _tool_delta(None, arguments=": 1}"),
        _tool_delta(None, "call_b", name="g", arguments="{}"),
        _delta({}, finish="tool_calls"),
    )  # no [DONE]: the finish reason is enough
    calls = parse_sse(text, **P).tool_calls
    assert [(c.id, c.name, c.arguments, c.quirks) for c in calls] == [
        ("call_a", "f", {"a": 1}, ("missing_index",)),
        ("call_b", "g", {}, ("missing_index",)),
    ]


def test_a_call_repeated_with_the_same_id_is_one_call() -> None:
    # kimi-k2 on Novita (via OpenRouter) sends the call twice, with the same id.
    text = _sse(
        _tool_delta(0, "0", name="llm_version", arguments=""),
        _tool_delta(0, "0", name="llm_version", arguments="{}"),
        "data: [DONE]",
    )
    response = parse_sse(text, **P)
    assert [(c.id, c.name, c.arguments, c.raw_arguments) for c in response.tool_calls] == [
        ("0", "llm_version", {}, "{}")
    ]
    assert response.finish_reason == "tool_calls"
    assert response.quirks == ("missing_finish_reason",)


def test_streamed_empty_id_and_object_arguments() -> None:
    text = _sse(
        _delta(
            {"tool_calls": [{"index": 0, "id": "", "function": {"name": "f", "arguments": {}}}]}
        ),
        _delta({}, finish="tool_calls"),
    )
    (call,) = parse_sse(text, **P).tool_calls
    assert (call.id, call.arguments, call.raw_arguments) == ("call_0", {}, {})
    assert call.quirks == ("empty_id", "object_arguments")


def test_streamed_reasoning() -> None:
    text = _sse(
        _delta({"content": "", "reasoning": "Two and "}),
        _delta({"content": "", "reasoning": None, "reasoning_content": "two."}),
        _delta({"content": "4"}, finish="stop"),
        "data: [DONE]",
    )
    response = parse_sse(text, **P)
    assert (response.reasoning, response.content) == ("Two and two.", "4")


def test_keepalive_comments_are_recorded() -> None:
    text = ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n" + _sse(
        _delta({"content": "ok"}, finish="stop"), "data: [DONE]"
    )
    response = parse_sse(text, **P)
    assert response.content == "ok"
    assert response.quirks == ("keepalive_comments",)


def test_crlf_line_endings_and_event_lines() -> None:
    text = _sse(_delta({"content": "ok"}, finish="stop"), "data: [DONE]")
    text = "event: message\n" + text
    response = parse_sse(text.replace("\n", "\r\n"), **P)
    assert response.content == "ok"
    assert response.quirks == ()


def test_error_chunk_raises_from_feed_line() -> None:
    assembler = StreamAssembler("openrouter", "openrouter:minimax/minimax-m2")
    assembler.feed_line(": OPENROUTER PROCESSING")
    assembler.feed_line("data: " + json.dumps(_delta({"content": "Hi"})))
    error_chunk = _delta({"content": ""}, error={"code": 429, "message": "Rate limit exceeded"})
    with pytest.raises(RateLimited, match="Rate limit exceeded") as caught:
        assembler.feed_line("data: " + json.dumps(error_chunk))
    assert caught.value.status_code == 200
    assert caught.value.code == "429"


def test_error_chunk_after_a_finish_reason_still_raises() -> None:
    # OpenRouter sent finish_reason "length", then the error chunk (see the real cassette).
    text = _sse(
        _delta({"content": "", "reasoning": "We need"}, finish="length"),
        _delta({"content": ""}, error={"code": 400, "message": "Token limit reached"}),
        "data: [DONE]",
    )
    with pytest.raises(ProviderHTTPError, match="Token limit reached"):
        parse_sse(text, **P)


def test_choice_finishing_with_error_raises_from_feed_chunk() -> None:
    assembler = StreamAssembler("openrouter", None)
    chunk = _delta({"content": ""}, finish="error")
    chunk["choices"][0]["error"] = {"code": 502, "message": "Provider disconnected"}
    with pytest.raises(ProviderServerError, match="Provider disconnected"):
        assembler.feed_chunk(chunk)


def test_event_error_line_marks_the_data_as_an_error() -> None:
    assembler = StreamAssembler("openrouter", None)
    assembler.feed_line("event: error")
    with pytest.raises(ProviderServerError, match="overloaded"):
        assembler.feed_line('data: {"message": "overloaded", "code": 503}')


def test_stream_ended_early() -> None:
    text = _sse(_delta({"content": "Hel"}), _delta({"content": "lo"}))
    with pytest.raises(MalformedResponse, match="stream ended early") as caught:
        parse_sse(text, **P)
    assert caught.value.body == "Hello"


def test_stream_without_any_chunk() -> None:
    with pytest.raises(MalformedResponse, match="no chunk"):
        parse_sse("data: [DONE]\n\n", **P)


def test_broken_json_in_a_data_line() -> None:
    assembler = StreamAssembler("openai", "openai:gpt-4o")
    assembler.feed_line("data: " + json.dumps(_delta({"content": "ok"})))
    with pytest.raises(MalformedResponse, match="not valid JSON") as caught:
        assembler.feed_line('data: {"id": "gen-2", "choices": [{"delta": {"content": "x')
    assert caught.value.body.startswith('{"id": "gen-2"')


@pytest.mark.parametrize(
    "chunk",
    [
        ["a list"],
        {"choices": "nope"},
        {"choices": [{"index": 0, "delta": "text"}]},
        {"choices": [{"index": 0, "delta": {"content": 5}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": ["x"]}}]},
    ],
)
def test_a_chunk_that_is_not_a_chunk_is_malformed(chunk: Any) -> None:
    with pytest.raises(MalformedResponse):
        StreamAssembler("openai", None).feed_chunk(chunk)


def test_odd_lines_are_tolerated_and_recorded() -> None:
    assembler = StreamAssembler("openai", None)
    assembler.feed_line(" data: " + json.dumps(_delta({"content": "a"})))
    assembler.feed_line("id: 7")
    assembler.feed_line("retry: 100")
    assembler.feed_line("garbage")
    assembler.feed_line("data: [DONE]")
    assembler.feed_line("data: " + json.dumps(_delta({"content": "b"}, finish="stop")))
    response = assembler.result()
    assert response.content == "ab"
    assert response.quirks == ("sse_leading_whitespace", "unknown_sse_line", "data_after_done")


def test_other_choices_in_a_stream_are_skipped() -> None:
    chunk = _delta({"content": "a"}, finish="stop")
    chunk["choices"].append({"index": 1, "delta": {"content": "b"}, "finish_reason": "stop"})
    assembler = StreamAssembler("openai", None)
    assembler.feed_chunk(chunk)
    response = assembler.result()
    assert response.content == "a"
    assert response.quirks == ("multiple_choices",)


def test_streamed_legacy_function_call() -> None:
    text = _sse(
        _delta({"function_call": {"name": "f", "arguments": '{"a"'}}),
        _delta({"function_call": {"arguments": ": 1}"}}),
        _delta({}, finish="function_call"),
    )
    response = parse_sse(text, **P)
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("f", {"a": 1})]
    assert response.finish_reason == "tool_calls"
    assert response.quirks == ("legacy_function_call",)


# ------------------------------------------------------------ classify_error


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (
            429,
            {"error": {"message": "Rate limit reached", "type": "requests"}},
            RateLimited,
            "requests",
        ),
        (
            401,
            {"error": {"code": "invalid_api_key", "message": "bad key"}},
            AuthenticationFailed,
            "invalid_api_key",
        ),
        (403, {"error": {"code": 403, "message": "Forbidden"}}, AuthenticationFailed, "403"),
        (402, {"error": {"code": 402, "message": "Insufficient credits"}}, PaymentRequired, "402"),
        (
            404,
            {"error": {"code": "model_not_found", "message": "no model"}},
            ModelNotFound,
            "model_not_found",
        ),
        (
            400,
            {"error": {"code": "context_length_exceeded", "message": "too long"}},
            ContextLengthExceeded,
            "context_length_exceeded",
        ),
        (
            400,
            {"error": {"message": "This model's maximum context length is 8192 tokens."}},
            ContextLengthExceeded,
            None,
        ),
        (
            413,
            {"error": {"message": "prompt is too long: 210000 tokens"}},
            ContextLengthExceeded,
            None,
        ),
        (422, {"detail": "Too many tokens in the input"}, ContextLengthExceeded, None),
        (
            400,
            {"error": {"code": "content_filter", "message": "filtered by Azure"}},
            ContentPolicyViolation,
            "content_filter",
        ),
        (
            400,
            {"error": {"message": "Your request was flagged by our moderation"}},
            ContentPolicyViolation,
            None,
        ),
        (
            400,
            {"error": {"code": "tool_use_failed", "message": "Tool call validation failed"}},
            BadRequest,
            "tool_use_failed",
        ),
        (400, {"error": {"message": "invalid temperature"}}, BadRequest, None),
        (409, "conflict", BadRequest, None),
        (408, {"error": {"code": 408, "message": "Timed out"}}, ProviderServerError, "408"),
        (500, {"error": {"message": "internal"}}, ProviderServerError, None),
        (502, "<html>Bad Gateway</html>", ProviderServerError, None),
        (503, None, ProviderServerError, None),
        (
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ProviderServerError,
            "overloaded_error",
        ),
        (200, {"error": {"code": 429, "message": "upstream rate limit"}}, RateLimited, "429"),
        (200, {"error": {"code": "502", "message": "upstream"}}, ProviderServerError, "502"),
        (200, {"error": {"message": "something broke"}}, ProviderServerError, None),
        (200, {"error": {"code": 401, "message": "User not found"}}, AuthenticationFailed, "401"),
        (
            429,
            {"error": {"code": "insufficient_quota", "message": "check your plan"}},
            PaymentRequired,
            "insufficient_quota",
        ),
    ],
)
def test_classify_error(status: int, body: Any, expected: type, code: str | None) -> None:
    error = classify_error(status, body, None, provider="groq", model_id="groq:llama")
    assert type(error) is expected
    assert error.status_code == status
    assert error.code == code
    assert (error.provider, error.model_id) == ("groq", "groq:llama")


def test_openrouter_moderation_403_is_a_content_policy_violation() -> None:
    body = {
        "error": {
            "code": 403,
            "message": "openai/gpt-4o requires moderation on OpenRouter. Your input was flagged",
            "metadata": {
                "reasons": ["harassment"],
                "flagged_input": "...",
                "provider_name": "OpenAI",
            },
        }
    }
    error = classify_error(403, body, None, provider="openrouter", model_id=None)
    assert type(error) is ContentPolicyViolation
    assert "harassment" in str(error)
    assert error.body == body


def test_error_message_carries_the_provider_message_and_upstream_detail() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Provider returned error",
            "metadata": {"provider_name": "Google", "raw": "gemini is rate-limited upstream"},
        }
    }
    error = classify_error(429, body, None, provider="openrouter", model_id="m")
    assert "Provider returned error (Google: gemini is rate-limited upstream)" in str(error)
    assert str(error).startswith("openrouter (m): HTTP 429:")


def test_error_message_is_truncated() -> None:
    error = classify_error(
        500, {"error": {"message": "x" * 5000}}, None, provider="p", model_id=None
    )
    assert len(error.message) < 600
    assert "x" * 400 in error.message


def test_error_text_body_is_decoded_when_json() -> None:
    error = classify_error(
        404, '{"error": {"code": "model_not_found"}}', None, provider="p", model_id=None
    )
    assert error.body == {"error": {"code": "model_not_found"}}
    assert error.code == "model_not_found"
    raw = classify_error(502, b"<html>Bad Gateway</html>", None, provider="p", model_id=None)
    assert raw.body == "<html>Bad Gateway</html>"
    assert "Bad Gateway" in str(raw)


def test_api_keys_never_reach_the_error() -> None:
    key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234"
    body = {"error": {"code": "invalid_api_key", "message": f"Incorrect API key provided: {key}."}}
    headers = {"Authorization": f"Bearer {key}", "Retry-After": "1"}
    error = classify_error(401, body, headers, provider="openai", model_id=None)
    assert key not in str(error)
    assert key not in json.dumps(error.body)
    assert "Bearer" not in str(error)
    assert "[redacted]" in str(error)
    assert body["error"]["message"].endswith(f"{key}.")  # the caller's body is left alone


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "17"}, 17.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str] | None, expected: float | None) -> None:
    error = classify_error(
        429, {"error": {"message": "slow down"}}, headers, provider="p", model_id=None
    )
    assert error.retry_after == expected


def test_retry_after_as_an_http_date() -> None:
    later = formatdate(time.time() + 120, usegmt=True)
    error = classify_error(503, "busy", {"Retry-After": later}, provider="p", model_id=None)
    assert error.retry_after is not None
    assert 100 <= error.retry_after <= 121
    past = formatdate(time.time() - 3600, usegmt=True)
    assert (
        classify_error(503, "busy", {"Retry-After": past}, provider="p", model_id=None).retry_after
        == 0
    )


def test_retry_after_from_openrouter_upstream_headers() -> None:
    reset_ms = int((time.time() + 30) * 1000)
    body = {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded: free-models-per-min",
            "metadata": {
                "headers": {"X-RateLimit-Limit": "20", "X-RateLimit-Reset": str(reset_ms)}
            },
        }
    }
    error = classify_error(429, body, {}, provider="openrouter", model_id=None)
    assert type(error) is RateLimited
    assert error.retry_after is not None
    assert 25 <= error.retry_after <= 31


def test_x_ratelimit_reset_header() -> None:
    reset = str(int(time.time()) + 60)
    error = classify_error(429, "", {"X-RateLimit-Reset": reset}, provider="p", model_id=None)
    assert error.retry_after is not None
    assert 55 <= error.retry_after <= 61


def test_last_chunk_names_the_chunk_each_line_carried() -> None:
    assembler = StreamAssembler("openai", None)
    first = _delta({"content": "a"})
    usage_only = {"id": "gen-2", "choices": [], "usage": {"prompt_tokens": 1}}
    seen = []
    for line in (
        ": keep-alive",
        "data: " + json.dumps(first),
        "",
        "data: " + json.dumps(usage_only),
        "data: [DONE]",
    ):
        assembler.feed_line(line)
        seen.append(assembler.last_chunk)
    assert seen == [None, first, None, usage_only, None]
