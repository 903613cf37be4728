"""Org settings, session pins and fallback chains; and the policy state read from the catalog.

:func:`read_policy_state` is the one reader of everything the model policy decides on
(models and their gate and kill-switch state, orgs, pins, tiers, fallback chains, the
platform default): the router and the CLI both ask it, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.gatestore import GateCache, apply_gate
from clearance.catalog.modelstore import ModelRow, ProviderEntry, list_providers, model_rows
from clearance.catalog.policyrecords import ModelState, OrgPolicy, PolicySnapshot, SessionPin
from clearance.catalog.switchstore import killed_targets
from clearance.config import ClearanceConfig, Tier
from clearance.modelid import parse_model_id

__all__ = [
    "Canonical",
    "PolicyState",
    "fallback_chains",
    "get_org",
    "list_orgs",
    "load_policy_snapshot",
    "read_pins",
    "read_policy_state",
    "set_fallback_chain",
    "set_org",
    "write_pin",
]

_UNSET: Any = object()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _org_policy(row: Any) -> OrgPolicy:
    """An ``org_settings`` row as the resolver's :class:`OrgPolicy`."""
    enabled = row.enabled_models
    return OrgPolicy(
        org_id=row.org_id,
        enabled_models=None if enabled is None else tuple(enabled),
        default_model_id=row.default_model_id,
        legacy_model=row.legacy_model,
    )


def get_org(connection: Connection, org_id: str) -> OrgPolicy | None:
    """An org's settings, or ``None`` when the catalog has none."""
    row = connection.execute(
        select(t.org_settings).where(t.org_settings.c.org_id == org_id)
    ).first()
    return None if row is None else _org_policy(row)


def list_orgs(connection: Connection) -> list[OrgPolicy]:
    """Every org's settings, sorted by id."""
    rows = connection.execute(select(t.org_settings).order_by(t.org_settings.c.org_id))
    return [_org_policy(row) for row in rows]


def set_org(
    connection: Connection,
    org_id: str,
    *,
    enabled_models: Sequence[str] | None = _UNSET,
    default_model_id: str | None = _UNSET,
    legacy_model: str | None = _UNSET,
) -> OrgPolicy:
    """Create or change an org's settings; arguments left out keep their value."""
    values: dict[str, Any] = {"updated_at": _now()}
    if enabled_models is not _UNSET:
        values["enabled_models"] = None if enabled_models is None else list(enabled_models)
    if default_model_id is not _UNSET:
        values["default_model_id"] = default_model_id
    if legacy_model is not _UNSET:
        values["legacy_model"] = legacy_model
    if get_org(connection, org_id) is None:
        connection.execute(insert(t.org_settings).values(org_id=org_id, **values))
    else:
        connection.execute(
            update(t.org_settings).where(t.org_settings.c.org_id == org_id).values(**values)
        )
    org = get_org(connection, org_id)
    assert org is not None
    return org


def write_pin(connection: Connection, session_id: str, model_id: str, org_id: str | None) -> None:
    """Pin a session to a model (replacing any earlier pin)."""
    connection.execute(delete(t.session_pins).where(t.session_pins.c.session_id == session_id))
    connection.execute(
        insert(t.session_pins).values(
            session_id=session_id, org_id=org_id, model_id=model_id, pinned_at=_now()
        )
    )


def read_pins(connection: Connection, session_ids: Collection[str]) -> dict[str, SessionPin]:
    """The pins of these sessions (a session with none is left out)."""
    if not session_ids:
        return {}
    pins = t.session_pins
    return {
        row.session_id: SessionPin(row.session_id, row.model_id, row.org_id)
        for row in connection.execute(select(pins).where(pins.c.session_id.in_(session_ids)))
    }


def set_fallback_chain(connection: Connection, model_id: str, chain: Iterable[str]) -> None:
    """Replace a model's fallback chain (an empty chain removes it)."""
    connection.execute(delete(t.fallback_chains).where(t.fallback_chains.c.model_id == model_id))
    rows = [
        {"model_id": model_id, "position": position, "fallback_model_id": fallback}
        for position, fallback in enumerate(chain)
    ]
    if rows:
        connection.execute(insert(t.fallback_chains), rows)


class Canonical:
    """Turns ids written in configuration (bare names allowed) into catalog ids."""

    def __init__(self, ids: Iterable[str], providers: Iterable[str]) -> None:
        self.providers = frozenset(providers)
        self.ids = frozenset(ids)
        by_name: dict[str, list[str]] = {}
        for model_id in self.ids:
            by_name.setdefault(model_id.partition(":")[2], []).append(model_id)
        self.by_name = by_name

    def __call__(self, text: str) -> str:
        parsed = parse_model_id(text, self.providers)
        if parsed.provider is not None:
            return str(parsed)
        found = self.by_name.get(parsed.name, [])
        return found[0] if len(found) == 1 else text


