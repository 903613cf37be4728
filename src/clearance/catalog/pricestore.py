"""Versioned prices in the catalog.

A price row is never changed: a sync that finds a different price adds a new
version with a later ``effective_at``; one that finds the same price only
moves ``last_confirmed_at``. The price in force for a model is the newest
version of the first source in the configured priority order.

A ``manual`` price is a person's decision: its version carries who set it
(``set_by``), from which ``host`` and why (``reason``).

:func:`load_prices_since` reads the prices in force incrementally, for a reader that keeps
them (the router's background refresh): it re-reads only the models whose price rows
changed since its last read, told by a mark per model (how many rows are in scope and the
sum of their ids), so rows committed out of id order and deleted rows are seen too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, func, insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.pricerecords import Price, PriceRates, PriceTier

__all__ = [
    "PriceVersion",
    "PricesInForce",
    "add_litellm_prices",
    "add_price_versions",
    "latest_versions",
    "load_price",
    "load_prices",
    "load_prices_since",
    "price_content_hash",
    "store_price_versions",
]

_FEES = ("per_request", "per_image", "per_web_search")
_Query = TypeVar("_Query", bound=Select[Any, Any])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _tiers_json(price: Price) -> list[dict[str, Any]] | None:
    if not price.tiers:
        return None
    return [
        {"min_prompt_tokens": tier.min_prompt_tokens, **tier.rates.as_strings()}
        for tier in price.tiers
    ]


def price_content_hash(price: Price) -> str:
    """A hash of what the price charges (not where or when it came from)."""
    content = {
        "rates": price.rates.as_strings(),
        **{fee: str(getattr(price, fee)) for fee in _FEES},
        "tiers": _tiers_json(price),
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row_values(price: Price) -> dict[str, Any]:
    rates = price.rates
    return {
        "prompt_per_token": rates.prompt,
        "completion_per_token": rates.completion,
        "cache_read_per_token": rates.cache_read,
        "cache_write_per_token": rates.cache_write,
        "reasoning_per_token": rates.reasoning,
        "per_request": price.per_request,
        "per_image": price.per_image,
        "per_web_search": price.per_web_search,
        "tiers": _tiers_json(price),
        "content_hash": price_content_hash(price),
    }


def _latest_hashes(
    connection: Connection, model_ids: Sequence[str], source: str
) -> dict[str, tuple[int, str]]:
    """model id -> (price id, content hash) of the newest version from ``source``."""
    if not model_ids:
        return {}
    ranked = (
        select(
            t.prices.c.id,
            t.prices.c.model_id,
            t.prices.c.content_hash,
            func.row_number()
            .over(
                partition_by=t.prices.c.model_id,
                order_by=(t.prices.c.effective_at.desc(), t.prices.c.id.desc()),
            )
            .label("rank"),
        )
        .where(t.prices.c.source == source)
        .subquery()
    )
    rows = connection.execute(
        select(ranked.c.id, ranked.c.model_id, ranked.c.content_hash).where(ranked.c.rank == 1)
    )
    wanted = set(model_ids)
    return {row.model_id: (row.id, row.content_hash) for row in rows if row.model_id in wanted}


def add_price_versions(
    connection: Connection,
    priced: Iterable[tuple[str, Price, str | None]],
    *,
    source: str,
    now: dt.datetime | None = None,
) -> tuple[int, int]:
    """Store prices for catalog models; returns (versions added, unchanged).

    Args:
        connection: in the caller's transaction.
        priced: (catalog model id, price, where it came from) triples.
        source: ``provider``, ``litellm`` or ``manual``.
        now: the version's ``effective_at``.
    """
    now = now or _now()
    items = list(priced)
    latest = _latest_hashes(connection, [item[0] for item in items], source)
    new_rows: list[dict[str, Any]] = []
    confirmed: list[int] = []
    for model_id, price, detail in items:
        values = _row_values(price)
        current = latest.get(model_id)
        if current is not None and current[1] == values["content_hash"]:
            confirmed.append(current[0])
            continue
        new_rows.append(
            {
                "model_id": model_id,
                "source": source,
                "source_detail": detail,
                "effective_at": now,
                "last_confirmed_at": now,
                **values,
            }
        )
    if new_rows:
        connection.execute(insert(t.prices), new_rows)
    _confirm(connection, confirmed, now)
    return len(new_rows), len(confirmed)


def _confirm(connection: Connection, price_ids: Sequence[int], now: dt.datetime) -> None:
    for start in range(0, len(price_ids), 500):
        chunk = price_ids[start : start + 500]
        connection.execute(
            update(t.prices).where(t.prices.c.id.in_(chunk)).values(last_confirmed_at=now)
        )


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """One stored version of a model's price from one source, and its provenance."""

    price: Price
    """What it charges; ``price.source`` is the source, ``price.model_id`` the model."""
    effective_at: dt.datetime
    """From when this version is the newest of its source."""
    source_detail: str | None = None
    """The URL, file or key it came from."""
    reason: str | None = None
    """Manual prices: why it was set."""
    set_by: str | None = None
    """Manual prices: the user name of whoever set it."""
    host: str | None = None
    """Manual prices: the host it was set from."""


