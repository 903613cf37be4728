"""Org settings, session pins and fallback chains; and the policy snapshot built from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.gatestore import GateCache, apply_gate
from clearance.catalog.policyrecords import ModelState, OrgPolicy, PolicySnapshot, SessionPin
from clearance.config import ClearanceConfig, Tier
from clearance.modelid import parse_model_id

__all__ = [
    "Canonical",
    "configured_policy",
    "fallback_chains",
    "get_org",
    "list_orgs",
    "load_policy_snapshot",
    "model_states",
    "org_policy",
    "set_fallback_chain",
    "set_org",
    "write_pin",
]

_UNSET: Any = object()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def org_policy(row: Any) -> OrgPolicy:
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
    return None if row is None else org_policy(row)


def list_orgs(connection: Connection) -> list[OrgPolicy]:
    """Every org's settings, sorted by id."""
    rows = connection.execute(select(t.org_settings).order_by(t.org_settings.c.org_id))
    return [org_policy(row) for row in rows]


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


def configured_policy(
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


def model_states(
    connection: Connection,
    rows: Iterable[Any],
    killed_models: Collection[str],
    killed_providers: Collection[str],
    *,
    require_decision: bool,
    cache: GateCache | None = None,
) -> dict[str, ModelState]:
    """Each catalog model's state for the resolver, the gate's decisions applied.

    ``rows`` carry ``id``, ``provider``, ``enabled`` and ``removed_at`` of ``models``.
    """
    return apply_gate(
        connection,
        {
            row.id: ModelState(
                model_id=row.id,
                enabled=bool(row.enabled),
                removed=row.removed_at is not None,
                killed=row.id in killed_models or row.provider in killed_providers,
            )
            for row in rows
        },
        require_decision=require_decision,
        cache=cache,
    )


def load_policy_snapshot(
    connection: Connection,
    config: ClearanceConfig,
    *,
    org_ids: Iterable[str] = (),
    session_ids: Iterable[str] = (),
) -> PolicySnapshot:
    """The state the policy resolver needs, for the given orgs and sessions.

    Model ids written in configuration may be bare names; they are resolved
    against the catalog here (an unknown one stays as written, so the resolver
    reports it as ``unknown_model``).
    """
    killed_models: set[str] = set()
    killed_providers: set[str] = set()
    for scope, target in connection.execute(
        select(t.kill_switches.c.scope, t.kill_switches.c.target).where(
            t.kill_switches.c.active.is_(True), t.kill_switches.c.scope.in_(["model", "provider"])
        )
    ):
        (killed_models if scope == "model" else killed_providers).add(target)
    rows = connection.execute(
        select(t.models.c.id, t.models.c.provider, t.models.c.enabled, t.models.c.removed_at)
    ).all()
    models = model_states(
        connection,
        rows,
        killed_models,
        killed_providers,
        require_decision=config.gate.require_decision,
    )
    providers = set(config.provider_names) | {row.provider for row in rows}
    canonical = Canonical(models, providers)
    orgs: dict[str, OrgPolicy] = {}
    org_list = list(org_ids)
    if org_list:
        for row in connection.execute(
            select(t.org_settings).where(t.org_settings.c.org_id.in_(org_list))
        ):
            orgs[row.org_id] = org_policy(row)
    pins: dict[str, SessionPin] = {}
    session_list = list(session_ids)
    if session_list:
        for row in connection.execute(
            select(t.session_pins).where(t.session_pins.c.session_id.in_(session_list))
        ):
            pins[row.session_id] = SessionPin(row.session_id, row.model_id, row.org_id)
    fallbacks, tiers, platform_default = configured_policy(
        config, canonical, fallback_chains(connection)
    )
    return PolicySnapshot(
        models=models,
        orgs=orgs,
        pins=pins,
        tiers=tiers,
        fallbacks=fallbacks,
        platform_default=platform_default,
        unknown_org=config.policy.unknown_org,
    )


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
