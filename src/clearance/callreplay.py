"""Loading what the call log could not write: spill files, and journals of ended processes.

``clearance calls replay-spill`` runs :func:`replay_spill`; a new :class:`CallLog`
loads the journals alone, in its writer thread, before its own records. Loading is
idempotent by ``call_id``: a row already stored is counted, not inserted again. A row
the database refuses goes to the dead letters (:mod:`clearance.deadletters`) and the
rest are loaded. A spill file is locked while it is read (its process appends under the
same lock), so no line written meanwhile is deleted unread; a journal is read only once
its process is gone (:func:`clearance.journal.claim_dead`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import fields as _fields
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from clearance.calllog import (
    _ESCALATE,
    JOURNAL_FOLDER,
    CallRecord,
    _describe,
    _row,
    _Validators,
    flag_escalation,
)
from clearance.catalog.callstore import row_from_json
from clearance.catalog.database import Catalog
from clearance.deadletters import DeadLetters, store_rows
from clearance.errors import CatalogUnavailable
from clearance.identifiers import fit_row
from clearance.journal import DeadJournal, claim_dead
from clearance.providers.types import ToolCall

__all__ = ["ReplayReport", "replay_spill"]


_RECORD_FIELDS = frozenset(f.name for f in _fields(CallRecord))
_TOOL_CALL_FIELDS = frozenset(f.name for f in _fields(ToolCall))
_DECIMALS = ("cost", "computed_cost", "reported_cost")


def _record_from_journal(data: Mapping[str, Any]) -> CallRecord:
    """The record a journal line holds (unknown keys of another version are ignored).

    Raises:
        TypeError / ValueError: the line is no record.
    """
    fields = {key: value for key, value in data.items() if key in _RECORD_FIELDS}
    if isinstance(fields.get("started_at"), str):
        fields["started_at"] = dt.datetime.fromisoformat(fields["started_at"])
    for name in _DECIMALS:
        if isinstance(fields.get(name), str | int | float):
            fields[name] = Decimal(str(fields[name]))
    calls = fields.get("tool_calls") or ()
    fields["tool_calls"] = [
        ToolCall(
            **{
                **{key: value for key, value in call.items() if key in _TOOL_CALL_FIELDS},
                "quirks": tuple(call.get("quirks") or ()),
            }
        )
        for call in calls
    ]
    return CallRecord(**fields)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What ``replay_spill`` did."""

    files: int
    """Spill files read."""
    rows: int
    """Rows read, from spill files and journals."""
    inserted: int
    already_present: int
    bad_lines: int
    escalations: int = 0
    """Spilled escalation flags applied to their rows."""
    dead_letters: int = 0
    """Rows the database refused, set aside in the dead letters (the others are written)."""
    journals: int = 0
    """Journal files of ended processes loaded."""
    journals_live: int = 0
    """Journal files left alone: their process is running (it writes its own rows)."""
    journals_foreign: int = 0
    """Journal files left alone: written for another catalog database."""


@dataclass(slots=True)
class _Source:
    """One spill file or journal being replayed."""

    path: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    flags: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    journal: DeadJournal | None = None


def replay_spill(catalog: Catalog, spill_dir: Path, *, keep: bool = False) -> ReplayReport:
    """Load every spill file, and the journals of ended processes, into ``ai_calls``.

    Files are removed once loaded (unless ``keep``). Escalation flags are applied once
    every file's rows are in. A row the database refuses goes to the dead letters and
    the others are loaded. A line that does not decode (a file cut off mid-write), or a
    flag whose call is in neither the files nor the database, is counted and kept in a
    ``.bad`` file beside its file, never dropped silently. A journal whose process is
    still running, or that was written for another catalog, is left alone and counted.

    Raises:
        CatalogUnavailable: the database is still down; the files are left as they are.
    """
    return replay(catalog, spill_dir, keep=keep)


