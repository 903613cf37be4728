"""The retrieval gate's decisions in the catalog: every statement on
``retriever_decisions`` (migration 0011).

A row is ``enable``, ``disable`` or ``inconclusive`` for one retriever configuration
(by name), with the sha256 of the configuration it was taken on, the policy's name,
path and sha256, the retrieval runs judged, who decided where, and the expiry. The
latest row per name is the one in force; what it allows is
:func:`clearance.gate.retrieval.retriever_clearance`'s to say (it compares the configuration as
it is now with the one judged).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from clearance.catalog import tables as t

__all__ = ["RetrieverDecisionRow", "latest_retriever_decisions", "record_retriever_decision"]

_D = t.retriever_decisions.c


@dataclass(frozen=True, slots=True)
class RetrieverDecisionRow:
    """One stored decision on a retriever configuration."""

    id: int
    retriever: str
    decision: str
    """``enable``, ``disable`` or ``inconclusive``."""
    reason: str | None
    checks: tuple[Mapping[str, Any], ...]
    config: Mapping[str, Any]
    config_sha256: str
    policy_name: str | None
    policy_path: str | None
    policy_hash: str | None
    run_ids: tuple[str, ...]
    decided_by: str
    host: str | None
    decided_at: dt.datetime
    expires_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "retriever": self.retriever,
            "decision": self.decision,
            "reason": self.reason,
            "checks": [dict(check) for check in self.checks],
            "config": dict(self.config),
            "config_sha256": self.config_sha256,
            "policy": {
                "name": self.policy_name,
                "path": self.policy_path,
                "hash": self.policy_hash,
            },
            "run_ids": list(self.run_ids),
            "decided_by": self.decided_by,
            "host": self.host,
            "decided_at": self.decided_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
        }


def record_retriever_decision(
    connection: Connection,
    *,
    retriever: str,
    decision: str,
    reason: str | None,
    checks: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    config_sha256: str,
    policy_name: str | None,
    policy_path: str | None,
    policy_hash: str | None,
    run_ids: Sequence[str],
    decided_by: str,
    host: str | None,
    decided_at: dt.datetime,
    expires_at: dt.datetime | None,
) -> int:
    """Insert a decision; its id."""
    result = connection.execute(
        insert(t.retriever_decisions).values(
            retriever=retriever,
            decision=decision,
            reason=reason,
            checks=[dict(check) for check in checks],
            config=dict(config),
            config_sha256=config_sha256,
            policy_name=policy_name,
            policy_path=policy_path,
            policy_hash=policy_hash,
            run_ids=list(run_ids),
            decided_by=decided_by,
            host=host,
            decided_at=decided_at,
            expires_at=expires_at,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def latest_retriever_decisions(
    connection: Connection, retrievers: Sequence[str] = ()
) -> dict[str, RetrieverDecisionRow]:
    """Retriever name → its latest decision (only ``retrievers``, when given)."""
    newest = select(func.max(_D.id)).group_by(_D.retriever)
    if retrievers:
        newest = newest.where(_D.retriever.in_(list(retrievers)))
    statement = select(t.retriever_decisions).where(_D.id.in_(newest.scalar_subquery()))
    return {row.retriever: _row(row) for row in connection.execute(statement)}


def _row(row: Any) -> RetrieverDecisionRow:
    return RetrieverDecisionRow(
        id=row.id,
        retriever=row.retriever,
        decision=row.decision,
        reason=row.reason,
        checks=tuple(row.checks or ()),
        config=dict(row.config),
        config_sha256=row.config_sha256,
        policy_name=row.policy_name,
        policy_path=row.policy_path,
        policy_hash=row.policy_hash,
        run_ids=tuple(row.run_ids),
        decided_by=row.decided_by,
        host=row.host,
        decided_at=row.decided_at,
        expires_at=row.expires_at,
    )
