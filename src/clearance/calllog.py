"""The call log: one ``ai_calls`` row per call, written off the call's path, none lost.

:meth:`CallLog.record` appends the record to this process's journal (one ``write`` of
one JSON line, a few microseconds; :mod:`clearance.journal`) and to a queue, without
waking the writer: a background thread wakes once per ``flush_interval_s``, or as soon as
``batch_size`` records wait, validates tool calls against the schemas sent, turns records
into rows and inserts them in batches (a call's knowledge retrieval, when it made one,
becomes its ``retrievals`` row in the same transaction), then lets the journal forget
them. (Waking it for
every record, as a blocking queue does, cost a quarter of a routed call's time on a busy
machine: a thread switch and a GIL hand-over per call.) A record therefore waits at most
about ``flush_interval_s`` (plus the time to write the batch before it) to be written.
When the database cannot be written, the batch is appended to a JSON Lines spill file
instead, and ``clearance calls replay-spill`` loads it later; rows carry a unique
``call_id``, so replaying twice inserts nothing twice. A row the database refuses (a value
too long for its column) goes to the dead letters with its error, and the rows beside it
are written (:mod:`clearance.deadletters`).
:meth:`CallLog.close` (also run at interpreter exit) flushes what is queued.

A call is flagged for human hand-off after the fact with
:meth:`CallLog.flag_escalated`, which goes through the same queue, after the rows
queued before it, so a call whose row is not written yet can be flagged (and a flag
for a spilled row is spilled after it, and applied when the spill is replayed).

What a process killed outright (SIGKILL, the OOM killer) leaves: its journal, whose
records a new process's call log, or ``clearance calls replay-spill``, loads into
``ai_calls``. A power loss can lose the records of the last ``flush_interval_s`` (the
journal is fsynced once per interval, not once per call).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import fcntl
import functools
import hashlib
import itertools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from clearance.journal import Journal, Segment
from clearance.providers.base import tool_schemas
from clearance.providers.types import ToolCall

# The catalog's modules (SQLAlchemy) are imported by the writer and the functions that
# reach the database, not with this module: a call needs only CallRecord and new_call_id,
# and `from clearance.router import Router` stays cheap (issue 20).
if TYPE_CHECKING:
    from clearance.callreplay import ReplayReport
    from clearance.catalog.database import Catalog
    from clearance.deadletters import DeadLetters

__all__ = [
    "JOURNAL_FOLDER",
    "CallLog",
    "CallRecord",
    "EscalationOutcome",
    "ReplayReport",
    "attempt_json",
    "flag_escalation",
    "new_call_id",
    "replay_spill",
    "validate_tool_calls",
]

log = logging.getLogger("clearance.calllog")

JOURNAL_FOLDER = "journal"
"""The journals' folder, inside the spill folder."""

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
    model_snapshot: str | None = None
    """What the provider said answered (:attr:`ChatResponse.snapshot`)."""
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
    retrieval: dict[str, Any] | None = None
    """The call's knowledge retrieval (``Retrieval.log_entry()``, JSON): written as its
    ``retrievals`` row with the call's row (:mod:`clearance.catalog.retrievalstore`)."""


class _Validators:
    """Compiled JSON Schema validators and recent verdicts (LRU).

    A tools list is usually the same object call after call, so a validator is
    found by the schema object's identity first and by its content only when the
    object is new; identical arguments against the same schema reuse their verdict
    (arguments sent as text, OpenAI's, are known by their text; arguments sent as a JSON
    object, Anthropic's ``input`` or Gemini's ``args``, by :func:`_frozen`).
    """

    def __init__(self, size: int = 512, verdicts: int = 4096) -> None:
        self.size = size
        self._by_content: OrderedDict[str, Any] = OrderedDict()
        self._by_identity: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self._verdicts: OrderedDict[tuple[int, Hashable], dict[str, Any] | None] = OrderedDict()
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
        key: tuple[int, Hashable] | None
        if isinstance(raw, str):
            key = (id(validator), raw)
        else:
            try:
                key = (id(validator), _frozen(call.arguments))
            except (_Unkeyable, RecursionError):
                key = None
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


