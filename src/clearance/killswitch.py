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
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.errors import CatalogUnavailable, InputError, KillSwitchActive

__all__ = ["SCOPES", "KillSwitch", "Scope", "SwitchState", "set_switch"]

Scope = Literal["global", "provider", "model", "org"]
SCOPES: tuple[Scope, ...] = ("global", "provider", "model", "org")


@dataclass(frozen=True, slots=True)
class SwitchState:
    """One switch as stored."""

    scope: str
    target: str
    active: bool
    reason: str
    changed_by: str
    changed_at: dt.datetime


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
    key = (t.kill_switches.c.scope == scope) & (t.kill_switches.c.target == target)
    with catalog.begin() as connection:
        previous = connection.execute(select(t.kill_switches.c.active).where(key)).scalar()
        values = {"active": active, "reason": reason, "changed_by": actor, "changed_at": now}
        if previous is None:
            connection.execute(insert(t.kill_switches).values(scope=scope, target=target, **values))
        else:
            connection.execute(update(t.kill_switches).where(key).values(**values))
        connection.execute(
            insert(t.kill_switch_audit).values(
                scope=scope,
                target=target,
                active=active,
                previous_active=previous,
                reason=reason,
                actor=actor,
                host=socket.gethostname(),
                at=now,
            )
        )
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
            with self.catalog.connect() as connection:
                rows = connection.execute(
                    select(
                        t.kill_switches.c.scope, t.kill_switches.c.target, t.kill_switches.c.reason
                    ).where(t.kill_switches.c.active.is_(True))
                ).all()
        except CatalogUnavailable as error:
            self._error = error.cause
        else:
            self._active = {(row.scope, row.target): row.reason for row in rows}
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
    with catalog.connect() as connection:
        rows = connection.execute(select(t.kill_switches)).all()
    states = [
        SwitchState(r.scope, r.target, bool(r.active), r.reason, r.changed_by, r.changed_at)
        for r in rows
    ]
    return sorted(states, key=lambda s: (order.get(s.scope, 9), s.target))
