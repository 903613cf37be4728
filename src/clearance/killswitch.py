"""The kill switch: checked before every call, shared by every process on one catalog.

Switches live in the catalog's ``kill_switches`` table, one row per
``(scope, target)``: ``global`` (target ``""``), ``provider``, ``model`` or
``org``. Each process keeps the set of active switches for at most
``cache_ttl_s`` (1 s at most), so a switch thrown anywhere stops calls
everywhere within that time. Every change is written to ``kill_switch_audit``
in the same transaction (who, when, where, why, and the previous state).

When the state cannot be read the guard fails closed (every call refused with
``KillSwitchActive(scope="unreadable")``) unless ``fail_open`` is set.
"""

from __future__ import annotations

import datetime as dt
import getpass
import threading
import time
from collections.abc import Callable
from typing import Literal

from clearance.catalog.database import Catalog
from clearance.catalog.switchstore import SwitchRow, active_switches, all_switches, write_switch
from clearance.errors import CatalogUnavailable, InputError, KillSwitchActive

__all__ = ["SCOPES", "KillSwitch", "Scope", "SwitchState", "set_switch"]

Scope = Literal["global", "provider", "model", "org"]
SCOPES: tuple[Scope, ...] = ("global", "provider", "model", "org")


SwitchState = SwitchRow
"""One switch as stored."""


def set_switch(
    catalog: Catalog,
    scope: Scope,
    *,
    active: bool,
    reason: str,
    target: str = "",
    actor: str | None = None,
) -> SwitchState:
    """Throw (or release) a switch and audit the change, in one transaction.

    Raises:
        InputError: an unknown scope, a target on the global scope or none on another,
            or an empty reason.
    """
    if scope not in SCOPES:
        raise InputError(f"unknown kill switch scope {scope!r}", fix=f"use one of {SCOPES}")
    if (scope == "global") != (target == ""):
        raise InputError(
            f"scope {scope} {'takes no' if scope == 'global' else 'needs a'} target",
            fix="--scope global alone, or --scope provider|model|org --target NAME",
        )
    if not reason.strip():
        raise InputError("a kill switch change needs a reason", fix='add --reason "..."')
    actor = actor or getpass.getuser()
    now = dt.datetime.now(dt.UTC)
    write_switch(catalog, scope, target, active=active, reason=reason, actor=actor, at=now)
    return SwitchState(scope, target, active, reason, actor, now)


class KillSwitch:
    """The per-process guard: ``check`` before every call.

    Args:
        catalog: where the switches live.
        cache_ttl_s: how long the state read is reused (at most 1 s).
        fail_open: allow calls when the state cannot be read.
        clock: monotonic seconds (for tests).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        cache_ttl_s: float = 1.0,
        fail_open: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < cache_ttl_s <= 1.0:
            raise InputError(f"kill switch cache_ttl_s={cache_ttl_s}: must be in (0, 1]")
        self.catalog = catalog
        self.cache_ttl_s = cache_ttl_s
        self.fail_open = fail_open
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], str] = {}
        self._error: str | None = None
        self._read_at = float("-inf")

    def _refresh(self) -> None:
        try:
            active = active_switches(self.catalog)
        except CatalogUnavailable as error:
            self._error = error.cause
        else:
            self._active = active
            self._error = None
        self._read_at = self._clock()

    def _state(self) -> tuple[dict[tuple[str, str], str], str | None]:
        if self._clock() - self._read_at >= self.cache_ttl_s:
            with self._lock:
                if self._clock() - self._read_at >= self.cache_ttl_s:
                    self._refresh()
        return self._active, self._error

    def check(
        self, *, org: str | None = None, provider: str | None = None, model: str | None = None
    ) -> None:
        """Raise :class:`KillSwitchActive` when a switch covers this call.

        Scopes are checked from the widest: global, org, provider, model.
        """
        active, error = self._state()
        if error is not None and not self.fail_open:
            raise KillSwitchActive("unreadable", "", error)
        if not active:
            return
        for key in (("global", ""), ("org", org), ("provider", provider), ("model", model)):
            if key[1] is not None and key in active:
                raise KillSwitchActive(key[0], key[1], active[key])

    def killed(self) -> tuple[frozenset[str], frozenset[str]]:
        """The (models, providers) switched off right now, for the policy snapshot."""
        active, _ = self._state()
        models = frozenset(target for scope, target in active if scope == "model")
        providers = frozenset(target for scope, target in active if scope == "provider")
        return models, providers

    def invalidate(self) -> None:
        """Forget the cached state (the next check reads the catalog)."""
        self._read_at = float("-inf")


def list_switches(catalog: Catalog) -> list[SwitchState]:
    """Every switch ever set, active or not, widest scope first."""
    order: dict[str, int] = {scope: index for index, scope in enumerate(SCOPES)}
    return sorted(all_switches(catalog), key=lambda s: (order.get(s.scope, len(SCOPES)), s.target))