class _Unkeyable(Exception):
    """A value the verdict cache cannot name exactly (its verdict is not cached)."""


_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _frozen(value: Any) -> Hashable:
    """Decoded JSON as a hashable key equal only for a value that validates the same.

    Every value carries its type (``1``, ``1.0`` and ``True`` are equal in Python, not to
    a schema), a float its ``repr`` (``-0.0`` and ``0.0`` are equal but are written apart
    in an error's message), and an object its keys in order (the first error found may
    depend on it). Anything that JSON does not decode to (a tuple, a key that is not a
    string, a subclass) raises :class:`_Unkeyable`.
    """
    kind = type(value)
    if kind in _JSON_SCALARS:
        return (kind, value)
    if kind is float:
        return (float, repr(value))
    if kind is dict:
        items = []
        for key, item in value.items():
            if type(key) is not str:
                raise _Unkeyable
            items.append((key, _frozen(item)))
        return (dict, tuple(items))
    if kind is list:
        return (list, tuple(_frozen(item) for item in value))
    raise _Unkeyable


_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def _unusable_schema_errors() -> tuple[type[Exception], ...]:
    from jsonschema.exceptions import UnknownType
    from referencing.exceptions import Unresolvable

    return (UnknownType, Unresolvable)


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
            try:
                error = validators.first_error(schemas[call.name] or _ANY_OBJECT, call)
            except _unusable_schema_errors() as unusable:  # evaluated only on an error
                # The schema sent is no JSON Schema a validator can use (an OpenAPI type
                # such as ``STRING``, a $ref to nowhere): the call cannot be judged.
                verdict["error"] = "unusable_schema"
                verdict["message"] = str(unusable).split("\n", 1)[0][:300]
                verdicts.append(verdict)
                continue
            if error is None:
                verdict["valid"] = True
            else:
                verdict["error"] = "schema_violation"
                verdict.update(error)
        verdicts.append(verdict)
    return verdicts


@functools.cache
def _scalars() -> tuple[str, ...]:
    """The ``ai_calls`` columns a record's fields fill as they are."""
    from clearance.catalog.callstore import CALL_COLUMNS

    skipped = ("id", "tool_calls", "tool_calls_valid", "extra")
    return tuple(name for name in CALL_COLUMNS if name not in skipped)


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
    row = {name: getattr(record, name) for name in _scalars()}
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
    if record.retrieval is not None:
        from clearance.catalog.retrievalstore import EXTRA_KEY

        extra[EXTRA_KEY] = record.retrieval
    row["extra"] = extra or None
    return row


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
    from clearance.catalog.callstore import mark_escalated

    when = at or dt.datetime.now(dt.UTC)
    return mark_escalated(catalog, call_id, {"reason": reason, "at": when.isoformat()})


@dataclass(frozen=True, slots=True)
class _Escalation:
    """A queued flag (see :meth:`CallLog.flag_escalated`)."""

    call_id: str
    reason: str | None
    at: dt.datetime
    outcome: Future[EscalationOutcome]
    segment: Segment | None = None


_Queued = tuple[CallRecord, Segment | None]


