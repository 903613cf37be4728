"""Replaying without HTTP: :class:`ReplayingProvider` answers a replaying cassette's calls
exactly as the provider does through the recording transport, for all three protocols,
without a single request reaching httpx's transport."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from clearance.errors import ClearanceError, RecordingMismatch
from clearance.evaluation.recording import CassetteLibrary, RecordingTransport, RecordMode
from clearance.evaluation.replay import ReplayingProvider
from clearance.providers.base import ChatRequest, ProviderReply
from clearance.providers.factory import make_provider
from clearance.providers.http import HttpProvider

FINGERPRINT = {"case": "c0ffee"}
CASE = "cancel_meeting"

ANSWERS: dict[str, dict[str, Any]] = {
    "openai": {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "steady",
        "system_fingerprint": "fp_1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    },
    "anthropic": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-steady-20260101",
        "content": [
            {"type": "text", "text": "hello"},
            {"type": "tool_use", "id": "toolu_1", "name": "get_time", "input": {"tz": "UTC"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 2},
    },
    "gemini": {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "hello"}, {"functionCall": {"name": "get_time"}}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2},
        "modelVersion": "gemini-steady-001",
    },
}
OPENAI_STREAM = (
    b'data: {"id":"c1","model":"steady","choices":[{"index":0,"delta":{"content":"he"}}]}\n\n'
    b'data: {"id":"c1","model":"steady","choices":[{"index":0,"delta":{"content":"llo"},'
    b'"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


class CountingTransport(RecordingTransport):
    """The recording transport, counting the requests httpx hands it."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(inner_async=inner)
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await super().handle_async_request(request)


def _network(protocol: str) -> httpx.MockTransport:
    """Answers by the user message: ``busy`` -> 429, ``stream`` -> an OpenAI stream."""

    def answer(request: httpx.Request) -> httpx.Response:
        text = request.content.decode()
        if "busy" in text:
            return httpx.Response(
                429,
                headers={"retry-after": "3"},
                json={"error": {"type": "rate_limit_error", "message": "slow down"}},
            )
        if "stream" in text:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=OPENAI_STREAM
            )
        return httpx.Response(200, json=ANSWERS[protocol])

    return httpx.MockTransport(answer)


def _provider(protocol: str, transport: httpx.AsyncBaseTransport) -> HttpProvider:
    return make_provider(
        protocol, "ref", "http://127.0.0.1:9/v1", api_key="k-1", async_transport=transport
    )


def _request(text: str) -> ChatRequest:
    tools = [{"type": "function", "function": {"name": "get_time", "parameters": {}}}]
    return ChatRequest(
        messages=[{"role": "user", "content": text}], tools=tools, stream=text == "stream"
    )


TRIALS = {1: ["hi"], 2: ["busy", "hi"], 3: ["stream"]}  # trial 2: a 429, then the retry


def _asks(protocol: str) -> dict[int, list[str]]:
    return TRIALS if protocol == "openai" else {1: TRIALS[1], 2: TRIALS[2]}


def _play(
    root: Path,
    mode: RecordMode,
    provider: Any,
    asks: dict[int, list[str]],
    *,
    finish: bool = True,
) -> list[tuple[str, Any]]:
    """Each call's outcome: ("answer", (response, status)) or ("error", (type, str, kind))."""
    library = CassetteLibrary(root, mode, environ={})

    async def run() -> list[tuple[str, Any]]:
        cassette = library.open("ref:steady", CASE, fingerprint=FINGERPRINT)
        seen: list[tuple[str, Any]] = []
        for trial, texts in asks.items():
            with cassette.use(trial):
                for text in texts:
                    try:
                        reply: ProviderReply = await provider.acomplete(
                            "steady", _request(text), model_id="ref:steady"
                        )
                    except ClearanceError as error:
                        kind = getattr(error, "kind", None)
                        seen.append(("error", (type(error), str(error), kind)))
                    else:
                        seen.append(("answer", (reply.response, reply.status_code)))
        if finish:
            cassette.finish()
        return seen

    return asyncio.run(run())


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "gemini"])
def test_a_replay_without_http_gives_what_the_transport_gives(
    tmp_path: Path, protocol: str
) -> None:
    asks = _asks(protocol)
    recorded = _play(
        tmp_path, "all", _provider(protocol, RecordingTransport(_network(protocol))), asks
    )
    assert [kind for kind, _ in recorded].count("error") == 1  # the 429 is an answer too

    through_httpx = CountingTransport()
    replayed = _play(tmp_path, "none", _provider(protocol, through_httpx), asks)
    assert through_httpx.requests == sum(map(len, asks.values()))

    no_http = CountingTransport()
    fast = _play(tmp_path, "none", ReplayingProvider(_provider(protocol, no_http)), asks)
    assert no_http.requests == 0
    assert fast == replayed == recorded


def test_a_mismatch_says_the_same_through_either_path(tmp_path: Path) -> None:
    _play(tmp_path, "all", _provider("openai", RecordingTransport(_network("openai"))), TRIALS)
    changed = {1: ["hi there"]}
    through_httpx = _play(
        tmp_path, "none", _provider("openai", CountingTransport()), changed, finish=False
    )
    fast = _play(
        tmp_path,
        "none",
        ReplayingProvider(_provider("openai", CountingTransport())),
        changed,
        finish=False,
    )
    assert fast == through_httpx
    ((kind, (error_type, message, _)),) = fast
    assert (kind, error_type) == ("error", RecordingMismatch)
    assert "body differs at /messages/0/content" in message


def test_new_records_through_the_transport_from_where_a_trial_differs(tmp_path: Path) -> None:
    _play(tmp_path, "all", _provider("openai", RecordingTransport(_network("openai"))), TRIALS)
    network = CountingTransport(_network("openai"))
    outcome = _play(
        tmp_path, "new", ReplayingProvider(_provider("openai", network)), {1: ["hi", "again"]}
    )
    assert [kind for kind, _ in outcome] == ["answer", "answer"]
    assert network.requests == 1  # "hi" replayed without HTTP, "again" recorded
    stored = orjson.loads(next(tmp_path.rglob("*.json")).read_bytes())
    sent = [
        i["request"]["body"]["json"]["messages"][0]["content"]
        for i in stored["interactions"]
        if i["trial"] == 1
    ]
    assert sent == ["hi", "again"]


def test_outside_a_cassette_the_wrapped_provider_is_called() -> None:
    network = CountingTransport(_network("openai"))
    provider = ReplayingProvider(_provider("openai", network))
    reply = asyncio.run(provider.acomplete("steady", _request("hi")))
    assert (reply.response.content, network.requests) == ("hello", 1)
