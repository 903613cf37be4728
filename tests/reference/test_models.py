"""GET /v1/models: OpenRouter's format, read by clearance's discovery, and plainly a simulator."""

from __future__ import annotations

from decimal import Decimal

import httpx

from clearance.discovery import loads_exact, parse_model_list
from clearance.reference import REFERENCE_MODELS


def test_the_model_list_parses_as_openrouter_and_says_simulator(client: httpx.Client) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    document = loads_exact(response.content, source="reference")
    assert document["simulator"] is True
    parsed = parse_model_list(document, source="reference")
    assert parsed.format == "openrouter"
    names = [m.name for m in parsed.models]
    assert names == [m.id for m in REFERENCE_MODELS]
    for entry, model in zip(document["data"], parsed.models, strict=True):
        assert entry["description"].startswith("SIMULATOR, not a real model")
        assert model.pricing_status == "priced"
        assert model.capabilities["tools"] is True
        assert model.capabilities["tool_choice"] is True
        assert model.context_length == entry["context_length"]


def test_prices_are_distinct_usd_per_token_decimals(client: httpx.Client) -> None:
    parsed = parse_model_list(loads_exact(client.get("/models").content, source="r"), source="r")
    steady = next(m for m in parsed.models if m.name == "ref/steady")
    assert steady.price is not None
    assert steady.price.rates.prompt == Decimal("0.0000005")
    assert steady.price.rates.completion == Decimal("0.0000015")
    pairs = {(m.price.rates.prompt, m.price.rates.completion) for m in parsed.models if m.price}
    assert len(pairs) == len(parsed.models)


def test_context_small_advertises_its_window(client: httpx.Client) -> None:
    parsed = parse_model_list(client.get("/models").json(), source="r")
    small = next(m for m in parsed.models if m.name == "ref/context-small")
    assert small.context_length == 2000


def test_health_says_simulator(client: httpx.Client) -> None:
    response = client.get(str(client.base_url).removesuffix("/v1/") + "/health")
    assert response.json() == {"status": "ok", "simulator": True}
