"""The Anthropic Messages wire format against 18 real recorded cassettes.

``tests/data/realdata/cassettes/anthropic`` (pydantic-ai, MIT; openinference,
Apache-2.0; see tests/data/NOTICE) holds real traffic with ``api.anthropic.com``.
Every request is rebuilt from its canonical (OpenAI-shaped) form, written here from the
recorded body by a translator of the test's own, and :func:`anthropic_request` must give
the recorded body back; :func:`anthropic_tool_schemas` must read its client tools.
Every answer, JSON or SSE, is parsed and checked against expectations computed from the
recorded JSON directly (tool calls, usage sums), then each cassette's known facts and
each quirk the realdata README names get a test of their own.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearance.errors import BadRequest, ModelNotFound, ProviderHTTPError
from clearance.pricing import Usage
from clearance.providers.base import ChatRequest
from clearance.providers.types import NATIVE_KEY, ChatResponse, ToolCall
from clearance.providers.wire import (
    anthropic_request,
    anthropic_tool_schemas,
    parse_anthropic_message,
    parse_anthropic_sse,
    parse_completion,
)
from clearance.providers.wire.anthropic_messages import DEFAULT_MAX_TOKENS
from clearance.retryplan import rule_for

ROOT = Path(__file__).parents[1] / "data" / "realdata" / "cassettes" / "anthropic"
FILES = sorted(ROOT.rglob("*.yaml"))
P = {"provider": "anthropic", "model_id": "anthropic:recorded"}


@dataclass(frozen=True)
class Exchange:
    """One recorded ``POST api.anthropic.com/v1/messages...`` and its answer."""

    cassette: str
    number: int
    uri: str
    request: dict[str, Any]
    status: int
    headers: dict[str, str]
    body: Any
    """The decoded JSON answer, or the SSE text."""
    streamed: bool

    @property
    def where(self) -> str:
        return f"{self.cassette} #{self.number}"


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@functools.cache
def _exchanges(path: Path) -> tuple[Exchange, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    for number, interaction in enumerate(data["interactions"]):
        request, response = interaction["request"], interaction["response"]
        if "api.anthropic.com" not in request["uri"]:
            continue  # the replay cassette goes on to Gemini: not this format
        sent = request.get("parsed_body")
        if sent is None:
            sent = json.loads(request["body"])
        headers = {
            str(key).lower(): value[0] if isinstance(value, list) else value
            for key, value in (response.get("headers") or {}).items()
        }
        if "parsed_body" in response:
            body: Any = response["parsed_body"]
            streamed = False
        else:
            body = response["body"]["string"]
            streamed = body.lstrip().startswith("event:")
            if not streamed:
                body = json.loads(body)
        found.append(
            Exchange(
                _name(path),
                number,
                request["uri"],
                sent,
                response["status"]["code"],
                headers,
                body,
                streamed,
            )
        )
    return tuple(found)


def _one(cassette: str, number: int) -> Exchange:
    (exchange,) = [e for e in _exchanges(ROOT / cassette) if e.number == number]
    return exchange


def _parse(exchange: Exchange) -> ChatResponse:
    if exchange.streamed:
        return parse_anthropic_sse(exchange.body, **P)
    return parse_anthropic_message(exchange.body, status_code=exchange.status, **P)


def _events(text: str) -> list[dict[str, Any]]:
    """The decoded ``data:`` payloads of an SSE body, read without the assembler."""
    return [
        json.loads(line.strip()[5:])
        for line in text.splitlines()
        if line.strip().startswith("data:")
    ]


# ------------------------------------------------------------ the canonical request, rebuilt


def _canonical(body: dict[str, Any]) -> ChatRequest:
    """The OpenAI-shaped request a caller would write for the recorded native ``body``.

    User text stays as it was (a string or a list of text parts), tool results become
    tool messages, and an assistant turn of text then ``tool_use`` blocks becomes content
    parts plus ``tool_calls`` with JSON-string arguments; any other assistant turn
    (thinking, server tools, several texts) rides along as its native turn."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system is not None:
        messages.append({"role": "system", "content": system})
    for message in body["messages"]:
        content = message["content"]
        if message["role"] == "user":
            if isinstance(content, str):
                messages.append({"role": "user", "content": content})
                continue
            for block in content:
                if block["type"] == "tool_result":
                    tool: dict[str, Any] = {
                        "role": "tool",
                        "tool_call_id": block["tool_use_id"],
                        "content": block.get("content"),
                    }
                    if block.get("is_error"):
                        tool["is_error"] = True
                    messages.append(tool)
            others = [block for block in content if block["type"] != "tool_result"]
            if others:
                messages.append({"role": "user", "content": others})
            continue
        if isinstance(content, str):
            messages.append({"role": "assistant", "content": content})
            continue
        kinds = [block["type"] for block in content]
        texts = [block for block in content if block["type"] == "text"]
        plain = (
            set(kinds) <= {"text", "tool_use"}
            and kinds.count("text") <= 1
            and (not texts or kinds[0] == "text")
            and all(set(block) == {"type", "text"} for block in texts)
        )
        if plain:
            assistant: dict[str, Any] = {"role": "assistant", "content": texts or None}
            calls = [
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": json.dumps(block["input"])},
                }
                for block in content
                if block["type"] == "tool_use"
            ]
            if calls:
                assistant["tool_calls"] = calls
        else:
            assistant = {
                "role": "assistant",
                "content": None,
                NATIVE_KEY: {"protocol": "anthropic", "content": content},
            }
        messages.append(assistant)
    tools = []
    for tool in body.get("tools") or []:
        if "input_schema" in tool and set(tool) <= {
            "name",
            "description",
            "input_schema",
            "strict",
        }:
            function = {"name": tool["name"], "parameters": tool["input_schema"]}
            if "description" in tool:
                function["description"] = tool["description"]
            if "strict" in tool:
                function["strict"] = tool["strict"]
            tools.append({"type": "function", "function": function})
        else:
            tools.append(tool)  # a server tool, or one with Anthropic-only fields
    choice: Any = None
    native_choice = body.get("tool_choice")
    if native_choice is not None:
        choice = {"auto": "auto", "any": "required", "none": "none"}.get(native_choice["type"])
        if native_choice["type"] == "tool":
            choice = {"type": "function", "function": {"name": native_choice["name"]}}
    known = {"model", "max_tokens", "messages", "system", "tools", "tool_choice", "temperature"}
    extra = {key: value for key, value in body.items() if key not in known}
    stream = extra.get("stream") is True
    if stream:
        del extra["stream"]
    return ChatRequest(
        messages=messages,
        tools=tools or None,
        tool_choice=choice,
        temperature=body.get("temperature"),
        max_tokens=body.get("max_tokens"),
        stream=stream,
        extra=extra,
    )


