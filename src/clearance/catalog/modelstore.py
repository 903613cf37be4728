"""Providers and models in the catalog: sync from a model list, list, look up, enable."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.modellist import DiscoveredModel, ModelList
from clearance.catalog.pricestore import add_price_versions
from clearance.errors import UnknownModel
from clearance.modelid import parse_model_id

__all__ = [
    "ModelEntry",
    "ModelRow",
    "ProviderEntry",
    "SyncReport",
    "ensure_provider",
    "get_model",
    "list_models",
    "list_providers",
    "model_rows",
    "resolve_model_id",
    "set_enabled",
    "source_metadata",
    "sync_models",
]


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A model as the catalog holds it."""

    id: str
    provider: str
    name: str
    display_name: str | None
    context_length: int | None
    max_completion_tokens: int | None
    capabilities: dict[str, Any]
    enabled: bool
    gate_status: str
    pricing_status: str
    discovered_at: dt.datetime
    last_seen_at: dt.datetime
    removed_at: dt.datetime | None

    @property
    def supports_tools(self) -> bool | None:
        """Whether the provider says it accepts ``tools`` (``None``: it does not say)."""
        value = self.capabilities.get("tools")
        return None if value is None else bool(value)


class ModelRow(NamedTuple):
    """The few columns of a model that routing reads (a :class:`ModelEntry` without the
    metadata).

    A named tuple, as the row it is: a router reads one per model every
    ``policy_cache_ttl_s``, and a tuple is built at a fraction of a frozen dataclass's cost.
    """

    id: str
    provider: str
    name: str
    """The provider's own name for the model (what is sent)."""
    enabled: bool
    """The platform flag as stored (the gate's effective decision is applied elsewhere)."""
    removed: bool
    """Gone from the provider's model list."""
    context_length: int | None


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """A provider as the catalog holds it (its key variable's name, never a key)."""

    name: str
    base_url: str | None
    api_key_env: str | None
    models_format: str
    protocol: str = "openai"
    """The wire protocol it speaks: ``openai``, ``anthropic`` or ``gemini`` (the column
    holds text; :func:`clearance.providers.factory.make_provider` refuses another)."""


@dataclass(slots=True)
class SyncReport:
    """What a sync changed."""

    provider: str
    source: str
    format: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    prices_added: int = 0
    prices_unchanged: int = 0
    dynamic: list[str] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    enabled_new: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts and lists."""
        return {
            "provider": self.provider,
            "source": self.source,
            "format": self.format,
            "added": len(self.added),
            "updated": len(self.updated),
            "removed": self.removed,
            "prices_added": self.prices_added,
            "prices_unchanged": self.prices_unchanged,
            "dynamic_pricing": self.dynamic,
            "unpriced": len(self.unpriced),
            "new_models_enabled": self.enabled_new,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ensure_provider(
    connection: Connection,
    name: str,
    *,
    base_url: str | None = None,
    api_key_env: str | None = None,
    models_format: str = "auto",
    protocol: str = "openai",
    now: dt.datetime | None = None,
    replace: bool = False,
) -> None:
    """Create the provider row, or refresh its URL, key variable name and protocol.

    An existing row keeps its settings when ``base_url`` is ``None``, unless
    ``replace`` (a snapshot restores the settings exactly, a missing URL included).
    """
    row = connection.execute(select(t.providers.c.name).where(t.providers.c.name == name)).first()
    values = {
        "base_url": base_url,
        "api_key_env": api_key_env,
        "models_format": models_format,
        "protocol": protocol,
    }
    if row is None:
        connection.execute(
            insert(t.providers).values(name=name, created_at=now or _now(), **values)
        )
    elif base_url is not None or replace:
        connection.execute(update(t.providers).where(t.providers.c.name == name).values(**values))


def list_providers(
    connection: Connection, names: Sequence[str] | None = None
) -> list[ProviderEntry]:
    """The catalog's providers (all, or ``names``), sorted by name."""
    p = t.providers.c
    query = select(p.name, p.base_url, p.api_key_env, p.models_format, p.protocol)
    query = query.order_by(p.name)
    if names is not None:
        query = query.where(p.name.in_(list(names)))
    return [
        ProviderEntry(row.name, row.base_url, row.api_key_env, row.models_format, row.protocol)
        for row in connection.execute(query)
    ]


