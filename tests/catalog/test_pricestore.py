"""The price store on plain values: LiteLLM prices arrive already matched to catalog models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.pricerecords import Price, PriceRates
from clearance.catalog.pricestore import add_litellm_prices, latest_versions, load_prices
from clearance.discovery import parse_model_list

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def test_litellm_prices_are_stored_under_the_catalog_id_with_their_key(catalog: Catalog) -> None:
    models = parse_model_list({"data": [{"id": "llama3"}, {"id": "mistral"}]}, source="t")
    # as LiteLLM's entry carries it: model_id is the table's key, not the catalog's id
    price = Price("meta/llama3", PriceRates(D("0.0000002"), D("0.0000006")), source="litellm")
    with catalog.begin() as connection:
        ensure_provider(connection, "vllm", base_url="http://gpu-1:8000/v1")
        sync_models(connection, "vllm", models, enable_new=False, now=T0)
        added = add_litellm_prices(
            connection, {"vllm:llama3": (price, "meta/llama3")}, source="table.json", now=T0
        )
    assert added == (1, 0)
    with catalog.connect() as connection:
        stored = latest_versions(connection)
        in_force = load_prices(connection, ("litellm",))
    assert set(stored) == {"vllm:llama3"}
    version = stored["vllm:llama3"]["litellm"]
    assert (version.source_detail, version.effective_at) == ("table.json#meta/llama3", T0)
    assert in_force["vllm:llama3"].model_id == "vllm:llama3"
    assert in_force["vllm:llama3"].rates == price.rates
    with catalog.begin() as connection:
        again = add_litellm_prices(
            connection, {"vllm:llama3": (price, "meta/llama3")}, source="table.json", now=T1
        )
        assert add_litellm_prices(connection, {}, source="table.json") == (0, 0)
    assert again == (0, 1)
