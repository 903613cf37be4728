"""Reading /models answers, on the real OpenRouter catalogs and on hand-made broken ones."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from clearance.discovery import fetch_model_list, parse_model_list, read_model_list
from clearance.errors import DiscoverySourceError, SourceFormatError
from tests.conftest import OPENROUTER_MODELS, OPENROUTER_MODELS_2026

RATE_FIELDS = {
    "prompt": "prompt",
    "completion": "completion",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write",
}


def test_real_openrouter_snapshot_every_price_equals_its_source_string() -> None:
    source = json.loads(OPENROUTER_MODELS.read_text(), parse_float=str)["data"]
    model_list = read_model_list(OPENROUTER_MODELS)
    assert model_list.format == "openrouter"
    assert len(model_list.models) == len(source) == 321
    checked = 0
    for entry, model in zip(source, model_list.models, strict=True):
        assert model.name == entry["id"]
        pricing = entry["pricing"]
        if Decimal(pricing["prompt"]) < 0:
            assert model.price is None
            assert model.pricing_status == "dynamic"
            continue
        assert model.price is not None
        for key, attribute in RATE_FIELDS.items():
            if key in pricing:
                stored = getattr(model.price.rates, attribute)
                assert stored == Decimal(pricing[key]), (model.name, key)
                assert isinstance(stored, Decimal)
                checked += 1
        assert model.price.per_request == Decimal(pricing.get("request", "0"))
        assert model.price.per_image == Decimal(pricing.get("image", "0"))
        reasoning = Decimal(pricing.get("internal_reasoning", "0"))
        assert model.price.rates.reasoning == (None if reasoning == 0 else reasoning)
        assert model.context_length == entry["context_length"]
    assert checked > 640


def test_dynamic_pricing_is_marked_not_priced() -> None:
    model_list = read_model_list(OPENROUTER_MODELS)
    auto = next(m for m in model_list.models if m.name == "openrouter/auto")
    assert auto.pricing_status == "dynamic"
    assert auto.price is None
    assert auto.pricing_note is not None
    assert "-1" in auto.pricing_note
    assert [m.name for m in model_list.models if m.pricing_status == "dynamic"] == [
        "openrouter/auto"
    ]


def test_capabilities_from_supported_parameters() -> None:
    models = {m.name: m for m in read_model_list(OPENROUTER_MODELS).models}
    opus = models["anthropic/claude-opus-4"]
    assert opus.capabilities["tools"] is True
    assert opus.capabilities["vision"] is True
    assert opus.max_completion_tokens == 32000
    no_tools = [m for m in models.values() if m.capabilities["tools"] is False]
    assert no_tools, "the real snapshot has models without tool support"


def test_2026_answer_with_tiered_overrides_from_a_cassette() -> None:
    model_list = read_model_list(OPENROUTER_MODELS_2026)
    sonnet = next(m for m in model_list.models if m.name == "anthropic/claude-sonnet-4")
    assert sonnet.price is not None
    (tier,) = sonnet.price.tiers
    assert tier.min_prompt_tokens == 200000
    assert tier.rates.prompt == Decimal("0.000006")
    assert tier.rates.completion == Decimal("0.0000225")
    assert tier.rates.cache_read == Decimal("0.0000006")
    assert sonnet.price.rates_for(199_999).prompt == Decimal("0.000003")
    assert sonnet.price.rates_for(200_000).prompt == Decimal("0.000006")
    assert sonnet.price.per_web_search == Decimal("0.01")


def test_openai_format_has_no_prices() -> None:
    document = {
        "object": "list",
        "data": [
            {"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "openai"},
            {"id": "llama3:8b", "object": "model", "owned_by": "library"},
        ],
    }
    model_list = parse_model_list(document, source="test")
    assert model_list.format == "openai"
    assert [m.name for m in model_list.models] == ["gpt-4o", "llama3:8b"]
    assert all(m.pricing_status == "unknown" and m.price is None for m in model_list.models)
    assert model_list.models[0].capabilities["tools"] is None


def test_vllm_max_model_len_is_the_context_length() -> None:
    document = {"data": [{"id": "Qwen/Qwen2.5-7B", "object": "model", "max_model_len": 32768}]}
    assert parse_model_list(document, source="vllm").models[0].context_length == 32768


def openrouter_entry(**pricing: Any) -> dict[str, Any]:
    return {"id": "a/b", "name": "A B", "context_length": 1000, "pricing": pricing}


@pytest.mark.parametrize(
    ("document", "pointer", "message"),
    [
        ({"models": []}, "/data", "expected"),
        (
            {"data": [openrouter_entry(prompt="abc", completion="1")]},
            "/data/0/pricing/prompt",
            "not a decimal",
        ),
        (
            {"data": [openrouter_entry(prompt=0.5, completion="1")]},
            "/data/0/pricing/prompt",
            "not an exact decimal",
        ),
        ({"data": [{"id": "", "pricing": {}}]}, "/data/0/id", "missing"),
        ({"data": [{"id": "x", "context_length": -3}]}, "/data/0/context_length", "non-negative"),
        ({"data": [{"id": "x"}, {"id": "x"}]}, "/data/1/id", "twice"),
        ({"data": ["x"]}, "/data/0", "not an object"),
    ],
)
def test_malformed_answers_name_the_pointer(document: Any, pointer: str, message: str) -> None:
    with pytest.raises(SourceFormatError, match=message) as caught:
        parse_model_list(document, source="models.json")
    assert caught.value.pointer == pointer
    assert caught.value.source == "models.json"


def test_broken_json_file_names_file_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "models.json"
    file.write_text('{"data": [\n  {"id": "a",}\n]}')
    with pytest.raises(SourceFormatError, match=r"line 2, column") as caught:
        read_model_list(file)
    assert caught.value.source == str(file)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match="cannot read"):
        read_model_list(tmp_path / "absent.json")


def test_cassette_without_a_models_request(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text(
        yaml.safe_dump({"interactions": [{"request": {"method": "POST", "uri": "http://x/chat"}}]})
    )
    with pytest.raises(SourceFormatError, match="no GET"):
        read_model_list(file)


def test_fetch_sends_the_key_and_parses(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    body = OPENROUTER_MODELS.read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    model_list = fetch_model_list(
        "https://openrouter.example/api/v1/",
        api_key="sk-test-123",
        transport=httpx.MockTransport(handler),
    )
    assert len(model_list.models) == 321
    assert str(seen[0].url) == "https://openrouter.example/api/v1/models"
    assert seen[0].headers["authorization"] == "Bearer sk-test-123"


def test_fetch_http_error_is_typed_and_hides_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "bad key sk-test-123"}})

    with pytest.raises(DiscoverySourceError) as caught:
        fetch_model_list(
            "https://x.example/v1", api_key="sk-test-123", transport=httpx.MockTransport(handler)
        )
    assert caught.value.status_code == 401
    assert "sk-test-123" not in str(caught.value)
    assert "nothing was changed" in str(caught.value)


def test_fetch_network_error_is_typed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(DiscoverySourceError, match="ConnectError"):
        fetch_model_list("https://x.example/v1", transport=httpx.MockTransport(handler))


def test_fetch_broken_json() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b'{"data": ['))
    with pytest.raises(SourceFormatError, match="not valid JSON") as caught:
        fetch_model_list("https://x.example/v1", transport=transport)
    assert caught.value.source == "https://x.example/v1/models"