def _model_values(model: DiscoveredModel) -> dict[str, Any]:
    return {
        "display_name": model.display_name,
        "context_length": model.context_length,
        "max_completion_tokens": model.max_completion_tokens,
        "capabilities": model.capabilities,
        "pricing_status": model.pricing_status,
        "source_metadata": model.raw,
    }


def sync_models(
    connection: Connection,
    provider: str,
    model_list: ModelList,
    *,
    enable_new: bool,
    now: dt.datetime | None = None,
    removed: Collection[str] = frozenset(),
) -> SyncReport:
    """Write a parsed model list into the catalog, in the caller's transaction.

    New models are added (enabled only when ``enable_new``); known ones get
    fresh metadata and keep their enabled flag; models missing from the list
    are marked removed, and so are the listed ones named in ``removed`` (a
    snapshot lists removed models too). A price that differs from the latest
    stored one of the same source becomes a new version; an equal one is only
    confirmed.
    """
    now = now or _now()
    report = SyncReport(provider, model_list.source, model_list.format, enabled_new=enable_new)
    connection.execute(
        update(t.providers)
        .where(t.providers.c.name == provider)
        .values(last_synced_at=now, last_sync_source=model_list.source)
    )
    existing = {
        row.name: row
        for row in connection.execute(
            select(t.models.c.id, t.models.c.name, t.models.c.removed_at).where(
                t.models.c.provider == provider
            )
        )
    }
    new_rows: list[dict[str, Any]] = []
    for model in model_list.models:
        model_id = f"{provider}:{model.name}"
        values = _model_values(model)
        row = existing.get(model.name)
        listed_removed = model.name in removed
        if listed_removed:  # listed as removed: fresh metadata, still (or from now on) removed
            values["removed_at"] = (row.removed_at if row is not None else None) or now
        else:
            values.update(last_seen_at=now, removed_at=None)
        if row is not None:
            connection.execute(update(t.models).where(t.models.c.id == model_id).values(**values))
            newly_removed = listed_removed and row.removed_at is None
            (report.removed if newly_removed else report.updated).append(model_id)
        else:
            new_rows.append(
                {
                    "id": model_id,
                    "provider": provider,
                    "name": model.name,
                    "enabled": enable_new,
                    "gate_status": "ungated",
                    "discovered_at": now,
                    "last_seen_at": now,
                    **values,
                }
            )
            report.added.append(model_id)
        if model.pricing_status == "dynamic":
            report.dynamic.append(model_id)
        elif model.price is None:
            report.unpriced.append(model_id)
    if new_rows:
        connection.execute(insert(t.models), new_rows)
    seen = {model.name for model in model_list.models}
    gone = [row.id for name, row in existing.items() if name not in seen and row.removed_at is None]
    if gone:
        connection.execute(update(t.models).where(t.models.c.id.in_(gone)).values(removed_at=now))
        report.removed.extend(gone)
    priced = [
        (f"{provider}:{m.name}", m.price, model_list.source)
        for m in model_list.models
        if m.price is not None
    ]
    report.prices_added, report.prices_unchanged = add_price_versions(
        connection, priced, source="provider", now=now
    )
    return report


def _entry(row: Any) -> ModelEntry:
    return ModelEntry(
        id=row.id,
        provider=row.provider,
        name=row.name,
        display_name=row.display_name,
        context_length=row.context_length,
        max_completion_tokens=row.max_completion_tokens,
        capabilities=dict(row.capabilities or {}),
        enabled=bool(row.enabled),
        gate_status=row.gate_status,
        pricing_status=row.pricing_status,
        discovered_at=row.discovered_at,
        last_seen_at=row.last_seen_at,
        removed_at=row.removed_at,
    )


