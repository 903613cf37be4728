"""``AnthropicProvider`` over ``httpx.MockTransport``: what it sends, what it reads, sync
and async, streamed and whole, each error status, and the round trip of a thinking turn:
answer -> ``flows.scoring.assistant_message`` -> the next request, whose thinking blocks
are the bytes the answer held.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelNotFound,
    PaymentRequired,
    ProviderHTTPError,
    ProviderServerError,
    RateLimited,
)
from clearance.flows.scoring import assistant_message
from clearance.providers.anthropic import ANTHROPIC_VERSION, AnthropicProvider
from clearance.providers.base import ChatRequest, Provider, ProviderReply
from clearance.providers.types import NATIVE_KEY
from clearance.providers.wire import anthropic_request
from clearance.retryplan import rule_for

CASSETTES = Path(__file__).parents[1] / "data" / "realdata" / "cassettes" / "anthropic"
KEY = "sk-ant-api03-test-key-0123456789"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
}
ASK = ChatRequest(messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER])


def _recorded(cassette: str, number: int) -> tuple[dict[str, Any], int, dict[str, str], bytes]:
    """(request body, status, response headers, response bytes) of a recorded exchange."""
    data = yaml.safe_load((CASSETTES / cassette).read_text(encoding="utf-8"))
    interaction = data["interactions"][number]
    request, response = interaction["request"], interaction["response"]
    sent = request.get("parsed_body") or json.loads(request["body"])
    headers = {
        key: value[0] if isinstance(value, list) else value
        for key, value in (response.get("headers") or {}).items()
        if key.lower() not in ("content-length", "transfer-encoding")
    }
    if "parsed_body" in response:
        content = orjson.dumps(response["parsed_body"])
    else:
        content = response["body"]["string"].encode()
    return sent, response["status"]["code"], headers, content


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers with one canned response and keeps what it got."""

    def __init__(self, status: int, content: bytes, headers: Mapping[str, str] | None = None):
        self.status = status
        self.content = content
        self.headers = dict(headers or {"content-type": "application/json"})
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, headers=self.headers, content=self.content)

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)


def _provider(handler: Handler, **options: Any) -> AnthropicProvider:
    options.setdefault("api_key", KEY)
    return AnthropicProvider(
        "anthropic",
        "https://api.anthropic.com/v1",
        api_key_env="ANTHROPIC_API_KEY",
        transport=httpx.MockTransport(handler),
        async_transport=httpx.MockTransport(handler),
        **options,
    )


def _both(provider: AnthropicProvider, request: ChatRequest, **options: Any) -> list[ProviderReply]:
    """The same call made by ``complete`` and by ``acomplete``."""

    async def call() -> ProviderReply:
        try:
            return await provider.acomplete("claude-sonnet-4-5", request, **options)
        finally:
            await provider.aclose()

    try:
        return [provider.complete("claude-sonnet-4-5", request, **options), asyncio.run(call())]
    finally:
        provider.close()


# ------------------------------------------------------------ what is sent, what is read


def test_a_whole_answer_sync_and_async() -> None:
    _, status, headers, content = _recorded("pydantic-ai/test_multiple_parallel_tool_calls.yaml", 0)
    recorder = Recorder(status, content, headers)
    provider = _provider(recorder)
    assert isinstance(provider, Provider)
    assert provider.protocol == "anthropic"
    replies = _both(provider, ASK, model_id="anthropic:claude-sonnet-4-5")
    for reply in replies:
        response = reply.response
        assert reply.status_code == 200
        assert [call.id for call in response.tool_calls] == [
            "toolu_0167cfEnoQaPviGdVXA95zcu",
            "toolu_01EEe2V5HD1Ac4rKiUR4HD2T",
            "toolu_01XFyAjstT3966qvRynZyVPo",
            "toolu_013mnQZbgtK2oe3Mo3XKJsx3",
        ]
        assert response.model == "claude-haiku-4-5-20251001"
        assert response.usage is not None
        assert response.usage.prompt_tokens == 423
    assert replies[0].response == replies[1].response
    assert len(recorder.requests) == 2
    for request in recorder.requests:
        assert request.method == "POST"
        assert str(request.url) == "https://api.anthropic.com/v1/messages"
        assert request.headers["x-api-key"] == KEY
        assert request.headers["anthropic-version"] == ANTHROPIC_VERSION == "2023-06-01"
        assert request.headers["content-type"] == "application/json"
        assert "authorization" not in request.headers
        assert json.loads(request.content) == anthropic_request("claude-sonnet-4-5", ASK)
    assert KEY not in repr(provider)


