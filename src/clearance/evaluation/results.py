"""Eval runs and their per-item results in the catalog.

One ``eval_runs`` row per run and one ``eval_results`` row per (model, case,
trial). A run may be split into shards executed by different machines that
write into one shared catalog: every shard joins the same run id, and the run
is ``complete`` only once every shard has finished. Shard states live in the
run's ``details`` JSON under ``"shards"``::

    {"shards": {"2": {"status": "running", "started_at": "...", "ended_at": null,
                      "spend": "0", "attempts": 1, "note": null}}, ...spec details}

Rates are never stored: :mod:`clearance.evaluation.metrics` computes them from
the rows this module keeps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import numbers
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, cast, get_args

from sqlalchemy import Connection, String, Text, delete, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.errors import InputError, InvalidShard, RunSpecMismatch, UnknownRun

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "RESULT_COLUMNS",
    "CaseKind",
    "FinishStatus",
    "ItemResult",
    "ResultStore",
    "RunRecord",
    "RunSpec",
    "RunState",
    "RunStatus",
    "ShardState",
    "Verdict",
    "new_run_id",
]

CaseKind = Literal["contract", "flow", "bfcl"]
Verdict = Literal["pass", "fail", "infra_error"]
RunState = Literal["running", "complete", "stopped", "failed"]
FinishStatus = Literal["complete", "stopped", "failed"]

#: Columns of ``eval_results`` in table order (the DataFrame's columns).
RESULT_COLUMNS: tuple[str, ...] = tuple(column.name for column in t.eval_results.columns)

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
}
_BATCH = 1000
_IN_CHUNK = 500


def new_run_id() -> str:
    """A fresh run id (a UUID4 as 32 hex digits)."""
    return uuid.uuid4().hex


def _money(value: Decimal | None) -> str | None:
    """A Decimal as a JSON string in plain notation ("0.000000123", not "1.23E-7")."""
    return None if value is None else format(value, "f")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


def _check_money(name: str, value: Decimal | None) -> None:
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
        _check_money("cost_cap", self.cost_cap)
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
            "cost_cap": _money(self.cost_cap),
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
        _check_money("cost", self.cost)
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
        values = {name: getattr(self, name) for name in _ITEM_FIELDS}
        values["cost"] = _money(self.cost)
        values["evidence"] = _plain(self.evidence)
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> ItemResult:
        """The inverse of :meth:`to_json` (extra keys such as ``run_id`` are ignored)."""
        known = {name: values[name] for name in _ITEM_FIELDS if name in values}
        if known.get("cost") is not None:
            known["cost"] = Decimal(known["cost"])
        known["fallback_served"] = bool(known.get("fallback_served", False))
        return cls(**known)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ItemResult:
        """An ``eval_results`` row: a SQLAlchemy row mapping, or a record of the
        :meth:`ResultStore.results` frame (pandas' NaN/NA read as ``None``)."""
        values = {name: _scalar(row[name]) for name in _ITEM_FIELDS}
        values["fallback_served"] = bool(values["fallback_served"])
        return cls(**values)

    def _row(self, run_id: str, created_at: dt.datetime) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in _ITEM_FIELDS}
        values["evidence"] = _plain(self.evidence)
        values["run_id"] = run_id
        values["created_at"] = created_at
        return values


_ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ItemResult))


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
            "spend": _money(self.spend),
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
            "spend": _money(self.spend),
            "shard_states": {str(n): s.to_json() for n, s in sorted(self.shard_states.items())},
        }


_SPEC_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunSpec))


