"""Eval runs and their per-item results, as the catalog holds them: plain records.

:class:`RunSpec` (what a run is) and :class:`ItemResult` (one trial of one case against
one model) are what the eval engine writes; :class:`RunRecord`, :class:`ShardState` and
:class:`RunStatus` are what :class:`~clearance.catalog.runstore.ResultStore` reads back.
They check their own values (lengths the columns allow, JSON-able evidence, exact money)
so a bad value fails here, the same on SQLite and PostgreSQL, before any SQL runs.

This module imports nothing above it (no SQL, no eval engine): the store below and the
evaluation above both use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import numbers
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast, get_args

from clearance.errors import InputError

__all__ = [
    "ITEM_FIELDS",
    "CaseKind",
    "FinishStatus",
    "ItemResult",
    "RunRecord",
    "RunSpec",
    "RunState",
    "RunStatus",
    "ShardState",
    "Verdict",
    "check_money",
    "money_text",
    "new_run_id",
]

CaseKind = Literal["contract", "flow", "bfcl"]
Verdict = Literal["pass", "fail", "infra_error"]
RunState = Literal["running", "complete", "stopped", "failed"]
FinishStatus = Literal["complete", "stopped", "failed"]

# String columns with a length limit: PostgreSQL enforces them, SQLite does not,
# so they are checked here to fail the same (and clearly) on both back ends.
_LIMITS = {
    "model_id": 300,
    "case_id": 300,
    "tool": 128,
    "contract_version": 32,
    "criticality": 16,
    "failure_code": 32,
    "served_model": 300,
    "model_snapshot": 255,
}


def new_run_id() -> str:
    """A fresh run id (a UUID4 as 32 hex digits)."""
    return uuid.uuid4().hex


def money_text(value: Decimal | None) -> str | None:
    """A Decimal as a JSON string in plain notation ("0.000000123", not "1.23E-7")."""
    return None if value is None else format(value, "f")


# ----------------------------------------------------------------------- errors


def _check(condition: bool, name: str, value: Any, reason: str) -> None:
    if not condition:
        raise InputError(f"{name}={value!r}: {reason}")


def _check_json(name: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"{name} is not JSON-able: {error}",
            fix="keep evidence and details to dicts, lists, str, int, finite float, bool, "
            "None; write Decimals as strings",
        ) from None


def check_money(name: str, value: Decimal | None) -> None:
    """Raise :class:`~clearance.errors.InputError` unless ``value`` is ``None`` or a finite
    Decimal (``name`` is the field, for the message)."""
    if value is None:
        return
    _check(isinstance(value, Decimal), name, value, "money must be a Decimal")
    _check(value.is_finite(), name, value, "money must be finite")


# ------------------------------------------------------------------- the data


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """What an eval run is: the same for every shard of it."""

    run_id: str
    suites: tuple[str, ...]
    models: tuple[str, ...]
    trials: int
    """Trials per (model, case)."""
    record_mode: str
    """How cassettes were used (at most 8 characters: the column is ``String(8)``)."""
    shards: int = 1
    """Total shards; 1 = unsharded."""
    suite_hash: str
    contracts_hash: str
    git_commit: str | None = None
    cost_cap: Decimal | None = None
    """USD for the whole run."""
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """Free JSON-able extras; the key ``"shards"`` is the store's own."""

    def __post_init__(self) -> None:
        _check(0 < len(self.run_id) <= 36, "run_id", self.run_id, "must be 1-36 characters")
        _check(self.trials >= 1, "trials", self.trials, "must be at least 1")
        _check(self.shards >= 1, "shards", self.shards, "must be at least 1")
        _check(bool(self.models), "models", self.models, "a run needs at least one model")
        _check(len(self.record_mode) <= 8, "record_mode", self.record_mode, "at most 8 characters")
        for name in ("suite_hash", "contracts_hash", "git_commit"):
            value = getattr(self, name)
            _check(value is None or len(value) <= 64, name, value, "at most 64 characters")
        check_money("cost_cap", self.cost_cap)
        _check("shards" not in self.details, "details", dict(self.details), "'shards' is reserved")
        _check_json("details", dict(self.details))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (Decimal as a string)."""
        return {
            "run_id": self.run_id,
            "suites": list(self.suites),
            "models": list(self.models),
            "trials": self.trials,
            "record_mode": self.record_mode,
            "shards": self.shards,
            "suite_hash": self.suite_hash,
            "contracts_hash": self.contracts_hash,
            "git_commit": self.git_commit,
            "cost_cap": money_text(self.cost_cap),
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemResult:
    """One trial of one case against one model."""

    model_id: str
    case_id: str
    case_kind: CaseKind
    trial: int
    """1-based."""
    verdict: Verdict
    tool: str | None = None
    contract_version: str | None = None
    criticality: str | None = None
    shard: int | None = None
    failure_code: str | None = None
    evidence: Mapping[str, Any] | list[Any] | None = field(default=None, hash=False)
    """JSON-able: what the grader saw."""
    turns_passed: int | None = None
    turns_total: int | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: Decimal | None = None
    """USD, exact; ``None``: unpriced."""
    served_model: str | None = None
    model_snapshot: str | None = None
    """What the provider said answered (``model[@system_fingerprint]``, Anthropic's
    ``model``, Gemini's ``modelVersion``), as on ``ai_calls``: that of the trial's last
    call, the one ``served_model`` names. A trial whose calls reported different ones
    also lists each call's, in order, in ``evidence["snapshots"]``."""
    fallback_served: bool = False
    """Another model answered: counted as an infra error by the metrics."""
    cassette: str | None = None

    def __post_init__(self) -> None:
        _check(self.case_kind in get_args(CaseKind), "case_kind", self.case_kind, "unknown kind")
        _check(self.verdict in get_args(Verdict), "verdict", self.verdict, "unknown verdict")
        _check(self.trial >= 1, "trial", self.trial, "trials are numbered from 1")
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            _check(value is None or len(value) <= limit, name, value, f"at most {limit} chars")
        _check(bool(self.model_id), "model_id", self.model_id, "must not be empty")
        _check(bool(self.case_id), "case_id", self.case_id, "must not be empty")
        check_money("cost", self.cost)
        if self.latency_ms is not None:
            _check(math.isfinite(self.latency_ms), "latency_ms", self.latency_ms, "not finite")
        if self.evidence is not None:
            _check_json("evidence", self.evidence)

    @property
    def key(self) -> tuple[str, str, int]:
        """(model_id, case_id, trial): unique within a run."""
        return (self.model_id, self.case_id, self.trial)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields in declaration order (Decimal as a string)."""
        values = {name: getattr(self, name) for name in ITEM_FIELDS}
        values["cost"] = money_text(self.cost)
        values["evidence"] = _plain(self.evidence)
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> ItemResult:
        """The inverse of :meth:`to_json` (extra keys such as ``run_id`` are ignored)."""
        known = {name: values[name] for name in ITEM_FIELDS if name in values}
        if known.get("cost") is not None:
            known["cost"] = Decimal(known["cost"])
        known["fallback_served"] = bool(known.get("fallback_served", False))
        return cls(**known)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ItemResult:
        """An ``eval_results`` row: a SQLAlchemy row mapping, or a record of the frame
        :meth:`~clearance.catalog.runstore.ResultStore.results` returns (pandas' NaN/NA
        read as ``None``)."""
        values = {name: _scalar(row[name]) for name in ITEM_FIELDS}
        values["fallback_served"] = bool(values["fallback_served"])
        return cls(**values)

    def to_row(self) -> dict[str, Any]:
        """Its ``eval_results`` values, the inverse of :meth:`from_row` (the store adds
        ``run_id``, ``created_at`` and the row id)."""
        values = {name: getattr(self, name) for name in ITEM_FIELDS}
        values["evidence"] = _plain(self.evidence)
        return values


ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ItemResult))


_PLAIN_TYPES = frozenset({str, int, bool, Decimal, dict, list, type(None)})


def _scalar(value: Any) -> Any:
    """Plain Python from a database or pandas value: NaN and pandas.NA become None,
    numpy numbers become int or float."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return None if math.isnan(number) else number
    if type(value).__name__ == "NAType":  # pandas.NA, without importing pandas
        return None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    return value


@dataclass(frozen=True, slots=True)
class ShardState:
    """One shard of a run, as recorded in the run's ``details``."""

    shard: int
    status: RunState
    started_at: dt.datetime
    ended_at: dt.datetime | None
    spend: Decimal
    """USD over every attempt of this shard (a re-run shard's spend adds up)."""
    attempts: int
    note: str | None

    def to_json(self) -> dict[str, Any]:
        """The JSON kept in ``details.shards``."""
        return {
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "spend": money_text(self.spend),
            "attempts": self.attempts,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, shard: int, values: Mapping[str, Any]) -> ShardState:
        """Read one entry of ``details.shards``."""
        ended = values.get("ended_at")
        return cls(
            shard=shard,
            status=cast(RunState, values["status"]),
            started_at=dt.datetime.fromisoformat(values["started_at"]),
            ended_at=None if ended is None else dt.datetime.fromisoformat(ended),
            spend=Decimal(values.get("spend") or "0"),
            attempts=int(values.get("attempts", 1)),
            note=values.get("note"),
        )


@dataclass(frozen=True, slots=True)
class RunStatus:
    """Where a run stands after a shard finished."""

    run_id: str
    status: RunState
    spend: Decimal
    """USD, the sum of the shards' spends so far."""
    shards: int
    finished: int
    """Shards that have finished (complete, stopped or failed)."""
    ended_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """An eval run as the catalog holds it: its spec's fields, then its state."""

    run_id: str
    suites: tuple[str, ...]
    models: tuple[str, ...]
    trials: int
    record_mode: str
    shards: int
    suite_hash: str
    contracts_hash: str
    git_commit: str | None
    cost_cap: Decimal | None
    details: Mapping[str, Any] = field(hash=False)
    """The spec's details, without the store's ``shards`` entry."""
    status: RunState
    started_at: dt.datetime
    ended_at: dt.datetime | None
    """Set once every shard has finished."""
    spend: Decimal | None
    """USD, the sum of the shards' spends (``None`` only on rows not written by this store)."""
    shard_states: Mapping[int, ShardState] = field(hash=False)

    @property
    def spec(self) -> RunSpec:
        """The spec the run was started with."""
        return RunSpec(**{name: getattr(self, name) for name in _SPEC_FIELDS})

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (Decimal as a string, times in ISO 8601)."""
        return {
            **self.spec.to_json(),
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "spend": money_text(self.spend),
            "shard_states": {str(n): s.to_json() for n, s in sorted(self.shard_states.items())},
        }


_SPEC_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunSpec))