_ENTRY_COLUMNS = [
    t.models.c[name]
    for name in [
        "id",
        "provider",
        "name",
        "display_name",
        "context_length",
        "max_completion_tokens",
        "capabilities",
        "enabled",
        "gate_status",
        "pricing_status",
        "discovered_at",
        "last_seen_at",
        "removed_at",
    ]
]


def list_models(
    connection: Connection,
    *,
    provider: str | None = None,
    enabled: bool | None = None,
    include_removed: bool = True,
) -> list[ModelEntry]:
    """The catalog's models, sorted by id."""
    query = select(*_ENTRY_COLUMNS).order_by(t.models.c.id)
    if provider is not None:
        query = query.where(t.models.c.provider == provider)
    if enabled is not None:
        query = query.where(t.models.c.enabled == enabled)
    if not include_removed:
        query = query.where(t.models.c.removed_at.is_(None))
    return [_entry(row) for row in connection.execute(query)]


_ROWS = select(
    t.models.c.id,
    t.models.c.provider,
    t.models.c.name,
    t.models.c.enabled,
    t.models.c.removed_at.is_not(None).label("removed"),
    t.models.c.context_length,
)


def model_rows(connection: Connection) -> list[ModelRow]:
    """Every catalog model's routing columns, removed ones included, in no set order."""
    return [ModelRow._make(row) for row in connection.execute(_ROWS)]


def source_metadata(connection: Connection, provider: str) -> dict[str, dict[str, Any]]:
    """model id -> the entry as its provider's list gave it (``{}`` when none was kept)."""
    rows = connection.execute(
        select(t.models.c.id, t.models.c.source_metadata).where(t.models.c.provider == provider)
    )
    return {row.id: dict(row.source_metadata or {}) for row in rows}


def resolve_model_id(connection: Connection, text: str, providers: Iterable[str] = ()) -> str:
    """The catalog id for ``PROVIDER:NAME`` or a bare ``NAME`` unique in the catalog.

    Raises:
        InvalidModelId: the text does not parse.
        UnknownModel: no such model, or a bare name several providers serve.
    """
    known = set(providers) | set(connection.execute(select(t.providers.c.name)).scalars().all())
    parsed = parse_model_id(text, known)
    if parsed.provider is not None:
        model_id = str(parsed)
        found = connection.execute(select(t.models.c.id).where(t.models.c.id == model_id)).scalar()
        if found is None:
            raise UnknownModel(model_id, _close(connection, model_id))
        return model_id
    ids = connection.execute(select(t.models.c.id).where(t.models.c.name == parsed.name)).scalars()
    matches: list[str] = sorted(ids)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UnknownModel(text, matches, ambiguous=True)
    raise UnknownModel(text, _close(connection, text))


def _close(connection: Connection, text: str) -> Sequence[str]:
    ids = connection.execute(select(t.models.c.id)).scalars().all()
    names = {i.partition(":")[2]: i for i in ids}
    close = difflib.get_close_matches(text, ids, n=3, cutoff=0.6)
    close += [names[n] for n in difflib.get_close_matches(text, list(names), n=3, cutoff=0.6)]
    return list(dict.fromkeys(close))[:3]


def get_model(connection: Connection, model_id: str) -> ModelEntry:
    """One model by catalog id.

    Raises:
        UnknownModel: not in the catalog.
    """
    row = connection.execute(select(*_ENTRY_COLUMNS).where(t.models.c.id == model_id)).first()
    if row is None:
        raise UnknownModel(model_id, _close(connection, model_id))
    return _entry(row)


def set_enabled(connection: Connection, model_id: str, enabled: bool) -> bool:
    """Set a model's platform-enabled flag; returns the previous value.

    Raises:
        UnknownModel: not in the catalog.
    """
    previous = get_model(connection, model_id).enabled
    connection.execute(update(t.models).where(t.models.c.id == model_id).values(enabled=enabled))
    return previous