def _record(row: Any) -> RunRecord:
    details = dict(row.details or {})
    shard_json = details.pop("shards", {}) or {}
    return RunRecord(
        run_id=row.id,
        suites=tuple(row.suites or ()),
        models=tuple(row.models),
        trials=row.trials,
        record_mode=row.record_mode or "",
        shards=row.shards or 1,
        suite_hash=row.suite_hash or "",
        contracts_hash=row.contracts_hash or "",
        git_commit=row.git_commit,
        cost_cap=row.cost_cap,
        details=details,
        status=cast(RunState, row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        spend=row.spend,
        shard_states={int(n): ShardState.from_json(int(n), v) for n, v in shard_json.items()},
    )


def _run_state(states: Mapping[int, ShardState], total: int) -> tuple[RunState, bool]:
    """(run status, whether every shard has finished)."""
    finished = [s for s in states.values() if s.status != "running"]
    all_done = len(finished) == total and len(states) == total
    statuses = {s.status for s in finished}
    if "failed" in statuses:
        return "failed", all_done
    if not all_done:
        return "running", False
    return ("stopped" if "stopped" in statuses else "complete"), True


def _spec_differences(row: Any, spec: RunSpec) -> dict[str, tuple[Any, Any]]:
    stored = {
        "suite_hash": row.suite_hash,
        "contracts_hash": row.contracts_hash,
        "models": sorted(row.models),
        "suites": sorted(row.suites or ()),
        "trials": row.trials,
        "shards": row.shards or 1,
        "record_mode": row.record_mode,
    }
    given = {
        "suite_hash": spec.suite_hash,
        "contracts_hash": spec.contracts_hash,
        "models": sorted(spec.models),
        "suites": sorted(spec.suites),
        "trials": spec.trials,
        "shards": spec.shards,
        "record_mode": spec.record_mode,
    }
    return {name: (stored[name], given[name]) for name in stored if stored[name] != given[name]}


# ------------------------------------------------------------------ the store


_TEXT_COLUMNS = tuple(
    column.name
    for column in t.eval_results.columns
    if isinstance(column.type, String | Text) and column.name != "evidence"
)


class ResultStore:
    """Eval runs and results in the catalog.

    Args:
        catalog: the catalog (migrated); every database failure surfaces as
            :class:`~clearance.errors.CatalogUnavailable`, nothing is dropped silently.
        clock: the time source (UTC, aware).
        batch_size: results written per transaction by :meth:`add_results`.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        clock: Callable[[], dt.datetime] = _now,
        batch_size: int = _BATCH,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size={batch_size}: must be at least 1")
        self.catalog = catalog
        self._clock = clock
        self._batch_size = batch_size

    # -- runs

    def _lock_run(self, connection: Connection, run_id: str) -> Any:
        """The run row, locked against concurrent writers until the transaction ends."""
        query = select(t.eval_runs).where(t.eval_runs.c.id == run_id)
        if self.catalog.dialect == "postgresql":
            return connection.execute(query.with_for_update()).one_or_none()
        # SQLite has no row locks: a write as the transaction's first statement takes
        # the database write lock (waiting out busy_timeout), so the read that follows
        # sees every committed update and nobody writes in between.
        connection.execute(
            update(t.eval_runs)
            .where(t.eval_runs.c.id == run_id)
            .values(status=t.eval_runs.c.status)
        )
        return connection.execute(query).one_or_none()

    def _shard_number(self, run_id: str, shards: int, shard: int | None) -> int:
        if shard is None:
            if shards != 1:
                raise InvalidShard(
                    run_id,
                    None,
                    f"the run has {shards} shards, so each must say which it is",
                    fix=f"pass --shard N/{shards}",
                )
            return 1
        if not 1 <= shard <= shards:
            raise InvalidShard(
                run_id,
                shard,
                f"out of range: the run has {shards} shard(s), numbered from 1",
                fix=f"pass --shard N/{shards} with 1 <= N <= {shards}",
            )
        return shard

    def start_run(self, spec: RunSpec, *, shard: int | None) -> None:
        """Create the run, or join it as ``shard`` (1-based; ``None`` when unsharded).

        Safe when shards start at the same moment: the run row is inserted if
        missing and then locked while this shard's state is recorded. Starting a
        shard again (a re-run) puts it, and so the run, back to ``running``.

        Raises:
            RunSpecMismatch: the run exists with another suite, contracts, models,
                trials, shard count or record mode.
            InvalidShard: the shard number does not fit the spec.
            CatalogUnavailable: the database is down.
        """
        number = self._shard_number(spec.run_id, spec.shards, shard)
        now = self._clock()
        values = {
            "id": spec.run_id,
            "started_at": now,
            "status": "running",
            "suite_hash": spec.suite_hash,
            "contracts_hash": spec.contracts_hash,
            "models": list(spec.models),
            "suites": list(spec.suites),
            "trials": spec.trials,
            "git_commit": spec.git_commit,
            "record_mode": spec.record_mode,
            "shards": spec.shards,
            "cost_cap": spec.cost_cap,
            "details": {**spec.details, "shards": {}},
        }
        if self.catalog.dialect == "postgresql":
            create: Any = postgresql.insert(t.eval_runs).values(values).on_conflict_do_nothing()
        else:
            create = sqlite.insert(t.eval_runs).values(values).on_conflict_do_nothing()
        with self.catalog.begin() as connection:
            connection.execute(create)
            row = self._lock_run(connection, spec.run_id)
            if row is None:  # deleted between the two statements
                raise UnknownRun(spec.run_id)
            differences = _spec_differences(row, spec)
            if differences:
                raise RunSpecMismatch(spec.run_id, differences)
            record = _record(row)
            previous = record.shard_states.get(number)
            states = dict(record.shard_states)
            states[number] = ShardState(
                shard=number,
                status="running",
                started_at=now,
                ended_at=None,
                spend=previous.spend if previous else Decimal(0),
                attempts=previous.attempts + 1 if previous else 1,
                note=None,
            )
            self._write_states(connection, row, states)

    def _write_states(
        self, connection: Connection, row: Any, states: Mapping[int, ShardState]
    ) -> RunStatus:
        total = row.shards or 1
        status, all_done = _run_state(states, total)
        finished = [s for s in states.values() if s.status != "running"]
        spend = sum((s.spend for s in states.values()), Decimal(0))
        ended_at = max(s.ended_at for s in finished if s.ended_at) if all_done else None
        details = dict(row.details or {})
        details["shards"] = {str(n): s.to_json() for n, s in sorted(states.items())}
        connection.execute(
            update(t.eval_runs)
            .where(t.eval_runs.c.id == row.id)
            .values(status=status, spend=spend, ended_at=ended_at, details=details)
        )
        return RunStatus(row.id, status, spend, total, len(finished), ended_at)

    def finish(
        self,
        run_id: str,
        *,
        shard: int | None,
        status: FinishStatus,
        spend: Decimal,
        note: str | None = None,
    ) -> RunStatus:
        """Mark a shard finished with what it spent (USD); returns where the run stands.

        The run is ``failed`` as soon as any shard failed; once every shard has
        finished it is ``stopped`` if any stopped (cost cap), else ``complete``, and
        ``ended_at`` is set. Its ``spend`` is the sum of the shards' spends.

        Raises:
            UnknownRun: no such run.
            InvalidShard: the shard is out of range, was never started, or has finished.
            CatalogUnavailable: the database is down.
        """
        if status not in get_args(FinishStatus):
            raise InputError(f"status={status!r}: must be one of {get_args(FinishStatus)}")
        _check_money("spend", spend)
        _check(spend >= 0, "spend", spend, "must not be negative")
        with self.catalog.begin() as connection:
            row = self._lock_run(connection, run_id)
            if row is None:
                raise UnknownRun(run_id)
            number = self._shard_number(run_id, row.shards or 1, shard)
            states = dict(_record(row).shard_states)
            current = states.get(number)
            if current is None:
                raise InvalidShard(
                    run_id, shard, "was never started", fix="start it with start_run first"
                )
            if current.status != "running":
                raise InvalidShard(
                    run_id,
                    shard,
                    f"has finished already ({current.status})",
                    fix="start it again (start_run) to re-run it",
                )
            states[number] = ShardState(
                shard=number,
                status=status,
                started_at=current.started_at,
                ended_at=self._clock(),
                spend=current.spend + spend,
                attempts=current.attempts,
                note=note,
            )
            return self._write_states(connection, row, states)

    def run(self, run_id: str) -> RunRecord | None:
        """The run, or ``None``."""
        with self.catalog.connect() as connection:
            row = connection.execute(
                select(t.eval_runs).where(t.eval_runs.c.id == run_id)
            ).one_or_none()
        return None if row is None else _record(row)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The newest ``limit`` runs, newest first."""
        query = (
            select(t.eval_runs)
            .order_by(t.eval_runs.c.started_at.desc(), t.eval_runs.c.id.desc())
            .limit(limit)
        )
        with self.catalog.connect() as connection:
            return [_record(row) for row in connection.execute(query)]

    def latest_run_id(self) -> str | None:
        """The id of the newest run, or ``None`` when there is none."""
        query = (
            select(t.eval_runs.c.id)
            .order_by(t.eval_runs.c.started_at.desc(), t.eval_runs.c.id.desc())
            .limit(1)
        )
        with self.catalog.connect() as connection:
            value = connection.execute(query).scalar()
        return None if value is None else str(value)

    # -- results

    def add_results(self, run_id: str, results: Sequence[ItemResult]) -> None:
        """Store results, one transaction per batch.

        A result whose (model, case, trial) is stored already for the run (a
        re-run shard) replaces the stored row; within ``results`` the last wins.

        Raises:
            UnknownRun: no such run.
            InputError: a trial number above the run's ``trials``.
            CatalogUnavailable: the database is down (the batches committed before
                stay; re-adding everything is safe, since rows replace).
        """
        latest: dict[tuple[str, str, int], ItemResult] = {}
        for item in results:
            latest[item.key] = item
        if not latest:
            return
        with self.catalog.connect() as connection:
            trials = connection.execute(
                select(t.eval_runs.c.trials).where(t.eval_runs.c.id == run_id)
            ).scalar()
        if trials is None:
            raise UnknownRun(run_id)
        beyond = [item for item in latest.values() if item.trial > trials]
        if beyond:
            raise InputError(
                f"run {run_id!r} has {trials} trial(s) per case, but "
                f"{beyond[0].model_id} / {beyond[0].case_id} has trial {beyond[0].trial}",
                fix="number trials from 1 to the run's trials",
            )
        items = list(latest.values())
        for start in range(0, len(items), self._batch_size):
            self._write_batch(run_id, items[start : start + self._batch_size])

    def _write_batch(self, run_id: str, batch: Sequence[ItemResult]) -> None:
        created = self._clock()
        keys = {item.key for item in batch}
        cases = sorted({item.case_id for item in batch})
        c = t.eval_results.c
        with self.catalog.begin() as connection:
            stale: list[int] = []
            for start in range(0, len(cases), _IN_CHUNK):
                query = select(c.id, c.model_id, c.case_id, c.trial).where(
                    c.run_id == run_id, c.case_id.in_(cases[start : start + _IN_CHUNK])
                )
                stale.extend(
                    row.id
                    for row in connection.execute(query)
                    if (row.model_id, row.case_id, row.trial) in keys
                )
            for start in range(0, len(stale), _IN_CHUNK):
                connection.execute(
                    delete(t.eval_results).where(c.id.in_(stale[start : start + _IN_CHUNK]))
                )
            connection.execute(
                insert(t.eval_results), [item._row(run_id, created) for item in batch]
            )

    def _select(
        self, run_id: str | Sequence[str] | None, model_id: str | None, evidence: bool
    ) -> Any:
        c = t.eval_results.c
        columns = [
            column if evidence or column.name != "evidence" else null().label("evidence")
            for column in t.eval_results.columns
        ]
        query = select(*columns).order_by(c.run_id, c.model_id, c.case_id, c.trial)
        if isinstance(run_id, str):
            query = query.where(c.run_id == run_id)
        elif run_id is not None:
            query = query.where(c.run_id.in_(list(run_id)))
        if model_id is not None:
            query = query.where(c.model_id == model_id)
        return query

    def results(
        self,
        run_id: str | Sequence[str] | None = None,
        *,
        model_id: str | None = None,
        evidence: bool = True,
    ) -> pd.DataFrame:
        """Stored results as a DataFrame, one row per result, columns as in the table.

        ``cost`` holds :class:`~decimal.Decimal` objects or ``None`` (object dtype), and
        text columns hold ``str`` or ``None`` (object dtype, never NaN);
        ``evidence`` holds the parsed JSON (``None`` everywhere with ``evidence=False``,
        which skips reading and parsing it: figures never need it); integer columns
        that may be missing are nullable ``Int64``. Ordered by run, model, case, trial.

        Args:
            run_id: one run, several runs, or ``None`` for every run.
            model_id: only this model's rows.
            evidence: read the evidence column.
        """
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]

        query = self._select(run_id, model_id, evidence)
        with self.catalog.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        frame = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS))
        for name in ("shard", "turns_passed", "turns_total", "prompt_tokens", "completion_tokens"):
            frame[name] = frame[name].astype("Int64")
        for name in ("id", "trial"):
            frame[name] = frame[name].astype("int64")
        frame["latency_ms"] = frame["latency_ms"].astype("float64")
        frame["fallback_served"] = frame["fallback_served"].astype(bool)
        for name in ("cost", "evidence", *_TEXT_COLUMNS):
            # object dtype keeps Decimals exact and a missing text as None (not NaN)
            frame[name] = pd.Series([row[name] for row in rows], index=frame.index, dtype=object)
        return frame

    def export_jsonl(self, run_id: str, out: TextIO | Path) -> int:
        """Write the run as JSON lines; returns the number of lines written.

        The first line is the run (``"type": "run"``), then one line per result
        (``"type": "result"``) ordered by model, case, trial. Keys are sorted,
        Decimals are strings, times ISO 8601. Rows are streamed from the database.
        A ``Path`` is written whole or not at all (through a temporary file).

        Raises:
            UnknownRun: no such run.
            CatalogUnavailable: the database is down.
        """
        if isinstance(out, Path):
            partial = out.with_name(out.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="\n") as handle:
                    count = self._export(run_id, handle)
                partial.replace(out)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    partial.unlink()
            return count
        return self._export(run_id, out)

    def _export(self, run_id: str, out: TextIO) -> int:
        with self.catalog.connect() as connection:
            row = connection.execute(
                select(t.eval_runs).where(t.eval_runs.c.id == run_id)
            ).one_or_none()
            if row is None:
                raise UnknownRun(run_id)
            out.write(_line({"type": "run", **_record(row).to_json()}))
            count = 1
            streamed = connection.execution_options(yield_per=500).execute(
                self._select(run_id, None, evidence=True)
            )
            for result in streamed:
                values = result._mapping
                line = {name: values[name] for name in _ITEM_FIELDS}
                line["cost"] = _money(line["cost"])
                line["type"] = "result"
                line["run_id"] = values["run_id"]
                line["created_at"] = values["created_at"].isoformat()
                out.write(_line(line))
                count += 1
        return count


def _line(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
