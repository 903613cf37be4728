"""Kill-switch rows: ``kill_switches`` (one per scope and target) and their audit trail.

The store only reads and writes; what a scope means, which changes are valid and how long
a process may reuse what it read are :mod:`clearance.killswitch`'s.
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog

__all__ = ["SwitchRow", "active_switches", "all_switches", "killed_targets", "write_switch"]


@dataclass(frozen=True, slots=True)
class SwitchRow:
    """One ``kill_switches`` row."""

    scope: str
    target: str
    active: bool
    reason: str
    changed_by: str
    changed_at: dt.datetime


def write_switch(
    catalog: Catalog,
    scope: str,
    target: str,
    *,
    active: bool,
    reason: str,
    actor: str,
    at: dt.datetime,
) -> None:
    """Insert or update the ``(scope, target)`` row and audit the change (who, where, the
    previous state), in one transaction."""
    key = (t.kill_switches.c.scope == scope) & (t.kill_switches.c.target == target)
    with catalog.begin() as connection:
        previous = connection.execute(select(t.kill_switches.c.active).where(key)).scalar()
        values = {"active": active, "reason": reason, "changed_by": actor, "changed_at": at}
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
                at=at,
            )
        )


def active_switches(catalog: Catalog) -> dict[tuple[str, str], str]:
    """``(scope, target) -> reason`` of every switch that is on.

    Raises:
        CatalogUnavailable: the database cannot be reached.
    """
    c = t.kill_switches.c
    with catalog.connect() as connection:
        rows = connection.execute(
            select(c.scope, c.target, c.reason).where(c.active.is_(True))
        ).all()
    return {(row.scope, row.target): row.reason for row in rows}


def killed_targets(connection: Connection) -> tuple[set[str], set[str]]:
    """The (models, providers) whose kill switch is on, read on ``connection`` (the policy
    state reads them in the same transaction as the rest of its snapshot)."""
    c = t.kill_switches.c
    killed_models: set[str] = set()
    killed_providers: set[str] = set()
    query = select(c.scope, c.target).where(c.active.is_(True), c.scope.in_(["model", "provider"]))
    for scope, target in connection.execute(query):
        (killed_models if scope == "model" else killed_providers).add(target)
    return killed_models, killed_providers


def all_switches(catalog: Catalog) -> list[SwitchRow]:
    """Every switch ever set, on or off, in no particular order."""
    with catalog.connect() as connection:
        rows = connection.execute(select(t.kill_switches)).all()
    return [
        SwitchRow(r.scope, r.target, bool(r.active), r.reason, r.changed_by, r.changed_at)
        for r in rows
    ]
