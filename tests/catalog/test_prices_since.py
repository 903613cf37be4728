"""Incremental price loading: ``load_prices_since`` re-reads only the models that changed,
and always answers what ``load_prices`` answers (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import Connection, delete, update

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.pricestore import (
    PricesInForce,
    add_price_versions,
    load_prices,
    load_prices_since,
)
from clearance.discovery import parse_model_list
from clearance.pricing import Price, PriceRates

PRIORITY = ("provider", "litellm", "manual")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def seed(connection: Connection, names: list[str]) -> None:
    ensure_provider(connection, "p", base_url="https://p.example/v1")
    entries = [
        {"id": name, "pricing": {"prompt": "0.000001", "completion": "0.000002"}} for name in names
    ]
    sync_models(
        connection, "p", parse_model_list({"data": entries}, source="t"), enable_new=True, now=T0
    )


def price(model_id: str, prompt: str, *, source: str = "manual") -> Price:
    return Price(
        model_id, PriceRates.from_strings({"prompt": prompt, "completion": "0.00001"}), source
    )


def same(incremental: PricesInForce, full: Mapping[str, Price]) -> None:
    assert dict(incremental.prices) == full
    assert {k: v.price_id for k, v in incremental.prices.items()} == {
        k: v.price_id for k, v in full.items()
    }


def test_unchanged_prices_are_the_previous_read(catalog: Catalog) -> None:
    with catalog.begin() as connection:
        seed(connection, ["a", "b"])
        first = load_prices_since(connection, PRIORITY)
        same(first, load_prices(connection, PRIORITY))
        assert load_prices_since(connection, PRIORITY, first) is first
        other = load_prices_since(connection, ("litellm",), first)  # another priority: all read
        assert other.prices == {}


def test_each_change_is_seen_and_the_rest_reused(catalog: Catalog) -> None:
    with catalog.begin() as connection:
        seed(connection, ["a", "b", "c"])
        last = load_prices_since(connection, PRIORITY)
        # a new version of one model's price
        add_price_versions(
            connection, [("p:a", price("p:a", "0.000005"), "t")], source="provider", now=T0
        )
        step = load_prices_since(connection, PRIORITY, last)
        same(step, load_prices(connection, PRIORITY))
        assert (
            step.prices["p:a"].rates.prompt
            == PriceRates.from_strings({"prompt": "0.000005", "completion": "0"}).prompt
        )
        assert step.prices["p:b"] is last.prices["p:b"]  # not read again
        assert last.prices["p:a"].rates.prompt != step.prices["p:a"].rates.prompt  # untouched
        last = step
        # a new model, priced
        seed(connection, ["a", "b", "c", "d"])
        step = load_prices_since(connection, PRIORITY, last)
        same(step, load_prices(connection, PRIORITY))
        assert "p:d" in step.prices
        last = step
        # a model whose pricing turns dynamic has no price in force any more
        connection.execute(
            update(t.models).where(t.models.c.id == "p:c").values(pricing_status="dynamic")
        )
        step = load_prices_since(connection, PRIORITY, last)
        same(step, load_prices(connection, PRIORITY))
        assert "p:c" not in step.prices
        last = step
        # and back
        connection.execute(
            update(t.models).where(t.models.c.id == "p:c").values(pricing_status="fixed")
        )
        step = load_prices_since(connection, PRIORITY, last)
        same(step, load_prices(connection, PRIORITY))
        assert "p:c" in step.prices
        last = step
        # a row deleted by hand: the version before it is in force again
        newest = step.prices["p:a"].price_id
        connection.execute(delete(t.prices).where(t.prices.c.id == newest))
        step = load_prices_since(connection, PRIORITY, last)
        same(step, load_prices(connection, PRIORITY))
        assert step.prices["p:a"].price_id != newest


def test_a_row_committed_out_of_id_order_is_seen(catalog: Catalog) -> None:
    """A row whose id is lower than one already read (its transaction committed late)."""
    manual_first = ("manual", "provider")
    with catalog.begin() as connection:
        seed(connection, ["a", "b"])
        add_price_versions(
            connection,
            [("p:a", price("p:a", "0.000007"), "t"), ("p:b", price("p:b", "0.000008"), "t")],
            source="manual",
            now=T0,
        )
        rows = connection.execute(
            t.prices.select().where(t.prices.c.source == "manual").order_by(t.prices.c.id)
        ).all()
        late, early = rows[0], rows[1]
        assert late.id < early.id
        connection.execute(delete(t.prices).where(t.prices.c.id == late.id))
        last = load_prices_since(connection, manual_first)
        assert last.prices["p:a"].source == "provider"
        assert last.prices["p:b"].price_id == early.id
        connection.execute(t.prices.insert().values(**late._asdict()))  # the late commit
        step = load_prices_since(connection, manual_first, last)
        same(step, load_prices(connection, manual_first))
        assert step.prices["p:a"].price_id == late.id
        assert step.prices["p:b"] is last.prices["p:b"]
