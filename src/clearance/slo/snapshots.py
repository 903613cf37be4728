"""Model snapshots on live traffic: calls served by a snapshot no enabling decision verified.

A provider reports what answered each call (``ai_calls.model_snapshot``: OpenAI's
``model@system_fingerprint``, Anthropic's ``model``, Gemini's ``modelVersion``), and a
gate decision records the snapshots its judged results were answered by
(``gate_decisions.snapshots``). :func:`check_snapshots` compares the two, per model whose
latest gate decision is ``enable``, over a window's live calls (an eval run's own calls
never count, whatever the SLO check includes):

* a snapshot that served live calls and is not among the decision's is an **unverified
  snapshot** (:class:`UnverifiedSnapshot`), with its calls and the first and last of them;
* calls whose provider reported no snapshot are counted as ``unknown``, never flagged;
* a decision that records no snapshot (taken before snapshots were kept, or on results
  none of which reported one) can verify nothing, so flags nothing: the model is listed
  as ``unrecorded``, to be gated again.

The counting is one ``GROUP BY`` in the database
(:func:`clearance.catalog.callstats.snapshot_counts`). :func:`enforce_snapshots` then does
what each decision's gate policy says (``snapshots.on_unverified``): ``warn`` leaves it
alone, ``stale`` marks it stale with a reason naming the snapshots
(:func:`clearance.catalog.gatestore.mark_stale_decision`), so that the router stops serving
the model, as for any stale decision, until it is evaluated and gated again. Snapshots are
a provider's text: shown escaped, quoted with :func:`repr` in a stale reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from clearance.catalog.callstats import snapshot_counts
from clearance.catalog.gatestore import StaleMark, latest_decisions, mark_stale_decision
from clearance.slo.aggregate import CallFilter

if TYPE_CHECKING:
    from clearance.gate.policy import OnUnverified

__all__ = [
    "ModelSnapshots",
    "SnapshotCheck",
    "SnapshotUse",
    "UnverifiedSnapshot",
    "check_snapshots",
    "enforce_snapshots",
    "unverified_reason",
]

_SHOWN = 3
"""Unverified snapshots a stale reason names (the rest are counted)."""
_SNAPSHOT_TEXT = 80
"""Characters of a snapshot a stale reason quotes."""


@dataclass(frozen=True, slots=True)
class SnapshotUse:
    """A window's live calls of one model served by one snapshot."""

    snapshot: str
    calls: int
    first_seen: dt.datetime
    last_seen: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (times in ISO 8601)."""
        return {
            "snapshot": self.snapshot,
            "calls": self.calls,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class UnverifiedSnapshot:
    """Live traffic of a model served by a snapshot its enabling decision was not taken on."""

    model_id: str
    snapshot: str
    calls: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    decision_id: int
    """The enabling decision that did not verify it."""
    on_unverified: OnUnverified | None = None
    """What the decision's policy says (set by :func:`enforce_snapshots`)."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (times in ISO 8601)."""
        return {
            "model_id": self.model_id,
            "snapshot": self.snapshot,
            "calls": self.calls,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "decision_id": self.decision_id,
            "on_unverified": self.on_unverified,
        }


@dataclass(frozen=True, slots=True)
class ModelSnapshots:
    """One model's live snapshots over the window, against its latest enabling decision."""

    model_id: str
    decision_id: int
    decided_at: dt.datetime
    policy_name: str | None
    verified: Mapping[str, int] | None
    """The decision's ``{snapshot: judged results}`` (``None``: not recorded)."""
    live: tuple[SnapshotUse, ...]
    """Every snapshot that served its live calls, by model snapshot."""
    unknown_calls: int
    """Live calls served whose provider reported no snapshot (never flagged)."""
    stale_reason: str | None
    """Why the decision is stale already, if it is (it is not marked again)."""
    on_unverified: OnUnverified | None = None
    """What the decision's policy says (set by :func:`enforce_snapshots`)."""

    @property
    def recorded(self) -> bool:
        """Whether the decision records any snapshot (else it verifies, and flags, none)."""
        return bool(self.verified)

    @property
    def unverified(self) -> tuple[UnverifiedSnapshot, ...]:
        """The live snapshots the decision was not taken on (none when it records none)."""
        if not self.verified:
            return ()
        return tuple(
            UnverifiedSnapshot(
                self.model_id,
                use.snapshot,
                use.calls,
                use.first_seen,
                use.last_seen,
                self.decision_id,
                self.on_unverified,
            )
            for use in self.live
            if use.snapshot not in self.verified
        )

    @property
    def calls(self) -> int:
        """Its live calls served in the window, unknown snapshots included."""
        return sum(use.calls for use in self.live) + self.unknown_calls

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (times in ISO 8601)."""
        verified = self.verified or {}
        return {
            "model_id": self.model_id,
            "decision_id": self.decision_id,
            "decided_at": self.decided_at.isoformat(),
            "policy": self.policy_name,
            "verified": None if self.verified is None else dict(self.verified),
            "recorded": self.recorded,
            "live": [{**use.to_json(), "verified": use.snapshot in verified} for use in self.live],
            "unknown_calls": self.unknown_calls,
            "stale_reason": self.stale_reason,
            "on_unverified": self.on_unverified,
        }


@dataclass(frozen=True, slots=True)
class SnapshotCheck:
    """Every model with an enabling decision, its live snapshots over the window."""

    since: dt.datetime
    until: dt.datetime
    models: tuple[ModelSnapshots, ...]
    """By model id."""
    marked: tuple[StaleMark, ...] = field(default=())
    """Decisions :func:`enforce_snapshots` marked stale."""

    @property
    def unverified(self) -> tuple[UnverifiedSnapshot, ...]:
        """Every unverified snapshot, by model, then snapshot."""
        return tuple(found for model in self.models for found in model.unverified)

    @property
    def unknown_calls(self) -> int:
        """Live calls served by these models whose provider reported no snapshot."""
        return sum(model.unknown_calls for model in self.models)

    @property
    def unrecorded(self) -> tuple[str, ...]:
        """Models whose enabling decision records no snapshot (gate them again)."""
        return tuple(model.model_id for model in self.models if not model.recorded)

    def model(self, model_id: str) -> ModelSnapshots | None:
        """One model's entry (``None``: it has no enabling decision)."""
        return next((model for model in self.models if model.model_id == model_id), None)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "live_calls_only": True,  # an eval run's calls never count
            "unverified": [found.to_json() for found in self.unverified],
            "unknown_calls": self.unknown_calls,
            "unrecorded": list(self.unrecorded),
            "marked_stale": [
                {"decision_id": mark.decision_id, "model_id": mark.model_id, "reason": mark.reason}
                for mark in self.marked
            ],
            "models": [model.to_json() for model in self.models],
        }


