"""The Anthropic Messages route: the same behaviours as the OpenAI route, in Anthropic's shapes.

Plain httpx requests, built as the real API's clients build them (and, at the end, real
request bodies recorded against api.anthropic.com), over the server's socket.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from clearance.reference import FAULT_KINDS, FlakySchedule, ReferenceServer
from tests.reference.conftest import (
    ANTHROPIC,
    SCHEMAS,
    TOOLS,
    body,
    chat,
    messages_body,
    sse,
    validate,
)

REALDATA = Path(__file__).resolve().parents[1] / "data/realdata/cassettes/anthropic/pydantic-ai"
TWO_CITIES = 'What is the weather in "Oslo"? Also, what is the weather in "Paris"?'


def post(client: httpx.Client, document: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/v1/messages", json=document, headers={**ANTHROPIC, **headers})


def tool_results(message: dict[str, Any]) -> dict[str, Any]:
    """The user turn answering every tool_use block of ``message``."""
    results = [
        {
            "type": "tool_result",
            "tool_use_id": block["id"],
            "content": json.dumps({"city": block["input"]["city"], "temp_c": 12}),
        }
        for block in message["content"]
        if block["type"] == "tool_use"
    ]
    return {"role": "user", "content": results}


def test_parallel_tool_uses_and_their_results_answer_as_on_the_openai_route(
    native: httpx.Client, client: httpx.Client
) -> None:
    first = messages_body("ref-steady", TWO_CITIES, tools=TOOLS)
    answer = post(native, first)
    assert answer.status_code == 200
    message = answer.json()
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["model"] == "ref-steady-20231114"  # the dated snapshot
    assert message["stop_reason"] == "tool_use"
    uses = [block for block in message["content"] if block["type"] == "tool_use"]
    assert [(u["name"], u["input"]) for u in uses] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_weather", {"city": "Paris"}),
    ]
    assert all(u["id"].startswith("toolu_") for u in uses)
    assert len({u["id"] for u in uses}) == 2
    usage = message["usage"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["cache_read_input_tokens"] == usage["cache_creation_input_tokens"] == 0

    second = {
        **first,
        "messages": [
            *first["messages"],
            {"role": "assistant", "content": message["content"]},
            tool_results(message),
        ],
    }
    final = post(native, second).json()
    assert final["stop_reason"] == "end_turn"
    (text,) = [block["text"] for block in final["content"] if block["type"] == "text"]

    # the same conversation on the OpenAI route ends in the same words
    openai = chat(client, body("ref/steady", TWO_CITIES, tools=TOOLS)).json()
    said = openai["choices"][0]["message"]
    results = [
        {
            "role": "tool",
            "tool_call_id": call["id"],
            "content": json.dumps(
                {"city": json.loads(call["function"]["arguments"])["city"], "temp_c": 12}
            ),
        }
        for call in said["tool_calls"]
    ]
    document = body("ref/steady", TWO_CITIES, tools=TOOLS)
    document["messages"] += [said, *results]
    assert chat(client, document).json()["choices"][0]["message"]["content"] == text
    assert "Oslo" in text
    assert "Paris" in text


def test_a_stream_is_the_real_apis_event_sequence(native: httpx.Client) -> None:
    document = messages_body("ref-steady", TWO_CITIES, tools=TOOLS)
    plain = post(native, document).json()
    streamed = post(native, {**document, "stream": True})
    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "text/event-stream"
    events = sse(streamed.text)
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[1:3] == ["content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert all(name == data["type"] for name, data in events)
    start = events[0][1]["message"]
    assert start["id"] == plain["id"]
    assert start["model"] == "ref-steady-20231114"
    assert start["content"] == []
    assert start["stop_reason"] is None
    # rebuild each block from its deltas: the same blocks as the plain answer
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, list[str]] = collections.defaultdict(list)
    for name, data in events:
        if name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
        elif name == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "input_json_delta":
                partial[data["index"]].append(delta["partial_json"])
            elif delta["type"] == "text_delta":
                blocks[data["index"]]["text"] += delta["text"]
    for index, pieces in partial.items():
        assert pieces[0] == ""  # the first input_json_delta is empty, as the API's is
        assert blocks[index]["input"] == {}
        blocks[index]["input"] = json.loads("".join(pieces))
    assert [blocks[i] for i in sorted(blocks)] == plain["content"]
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["output_tokens"] == plain["usage"]["output_tokens"]
    # data lines end in padding spaces, as the real API's do
    assert any(line.endswith(" ") for line in streamed.text.split("\n") if line.startswith("data"))


def test_thinking_blocks_must_come_back_unchanged(native: httpx.Client) -> None:
    document = messages_body(
        "ref-steady",
        'What is the weather in "Oslo"?',
        tools=TOOLS,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    message = post(native, document).json()
    thinking, use = message["content"]
    assert thinking["type"] == "thinking"
    assert "not a real model" in thinking["thinking"]
    assert len(thinking["signature"]) > 100
    assert use["type"] == "tool_use"

    def follow_up(content: list[dict[str, Any]]) -> httpx.Response:
        turn = {"role": "assistant", "content": content}
        return post(
            native, {**document, "messages": [*document["messages"], turn, tool_results(message)]}
        )

    kept = follow_up(message["content"])
    assert kept.status_code == 200
    assert kept.json()["content"][0]["type"] == "thinking"  # and it thinks again
    altered = follow_up([{**thinking, "thinking": thinking["thinking"] + " "}, use])
    assert altered.status_code == 400
    assert altered.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages.1.content.0: Invalid `signature` in `thinking` block",
        },
    }
    resigned = follow_up([{**thinking, "signature": thinking["signature"][::-1]}, use])
    assert resigned.status_code == 400
    dropped = follow_up([use])
    assert dropped.status_code == 400
    assert (
        "Expected `thinking` or `redacted_thinking`, but found `tool_use`"
        in (dropped.json()["error"]["message"])
    )
    streamed = sse(post(native, {**document, "stream": True}).text)
    signature = [
        data["delta"]["signature"]
        for name, data in streamed
        if name == "content_block_delta" and data["delta"]["type"] == "signature_delta"
    ]
    assert signature == [thinking["signature"]]


@pytest.mark.parametrize(
    ("thinking", "message"),
    [
        ({"type": "enabled", "budget_tokens": 512}, "greater than or equal to 1024"),
        ({"type": "enabled", "budget_tokens": 2048}, "`max_tokens` must be greater"),
        ({"type": "sometimes"}, "thinking.type"),
    ],
)
def test_a_bad_thinking_setting_is_refused(
    native: httpx.Client, thinking: dict[str, Any], message: str
) -> None:
    refused = post(native, messages_body("ref-steady", "hi", thinking=thinking))
    assert refused.status_code == 400
    assert message in refused.json()["error"]["message"]


def test_flaky_fails_with_anthropic_errors_then_answers(native: httpx.Client) -> None:
    document = messages_body("ref-flaky", "What's the weather in Paris?", tools=TOOLS)
    limited = post(native, document)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["type"] == "error"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    overloaded = post(native, document)  # the OpenAI route's 503
    assert overloaded.status_code == 529
    assert overloaded.json()["error"]["type"] == "overloaded_error"
    answered = post(native, {**document, "stream": True})  # the same request, streamed
    assert answered.status_code == 200
    assert answered.headers["x-reference-attempt"] == "3"
    assert sse(answered.text)[-1][0] == "message_stop"


@pytest.mark.parametrize(
    ("document", "status", "kind", "message"),
    [
        (messages_body("claude-sonnet-4", "hi"), 404, "not_found_error", "model: claude-sonnet-4"),
        (messages_body("ref-status-500", "hi"), 500, "api_error", "ref/status-500"),
        (messages_body("ref-status-429", "hi"), 429, "rate_limit_error", "Rate limit"),
        (messages_body("ref-status-402", "hi"), 402, "billing_error", "credits"),
        (
            messages_body("ref-context-small", "word " * 9_000),
            400,
            "invalid_request_error",
            "prompt is too long: ",
        ),
        ({"model": "ref-steady", "messages": []}, 400, "invalid_request_error", "max_tokens"),
        (messages_body("ref-steady", "hi", messages=[]), 400, "invalid_request_error", "messages"),
        (
            messages_body("ref-steady", "hi", tool_choice={"type": "tool", "name": "nope"}),
            400,
            "invalid_request_error",
            "tool_choice",
        ),
        (messages_body("ref-error-in-200", "hi"), 200, "api_error", "ref/error-in-200"),
    ],
)
def test_errors_come_in_anthropics_shape(
    native: httpx.Client, document: dict[str, Any], status: int, kind: str, message: str
) -> None:
    answer = post(native, document)
    assert answer.status_code == status
    error = answer.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == kind
    assert message in error["error"]["message"]


def test_a_stream_error_comes_as_an_error_event(native: httpx.Client) -> None:
    answer = post(native, messages_body("ref-stream-error", "Say hello", stream=True))
    assert answer.status_code == 200
    events = sse(answer.text)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1]["error"]["type"] == "overloaded_error"


def test_without_anthropic_version_the_request_is_refused(native: httpx.Client) -> None:
    answer = native.post("/v1/messages", json=messages_body("ref-steady", "hi"))
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "anthropic-version: header is required"


def test_keys_go_in_x_api_key() -> None:
    with (
        ReferenceServer(api_key="secret") as server,
        httpx.Client(base_url=server.origin) as http,
    ):
        document = messages_body("ref-steady", "hi")
        missing = post(http, document)
        assert missing.status_code == 401
        assert missing.json()["error"] == {
            "type": "authentication_error",
            "message": "x-api-key header is required",
        }
        wrong = post(http, document, **{"x-api-key": "guess"})
        assert wrong.json()["error"]["message"] == "invalid x-api-key"
        bearer = post(http, document, authorization="Bearer secret")  # OpenAI's way: not here
        assert bearer.status_code == 401
        assert post(http, document, **{"x-api-key": "secret"}).status_code == 200


def test_models_in_anthropics_shape_when_asked_with_its_headers(
    native: httpx.Client, client: httpx.Client
) -> None:
    listing = native.get("/v1/models", headers=ANTHROPIC).json()
    assert listing["has_more"] is False
    assert listing["simulator"] is True
    first = listing["data"][0]
    assert first == {
        "type": "model",
        "id": "ref-steady-20231114",
        "display_name": "Reference simulator: steady (not a real model)",
        "created_at": "2023-11-14T22:13:20Z",
    }
    assert listing["first_id"] == first["id"]
    assert listing["last_id"] == listing["data"][-1]["id"]
    assert all("simulator" in model["display_name"] for model in listing["data"])
    # the OpenAI route's listing is unchanged
    assert client.get("/models").json()["data"][0]["id"] == "ref/steady"
    # the dated id is a name the route takes
    assert post(native, messages_body("ref-steady-20231114", "hi")).status_code == 200


def test_the_prompt_cache_is_written_once_then_read() -> None:
    system: list[dict[str, Any]] = [
        {"type": "text", "text": "You are a careful assistant. " * 300},
        {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
    ]
    with ReferenceServer() as server, httpx.Client(base_url=server.origin) as http:
        document = messages_body("ref-steady", "Say hello", system=system)
        written = post(http, document).json()["usage"]
        read = post(http, {**document, "messages": [{"role": "user", "content": "Say bye"}]})
        usage = read.json()["usage"]
        short = messages_body("ref-steady", "hi", system=[{**system[1], "text": "Be brief."}])
        uncached = post(http, short).json()["usage"]
    assert written["cache_creation_input_tokens"] > 1_024
    assert written["cache_read_input_tokens"] == 0
    assert (
        written["cache_creation"]["ephemeral_5m_input_tokens"]
        == (written["cache_creation_input_tokens"])
    )
    assert usage["cache_read_input_tokens"] == written["cache_creation_input_tokens"]
    assert usage["cache_creation_input_tokens"] == 0
    assert usage["input_tokens"] < written["cache_creation_input_tokens"]
    assert uncached["cache_creation_input_tokens"] == 0  # too short to cache


def test_sloppy_faults_are_those_an_object_can_carry(native: httpx.Client) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    for index in range(120):
        text = f"Find flights from Lisbon to Tokyo on 2024-07-01 for 2 passengers (request {index})"
        answer = post(native, messages_body("ref-sloppy", text, tools=TOOLS))
        assert answer.status_code == 200
        (use,) = [b for b in answer.json()["content"] if b["type"] == "tool_use"]
        assert isinstance(use["input"], dict)  # never broken JSON: Anthropic sends an object
        fault = answer.headers.get("x-reference-fault")
        kinds[fault or "none"] += 1
        if fault is None:
            validate("search_flights", use["input"])
        elif fault == "invented_tool":
            assert use["name"] not in SCHEMAS
        elif fault in ("wrong_type", "missing_required"):
            with pytest.raises(jsonschema.ValidationError):
                validate(use["name"], use["input"])
    assert set(kinds) == {"none", *(k for k in FAULT_KINDS if k != "malformed_json")}
    assert kinds["none"] == 96  # deterministic for seed 7: a 0.2 share, the 0.3 rate's range


def _recorded(name: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((REALDATA / name).read_text())
    return [interaction["request"]["parsed_body"] for interaction in document["interactions"]]


def test_real_request_bodies_are_answered() -> None:
    """pydantic-ai's recorded requests to claude-haiku-4-5, sent to ref-steady instead."""
    first, second = _recorded("test_multiple_parallel_tool_calls.yaml")
    with ReferenceServer() as server, httpx.Client(base_url=server.origin) as http:
        asked = post(http, {**first, "model": "ref-steady"})
        # the real conversation so far (Claude's own tool uses, the tool results) as sent
        answered = post(http, {**second, "model": "ref-steady"})
    assert asked.status_code == 200
    # its words name no tool (the tool is named in the system prompt): a text answer
    assert asked.json()["stop_reason"] == "end_turn"
    assert "Who is the youngest?" in asked.json()["content"][0]["text"]
    final = answered.json()
    assert final["stop_reason"] == "end_turn"
    assert "daisy is bob's daughter" in final["content"][0]["text"]


def test_a_real_thinking_block_from_another_model_is_refused() -> None:
    """Claude's real signature is not the simulator's: the block counts as altered."""
    _, second = _recorded("test_anthropic_tool_with_thinking.yaml")
    assert second["messages"][1]["content"][0]["type"] == "thinking"
    with ReferenceServer() as server, httpx.Client(base_url=server.origin) as http:
        refused = post(http, {**second, "model": "ref-steady"})
    assert refused.status_code == 400
    assert "Invalid `signature` in `thinking` block" in refused.json()["error"]["message"]


def test_flaky_counts_each_protocols_requests_apart() -> None:
    """Each protocol's request is its own request: their attempts are counted apart."""
    schedule = FlakySchedule(failures=(503,), slow_rate=0, hang_rate=0)
    with ReferenceServer(flaky=schedule) as server, httpx.Client(base_url=server.origin) as http:
        anthropic = messages_body("ref-flaky", "hello")
        assert post(http, anthropic).status_code == 529
        openai = http.post("/v1/chat/completions", json=body("ref/flaky", "hello"))
        assert openai.status_code == 503
        assert post(http, anthropic).status_code == 200