def store_price_versions(
    connection: Connection, versions: Iterable[PriceVersion], *, now: dt.datetime | None = None
) -> tuple[list[PriceVersion], int]:
    """Store versions with their own ``effective_at`` and audit; returns (added, unchanged).

    A version that charges what the newest stored version of its model and source
    charges (compared by value: ``0.20E-6`` equals ``0.0000002``) is only confirmed,
    whatever its reason or date. Otherwise it is added with its ``effective_at``, or,
    when the catalog already holds a version of that source at least as new, just
    after it (at ``now`` or later), so that the stored price is the one in force for
    its source.
    """
    now = now or _now()
    items = list(versions)
    latest = latest_versions(connection, sorted({v.price.model_id for v in items}))
    added: list[PriceVersion] = []
    confirmed: list[int] = []
    rows: list[dict[str, Any]] = []
    for version in items:
        price = version.price
        current = latest.get(price.model_id, {}).get(price.source)
        if current is not None and _charges(current.price) == _charges(price):
            assert current.price.price_id is not None
            confirmed.append(current.price.price_id)
            continue
        effective = version.effective_at
        if current is not None and current.effective_at >= effective:
            effective = max(now, current.effective_at + dt.timedelta(microseconds=1))
        rows.append(
            {
                "model_id": price.model_id,
                "source": price.source,
                "source_detail": version.source_detail,
                "effective_at": effective,
                "last_confirmed_at": now,
                "reason": version.reason,
                "set_by": version.set_by,
                "host": version.host,
                **_row_values(price),
            }
        )
        added.append(version)
    if rows:
        connection.execute(insert(t.prices), rows)
    _confirm(connection, confirmed, now)
    return added, len(confirmed)


def _charges(price: Price) -> tuple[Any, ...]:
    """What a price charges, compared by value (Decimal equality ignores trailing zeros)."""
    return (price.rates, price.per_request, price.per_image, price.per_web_search, price.tiers)


#: Ranks each (model, source)'s price versions, newest first: rank 1 is the one in force.
_NEWEST_FIRST = (
    func.row_number()
    .over(
        partition_by=(t.prices.c.model_id, t.prices.c.source),
        order_by=(t.prices.c.effective_at.desc(), t.prices.c.id.desc()),
    )
    .label("rank")
)


def latest_versions(
    connection: Connection, model_ids: Sequence[str] | None = None
) -> dict[str, dict[str, PriceVersion]]:
    """model id -> source -> its newest price version (every source, whatever the priority)."""
    ranked = select(t.prices, _NEWEST_FIRST)
    if model_ids is not None:
        ranked = ranked.where(t.prices.c.model_id.in_(list(model_ids)))
    sub = ranked.subquery()
    out: dict[str, dict[str, PriceVersion]] = {}
    for row in connection.execute(select(sub).where(sub.c.rank == 1)):
        out.setdefault(row.model_id, {})[row.source] = PriceVersion(
            price=_price(row),
            effective_at=row.effective_at,
            source_detail=row.source_detail,
            reason=row.reason,
            set_by=row.set_by,
            host=row.host,
        )
    return out


def _price(row: Any) -> Price:
    tiers = tuple(
        PriceTier(int(tier["min_prompt_tokens"]), PriceRates.from_strings(tier))
        for tier in row.tiers or ()
    )
    return Price(
        model_id=row.model_id,
        rates=PriceRates(
            row.prompt_per_token,
            row.completion_per_token,
            row.cache_read_per_token,
            row.cache_write_per_token,
            row.reasoning_per_token,
        ),
        source=row.source,
        per_request=row.per_request or Decimal(0),
        per_image=row.per_image or Decimal(0),
        per_web_search=row.per_web_search or Decimal(0),
        tiers=tiers,
        price_id=row.id,
    )


def _in_scope(query: _Query, priority: Sequence[str]) -> _Query:
    """The price rows that can be in force: of a source in ``priority``, for a model whose
    pricing is not ``dynamic``."""
    return (
        query.join(t.models, t.models.c.id == t.prices.c.model_id)
        .where(t.models.c.pricing_status != "dynamic")
        .where(t.prices.c.source.in_(list(priority)))
    )