def _without_false_is_error(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body with ``"is_error": false`` dropped (the default, never sent)."""
    copy = json.loads(json.dumps(body))
    for message in copy["messages"]:
        if isinstance(message["content"], list):
            for block in message["content"]:
                if block.get("type") == "tool_result" and block.get("is_error") is False:
                    del block["is_error"]
    return copy


# ------------------------------------------------------------ every cassette


def test_all_18_cassettes_are_found() -> None:
    assert len(FILES) == 18, [_name(path) for path in FILES]
    assert {path.parent.name for path in FILES} == {"pydantic-ai", "openinference"}


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_each_request_converts_back_to_what_was_sent(path: Path) -> None:
    exchanges = _exchanges(path)
    assert exchanges, _name(path)
    for exchange in exchanges:
        recorded = _without_false_is_error(exchange.request)
        built = anthropic_request(recorded["model"], _canonical(exchange.request))
        if "max_tokens" not in recorded:  # count_tokens takes none; /messages requires one
            assert built.pop("max_tokens") == DEFAULT_MAX_TOKENS
        assert built == recorded, exchange.where
        expected_schemas = {
            tool["name"]: tool["input_schema"]
            for tool in recorded.get("tools") or []
            if "input_schema" in tool
        }
        assert anthropic_tool_schemas(exchange.request) == expected_schemas, exchange.where
        assert anthropic_tool_schemas(built) == expected_schemas, exchange.where


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_each_answer_parses(path: Path) -> None:
    for exchange in _exchanges(path):
        if exchange.status >= 400:
            with pytest.raises(ProviderHTTPError) as caught:
                _parse(exchange)
            assert caught.value.status_code == exchange.status
            assert caught.value.code == exchange.body["error"]["type"]
            continue
        response = _parse(exchange)
        expected_calls, usage, stop = _expected(exchange)
        assert [(call.id, call.name, call.arguments) for call in response.tool_calls] == (
            expected_calls
        ), exchange.where
        assert all(type(call) is ToolCall and call.quirks == () for call in response.tool_calls)
        assert [call.index for call in response.tool_calls] == list(range(len(expected_calls)))
        assert response.finish_reason_raw == stop
        assert response.finish_reason == ("tool_calls" if stop == "tool_use" else "stop")
        assert type(response.usage) is Usage
        assert response.usage.prompt_tokens == (
            usage["input_tokens"]
            + usage["cache_read_input_tokens"]
            + usage["cache_creation_input_tokens"]
        ), exchange.where
        assert response.usage.cached_tokens == usage["cache_read_input_tokens"]
        assert response.usage.cache_write_tokens == usage["cache_creation_input_tokens"]
        assert response.usage.completion_tokens == usage["output_tokens"]
        assert response.model is not None
        assert response.model.startswith("claude-")
        assert response.snapshot == response.model
        assert response.response_id is not None
        assert response.response_id.startswith("msg_")
        assert response.native is not None
        assert response.native.protocol == "anthropic"
        assert response.content or response.tool_calls, exchange.where


def _expected(exchange: Exchange) -> tuple[list[tuple[str, str, Any]], dict[str, Any], str]:
    """(id, name, input) of each client tool call, the final usage and the stop reason,
    read from the recorded JSON without the parser (SSE: ``partial_json`` joined by hand)."""
    if not exchange.streamed:
        body = exchange.body
        calls = [
            (block["id"], block["name"], block["input"])
            for block in body["content"]
            if block["type"] == "tool_use"
        ]
        return calls, body["usage"], body["stop_reason"]
    starts: dict[int, dict[str, Any]] = {}
    fragments: dict[int, list[str]] = {}
    usage: dict[str, Any] = {}
    stop = ""
    for event in _events(exchange.body):
        if event["type"] == "message_start":
            usage.update(event["message"]["usage"])
        elif event["type"] == "content_block_start":
            starts[event["index"]] = event["content_block"]
        elif event["type"] == "content_block_delta" and "partial_json" in event["delta"]:
            fragments.setdefault(event["index"], []).append(event["delta"]["partial_json"])
        elif event["type"] == "message_delta":
            usage.update(event["usage"])
            stop = event["delta"]["stop_reason"]
    calls = []
    for index in sorted(starts):
        block = starts[index]
        if block["type"] == "tool_use":
            text = "".join(fragments.get(index, []))
            calls.append((block["id"], block["name"], json.loads(text) if text else {}))
    return calls, usage, stop


def test_totals_catch_a_silently_skipped_exchange() -> None:
    answers = streamed = errors = calls = 0
    for path in FILES:
        for exchange in _exchanges(path):
            answers += 1
            streamed += exchange.streamed
            try:
                calls += len(_parse(exchange).tool_calls)
            except ProviderHTTPError:
                errors += 1
    # Counted from the files: 38 answers from api.anthropic.com (the replay cassette's two
    # Gemini calls left out), 6 of them streamed, 3 errors, 23 client tool calls (4 in the
    # parallel answer, 7 in the 11-turn tool search run).
    assert (answers, streamed, errors, calls) == (38, 6, 3, 23)


# ------------------------------------------------------------ what each cassette is known for


def test_parallel_tool_use_four_calls_with_their_ids_and_results_sent_back() -> None:
    first = _one("pydantic-ai/test_multiple_parallel_tool_calls.yaml", 0)
    response = _parse(first)
    ids = [
        "toolu_0167cfEnoQaPviGdVXA95zcu",
        "toolu_01EEe2V5HD1Ac4rKiUR4HD2T",
        "toolu_01XFyAjstT3966qvRynZyVPo",
        "toolu_013mnQZbgtK2oe3Mo3XKJsx3",
    ]
    assert [(c.index, c.id, c.name, c.arguments) for c in response.tool_calls] == [
        (0, ids[0], "retrieve_entity_info", {"name": "Alice"}),
        (1, ids[1], "retrieve_entity_info", {"name": "Bob"}),
        (2, ids[2], "retrieve_entity_info", {"name": "Charlie"}),
        (3, ids[3], "retrieve_entity_info", {"name": "Daisy"}),
    ]
    assert response.content is not None
    assert response.content.startswith("I'll help you find out who is the youngest")
    assert response.model == "claude-haiku-4-5-20251001"
    assert response.response_id == "msg_011S3wxtqL5CVescWqS3zeg2"
    # The four results go back in one user turn, by tool_use_id, in the order of the calls.
    second = _one("pydantic-ai/test_multiple_parallel_tool_calls.yaml", 1)
    results = second.request["messages"][2]
    assert [message["role"] for message in second.request["messages"]] == [
        "user",
        "assistant",
        "user",
    ]
    assert [block["tool_use_id"] for block in results["content"]] == ids
    built = anthropic_request("claude-haiku-4-5", _canonical(second.request))
    assert [block["tool_use_id"] for block in built["messages"][2]["content"]] == ids
    assert len(built["messages"]) == 3


def test_the_same_tool_calls_and_usage_types_as_the_openai_path() -> None:
    anthropic = _parse(_one("pydantic-ai/test_multiple_parallel_tool_calls.yaml", 0))
    openai = parse_completion(
        {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": anthropic.content,
                        "tool_calls": [
                            {
                                "id": call.id,
                                "type": "function",
                                "function": {
                                    "name": call.name,
                                    "arguments": json.dumps(call.arguments),
                                },
                            }
                            for call in anthropic.tool_calls
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 423, "completion_tokens": 202, "total_tokens": 625},
        },
        **P,
    )
    assert [(c.index, c.id, c.name, c.arguments, c.quirks) for c in anthropic.tool_calls] == [
        (c.index, c.id, c.name, c.arguments, c.quirks) for c in openai.tool_calls
    ]
    assert (anthropic.finish_reason, anthropic.content) == (openai.finish_reason, openai.content)
    assert anthropic.usage == openai.usage


def test_cache_tokens_land_in_the_usage_record() -> None:
    first = _parse(_one("pydantic-ai/test_anthropic_cache_real_api.yaml", 0))
    assert first.usage == Usage(prompt_tokens=3 + 1111, completion_tokens=406, cached_tokens=1111)
    second = _parse(_one("pydantic-ai/test_anthropic_cache_real_api.yaml", 1))
    assert second.usage == Usage(
        prompt_tokens=3 + 1111 + 418,
        completion_tokens=33,
        cached_tokens=1111,
        cache_write_tokens=418,
    )
    replay = _parse(
        _one("pydantic-ai/test_anthropic_to_google_deferred_capability_history_replay.yaml", 2)
    )
    assert replay.usage is not None
    assert (replay.usage.prompt_tokens, replay.usage.cached_tokens) == (6 + 1069 + 85, 1069)
    assert replay.usage.cache_write_tokens == 85


def test_redacted_thinking_is_kept_whole_in_the_native_turn() -> None:
    exchange = _one("pydantic-ai/test_anthropic_model_thinking_part_redacted_stream.yaml", 0)
    response = _parse(exchange)
    data = [
        event["content_block"]["data"]
        for event in _events(exchange.body)
        if event["type"] == "content_block_start"
        and event["content_block"]["type"] == "redacted_thinking"
    ]
    assert len(data) == 2
    assert response.native is not None
    assert [block["type"] for block in response.native.content] == [
        "redacted_thinking",
        "redacted_thinking",
        "text",
    ]
    assert [block["data"] for block in response.native.content[:2]] == data
    assert "redacted_thinking" in response.quirks
    assert response.reasoning is None
    assert response.content is not None
    assert response.content.startswith("I notice that")
    assert response.usage is not None
    assert response.usage.completion_tokens == 189


def test_server_tool_blocks_are_not_client_tool_calls() -> None:
    code = _parse(_one("pydantic-ai/test_anthropic_code_execution_tool_stream.yaml", 0))
    assert code.native is not None
    assert [block["type"] for block in code.native.content] == [
        "thinking",
        "text",
        "server_tool_use",
        "bash_code_execution_tool_result",
        "text",
    ]
    assert code.tool_calls == ()
    assert code.finish_reason == "stop"
    assert code.quirks == ()  # known server blocks: no unknown_block quirk
    server = code.native.content[2]
    assert server["input"] == {"command": 'echo "65465-6544 * 65464-6+1.02255" | bc -l'}
    assert code.native.content[3]["content"]["stdout"] == "-428330955.97745\n"
    mcp = _parse(_one("pydantic-ai/test_anthropic_mcp_servers_stream.yaml", 0))
    assert mcp.native is not None
    kinds = [block["type"] for block in mcp.native.content]
    assert kinds[:3] == ["thinking", "mcp_tool_use", "mcp_tool_result"]
    assert mcp.tool_calls == ()
    assert mcp.quirks == ()
    assert mcp.native.content[1]["input"] == {
        "repoName": "pydantic/pydantic-ai",
        "question": mcp.native.content[1]["input"]["question"],
    }
    search = _parse(_one("pydantic-ai/test_anthropic_native_tool_search_streaming.yaml", 0))
    assert search.native is not None
    assert [block["type"] for block in search.native.content] == [
        "text",
        "server_tool_use",
        "tool_search_tool_result",
        "text",
        "tool_use",
    ]
    assert [call.name for call in search.tool_calls] == ["get_exchange_rate"]
    assert search.content == (
        "Let me search for a tool that can provide current exchange rate information."
        "\n\nI found the right tool! Let me fetch the current USD to EUR exchange rate for you."
    )


def test_a_streamed_turn_rebuilds_the_blocks_the_next_request_sent_back() -> None:
    answer = _parse(_one("pydantic-ai/test_anthropic_native_tool_search_streaming.yaml", 0))
    sent = _one("pydantic-ai/test_anthropic_native_tool_search_streaming.yaml", 1)
    assert answer.native is not None
    rebuilt = list(answer.native.content)
    # pydantic-ai left out the tool_use block's newer "caller" field; every other block
    # went back exactly as assembled here.
    assert rebuilt[-1].pop("caller") == {"type": "direct"}
    assert rebuilt == sent.request["messages"][1]["content"]


def test_thinking_with_its_signature_round_trips_as_the_next_request_sent_it() -> None:
    first = _one("pydantic-ai/test_anthropic_tool_with_thinking.yaml", 0)
    response = _parse(first)
    assert response.reasoning is not None
    assert response.reasoning.startswith('The user is asking about the largest city in "the user')
    assert response.native is not None
    thinking = response.native.content[0]
    assert thinking["signature"].startswith("EqEECkYICxgCKkAo3UA4")
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("toolu_01YGzqpRE16Vricda3Aqcejo", "get_user_country", {})
    ]
    second = _one("pydantic-ai/test_anthropic_tool_with_thinking.yaml", 1)
    assert second.request["messages"][1]["content"] == list(response.native.content)
    assert "Mexico" in (_parse(second).content or "")


def test_is_error_tool_result_in_a_recorded_request() -> None:
    exchange = _one("pydantic-ai/test_tool_search_eval[anthropic].yaml", 5)
    results = [
        block
        for message in exchange.request["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block["type"] == "tool_result" and block["is_error"]
    ]
    assert [block["tool_use_id"] for block in results] == ["toolu_014b9i18P8JdeixyRCGWwgBa"]
    request = _canonical(exchange.request)
    (tool,) = [m for m in request.messages if m.get("is_error")]
    assert tool["tool_call_id"] == "toolu_014b9i18P8JdeixyRCGWwgBa"
    built = anthropic_request("claude-sonnet-4-5", request)
    (sent,) = [
        block
        for message in built["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("is_error")
    ]
    assert sent == results[0]
    assert "2 validation errors" in sent["content"]
    # ... and the model corrects the argument it got wrong
    fixed = _parse(exchange)
    assert [(c.name, c.arguments) for c in fixed.tool_calls] == [
        ("stock_lookup", {"symbol": "AAPL"})
    ]


def test_strict_tool_and_tool_choices_are_read_from_the_canonical_form() -> None:
    strict = _one("pydantic-ai/test_anthropic_mixed_strict_tool_run.yaml", 0)
    built = anthropic_request("claude", _canonical(strict.request))
    assert [tool.get("strict") for tool in built["tools"]] == [True, None]
    required = _one("pydantic-ai/test_tool_choice_matrix[required-anthropic].yaml", 0)
    assert _canonical(required.request).tool_choice == "required"
    assert anthropic_request("claude", _canonical(required.request))["tool_choice"] == {
        "type": "any"
    }
    response = _parse(required)
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]


def test_adaptive_thinking_answer_reads_thinking_tokens() -> None:
    response = _parse(
        _one(
            "pydantic-ai/test_anthropic_opus_46_adaptive_thinking_accepts_tool_output[unified].yaml",
            0,
        )
    )
    assert response.usage is not None
    assert (response.usage.completion_tokens, response.usage.reasoning_tokens) == (55, 0)
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("final_result", {"city": "Paris", "country": "France"})
    ]


@pytest.mark.parametrize(
    ("cassette", "expected", "code", "message"),
    [
        (
            "pydantic-ai/test_model_name_suggestion[anthropic].yaml",
            ModelNotFound,
            "not_found_error",
            "model: claude-sonet-4-5",
        ),
        (
            "pydantic-ai/test_anthropic_count_tokens_error.yaml",
            ModelNotFound,
            "not_found_error",
            "model: claude-does-not-exist",
        ),
        (
            "pydantic-ai/test_anthropic_explicit_effort_xhigh_unsupported_model_errors.yaml",
            BadRequest,
            "invalid_request_error",
            "This model does not support effort level 'xhigh'",
        ),
    ],
)
def test_recorded_errors(
    cassette: str, expected: type[ProviderHTTPError], code: str, message: str
) -> None:
    exchange = _one(cassette, 0)
    with pytest.raises(expected) as caught:
        _parse(exchange)
    error = caught.value
    assert type(error) is expected
    assert (error.status_code, error.code) == (exchange.status, code)
    assert message in error.detail
    rule = rule_for(error)
    # a model the provider does not serve falls back; a request it refuses ends the call
    assert (rule.retry, rule.fall_back) == (
        (False, True) if expected is ModelNotFound else (False, False)
    )


# ------------------------------------------------------------ the realdata README's quirks


def test_quirk_streamed_data_lines_carry_trailing_padding_spaces() -> None:
    for cassette in (
        "openinference/test_anthropic_instrumentation_multiple_tool_calling_streaming.yaml",
        "pydantic-ai/test_anthropic_model_thinking_part_redacted_stream.yaml",
    ):
        exchange = _one(cassette, 0)
        # a run of spaces of varying length, inside the JSON before its last brace, on most
        # events (the YAML keeps it; nothing follows the brace)
        padded = [
            line for line in exchange.body.splitlines() if re.match(r"data: \{.*\S {2,}\}$", line)
        ]
        assert len(padded) >= 10, cassette  # both sources: the API pads, not a serializer
        assert _parse(exchange).quirks in ((), ("redacted_thinking",))


def test_quirk_the_first_input_json_delta_of_each_block_is_empty() -> None:
    exchange = _one(
        "openinference/test_anthropic_instrumentation_multiple_tool_calling_streaming.yaml", 0
    )
    firsts: dict[int, str] = {}
    for event in _events(exchange.body):
        if event["type"] == "content_block_delta" and "partial_json" in event["delta"]:
            firsts.setdefault(event["index"], event["delta"]["partial_json"])
    assert firsts == {1: "", 2: ""}
    response = _parse(exchange)
    assert [
        (c.id, c.name, c.arguments, c.raw_arguments, c.quirks) for c in response.tool_calls
    ] == [
        (
            "toolu_01Mo5Ee5Yb7vrzaxSNS5DVuP",
            "get_weather",
            {"location": "New York, NY"},
            {"location": "New York, NY"},
            (),
        ),
        (
            "toolu_01GDAGw1KUdi1DCPPprMKGHR",
            "get_time",
            {"timezone": "America/New_York"},
            {"timezone": "America/New_York"},
            (),
        ),
    ]
    assert (
        response.content
        == "I'll check both the current weather and time in New York simultaneously right away!"
    )
    assert response.usage == Usage(prompt_tokens=721, completion_tokens=113)


def test_quirk_newer_tool_use_blocks_carry_a_caller_that_is_kept() -> None:
    streamed = _parse(
        _one("openinference/test_anthropic_instrumentation_multiple_tool_calling_streaming.yaml", 0)
    )
    assert streamed.native is not None
    assert [block.get("caller") for block in streamed.native.content] == [
        None,
        {"type": "direct"},
        {"type": "direct"},
    ]
    whole = _parse(_one("pydantic-ai/test_tool_search_eval[anthropic].yaml", 0))
    assert whole.native is not None
    (block,) = [b for b in whole.native.content if b["type"] == "tool_use"]
    assert block["caller"] == {"type": "direct"}
    assert whole.tool_calls[0].quirks == ()  # a field we do not read is no oddity


def test_quirk_retry_after_on_a_200_answer_is_no_error() -> None:
    exchange = _one("pydantic-ai/test_anthropic_mixed_strict_tool_run.yaml", 0)
    assert exchange.status == 200
    assert exchange.headers["retry-after"] == "4"
    response = _parse(exchange)
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("country_source", {})]
    # (tests/providers/test_anthropic_provider.py serves this answer, headers and all,
    # through the provider)


def test_quirk_the_cfuvid_cookie_is_no_credential_and_no_key_is_stored() -> None:
    cookies = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert "sk-ant-" not in text, _name(path)
        data = yaml.safe_load(text)
        for interaction in data["interactions"]:
            headers = {
                key.lower(): value for key, value in interaction["request"]["headers"].items()
            }
            assert not {"x-api-key", "authorization", "x-goog-api-key"} & set(headers), _name(path)
            for value in headers.get("cookie", []):
                assert value.startswith("_cfuvid=")
                cookies += 1
    assert cookies == 2
