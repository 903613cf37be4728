"""``GeminiProvider`` over ``httpx.MockTransport``: where it sends (the URL per model and
per stream, the key in a header and never in the URL), what it reads (answers recorded
from the real API, whole and streamed, sync and async), its typed errors, and the round
trip of a signed function call: answer -> ``flows.scoring.assistant_message`` -> the next
request, whose model turn holds the parts the answer held.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from clearance.errors import (
    AuthenticationFailed,
    MalformedResponse,
    ProviderServerError,
    RateLimited,
)
from clearance.flows.scoring import assistant_message
from clearance.providers.base import ChatRequest, ProviderReply
from clearance.providers.gemini import GeminiProvider
from clearance.providers.http import HttpProvider

BASE = "https://generativelanguage.googleapis.com/v1beta"
KEY = "AIzaSyTEST-not-a-real-key-0123456789abc"
CASSETTES = Path(__file__).parents[1] / "data" / "realdata" / "cassettes" / "gemini"


def _recorded(cassette: str, number: int) -> tuple[dict[str, Any], bytes]:
    """(request body, answer bytes) of one recorded exchange."""
    data = yaml.safe_load((CASSETTES / cassette).read_text(encoding="utf-8"))
    interaction = data["interactions"][number]
    request, response = interaction["request"], interaction["response"]
    sent = request.get("parsed_body") or json.loads(request["body"])
    if "parsed_body" in response:
        return sent, json.dumps(response["parsed_body"]).encode()
    return sent, response["body"]["string"].encode()


RETRY = "pydantic-ai/test_google_model_retry.yaml"
THINKING_STREAM = "pydantic-ai/test_google_model_thinking_part_iter.yaml"
PARALLEL_STREAM = "openinference/test_streaming_reasoning_with_multiple_tool_calls.yaml"


class Recorder:
    """A MockTransport handler that answers with canned responses and keeps what it got."""

    def __init__(
        self, *answers: tuple[int, bytes], headers: Mapping[str, str] | None = None
    ) -> None:
        self.answers = list(answers)
        self.headers = dict(headers or {})
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, content = self.answers[min(len(self.requests), len(self.answers)) - 1]
        streamed = request.url.params.get("alt") == "sse"
        kind = "text/event-stream" if streamed and status < 400 else "application/json"
        return httpx.Response(
            status, headers={"content-type": kind, **self.headers}, content=content
        )

    def body(self, index: int = -1) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.requests[index].content)
        return decoded


def _provider(handler: Recorder, **options: Any) -> GeminiProvider:
    return GeminiProvider(
        "google",
        BASE,
        api_key=KEY,
        api_key_env="GEMINI_API_KEY",
        transport=httpx.MockTransport(handler),
        async_transport=httpx.MockTransport(handler),
        **options,
    )


def _both(
    provider: GeminiProvider, model: str, request: ChatRequest, **options: Any
) -> list[ProviderReply]:
    """The same call made by ``complete`` and by ``acomplete``."""

    async def call() -> ProviderReply:
        try:
            return await provider.acomplete(model, request, **options)
        finally:
            await provider.aclose()

    try:
        return [provider.complete(model, request, **options), asyncio.run(call())]
    finally:
        provider.close()


QUESTION = ChatRequest(
    [
        {"role": "system", "content": "You are a helpful chatbot."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
)


def test_a_whole_answer_sync_and_async() -> None:
    _, answer = _recorded(RETRY, 0)
    handler = Recorder((200, answer))
    replies = _both(
        _provider(handler), "gemini-2.5-pro", QUESTION, model_id="google:gemini-2.5-pro"
    )
    for reply in replies:
        response = reply.response
        assert reply.status_code == 200
        assert [(c.name, c.arguments) for c in response.tool_calls] == [
            ("get_capital", {"country": "France"})
        ]
        assert response.finish_reason == "tool_calls"
        assert response.snapshot == "gemini-2.5-pro"
        assert response.native is not None
        assert response.native.protocol == "gemini"
    assert replies[0].response == replies[1].response
    for request in handler.requests:
        assert request.method == "POST"
        assert str(request.url) == f"{BASE}/models/gemini-2.5-pro:generateContent"
        assert request.headers["x-goog-api-key"] == KEY
        assert request.headers["content-type"] == "application/json"
        assert KEY not in str(request.url)
        assert "key=" not in str(request.url)
    assert handler.body(0) == handler.body(1)
    assert handler.body(0)["systemInstruction"] == {
        "parts": [{"text": "You are a helpful chatbot."}]
    }
    assert "model" not in handler.body(0)  # the model is in the URL


def test_a_stream_sync_and_async_with_each_chunk_reported() -> None:
    _, answer = _recorded(THINKING_STREAM, 0)
    handler = Recorder((200, answer))
    chunks: list[Mapping[str, Any]] = []
    request = ChatRequest([{"role": "user", "content": "How do I cross the street?"}], stream=True)
    replies = _both(_provider(handler), "gemini-2.5-pro", request, on_chunk=chunks.append)
    sent = answer.decode().count("data:")
    assert len(chunks) == 2 * sent == 2 * 23
    assert all("candidates" in chunk for chunk in chunks)
    for reply in replies:
        response = reply.response
        assert response.reasoning is not None
        assert response.reasoning.startswith("**Clarifying")
        assert response.content is not None
        assert response.content.startswith("This is a great")
        assert response.usage is not None
        assert response.usage.reasoning_tokens == 787
    for sent_request in handler.requests:
        assert (
            str(sent_request.url) == f"{BASE}/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        )
        assert KEY not in str(sent_request.url)
        assert sent_request.headers["x-goog-api-key"] == KEY


def test_parallel_calls_streamed_in_separate_chunks() -> None:
    _, answer = _recorded(PARALLEL_STREAM, 0)
    handler = Recorder((200, answer))
    request = ChatRequest([{"role": "user", "content": "Boston & New Delhi?"}], stream=True)
    for reply in _both(_provider(handler), "gemini-3.5-flash", request):
        calls = reply.response.tool_calls
        assert [(c.id, c.arguments) for c in calls] == [
            ("dv8szvqe", {"location": "Boston"}),
            ("j80tal12", {"location": "New Delhi"}),
        ]


@pytest.mark.parametrize(
    ("model", "stream", "url"),
    [
        ("gemini-2.5-flash", False, f"{BASE}/models/gemini-2.5-flash:generateContent"),
        ("models/gemini-2.0-flash", False, f"{BASE}/models/gemini-2.0-flash:generateContent"),
        (
            "tunedModels/my-tune-7",
            True,
            f"{BASE}/tunedModels/my-tune-7:streamGenerateContent?alt=sse",
        ),
        ("gemini 2?x", False, f"{BASE}/models/gemini%202%3Fx:generateContent"),
    ],
)
def test_the_url_per_model_and_stream(model: str, stream: bool, url: str) -> None:
    provider = GeminiProvider("google", BASE + "/", api_key=KEY)
    assert str(provider._url_for(model, stream)) == url
    assert provider.protocol == "gemini"
    assert isinstance(provider, HttpProvider)
    assert KEY not in repr(provider)


def test_an_error_status_is_typed_and_the_key_is_scrubbed() -> None:
    quota = {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}],
        }
    }
    handler = Recorder((429, json.dumps(quota).encode()))
    provider = _provider(handler)
    with pytest.raises(RateLimited) as caught:
        provider.complete("gemini-2.5-flash", QUESTION, model_id="google:gemini-2.5-flash")
    assert caught.value.retry_after == 12.0
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    echoed = [
        {
            "error": {
                "code": 400,
                "message": f"API key not valid: {KEY}",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                    }
                ],
            }
        }
    ]
    handler.answers = [(400, json.dumps(echoed).encode())]
    with pytest.raises(AuthenticationFailed) as auth:
        provider.complete("gemini-2.5-flash", QUESTION)
    assert KEY not in str(auth.value)
    assert KEY not in json.dumps(auth.value.body)
    assert auth.value.api_key_env == "GEMINI_API_KEY"
    provider.close()


def test_an_error_event_in_a_200_stream_raises_async_too() -> None:
    stream = (
        b'data: {"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}\r\n\r\n'
        b'data: {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}\r\n\r\n'
    )
    handler = Recorder((200, stream))
    provider = _provider(handler)
    request = ChatRequest([{"role": "user", "content": "Hi"}], stream=True)

    async def call() -> None:
        try:
            await provider.acomplete("gemini-2.5-flash", request)
        finally:
            await provider.aclose()

    with pytest.raises(ProviderServerError) as caught:
        asyncio.run(call())
    assert caught.value.status_code == 200
    assert caught.value.retryable


def test_a_200_answer_that_is_not_json_is_malformed() -> None:
    provider = _provider(Recorder((200, b"<html>proxy error</html>")))
    with pytest.raises(MalformedResponse):
        provider.complete("gemini-2.5-flash", QUESTION)
    provider.close()


def test_a_signed_call_round_trips_through_the_next_request() -> None:
    """answer -> assistant_message -> the next request: the parts (thoughtSignature
    included) go back unchanged, and the functionResponse names the function."""
    first_sent, first_answer = _recorded(RETRY, 0)
    second_sent, second_answer = _recorded(RETRY, 1)
    handler = Recorder((200, first_answer), (200, second_answer))
    provider = _provider(handler)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_capital",
                "description": "Get the capital of a country.",
                "parameters": first_sent["tools"][0]["functionDeclarations"][0][
                    "parameters_json_schema"
                ],
            },
        }
    ]
    messages: list[dict[str, Any]] = list(QUESTION.messages)
    reply = provider.complete("gemini-2.5-pro", ChatRequest(messages, tools=tools))
    (call,) = reply.response.tool_calls
    error = second_sent["contents"][2]["parts"][0]["functionResponse"]["response"]
    messages += [
        assistant_message(reply.response),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(error)},
    ]
    again = provider.complete("gemini-2.5-pro", ChatRequest(messages, tools=tools))
    provider.close()

    sent = handler.body(1)
    answered_parts = json.loads(first_answer)["candidates"][0]["content"]["parts"]
    assert sent["contents"][1] == {"role": "model", "parts": answered_parts}
    assert (
        sent["contents"][1]["parts"][0]["thoughtSignature"] == answered_parts[0]["thoughtSignature"]
    )
    assert sent["contents"][2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_capital", "response": error}}],
    }
    # what pydantic-ai sent in the same place, but for its own ids and base64 alphabet
    recorded = second_sent["contents"][2]["parts"][0]["functionResponse"]
    assert (recorded["name"], recorded["response"]) == ("get_capital", error)
    assert [c.arguments for c in again.response.tool_calls] == [{"country": "La France"}]
