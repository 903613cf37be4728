"""Moving a snapshot out of the catalog and back into it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Connection

from clearance.catalog.modelstore import (
    SyncReport,
    ensure_provider,
    list_models,
    list_providers,
    source_metadata,
    sync_models,
)
from clearance.catalog.pricestore import latest_versions, store_price_versions
from clearance.catalog_snapshot.document import (
    FORMAT,
    CatalogSnapshot,
    ModelSnapshot,
    ProviderSnapshot,
)
from clearance.discovery import DiscoveredModel, ModelList, PricingStatus

__all__ = ["export_snapshot", "restore_snapshot"]


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
                entry.protocol,
            )
        )
    return CatalogSnapshot(source="catalog", exported_at=exported_at, providers=tuple(out))


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
            protocol=provider.protocol,
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
