"""Eval runs and their per-item results in the catalog: every SQL statement on
``eval_runs`` and ``eval_results``.

One ``eval_runs`` row per run and one ``eval_results`` row per (model, case,
trial). A run may be split into shards executed by different machines that
write into one shared catalog: every shard joins the same run id, and the run
is ``complete`` only once every shard has finished. Shard states live in the
run's ``details`` JSON under ``"shards"``::

    {"shards": {"2": {"status": "running", "started_at": "...", "ended_at": null,
                      "spend": "0", "attempts": 1, "note": null}}, ...spec details}

The records written and read are the plain types of :mod:`clearance.catalog.runrecords`.
Rates are never stored: :mod:`clearance.evaluation.metrics` computes them from
the rows this module keeps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast, get_args

from sqlalchemy import Connection, String, Text, delete, func, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.runrecords import (
    ITEM_FIELDS,
    FinishStatus,
    ItemResult,
    RunRecord,
    RunSpec,
    RunState,
    RunStatus,
    ShardState,
    check_money,
    money_text,
)
from clearance.errors import InputError, InvalidShard, RunSpecMismatch, UnknownRun

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

__all__ = ["RESULT_COLUMNS", "ResultStore"]

#: Columns of ``eval_results`` in table order (the DataFrame's columns).
RESULT_COLUMNS: tuple[str, ...] = tuple(column.name for column in t.eval_results.columns)

_BATCH = 1000
_IN_CHUNK = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


_OBJECT_COLUMNS = ("cost", "evidence", *_TEXT_COLUMNS)
_READ_CHUNK = 10_000


def _read_columns(catalog: Catalog, query: Any) -> dict[str, list[Any]]:
    """The rows of ``query`` (``eval_results`` columns in table order) as one list per
    column, read a chunk at a time; equal texts share one ``str`` (a run repeats its run,
    model, kind, tool and verdict on every row), which halves the memory of 100,000 rows.
    """
    columns: dict[str, list[Any]] = {name: [] for name in RESULT_COLUMNS}
    shared: dict[str, str] = {}
    texts = {name for name in _TEXT_COLUMNS if name not in ("case_id", "cassette")}
    with catalog.connect() as connection:
        for chunk in connection.execute(query).partitions(_READ_CHUNK):
            for name, values in zip(RESULT_COLUMNS, zip(*chunk, strict=True), strict=True):
                if name in texts:
                    values = tuple(
                        value if value is None else shared.setdefault(value, value)
                        for value in values
                    )
                columns[name].extend(values)
    return columns


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
        check_money("spend", spend)
        if spend < 0:
            raise InputError(f"spend={spend!r}: must not be negative")
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
                insert(t.eval_results),
                [{**item.to_row(), "run_id": run_id, "created_at": created} for item in batch],
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
        columns = _read_columns(self.catalog, query)
        # the object columns are set below, as read: from_records would copy them
        frame = pd.DataFrame(
            {name: values for name, values in columns.items() if name not in _OBJECT_COLUMNS}
            if columns["id"]
            else {},  # no rows: every column object, as from_records makes them
            columns=list(RESULT_COLUMNS),
        )
        for name in ("shard", "turns_passed", "turns_total", "prompt_tokens", "completion_tokens"):
            frame[name] = frame[name].astype("Int64")
        for name in ("id", "trial"):
            frame[name] = frame[name].astype("int64")
        frame["latency_ms"] = frame["latency_ms"].astype("float64")
        frame["fallback_served"] = frame["fallback_served"].astype(bool)
        for name in _OBJECT_COLUMNS:
            # object dtype keeps Decimals exact and a missing text as None (not NaN)
            frame[name] = pd.Series(columns[name], index=frame.index, dtype=object)
        return frame

    def counts_by_contract(self) -> dict[tuple[str, str | None], int]:
        """How many results were judged against each (tool, contract version), over every
        run (results of no tool are left out): what a contract change makes stale."""
        c = t.eval_results.c
        query = (
            select(c.tool, c.contract_version, func.count())
            .where(c.tool.is_not(None))
            .group_by(c.tool, c.contract_version)
        )
        with self.catalog.connect() as connection:
            rows = connection.execute(query).all()
        return {(tool, version): int(count) for tool, version, count in rows}

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
                line = {name: values[name] for name in ITEM_FIELDS}
                line["cost"] = money_text(line["cost"])
                line["type"] = "result"
                line["run_id"] = values["run_id"]
                line["created_at"] = values["created_at"].isoformat()
                out.write(_line(line))
                count += 1
        return count


def _line(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
