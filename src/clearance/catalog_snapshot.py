"""A catalog snapshot: providers, models and their prices in one JSON file a team commits.

``clearance models export`` writes it and ``clearance models sync --from FILE``
restores it, so a CI run whose catalog is fresh gates the same models at the same
prices. Format version 1::

    {
      "format": "clearance-models",
      "version": 1,
      "exported_at": "2026-12-09T10:00:00+00:00",
      "providers": [
        {
          "name": "vllm",
          "base_url": "http://gpu-1:8000/v1",
          "api_key_env": "VLLM_API_KEY",
          "models_format": "openai",
          "models": [
            {
              "id": "vllm:llama3",
              "name": "llama3",
              "display_name": null,
              "context_length": 8192,
              "max_completion_tokens": null,
              "capabilities": {"tools": null, "...": "..."},
              "pricing_status": "unknown",
              "removed": false,
              "source_metadata": {"id": "llama3", "object": "model", "owned_by": "vllm"},
              "prices": {
                "manual": {
                  "prompt_per_token": "0.0000002",
                  "completion_per_token": "0.0000006",
                  "cache_read_per_token": null,
                  "cache_write_per_token": null,
                  "reasoning_per_token": null,
                  "per_request_usd": "0",
                  "per_image_usd": "0",
                  "per_web_search_usd": "0",
                  "tiers": [],
                  "effective_at": "2026-12-01T09:00:00+00:00",
                  "reason": "our GPU cost",
                  "set_by": "alice",
                  "host": "laptop-7"
                }
              }
            }
          ]
        }
      ]
    }

``source_metadata`` is the entry as the provider's list gave it (the report reads
it: a reference-simulator model is marked as one). Rates are USD per token and
fees USD, always exact decimal strings. ``prices``
holds, per price source (``provider``, ``litellm``, ``manual``), the newest
version; only ``manual`` ones carry ``reason``, ``set_by`` and ``host``.
``api_key_env`` is a variable's name: a key never enters a snapshot. Keys are
sorted and so are providers and models, so a re-export diffs cleanly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, cast, get_args

from sqlalchemy import Connection

from clearance.catalog.modelstore import (
    SyncReport,
    ensure_provider,
    list_models,
    list_providers,
    source_metadata,
    sync_models,
)
from clearance.catalog.pricestore import PriceVersion, latest_versions, store_price_versions
from clearance.discovery import DiscoveredModel, ModelList, PricingStatus, parse_decimal
from clearance.errors import SourceFormatError
from clearance.modelid import is_valid_provider_name
from clearance.pricing import Price, PriceRates, PriceTier

__all__ = [
    "FORMAT",
    "PRICE_SOURCES",
    "VERSION",
    "CatalogSnapshot",
    "ModelSnapshot",
    "ProviderSnapshot",
    "dumps_snapshot",
    "export_snapshot",
    "is_snapshot",
    "parse_snapshot",
    "restore_snapshot",
    "snapshot_document",
]

FORMAT: Final = "clearance-models"
"""The value of a snapshot's ``format`` key: how ``models sync --from`` recognizes one."""
VERSION = 1
"""The format version this clearance writes and reads."""
PRICE_SOURCES = ("litellm", "manual", "provider")
"""The price sources a snapshot may hold."""

_MODELS_FORMATS = ("auto", "openai", "openrouter")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RATES = ("prompt", "completion", "cache_read", "cache_write", "reasoning")
_FEES = ("per_request", "per_image", "per_web_search")
_AUDIT = ("reason", "set_by", "host")
_FIX = (
    "correct the value, or export the snapshot again with `clearance models export`; "
    "nothing was changed in the catalog"
)


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


# --- writing ----------------------------------------------------------------------------


def _decimal(value: Decimal | None) -> str | None:
    """A decimal as plain digits (``0.00000015``, not ``1.5E-7``): exact and readable."""
    return None if value is None else format(value, "f")


def _rates_document(rates: PriceRates) -> dict[str, str | None]:
    return {f"{name}_per_token": _decimal(getattr(rates, name)) for name in _RATES}


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _price_document(version: PriceVersion) -> dict[str, Any]:
    price = version.price
    document: dict[str, Any] = {
        **_rates_document(price.rates),
        **{f"{fee}_usd": _decimal(getattr(price, fee)) for fee in _FEES},
        "tiers": [
            {"min_prompt_tokens": tier.min_prompt_tokens, **_rates_document(tier.rates)}
            for tier in price.tiers
        ],
        "effective_at": _timestamp(version.effective_at),
    }
    if price.source == "manual":
        document.update({name: getattr(version, name) for name in _AUDIT})
    return document


def _model_document(provider: str, model: ModelSnapshot) -> dict[str, Any]:
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
                "models": [_model_document(provider.name, model) for model in provider.models],
            }
            for provider in snapshot.providers
        ],
    }


