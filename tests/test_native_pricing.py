"""Anthropic's and Gemini's models priced from LiteLLM's real table, to the exact Decimal.

Neither model list carries prices, so a native provider's models are matched to
LiteLLM's table by the protocol's own keys (``claude-...`` listed under ``anthropic``,
``gemini/gemini-...`` under ``gemini``). The usage priced here is read from real answers
(tests/data/realdata/cassettes) by the providers' own parsers; the worked sums are in the
comments. The model lists are hand-written (tests/data/handwritten/README.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import yaml

from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.pricestore import load_prices
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import ModelList, fetch_model_list
from clearance.litellm_table import LiteLLMTable, import_litellm, read_litellm_table
from clearance.pricing import PriceRates, PriceTier, Usage, compute_cost
from clearance.providers.wire import parse_anthropic_message, parse_gemini_response
from clearance.router import Router
from tests.conftest import DATA, LITELLM_TABLE, REALDATA

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

CASSETTES = REALDATA / "cassettes"
CLAUDE_CACHE = CASSETTES / "anthropic/pydantic-ai/test_anthropic_cache_real_api.yaml"
GEMINI_PRO = CASSETTES / "gemini/pydantic-ai/test_google_model_retry.yaml"
GEMINI_FLASH = CASSETTES / "gemini/pydantic-ai/test_tool_choice_matrix[required-google].yaml"
HANDWRITTEN = DATA / "handwritten"
BASE_URLS = {
    "anthropic": "https://api.anthropic.com/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
}
PROVIDERS: dict[str, Literal["anthropic", "gemini"]] = {"claude": "anthropic", "google": "gemini"}
"""Provider names that are neither LiteLLM's nor the protocol's: the protocol matches."""


@pytest.fixture(scope="module")
def table() -> LiteLLMTable:
    return read_litellm_table(LITELLM_TABLE)


def recorded_answer(cassette: Path, index: int) -> dict[str, Any]:
    """The JSON body of a cassette's ``index``-th answer (pydantic-ai stores it parsed)."""
    document = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    body: dict[str, Any] = document["interactions"][index]["response"]["parsed_body"]
    return body


def claude_usage() -> Usage:
    """The second answer of a real Claude Sonnet 4.5 run with prompt caching: 3 fresh input
    tokens, 418 written to the cache (5-minute), 1,111 read from it, 33 output tokens."""
    body = recorded_answer(CLAUDE_CACHE, 1)
    usage = parse_anthropic_message(body, provider="anthropic", model_id=None).usage
    assert usage is not None
    return usage


def gemini_usage(cassette: Path) -> Usage:
    body = recorded_answer(cassette, 0)
    usage = parse_gemini_response(body, provider="gemini", model_id=None).usage
    assert usage is not None
    return usage


# -- matching: the protocol's own keys -------------------------------------------------------


def test_a_native_provider_is_matched_on_its_protocols_own_keys(table: LiteLLMTable) -> None:
    sonnet = table.match("claude", "claude-sonnet-4-5-20250929", protocol="anthropic")
    assert sonnet is not None
    assert (sonnet.key, sonnet.litellm_provider) == ("claude-sonnet-4-5-20250929", "anthropic")
    pro = table.match("google", "gemini-2.5-pro", protocol="gemini")
    assert pro is not None
    assert (pro.key, pro.litellm_provider) == ("gemini/gemini-2.5-pro", "gemini")
    # the bare key is Vertex AI's entry for the same model: another price list, not chosen
    assert table.entries["gemini-2.5-pro"].litellm_provider == "vertex_ai-language-models"
    assert table.match("google", "gemini-2.5-pro").key == "gemini-2.5-pro"  # type: ignore[union-attr]
    # models this table lacks: no price rather than a guessed one
    assert table.match("claude", "claude-opus-4-1-20250805", protocol="anthropic") is None
    assert table.match("google", "gemini-2.0-flash", protocol="gemini") is None
    # an alias still wins
    aliased = table.match(
        "google",
        "gemini-2.0-flash",
        {"google:gemini-2.0-flash": "gemini/gemini-2.5-flash-lite"},
        protocol="gemini",
    )
    assert aliased is not None
    assert aliased.key == "gemini/gemini-2.5-flash-lite"


