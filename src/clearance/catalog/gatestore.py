"""Gate decisions in the catalog: write them, and read which models the gate allows.

One module just past 600 lines, on purpose: it is the one home of the SQL on
``gate_decisions``, and writing a decision or an override, marking one stale and reading
the effective state share one rule set (:func:`gate_states`) that must not drift apart.

Two kinds of row live in ``gate_decisions``:

* a **gate decision** (``override`` false): ``enable``, ``disable`` or
  ``inconclusive`` from ``clearance gate``, with its provenance (eval runs,
  contract versions and hashes, policy name and hash, recordings, expiry);
* a **human override** (``override`` true): ``enable`` or ``disable`` from
  ``clearance models enable|disable --override``, or ``clear`` to hand the
  model back to the gate. Each carries the reason, user and host.

The effective state of a model (:func:`gate_states`), which the policy resolver
obeys:

1. its latest override, unless that is ``clear`` or expired, wins: a nightly
   gate run never silently undoes what a person decided;
2. otherwise its latest gate decision counts when it is ``enable``, not
   expired and not stale (a contract or flow it was judged on changed since:
   :func:`mark_stale`; or, where its policy says so, live traffic was served by a
   model snapshot it was not taken on: :func:`mark_stale_decision`);
3. a model with neither is allowed only when ``require_decision`` is false.

The ``models.enabled`` flag and ``models.gate_status`` mirror the effective
decision when it is written, for people reading the catalog; expiry happens
with time alone, so readers that decide use :func:`gate_states`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, func, insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.modelstore import get_model
from clearance.catalog.policyrecords import ModelState

__all__ = [
    "DecisionRow",
    "GateCache",
    "GateLabel",
    "GateState",
    "OverrideAction",
    "Provenance",
    "StaleMark",
    "apply_gate",
    "gate_states",
    "history",
    "judged_decisions",
    "latest_decisions",
    "mark_stale",
    "mark_stale_decision",
    "record_decision",
    "record_override",
    "state_of",
]

OverrideAction = Literal["enable", "disable", "clear"]
GateLabel = Literal[
    "ungated",
    "enable",
    "disable",
    "inconclusive",
    "stale",
    "expired",
    "override:enable",
    "override:disable",
]


@dataclass(frozen=True, slots=True)
class Provenance:
    """What a gate decision was judged on; stored with it."""

    policy_name: str
    policy_hash: str | None
    policy_path: str | None = None
    eval_run_ids: tuple[str, ...] = ()
    contract_versions: Mapping[str, str] = field(default_factory=dict)
    """Tool name to the contract version the results were judged against."""
    contract_hashes: Mapping[str, str] = field(default_factory=dict)
    """``tool@version`` to the contract's content hash, and ``case:ID`` to the case's
    digest (its file and the contracts it offers); see :func:`mark_stale`."""
    recordings: Mapping[str, str] = field(default_factory=dict)
    """Cassette path to the SHA-256 of its bytes (empty for a live run)."""
    baseline_model: str | None = None
    snapshots: Mapping[str, int] = field(default_factory=dict)
    """The model snapshots the judged results were answered by, to how many results."""


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One ``gate_decisions`` row."""

    id: int
    model_id: str
    decision: str
    override: bool
    reason: str | None
    checks: list[dict[str, Any]] | None
    policy_name: str | None
    policy_path: str | None
    policy_hash: str | None
    eval_run_ids: list[str]
    contract_versions: dict[str, str]
    contract_hashes: dict[str, str]
    recordings: dict[str, str]
    baseline_model: str | None
    decided_by: str
    host: str | None
    decided_at: dt.datetime
    expires_at: dt.datetime | None
    stale_reason: str | None
    stale_at: dt.datetime | None
    snapshots: dict[str, int] | None = None
    """``{model snapshot: results}`` the decision was taken on; ``None``: not recorded
    (a decision from before snapshots were kept, or an override)."""

    def expired(self, now: dt.datetime) -> bool:
        """Whether the row's expiry has passed at ``now``."""
        return self.expires_at is not None and self.expires_at <= now

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (times as ISO 8601)."""
        data = {name: getattr(self, name) for name in self.__slots__}
        for name in ("decided_at", "expires_at", "stale_at"):
            value = data[name]
            data[name] = None if value is None else value.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class GateState:
    """A model's effective gate state, as the policy resolver reads it."""

    model_id: str
    allows: bool
    label: GateLabel
    detail: str
    """One sentence: what decided, when, and the fix when it does not allow."""
    decision: DecisionRow | None = None
    """The latest gate decision (not override), if any."""
    override: DecisionRow | None = None
    """The override in force, if any."""


