"""The scripted models the router tests lean on: fixed statuses, small context, broken answers."""

from __future__ import annotations

import json

import httpx
import pytest

from clearance.reference import ReferenceServer
from tests.reference.conftest import TOOLS, body, chat


@pytest.mark.parametrize("status", [429, 500, 401, 402])
def test_status_models_always_answer_their_status(client: httpx.Client, status: int) -> None:
    for text in ("hello", "what's the weather in Paris?"):
        response = chat(client, body(f"ref/status-{status}", text, tools=TOOLS))
        assert response.status_code == status
        error = response.json()["error"]
        assert error["code"] == status
        assert "simulated" in error["message"]
        assert ("retry-after" in response.headers) == (status == 429)


def test_status_402_says_insufficient_credits(client: httpx.Client) -> None:
    error = chat(client, body("ref/status-402", "hi")).json()["error"]
    assert error["message"].startswith("Insufficient credits")


def test_context_small_refuses_a_long_prompt_and_answers_a_short_one(
    client: httpx.Client,
) -> None:
    long_text = "Please read this carefully. " * 400  # about 2,800 tokens by the estimate
    refused = chat(client, body("ref/context-small", long_text))
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert "maximum context length" in error["message"]
    assert error["type"] == "invalid_request_error"
    answered = chat(client, body("ref/context-small", "What's the weather in Oslo?", tools=TOOLS))
    assert answered.status_code == 200
    call = answered.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    assert json.loads(call["arguments"]) == {"city": "Oslo"}


def test_error_in_200_sends_an_openrouter_error_with_status_200(client: httpx.Client) -> None:
    response = chat(client, body("ref/error-in-200", "hello"))
    assert response.status_code == 200
    document = response.json()
    assert "choices" not in document
    assert document["error"]["code"] == 502


def test_stream_error_sends_one_content_chunk_then_an_error_chunk(client: httpx.Client) -> None:
    document = body("ref/stream-error", "Tell me about the sea", stream=True)
    with client.stream("POST", "/chat/completions", json=document) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        events = [line for line in response.iter_lines() if line]
    assert len(events) == 2
    first, second = (json.loads(e.removeprefix("data: ")) for e in events)
    assert first["choices"][0]["delta"]["content"]
    assert "error" not in first
    assert second["error"]["code"] == 502
    assert second["choices"][0]["finish_reason"] == "error"


def test_stream_error_without_streaming_is_an_error_in_200(client: httpx.Client) -> None:
    response = chat(client, body("ref/stream-error", "hello"))
    assert response.status_code == 200
    assert response.json()["error"]["code"] == 502


def test_slow_answers_like_steady_after_its_delay(client: httpx.Client) -> None:
    slow = chat(client, body("ref/slow", "What's the weather in Oslo?", tools=TOOLS))
    steady = chat(client, body("ref/steady", "What's the weather in Oslo?", tools=TOOLS))
    assert slow.headers["x-reference-delay-ms"] == "20"  # the fixture's slow_ms

    def functions(response: httpx.Response) -> list[object]:
        calls = response.json()["choices"][0]["message"]["tool_calls"]
        return [call["function"] for call in calls]

    assert (
        functions(slow)
        == functions(steady)
        == [{"name": "get_weather", "arguments": '{"city": "Oslo"}'}]
    )


def test_hang_never_answers_before_the_client_gives_up(server: ReferenceServer) -> None:
    with (
        httpx.Client(base_url=server.base_url, timeout=0.1) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        chat(http, body("ref/hang", "hello"))


def test_an_unknown_model_is_a_404_model_not_found(client: httpx.Client) -> None:
    response = chat(client, body("openai/gpt-4o", "hello"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