def dumps_snapshot(snapshot: CatalogSnapshot) -> str:
    """The snapshot as deterministic JSON text: sorted keys, two-space indent, final newline."""
    document = snapshot_document(snapshot)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_snapshot(
    connection: Connection,
    *,
    providers: Sequence[str] | None = None,
    include_removed: bool = False,
    now: dt.datetime | None = None,
) -> CatalogSnapshot:
    """Read the catalog's providers (all, or ``providers``), their models and prices."""
    exported_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    versions = latest_versions(connection)
    out: list[ProviderSnapshot] = []
    for entry in list_providers(connection, providers):
        metadata = source_metadata(connection, entry.name)
        models = [
            ModelSnapshot(
                name=model.name,
                display_name=model.display_name,
                context_length=model.context_length,
                max_completion_tokens=model.max_completion_tokens,
                capabilities=model.capabilities,
                pricing_status=cast(PricingStatus, model.pricing_status),
                removed=model.removed_at is not None,
                prices=tuple(v for _, v in sorted(versions.get(model.id, {}).items())),
                source_metadata=metadata.get(model.id, {}),
            )
            for model in list_models(
                connection, provider=entry.name, include_removed=include_removed
            )
        ]
        out.append(
            ProviderSnapshot(
                entry.name,
                entry.base_url,
                entry.api_key_env,
                entry.models_format,
                tuple(sorted(models, key=lambda m: m.name)),
            )
        )
    return CatalogSnapshot(source="catalog", exported_at=exported_at, providers=tuple(out))


# --- restoring --------------------------------------------------------------------------


def restore_snapshot(
    connection: Connection,
    snapshot: CatalogSnapshot,
    *,
    enable_new: bool,
    now: dt.datetime | None = None,
) -> list[SyncReport]:
    """Write a snapshot into the catalog, in the caller's transaction; one report per provider.

    Each provider's settings are restored as they are in the snapshot. Its models are
    synced as from a model list (new ones enabled only when ``enable_new``; the
    provider's models missing from the snapshot are marked removed; those the
    snapshot lists as removed are stored removed). Each price version becomes the
    newest of its source unless that source's newest version already charges the
    same (then nothing is added). Price sources the snapshot does not hold for a
    model are left as they are.
    """
    now = now or dt.datetime.now(dt.UTC)
    reports: list[SyncReport] = []
    for provider in snapshot.providers:
        ensure_provider(
            connection,
            provider.name,
            base_url=provider.base_url,
            api_key_env=provider.api_key_env,
            models_format=provider.models_format,
            now=now,
            replace=True,
        )
        model_list = ModelList(
            source=snapshot.source,
            format=FORMAT,
            models=tuple(_discovered(model) for model in provider.models),
        )
        removed = {model.name for model in provider.models if model.removed}
        report = sync_models(
            connection, provider.name, model_list, enable_new=enable_new, now=now, removed=removed
        )
        added, report.prices_unchanged = store_price_versions(
            connection, [version for model in provider.models for version in model.prices], now=now
        )
        report.prices_added = len(added)
        report.unpriced = [
            f"{provider.name}:{model.name}"
            for model in provider.models
            if not model.prices and model.pricing_status != "dynamic"
        ]
        reports.append(report)
    return reports


def _discovered(model: ModelSnapshot) -> DiscoveredModel:
    """A snapshot model as a model-list entry; its prices are stored apart, with their dates."""
    return DiscoveredModel(
        name=model.name,
        display_name=model.display_name,
        context_length=model.context_length,
        max_completion_tokens=model.max_completion_tokens,
        capabilities=model.capabilities,
        price=None,
        pricing_status=model.pricing_status,
        pricing_note=None,
        raw=model.source_metadata,
    )


# --- reading ----------------------------------------------------------------------------


def is_snapshot(document: Any) -> bool:
    """Whether a decoded JSON document says it is a catalog snapshot."""
    return isinstance(document, Mapping) and document.get("format") == FORMAT


