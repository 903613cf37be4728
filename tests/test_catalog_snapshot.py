"""Reading catalog snapshots: a good one exactly, a bad one with the file, pointer and fix."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.catalog.pricestore import PriceVersion
from clearance.catalog_snapshot import (
    CatalogSnapshot,
    ModelSnapshot,
    ProviderSnapshot,
    dumps_snapshot,
    is_snapshot,
    parse_snapshot,
)
from clearance.discovery import ModelList, read_model_list, read_models_file
from clearance.errors import SourceFormatError
from clearance.pricing import Price, PriceRates, PriceTier

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def snapshot() -> CatalogSnapshot:
    manual = PriceVersion(
        Price(
            "vllm:llama3",
            PriceRates(Decimal("0.00000015"), Decimal("6E-7"), cache_read=Decimal("0.00000001")),
            source="manual",
            per_request=Decimal("0.0001"),
            tiers=(PriceTier(200_001, PriceRates(Decimal("0.0000003"), Decimal("0.0000012"))),),
        ),
        T0,
        reason="our GPU cost",
        set_by="alice",
        host="laptop-7",
    )
    model = ModelSnapshot(
        name="llama3",
        display_name="Llama 3 ",
        context_length=8192,
        max_completion_tokens=None,
        capabilities={"tools": True, "supported_parameters": ["tools"]},
        pricing_status="unknown",
        removed=False,
        prices=(manual,),
    )
    provider = ProviderSnapshot("vllm", "http://gpu-1:8000/v1", "VLLM_API_KEY", "openai", (model,))
    return CatalogSnapshot("catalog", T0, (provider,))


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(dumps_snapshot(snapshot()), parse_float=Decimal)
    return loaded


def test_written_text_is_sorted_exact_and_reads_back_to_the_same_snapshot() -> None:
    text = dumps_snapshot(snapshot())
    assert text.endswith("}\n")
    written = json.loads(text)
    assert list(written) == sorted(written)
    price = written["providers"][0]["models"][0]["prices"]["manual"]
    # plain decimal strings, never floats nor exponents
    assert price["prompt_per_token"] == "0.00000015"
    assert price["completion_per_token"] == "0.0000006"
    assert price["per_request_usd"] == "0.0001"
    assert price["tiers"] == [
        {
            "min_prompt_tokens": 200001,
            "prompt_per_token": "0.0000003",
            "completion_per_token": "0.0000012",
            "cache_read_per_token": None,
            "cache_write_per_token": None,
            "reasoning_per_token": None,
        }
    ]
    assert (price["reason"], price["set_by"], price["host"]) == (
        "our GPU cost",
        "alice",
        "laptop-7",
    )
    read = parse_snapshot(json.loads(text, parse_float=Decimal), source="s.json")
    assert (
        read.providers[0].models[0].prices[0].price.rates
        == snapshot().providers[0].models[0].prices[0].price.rates
    )
    assert dumps_snapshot(read) == text


def test_a_providers_protocol_is_written_and_read_back_and_defaults_to_openai() -> None:
    native = dataclasses.replace(
        snapshot(),
        providers=(
            dataclasses.replace(
                snapshot().providers[0],
                name="claude",
                base_url="https://api.anthropic.com/v1",
                models_format="anthropic",
                protocol="anthropic",
            ),
        ),
    )
    text = dumps_snapshot(native)
    written = json.loads(text)["providers"][0]
    assert (written["protocol"], written["models_format"]) == ("anthropic", "anthropic")
    read = parse_snapshot(json.loads(text, parse_float=Decimal), source="s.json")
    assert read.providers[0].protocol == "anthropic"
    assert read.renamed("sonnet").providers[0].protocol == "anthropic"
    assert json.loads(dumps_snapshot(snapshot()))["providers"][0]["protocol"] == "openai"
    older = document()  # written before providers had a protocol
    del older["providers"][0]["protocol"]
    assert parse_snapshot(older, source="old.json").providers[0].protocol == "openai"


def test_a_snapshot_file_is_recognized_beside_model_lists(tmp_path: Path) -> None:
    file = tmp_path / "models.snapshot.json"
    file.write_text(dumps_snapshot(snapshot()))
    found = read_models_file(file)
    assert isinstance(found, CatalogSnapshot)
    assert found.source == str(file)
    assert found.providers[0].models[0].prices[0].source_detail == str(file)
    plain = tmp_path / "models.json"
    plain.write_text('{"data": [{"id": "llama3"}]}')
    assert isinstance(read_models_file(plain), ModelList)
    assert not is_snapshot({"data": []})
    with pytest.raises(SourceFormatError, match="catalog snapshot, not a /models answer") as caught:
        read_model_list(file)
    assert caught.value.fix is not None
    assert "models sync --from" in caught.value.fix


def test_renamed_moves_every_model_id() -> None:
    renamed = snapshot().renamed("gpu")
    assert renamed.providers[0].name == "gpu"
    assert renamed.providers[0].models[0].prices[0].price.model_id == "gpu:llama3"


def _set(doc: dict[str, Any], pointer: str, value: Any) -> None:
    *path, last = pointer.strip("/").split("/")
    target: Any = doc
    for part in path:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


M = "/providers/0/models/0"
P = f"{M}/prices/manual"


@pytest.mark.parametrize(
    ("pointer", "value", "message"),
    [
        ("/version", 2, "version 2 is not the version 1"),
        ("/version", "1", "expected an integer version"),
        ("/providers", {}, "expected a list"),
        ("/providers/0/name", "Not Valid", "provider name"),
        (
            "/providers/0/models_format",
            "claude",
            "not one of auto, openai, openrouter, anthropic, gemini",
        ),
        ("/providers/0/protocol", "claude", "not one of openai, anthropic, gemini"),
        (f"{M}/name", " llama3", "without surrounding space"),
        (f"{M}/id", "vllm:other", "does not match"),
        (f"{M}/context_length", -1, "non-negative integer"),
        (f"{M}/context_length", Decimal("1.5"), "non-negative integer"),
        (f"{M}/pricing_status", "free", "not one of priced, dynamic, unknown"),
        (f"{M}/removed", "no", "expected true or false"),
        (f"{M}/capabilities", [], "expected an object"),
        (f"{M}/prices", [], "expected an object"),
        (f"{M}/source_metadata", "vllm", "expected an object"),
        (f"{P}/prompt_per_token", "cheap", "not a decimal number"),
        (f"{P}/prompt_per_token", "-0.000001", "negative"),
        (f"{P}/completion_per_token", "NaN", "not finite"),
        (f"{P}/completion_per_token", None, "expected a decimal string"),
        (f"{P}/per_request_usd", True, "not an exact decimal"),
        (f"{P}/tiers", {}, "expected a list"),
        (f"{P}/tiers/0/min_prompt_tokens", "many", "non-negative integer"),
        (f"{P}/tiers/0/prompt_per_token", "-1", "negative"),
        (f"{P}/effective_at", "yesterday", "ISO 8601"),
        (f"{P}/effective_at", "2026-12-01T09:00:00", "UTC offset"),
        (f"{P}/reason", 42, "expected a string"),
    ],
)
def test_a_bad_value_names_the_file_its_pointer_and_the_fix(
    pointer: str, value: Any, message: str
) -> None:
    doc = document()
    _set(doc, pointer, value)
    with pytest.raises(SourceFormatError, match=message) as caught:
        parse_snapshot(doc, source="models.snapshot.json")
    assert caught.value.source == "models.snapshot.json"
    assert caught.value.pointer == pointer
    assert caught.value.fix
    assert "models.snapshot.json at " + pointer in str(caught.value)


def test_unknown_and_missing_keys() -> None:
    doc = document()
    doc["providers"][0]["models"][0]["prices"]["manual"]["prompt_per_tokn"] = "1"
    with pytest.raises(SourceFormatError, match="did you mean 'prompt_per_token'") as caught:
        parse_snapshot(doc, source="s.json")
    assert caught.value.pointer == f"{P}/prompt_per_tokn"
    doc = document()
    doc["providers"][0]["models"][0]["prices"]["free"] = doc["providers"][0]["models"][0]["prices"][
        "manual"
    ]
    with pytest.raises(SourceFormatError, match="unknown key 'free'") as caught:
        parse_snapshot(doc, source="s.json")
    assert caught.value.pointer == f"{M}/prices/free"
    doc = document()
    del doc["providers"][0]["models"][0]["removed"]
    with pytest.raises(SourceFormatError, match="missing key 'removed'") as caught:
        parse_snapshot(doc, source="s.json")
    assert caught.value.pointer == M


def test_duplicates_are_refused() -> None:
    doc = document()
    models = doc["providers"][0]["models"]
    models.append(copy.deepcopy(models[0]))
    with pytest.raises(SourceFormatError, match="'llama3' appears twice") as caught:
        parse_snapshot(doc, source="s.json")
    assert caught.value.pointer == "/providers/0/models/1/name"
    doc = document()
    doc["providers"].append(copy.deepcopy(doc["providers"][0]))
    with pytest.raises(SourceFormatError, match="'vllm' appears twice") as caught:
        parse_snapshot(doc, source="s.json")
    assert caught.value.pointer == "/providers/1/name"


def test_a_key_written_as_api_key_env_is_refused_without_repeating_it() -> None:
    doc = document()
    doc["providers"][0]["api_key_env"] = "sk-or-v1-0123456789abcdef"
    with pytest.raises(SourceFormatError, match="not the name of an environment variable") as e:
        parse_snapshot(doc, source="s.json")
    assert e.value.pointer == "/providers/0/api_key_env"
    assert "sk-or-v1" not in str(e.value)
    assert "sk-or-v1" not in (e.value.fix or "")


def test_a_newer_format_version_says_to_upgrade() -> None:
    doc = document()
    doc["version"] = 7
    with pytest.raises(SourceFormatError) as caught:
        parse_snapshot(doc, source="s.json")
    assert "upgrade clearance" in (caught.value.fix or "")


# Rates as providers publish them: up to 12 decimal places, from zero to dollars a token,
# including the exponent forms Decimal prints on its own (6E-7, 1E+1).
_RATE = st.decimals(min_value=0, max_value=100, places=12, allow_nan=False, allow_infinity=False)


@given(
    prompt=_RATE,
    completion=_RATE,
    cache_read=st.none() | _RATE,
    per_request=_RATE,
    tier_start=st.integers(min_value=1, max_value=10_000_000),
    source=st.sampled_from(["provider", "litellm", "manual"]),
)
@settings(max_examples=150, deadline=None)
def test_any_exact_price_survives_the_snapshot_unchanged(
    prompt: Decimal,
    completion: Decimal,
    cache_read: Decimal | None,
    per_request: Decimal,
    tier_start: int,
    source: str,
) -> None:
    """Written as plain decimal strings, read back equal by value, rewritten byte for byte."""
    price = Price(
        "vllm:llama3",
        PriceRates(prompt, completion, cache_read=cache_read),
        source=source,
        per_request=per_request,
        tiers=(PriceTier(tier_start, PriceRates(completion, prompt)),),
    )
    original = snapshot()
    model = original.providers[0].models[0]
    version = PriceVersion(price, T0, reason="r" if source == "manual" else None)
    changed = CatalogSnapshot(
        original.source,
        original.exported_at,
        (
            ProviderSnapshot(
                "vllm",
                "http://gpu-1:8000/v1",
                "VLLM_API_KEY",
                "openai",
                (dataclasses.replace(model, prices=(version,)),),
            ),
        ),
    )
    text = dumps_snapshot(changed)
    assert "E" not in text.replace("VLLM_API_KEY", "")  # no exponent, no float, anywhere
    read = parse_snapshot(json.loads(text, parse_float=Decimal), source="s.json")
    back = read.providers[0].models[0].prices[0].price
    assert (back.rates, back.per_request, back.tiers, back.source) == (
        price.rates,
        price.per_request,
        price.tiers,
        price.source,
    )
    assert dumps_snapshot(read) == text
