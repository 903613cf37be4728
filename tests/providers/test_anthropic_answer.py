"""Anthropic answers read: ``parse_anthropic_message`` and ``AnthropicStreamAssembler``.

Content blocks (text, several ``tool_use``, thinking, redacted thinking, server tools,
unknown types), stop reasons, usage with cache tokens, error bodies (also inside a 200
answer and as a stream ``error`` event) and what the router does after each; then the
stream: every event and delta type, early ends, and a hypothesis property that a message
streamed in any cut gives the same answer and the same native turn as the whole one.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ContextLengthExceeded,
    MalformedResponse,
    ModelNotFound,
    PaymentRequired,
    ProviderHTTPError,
    ProviderServerError,
    RateLimited,
)
from clearance.pricing import Usage
from clearance.providers.types import ChatResponse, ToolCall
from clearance.providers.wire import (
    AnthropicStreamAssembler,
    classify_error,
    parse_anthropic_message,
    parse_anthropic_sse,
)
from clearance.providers.wire.normalize import build_object_tool_call
from clearance.retryplan import rule_for

P = {"provider": "anthropic", "model_id": "anthropic:claude-sonnet-4-5"}
USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 30,
}


def _message(*content: dict[str, Any], stop: str | None = "end_turn", **fields: Any) -> dict:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": list(content),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": dict(USAGE),
        **fields,
    }


def _parse(body: dict[str, Any], status: int = 200) -> ChatResponse:
    return parse_anthropic_message(body, status_code=status, **P)


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _tool(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


# ------------------------------------------------------------ whole answers


def test_text_and_several_tool_calls_are_all_kept() -> None:
    body = _message(
        _text("Checking both."),
        _tool("toolu_1", "get_weather", {"city": "Paris"}),
        _tool("toolu_2", "get_time", {"tz": "Europe/Paris", "nested": {"a": [1, 2]}}),
        stop="tool_use",
    )
    response = _parse(body)
    assert response.content == "Checking both."
    assert response.tool_calls == (
        ToolCall(0, "toolu_1", "get_weather", {"city": "Paris"}, {"city": "Paris"}),
        ToolCall(
            1,
            "toolu_2",
            "get_time",
            {"tz": "Europe/Paris", "nested": {"a": [1, 2]}},
            {"tz": "Europe/Paris", "nested": {"a": [1, 2]}},
        ),
    )
    assert (response.finish_reason, response.finish_reason_raw) == ("tool_calls", "tool_use")
    assert (response.model, response.response_id) == ("claude-sonnet-4-5-20250929", "msg_01")
    assert response.snapshot == "claude-sonnet-4-5-20250929"
    assert response.quirks == ()
    assert response.raw is body
    assert response.native is not None
    assert response.native.protocol == "anthropic"
    assert list(response.native.content) == body["content"]
    assert response.native.content[1] is body["content"][1]  # the blocks as decoded


@pytest.mark.parametrize(
    ("raw_input", "arguments", "raw_kept", "quirks"),
    [
        ({}, {}, {}, ()),
        ('{"city": "Rome"}', {"city": "Rome"}, '{"city": "Rome"}', ("string_arguments",)),
        (None, {}, None, ("empty_arguments",)),
        ('{"city": "Ro', None, '{"city": "Ro', ("truncated_json",)),
        ([1, 2], None, [1, 2], ("non_object_arguments",)),
    ],
)
def test_tool_use_input_that_is_not_an_object(
    raw_input: Any, arguments: Any, raw_kept: Any, quirks: tuple[str, ...]
) -> None:
    (call,) = _parse(_message(_tool("toolu_1", "f", raw_input), stop="tool_use")).tool_calls
    assert (call.arguments, call.raw_arguments, call.quirks) == (arguments, raw_kept, quirks)
    assert call == build_object_tool_call(0, "toolu_1", "f", raw_input)


def test_a_tool_use_without_id_or_name_gets_the_normalize_quirks() -> None:
    body = _message({"type": "tool_use", "input": {"a": 1}}, stop="tool_use")
    (call,) = _parse(body).tool_calls
    assert (call.id, call.name, call.quirks) == ("call_0", "", ("missing_id", "missing_name"))


def test_thinking_is_the_reasoning_and_redacted_thinking_a_quirk() -> None:
    body = _message(
        {"type": "thinking", "thinking": "First idea.", "signature": "sig1"},
        {"type": "redacted_thinking", "data": "EmwKAhgB"},
        _text("Answer."),
        {"type": "thinking", "thinking": "Second idea.", "signature": "sig2"},
        _text("More."),
    )
    response = _parse(body)
    assert response.reasoning == "First idea.\n\nSecond idea."
    assert response.content == "Answer.\n\nMore."  # text after another block: a new paragraph
    assert response.quirks == ("redacted_thinking",)
    assert response.native is not None
    assert [block.get("signature") for block in response.native.content] == [
        "sig1",
        None,
        None,
        "sig2",
        None,
    ]


def test_adjacent_text_blocks_join_end_to_end_as_citations_split_them() -> None:
    cited = {
        "type": "text",
        "text": "the grass is green",
        "citations": [{"type": "char_location", "cited_text": "The grass is green."}],
    }
    response = _parse(_message(_text("According to the document, "), cited, _text(".")))
    assert response.content == "According to the document, the grass is green."
    assert response.quirks == ()


def test_server_tool_blocks_are_not_client_tool_calls() -> None:
    body = _message(
        _text("Searching."),
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": "x"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {
            "type": "mcp_tool_use",
            "id": "mcptoolu_1",
            "name": "ask",
            "server_name": "s",
            "input": {},
        },
        {"type": "mcp_tool_result", "tool_use_id": "mcptoolu_1", "content": []},
        {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_2", "content": {}},
        {"type": "container_upload", "file_id": "file_1"},
        _text("Found it."),
        stop="end_turn",
    )
    response = _parse(body)
    assert response.tool_calls == ()
    assert response.quirks == ()
    assert response.finish_reason == "stop"
    assert response.content == "Searching.\n\nFound it."
    assert response.native is not None
    assert len(response.native.content) == 8


def test_server_tools_alone_under_tool_use_are_named() -> None:
    body = _message(
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
        stop="tool_use",
    )
    response = _parse(body)
    assert response.tool_calls == ()
    assert response.finish_reason == "tool_calls"
    assert response.quirks == ("tool_calls_without_calls",)


def test_unknown_and_malformed_blocks_are_kept_and_named() -> None:
    body = _message(
        {"type": "hologram", "payload": [1, 2, 3]},
        _text("Still here."),
        "not a block",
        {"no": "type"},
        {"type": "text", "text": 42},
        {"type": "hologram", "payload": []},
    )
    response = _parse(body)
    assert response.content == "Still here."
    assert response.quirks == ("unknown_block:hologram", "malformed_block")
    assert response.native is not None
    assert response.native.content[0] == {"type": "hologram", "payload": [1, 2, 3]}
    assert response.native.content[2] == "not a block"


@pytest.mark.parametrize(
    ("stop", "calls", "finish", "quirks"),
    [
        ("end_turn", False, "stop", ()),
        ("max_tokens", False, "length", ()),
        ("stop_sequence", False, "stop", ()),
        ("tool_use", True, "tool_calls", ()),
        ("pause_turn", False, "other", ()),
        ("refusal", False, "content_filter", ()),
        ("model_context_window_exceeded", False, "length", ()),
        ("end_turn", True, "tool_calls", ("stop_with_tool_calls",)),
        ("a_new_reason", False, "other", ()),
        (None, False, "other", ("missing_finish_reason",)),
    ],
)
def test_stop_reasons(stop: str | None, calls: bool, finish: str, quirks: tuple[str, ...]) -> None:
    blocks = [_tool("toolu_1", "f", {})] if calls else [_text("x")]
    response = _parse(_message(*blocks, stop=stop))
    assert (response.finish_reason, response.finish_reason_raw) == (finish, stop)
    assert response.quirks == quirks


def test_usage_counts_cache_tokens_into_the_prompt() -> None:
    body = _message(
        _text("x"),
        usage={
            "input_tokens": 3,
            "cache_creation_input_tokens": 418,
            "cache_read_input_tokens": 1111,
            "cache_creation": {"ephemeral_5m_input_tokens": 418, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 33,
            "output_tokens_details": {"thinking_tokens": 20},
            "server_tool_use": {"web_search_requests": 2},
            "service_tier": "standard",
        },
    )
    assert _parse(body).usage == Usage(
        prompt_tokens=3 + 418 + 1111,
        completion_tokens=33,
        cached_tokens=1111,
        cache_write_tokens=418,
        reasoning_tokens=20,
        web_searches=2,
    )


def test_usage_without_the_cache_fields() -> None:
    bare = _parse(_message(_text("x"), usage={"input_tokens": 5, "output_tokens": 7}))
    assert bare.usage == Usage(prompt_tokens=5, completion_tokens=7)
    nested = _parse(
        _message(
            _text("x"),
            usage={
                "input_tokens": 5,
                "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 4},
                "output_tokens": 7,
            },
        )
    )
    assert nested.usage == Usage(prompt_tokens=19, completion_tokens=7, cache_write_tokens=14)
    assert _parse(_message(_text("x"), usage=None)).usage is None


def test_broken_usage_is_repaired_and_named() -> None:
    bad = _parse(_message(_text("x"), usage={"input_tokens": -4, "output_tokens": "7"}))
    assert bad.usage == Usage()
    assert bad.quirks == ("malformed_usage",)
    over = _parse(
        _message(
            _text("x"),
            usage={
                "input_tokens": 1,
                "output_tokens": 5,
                "output_tokens_details": {"thinking_tokens": 9},
            },
        )
    )
    assert over.usage == Usage(prompt_tokens=1, completion_tokens=5, reasoning_tokens=5)
    assert over.quirks == ("inconsistent_usage",)
    assert _parse(_message(_text("x"), usage=[1])).quirks == ("malformed_usage",)


def test_a_body_that_is_not_a_message() -> None:
    with pytest.raises(MalformedResponse, match="no `content` list"):
        _parse({"id": "msg_1", "type": "message"})
    with pytest.raises(MalformedResponse, match="not a JSON object"):
        parse_anthropic_message([1, 2], **P)  # type: ignore[arg-type]
    odd = _parse({**_message(_text("x")), "type": "message_batch"})
    assert odd.quirks == ("unknown_type:message_batch",)


# ------------------------------------------------------------ errors and what follows them


def _error(kind: str, message: str = "boom", **details: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if details:
        error["details"] = details
    return {"type": "error", "error": error, "request_id": "req_011"}


@pytest.mark.parametrize(
    ("status", "body", "expected", "retry", "fall_back"),
    [
        (529, _error("overloaded_error", "Overloaded"), ProviderServerError, True, True),
        (429, _error("rate_limit_error"), RateLimited, True, True),
        (400, _error("invalid_request_error", "max_tokens: too large"), BadRequest, False, False),
        (404, _error("not_found_error", "model: claude-nope"), ModelNotFound, False, True),
        (
            401,
            _error("authentication_error", "invalid x-api-key"),
            AuthenticationFailed,
            False,
            True,
        ),
        (403, _error("permission_error"), AuthenticationFailed, False, True),
        (402, _error("billing_error"), PaymentRequired, False, True),
        (500, _error("api_error"), ProviderServerError, True, True),
        (504, _error("timeout_error"), ProviderServerError, True, True),
        (413, _error("request_too_large"), BadRequest, False, False),
        (
            400,
            _error("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
            ContextLengthExceeded,
            False,
            True,
        ),
        (
            429,
            _error("rate_limit_error", "cap", error_code="enforced_spend_limit_reached"),
            PaymentRequired,
            False,
            True,
        ),
        (
            400,
            _error(
                "invalid_request_error",
                "You have reached your specified API usage limits. You will regain access on "
                "2026-01-01 at 00:00 UTC.",
            ),
            PaymentRequired,
            False,
            True,
        ),
        (200, _error("overloaded_error", "Overloaded"), ProviderServerError, True, True),
    ],
)
def test_error_bodies_give_typed_errors_and_the_router_rules(
    status: int,
    body: dict[str, Any],
    expected: type[ProviderHTTPError],
    retry: bool,
    fall_back: bool,
) -> None:
    with pytest.raises(expected) as caught:
        _parse(body, status)
    error = caught.value
    assert type(error) is expected
    assert error.status_code == status
    rule = rule_for(error)
    assert (rule.retry, rule.fall_back) == (retry, fall_back)
    assert error.body == body
    if status == 200:
        assert "error inside a 200 answer" in error.detail


def test_rate_limit_retry_after_header_is_read() -> None:
    error = classify_error(
        429, _error("rate_limit_error"), {"retry-after": "17"}, provider="anthropic", model_id=None
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 17.0
    assert error.code == "rate_limit_error"


# ------------------------------------------------------------ streams


def _sse(*events: dict[str, Any], pad: str = "") -> str:
    return "".join(
        f"event: {event['type']}\ndata: {json.dumps(event)[:-1]}{pad}}}\n\n" for event in events
    )


def _start(**message: Any) -> dict[str, Any]:
    base = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_read_input_tokens": 4, "output_tokens": 1},
    }
    return {"type": "message_start", "message": {**base, **message}}


def _block(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, **delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def _end(stop: str = "end_turn", output: int = 30) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": output},
        },
        {"type": "message_stop"},
    ]


def test_every_event_and_delta_type() -> None:
    citation = {"type": "char_location", "cited_text": "Grass is green.", "document_index": 0}
    text = _sse(
        _start(),
        {"type": "ping"},
        _block(0, {"type": "thinking", "thinking": "", "signature": ""}),
        _delta(0, type="thinking_delta", thinking="Look "),
        _delta(0, type="thinking_delta", thinking="it up."),
        _delta(0, type="signature_delta", signature="EqQBCkgI"),
        _stop(0),
        _block(1, {"type": "text", "text": "", "citations": []}),
        _delta(1, type="text_delta", text="Grass "),
        _delta(1, type="citations_delta", citation=citation),
        _delta(1, type="text_delta", text="is green."),
        _stop(1),
        _block(2, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
        _delta(2, type="input_json_delta", partial_json=""),
        _delta(2, type="input_json_delta", partial_json='{"a": '),
        _delta(2, type="input_json_delta", partial_json="12345678901234567890123}"),
        _stop(2),
        _block(3, {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}}),
        _delta(3, type="input_json_delta", partial_json=""),
        _stop(3),
        *_end("tool_use", 55),
        pad="      ",
    )
    response = parse_anthropic_sse(text, **P)
    assert response.reasoning == "Look it up."
    assert response.content == "Grass is green."
    assert [(c.id, c.name, c.arguments, c.quirks) for c in response.tool_calls] == [
        ("toolu_1", "f", {"a": 12345678901234567890123}, ()),  # a big integer kept exactly
        ("toolu_2", "g", {}, ()),  # only the empty first delta: no arguments, no quirk
    ]
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(prompt_tokens=16, completion_tokens=55, cached_tokens=4)
    assert response.quirks == ()
    assert response.raw is None
    assert response.native is not None
    assert list(response.native.content) == [
        {"type": "thinking", "thinking": "Look it up.", "signature": "EqQBCkgI"},
        {"type": "text", "text": "Grass is green.", "citations": [citation]},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 12345678901234567890123}},
        {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}},
    ]


def test_feed_line_reports_each_event_as_the_last_chunk() -> None:
    assembler = AnthropicStreamAssembler("anthropic", None)
    seen = []
    for line in _sse(_start(), {"type": "ping"}, *_end()).split("\n"):
        assembler.feed_line(line)
        seen.append(None if assembler.last_chunk is None else assembler.last_chunk["type"])
    assert [kind for kind in seen if kind] == [
        "message_start",
        "ping",
        "message_delta",
        "message_stop",
    ]
    assert seen[0] is None  # the `event:` line completes no event


def test_an_error_event_raises_its_typed_error_mid_stream() -> None:
    assembler = AnthropicStreamAssembler("anthropic", "anthropic:claude")
    for line in _sse(
        _start(), _block(0, _text("")), _delta(0, type="text_delta", text="Hel")
    ).split("\n"):
        assembler.feed_line(line)
    assembler.feed_line("event: error")
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(ProviderServerError) as caught:
        assembler.feed_line(f"data: {json.dumps(error)}")
    assert caught.value.status_code == 200
    assert caught.value.code == "overloaded_error"
    assert rule_for(caught.value).retry


def test_an_error_named_only_by_its_event_line() -> None:
    assembler = AnthropicStreamAssembler("anthropic", None)
    assembler.feed_line("event: error")
    with pytest.raises(RateLimited):
        assembler.feed_line('data: {"type": "rate_limit_error", "message": "slow down"}')


def test_streams_that_end_early_or_break_the_protocol() -> None:
    with pytest.raises(MalformedResponse, match="ended early"):
        parse_anthropic_sse(
            _sse(_start(), _block(0, _text("")), _delta(0, type="text_delta", text="x")), **P
        )
    with pytest.raises(MalformedResponse, match="no `message_start`"):
        parse_anthropic_sse(_sse({"type": "ping"}, {"type": "message_stop"}), **P)
    with pytest.raises(MalformedResponse, match="not valid JSON"):
        parse_anthropic_sse("event: message_start\ndata: {nope\n\n", **P)
    with pytest.raises(MalformedResponse, match="not a JSON object"):
        parse_anthropic_sse("data: [1]\n", **P)
    with pytest.raises(MalformedResponse, match="no message object"):
        parse_anthropic_sse(_sse({"type": "message_start", "message": "hi"}), **P)
    with pytest.raises(MalformedResponse, match="before `message_start`"):
        parse_anthropic_sse(_sse(_end()[0]), **P)
    # a stop reason without message_stop is a whole answer
    ended = parse_anthropic_sse(_sse(_start(), _block(0, _text("ok")), _end()[0]), **P)
    assert ended.content == "ok"


def test_a_tool_call_cut_off_by_max_tokens() -> None:
    text = _sse(
        _start(),
        _block(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
        _delta(0, type="input_json_delta", partial_json=""),
        _delta(0, type="input_json_delta", partial_json='{"city": "Par'),
        *_end("max_tokens"),
    )
    response = parse_anthropic_sse(text, **P)
    (call,) = response.tool_calls
    assert (call.arguments, call.raw_arguments, call.quirks) == (
        None,
        '{"city": "Par',
        ("truncated_json",),
    )
    assert response.finish_reason == "length"


def test_unknown_stream_things_are_named_not_fatal() -> None:
    text = (
        ": keep-alive\n"
        + _sse(
            _start(),
            {"type": "hologram_event", "x": 1},
            _block(0, {"type": "text", "text": ""}),
            _delta(0, type="hologram_delta", beam=1),
            _delta(0, type="text_delta", text="Hi"),
            _delta(7, type="text_delta", text="lost"),
            _block(1, {"type": "hologram", "payload": 1}),
            *_end(),
        )
        + "retry: 100\nid: 5\nwhat is this\n"
    )
    response = parse_anthropic_sse(text, **P)
    assert response.content == "Hi"
    assert set(response.quirks) == {
        "unknown_block:hologram",
        "keepalive_comments",
        "unknown_event:hologram_event",
        "unknown_delta:hologram_delta",
        "orphan_delta",
        "unknown_sse_line",
    }
    assert response.native is not None
    assert response.native.content[1] == {"type": "hologram", "payload": 1}


def test_crlf_line_endings() -> None:
    text = _sse(_start(), _block(0, _text("")), _delta(0, type="text_delta", text="Hi"), *_end())
    assert parse_anthropic_sse(text.replace("\n", "\r\n"), **P).content == "Hi"


# ------------------------------------------------------------ a stream is the whole answer, cut


def _streamed(body: dict[str, Any], cuts: st.DataObject) -> str:
    """``body`` as Anthropic would stream it, each string cut where hypothesis says."""

    def pieces(text: str) -> list[str]:
        points = sorted(cuts.draw(st.sets(st.integers(0, len(text)), max_size=4)))
        bounds = [0, *points, len(text)]
        return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    start = {key: value for key, value in body.items() if key not in ("content", "usage")}
    start.update(content=[], stop_reason=None)
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {**start, "usage": {**body["usage"], "output_tokens": 1}},
        }
    ]
    for index, block in enumerate(body["content"]):
        kind = block["type"]
        if kind == "text":
            events.append(_block(index, {"type": "text", "text": ""}))
            events += [_delta(index, type="text_delta", text=p) for p in pieces(block["text"])]
        elif kind == "thinking":
            events.append(_block(index, {"type": "thinking", "thinking": "", "signature": ""}))
            events += [
                _delta(index, type="thinking_delta", thinking=p) for p in pieces(block["thinking"])
            ]
            events.append(_delta(index, type="signature_delta", signature=block["signature"]))
        elif kind in ("tool_use", "server_tool_use"):
            events.append(_block(index, {**block, "input": {}}))
            events.append(_delta(index, type="input_json_delta", partial_json=""))
            events += [
                _delta(index, type="input_json_delta", partial_json=p)
                for p in pieces(json.dumps(block["input"]))
            ]
        else:
            events.append(_block(index, block))
        if cuts.draw(st.booleans()):
            events.append({"type": "ping"})
        events.append(_stop(index))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": body["usage"]["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return _sse(*events, pad=cuts.draw(st.sampled_from(["", "  ", "          "])))


_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
_blocks = st.lists(
    st.one_of(
        st.builds(_text, _words),
        st.builds(
            lambda thought, signature: {
                "type": "thinking",
                "thinking": thought,
                "signature": signature,
            },
            _words,
            st.text("ABCDEFabcdef0123456789+/=", min_size=8, max_size=40),
        ),
        st.builds(
            lambda n, arguments: _tool(f"toolu_{n}", "get_weather", arguments),
            st.integers(0, 10**6),
            st.dictionaries(
                st.text(min_size=1, max_size=8), st.one_of(st.integers(), _words), max_size=3
            ),
        ),
        st.just({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}),
        st.just(
            {
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {"q": "x"},
            }
        ),
        st.just({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(_blocks, st.sampled_from(["end_turn", "tool_use", "max_tokens"]), st.data())
def test_a_streamed_answer_is_the_whole_answer(
    blocks: list[dict[str, Any]], stop: str, cuts: st.DataObject
) -> None:
    body = _message(*blocks, stop=stop)
    whole = _parse(body)
    streamed = parse_anthropic_sse(_streamed(body, cuts), **P)
    assert streamed.content == whole.content
    assert streamed.tool_calls == whole.tool_calls
    assert streamed.reasoning == whole.reasoning
    assert (streamed.finish_reason, streamed.finish_reason_raw) == (
        whole.finish_reason,
        whole.finish_reason_raw,
    )
    assert streamed.usage == whole.usage
    assert (streamed.model, streamed.response_id) == (whole.model, whole.response_id)
    assert streamed.quirks == whole.quirks
    assert streamed.native is not None
    assert whole.native is not None
    assert streamed.native == whole.native
    # the blocks come back with their keys in the order the answer gave them
    assert [list(block) for block in streamed.native.content] == [
        list(block) for block in whole.native.content
    ]