@dataclass(frozen=True, slots=True)
class StaleMark:
    """A decision :func:`mark_stale` found stale."""

    decision_id: int
    model_id: str
    reason: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_HEAVY = (
    "checks",
    "eval_run_ids",
    "contract_versions",
    "contract_hashes",
    "recordings",
    "snapshots",
)
"""JSON columns only a person reads; :func:`gate_states` (read by every router once per
``policy_cache_ttl_s``) leaves them out."""
_LIGHT = [c for c in t.gate_decisions.c if c.name not in _HEAVY]


def _row(row: Any, provenance: bool = True) -> DecisionRow:
    values = row._mapping if provenance else {}
    return DecisionRow(
        id=int(row.id),
        model_id=row.model_id,
        decision=row.decision,
        override=bool(row.override),
        reason=row.reason,
        checks=values.get("checks"),
        policy_name=row.policy_name,
        policy_path=row.policy_path,
        policy_hash=row.policy_hash,
        eval_run_ids=list(values.get("eval_run_ids") or []),
        contract_versions=dict(values.get("contract_versions") or {}),
        contract_hashes=dict(values.get("contract_hashes") or {}),
        recordings=dict(values.get("recordings") or {}),
        baseline_model=row.baseline_model,
        decided_by=row.decided_by,
        host=row.host,
        decided_at=row.decided_at,
        expires_at=row.expires_at,
        stale_reason=row.stale_reason,
        stale_at=row.stale_at,
        snapshots=_snapshots(values.get("snapshots")),
    )


def _snapshots(value: Any) -> dict[str, int] | None:
    if not isinstance(value, Mapping):
        return None
    return {str(name): int(count) for name, count in value.items()}


def latest_decisions(
    connection: Connection, model_ids: Sequence[str] | None = None, *, provenance: bool = True
) -> tuple[dict[str, DecisionRow], dict[str, DecisionRow]]:
    """The latest gate decision and the latest override row of each model.

    Args:
        connection: the catalog.
        model_ids: only these models (default: every model with a row).
        provenance: also read the checks and provenance JSON (``False`` leaves them
            empty: what deciding whether to serve needs, at a fraction of the cost).

    Returns:
        ``(gate, overrides)``, each a model id to its newest row of that kind.
    """
    d = t.gate_decisions
    newest = select(func.max(d.c.id)).group_by(d.c.model_id, d.c.override)
    if model_ids is not None:
        newest = newest.where(d.c.model_id.in_(list(model_ids)))
    columns = list(d.c) if provenance else _LIGHT
    gate: dict[str, DecisionRow] = {}
    overrides: dict[str, DecisionRow] = {}
    for raw in connection.execute(select(*columns).where(d.c.id.in_(newest.scalar_subquery()))):
        row = _row(raw, provenance)
        (overrides if row.override else gate)[row.model_id] = row
    return gate, overrides


