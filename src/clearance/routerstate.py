"""The catalog state a router routes on: one read of the catalog, kept fresh off the call path.

:func:`read_state` reads it: the policy part is one
:func:`~clearance.catalog.orgstore.read_policy_state` (the same read the CLI decides on),
plus the prices and the providers (address, key variable, wire protocol), all on one
snapshot of the catalog (one transaction: ``REPEATABLE READ`` on PostgreSQL, a read
transaction on SQLite), so a state's models and prices are never from two moments. The
prices are read incrementally: given the state it replaces, only the models whose price
rows changed are re-read (:func:`~clearance.catalog.pricestore.load_prices_since`).
:class:`RouterState` holds it and answers the two questions every call asks, memoized
for as long as it lives: the catalog id of a requested model
(:meth:`RouterState.catalog_id`) and the policy's decision (:meth:`RouterState.decide`),
for which a session's pin is read when first needed.

:class:`StateRefresher` keeps it fresh: the first state is read by the call that asks for
it; from then on a background thread re-reads it every ``policy_cache_ttl_s`` and swaps
the new state in whole, and a call takes the state in place without ever waiting on a
read. When a read fails (the catalog is down), the previous state keeps serving for
:data:`STALE_AFTER_S` past its lifetime; after that a call is refused as the kill switch
refuses one when it cannot read its state (``KillSwitchActive(scope="unreadable")``),
unless ``killswitch.fail_open`` is set. The kill switch itself is still read on the call
path (a small read, at most once per its ``cache_ttl_s``), so a switch thrown stops calls
within its 1 s whatever the refresh is doing.

Storing a session's pin after the call it pinned was served is the router's.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypeVar

from sqlalchemy import Connection

from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import GateCache
from clearance.catalog.modelstore import ModelRow, ProviderEntry
from clearance.catalog.orgstore import read_pins, read_policy_state
from clearance.catalog.pricestore import PricesInForce, load_prices_since
from clearance.config import ClearanceConfig, Tier
from clearance.errors import CatalogUnavailable, KillSwitchActive
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

__all__ = [
    "STALE_AFTER_S",
    "ProviderSettings",
    "RouterState",
    "StateRefresher",
    "configured_settings",
    "read_state",
]

log = logging.getLogger("clearance.router")
_V = TypeVar("_V")  # the router's log: its messages stay where they were


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
    prices: Mapping[str, Price]
    """Model id -> its price in force (read-only: shared with the state read after it
    when no price changed)."""
    fallbacks: Mapping[str, tuple[str, ...]]
    tiers: Mapping[Tier, str]
    platform_default: str | None
    unknown_org: Literal["platform_default", "refuse"]
    providers: Mapping[str, ProviderEntry]
    """The catalog's providers by name: base URL, key variable and wire protocol (what a
    provider the configuration does not declare is built from)."""
    canonical: Callable[[str], str]
    priced: PricesInForce | None = None
    """The prices with their change marks, for the next read to re-read only what changed."""
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


@contextlib.contextmanager
def _one_snapshot(catalog: Catalog) -> Iterator[Connection]:
    """A connection whose reads all see one snapshot of the catalog.

    PostgreSQL: a ``REPEATABLE READ`` transaction (``READ COMMITTED``, the default, takes
    a snapshot per statement). SQLite: an explicit read transaction (the driver begins
    none for a ``SELECT``; in WAL mode a reader never blocks the call log's writer).
    Ended by a rollback: nothing is written.
    """
    with catalog.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection
        else:
            with catalog.translate_errors():
                connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.rollback()


def read_state(
    catalog: Catalog,
    config: ClearanceConfig,
    *,
    killed: tuple[Collection[str], Collection[str]],
    adhoc: Mapping[str, ModelInfo],
    candidates: Collection[str],
    gate_cache: GateCache,
    previous: RouterState | None = None,
) -> RouterState:
    """Read the state a router routes on, on one snapshot of the catalog.

    Args:
        catalog: the catalog database.
        config: the policy, gate, provider and pricing sections are read.
        killed: the (models, providers) switched off, as the router's kill switch caches
            them.
        adhoc: models the router serves that the catalog lacks (enabled, not gated).
        candidates: models treated as enabled (an eval's candidates).
        gate_cache: reuses the gate rows when ``gate_decisions`` has not changed.
        previous: the state this one replaces: its prices are reused for every model
            whose price rows have not changed (``None``: every price is read).

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
    with _one_snapshot(catalog) as connection:
        policy = read_policy_state(
            connection,
            config,
            killed=killed,
            adhoc_models=adhoc_rows,
            candidates=candidates,
            gate_cache=gate_cache,
        )
        priced = load_prices_since(
            connection,
            config.pricing.source_priority,
            None if previous is None else previous.priced,
        )
    snapshot = policy.snapshot
    models = {
        model_id: ModelInfo(row.provider, row.name, row.context_length)
        for model_id, row in policy.models.items()
    }
    states: Mapping[str, ModelState] = snapshot.models
    if previous is not None:
        models = _shared(models, previous.models)
        states = _shared(dict(states), previous.states)
    return RouterState(
        read_at=time.monotonic(),
        models=models,
        states=states,
        orgs=snapshot.orgs,
        prices=priced.prices,
        fallbacks=snapshot.fallbacks,
        tiers=snapshot.tiers,
        platform_default=snapshot.platform_default,
        unknown_org=snapshot.unknown_org,
        providers=policy.providers,
        canonical=policy.canonical,
        priced=priced,
    )


def _shared(fresh: dict[str, _V], old: Mapping[str, _V]) -> dict[str, _V]:
    """``fresh``, each value equal to ``old``'s replaced by ``old``'s; ``old`` itself when
    every entry is equal.

    A re-read of an unchanged catalog then leaves no new long-lived objects behind but a
    few containers: thousands of them each second would make the garbage collector's
    full passes (which stop every thread, calls included) frequent.
    """
    same = len(fresh) == len(old)
    for key, value in fresh.items():
        kept = old.get(key)
        if kept is not None and kept == value:
            fresh[key] = kept
        else:
            same = False
    return old if same and isinstance(old, dict) else fresh


STALE_AFTER_S = 30.0
"""How long past its lifetime a state keeps serving while every re-read fails; then calls
are refused as an unreadable kill switch refuses them (unless it fails open)."""


class StateRefresher:
    """Keeps a :class:`RouterState` fresh from a background thread; calls never wait on it.

    Args:
        read: reads a new state given the one it replaces (``None``: a first read). A bound
            method, held weakly: the thread never keeps its owner alive, and ends when the
            owner is collected.
        ttl_s: a state's lifetime; the thread re-reads it when it is this old.
        fail_open: when the state is too old (:data:`STALE_AFTER_S` past its lifetime, every
            re-read having failed), keep routing on it rather than refuse calls.
        stale_after_s: that grace (for tests).
        clock: monotonic seconds; a state's ``read_at`` is on this clock.
    """

    def __init__(
        self,
        read: Callable[[RouterState | None], RouterState],
        *,
        ttl_s: float,
        fail_open: bool = False,
        stale_after_s: float = STALE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = weakref.WeakMethod(read)
        self.ttl_s = ttl_s
        self.fail_open = fail_open
        self.stale_after_s = stale_after_s
        self._clock = clock
        self._state: RouterState | None = None
        self._reading = threading.Lock()  # one read at a time (they share a gate cache)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failure: str | None = None
        """Why the last background read failed (``None``: it succeeded)."""
        self._retry_at = float("-inf")
        self.reads = 0
        """Background reads that succeeded and were swapped in."""

    def current(self) -> RouterState:
        """The state in place: read now only when there is none yet (or it was forgotten).

        Raises:
            CatalogUnavailable: there is no state and the catalog cannot be read.
            KillSwitchActive: ``scope="unreadable"``: the state is past its lifetime by
                more than ``stale_after_s`` because every re-read failed (not when the
                refresher fails open).
        """
        state = self._state
        if state is None:
            return self._first()
        age = self._clock() - state.read_at
        if age >= self.ttl_s:
            if self._closed:
                return self._inline(state)
            if age >= self.ttl_s + self.stale_after_s and not self.fail_open:
                raise KillSwitchActive(
                    "unreadable",
                    "",
                    f"the catalog state is {age:.1f} s old: it has not been re-read since "
                    f"({self._failure or 'the re-read has not finished'})",
                )
        return state

    def invalidate(self) -> None:
        """Forget the state: the next :meth:`current` reads one (and a read under way is
        not swapped in)."""
        self._state = None

    def close(self) -> None:
        """Stop the thread and wait for it (a read under way is finished first).

        Later calls of :meth:`current` re-read inline when the state is stale, as a router
        did before the refresh ran in the background.
        """
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # -- reads ------------------------------------------------------------------------------

    def _read_now(self, previous: RouterState | None) -> RouterState:
        """A read by a caller (whose owner, calling, is alive)."""
        read = self._read()
        if read is None:
            raise CatalogUnavailable("", "the router that owned this state was collected")
        return read(previous)

    def _first(self) -> RouterState:
        with self._reading:
            state = self._state
            if state is None:
                state = self._state = self._read_now(None)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="clearance-router-state", daemon=True
                )
                self._thread.start()
        return state

    def _inline(self, state: RouterState) -> RouterState:
        """A closed refresher's stale state, re-read by the caller; a failure keeps it for
        another lifetime."""
        with self._reading:
            if self._state is not state:  # re-read or forgotten meanwhile
                current = self._state
                if current is None:
                    current = self._state = self._read_now(None)
                return current
            try:
                state = self._state = self._read_now(state)
            except CatalogUnavailable as error:
                log.warning("catalog unreadable, routing on the last state: %s", error.cause)
                state.read_at = self._clock()
        return state

    def _run(self) -> None:
        while not self._closed:
            state = self._state
            if state is None:  # forgotten: the next call reads one
                self._wake.wait(self.ttl_s)
                continue
            wait = max(state.read_at + self.ttl_s, self._retry_at) - self._clock()
            if wait > 0:
                self._wake.wait(wait)
                continue
            if not self._refresh(state):
                return

    def _refresh(self, state: RouterState) -> bool:
        """One background read, swapped in whole unless the state was forgotten or
        replaced meanwhile; ``False`` when the owner is gone."""
        with self._reading:
            if self._state is not state or self._closed:
                return True
            read = self._read()
            if read is None:
                return False
            try:
                # The garbage collector is left alone: a library that switched it off
                # process-wide would override an application's own choice (and pause
                # every thread's collection while a large catalog is read).
                fresh = read(state)
            except CatalogUnavailable as error:
                self._failed(error.cause)
                return True
            except Exception as error:  # a bug must not end the refresh: log it, retry
                log.exception("reading the catalog state failed")
                self._failed(f"{type(error).__name__}: {error}")
                return True
            finally:
                del read  # the thread holds its owner only while it reads
            if self._state is state:  # not forgotten meanwhile (invalidate)
                self._state = fresh
                self.reads += 1
            self._failure = None
            self._retry_at = float("-inf")
            return True

    def _failed(self, cause: str) -> None:
        if self._failure is None:
            log.warning("catalog unreadable, routing on the last state: %s", cause)
        self._failure = cause
        self._retry_at = self._clock() + self.ttl_s