def test_no_key_and_a_version_of_ones_own() -> None:
    recorder = Recorder(
        200, orjson.dumps({"type": "message", "content": [], "stop_reason": "end_turn"})
    )
    provider = _provider(recorder, api_key=None, headers={"Anthropic-Version": "2099-01-01"})
    provider.complete("claude", ASK)
    provider.close()
    (request,) = recorder.requests
    assert "x-api-key" not in request.headers
    assert request.headers.get_list("anthropic-version") == ["2099-01-01"]


def test_a_streamed_answer_sync_and_async_with_each_event_to_the_callback() -> None:
    _, status, _, content = _recorded(
        "openinference/test_anthropic_instrumentation_multiple_tool_calling_streaming.yaml", 0
    )
    recorder = Recorder(status, content, {"content-type": "text/event-stream; charset=utf-8"})
    provider = _provider(recorder)
    events: list[str] = []
    request = ChatRequest(messages=ASK.messages, tools=ASK.tools, stream=True)
    replies = _both(provider, request, on_chunk=lambda event: events.append(event["type"]))
    for reply in replies:
        response = reply.response
        assert [(c.name, c.arguments) for c in response.tool_calls] == [
            ("get_weather", {"location": "New York, NY"}),
            ("get_time", {"timezone": "America/New_York"}),
        ]
        assert response.finish_reason == "tool_calls"
        assert response.raw is None
    assert replies[0].response == replies[1].response
    assert recorder.body["stream"] is True
    assert events.count("message_start") == events.count("message_stop") == 2
    deltas = content.decode().count('"type":"content_block_delta"')
    assert deltas == 20
    assert events.count("content_block_delta") == 2 * deltas
    assert events.count("ping") == 2


def test_retry_after_on_a_200_answer_is_an_answer() -> None:
    _, status, headers, content = _recorded(
        "pydantic-ai/test_anthropic_mixed_strict_tool_run.yaml", 0
    )
    assert headers["retry-after"] == "4"
    for reply in _both(_provider(Recorder(status, content, headers)), ASK):
        assert [call.name for call in reply.response.tool_calls] == ["country_source"]


# ------------------------------------------------------------ errors


def _error(kind: str, message: str) -> bytes:
    return orjson.dumps(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "retry", "fall_back"),
    [
        (529, _error("overloaded_error", "Overloaded"), {}, ProviderServerError, True, True),
        (
            429,
            _error("rate_limit_error", "Number of request tokens has exceeded your rate limit"),
            {"retry-after": "7"},
            RateLimited,
            True,
            True,
        ),
        (
            400,
            _error("invalid_request_error", "messages: at least one"),
            {},
            BadRequest,
            False,
            False,
        ),
        (404, _error("not_found_error", "model: claude-nope"), {}, ModelNotFound, False, True),
        (
            401,
            _error("authentication_error", f"invalid x-api-key {KEY}"),
            {},
            AuthenticationFailed,
            False,
            True,
        ),
        (
            402,
            _error("billing_error", "check your payment details"),
            {},
            PaymentRequired,
            False,
            True,
        ),
    ],
)
def test_error_statuses_are_typed_with_the_router_rules(
    status: int,
    body: bytes,
    headers: dict[str, str],
    expected: type[ProviderHTTPError],
    retry: bool,
    fall_back: bool,
) -> None:
    provider = _provider(Recorder(status, body, {"content-type": "application/json", **headers}))

    async def call() -> None:
        try:
            await provider.acomplete("claude", ASK, model_id="anthropic:claude")
        finally:
            await provider.aclose()

    for attempt in (
        lambda: provider.complete("claude", ASK, model_id="anthropic:claude"),
        lambda: asyncio.run(call()),
    ):
        with pytest.raises(expected) as caught:
            attempt()
        error = caught.value
        assert type(error) is expected
        assert error.status_code == status
        assert error.code == json.loads(body)["error"]["type"]
        assert (rule_for(error).retry, rule_for(error).fall_back) == (retry, fall_back)
        assert KEY not in str(error)
        assert KEY not in json.dumps(error.body)
        if status == 429:
            assert error.retry_after == 7.0
        if isinstance(error, AuthenticationFailed):
            assert error.api_key_env == "ANTHROPIC_API_KEY"
            assert "ANTHROPIC_API_KEY" in str(error)
    provider.close()


def test_an_error_body_inside_a_200_answer() -> None:
    provider = _provider(Recorder(200, _error("overloaded_error", "Overloaded")))
    with pytest.raises(ProviderServerError) as caught:
        provider.complete("claude", ASK)
    provider.close()
    assert caught.value.status_code == 200
    assert rule_for(caught.value).retry