class GateCache:
    """The latest decision and override rows, re-read only when ``gate_decisions`` changed.

    A router reads the gate state once per ``policy_cache_ttl_s``; the rows change only
    when a decision or override is written or a decision is marked stale, so each read
    first asks for ``(max(id), count(*), max(stale_at))`` (index lookups) and re-reads
    the rows only when that differs. The count catches a row committed late with a lower
    id. Expiry needs no re-read: it is judged on the cached rows at each call.
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._rows: tuple[dict[str, DecisionRow], dict[str, DecisionRow]] = ({}, {})

    def latest(
        self, connection: Connection
    ) -> tuple[dict[str, DecisionRow], dict[str, DecisionRow]]:
        """The same as ``latest_decisions(connection, provenance=False)``."""
        d = t.gate_decisions
        key = tuple(
            connection.execute(select(func.max(d.c.id), func.count(), func.max(d.c.stale_at))).one()
        )
        if key != self._key:
            self._rows = latest_decisions(connection, provenance=False)
            self._key = key
        return self._rows


def history(
    connection: Connection, model_id: str, *, limit: int = 20, overrides: bool = True
) -> list[DecisionRow]:
    """A model's decisions and overrides, newest first (``overrides=False``: the gate's
    decisions only, so a run of overrides cannot push them past ``limit``)."""
    d = t.gate_decisions
    query = select(d).where(d.c.model_id == model_id).order_by(d.c.id.desc()).limit(limit)
    if not overrides:
        query = query.where(d.c.override.is_(False))
    return [_row(row) for row in connection.execute(query)]


def judged_decisions(connection: Connection) -> list[DecisionRow]:
    """Every gate decision (overrides left out), oldest first, with the contract versions
    it was judged on; of the provenance JSON only ``contract_versions`` is read, the other
    columns are left empty (as with ``provenance=False``)."""
    d = t.gate_decisions
    query = select(*_LIGHT, d.c.contract_versions).where(d.c.override.is_(False)).order_by(d.c.id)
    return [_row(row) for row in connection.execute(query)]


def _when(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _ungated(model_id: str, require_decision: bool) -> GateState:
    """The state of a model with no decision and no override."""
    if require_decision:
        return GateState(
            model_id,
            False,
            "ungated",
            f"model {model_id!r} has no gate decision; run `clearance eval` and "
            "`clearance gate` for it (or `clearance models enable --override`)",
        )
    return GateState(model_id, True, "ungated", "no gate decision (none is required)")


def _state(
    model_id: str,
    gate: DecisionRow | None,
    override: DecisionRow | None,
    now: dt.datetime,
    require_decision: bool,
) -> GateState:
    if override is not None and override.decision != "clear" and not override.expired(now):
        allows = override.decision == "enable"
        label: GateLabel = "override:enable" if allows else "override:disable"
        return GateState(
            model_id,
            allows,
            label,
            f"{override.decision}d by hand by {override.decided_by} at "
            f"{_when(override.decided_at)} (override: {override.reason})",
            gate,
            override,
        )
    if gate is None:
        return _ungated(model_id, require_decision)
    policy = gate.policy_name or "?"
    if gate.stale_reason is not None:
        return GateState(
            model_id,
            False,
            "stale",
            f"its gate decision of {_when(gate.decided_at)} is stale ({gate.stale_reason}); "
            "re-run `clearance eval` and `clearance gate`",
            gate,
        )
    if gate.expired(now):
        assert gate.expires_at is not None
        return GateState(
            model_id,
            False,
            "expired",
            f"its gate decision of {_when(gate.decided_at)} expired at "
            f"{_when(gate.expires_at)}; re-run `clearance eval` and `clearance gate`",
            gate,
        )
    if gate.decision == "enable":
        return GateState(
            model_id,
            True,
            "enable",
            f"enabled by gate policy {policy} at {_when(gate.decided_at)}",
            gate,
        )
    first = (gate.reason or "").split("\n", 1)[0]
    label = "inconclusive" if gate.decision == "inconclusive" else "disable"
    return GateState(
        model_id,
        False,
        label,
        f"gate policy {policy} decided {gate.decision} at {_when(gate.decided_at)}"
        + (f": {first}" if first else ""),
        gate,
    )


def gate_states(
    connection: Connection,
    *,
    require_decision: bool,
    now: dt.datetime | None = None,
    model_ids: Sequence[str] | None = None,
    provenance: bool = False,
    cache: GateCache | None = None,
) -> dict[str, GateState]:
    """The effective gate state of every model with a decision (rules in the module doc).

    The rows in the states leave out the checks and provenance unless ``provenance``.

    Models with no row at all are not in the result: the caller treats them as
    ``ungated`` (allowed only when ``require_decision`` is false); see
    :func:`state_of`.
    """
    now = now or _now()
    if cache is not None and model_ids is None and not provenance:
        gate, overrides = cache.latest(connection)
    else:
        gate, overrides = latest_decisions(connection, model_ids, provenance=provenance)
    return {
        model_id: _state(
            model_id, gate.get(model_id), overrides.get(model_id), now, require_decision
        )
        for model_id in gate.keys() | overrides.keys()
    }


def state_of(
    states: Mapping[str, GateState], model_id: str, *, require_decision: bool
) -> GateState:
    """``states[model_id]``, or the ungated state for a model with no decision."""
    found = states.get(model_id)
    return found if found is not None else _ungated(model_id, require_decision)


def apply_gate(
    connection: Connection,
    states: Mapping[str, ModelState],
    *,
    require_decision: bool,
    now: dt.datetime | None = None,
    cache: GateCache | None = None,
) -> dict[str, ModelState]:
    """``states`` with ``gate_allows`` and ``gate_detail`` set from the catalog's decisions.

    For a model with any decision or override, the effective gate state also decides
    ``enabled``: the stored flag only mirrors it as of the last write, and goes out of
    date when a decision or override expires. The flag alone governs ungated models.
    """
    gated = gate_states(connection, require_decision=require_decision, now=now, cache=cache)
    out: dict[str, ModelState] = {}
    for model_id, model in states.items():
        state = gated.get(model_id)
        if state is None:  # ungated: the stored flag is the model's own
            state, enabled = _ungated(model_id, require_decision), model.enabled
        else:
            enabled = state.allows
        allows, detail = state.allows, None if state.allows else state.detail
        unchanged = allows == model.gate_allows and detail is None and enabled == model.enabled
        out[model_id] = (
            model
            if unchanged
            else dataclasses.replace(model, enabled=enabled, gate_allows=allows, gate_detail=detail)
        )
    return out


def _mirror(connection: Connection, state: GateState) -> None:
    """Write the effective state into ``models.enabled`` and ``models.gate_status``."""
    connection.execute(
        update(t.models)
        .where(t.models.c.id == state.model_id)
        .values(enabled=state.allows, gate_status=state.label)
    )


def record_decision(
    connection: Connection,
    *,
    model_id: str,
    decision: str,
    reasons: Sequence[str],
    checks: list[dict[str, Any]],
    provenance: Provenance,
    decided_by: str,
    host: str | None,
    decided_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    require_decision: bool = True,
) -> GateState:
    """Store one gate decision and mirror the model's resulting state; returns it.

    Raises:
        UnknownModel: the model is not in the catalog.
        ValueError: ``decision`` is not enable, disable or inconclusive.
    """
    if decision not in ("enable", "disable", "inconclusive"):
        raise ValueError(f"decision {decision!r} is not enable, disable or inconclusive")
    get_model(connection, model_id)
    now = decided_at or _now()
    connection.execute(
        insert(t.gate_decisions).values(
            model_id=model_id,
            decision=decision,
            override=False,
            reason="\n".join(reasons) or None,
            checks=checks,
            policy_name=provenance.policy_name,
            policy_path=provenance.policy_path,
            policy_hash=provenance.policy_hash,
            eval_run_ids=list(provenance.eval_run_ids),
            contract_versions=dict(provenance.contract_versions),
            contract_hashes=dict(provenance.contract_hashes),
            recordings=dict(provenance.recordings),
            baseline_model=provenance.baseline_model,
            snapshots=dict(provenance.snapshots),
            decided_by=decided_by,
            host=host,
            decided_at=now,
            expires_at=expires_at,
        )
    )
    state = gate_states(
        connection, require_decision=require_decision, now=now, model_ids=[model_id]
    )[model_id]
    _mirror(connection, state)
    return state


def record_override(
    connection: Connection,
    *,
    model_id: str,
    action: OverrideAction,
    reason: str,
    decided_by: str,
    host: str | None,
    decided_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    require_decision: bool = True,
) -> tuple[GateState, GateState]:
    """Store a person's override (or ``clear`` of one); returns the states before and after.

    Raises:
        UnknownModel: the model is not in the catalog.
        ValueError: an empty reason, or an unknown action.
    """
    if action not in ("enable", "disable", "clear"):
        raise ValueError(f"override action {action!r} is not enable, disable or clear")
    if not reason.strip():
        raise ValueError("an override needs a reason")
    get_model(connection, model_id)
    now = decided_at or _now()
    before = state_of(
        gate_states(connection, require_decision=require_decision, now=now, model_ids=[model_id]),
        model_id,
        require_decision=require_decision,
    )
    connection.execute(
        insert(t.gate_decisions).values(
            model_id=model_id,
            decision=action,
            override=True,
            reason=reason,
            decided_by=decided_by,
            host=host,
            decided_at=now,
            expires_at=expires_at,
        )
    )
    after = gate_states(
        connection, require_decision=require_decision, now=now, model_ids=[model_id]
    )[model_id]
    _mirror(connection, after)
    return before, after


def mark_stale(
    connection: Connection,
    current: Mapping[str, str],
    *,
    tools: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> list[StaleMark]:
    """Mark stale every latest gate decision judged on a contract or flow that changed.

    Args:
        current: ``tool@version`` and ``case:ID`` keys of the contracts and eval cases
            as they are now, to their hashes (as in :class:`Provenance`).
        tools: tool name to its current latest version, for a readable reason.
        now: when the marks are made.

    Returns:
        The decisions newly marked (already-stale ones are left as they are).
    """
    now = now or _now()
    tools = tools or {}
    gate, _ = latest_decisions(connection)
    marks: list[StaleMark] = []
    for row in gate.values():
        if row.stale_reason is not None or not row.contract_hashes:
            continue
        changes: list[str] = []
        for key, digest in sorted(row.contract_hashes.items()):
            if current.get(key) == digest:
                continue
            name, _, version = key.partition("@")
            if key.startswith("case:"):
                state = "changed" if key in current else "was removed"
                changes.append(f"case {key[5:]} {state}")
            elif key in current:
                changes.append(f"{key} changed in place")
            elif name in tools:
                changes.append(f"{name} is at {tools[name]}, not {version}")
            else:
                changes.append(f"{name} was removed")
        if changes:
            reason = "; ".join(changes)
            connection.execute(
                update(t.gate_decisions)
                .where(t.gate_decisions.c.id == row.id)
                .values(stale_reason=reason, stale_at=now)
            )
            marks.append(StaleMark(row.id, row.model_id, reason))
    if marks:
        marked = [mark.model_id for mark in marks]
        for effective in gate_states(
            connection, require_decision=True, now=now, model_ids=marked
        ).values():
            _mirror(connection, effective)
    return marks


def mark_stale_decision(
    connection: Connection, decision_id: int, reason: str, *, now: dt.datetime | None = None
) -> StaleMark | None:
    """Mark one gate decision stale for ``reason``, unless it is stale already.

    The row keeps the reason and the time (``stale_reason``, ``stale_at``), as
    :func:`mark_stale`'s marks do, and the model's mirrored state follows. A decision
    marked meanwhile by another process keeps its first reason.

    Returns:
        The mark, or ``None`` when the decision was stale already (or is no gate decision).
    """
    now = now or _now()
    d = t.gate_decisions
    changed = connection.execute(
        update(d)
        .where(d.c.id == decision_id, d.c.override.is_(False), d.c.stale_reason.is_(None))
        .values(stale_reason=reason, stale_at=now)
    )
    if changed.rowcount != 1:
        return None
    model_id = connection.execute(select(d.c.model_id).where(d.c.id == decision_id)).scalar_one()
    effective = gate_states(connection, require_decision=True, now=now, model_ids=[model_id])
    _mirror(connection, effective[model_id])
    return StaleMark(decision_id, model_id, reason)
