"""The catalog state a router routes on: one read of the catalog, reused until stale.

:func:`read_state` reads it: the policy part is one
:func:`~clearance.catalog.orgstore.read_policy_state` (the same read the CLI decides on),
plus the prices and the providers (address, key variable, wire protocol).
:class:`RouterState` holds it and answers the two questions every call asks, memoized
for as long as it lives: the catalog id of a requested model
(:meth:`RouterState.catalog_id`) and the policy's decision (:meth:`RouterState.decide`),
for which a session's pin is read when first needed.

When the state is re-read, and what happens when the catalog cannot be read, is the
router's (:meth:`clearance.router.Router.state`); so is storing a session's pin after
the call it pinned was served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import GateCache
from clearance.catalog.modelstore import ModelRow, ProviderEntry
from clearance.catalog.orgstore import read_pins, read_policy_state
from clearance.catalog.pricestore import load_prices
from clearance.config import ClearanceConfig, Tier
from clearance.errors import CatalogUnavailable
from clearance.modelpolicy import (
    ModelState,
    OrgPolicy,
    PolicySnapshot,
    RouteDecision,
    RouteRequest,
    SessionPin,
    resolve_model,
)
from clearance.pricing import Price
from clearance.retryplan import ModelInfo

__all__ = ["ProviderSettings", "RouterState", "configured_settings", "read_state"]

log = logging.getLogger("clearance.router")  # the router's log: its messages stay where they were


class ProviderSettings(NamedTuple):
    """How the router reaches a provider it builds, and where that was declared."""

    base_url: str | None
    api_key_env: str | None
    protocol: str
    """``openai``, ``anthropic`` or ``gemini`` (the catalog holds text: the provider
    factory refuses another value, naming the provider)."""
    timeout_s: float
    source: str | None
    """The configuration file that declares it; ``None``: the catalog."""


def configured_settings(config: ClearanceConfig, name: str) -> ProviderSettings:
    """Provider ``name`` as ``[[providers]]`` declares it.

    Raises:
        ConfigError: the configuration declares no such provider.
    """
    declared = config.provider(name)
    return ProviderSettings(
        declared.base_url,
        declared.api_key_env,
        declared.protocol,
        declared.timeout_s,
        config.source,
    )


@dataclass(slots=True)
class RouterState:
    """Catalog state reused for up to ``policy_cache_ttl_s``.

    The policy part is one :func:`~clearance.catalog.orgstore.read_policy_state`, the
    same read the CLI decides on; pins are read per session, when first needed.
    """

    read_at: float
    models: dict[str, ModelInfo]
    states: Mapping[str, ModelState]
    orgs: Mapping[str, OrgPolicy]
    prices: dict[str, Price]
    fallbacks: Mapping[str, tuple[str, ...]]
    tiers: Mapping[Tier, str]
    platform_default: str | None
    unknown_org: Literal["platform_default", "refuse"]
    providers: Mapping[str, ProviderEntry]
    """The catalog's providers by name: base URL, key variable and wire protocol (what a
    provider the configuration does not declare is built from)."""
    canonical: Callable[[str], str]
    pins: dict[str, SessionPin | None] = field(default_factory=dict)
    requested: dict[str, str] = field(default_factory=dict)
    """Requested model text -> catalog id, memoized for this state."""
    decisions: dict[tuple[str | None, str | None, str | None], RouteDecision] = field(
        default_factory=dict
    )
    """Decisions for requests without a session, memoized for this state (they are pure)."""

    def catalog_id(self, model: str) -> str:
        """The catalog id of a requested model (as the caller wrote it), memoized."""
        found = self.requested.get(model)
        if found is None:
            found = self.requested[model] = self.canonical(model)
        return found

    def provider_settings(self, name: str) -> ProviderSettings:
        """Provider ``name`` as the catalog holds it (no URL when it holds none): for a
        provider the configuration does not declare."""
        entry = self.providers.get(name)
        if entry is None:
            return ProviderSettings(None, None, "openai", 60.0, None)
        return ProviderSettings(entry.base_url, entry.api_key_env, entry.protocol, 60.0, None)

    def decide(self, request: RouteRequest, catalog: Catalog) -> RouteDecision:
        """The policy decision for a request on this state.

        The resolver is pure, so a decision for a request without a session is reused
        until the state is re-read; a session's pin is read from ``catalog`` once.
        """
        if request.session_id is None:
            key = (request.org_id, request.model, request.tier)
            found = self.decisions.get(key)
            if found is None:
                found = self.decisions[key] = self._decide(request, catalog)
            return found
        return self._decide(request, catalog)

    def _decide(self, request: RouteRequest, catalog: Catalog) -> RouteDecision:
        pins: dict[str, SessionPin] = {}
        if request.session_id is not None:
            pin = self._pin(catalog, request.session_id)
            if pin is not None:
                pins[request.session_id] = pin
        snapshot = PolicySnapshot(
            models=self.states,
            orgs=self.orgs,
            pins=pins,
            tiers=self.tiers,
            fallbacks=self.fallbacks,
            platform_default=self.platform_default,
            unknown_org=self.unknown_org,
        )
        return resolve_model(request, snapshot)

    def _pin(self, catalog: Catalog, session_id: str) -> SessionPin | None:
        if session_id not in self.pins:
            try:
                with catalog.connect() as connection:
                    pins = read_pins(connection, [session_id])
            except CatalogUnavailable as error:
                log.warning("session pin of %s unreadable: %s", session_id, error.cause)
                return None
            self.pins[session_id] = pins.get(session_id)
        return self.pins[session_id]


def read_state(
    catalog: Catalog,
    config: ClearanceConfig,
    *,
    killed: tuple[Collection[str], Collection[str]],
    adhoc: Mapping[str, ModelInfo],
    candidates: Collection[str],
    gate_cache: GateCache,
) -> RouterState:
    """Read the state a router routes on.

    Args:
        catalog: the catalog database.
        config: the policy, gate, provider and pricing sections are read.
        killed: the (models, providers) switched off, as the router's kill switch caches
            them.
        adhoc: models the router serves that the catalog lacks (enabled, not gated).
        candidates: models treated as enabled (an eval's candidates).
        gate_cache: reuses the gate rows when ``gate_decisions`` has not changed.

    Raises:
        CatalogUnavailable: the catalog cannot be read.
    """
    adhoc_rows = [
        ModelRow(
            model_id,
            info.provider,
            info.name,
            enabled=True,
            removed=False,
            context_length=info.context_length,
        )
        for model_id, info in adhoc.items()
    ]
    with catalog.connect() as connection:
        policy = read_policy_state(
            connection,
            config,
            killed=killed,
            adhoc_models=adhoc_rows,
            candidates=candidates,
            gate_cache=gate_cache,
        )
        prices = load_prices(connection, config.pricing.source_priority)
    snapshot = policy.snapshot
    return RouterState(
        read_at=time.monotonic(),
        models={
            model_id: ModelInfo(row.provider, row.name, row.context_length)
            for model_id, row in policy.models.items()
        },
        states=snapshot.models,
        orgs=snapshot.orgs,
        prices=prices,
        fallbacks=snapshot.fallbacks,
        tiers=snapshot.tiers,
        platform_default=snapshot.platform_default,
        unknown_org=snapshot.unknown_org,
        providers=policy.providers,
        canonical=policy.canonical,
    )