class CallLog:
    """Batched, off-path writer of ``ai_calls`` rows, with a journal and a spill file.

    Args:
        catalog: where rows go.
        spill_dir: where rows go when the catalog cannot be written; the journal is in
            its ``journal/`` folder, the dead letters beside the spill files.
        batch_size: rows per insert.
        flush_interval_s: longest a record waits before it is written; the journal is
            fsynced this often.
        journal: append each record to the journal before :meth:`record` returns (off:
            a process killed outright loses what is queued).
        recover: first load the journals of processes that are gone (in the writer
            thread, before this log's own records).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        spill_dir: Path,
        batch_size: int = 200,
        flush_interval_s: float = 0.5,
        journal: bool = True,
        recover: bool = True,
    ) -> None:
        self.catalog = catalog
        self.spill_dir = spill_dir
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.written = 0
        self.spilled = 0
        self.last_error: str | None = None
        self.recovered: ReplayReport | None = None
        """What the start-up replay of dead processes' journals did (once it ran)."""
        from clearance.deadletters import DeadLetters

        self.dead_letters: DeadLetters = DeadLetters(spill_dir)
        self._queue: deque[_Queued | _Escalation | threading.Event | None] = deque()
        """What the writer has yet to take, in order (appends and pops are atomic)."""
        self._wake = threading.Event()
        """Set to wake the writer before its interval ends: a full batch, a flag, a flush."""
        self._spilled_ids: set[str] = set()
        self._validators = _Validators()
        self._closed = False
        self.journal: Journal | None = None
        if journal:
            try:
                self.journal = Journal(spill_dir / JOURNAL_FOLDER, _journal_header(catalog))
            except OSError as error:  # a read-only disk: log as before, without the journal
                log.warning("call journal off, %s cannot be written: %s", spill_dir, error)
        self._recover = recover
        self._thread = threading.Thread(target=self._run, name="clearance-calllog", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def spill_path(self) -> Path:
        """This process's spill file."""
        return self.spill_dir / f"ai_calls-{os.getpid()}.jsonl"

    def record(self, record: CallRecord) -> None:
        """Journal a record and queue it (returns in microseconds).

        The writer is woken only when a batch is full; otherwise it takes the record at
        its next tick, within ``flush_interval_s``.
        """
        if self._closed:
            raise RuntimeError("the call log is closed")
        segment = None
        if self.journal is not None:
            line = journal_line(record)
            if line is not None:
                segment = self.journal.append(line)
        queued = self._queue
        queued.append((record, segment))
        if len(queued) >= self.batch_size:
            self._wake.set()

    def _put(self, item: _Escalation | threading.Event | None) -> None:
        """Queue an item the writer must act on now, after the records queued before it."""
        self._queue.append(item)
        self._wake.set()

    def flag_escalated(
        self, call_id: str, *, reason: str | None = None
    ) -> Future[EscalationOutcome]:
        """Flag a call for human hand-off, after the rows queued so far are written.

        Returns at once; the future tells what became of the flag (wait on it, or not).
        """
        if self._closed:
            raise RuntimeError("the call log is closed")
        outcome: Future[EscalationOutcome] = Future()
        at = dt.datetime.now(dt.UTC)
        segment = None
        if self.journal is not None:
            flag = {_ESCALATE: {"call_id": call_id, "reason": reason, "at": at.isoformat()}}
            segment = self.journal.append(orjson.dumps(flag, option=orjson.OPT_APPEND_NEWLINE))
        self._put(_Escalation(call_id, reason, at, outcome, segment))
        return outcome

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything queued so far is written (or spilled)."""
        done = threading.Event()
        self._put(done)
        done.wait(timeout)

    def close(self) -> None:
        """Flush and stop the writer thread; delete the journal once all of it is written."""
        if self._closed:
            return
        self._closed = True
        self._put(None)
        self._thread.join(timeout=60)
        atexit.unregister(self.close)
        if self.journal is not None and not self._thread.is_alive():
            self.journal.close()  # a writer still busy keeps it; process exit unlocks it

    def _run(self) -> None:
        if self._recover:
            try:
                from clearance.callreplay import replay

                self.recovered = replay(
                    self.catalog, self.spill_dir, letters=self.dead_letters, spill_files=False
                )
            except Exception as error:  # the database is down: the journals wait
                log.warning("journals of ended processes not loaded yet: %s", error)
        interval = self.flush_interval_s
        next_sync = time.monotonic() + interval
        queued = self._queue
        while True:
            # Each wake (the interval passed, a full batch, a flag, a flush) writes every
            # record queued since the last one: none waits much past one interval.
            self._wake.wait(interval)
            self._wake.clear()  # before taking: a record queued from now on wakes us again
            pending: list[_Queued] = []
            while queued:
                item = queued.popleft()
                if isinstance(item, tuple):
                    pending.append(item)
                    if len(pending) >= self.batch_size:
                        self._write(pending)
                        pending = []
                    continue
                if pending:  # the rows queued before the item are written first
                    self._write(pending)
                    pending = []
                if isinstance(item, _Escalation):
                    self._escalate(item)
                elif isinstance(item, threading.Event):
                    item.set()
                else:  # None: closed (nothing is queued after it)
                    return
            if pending:
                self._write(pending)
            now = time.monotonic()
            if now >= next_sync:
                next_sync = self._sync(now)

    def _sync(self, now: float) -> float:
        if self.journal is not None:
            self.journal.sync()
        return now + self.flush_interval_s

    def _write(self, items: Sequence[_Queued]) -> None:
        from clearance.deadletters import store_rows
        from clearance.identifiers import fit_row

        rows: list[dict[str, Any]] = []
        try:
            for record, _ in items:
                try:
                    row = _row(record, self._validators)
                except Exception as error:  # a record no row can be made of: set aside
                    self.dead_letters.add(_raw_row(record), _describe(error), "writer")
                    continue
                problem = fit_row(row)
                if problem is None:
                    rows.append(row)
                else:
                    self.dead_letters.add(row, problem, "writer")
            stored = store_rows(self.catalog, rows, self.dead_letters, "writer")
            self.written += stored.inserted
            self.last_error = stored.error
            if stored.unwritten:
                self._spill(stored.unwritten)
        except Exception as error:  # no spill or dead-letter file: the journal keeps them
            self.last_error = f"{type(error).__name__}: {error}"
            log.error("call log rows neither written nor spilled: %s", self.last_error)
            return
        self._settle(segment for _, segment in items)

    def _settle(self, segments: Iterable[Segment | None]) -> None:
        if self.journal is not None:
            self.journal.settle(Counter(s for s in segments if s is not None))

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
            return
        item.outcome.set_result(outcome)
        self._settle([item.segment])

    def _spill(self, rows: Sequence[Mapping[str, Any]]) -> None:
        from clearance.catalog.callstore import row_to_json

        self.spill_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(row_to_json(row) + "\n" for row in rows)
        with _locked_spill_file(self.spill_path) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        rows_only = [row["call_id"] for row in rows if "call_id" in row]
        self._spilled_ids.update(rows_only)
        self.spilled += len(rows_only)


@contextlib.contextmanager
def _locked_spill_file(path: Path) -> Any:
    """The spill file open for appending, locked against a replay reading and deleting it."""
    while True:
        handle = path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            if os.fstat(handle.fileno()).st_nlink > 0:
                break
        except BaseException:
            handle.close()
            raise
        handle.close()  # a replay deleted it while we waited: start a new one
    try:
        yield handle
    finally:
        handle.close()


_ESCALATE = "$escalate"
"""Key of a spilled escalation flag (a spill line that is not a row)."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _journal_header(catalog: Catalog) -> dict[str, Any]:
    return {
        "version": 1,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "catalog": catalog.display_url,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _journal_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return repr(value)


_JOURNAL_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def journal_line(record: CallRecord) -> bytes | None:
    """A record as one journal line; None when it cannot be written as JSON at all."""
    try:
        return orjson.dumps(record, default=_journal_default, option=_JOURNAL_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):  # a lone surrogate, an integer past 64 bits
        pass
    try:
        data = dataclasses.asdict(record)
        return (json.dumps(data, default=_slow_default, separators=(",", ":")) + "\n").encode()
    except (TypeError, ValueError, RecursionError):
        return None


def _slow_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return _journal_default(value)


def _raw_row(record: CallRecord) -> dict[str, Any]:
    """A record's scalars, for the dead letter of a record no row could be made of."""
    row = {name: getattr(record, name) for name in _scalars()}
    if isinstance(record.started_at, float):
        row["started_at"] = dt.datetime.fromtimestamp(record.started_at, dt.UTC)
    return row


def replay_spill(catalog: Catalog, spill_dir: Path, *, keep: bool = False) -> ReplayReport:
    """Load every spill file, and the journals of ended processes, into ``ai_calls``.

    See :func:`clearance.callreplay.replay_spill` (this is the same function).
    """
    from clearance.callreplay import replay_spill as replay

    return replay(catalog, spill_dir, keep=keep)
