"""The token estimator for answers without usage: its rule, its invariants, its error on
real answers (``tests/data/realdata``, where the provider's own count is known)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import statistics
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from clearance.pricing import Price, PriceRates, Usage, price_call
from clearance.providers.base import ChatRequest
from clearance.providers.types import ChatResponse, ToolCall
from clearance.tokencount import (
    ANSWER_OVERHEAD,
    MESSAGE_OVERHEAD,
    REQUEST_OVERHEAD,
    TOOL_CALL_OVERHEAD,
    billable_usage,
    estimate_tokens,
    estimate_usage,
)
from tests.providers.test_real_cassettes import FILES, _carries_error, _exchanges, _parse

WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
EMPTY_ANSWER = ChatResponse(
    content=None, tool_calls=(), finish_reason="stop", finish_reason_raw="stop", usage=None
)


def _answer(content: str | None = None, **fields: Any) -> ChatResponse:
    return dataclasses.replace(EMPTY_ANSWER, content=content, **fields)


def _request(*contents: str, tools: list[Any] | None = None) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text} for text in contents], tools)


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("a", 1), ("abc", 1), ("abcd", 2), ("x" * 300, 100), ("日本語", 3), ("é", 1)],
)
def test_every_started_three_utf8_bytes_is_a_token(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_the_prompt_counts_messages_tools_and_earlier_tool_calls() -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
    }
    messages = [
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "-4 C"}]},
    ]
    usage = estimate_usage(ChatRequest(messages, [WEATHER]), _answer("Cold."))
    tools = json.dumps([WEATHER], separators=(",", ":"))
    text = "weather in Oslo?" + "weather" + '{"city":"Oslo"}' + "-4 C" + tools
    assert usage.prompt_tokens == estimate_tokens(text) + 3 * MESSAGE_OVERHEAD + REQUEST_OVERHEAD
    assert usage.completion_tokens == estimate_tokens("Cold.") + ANSWER_OVERHEAD
    assert usage.estimated


def test_the_completion_counts_tool_calls_and_reasoning() -> None:
    calls = (
        ToolCall(0, "c1", "weather", {"city": "Oslo"}, '{"city": "Oslo"}'),
        ToolCall(1, "c2", "weather", {"city": "Bergen"}, {"city": "Bergen"}),
    )
    answer = _answer(None, tool_calls=calls, reasoning="The user wants two cities.")
    usage = estimate_usage(_request("weather in Oslo and Bergen?"), answer)
    text = (
        "The user wants two cities."
        + "weather"
        + '{"city": "Oslo"}'
        + "weather"
        + '{"city":"Bergen"}'
    )
    assert (
        usage.completion_tokens == estimate_tokens(text) + 2 * TOOL_CALL_OVERHEAD + ANSWER_OVERHEAD
    )
    assert usage.reasoning_tokens == estimate_tokens("The user wants two cities.")


def test_a_reported_usage_is_billed_as_it_is() -> None:
    reported = Usage(prompt_tokens=10, completion_tokens=2)
    assert billable_usage(_request("hi"), _answer("hello", usage=reported)) is reported
    free = Usage(prompt_tokens=0, completion_tokens=0, reported_cost=Decimal(0))
    assert billable_usage(_request("hi"), _answer("hello", usage=free)) is free


@pytest.mark.parametrize("usage", [None, Usage(prompt_tokens=0, completion_tokens=0)])
def test_no_usage_or_only_zeros_is_estimated(usage: Usage | None) -> None:
    billed = billable_usage(_request("hi"), _answer("hello", usage=usage))
    assert billed.estimated
    assert billed.prompt_tokens > 0


def test_an_estimated_usage_is_priced_and_marked() -> None:
    price = Price("p:a", PriceRates(Decimal("0.000001"), Decimal("0.000002")))
    usage = estimate_usage(_request("weather in Oslo?"), _answer("Cold."))
    cost = price_call("p:a", usage, price, default=price)
    assert (cost.pricing_source, cost.computed_from) == ("estimated", "catalog")
    assert (
        cost.cost
        == Decimal("0.000001") * usage.prompt_tokens + Decimal("0.000002") * usage.completion_tokens
    )
    unpriced = price_call("p:b", usage, None, default=price, warn=False)
    assert (unpriced.pricing_source, unpriced.computed_from) == ("estimated", "default")


def test_a_sum_with_an_estimated_part_is_estimated() -> None:
    estimated = estimate_usage(_request("hi"), _answer("hello"))
    assert (Usage(prompt_tokens=5) + estimated).estimated
    assert sum([Usage(prompt_tokens=5), estimated]).estimated  # type: ignore[union-attr]
    assert not (Usage(prompt_tokens=5) + Usage(prompt_tokens=6)).estimated


# --- invariants ----------------------------------------------------------------------------

TEXT = st.text(max_size=200)


@given(st.lists(TEXT, min_size=1, max_size=4), st.integers(0, 3), TEXT)
def test_the_prompt_estimate_never_drops_when_text_is_added(
    contents: list[str], where: int, more: str
) -> None:
    where %= len(contents)
    longer = [*contents]
    longer[where] += more
    before = estimate_usage(_request(*contents), EMPTY_ANSWER).prompt_tokens
    after = estimate_usage(_request(*longer), EMPTY_ANSWER).prompt_tokens
    assert after >= before
    # and a further message never lowers it either
    assert estimate_usage(_request(*longer, more), EMPTY_ANSWER).prompt_tokens > after


@given(TEXT, TEXT, st.lists(st.tuples(TEXT, TEXT), max_size=3), TEXT)
def test_the_completion_estimate_never_drops_when_text_is_added(
    content: str, reasoning: str, calls: list[tuple[str, str]], more: str
) -> None:
    tool_calls = tuple(
        ToolCall(i, f"c{i}", name, None, args) for i, (name, args) in enumerate(calls)
    )
    answer = _answer(content, reasoning=reasoning, tool_calls=tool_calls)
    base = estimate_usage(_request("q"), answer)
    grown = [
        _answer(content + more, reasoning=reasoning, tool_calls=tool_calls),
        _answer(content, reasoning=reasoning + more, tool_calls=tool_calls),
        _answer(
            content,
            reasoning=reasoning,
            tool_calls=(*tool_calls, ToolCall(9, "c9", more, None, more)),
        ),
    ]
    for answer in grown:
        assert estimate_usage(_request("q"), answer).completion_tokens >= base.completion_tokens
    assert base.completion_tokens >= ANSWER_OVERHEAD
    assert base.reasoning_tokens <= base.completion_tokens


@given(
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["system", "user", "assistant"]), "content": TEXT}
        ),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.just(WEATHER), max_size=2),
)
def test_a_non_empty_request_is_never_zero_tokens(
    messages: list[dict[str, Any]], tools: list[Any]
) -> None:
    usage = estimate_usage(ChatRequest(messages, tools or None), EMPTY_ANSWER)
    assert usage.prompt_tokens >= REQUEST_OVERHEAD + MESSAGE_OVERHEAD * len(messages)
    assert usage.completion_tokens >= ANSWER_OVERHEAD


# --- measured error on real answers ---------------------------------------------------------


def _request_bodies(path: Path) -> dict[int, dict[str, Any]]:
    """Interaction number -> the request body sent (chat completions only)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: dict[int, dict[str, Any]] = {}
    for number, interaction in enumerate(data["interactions"]):
        request = interaction["request"]
        if request["method"] != "POST" or not request["uri"].endswith("/chat/completions"):
            continue
        body = request.get("parsed_body", request.get("body"))
        if isinstance(body, dict) and "string" in body:
            body = body["string"]
        if isinstance(body, bytes):
            body = (gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body).decode("utf-8")
        found[number] = json.loads(body) if isinstance(body, str) else body
    return found