def test_the_table_gives_claudes_cache_rates_and_geminis_long_prompt_tier(
    table: LiteLLMTable,
) -> None:
    sonnet = table.entries["claude-sonnet-4-5-20250929"].price
    assert sonnet.rates == PriceRates(
        prompt=Decimal("0.000003"),
        completion=Decimal("0.000015"),
        cache_read=Decimal("3E-7"),
        cache_write=Decimal("0.00000375"),
    )
    pro = table.entries["gemini/gemini-2.5-pro"].price
    assert pro.rates == PriceRates(
        Decimal("0.00000125"), Decimal("0.00001"), cache_read=Decimal("1.25E-7")
    )
    assert pro.tiers == (
        PriceTier(
            200_001,
            PriceRates(Decimal("0.0000025"), Decimal("0.000015"), cache_read=Decimal("2.5E-7")),
        ),
    )


# -- exact costs on real usage ---------------------------------------------------------------


def test_a_claude_call_with_cache_writes_and_reads_costs_exactly(table: LiteLLMTable) -> None:
    usage = claude_usage()
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens) == (
        3 + 418 + 1111,
        1111,
        418,
    )
    assert usage.completion_tokens == 33
    price = table.entries["claude-sonnet-4-5-20250929"].price
    #     3 fresh input   × 0.000003   = 0.000009
    # + 418 cache writes  × 0.00000375 = 0.0015675
    # + 1111 cache reads  × 0.0000003  = 0.0003333
    # +  33 output        × 0.000015   = 0.000495
    assert compute_cost(usage, price) == Decimal("0.0024048")


def test_a_gemini_call_with_thoughts_bills_them_at_the_output_rate(table: LiteLLMTable) -> None:
    usage = gemini_usage(GEMINI_PRO)  # 57 prompt, 15 candidates, 124 thoughts
    assert (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens) == (57, 139, 124)
    price = table.entries["gemini/gemini-2.5-pro"].price
    assert price.rates.reasoning is None  # the table has no reasoning rate: output's applies
    #    57 prompt                 × 0.00000125 = 0.00007125
    # + (15 text + 124 thoughts)   × 0.00001    = 0.00139
    assert compute_cost(usage, price) == Decimal("0.00146125")
    as_text = dataclasses.replace(usage, reasoning_tokens=0)
    assert compute_cost(as_text, price) == compute_cost(usage, price)
    unbilled = dataclasses.replace(usage, completion_tokens=15, reasoning_tokens=0)
    assert compute_cost(usage, price) - compute_cost(unbilled, price) == 124 * Decimal("0.00001")


def test_gemini_flash_names_a_reasoning_rate_equal_to_its_output_rate(
    table: LiteLLMTable,
) -> None:
    usage = gemini_usage(GEMINI_FLASH)  # 46 prompt, 15 candidates, 48 thoughts
    assert (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens) == (46, 63, 48)
    price = table.entries["gemini/gemini-2.5-flash"].price
    assert price.rates.reasoning == price.rates.completion == Decimal("0.0000025")
    #   46 prompt × 0.0000003 = 0.0000138
    # + 63 output × 0.0000025 = 0.0001575
    assert compute_cost(usage, price) == Decimal("0.0001713")


def test_a_long_gemini_prompt_bills_every_token_at_the_above_200k_rates(
    table: LiteLLMTable,
) -> None:
    price = table.entries["gemini/gemini-2.5-pro"].price
    long = Usage(
        prompt_tokens=250_000, cached_tokens=50_000, completion_tokens=1_200, reasoning_tokens=1_000
    )
    #   200,000 fresh prompt × 0.0000025  = 0.5
    # +  50,000 cached       × 0.00000025 = 0.0125
    # +   1,200 output       × 0.000015   = 0.018
    assert compute_cost(long, price) == Decimal("0.5305")
    at_the_bound = Usage(prompt_tokens=200_000, completion_tokens=1_000)
    # 200,000 × 0.00000125 + 1,000 × 0.00001: "above 200k" starts at 200,001
    assert compute_cost(at_the_bound, price) == Decimal("0.26")


# -- the catalog: synced lists priced, the rest reported unpriced ----------------------------


