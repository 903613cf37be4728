"""One simulator, three protocols: clearance's own providers for each, on one port.

The OpenAI-compatible, Anthropic and Gemini providers drive the same tool-using
conversation against the same simulated behaviour, plain and streamed, over the socket:
each answers alike, the native turns (thinking blocks, thought signatures) go back
unchanged, and the server's request log shows each native path was used.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clearance.errors import ProviderServerError, RateLimited
from clearance.flows.scoring import assistant_message
from clearance.providers.base import ChatRequest
from clearance.providers.factory import make_provider
from clearance.providers.types import ChatResponse
from clearance.reference import FlakySchedule, ReferenceServer
from clearance.reference.lowered import read_lowered
from tests.reference.conftest import CREATE_EVENT, TOOLS

ASK = 'What is the weather in "Oslo"? Also, what is the weather in "Paris"?'
MODELS = {"openai": "ref/steady", "anthropic": "ref-steady", "gemini": "ref-3-steady"}
EXTRA: dict[str, dict[str, Any]] = {
    # thinking on: the second turn is refused unless the thinking block comes back
    "anthropic": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    "openai": {},
    "gemini": {},
}


def converse(
    server: ReferenceServer, protocol: str, model: str, *, stream: bool
) -> list[ChatResponse]:
    """A conversation to its final answer, every tool answering with the city's weather."""
    provider = make_provider(
        protocol, f"ref-{protocol}", server.base_url_for(protocol), api_key="k"
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": ASK}]
    answers = []
    try:
        for _ in range(4):
            request = ChatRequest(
                messages=messages,
                tools=TOOLS,
                stream=stream,
                max_tokens=4096,
                extra=EXTRA[protocol],
            )
            response = provider.complete(model, request).response
            answers.append(response)
            messages.append(assistant_message(response))
            if not response.tool_calls:
                break
            for call in response.tool_calls:
                assert call.arguments is not None
                weather = {"city": call.arguments["city"], "temp_c": 12}
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(weather)}
                )
    finally:
        provider.close()
    return answers


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_each_protocol_answers_the_same_conversation_alike(stream: bool) -> None:
    with ReferenceServer(seed=3) as server:
        runs = {p: converse(server, p, model, stream=stream) for p, model in MODELS.items()}
        log = server.requests()
    for protocol, answers in runs.items():
        assert [a.finish_reason for a in answers] == ["tool_calls", "stop"], protocol
        calls = [(c.name, c.arguments) for c in answers[0].tool_calls]
        assert calls == [("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Paris"})]
        usage = answers[0].usage
        assert usage is not None
        assert usage.prompt_tokens > 0
    finals = {protocol: answers[-1].content or "" for protocol, answers in runs.items()}
    assert len(set(finals.values())) == 1, finals
    assert "city: Oslo" in finals["openai"]
    assert "city: Paris" in finals["openai"]
    # the snapshots each protocol reports
    assert runs["anthropic"][0].snapshot == "ref-steady-20231114"
    assert (runs["gemini"][0].snapshot or "").startswith("ref-3-steady")
    # the native turns kept what must go back: a signed thinking block, a thought signature
    anthropic_turn = runs["anthropic"][0].native
    assert anthropic_turn is not None
    assert anthropic_turn.content[0]["type"] == "thinking"
    gemini_turn = runs["gemini"][0].native
    assert gemini_turn is not None
    assert "thoughtSignature" in gemini_turn.content[0]
    gemini = "streamGenerateContent" if stream else "generateContent"
    assert log == {
        "POST /v1/chat/completions": 2,
        "POST /v1/messages": 2,
        f"POST /v1beta/models/{{model}}:{gemini}": 2,
    }


@pytest.mark.parametrize(
    ("protocol", "model"),
    [("openai", "ref/flaky"), ("anthropic", "ref-flaky"), ("gemini", "ref-2.5-flaky")],
)
def test_flaky_failures_reach_each_client_as_the_same_typed_errors(
    protocol: str, model: str
) -> None:
    schedule = FlakySchedule(slow_rate=0, hang_rate=0)
    request = ChatRequest(messages=[{"role": "user", "content": "hello"}], max_tokens=64)
    with ReferenceServer(flaky=schedule) as server:
        provider = make_provider(protocol, "ref", server.base_url_for(protocol), api_key="k")
        try:
            with pytest.raises(RateLimited):
                provider.complete(model, request)
            with pytest.raises(ProviderServerError) as failed:
                provider.complete(model, request)
            assert failed.value.status_code == (529 if protocol == "anthropic" else 503)
            assert provider.complete(model, request).response.content
        finally:
            provider.close()


def test_formats_a_lowering_moved_into_descriptions_are_still_read() -> None:
    """Gemini's lowering sends ``format: email`` as "Format: email." in the description;
    the simulator reads it back, as a careful model does, so the calls stay the same."""
    ask = 'Schedule "Roadmap review" on 2026-12-08 for 45 minutes with sam@ourco.example'
    request = ChatRequest(messages=[{"role": "user", "content": ask}], tools=[CREATE_EVENT])
    calls = {}
    with ReferenceServer() as server:
        for protocol, model in MODELS.items():
            provider = make_provider(protocol, "ref", server.base_url_for(protocol), api_key="k")
            try:
                (call,) = provider.complete(model, request).response.tool_calls
            finally:
                provider.close()
            calls[protocol] = (call.name, call.arguments)
    assert calls["openai"][1] is not None
    assert calls["openai"][1]["attendees"] == ["sam@ourco.example"]
    assert calls["gemini"] == calls["anthropic"] == calls["openai"]


def test_read_lowered_restores_types_and_stated_formats() -> None:
    lowered = {
        "type": "OBJECT",
        "properties": {
            "to": {"type": "STRING", "description": "Format: email."},
            "day": {"type": "STRING", "description": "The day (format: date)"},
            "tags": {"type": "ARRAY", "items": {"type": "STRING", "description": "A tag"}},
            "when": {"type": "STRING", "format": "date-time", "description": "Format: date."},
        },
    }
    assert read_lowered(lowered) == {
        "type": "object",
        "properties": {
            "to": {"type": "string", "description": "Format: email.", "format": "email"},
            "day": {"type": "string", "description": "The day (format: date)", "format": "date"},
            "tags": {"type": "array", "items": {"type": "string", "description": "A tag"}},
            "when": {"type": "string", "format": "date-time", "description": "Format: date."},
        },
    }