def test_an_error_event_in_the_middle_of_a_stream() -> None:
    stream = (
        "event: message_start\n"
        'data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
        '"model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":5,'
        '"output_tokens":1}}}\n\n'
        "event: content_block_start\n"
        'data: {"type":"content_block_start","index":0,'
        '"content_block":{"type":"text","text":""}}\n\n'
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"Hel"}}\n\n'
        "event: error\n"
        'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )
    provider = _provider(Recorder(200, stream.encode(), {"content-type": "text/event-stream"}))
    request = ChatRequest(messages=ASK.messages, stream=True)

    async def call() -> None:
        try:
            await provider.acomplete("claude", request)
        finally:
            await provider.aclose()

    for attempt in (lambda: provider.complete("claude", request), lambda: asyncio.run(call())):
        with pytest.raises(ProviderServerError) as caught:
            attempt()
        assert caught.value.code == "overloaded_error"
        assert rule_for(caught.value).retry
    provider.close()


# ------------------------------------------------------------ the round trip of a native turn


def test_thinking_blocks_go_back_byte_identical() -> None:
    recorded, status, headers, content = _recorded(
        "pydantic-ai/test_anthropic_tool_with_thinking.yaml", 0
    )
    answer_blocks = json.loads(content)["content"]
    recorder = Recorder(status, content, headers)
    provider = _provider(recorder)
    question = {"role": "user", "content": recorded["messages"][0]["content"]}
    first = provider.complete("claude-sonnet-4-0", ChatRequest(messages=[question]))
    response = first.response
    assistant = assistant_message(response)
    assert assistant[NATIVE_KEY] == {"protocol": "anthropic", "content": answer_blocks}
    (call,) = response.tool_calls
    follow_up = ChatRequest(
        messages=[
            question,
            assistant,
            {"role": "tool", "tool_call_id": call.id, "content": "Mexico"},
        ],
        extra={"thinking": {"type": "enabled", "budget_tokens": 3000}},
    )
    provider.complete("claude-sonnet-4-0", follow_up)
    provider.close()
    sent = recorder.requests[-1].content
    thinking = answer_blocks[0]
    assert thinking["type"] == "thinking"
    # The block's bytes as the answer carried them (orjson, as the server's compact JSON)
    # appear as they are in the bytes of the next request: signature and all.
    assert orjson.dumps(thinking) in content
    assert orjson.dumps(thinking) in sent
    assert json.loads(sent)["messages"][1]["content"] == answer_blocks
    assert json.loads(sent)["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Mexico"}],
    }


def test_a_streamed_thinking_turn_goes_back_as_the_whole_answer_would_hold_it() -> None:
    _, status, _, content = _recorded(
        "pydantic-ai/test_anthropic_code_execution_tool_stream.yaml", 0
    )
    recorder = Recorder(status, content, {"content-type": "text/event-stream"})
    provider = _provider(recorder)
    question = {"role": "user", "content": "What is 65465-6544 * 65464-6+1.02255?"}
    response = provider.complete("claude", ChatRequest(messages=[question], stream=True)).response
    assert response.native is not None
    thinking = response.native.content[0]
    signature = "".join(
        json.loads(line[5:])["delta"]["signature"]
        for line in content.decode().splitlines()
        if '"signature_delta"' in line
    )
    assert thinking == {
        "type": "thinking",
        "thinking": "Let me calculate this mathematical expression.",
        "signature": signature,
    }
    provider.complete(
        "claude",
        ChatRequest(
            messages=[question, assistant_message(response), {"role": "user", "content": "Thanks"}],
            stream=True,
        ),
    )
    provider.close()
    sent = json.loads(recorder.requests[-1].content)
    assert sent["messages"][1]["content"] == list(response.native.content)
    assert orjson.dumps(thinking) in recorder.requests[-1].content


def test_an_integer_past_64_bits_in_a_whole_answer_stays_exact() -> None:
    """orjson would read it as a float; the model's argument must reach the eval as sent."""
    from clearance.providers.wire import jsonbody

    big = 2**64 + 1
    text = json.dumps({"input": {"account": big}, "n": 1.5, "nan": float("nan")})
    for body in (text, text.encode()):
        decoded = jsonbody.loads(body)
        assert decoded["input"]["account"] == big
        assert type(decoded["input"]["account"]) is int
        assert decoded["n"] == 1.5
    assert jsonbody.loads(b'{"a": 12345678901234567}') == {"a": 12345678901234567}
    with pytest.raises(json.JSONDecodeError):
        jsonbody.loads(b"{not json")


def test_a_tool_call_with_a_huge_integer_reaches_the_caller_exactly() -> None:
    big = 123456789012345678901234567890
    answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "pay", "input": {"to": big}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    recorder = Recorder(200, json.dumps(answer).encode())
    request = ChatRequest(messages=[{"role": "user", "content": "pay"}])
    for reply in _both(_provider(recorder), request):
        (call,) = reply.response.tool_calls
        assert call.arguments == {"to": big}
        assert type(call.arguments["to"]) is int