def load_prices(
    connection: Connection,
    priority: Sequence[str],
    model_ids: Sequence[str] | None = None,
) -> dict[str, Price]:
    """The price in force for each model (all models, or ``model_ids``).

    A model whose pricing is ``dynamic`` (decided per request by the provider)
    has no price in force, whatever older rows say.
    """
    ranked = _in_scope(select(t.prices, _NEWEST_FIRST), priority)
    if model_ids is not None:
        ranked = ranked.where(t.prices.c.model_id.in_(list(model_ids)))
    sub = ranked.subquery()
    order = {source: index for index, source in enumerate(priority)}
    best: dict[str, tuple[int, Price]] = {}
    for row in connection.execute(select(sub).where(sub.c.rank == 1)):
        rank = order[row.source]
        if row.model_id not in best or rank < best[row.model_id][0]:
            best[row.model_id] = (rank, _price(row))
    return {model_id: price for model_id, (_, price) in best.items()}


@dataclass(frozen=True, slots=True)
class PricesInForce:
    """The prices in force at one read, with the marks that tell what changed since."""

    priority: tuple[str, ...]
    """The source priority they were chosen by."""
    prices: Mapping[str, Price]
    """Model id -> its price in force (a model without one is left out)."""
    marks: Mapping[str, tuple[int, int]]
    """Model id -> (rows in scope, sum of their ids): a model's mark changes whenever a
    row of it is added, deleted, or enters or leaves the scope (its model's pricing turns
    ``dynamic`` or back). Price rows are never changed in place (see above), so a row's
    id stands for its content."""
    total: tuple[int, int]
    """The marks summed over every model (one aggregate answers "did anything change")."""


def _marks(connection: Connection, priority: Sequence[str]) -> dict[str, tuple[int, int]]:
    query = _in_scope(
        select(t.prices.c.model_id, func.count(t.prices.c.id), func.sum(t.prices.c.id)),
        priority,
    ).group_by(t.prices.c.model_id)
    return {row[0]: (int(row[1]), int(row[2])) for row in connection.execute(query)}


def _total(connection: Connection, priority: Sequence[str]) -> tuple[int, int]:
    query = _in_scope(select(func.count(t.prices.c.id), func.sum(t.prices.c.id)), priority)
    count, total = connection.execute(query).one()
    return int(count), int(total or 0)


def load_prices_since(
    connection: Connection, priority: Sequence[str], previous: PricesInForce | None = None
) -> PricesInForce:
    """The prices in force, re-reading only the models whose rows changed since ``previous``.

    The same prices as :func:`load_prices`. When nothing in scope changed (one aggregate
    query), ``previous`` is returned as it is; otherwise the models whose marks differ
    are re-read and the others' prices are kept: a new mapping, ``previous`` is not
    changed. Without ``previous`` (or for another priority), every price is read.
    Read on one snapshot of the catalog (one transaction) for the marks to match the rows.
    """
    priority = tuple(priority)
    if previous is not None and previous.priority == priority:
        total = _total(connection, priority)
        if total == previous.total:
            return previous
        marks = _marks(connection, priority)
        changed = [
            model_id for model_id, mark in marks.items() if previous.marks.get(model_id) != mark
        ]
        prices = {
            model_id: price for model_id, price in previous.prices.items() if model_id in marks
        }
        for model_id in changed:
            prices.pop(model_id, None)
        for start in range(0, len(changed), 500):
            prices.update(load_prices(connection, priority, changed[start : start + 500]))
    else:
        marks = _marks(connection, priority)
        prices = load_prices(connection, priority)
    count = sum(mark[0] for mark in marks.values())
    return PricesInForce(priority, prices, marks, (count, sum(mark[1] for mark in marks.values())))


def load_price(connection: Connection, model_id: str, priority: Sequence[str]) -> Price | None:
    """The price in force for one model, or ``None``."""
    return load_prices(connection, priority, [model_id]).get(model_id)


def add_litellm_prices(
    connection: Connection,
    prices: Mapping[str, tuple[Price, str]],
    *,
    source: str,
    now: dt.datetime | None = None,
) -> tuple[int, int]:
    """Store LiteLLM's prices for catalog models; returns (versions added, unchanged).

    The versions are stored as ``source="litellm"``, each recording where it came from as
    ``SOURCE#KEY``. Which entry prices which catalog model is decided by the caller
    (:func:`clearance.litellm_table.import_litellm` matches the names).

    Args:
        connection: in the caller's transaction.
        prices: catalog model id -> (its price, the LiteLLM key it was read under).
        source: the table's file or URL.
        now: the versions' ``effective_at``.
    """
    return add_price_versions(
        connection,
        ((model_id, price, f"{source}#{key}") for model_id, (price, key) in prices.items()),
        source="litellm",
        now=now,
    )
