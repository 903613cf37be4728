"""The call log: one ``ai_calls`` row per call, written off the call's path.

:meth:`CallLog.record` only puts the record on a queue (well under a
microsecond of the caller's time). A background thread validates tool calls
against the schemas sent, turns records into rows and inserts them in batches
(every ``flush_interval_s`` or ``batch_size`` rows). When the database cannot
be written, the batch is appended to a JSON Lines spill file instead, and
``clearance calls replay-spill`` loads it later; rows carry a unique
``call_id``, so replaying twice inserts nothing twice. :meth:`CallLog.close`
(also run at interpreter exit) flushes what is queued.

A call is flagged for human hand-off after the fact with
:meth:`CallLog.flag_escalated`, which goes through the same queue, after the rows
queued before it, so a call whose row is not written yet can be flagged (and a flag
for a spilled row is spilled after it, and applied when the spill is replayed).

What can still be lost: records queued in a process that is killed outright
(SIGKILL, power loss) before the next flush, at most ``flush_interval_s`` of
traffic.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import os
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import insert, select, update

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.errors import CatalogUnavailable
from clearance.providers.base import tool_schemas
from clearance.providers.types import ToolCall

__all__ = [
    "CallLog",
    "CallRecord",
    "EscalationOutcome",
    "attempt_json",
    "flag_escalation",
    "new_call_id",
    "replay_spill",
    "validate_tool_calls",
]


_ID_PREFIX = uuid.uuid4().hex[:24]
_ID_COUNTER = itertools.count()


def new_call_id() -> str:
    """A fresh call id: 24 random hex digits per process, then a 12-digit counter.

    Unique across processes without a system call per id (uuid4 reads the OS
    random source every time, which shows on the router's hot path).
    """
    return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


@dataclass(slots=True)
class CallRecord:
    """Everything logged about one call (one row of ``ai_calls``)."""

    call_id: str
    started_at: dt.datetime | float
    """When the call began (a POSIX timestamp is turned into UTC by the writer)."""
    status: str
    """``ok``, ``error`` (every attempt failed) or ``refused`` (kill switch, policy)."""
    org_id: str | None = None
    session_id: str | None = None
    tier: str | None = None
    requested_model: str | None = None
    served_model: str | None = None
    provider: str | None = None
    error_kind: str | None = None
    finish_reason: str | None = None
    finish_reason_raw: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = None
    computed_cost: Decimal | None = None
    reported_cost: Decimal | None = None
    pricing_source: str | None = None
    price_id: int | None = None
    latency_ms: float | None = None
    overhead_us: float | None = None
    attempts: int = 0
    fallback_reason: str | None = None
    fallback_from: str | None = None
    policy_reason: str | None = None
    escalated: bool = False
    """Flagged for human hand-off by the caller (later flags: :meth:`CallLog.flag_escalated`)."""
    eval_run_id: str | None = None
    """The eval run that made the call; ``None``: live traffic (the only kind SLOs read)."""
    tool_calls: Sequence[ToolCall] = ()
    tools: Sequence[Mapping[str, Any]] | None = None
    """The tools sent with the request (their schemas judge the tool calls)."""
    attempt_log: Sequence[Any] = ()
    """The router's attempts (dataclasses), turned into JSON by the writer."""
    extra: dict[str, Any] = field(default_factory=dict)


class _Validators:
    """Compiled JSON Schema validators and recent verdicts (LRU).

    A tools list is usually the same object call after call, so a validator is
    found by the schema object's identity first and by its content only when the
    object is new; identical arguments against the same schema reuse their verdict.
    """

    def __init__(self, size: int = 512, verdicts: int = 4096) -> None:
        self.size = size
        self._by_content: OrderedDict[str, Any] = OrderedDict()
        self._by_identity: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self._verdicts: OrderedDict[tuple[int, str], dict[str, Any] | None] = OrderedDict()
        self._verdict_size = verdicts

    def get(self, schema: Any) -> Any:
        """The validator for a schema."""
        known = self._by_identity.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        from jsonschema import validators

        key = hashlib.sha1(
            json.dumps(schema, sort_keys=True, default=str).encode(), usedforsecurity=False
        ).hexdigest()
        found = self._by_content.get(key)
        if found is None:
            cls = validators.validator_for(schema, default=validators.Draft202012Validator)
            found = cls(schema)
            self._by_content[key] = found
            if len(self._by_content) > self.size:
                self._by_content.popitem(last=False)
        self._by_identity[id(schema)] = (schema, found)  # keeps the schema alive: ids stay valid
        if len(self._by_identity) > self.size:
            self._by_identity.popitem(last=False)
        return found

    def first_error(self, schema: Any, call: ToolCall) -> dict[str, Any] | None:
        """The first schema error of a call's arguments, or None when they are valid."""
        validator = self.get(schema)
        raw = call.raw_arguments
        key = (id(validator), raw) if isinstance(raw, str) else None
        if key is not None and key in self._verdicts:
            self._verdicts.move_to_end(key)
            return self._verdicts[key]
        error = next(iter(validator.iter_errors(call.arguments)), None)
        verdict = (
            None
            if error is None
            else {
                "pointer": "/" + "/".join(str(p) for p in error.absolute_path),
                "message": error.message[:300],
            }
        )
        if key is not None:
            self._verdicts[key] = verdict
            if len(self._verdicts) > self._verdict_size:
                self._verdicts.popitem(last=False)
        return verdict


_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def validate_tool_calls(
    calls: Sequence[ToolCall], schemas: Mapping[str, Any], validators: _Validators | None = None
) -> list[dict[str, Any]]:
    """Each call's verdict: valid when its arguments parse and satisfy the schema sent.

    A call to a tool that was not offered, or with arguments that are not a JSON
    object, is invalid; the first schema error is kept with its JSON pointer.
    """
    validators = validators or _Validators()
    verdicts: list[dict[str, Any]] = []
    for call in calls:
        verdict: dict[str, Any] = {"name": call.name, "valid": False}
        if call.quirks:
            verdict["quirks"] = list(call.quirks)
        if call.name not in schemas:
            verdict["error"] = "unknown_tool"
        elif call.arguments is None:
            verdict["error"] = "invalid_json"
        else:
            error = validators.first_error(schemas[call.name] or _ANY_OBJECT, call)
            if error is None:
                verdict["valid"] = True
            else:
                verdict["error"] = "schema_violation"
                verdict.update(error)
        verdicts.append(verdict)
    return verdicts


_SCALARS = [
    column.name
    for column in t.ai_calls.columns
    if column.name not in ("id", "tool_calls", "tool_calls_valid", "extra")
]


def attempt_json(attempt: Any) -> dict[str, Any]:
    """A router attempt as a JSON object (seconds become milliseconds)."""
    if dataclasses.is_dataclass(attempt) and not isinstance(attempt, type):
        data = dataclasses.asdict(attempt)
    else:
        data = dict(attempt)
    if "wait_s" in data:
        data["wait_ms"] = round(data.pop("wait_s") * 1000, 3)
    return data


def _row(record: CallRecord, validators: _Validators) -> dict[str, Any]:
    """The ``ai_calls`` row for a record; the slow parts of logging happen here, off-path."""
    row = {name: getattr(record, name) for name in _SCALARS}
    if isinstance(record.started_at, float):
        row["started_at"] = dt.datetime.fromtimestamp(record.started_at, dt.UTC)
    extra = dict(record.extra)
    if record.attempt_log:
        extra["attempts"] = [attempt_json(a) for a in record.attempt_log]
    if record.tool_calls:
        verdicts = validate_tool_calls(record.tool_calls, tool_schemas(record.tools), validators)
        row["tool_calls"] = len(verdicts)
        row["tool_calls_valid"] = sum(1 for v in verdicts if v["valid"])
        extra["tool_calls"] = verdicts
    else:
        row["tool_calls"] = 0
        row["tool_calls_valid"] = 0
    row["extra"] = extra or None
    return row


def _to_json(row: Mapping[str, Any]) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return {"$decimal": str(value)}
        if isinstance(value, dt.datetime):
            return {"$datetime": value.isoformat()}
        raise TypeError(f"cannot spill {type(value).__name__}")

    return json.dumps(row, default=default, separators=(",", ":"))


def _from_json(line: str) -> dict[str, Any]:
    def hook(value: dict[str, Any]) -> Any:
        if value.keys() == {"$decimal"}:
            return Decimal(value["$decimal"])
        if value.keys() == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        return value

    row: dict[str, Any] = json.loads(line, object_hook=hook)
    return row


def _insert_new(catalog: Catalog, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose call_id is not stored yet; returns how many were inserted."""
    if not rows:
        return 0
    with catalog.begin() as connection:
        ids = [row["call_id"] for row in rows]
        existing: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            existing.update(
                connection.execute(
                    select(t.ai_calls.c.call_id).where(t.ai_calls.c.call_id.in_(chunk))
                ).scalars()
            )
        fresh = [row for row in rows if row["call_id"] not in existing]
        if fresh:
            connection.execute(insert(t.ai_calls), fresh)
    return len(fresh)


EscalationOutcome = Literal["flagged", "unknown", "spilled"]
"""What became of a flag: set on the row; no such call; or spilled (the database was
down, or the row itself is spilled) to be applied by ``clearance calls replay-spill``."""


def flag_escalation(
    catalog: Catalog, call_id: str, *, reason: str | None = None, at: dt.datetime | None = None
) -> bool:
    """Flag a logged call for human hand-off; False when no call has this id.

    The flag is ``ai_calls.escalated``; the reason and the time go into
    ``extra["escalation"]`` (a later flag replaces them).

    Raises:
        CatalogUnavailable: the database cannot be written.
    """
    with catalog.begin() as connection:
        row = connection.execute(
            select(t.ai_calls.c.id, t.ai_calls.c.extra).where(t.ai_calls.c.call_id == call_id)
        ).first()
        if row is None:
            return False
        extra = dict(row.extra or {})
        when = at or dt.datetime.now(dt.UTC)
        extra["escalation"] = {"reason": reason, "at": when.isoformat()}
        connection.execute(
            update(t.ai_calls).where(t.ai_calls.c.id == row.id).values(escalated=True, extra=extra)
        )
    return True


@dataclass(frozen=True, slots=True)
class _Escalation:
    """A queued flag (see :meth:`CallLog.flag_escalated`)."""

    call_id: str
    reason: str | None
    at: dt.datetime
    outcome: Future[EscalationOutcome]


class CallLog:
    """Batched, off-path writer of ``ai_calls`` rows with a spill file.

    Args:
        catalog: where rows go.
        spill_dir: where rows go when the catalog cannot be written.
        batch_size: rows per insert.
        flush_interval_s: longest a record waits before it is written.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        spill_dir: Path,
        batch_size: int = 200,
        flush_interval_s: float = 0.5,
    ) -> None:
        self.catalog = catalog
        self.spill_dir = spill_dir
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.written = 0
        self.spilled = 0
        self.last_error: str | None = None
        self._queue: queue.SimpleQueue[CallRecord | _Escalation | threading.Event | None] = (
            queue.SimpleQueue()
        )
        self._spilled_ids: set[str] = set()
        self._validators = _Validators()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="clearance-calllog", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def spill_path(self) -> Path:
        """This process's spill file."""
        return self.spill_dir / f"ai_calls-{os.getpid()}.jsonl"

    def record(self, record: CallRecord) -> None:
        """Queue a record (returns at once)."""
        if self._closed:
            raise RuntimeError("the call log is closed")
        self._queue.put(record)

    def flag_escalated(
        self, call_id: str, *, reason: str | None = None
    ) -> Future[EscalationOutcome]:
        """Flag a call for human hand-off, after the rows queued so far are written.

        Returns at once; the future tells what became of the flag (wait on it, or not).
        """
        if self._closed:
            raise RuntimeError("the call log is closed")
        outcome: Future[EscalationOutcome] = Future()
        self._queue.put(_Escalation(call_id, reason, dt.datetime.now(dt.UTC), outcome))
        return outcome

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything queued so far is written (or spilled)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        """Flush and stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=60)
        atexit.unregister(self.close)

    def _run(self) -> None:
        pending: list[CallRecord] = []
        while True:
            item: CallRecord | _Escalation | threading.Event | None
            try:
                item = self._queue.get(timeout=self.flush_interval_s)
            except queue.Empty:
                item = _TICK  # the interval passed: write what is pending
            if isinstance(item, CallRecord):
                pending.append(item)
                if len(pending) < self.batch_size:
                    continue
            if pending:
                self._write(pending)
                pending = []
            if isinstance(item, _Escalation):
                self._escalate(item)
            elif isinstance(item, threading.Event):
                item.set()
            elif item is None:
                return

    def _write(self, records: Iterable[CallRecord]) -> None:
        rows = [_row(record, self._validators) for record in records]
        try:
            self.written += _insert_new(self.catalog, rows)
            self.last_error = None
        except CatalogUnavailable as error:
            self.last_error = error.cause
            self._spill(rows)
        except Exception as error:  # a row the database refuses: keep it, never drop it
            self.last_error = f"{type(error).__name__}: {error}"
            self._spill(rows)

    def _escalate(self, item: _Escalation) -> None:
        outcome: EscalationOutcome = "spilled"
        try:
            if flag_escalation(self.catalog, item.call_id, reason=item.reason, at=item.at):
                outcome = "flagged"
            elif item.call_id not in self._spilled_ids:  # else its row waits in the spill file
                outcome = "unknown"
        except Exception as error:  # the database is down: the flag waits with the rows
            self.last_error = getattr(error, "cause", None) or f"{type(error).__name__}: {error}"
        try:
            if outcome == "spilled":
                flag = {"call_id": item.call_id, "reason": item.reason, "at": item.at}
                self._spill([{_ESCALATE: flag}])
        except OSError as error:
            item.outcome.set_exception(error)
        else:
            item.outcome.set_result(outcome)

    def _spill(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        with self.spill_path.open("a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(_to_json(row) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        rows_only = [row["call_id"] for row in rows if "call_id" in row]
        self._spilled_ids.update(rows_only)
        self.spilled += len(rows_only)


_TICK = threading.Event()
"""Stands for a queue timeout in the writer loop: write what is pending, keep running."""
_ESCALATE = "$escalate"
"""Key of a spilled escalation flag (a spill line that is not a row)."""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What ``replay_spill`` did."""

    files: int
    rows: int
    inserted: int
    already_present: int
    bad_lines: int
    escalations: int = 0
    """Spilled escalation flags applied to their rows."""


def replay_spill(catalog: Catalog, spill_dir: Path, *, keep: bool = False) -> ReplayReport:
    """Load every spill file into ``ai_calls`` and remove it (unless ``keep``).

    Escalation flags spilled with the rows are applied once every file's rows are in. A
    line that does not decode (a file cut off mid-write), or a flag whose call is in
    neither the files nor the database, is counted and kept in a ``.bad`` file beside
    its file, never dropped silently.

    Raises:
        CatalogUnavailable: the database is still down; the files are left as they are.
    """
    files = sorted(spill_dir.glob("ai_calls-*.jsonl")) if spill_dir.is_dir() else []
    total = inserted = flagged = 0
    flags: list[tuple[dict[str, Any], str, Path]] = []
    rejects: dict[Path, list[str]] = {path: [] for path in files}
    for path in files:
        rows: list[dict[str, Any]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                row = _from_json(line)
            except ValueError:
                rejects[path].append(line)
                continue
            if row.keys() == {_ESCALATE}:
                flags.append((row[_ESCALATE], line, path))
            else:
                rows.append(row)
        total += len(rows)
        inserted += _insert_new(catalog, rows)
    # after every file's rows: a flag may name a row another process spilled
    for flag, line, path in flags:
        if flag_escalation(catalog, flag["call_id"], reason=flag["reason"], at=flag["at"]):
            flagged += 1
        else:
            rejects[path].append(line)
    for path in files:
        if rejects[path]:
            with path.with_suffix(".bad").open("a", encoding="utf-8") as handle:
                handle.write("\n".join(rejects[path]) + "\n")
        if not keep:
            path.unlink()
    bad = sum(map(len, rejects.values()))
    return ReplayReport(len(files), total, inserted, total - inserted, bad, flagged)
