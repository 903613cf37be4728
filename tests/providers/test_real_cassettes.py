"""``clearance.providers.wire`` against real recorded traffic (``tests/data/realdata``).

Every cassette is read; every POST to a ``.../chat/completions`` URL is parsed
(plain vcrpy bodies, ``!!binary`` gzip bodies, and pydantic-ai's
``parsed_body``). The expectations are computed here, independently of the
parser: tool-call names and arguments straight from the JSON, and for streams
by concatenating each call's argument fragments by hand. Then a few cassettes
get hand-written expectations for the quirks they are known for.
"""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelNotFound,
    ProviderError,
    ProviderHTTPError,
    RateLimited,
)
from clearance.providers.types import ChatResponse
from clearance.providers.wire import classify_error, parse_completion, parse_sse

CASSETTES = Path(__file__).parents[1] / "data" / "realdata" / "cassettes"
NATIVE = ("anthropic", "gemini")
"""Folders of native-protocol traffic, read by their own tests (test_anthropic_*, ...)."""
FILES = sorted(
    path for path in CASSETTES.rglob("*.yaml") if path.relative_to(CASSETTES).parts[0] not in NATIVE
)
EXPECTED_FILES = 35
ERROR_CLASSES: dict[int, type[ProviderHTTPError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    404: ModelNotFound,
    429: RateLimited,
}


@dataclass(frozen=True)
class Exchange:
    """One recorded chat-completions request and its answer."""

    cassette: str
    number: int
    status: int
    headers: dict[str, str]
    body: Any
    """The decoded JSON body, or the SSE text."""
    streamed: bool

    @property
    def where(self) -> str:
        return f"{self.cassette} #{self.number}"


def _name(path: Path) -> str:
    return path.relative_to(CASSETTES).as_posix()


def _text(raw: Any) -> str:
    if isinstance(raw, bytes):
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    assert isinstance(raw, str), type(raw)
    return raw


@functools.cache
def _exchanges(path: Path) -> tuple[Exchange, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    for number, interaction in enumerate(data["interactions"]):
        request, response = interaction["request"], interaction["response"]
        if request["method"] != "POST" or not request["uri"].endswith("/chat/completions"):
            continue
        headers = {
            str(key).lower(): value[0] if isinstance(value, list) else value
            for key, value in (response.get("headers") or {}).items()
        }
        if "parsed_body" in response:  # pydantic-ai's serializer: JSON bodies stored parsed
            body: Any = response["parsed_body"]
            streamed = False
        else:
            body = _text(response["body"]["string"])
            streamed = headers.get("content-type", "").startswith("text/event-stream") or any(
                line.strip().startswith("data:") for line in body.splitlines()[:5]
            )
            if not streamed:
                body = json.loads(body)
        found.append(
            Exchange(_name(path), number, response["status"]["code"], headers, body, streamed)
        )
    return tuple(found)


def _parse(exchange: Exchange) -> ChatResponse:
    if exchange.streamed:
        return parse_sse(exchange.body, provider="recorded", model_id=exchange.cassette)
    return parse_completion(
        exchange.body, provider="recorded", model_id=exchange.cassette, status_code=exchange.status
    )


# ------------------------------------------------------------ independent expectations


def _sse_chunks(text: str) -> list[dict[str, Any]]:
    chunks = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            chunks.append(json.loads(line[5:]))
    return chunks


def _carries_error(exchange: Exchange) -> bool:
    """Whether the body reports an error, read straight from the JSON."""
    bodies = _sse_chunks(exchange.body) if exchange.streamed else [exchange.body]
    for body in bodies:
        if body.get("error") is not None:
            return True
        for choice in body.get("choices") or []:
            if choice.get("error") is not None or choice.get("finish_reason") == "error":
                return True
    return False


def _expected_calls(exchange: Exchange) -> list[tuple[str, Any]]:
    """(name, arguments) of each tool call in the body, computed without the parser."""
    if not exchange.streamed:
        message = exchange.body["choices"][0]["message"]
        expected = []
        for call in message.get("tool_calls") or []:
            arguments = call["function"].get("arguments")
            expected.append((call["function"]["name"], json.loads(arguments) if arguments else {}))
        return expected
    # Streamed: a delta with an id we have not seen opens a call; any other delta adds its
    # fragments to the call its id names, or else to the last call opened.
    calls: dict[str, dict[str, Any]] = {}
    order: list[dict[str, Any]] = []
    for chunk in _sse_chunks(exchange.body):
        for choice in chunk.get("choices") or []:
            for delta in (choice.get("delta") or {}).get("tool_calls") or []:
                call_id = delta.get("id")
                if call_id and call_id not in calls:
                    calls[call_id] = {"name": "", "fragments": []}
                    order.append(calls[call_id])
                call = calls[call_id] if call_id else order[-1]
                function = delta.get("function") or {}
                call["name"] = call["name"] or function.get("name") or ""
                call["fragments"].append(function.get("arguments") or "")
    expected = []
    for call in order:
        text = "".join(call["fragments"])
        expected.append((call["name"], json.loads(text) if text else {}))
    return expected


# ------------------------------------------------------------ every cassette


def test_all_cassettes_are_found() -> None:
    assert len(FILES) == EXPECTED_FILES, [_name(path) for path in FILES]


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_cassette(path: Path) -> None:
    for exchange in _exchanges(path):
        _check(exchange)


def _check(exchange: Exchange) -> None:
    if exchange.status >= 400:
        expected_class = ERROR_CLASSES[exchange.status]
        with pytest.raises(expected_class) as caught:
            _parse(exchange)
        assert type(caught.value) is expected_class, exchange.where
        assert caught.value.status_code == exchange.status
        # The caller's path for an error status (with headers) agrees with parse_completion.
        error = classify_error(
            exchange.status,
            exchange.body,
            exchange.headers,
            provider="recorded",
            model_id=exchange.cassette,
        )
        assert type(error) is expected_class, exchange.where
        return
    assert 200 <= exchange.status < 300, exchange.where
    if _carries_error(exchange):
        with pytest.raises(ProviderHTTPError):
            _parse(exchange)
        return
    response = _parse(exchange)
    expected = _expected_calls(exchange)
    assert [(call.name, call.arguments) for call in response.tool_calls] == expected, exchange.where
    for call in response.tool_calls:
        assert call.id, exchange.where
    assert len({call.id for call in response.tool_calls}) == len(response.tool_calls)
    if response.tool_calls:
        assert response.finish_reason == "tool_calls", exchange.where
    else:
        assert response.finish_reason in ("stop", "length", "other"), exchange.where
    assert response.usage is not None or exchange.cassette.startswith("openllmetry/"), (
        exchange.where
    )


def test_totals_catch_a_silently_skipped_file() -> None:
    responses = calls = errors = streamed = 0
    read: set[str] = set()
    with_calls: set[str] = set()
    for path in FILES:
        for exchange in _exchanges(path):
            responses += 1
            streamed += exchange.streamed
            read.add(exchange.cassette)
            try:
                response = _parse(exchange)
            except ProviderError:
                errors += 1
                continue
            calls += len(response.tool_calls)
            if response.tool_calls:
                with_calls.add(exchange.cassette)
    # Counted when this test was written: 67 answers (15 streamed) in 34 cassettes (the 35th,
    # llm-openrouter/test_llm_models.yaml, only lists models); 7 errors (6 error statuses and
    # the OpenRouter stream with an error chunk); 42 tool calls in 27 cassettes.
    assert len(read) >= 34
    assert responses >= 67
    assert streamed >= 15
    assert errors >= 7
    assert calls >= 42
    assert len(with_calls) >= 27


# ------------------------------------------------------------ hand-written expectations


def _one(cassette: str, number: int) -> Exchange:
    (exchange,) = [e for e in _exchanges(CASSETTES / cassette) if e.number == number]
    return exchange


def test_gemini_empty_tool_call_id() -> None:
    exchange = _one("pydantic-ai/test_compatible_api_with_tool_calls_without_id.yaml", 0)
    assert exchange.body["choices"][0]["message"]["tool_calls"][0]["id"] == ""
    (call,) = _parse(exchange).tool_calls
    assert (call.id, call.name, call.arguments, call.raw_arguments) == (
        "call_0",
        "get_current_time",
        {},
        "{}",
    )
    assert call.quirks == ("empty_id",)


def test_parallel_calls_in_one_message() -> None:
    exchange = _one("openllmetry/test_open_ai_function_calls_tools_parallel.yaml", 0)
    response = _parse(exchange)
    assert [(c.index, c.id, c.name, c.arguments) for c in response.tool_calls] == [
        (0, "call_3JNWJ9wdfRsmkhKWql4HqJhR", "get_current_weather", {"location": "San Francisco"}),
        (1, "call_8jQ7TzSBlLV4tzrMRpq5Tg98", "get_current_weather", {"location": "Boston"}),
    ]
    assert response.model == "gpt-3.5-turbo-0125"


def test_streamed_parallel_calls() -> None:
    exchange = _one("openllmetry/test_open_ai_function_calls_tools_streaming_parallel.yaml", 0)
    response = _parse(exchange)
    assert [(c.id, c.name, c.raw_arguments) for c in response.tool_calls] == [
        ("call_cCPjAyfwTzboEKjVlqFrArNF", "get_current_weather", '{"location": "San Francisco"}'),
        ("call_Zi4He1Ns0mozwT6f85nW1BOW", "get_current_weather", '{"location": "Boston"}'),
    ]
    assert all(c.quirks == () for c in response.tool_calls)
    assert response.finish_reason == "tool_calls"


def test_deepseek_parallel_calls_and_reasoning_content() -> None:
    response = _parse(_one("pydantic-ai/test_deepseek_deferred_capability_with_thinking.yaml", 1))
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_player_name", {}),
        ("roll_dice", {}),
    ]
    assert response.reasoning is not None
    assert response.reasoning.startswith("Great, now I have access to the dice roll tool.")
    assert response.content == "Let me get your name and roll the die!"


def test_kimi_k2_on_novita_repeats_the_call_and_sends_no_finish_reason() -> None:
    exchange = _one("llm/test_tools_streaming_variant_a.yaml", 0)
    response = _parse(exchange)
    (call,) = response.tool_calls
    assert (call.id, call.name, call.arguments, call.raw_arguments) == (
        "0",
        "llm_version",
        {},
        "{}",
    )
    assert response.finish_reason == "tool_calls"
    assert response.finish_reason_raw is None
    assert response.quirks == ("missing_finish_reason",)
    assert (response.served_by, response.model) == ("Novita", "moonshotai/kimi-k2")
    assert response.usage is not None
    assert response.usage.reported_cost == Decimal("0.00007159")


def test_kimi_k2_chunks_via_novita_and_fireworks() -> None:
    first = _parse(_one("llm/test_tools_streaming_variant_c.yaml", 0))
    (call,) = first.tool_calls
    assert (call.id, call.name, call.arguments) == ("llm_version:0", "llm_version", {})
    assert first.quirks == ("sse_leading_whitespace",)  # the body starts with " data:"
    assert (first.finish_reason, first.served_by) == ("tool_calls", "Novita")
    second = _parse(_one("llm/test_tools_streaming_variant_c.yaml", 1))
    assert second.content == "The installed version of LLM on this system is 0.fixed-version."
    assert (second.finish_reason, second.served_by, second.tool_calls) == ("stop", "Fireworks", ())


def test_openrouter_reasoning_stream() -> None:
    response = _parse(_one("pydantic-ai/test_openrouter_streaming_reasoning.yaml", 0))
    assert response.reasoning == "This is a simple arithmetic question. 2+2 equals 4."
    assert response.content == "2 + 2 = 4"
    assert response.finish_reason == "stop"
    assert response.quirks == ("keepalive_comments",)
    assert response.usage is not None
    assert (response.usage.completion_tokens, response.usage.reasoning_tokens) == (36, 13)
    assert response.usage.reported_cost == Decimal("0.000669")


def test_openrouter_stream_with_an_error_chunk_raises() -> None:
    exchange = _one("pydantic-ai/test_openrouter_stream_error.yaml", 0)
    assert exchange.status == 200
    with pytest.raises(ProviderHTTPError, match="Token limit reached") as caught:
        _parse(exchange)
    # The error chunk says code 400 (after finish_reason "length"): a bad request, in a 200.
    assert type(caught.value) is BadRequest
    assert (caught.value.status_code, caught.value.code) == (200, "400")


def test_openrouter_upstream_rate_limit() -> None:
    exchange = _one("pydantic-ai/test_openrouter_errors_raised.yaml", 0)
    with pytest.raises(RateLimited, match="temporarily rate-limited upstream") as caught:
        _parse(exchange)
    assert caught.value.code == "429"
    assert caught.value.retryable


def test_groq_tool_use_failed() -> None:
    exchange = _one("pydantic-ai/test_tool_use_failed_error.yaml", 0)
    error = classify_error(400, exchange.body, exchange.headers, provider="groq", model_id=None)
    assert type(error) is BadRequest
    assert error.code == "tool_use_failed"
    assert isinstance(error.body, dict)
    assert "failed_generation" in error.body["error"]
    assert "did not match schema" in str(error)


def test_model_not_found() -> None:
    for cassette in (
        "pydantic-ai/test_model_name_suggestion[openai-chat].yaml",
        "pydantic-ai/test_model_name_suggestion[groq].yaml",
    ):
        with pytest.raises(ModelNotFound, match="does not exist") as caught:
            _parse(_one(cassette, 0))
        assert caught.value.code == "model_not_found"


def test_openrouter_call_without_arguments() -> None:
    # Claude (via Google Vertex) calling a tool whose parameters are all optional: no
    # `arguments` key at all.
    response = _parse(_one("pydantic-ai/test_openrouter_tool_optional_parameters.yaml", 0))
    (call,) = response.tool_calls
    assert (call.name, call.arguments, call.raw_arguments) == ("find_education_content", {}, None)
    assert call.quirks == ("empty_arguments",)


def test_snowflake_empty_finish_reason() -> None:
    calls = _parse(_one("pydantic-ai/test_snowflake_tool_calling.yaml", 0))
    assert (calls.finish_reason, calls.finish_reason_raw) == ("tool_calls", "")
    assert calls.quirks == ("missing_finish_reason",)
    assert calls.response_id is None  # Snowflake sends "id": ""
    text = _parse(_one("pydantic-ai/test_snowflake_tool_calling.yaml", 1))
    assert (text.finish_reason, text.quirks) == ("other", ("missing_finish_reason",))
    assert text.refusal is None  # "refusal": ""


def test_openrouter_cache_usage() -> None:
    response = _parse(_one("pydantic-ai/test_openrouter_cache_all_settings_real_api.yaml", 0))
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.cache_write_tokens) == (2572, 2569)
    assert response.usage.reported_cost == Decimal("0.01058775")
    assert response.served_by == "Anthropic"
    length = _parse(_one("pydantic-ai/test_openrouter_cache_all_settings_real_api.yaml", 1))
    assert (length.finish_reason, length.finish_reason_raw) == ("length", "length")


def test_huggingface_router_parallel_calls_with_indexes() -> None:
    response = _parse(
        _one("pydantic-ai/test_tool_choice_matrix[tools_plus_output-huggingface].yaml", 0)
    )
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("final_result", {"city": "Paris", "summary": "Weather in Paris"}),
    ]