class _Reader:
    """Checks one decoded snapshot; every error names the file and the JSON pointer."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str, pointer: str, fix: str = _FIX) -> SourceFormatError:
        return SourceFormatError(message, source=self.source, pointer=pointer, fix=fix)

    def mapping(
        self, value: Any, pointer: str, *, required: Sequence[str], optional: Sequence[str] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(f"expected an object, found {_kind(value)}", pointer)
        known = [*required, *optional]
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.error(f"unknown key {key!r}{hint}", f"{pointer}/{_escape(str(key))}")
        for key in required:
            if key not in value:
                raise self.error(f"missing key {key!r}", pointer)
        return value

    def text(
        self, value: Any, pointer: str, *, optional: bool = False, clean: bool = False
    ) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or (clean and (not value or value != value.strip())):
            wanted = "a non-empty string without surrounding space" if clean else "a string"
            raise self.error(f"expected {wanted}{' or null' if optional else ''}", pointer)
        return value

    def count(self, value: Any, pointer: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(f"expected a non-negative integer or null, found {value!r}", pointer)
        return value

    def choice(self, value: Any, pointer: str, choices: Sequence[str]) -> str:
        if value not in choices:
            raise self.error(f"{value!r} is not one of {', '.join(choices)}", pointer)
        return str(value)

    def amount(self, value: Any, pointer: str, *, optional: bool = False) -> Decimal | None:
        if value is None and optional:
            return None
        try:
            number = parse_decimal(value, source=self.source, pointer=pointer)
        except SourceFormatError as error:
            raise self.error(
                error.message.removeprefix(f"{self.source} at {pointer}: "),
                pointer,
                fix='write the amount as a decimal string, like "0.0000025" (USD); '
                "nothing was changed in the catalog",
            ) from None
        if number < 0:
            raise self.error(f"{value!r} is negative; a price is a USD amount >= 0", pointer)
        return number

    def timestamp(self, value: Any, pointer: str) -> dt.datetime:
        try:
            parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise self.error(
                f"{value!r} is not an ISO 8601 time with a UTC offset",
                pointer,
                fix="write it like 2026-12-01T09:00:00+00:00",
            )
        return parsed.astimezone(dt.UTC)

    def rates(self, value: Mapping[str, Any], pointer: str) -> PriceRates:
        prompt, completion, *others = (
            self.amount(
                value.get(f"{name}_per_token"),
                f"{pointer}/{name}_per_token",
                optional=name not in ("prompt", "completion"),
            )
            for name in _RATES
        )
        assert prompt is not None
        assert completion is not None
        return PriceRates(prompt, completion, *others)

    def price(self, value: Any, pointer: str, model_id: str, source: str) -> PriceVersion:
        rate_keys = [f"{name}_per_token" for name in _RATES]
        document = self.mapping(
            value,
            pointer,
            required=[*rate_keys[:2], "effective_at"],
            optional=[*rate_keys[2:], *(f"{fee}_usd" for fee in _FEES), "tiers", *_AUDIT],
        )
        fees = {
            fee: self.amount(document.get(f"{fee}_usd", "0"), f"{pointer}/{fee}_usd")
            for fee in _FEES
        }
        tiers_value = document.get("tiers", [])
        if not isinstance(tiers_value, list):
            raise self.error(f"expected a list, found {_kind(tiers_value)}", f"{pointer}/tiers")
        tiers: list[PriceTier] = []
        for index, tier_value in enumerate(tiers_value):
            where = f"{pointer}/tiers/{index}"
            tier = self.mapping(
                tier_value,
                where,
                required=["min_prompt_tokens", *rate_keys[:2]],
                optional=rate_keys[2:],
            )
            minimum = self.count(tier["min_prompt_tokens"], f"{where}/min_prompt_tokens")
            if minimum is None:
                raise self.error("expected a non-negative integer", f"{where}/min_prompt_tokens")
            tiers.append(PriceTier(minimum, self.rates(tier, where)))
        audit = {
            name: self.text(document.get(name), f"{pointer}/{name}", optional=True)
            for name in _AUDIT
        }
        return PriceVersion(
            price=Price(
                model_id=model_id,
                rates=self.rates(document, pointer),
                source=source,
                per_request=fees["per_request"] or Decimal(0),
                per_image=fees["per_image"] or Decimal(0),
                per_web_search=fees["per_web_search"] or Decimal(0),
                tiers=tuple(tiers),
            ),
            effective_at=self.timestamp(document["effective_at"], f"{pointer}/effective_at"),
            source_detail=self.source,
            **audit,
        )

    def model(self, value: Any, pointer: str, provider: str) -> ModelSnapshot:
        document = self.mapping(
            value,
            pointer,
            required=["name", "pricing_status", "removed"],
            optional=[
                "id",
                "display_name",
                "context_length",
                "max_completion_tokens",
                "capabilities",
                "prices",
                "source_metadata",
            ],
        )
        name = self.text(document["name"], f"{pointer}/name", clean=True)
        assert name is not None
        model_id = f"{provider}:{name}"
        if "id" in document and document["id"] != model_id:
            raise self.error(
                f"id {document['id']!r} does not match provider {provider!r} and name {name!r}",
                f"{pointer}/id",
                fix=f"write {model_id!r}, or leave the id out",
            )
        capabilities = document.get("capabilities", {})
        if not isinstance(capabilities, Mapping):
            raise self.error(
                f"expected an object, found {_kind(capabilities)}", f"{pointer}/capabilities"
            )
        metadata = document.get("source_metadata", {})
        if not isinstance(metadata, Mapping):
            raise self.error(
                f"expected an object, found {_kind(metadata)}", f"{pointer}/source_metadata"
            )
        removed = document["removed"]
        if not isinstance(removed, bool):
            raise self.error(f"expected true or false, found {removed!r}", f"{pointer}/removed")
        prices = self.mapping(
            document.get("prices", {}), f"{pointer}/prices", required=(), optional=PRICE_SOURCES
        )
        status = self.choice(
            document["pricing_status"], f"{pointer}/pricing_status", get_args(PricingStatus)
        )
        return ModelSnapshot(
            name=name,
            display_name=self.text(
                document.get("display_name"), f"{pointer}/display_name", optional=True
            ),
            context_length=self.count(document.get("context_length"), f"{pointer}/context_length"),
            max_completion_tokens=self.count(
                document.get("max_completion_tokens"), f"{pointer}/max_completion_tokens"
            ),
            capabilities=_jsonable(capabilities),
            pricing_status=cast(PricingStatus, status),
            removed=removed,
            prices=tuple(
                self.price(prices[source], f"{pointer}/prices/{source}", model_id, source)
                for source in sorted(prices)
            ),
            source_metadata=_jsonable(metadata),
        )

    def provider(self, value: Any, pointer: str) -> ProviderSnapshot:
        document = self.mapping(
            value,
            pointer,
            required=["name", "models"],
            optional=["base_url", "api_key_env", "models_format"],
        )
        name = document["name"]
        if not isinstance(name, str) or not is_valid_provider_name(name):
            raise self.error(
                f"provider name {name!r} is not valid",
                f"{pointer}/name",
                fix="use lower case letters, digits and _.- (at most 63 characters)",
            )
        api_key_env = document.get("api_key_env")
        if api_key_env is not None and (
            not isinstance(api_key_env, str) or not _ENV_NAME.match(api_key_env)
        ):
            # the value itself is not repeated: it may be a key written by mistake
            raise self.error(
                "api_key_env is not the name of an environment variable",
                f"{pointer}/api_key_env",
                fix="write the variable's NAME (letters, digits, _), never the key itself",
            )
        models_value = document["models"]
        if not isinstance(models_value, list):
            raise self.error(f"expected a list, found {_kind(models_value)}", f"{pointer}/models")
        models = [
            self.model(entry, f"{pointer}/models/{index}", name)
            for index, entry in enumerate(models_value)
        ]
        _no_duplicates([m.name for m in models], self, f"{pointer}/models", "/name")
        return ProviderSnapshot(
            name=name,
            base_url=self.text(document.get("base_url"), f"{pointer}/base_url", optional=True),
            api_key_env=api_key_env,
            models_format=self.choice(
                document.get("models_format", "auto"),
                f"{pointer}/models_format",
                _MODELS_FORMATS,
            ),
            models=tuple(sorted(models, key=lambda m: m.name)),
        )


def parse_snapshot(document: Any, *, source: str) -> CatalogSnapshot:
    """Check a decoded snapshot (numbers decoded as :class:`Decimal`) and read it.

    Raises:
        SourceFormatError: not a snapshot, a newer version, or a bad value; names the
            file, the JSON pointer and the fix.
    """
    reader = _Reader(source)
    top = reader.mapping(
        document, "", required=["format", "version", "providers"], optional=["exported_at"]
    )
    if top["format"] != FORMAT:
        raise reader.error(f"format {top['format']!r} is not {FORMAT!r}", "/format")
    version = top["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise reader.error(f"expected an integer version, found {version!r}", "/version")
    if version != VERSION:
        raise reader.error(
            f"format version {version} is not the version {VERSION} this clearance reads",
            "/version",
            fix="upgrade clearance (pip install -U clearance)"
            if version > VERSION
            else "export the snapshot again with `clearance models export`",
        )
    exported_at = (
        reader.timestamp(top["exported_at"], "/exported_at")
        if "exported_at" in top
        else dt.datetime.fromtimestamp(0, dt.UTC)
    )
    providers_value = top["providers"]
    if not isinstance(providers_value, list):
        raise reader.error(f"expected a list, found {_kind(providers_value)}", "/providers")
    providers = [
        reader.provider(entry, f"/providers/{index}") for index, entry in enumerate(providers_value)
    ]
    _no_duplicates([p.name for p in providers], reader, "/providers", "/name")
    return CatalogSnapshot(
        source=source,
        exported_at=exported_at,
        providers=tuple(sorted(providers, key=lambda p: p.name)),
    )


def _no_duplicates(names: Sequence[str], reader: _Reader, pointer: str, key: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise reader.error(f"{name!r} appears twice", f"{pointer}/{index}{key}")
        seen.add(name)


def _escape(key: str) -> str:
    """A key as a JSON pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _jsonable(value: Any) -> Any:
    """A decoded JSON value with Decimals back as strings (for a JSON column)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
