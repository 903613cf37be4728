"""The snapshot's data and its JSON text (the format is described in the package docstring)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from clearance.catalog.pricestore import PriceVersion
from clearance.discovery import PricingStatus
from clearance.pricing import PriceRates

__all__ = [
    "FORMAT",
    "PRICE_SOURCES",
    "VERSION",
    "CatalogSnapshot",
    "ModelSnapshot",
    "ProviderSnapshot",
    "dumps_snapshot",
    "is_snapshot",
    "snapshot_document",
]

FORMAT: Final = "clearance-models"
"""The value of a snapshot's ``format`` key: how ``models sync --from`` recognizes one."""
VERSION = 1
"""The format version this clearance writes and reads."""
PRICE_SOURCES = ("litellm", "manual", "provider")
"""The price sources a snapshot may hold."""
RATES = ("prompt", "completion", "cache_read", "cache_write", "reasoning")
"""Per-token rates, written as ``{name}_per_token``."""
FEES = ("per_request", "per_image", "per_web_search")
"""Fees, written as ``{name}_usd``."""
AUDIT = ("reason", "set_by", "host")
"""Who set a manual price, where and why."""


@dataclass(frozen=True, slots=True)
class ModelSnapshot:
    """One model of a snapshot, with the newest price version of each source."""

    name: str
    """The provider's own model id."""
    display_name: str | None
    context_length: int | None
    max_completion_tokens: int | None
    capabilities: dict[str, Any]
    pricing_status: PricingStatus
    removed: bool
    """Gone from the provider's list when the snapshot was taken."""
    prices: tuple[PriceVersion, ...]
    """At most one per source, sorted by source."""
    source_metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The entry as the provider's list gave it."""


@dataclass(frozen=True, slots=True)
class ProviderSnapshot:
    """One provider's settings (its key variable's name, never a key) and its models."""

    name: str
    base_url: str | None
    api_key_env: str | None
    models_format: str
    models: tuple[ModelSnapshot, ...]
    """Sorted by name."""
    protocol: str = "openai"
    """The wire protocol it speaks: ``openai``, ``anthropic`` or ``gemini``."""


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    """A parsed or exported snapshot."""

    source: str
    """The file it was read from (or the catalog it was exported from)."""
    exported_at: dt.datetime
    providers: tuple[ProviderSnapshot, ...]
    """Sorted by name."""

    def renamed(self, name: str) -> CatalogSnapshot:
        """The snapshot of one provider under another name (``sync --from FILE --as NAME``)."""
        if len(self.providers) != 1:
            raise ValueError("only a snapshot of one provider can be renamed")
        (provider,) = self.providers
        models = tuple(
            dataclasses.replace(
                model,
                prices=tuple(
                    dataclasses.replace(
                        version,
                        price=dataclasses.replace(version.price, model_id=f"{name}:{model.name}"),
                    )
                    for version in model.prices
                ),
            )
            for model in provider.models
        )
        renamed = dataclasses.replace(provider, name=name, models=models)
        return dataclasses.replace(self, providers=(renamed,))


def is_snapshot(document: Any) -> bool:
    """Whether a decoded JSON document says it is a catalog snapshot."""
    return isinstance(document, Mapping) and document.get("format") == FORMAT


def _decimal(value: Decimal | None) -> str | None:
    """A decimal as plain digits (``0.00000015``, not ``1.5E-7``): exact and readable.

    Canonical too: trailing zeros go (``0.0000150`` and ``1.5E-5`` are both written
    ``0.000015``, zero is ``0``), so the same price exported from SQLite or PostgreSQL,
    or restored and exported again, gives the same bytes.
    """
    return None if value is None else format(value.normalize(), "f")


def _rates_document(rates: PriceRates) -> dict[str, str | None]:
    return {f"{name}_per_token": _decimal(getattr(rates, name)) for name in RATES}


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _price_document(version: PriceVersion) -> dict[str, Any]:
    price = version.price
    document: dict[str, Any] = {
        **_rates_document(price.rates),
        **{f"{fee}_usd": _decimal(getattr(price, fee)) for fee in FEES},
        "tiers": [
            {"min_prompt_tokens": tier.min_prompt_tokens, **_rates_document(tier.rates)}
            for tier in price.tiers
        ],
        "effective_at": _timestamp(version.effective_at),
    }
    if price.source == "manual":
        document.update({name: getattr(version, name) for name in AUDIT})
    return document


def _model_document(provider: str, model: ModelSnapshot) -> dict[str, Any]:
    """One model as it is written."""
    return {
        "id": f"{provider}:{model.name}",
        "name": model.name,
        "display_name": model.display_name,
        "context_length": model.context_length,
        "max_completion_tokens": model.max_completion_tokens,
        "capabilities": model.capabilities,
        "pricing_status": model.pricing_status,
        "removed": model.removed,
        "prices": {version.price.source: _price_document(version) for version in model.prices},
        "source_metadata": model.source_metadata,
    }


def snapshot_document(snapshot: CatalogSnapshot) -> dict[str, Any]:
    """The snapshot as a JSON-ready document (every money value a decimal string)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _timestamp(snapshot.exported_at),
        "providers": [
            {
                "name": provider.name,
                "base_url": provider.base_url,
                "api_key_env": provider.api_key_env,
                "models_format": provider.models_format,
                "protocol": provider.protocol,
                "models": [_model_document(provider.name, model) for model in provider.models],
            }
            for provider in snapshot.providers
        ],
    }


def dumps_snapshot(snapshot: CatalogSnapshot) -> str:
    """The snapshot as deterministic JSON text: sorted keys, two-space indent, final newline."""
    document = snapshot_document(snapshot)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