def replay(
    catalog: Catalog,
    spill_dir: Path,
    *,
    keep: bool = False,
    spill_files: bool = True,
    letters: DeadLetters | None = None,
) -> ReplayReport:
    letters = letters or DeadLetters(spill_dir)
    sources: list[_Source] = []
    held: list[IO[str]] = []  # spill files locked for the replay
    claimed, live = claim_dead(spill_dir / JOURNAL_FOLDER)
    foreign = 0
    try:
        if spill_files:
            for path in sorted(spill_dir.glob("ai_calls-*.jsonl")) if spill_dir.is_dir() else []:
                spill = path.open("r", encoding="utf-8")
                held.append(spill)
                fcntl.flock(spill, fcntl.LOCK_EX)  # a writer appending finishes first
                if os.fstat(spill.fileno()).st_nlink == 0:
                    continue  # another replay loaded and deleted it meanwhile
                sources.append(_read_spill(path, spill.read()))
        for journal in claimed:
            header, lines = journal.lines()
            if header.get("catalog", catalog.display_url) != catalog.display_url:
                foreign += 1
                continue
            sources.append(_read_journal(journal, lines))
        validators = _Validators()
        total = inserted = dead = 0
        for source in sources:
            rows: list[dict[str, Any]] = []
            for row in source.rows:
                if source.journal is not None:  # a record: make its row now
                    try:
                        row = _row(_record_from_journal(row), validators)
                    except (TypeError, ValueError, AttributeError) as error:
                        letters.add(row, _describe(error), "journal")
                        dead += 1
                        continue
                problem = fit_row(row)
                if problem is None:
                    rows.append(row)
                else:
                    letters.add(row, problem, _kind(source))
                    dead += 1
            total += len(source.rows)
            stored = store_rows(catalog, rows, letters, _kind(source))
            if stored.unwritten:
                raise CatalogUnavailable(catalog.display_url, stored.error or "cannot write")
            inserted += stored.inserted
            dead += stored.dead
        flagged = 0
        for source in sources:  # after every file's rows: a flag may name another's row
            for flag, line in source.flags:
                if flag_escalation(catalog, flag["call_id"], reason=flag["reason"], at=flag["at"]):
                    flagged += 1
                else:
                    source.rejects.append(line)
        for source in sources:
            if source.rejects:
                with source.path.with_suffix(".bad").open("a", encoding="utf-8") as bad_file:
                    bad_file.write("\n".join(source.rejects) + "\n")
            if keep:
                continue
            if source.journal is not None:
                source.journal.remove()
                claimed.remove(source.journal)
            else:
                source.path.unlink()
    finally:
        for journal in claimed:
            journal.release()
        for spilled in held:
            spilled.close()
    bad = sum(len(source.rejects) for source in sources)
    return ReplayReport(
        files=sum(1 for s in sources if s.journal is None),
        rows=total,
        inserted=inserted,
        already_present=total - inserted - dead,
        bad_lines=bad,
        escalations=flagged,
        dead_letters=dead,
        journals=sum(1 for s in sources if s.journal is not None),
        journals_live=live,
        journals_foreign=foreign,
    )


def _kind(source: _Source) -> str:
    return "spill" if source.journal is None else "journal"


def _read_spill(path: Path, text: str) -> _Source:
    source = _Source(path)
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = row_from_json(line)
        except ValueError:
            source.rejects.append(line)
            continue
        if row.keys() == {_ESCALATE}:
            source.flags.append((row[_ESCALATE], line))
        elif "call_id" in row:
            source.rows.append(row)
        else:
            source.rejects.append(line)  # no row without its id (a hand-edited line)
    return source


def _read_journal(journal: DeadJournal, lines: list[str]) -> _Source:
    source = _Source(journal.path, journal=journal)
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            source.rejects.append(line)  # cut off by a power loss
            continue
        if not isinstance(data, dict) or ("call_id" not in data and _ESCALATE not in data):
            source.rejects.append(line)
        elif _ESCALATE in data:
            try:
                flag = dict(data[_ESCALATE])
                flag["at"] = dt.datetime.fromisoformat(flag["at"])
                flag.setdefault("reason", None)
                str(flag["call_id"])
            except (TypeError, ValueError, KeyError):
                source.rejects.append(line)
                continue
            source.flags.append((flag, line))
        else:
            source.rows.append(data)
    return source