def _measured() -> list[tuple[str, str, float, float]]:
    """(where, model, estimated / billed prompt tokens, the same for completion tokens)."""
    out = []
    for path in FILES:
        bodies = _request_bodies(path)
        for exchange in _exchanges(path):
            if exchange.status != 200 or _carries_error(exchange):
                continue
            answer = _parse(exchange)
            if answer.usage is None:
                continue
            body = bodies[exchange.number]
            extra = (
                {"response_format": body["response_format"]} if "response_format" in body else {}
            )
            request = ChatRequest(body["messages"], body.get("tools"), extra=extra)
            estimate = estimate_usage(request, dataclasses.replace(answer, usage=None))
            out.append(
                (
                    exchange.where,
                    str(body.get("model")),
                    estimate.prompt_tokens / answer.usage.prompt_tokens,
                    estimate.completion_tokens / answer.usage.completion_tokens,
                )
            )
    return out


def _openai(model: str) -> bool:
    name = model.removeprefix("openai/")
    return name.startswith("gpt-") and not name.startswith("gpt-oss")


def test_the_documented_error_holds_on_real_answers() -> None:
    """The figures in ``clearance.tokencount``'s docstring and the README."""
    measured = _measured()
    assert len(measured) == 58
    openai = [row for row in measured if _openai(row[1])]
    assert len(openai) == 32
    prompt = [row[2] for row in openai]
    completion = [row[3] for row in openai]
    assert min(prompt) >= 0.85
    assert max(prompt) <= 2.2
    assert 1.3 <= statistics.median(prompt) <= 1.6
    assert min(completion) >= 0.65
    assert max(completion) <= 2.0
    assert 1.1 <= statistics.median(completion) <= 1.3
    assert 1.1 <= statistics.median(row[2] for row in measured) <= 1.4
    assert 1.0 <= statistics.median(row[3] for row in measured) <= 1.25
