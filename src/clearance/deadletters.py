"""Dead letters: call-log rows the database refused, set aside so the rest are written.

One bad row must not hold back the rows beside it. When an insert fails, the call log's
writer and ``clearance calls replay-spill`` tell a refused value (a value too long for
its column, a character PostgreSQL will not store: the database is up) from a database
that cannot be written (spill and retry later). A refused batch is split in halves
until the refused rows are alone (:func:`store_rows`); each goes, with the database's
error, to ``dead-letters-<pid>.jsonl`` in the spill folder, and the others are written.
A row whose only fault is U+0000 or a lone surrogate inside ``extra`` (a provider's
message quoted in an attempt) is stored once more with that text cleaned first
(``extra["scrubbed"] = true``) rather than set aside.

``clearance calls dead-letters`` lists them (:func:`read_dead_letters`). Each line holds
the row in the spill files' form: fixed by hand and put in a file named
``ai_calls-<anything>.jsonl`` in the spill folder, ``replay-spill`` loads it. Rows hold
no API keys (no request header reaches a row); the error is the driver's first line, and
the whole line passes through the secret patterns the cassettes use before it is written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exc

from clearance.catalog.callstore import insert_new_calls, row_from_json, row_to_json
from clearance.catalog.database import Catalog
from clearance.errors import CatalogError, CatalogUnavailable
from clearance.identifiers import scrub

__all__ = ["DeadLetter", "DeadLetters", "Stored", "read_dead_letters", "refused", "store_rows"]

FILE_PATTERN = "dead-letters-*.jsonl"
_ERROR_CHARS = 500


def refused(error: BaseException) -> bool:
    """Whether a failed insert was the database refusing a value (it is up), not an outage.

    Refused: the database's data and integrity errors, a value the driver or a column
    type cannot convert (a ``StatementError`` that is no driver error), an encoding
    error. Anything else (cannot connect, locked, timed out) is the database's state.
    """
    if isinstance(error, CatalogUnavailable):
        cause = error.__cause__
        return isinstance(cause, exc.StatementError) and not isinstance(cause, exc.DBAPIError)
    if isinstance(error, CatalogError):
        return True  # IntegrityError, DataError (catalog/database.py)
    return isinstance(error, ValueError | TypeError)  # UnicodeEncodeError is a ValueError


def _reason(error: BaseException) -> str:
    if isinstance(error, CatalogUnavailable):
        text = error.cause
    elif isinstance(error, CatalogError):
        cause = error.__cause__
        orig = getattr(cause, "orig", None)
        text = str(orig if orig is not None else error.message)
    else:
        text = f"{type(error).__name__}: {error}"
    lines = text.strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:_ERROR_CHARS]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One row the database refused, as ``clearance calls dead-letters`` shows it."""

    call_id: str | None
    at: str
    """When it was set aside (ISO 8601, UTC)."""
    source: str
    """``writer`` (the call log), ``spill`` (a spill file) or ``journal`` (a dead
    process's journal)."""
    error: str
    """Why: the database's first line, or which column does not fit."""
    row: dict[str, Any]
    """The row, as spill files hold it."""
    file: str


class DeadLetters:
    """This process's dead-letter file in ``folder`` (created on the first letter)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self._known: set[str] | None = None

    @property
    def path(self) -> Path:
        """This process's file."""
        return self.folder / f"dead-letters-{os.getpid()}.jsonl"

    def add(self, row: Mapping[str, Any], error: str, source: str) -> None:
        """Set a row aside with its error (fsynced; once per call id across the folder).

        Raises:
            OSError: the file cannot be written (the caller keeps the row).
        """
        call_id = row.get("call_id")
        if self._known is None:
            self._known = {str(letter.call_id) for letter in read_dead_letters(self.folder)}
        if isinstance(call_id, str) and call_id in self._known:
            self.count += 1  # a journal replayed again: the letter is there already
            return
        from clearance.evaluation.scrub import redact_secrets

        entry = {
            "call_id": call_id,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "source": source,
            "error": error[:_ERROR_CHARS],
        }
        head = json.dumps(entry, separators=(",", ":"))[:-1]
        line = redact_secrets(f'{head},"row":{_json(row)}}}') + "\n"
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "backslashreplace"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if isinstance(call_id, str):
            self._known.add(call_id)
        self.count += 1


def _json(row: Mapping[str, Any]) -> str:
    try:
        return row_to_json(row)
    except (TypeError, ValueError):  # a value no spill file can hold: kept as its repr
        return json.dumps(row, default=repr, separators=(",", ":"))


def read_dead_letters(folder: Path) -> list[DeadLetter]:
    """Every dead letter in ``folder``, oldest first (a line that does not parse is skipped)."""
    letters: list[DeadLetter] = []
    for path in sorted(folder.glob(FILE_PATTERN)) if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = row_from_json(line)
            except ValueError:
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("row"), dict):
                continue
            letters.append(
                DeadLetter(
                    call_id=entry.get("call_id"),
                    at=str(entry.get("at", "")),
                    source=str(entry.get("source", "")),
                    error=str(entry.get("error", "")),
                    row=entry["row"],
                    file=path.name,
                )
            )
    return sorted(letters, key=lambda letter: letter.at)


@dataclass(slots=True)
class Stored:
    """What :func:`store_rows` did with a batch."""

    inserted: int = 0
    dead: int = 0
    unwritten: list[Mapping[str, Any]] = field(default_factory=list)
    """Rows not stored because the database cannot be written (spill them)."""
    error: str | None = None
    """The database's error, when some rows are unwritten."""


def store_rows(
    catalog: Catalog,
    rows: Sequence[Mapping[str, Any]],
    letters: DeadLetters,
    source: str,
    *,
    insert: Callable[[Catalog, Sequence[Mapping[str, Any]]], int] = insert_new_calls,
) -> Stored:
    """Insert rows, setting aside the ones the database refuses; stop at an outage.

    A refused batch is split in halves until each refused row is alone; such a row is
    tried once more with its ``extra`` scrubbed, then goes to ``letters``. When the
    database cannot be written, the rows not stored yet are returned in ``unwritten``.

    Raises:
        OSError: a dead letter cannot be written.
    """
    stored = Stored()
    stack: list[Sequence[Mapping[str, Any]]] = [rows] if rows else []
    while stack:
        chunk = stack.pop()
        try:
            stored.inserted += insert(catalog, chunk)
            continue
        except Exception as error:  # classified below: refused values, or an outage
            if not refused(error):
                stored.unwritten = [row for part in (chunk, *reversed(stack)) for row in part]
                stored.error = _reason(error)
                return stored
            failure = error
        if len(chunk) > 1:
            middle = len(chunk) // 2
            stack.extend((chunk[middle:], chunk[:middle]))
            continue
        (row,) = chunk
        cleaned = _scrubbed(row)
        if cleaned is not None:
            try:
                stored.inserted += insert(catalog, [cleaned])
                continue
            except Exception as error:  # the same classification as above
                if not refused(error):
                    stored.unwritten = [row, *(r for part in reversed(stack) for r in part)]
                    stored.error = _reason(error)
                    return stored
        letters.add(row, _reason(failure), source)
        stored.dead += 1
    return stored


def _scrubbed(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row with its ``extra`` scrubbed, or None when scrubbing changes nothing."""
    extra = row.get("extra")
    if not extra:
        return None
    cleaned = scrub(extra)
    if cleaned == extra:
        return None
    return {**row, "extra": {**cleaned, "scrubbed": True}}
