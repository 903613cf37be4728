"""Catalog snapshots on SQLite and PostgreSQL: export, restore into a fresh catalog, re-export."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import (
    ensure_provider,
    get_model,
    list_models,
    list_providers,
    source_metadata,
    sync_models,
)
from clearance.catalog.pricestore import (
    PriceVersion,
    latest_versions,
    load_price,
    load_prices,
    store_price_versions,
)
from clearance.catalog_snapshot import (
    dumps_snapshot,
    export_snapshot,
    parse_snapshot,
    restore_snapshot,
)
from clearance.discovery import loads_exact, parse_model_list, read_model_list
from clearance.litellm_table import import_litellm, read_litellm_table
from clearance.pricing import Price, PriceRates, PriceTier, Usage, compute_cost
from tests.conftest import LITELLM_TABLE, OPENROUTER_MODELS
from tests.support.postgres import create_database, drop_database

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
PRIORITY = ("provider", "litellm", "manual")
MANUAL_FIRST = ("manual", "provider", "litellm")


@pytest.fixture
def fresh(catalog_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    """A second, empty catalog on the same back end as ``catalog``."""
    if catalog_url.startswith("sqlite"):
        handle = open_catalog(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield handle
        handle.dispose()
        return
    admin, template = request.getfixturevalue("postgres_template")
    name = f"clearance_f_{uuid.uuid4().hex[:12]}"
    handle = open_catalog(create_database(admin, name, template=template))
    yield handle
    handle.dispose()
    drop_database(admin, name)


def manual(model_id: str, prompt: str, completion: str, *, at: dt.datetime = T1) -> PriceVersion:
    return PriceVersion(
        Price(model_id, PriceRates(Decimal(prompt), Decimal(completion)), source="manual"),
        at,
        reason="negotiated rate",
        set_by="alice",
        host="build-7",
    )


def build(catalog: Catalog) -> None:
    """A real catalog: OpenRouter's list, LiteLLM's prices, a manual price, a removed model."""
    model_list = read_model_list(OPENROUTER_MODELS)
    with catalog.begin() as connection:
        ensure_provider(
            connection,
            "openrouter",
            base_url="https://openrouter.ai/api/v1",
            api_key_env="OPENROUTER_API_KEY",
            models_format="openrouter",
        )
        sync_models(connection, "openrouter", model_list, enable_new=False, now=T0)
        import_litellm(connection, read_litellm_table(LITELLM_TABLE), now=T0)
        ensure_provider(connection, "vllm", base_url="http://gpu-1:8000/v1", models_format="openai")
        local = parse_model_list(
            {"data": [{"id": "llama3"}, {"id": "old-model"}]}, source="vllm", fmt="openai"
        )
        sync_models(connection, "vllm", local, enable_new=True, now=T0)
        gone = parse_model_list({"data": [{"id": "llama3"}]}, source="vllm", fmt="openai")
        sync_models(connection, "vllm", gone, enable_new=True, now=T1)
        tiered = Price(
            "vllm:llama3",
            PriceRates(Decimal("0.0000002"), Decimal("0.0000006"), cache_read=Decimal("5E-8")),
            source="manual",
            per_request=Decimal("0.00010"),
            tiers=(PriceTier(200_001, PriceRates(Decimal("0.0000004"), Decimal("0.0000012"))),),
        )
        store_price_versions(
            connection,
            [
                PriceVersion(tiered, T1, reason="our GPU cost", set_by="bob", host="gpu-1"),
                manual("openrouter:openai/gpt-4o", "0.000002", "0.000008"),
            ],
            now=T1,
        )


def exported(catalog: Catalog, **options: Any) -> dict[str, Any]:
    with catalog.connect() as connection:
        snapshot = export_snapshot(connection, **options)
    document: dict[str, Any] = json.loads(dumps_snapshot(snapshot))
    return document


def restore(catalog: Catalog, document: dict[str, Any], *, now: dt.datetime = T2) -> list[Any]:
    text = json.dumps(document)
    snapshot = parse_snapshot(loads_exact(text, source="s.json"), source="s.json")
    with catalog.begin() as connection:
        return restore_snapshot(connection, snapshot, enable_new=False, now=now)


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "exported_at"}


def price_count(catalog: Catalog) -> int:
    with catalog.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.prices)).scalar_one())


def test_round_trip_restores_models_and_every_price_exactly(
    catalog: Catalog, fresh: Catalog
) -> None:
    build(catalog)
    first = exported(catalog, include_removed=True)
    assert [p["name"] for p in first["providers"]] == ["openrouter", "vllm"]
    assert first["providers"][0]["api_key_env"] == "OPENROUTER_API_KEY"
    gpt4o = next(
        m for m in first["providers"][0]["models"] if m["id"] == "openrouter:openai/gpt-4o"
    )
    assert set(gpt4o["prices"]) == {"provider", "litellm", "manual"}
    assert gpt4o["prices"]["manual"]["set_by"] == "alice"
    assert "set_by" not in gpt4o["prices"]["provider"]
    llama3 = first["providers"][1]["models"][0]["prices"]["manual"]
    assert llama3["tiers"][0]["min_prompt_tokens"] == 200_001
    assert llama3["cache_read_per_token"] == "0.00000005"
    assert llama3["per_request_usd"] == "0.0001"  # canonical: no trailing zero

    reports = restore(fresh, first)
    assert [r.provider for r in reports] == ["openrouter", "vllm"]
    second = exported(fresh, include_removed=True)
    assert without_time(second) == without_time(first)

    with catalog.connect() as a, fresh.connect() as b:
        before, after = latest_versions(a), latest_versions(b)
        # the entry as listed, which the report reads (a simulator is marked from it)
        original = source_metadata(a, "openrouter")["openrouter:openai/gpt-4o"]
        assert original["description"]
        assert source_metadata(b, "openrouter")["openrouter:openai/gpt-4o"] == original
        assert [m.id for m in list_models(a)] == [m.id for m in list_models(b)]
        assert get_model(b, "vllm:old-model").removed_at is not None
        assert get_model(b, "vllm:llama3").removed_at is None
        for priority in (PRIORITY, MANUAL_FIRST):
            _same_prices(load_prices(a, priority), load_prices(b, priority))
    assert before.keys() == after.keys()
    for model_id, sources in before.items():
        assert sources.keys() == after[model_id].keys()
        for source, version in sources.items():
            restored = after[model_id][source]
            assert restored.price.rates == version.price.rates  # Decimal equality
            assert restored.price.tiers == version.price.tiers
            assert restored.price.per_image == version.price.per_image
            assert restored.effective_at == version.effective_at
            assert (restored.reason, restored.set_by, restored.host) == (
                version.reason,
                version.set_by,
                version.host,
            )


def _same_prices(a: dict[str, Price], b: dict[str, Price]) -> None:
    """The same prices in force (price ids differ between two databases; nothing else may)."""
    assert a.keys() == b.keys()
    for model_id, price in a.items():
        other = b[model_id]
        assert (price.source, price.rates, price.tiers, price.per_request) == (
            other.source,
            other.rates,
            other.tiers,
            other.per_request,
        )


@pytest.mark.parametrize("priority", [PRIORITY, MANUAL_FIRST], ids=["default", "manual-first"])
def test_a_call_costs_the_same_decimal_on_both_catalogs(
    catalog: Catalog, fresh: Catalog, priority: tuple[str, ...]
) -> None:
    build(catalog)
    restore(fresh, exported(catalog))
    usage = Usage(prompt_tokens=250_000, completion_tokens=1_234, cached_tokens=1_000)
    checked = 0
    with catalog.connect() as a, fresh.connect() as b:
        for model_id in (
            "openrouter:openai/gpt-4o",
            "vllm:llama3",
            "openrouter:google/gemini-2.5-pro-preview",
        ):
            price_a, price_b = load_price(a, model_id, priority), load_price(b, model_id, priority)
            assert price_a is not None
            assert price_b is not None
            assert compute_cost(usage, price_a) == compute_cost(usage, price_b)
            checked += 1
        # gpt-4o: provider price in force by default, the manual one when manual comes first
        in_force = load_price(b, "openrouter:openai/gpt-4o", priority)
        assert in_force is not None
        assert in_force.source == priority[0]
    assert checked == 3


def test_a_second_restore_adds_no_price_versions(catalog: Catalog) -> None:
    build(catalog)
    document = exported(catalog)
    count = price_count(catalog)
    reports = restore(catalog, document)  # into the very catalog it came from
    assert sum(r.prices_added for r in reports) == 0
    assert price_count(catalog) == count
    again = restore(catalog, document)
    assert sum(r.prices_added for r in again) == 0
    assert sum(r.prices_unchanged for r in again) == count
    assert price_count(catalog) == count


def test_models_not_in_the_snapshot_are_marked_removed(catalog: Catalog) -> None:
    build(catalog)
    document = exported(catalog, providers=["vllm"])
    with catalog.begin() as connection:
        extra = parse_model_list(
            {"data": [{"id": "llama3"}, {"id": "mistral"}]}, source="vllm", fmt="openai"
        )
        sync_models(connection, "vllm", extra, enable_new=False, now=T1)
    reports = restore(catalog, document)
    assert reports[0].removed == ["vllm:mistral"]
    with catalog.connect() as connection:
        assert get_model(connection, "vllm:mistral").removed_at is not None
        assert get_model(connection, "vllm:llama3").removed_at is None
        # other providers are not touched
        assert get_model(connection, "openrouter:openai/gpt-4o").removed_at is None


def test_a_snapshot_price_becomes_the_newest_even_over_a_newer_stored_one(
    catalog: Catalog,
) -> None:
    build(catalog)
    document = exported(catalog, providers=["vllm"])
    with catalog.begin() as connection:
        store_price_versions(connection, [manual("vllm:llama3", "0.000001", "0.000003", at=T2)])
    later = T2 + dt.timedelta(days=1)
    reports = restore(catalog, document, now=later)
    assert reports[0].prices_added == 1
    with catalog.connect() as connection:
        price = load_price(connection, "vllm:llama3", PRIORITY)
    assert price is not None
    assert price.rates.prompt == Decimal("0.0000002")


def test_export_leaves_out_removed_models_unless_asked(catalog: Catalog) -> None:
    build(catalog)
    names = [m["name"] for m in exported(catalog, providers=["vllm"])["providers"][0]["models"]]
    assert names == ["llama3"]
    everything = exported(catalog, providers=["vllm"], include_removed=True)
    models = everything["providers"][0]["models"]
    assert [(m["name"], m["removed"]) for m in models] == [
        ("llama3", False),
        ("old-model", True),
    ]


def test_each_providers_protocol_survives_export_and_restore(
    catalog: Catalog, fresh: Catalog
) -> None:
    with catalog.begin() as connection:
        ensure_provider(
            connection,
            "claude",
            base_url="https://api.anthropic.com/v1",
            api_key_env="ANTHROPIC_API_KEY",
            models_format="anthropic",
            protocol="anthropic",
        )
        ensure_provider(
            connection,
            "gemini",
            base_url="https://generativelanguage.googleapis.com/v1beta",
            protocol="gemini",
        )
        ensure_provider(connection, "vllm", base_url="http://gpu-1:8000/v1")
    document = exported(catalog)
    assert {p["name"]: p["protocol"] for p in document["providers"]} == {
        "claude": "anthropic",
        "gemini": "gemini",
        "vllm": "openai",
    }
    restore(fresh, document)
    with fresh.connect() as connection:
        restored = {entry.name: entry for entry in list_providers(connection)}
    assert {name: entry.protocol for name, entry in restored.items()} == {
        "claude": "anthropic",
        "gemini": "gemini",
        "vllm": "openai",
    }
    assert restored["claude"].models_format == "anthropic"
    assert without_time(exported(fresh)) == without_time(document)
