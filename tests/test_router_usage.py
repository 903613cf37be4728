"""A served answer without ``usage`` is priced from estimated tokens, never at $0.

The fake provider is an ``httpx.MockTransport``; the stream without usage is a real
OpenAI answer (``tests/data/realdata``, recorded without ``stream_options.include_usage``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

REALDATA = Path(__file__).parent / "data" / "realdata" / "cassettes" / "openllmetry"
STREAMED = REALDATA / "test_open_ai_function_calls_tools_streaming_parallel.yaml"
MODELS = [
    {
        "id": "a",
        "context_length": 8000,
        "pricing": {"prompt": "0.000001", "completion": "0.000002"},
    },
    {"id": "unpriced", "context_length": 8000},
]
USER = [{"role": "user", "content": "What is the weather like in Oslo today, in one sentence?"}]
ANSWER = "It is cold and clear in Oslo today, about minus four degrees with a light wind."

Responder = Callable[[httpx.Request], httpx.Response]


def _answer(content: str, *, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "cmpl-1",
        "object": "chat.completion",
        "model": "a",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _real_stream() -> tuple[dict[str, Any], str]:
    """(the request body sent, the SSE answer) of a real OpenAI stream without usage."""
    data = yaml.safe_load(STREAMED.read_text(encoding="utf-8"))
    interaction = data["interactions"][-1]
    return json.loads(interaction["request"]["body"]), interaction["response"]["body"]["string"]


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(
        "[router]\nretries_per_model = 0\n[calllog]\nflush_interval_s = 0.02\n"
        "[gate]\nrequire_decision = false\n"
    )
    return load_config(environ={}, cwd=tmp_path)


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        sync_models(
            connection, "p", parse_model_list({"data": MODELS}, source="t"), enable_new=True
        )
    return catalog


@pytest.fixture
def make_router(
    seeded: Catalog, config: ClearanceConfig
) -> Iterator[Callable[[Responder], Router]]:
    routers: list[Router] = []

    def make(respond: Responder) -> Router:
        provider = OpenAICompatibleProvider(
            "p",
            "https://p.example/v1",
            api_key="sk-test-0123456789",
            transport=httpx.MockTransport(respond),
            async_transport=httpx.MockTransport(respond),
        )
        router = Router(config, seeded, providers={"p": provider})
        routers.append(router)
        return router

    yield make
    for router in routers:
        router.close()


def _rows(router: Router) -> list[Any]:
    assert router.calllog is not None
    router.calllog.flush()
    with router.catalog.connect() as connection:
        return list(connection.execute(select(t.ai_calls).order_by(t.ai_calls.c.id)))


def test_a_200_without_usage_is_priced_from_estimated_tokens(
    make_router: Callable[[Responder], Router],
) -> None:
    router = make_router(lambda request: httpx.Response(200, json=_answer(ANSWER)))
    result = router.complete(USER, model="p:a")
    assert result.cost.pricing_source == "estimated"
    assert result.cost.cost > 0
    (row,) = _rows(router)
    assert row.pricing_source == "estimated"
    assert row.prompt_tokens > 0
    assert row.completion_tokens > 0
    # priced at the model's own catalog price: 1e-6 per prompt and 2e-6 per completion token
    expected = Decimal("0.000001") * row.prompt_tokens + Decimal("0.000002") * row.completion_tokens
    assert row.cost == result.cost.cost == expected


def test_an_unpriced_model_without_usage_is_estimated_at_the_default_price(
    make_router: Callable[[Responder], Router], config: ClearanceConfig
) -> None:
    router = make_router(lambda request: httpx.Response(200, json=_answer(ANSWER)))
    result = router.complete(USER, model="p:unpriced")
    assert (result.cost.pricing_source, result.cost.computed_from) == ("estimated", "default")
    (row,) = _rows(router)
    rates = config.pricing
    assert row.cost == (
        rates.default_prompt_per_token * row.prompt_tokens
        + rates.default_completion_per_token * row.completion_tokens
    )
    assert row.cost > 0


def test_a_real_openai_stream_without_usage_is_estimated(
    make_router: Callable[[Responder], Router],
) -> None:
    sent, sse = _real_stream()

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    router = make_router(respond)
    result = router.complete(sent["messages"], sent["tools"], model="p:a", stream=True)
    assert len(result.response.tool_calls) == 2  # the real answer: two parallel calls
    assert result.response.usage is None
    assert result.cost.pricing_source == "estimated"
    (row,) = _rows(router)
    assert row.pricing_source == "estimated"
    # OpenAI billed this very request, sent without streaming, as 70 prompt and 46
    # completion tokens (test_open_ai_function_calls_tools_parallel.yaml): the estimate
    # is conservative, and not wildly so.
    assert 70 <= row.prompt_tokens <= 2 * 70
    assert 46 <= row.completion_tokens <= 2 * 46


def test_a_reported_usage_is_not_estimated(make_router: Callable[[Responder], Router]) -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
    router = make_router(lambda request: httpx.Response(200, json=_answer(ANSWER, usage=usage)))
    result = router.complete(USER, model="p:a")
    assert result.cost.pricing_source == "catalog"
    assert result.cost.cost == Decimal("0.002")
    (row,) = _rows(router)
    assert (row.prompt_tokens, row.completion_tokens, row.pricing_source) == (1000, 500, "catalog")


def test_a_usage_of_zeros_is_a_missing_usage(make_router: Callable[[Responder], Router]) -> None:
    zeros = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    router = make_router(lambda request: httpx.Response(200, json=_answer(ANSWER, usage=zeros)))
    result = router.complete(USER, model="p:a")
    assert result.cost.pricing_source == "estimated"
    assert result.cost.cost > 0


def test_an_async_stream_without_usage_is_estimated_the_same_way(
    make_router: Callable[[Responder], Router],
) -> None:
    sent, sse = _real_stream()

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    router = make_router(respond)
    synced = router.complete(sent["messages"], sent["tools"], model="p:a", stream=True)
    awaited = asyncio.run(
        router.acomplete(sent["messages"], sent["tools"], model="p:a", stream=True)
    )
    assert awaited.cost == synced.cost
    assert awaited.cost.pricing_source == "estimated"