def check_snapshots(connection: Connection, calls: CallFilter) -> SnapshotCheck:
    """The live snapshots of every model whose latest gate decision is ``enable`` (only the
    ``calls.model`` one, when set), over ``calls``' window and org, against that decision.

    Raises:
        CatalogUnavailable: the database cannot be read.
    """
    live = dataclasses.replace(calls, include_evals=False)
    wanted = None if calls.model is None else [calls.model]
    gate, _ = latest_decisions(connection, wanted)
    enabling = {model_id: row for model_id, row in gate.items() if row.decision == "enable"}
    seen: dict[str, list[SnapshotUse]] = {}
    unknown: dict[str, int] = {}
    for count in snapshot_counts(connection, live, sorted(enabling)):
        if count.model_snapshot is None:
            unknown[count.served_model] = unknown.get(count.served_model, 0) + count.calls
            continue
        use = SnapshotUse(count.model_snapshot, count.calls, count.first_at, count.last_at)
        seen.setdefault(count.served_model, []).append(use)
    models = tuple(
        ModelSnapshots(
            model_id=model_id,
            decision_id=row.id,
            decided_at=row.decided_at,
            policy_name=row.policy_name,
            verified=row.snapshots,
            live=tuple(seen.get(model_id, ())),
            unknown_calls=unknown.get(model_id, 0),
            stale_reason=row.stale_reason,
        )
        for model_id, row in sorted(enabling.items())
    )
    return SnapshotCheck(calls.since, calls.until, models)


def unverified_reason(found: tuple[UnverifiedSnapshot, ...]) -> str:
    """The reason a decision is marked stale for: the unverified snapshots, quoted."""
    parts = [
        f"{_quoted(item.snapshot)} ({item.calls} call{'' if item.calls == 1 else 's'}, "
        f"{_when(item.first_seen)} to {_when(item.last_seen)})"
        for item in found[:_SHOWN]
    ]
    more = len(found) - _SHOWN
    if more > 0:
        parts.append(f"and {more} more")
    noun = "snapshot" if len(found) == 1 else "snapshots"
    return f"live traffic served by unverified model {noun} " + ", ".join(parts)


def enforce_snapshots(
    connection: Connection,
    check: SnapshotCheck,
    on_unverified: Callable[[str | None], OnUnverified],
    *,
    now: dt.datetime | None = None,
) -> SnapshotCheck:
    """Do what each decision's gate policy says of its unverified snapshots.

    ``on_unverified`` gives a policy's rule by the name the decision recorded. A model
    with an unverified snapshot whose rule is ``stale`` has its decision marked stale
    (once: a stale decision keeps its first reason); ``warn`` changes nothing.

    Returns:
        ``check`` with each flagged model's rule and the marks made.
    """
    marks: list[StaleMark] = []
    models: list[ModelSnapshots] = []
    for model in check.models:
        found = model.unverified
        if not found:
            models.append(model)
            continue
        rule = on_unverified(model.policy_name)
        model = dataclasses.replace(model, on_unverified=rule)
        if rule == "stale" and model.stale_reason is None:
            mark = mark_stale_decision(
                connection, model.decision_id, unverified_reason(model.unverified), now=now
            )
            if mark is not None:
                marks.append(mark)
                model = dataclasses.replace(model, stale_reason=mark.reason)
        models.append(model)
    return dataclasses.replace(check, models=tuple(models), marked=(*check.marked, *marks))


def _quoted(snapshot: str) -> str:
    """A provider's text, quoted and cut: control characters come out as escapes."""
    text = snapshot if len(snapshot) <= _SNAPSHOT_TEXT else snapshot[:_SNAPSHOT_TEXT] + "…"
    return repr(text)


def _when(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")
