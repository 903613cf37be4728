"""Model sync and versioned prices, on SQLite and PostgreSQL, with the real catalogs."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import (
    ensure_provider,
    get_model,
    list_models,
    list_providers,
    resolve_model_id,
    set_enabled,
    sync_models,
)
from clearance.catalog.pricestore import load_price, load_prices
from clearance.discovery import parse_model_list, read_model_list
from clearance.errors import UnknownModel
from clearance.litellm_table import import_litellm, read_litellm_table
from tests.conftest import LITELLM_TABLE, OPENROUTER_MODELS

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
PRIORITY = ("provider", "litellm")


def sync(catalog: Catalog, document: Any, *, now: dt.datetime = T0, enable: bool = False) -> Any:
    model_list = parse_model_list(document, source="test")
    with catalog.begin() as connection:
        ensure_provider(connection, "openrouter", base_url="https://openrouter.ai/api/v1")
        return sync_models(connection, "openrouter", model_list, enable_new=enable, now=now)


@pytest.fixture
def real_document() -> dict[str, Any]:
    from clearance.discovery import loads_exact

    document: dict[str, Any] = loads_exact(OPENROUTER_MODELS.read_bytes(), source="x")
    return document


def test_real_snapshot_stored_with_every_price_exact(
    catalog: Catalog, real_document: dict[str, Any]
) -> None:
    report = sync(catalog, real_document)
    assert len(report.added) == 321
    assert report.prices_added == 320
    assert report.dynamic == ["openrouter:openrouter/auto"]
    source = {
        m["id"]: m["pricing"]
        for m in json.loads(OPENROUTER_MODELS.read_text(), parse_float=str)["data"]
    }
    with catalog.connect() as connection:
        prices = load_prices(connection, PRIORITY)
        rows = connection.execute(select(t.prices)).all()
    assert len(prices) == 320
    assert "openrouter:openrouter/auto" not in prices
    for model_id, price in prices.items():
        pricing = source[model_id.removeprefix("openrouter:")]
        assert price.rates.prompt == Decimal(pricing["prompt"])
        assert price.rates.completion == Decimal(pricing["completion"])
        if "input_cache_read" in pricing:
            assert price.rates.cache_read == Decimal(pricing["input_cache_read"])
        assert price.per_image == Decimal(pricing["image"])
        assert isinstance(price.rates.prompt, Decimal)
    # the stored text itself is the exact decimal (no float ever touched it)
    for row in rows:
        assert isinstance(row.prompt_per_token, Decimal)


def test_new_models_are_not_enabled_unless_asked(
    catalog: Catalog, real_document: dict[str, Any]
) -> None:
    sync(catalog, real_document)
    with catalog.connect() as connection:
        assert list_models(connection, enabled=True) == []
        model = get_model(connection, "openrouter:anthropic/claude-opus-4")
    assert model.gate_status == "ungated"
    assert model.supports_tools is True
    assert model.context_length == 200000


def test_enable_new_setting(catalog: Catalog, real_document: dict[str, Any]) -> None:
    sync(catalog, real_document, enable=True)
    with catalog.connect() as connection:
        assert len(list_models(connection, enabled=True)) == 321


def test_resync_keeps_old_price_and_adds_a_version_only_for_changes(
    catalog: Catalog, real_document: dict[str, Any]
) -> None:
    sync(catalog, real_document, now=T0)
    with catalog.begin() as connection:
        set_enabled(connection, "openrouter:openai/gpt-4o", True)
    changed = copy.deepcopy(real_document)
    gpt4o = next(m for m in changed["data"] if m["id"] == "openai/gpt-4o")
    old_prompt = Decimal(gpt4o["pricing"]["prompt"])
    gpt4o["pricing"]["prompt"] = "0.0000021"
    report = sync(catalog, changed, now=T1)
    assert report.prices_added == 1
    assert report.prices_unchanged == 319
    assert report.added == []
    with catalog.connect() as connection:
        versions = connection.execute(
            select(t.prices.c.prompt_per_token, t.prices.c.effective_at)
            .where(t.prices.c.model_id == "openrouter:openai/gpt-4o")
            .order_by(t.prices.c.effective_at)
        ).all()
        current = load_price(connection, "openrouter:openai/gpt-4o", PRIORITY)
        confirmed = connection.execute(select(func.max(t.prices.c.last_confirmed_at))).scalar()
        # a re-sync keeps the enabled flag a person set
        assert get_model(connection, "openrouter:openai/gpt-4o").enabled is True
    assert [v.prompt_per_token for v in versions] == [old_prompt, Decimal("0.0000021")]
    assert [v.effective_at for v in versions] == [T0, T1]
    assert current is not None
    assert current.rates.prompt == Decimal("0.0000021")
    assert confirmed == T1


def test_models_gone_from_the_list_are_marked_removed_and_come_back(
    catalog: Catalog, real_document: dict[str, Any]
) -> None:
    sync(catalog, real_document, now=T0)
    shorter = copy.deepcopy(real_document)
    shorter["data"] = [m for m in shorter["data"] if m["id"] != "openai/gpt-4o"]
    report = sync(catalog, shorter, now=T1)
    assert report.removed == ["openrouter:openai/gpt-4o"]
    with catalog.connect() as connection:
        assert get_model(connection, "openrouter:openai/gpt-4o").removed_at == T1
    sync(catalog, real_document, now=T1)
    with catalog.connect() as connection:
        assert get_model(connection, "openrouter:openai/gpt-4o").removed_at is None


def test_a_model_that_turns_dynamic_loses_its_price_in_force(catalog: Catalog) -> None:
    entry = {"id": "x/y", "pricing": {"prompt": "0.000001", "completion": "0.000002"}}
    sync(catalog, {"data": [entry]})
    dynamic = {"id": "x/y", "pricing": {"prompt": "-1", "completion": "-1"}}
    sync(catalog, {"data": [dynamic]}, now=T1)
    with catalog.connect() as connection:
        assert load_price(connection, "openrouter:x/y", PRIORITY) is None
        assert get_model(connection, "openrouter:x/y").pricing_status == "dynamic"
        # the old version is kept for the record
        assert connection.execute(select(func.count()).select_from(t.prices)).scalar() == 1


def test_tiers_round_trip_exactly(catalog: Catalog) -> None:
    entry = {
        "id": "a/tiered",
        "pricing": {
            "prompt": "0.000003",
            "completion": "0.000015",
            "overrides": [
                {"min_prompt_tokens": 200000, "prompt": "0.000006", "completion": "0.0000225"}
            ],
        },
    }
    sync(catalog, {"data": [entry]})
    with catalog.connect() as connection:
        price = load_price(connection, "openrouter:a/tiered", PRIORITY)
    assert price is not None
    assert price.rates_for(250_000).prompt == Decimal("0.000006")
    assert price.rates_for(250_000).completion == Decimal("0.0000225")
    assert price.rates_for(10).prompt == Decimal("0.000003")


def test_litellm_prices_are_a_second_source_with_priority(
    catalog: Catalog, real_document: dict[str, Any]
) -> None:
    sync(catalog, real_document)
    table = read_litellm_table(LITELLM_TABLE)
    literal = json.loads(LITELLM_TABLE.read_text(), parse_float=str, parse_int=str)
    with catalog.begin() as connection:
        report = import_litellm(connection, table)
    assert len(report.matched) > 20
    assert report.prices_added == len(report.matched)
    with catalog.connect() as connection:
        litellm_only = load_prices(connection, ("litellm",))
        preferred = load_prices(connection, ("provider", "litellm"))
    assert set(litellm_only) == {model_id for model_id, _ in report.matched}
    for model_id, key in report.matched:
        assert litellm_only[model_id].source == "litellm"
        assert litellm_only[model_id].rates.prompt == Decimal(literal[key]["input_cost_per_token"])
        assert preferred[model_id].source == "provider"
    with catalog.begin() as connection:
        again = import_litellm(connection, table)
    assert again.prices_added == 0
    assert again.prices_unchanged == len(report.matched)


def test_resolve_model_id(catalog: Catalog) -> None:
    sync(catalog, {"data": [{"id": "openai/gpt-4o", "pricing": None}, {"id": "llama3:8b"}]})
    with catalog.begin() as connection:
        ensure_provider(connection, "ollama", base_url="http://127.0.0.1:11434/v1")
        sync_models(
            connection,
            "ollama",
            parse_model_list({"data": [{"id": "llama3:8b"}]}, source="t"),
            enable_new=False,
        )
        assert resolve_model_id(connection, "openai/gpt-4o") == "openrouter:openai/gpt-4o"
        assert resolve_model_id(connection, "ollama:llama3:8b") == "ollama:llama3:8b"
        with pytest.raises(UnknownModel) as ambiguous:
            resolve_model_id(connection, "llama3:8b")
        assert ambiguous.value.ambiguous
        assert set(ambiguous.value.candidates) == {"openrouter:llama3:8b", "ollama:llama3:8b"}
        with pytest.raises(UnknownModel) as unknown:
            resolve_model_id(connection, "openai/gpt-4")
        assert "openrouter:openai/gpt-4o" in unknown.value.candidates


def test_a_failed_sync_changes_nothing(catalog: Catalog, real_document: dict[str, Any]) -> None:
    sync(catalog, real_document)
    with catalog.connect() as connection:
        before = connection.execute(select(func.count()).select_from(t.prices)).scalar()
    broken = copy.deepcopy(real_document)
    broken["data"][5]["pricing"]["prompt"] = "zero point one"
    broken["data"][0]["pricing"]["prompt"] = "0.5"
    with pytest.raises(Exception, match="not a decimal"):
        sync(catalog, broken, now=T1)
    with catalog.connect() as connection:
        after = connection.execute(select(func.count()).select_from(t.prices)).scalar()
        first = load_price(connection, "openrouter:" + real_document["data"][0]["id"], PRIORITY)
    assert after == before
    assert first is not None
    assert first.rates.prompt != Decimal("0.5")


def test_two_syncs_in_one_transaction(
    catalog: Catalog,
) -> None:
    model_list = read_model_list(OPENROUTER_MODELS)
    with catalog.begin() as connection:
        ensure_provider(connection, "openrouter")
        first = sync_models(connection, "openrouter", model_list, enable_new=False, now=T0)
        second = sync_models(connection, "openrouter", model_list, enable_new=False, now=T1)
    assert len(first.added) == len(second.updated) == 321


def test_a_providers_protocol_is_stored_kept_and_replaced(catalog: Catalog) -> None:
    with catalog.begin() as connection:
        ensure_provider(
            connection,
            "claude",
            base_url="https://api.anthropic.com/v1",
            api_key_env="ANTHROPIC_API_KEY",
            protocol="anthropic",
        )
        ensure_provider(connection, "vllm", base_url="http://gpu-1:8000/v1")
        (claude, vllm) = list_providers(connection)
        assert (claude.name, claude.protocol, claude.api_key_env) == (
            "claude",
            "anthropic",
            "ANTHROPIC_API_KEY",
        )
        assert vllm.protocol == "openai"  # the column's default
        # a sync from a file knows no address: the row keeps its settings
        ensure_provider(connection, "claude")
        assert list_providers(connection, ["claude"])[0].protocol == "anthropic"
        # a declared provider's settings replace the row's
        ensure_provider(
            connection, "claude", base_url="https://api.anthropic.com/v1", protocol="openai"
        )
        assert list_providers(connection, ["claude"])[0].protocol == "openai"