def handwritten_list(protocol: Literal["anthropic", "gemini"]) -> ModelList:
    """A hand-written list, fetched page by page as from the provider itself."""
    first = json.loads((HANDWRITTEN / f"{protocol}-models-page1.json").read_text())
    second = json.loads((HANDWRITTEN / f"{protocol}-models-page2.json").read_text())
    cursor = "after_id" if protocol == "anthropic" else "pageToken"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=second if cursor in request.url.params else first)

    transport = httpx.MockTransport(handler)
    return fetch_model_list(BASE_URLS[protocol], protocol=protocol, transport=transport)


def synced(catalog: Catalog, table: LiteLLMTable) -> dict[str, str]:
    """Both native providers synced and priced from the table: catalog id -> LiteLLM key."""
    with catalog.begin() as connection:
        for name, protocol in PROVIDERS.items():
            ensure_provider(
                connection,
                name,
                base_url=BASE_URLS[protocol],
                api_key_env=f"{protocol.upper()}_API_KEY",
                protocol=protocol,
            )
            sync_models(connection, name, handwritten_list(protocol), enable_new=True)
        report = import_litellm(connection, table)
    return dict(report.matched)


def test_synced_native_models_are_priced_from_the_table_and_the_rest_left_unpriced(
    catalog: Catalog, table: LiteLLMTable
) -> None:
    matched = synced(catalog, table)
    assert matched == {
        "claude:claude-opus-4-5-20251101": "claude-opus-4-5-20251101",
        "claude:claude-haiku-4-5-20251001": "claude-haiku-4-5-20251001",
        "claude:claude-sonnet-4-5-20250929": "claude-sonnet-4-5-20250929",
        "google:gemini-2.5-pro": "gemini/gemini-2.5-pro",
        "google:gemini-2.5-flash": "gemini/gemini-2.5-flash",
        "google:gemini-2.5-flash-lite": "gemini/gemini-2.5-flash-lite",
    }
    with catalog.connect() as connection:
        prices = load_prices(connection, ("provider", "litellm", "manual"))
    assert prices["claude:claude-sonnet-4-5-20250929"].source == "litellm"
    assert prices["claude:claude-sonnet-4-5-20250929"].rates.cache_write == Decimal("0.00000375")
    assert "claude:claude-opus-4-1-20250805" not in prices
    assert "google:gemini-2.0-flash" not in prices


# -- through the router: the protocol from the configuration, the price from the catalog -----


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    declared = "".join(
        f'[[providers]]\nname = "{name}"\nprotocol = "{protocol}"\n'
        f'base_url = "{BASE_URLS[protocol]}"\napi_key_env = "{protocol.upper()}_API_KEY"\n'
        for name, protocol in PROVIDERS.items()
    )
    (tmp_path / "clearance.toml").write_text(
        "[gate]\nrequire_decision = false\n[pricing]\nstrict = true\n" + declared
    )
    return load_config(environ={}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("model", "answer", "cost"),
    [
        ("claude:claude-sonnet-4-5-20250929", (CLAUDE_CACHE, 1), Decimal("0.0024048")),
        ("google:gemini-2.5-pro", (GEMINI_PRO, 0), Decimal("0.00146125")),
    ],
)
def test_the_router_bills_a_native_call_at_the_litellm_price(
    catalog: Catalog,
    table: LiteLLMTable,
    config: ClearanceConfig,
    model: str,
    answer: tuple[Path, int],
    cost: Decimal,
) -> None:
    synced(catalog, table)
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=recorded_answer(*answer))

    environ = {"ANTHROPIC_API_KEY": "sk-ant-test", "GEMINI_API_KEY": "AIza-test"}
    with Router(
        config,
        catalog,
        environ=environ,
        log_calls=False,
        async_transport=httpx.MockTransport(handler),
    ) as router:
        result = asyncio.run(
            router.acomplete([{"role": "user", "content": "hi"}], model=model, max_tokens=64)
        )
    assert result.served_model == model
    assert result.cost.cost == cost
    assert result.cost.pricing_source == "catalog"
    assert result.cost.price is not None
    assert result.cost.price.source == "litellm"
    (request,) = sent
    assert request.url.host in ("api.anthropic.com", "generativelanguage.googleapis.com")