@dataclass(frozen=True, slots=True)
class PolicyState:
    """The policy state at one read of the catalog, configured ids resolved against it.

    What the resolver decides on, and what a router needs besides to call the model it
    chose.
    """

    snapshot: PolicySnapshot
    """What :func:`~clearance.modelpolicy.resolve_model` decides on; ``orgs`` and ``pins``
    hold the orgs and sessions that were asked for."""
    models: Mapping[str, ModelRow]
    """Model id to its provider, name and context window: every catalog model, removed
    ones included, and the ad hoc ones given to the read."""
    providers: Mapping[str, ProviderEntry]
    """The catalog's providers by name."""
    canonical: Canonical
    """Turns a model id as written (a bare name allowed) into a catalog id, as the
    configured ones were."""


def read_policy_state(
    connection: Connection,
    config: ClearanceConfig,
    *,
    org_ids: Collection[str] | None = None,
    session_ids: Collection[str] = (),
    killed: tuple[Collection[str], Collection[str]] | None = None,
    adhoc_models: Iterable[ModelRow] = (),
    candidates: Collection[str] = (),
    gate_cache: GateCache | None = None,
) -> PolicyState:
    """Everything the model policy decides on, in one read of the catalog.

    Model ids written in configuration may be bare names; they are resolved against the
    catalog here (an unknown one stays as written, so the resolver reports it as
    ``unknown_model``).

    Args:
        connection: the catalog.
        config: the policy, gate and provider sections are read.
        org_ids: the orgs to read (``None``: every org).
        session_ids: the sessions whose pins to read.
        killed: the (models, providers) switched off, as a kill-switch guard caches them
            (default: the active switches read on ``connection``).
        adhoc_models: models a caller serves that the catalog lacks: enabled, not gated,
            still killable; a catalog model of the same id wins.
        candidates: models treated as enabled and allowed by the gate (an eval's
            candidates); kill switches and removal still apply.
        gate_cache: reuses the gate rows when ``gate_decisions`` has not changed.
    """
    killed_models, killed_providers = killed_targets(connection) if killed is None else killed
    rows = model_rows(connection)
    states = apply_gate(
        connection,
        {
            row.id: ModelState(
                model_id=row.id,
                enabled=row.enabled,
                removed=row.removed,
                killed=row.id in killed_models or row.provider in killed_providers,
            )
            for row in rows
        },
        require_decision=config.gate.require_decision,
        cache=gate_cache,
    )
    models = {row.id: row for row in rows}
    for row in adhoc_models:
        if row.id not in models:
            models[row.id] = row
            states[row.id] = ModelState(
                row.id,
                enabled=True,
                killed=row.id in killed_models or row.provider in killed_providers,
            )
    for model_id in states.keys() & candidates:
        # A candidate is evaluated precisely because the gate has not cleared it.
        states[model_id] = dataclasses.replace(
            states[model_id], enabled=True, gate_allows=True, gate_detail=None
        )
    providers = {entry.name: entry for entry in list_providers(connection)}
    canonical = Canonical(models, providers.keys() | config.provider_names)
    orgs: dict[str, OrgPolicy] = {}
    if org_ids is None or org_ids:
        query = select(t.org_settings)
        if org_ids is not None:
            query = query.where(t.org_settings.c.org_id.in_(org_ids))
        orgs = {row.org_id: _org_policy(row) for row in connection.execute(query)}
    fallbacks, tiers, platform_default = _configured_policy(
        config, canonical, fallback_chains(connection)
    )
    snapshot = PolicySnapshot(
        models=states,
        orgs=orgs,
        pins=read_pins(connection, session_ids),
        tiers=tiers,
        fallbacks=fallbacks,
        platform_default=platform_default,
        unknown_org=config.policy.unknown_org,
    )
    return PolicyState(snapshot, models, providers, canonical)


def load_policy_snapshot(
    connection: Connection,
    config: ClearanceConfig,
    *,
    org_ids: Iterable[str] = (),
    session_ids: Iterable[str] = (),
) -> PolicySnapshot:
    """The resolver's part of :func:`read_policy_state`, for the given orgs and sessions."""
    return read_policy_state(
        connection, config, org_ids=list(org_ids), session_ids=list(session_ids)
    ).snapshot


def _configured_policy(
    config: ClearanceConfig,
    canonical: Callable[[str], str],
    stored_chains: Mapping[str, tuple[str, ...]],
) -> tuple[dict[str, tuple[str, ...]], dict[Tier, str], str | None]:
    """Fallback chains, tiers and platform default, with configured ids made catalog ids.

    Chains stored in the catalog win over the configuration's for the same model.
    """
    policy = config.policy
    fallbacks = {
        canonical(model): tuple(canonical(m) for m in chain)
        for model, chain in policy.fallbacks.items()
    }
    fallbacks.update(stored_chains)
    tiers = {tier: canonical(model) for tier, model in policy.tiers.items()}
    default = None if policy.default_model is None else canonical(policy.default_model)
    return fallbacks, tiers, default


def fallback_chains(connection: Connection) -> Mapping[str, tuple[str, ...]]:
    """Every fallback chain stored in the catalog."""
    chains: dict[str, list[str]] = {}
    for row in connection.execute(
        select(t.fallback_chains).order_by(
            t.fallback_chains.c.model_id, t.fallback_chains.c.position
        )
    ):
        chains.setdefault(row.model_id, []).append(row.fallback_model_id)
    return {model: tuple(chain) for model, chain in chains.items()}
