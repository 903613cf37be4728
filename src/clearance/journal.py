"""The call journal: each call's record on local disk before the call returns.

The call log writes rows in batches, off the call's path, so a process killed outright
(``kill -9``, the OOM killer) would lose the records still queued. So each record is
first appended to this process's journal: one ``os.write`` of one JSON line on an
``O_APPEND`` descriptor, a few microseconds, no fsync. Once ``write`` returns, the line
is in the kernel's page cache and survives the death of the process; the call log's
writer thread fsyncs the file once per flush interval, so a power loss (or a kernel
crash) loses at most the lines of the last interval.

Once every line of a file is settled (its row is in the database, in a spill file or in
the dead letters), the writer truncates the file to its header; when lines keep coming
faster than the writer catches up, it starts a new file past ``rotate_bytes`` and deletes
the old one once that is settled. A clean close deletes what is settled.

Each file is locked (``flock``) by its process while open, and the kernel drops the lock
when the process dies, however it dies. A file whose lock can be taken therefore belongs
to a process that is gone: :func:`claim_dead` hands those to the replay (a new process's
call log, or ``clearance calls replay-spill``), which loads them idempotently by
``call_id``. The pid in a file's name is for people; the lock decides, so a reused pid
fools nothing. (A child made by ``os.fork`` inherits the lock: its parent's files look
alive until the child exits too.) Locks are POSIX ``flock``: a journal on NFS is
not supported.

Files: ``<folder>/journal-<pid>-<token>-<n>.jsonl``; the first line is the header,
``{"$journal": {...}}``, naming the catalog its lines are for.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HEADER_KEY", "DeadJournal", "Journal", "Segment", "claim_dead"]

HEADER_KEY = "$journal"
FILE_PATTERN = "journal-*.jsonl"
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC


@dataclass(eq=False, slots=True)
class Segment:
    """One journal file of this process."""

    path: Path
    fd: int
    header_size: int
    size: int
    appended: int = 0
    """Lines appended since the file was created or last truncated."""
    settled: int = 0
    """Of those, lines whose rows are stored, spilled or dead-lettered."""
    dirty: bool = False
    """Appended to since the last fsync."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_folder(folder: Path) -> None:
    """Make a new file's name durable (its folder's entry), best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Journal:
    """This process's journal in ``folder``: the current file and retired ones not yet settled.

    :meth:`append` may be called from any thread; :meth:`sync`, :meth:`settle` and
    :meth:`close` from the call log's writer thread only (``close`` once it has stopped).

    Raises:
        OSError: the folder or the first file cannot be created.
    """

    def __init__(
        self, folder: Path, header: Mapping[str, Any], *, rotate_bytes: int = 4 << 20
    ) -> None:
        self.folder = folder
        self.rotate_bytes = rotate_bytes
        self.errors = 0
        """Appends that failed (the disk is full): those records are in memory only."""
        self.last_error: str | None = None
        head = json.dumps({HEADER_KEY: dict(header)}, separators=(",", ":"))
        self._header = (head + "\n").encode()
        self._token = os.urandom(4).hex()
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        folder.mkdir(parents=True, exist_ok=True)
        self._current = self._open()
        self._retired: list[Segment] = []

    @property
    def paths(self) -> list[Path]:
        """This journal's files, current last."""
        with self._lock:
            return [s.path for s in (*self._retired, self._current)]

    def _open(self) -> Segment:
        path = self.folder / f"journal-{os.getpid()}-{self._token}-{next(self._numbers):04d}.jsonl"
        fd = os.open(path, _FLAGS, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _write_all(fd, self._header)
            os.fsync(fd)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        _fsync_folder(self.folder)
        size = len(self._header)
        return Segment(path, fd, size, size)

    def append(self, line: bytes) -> Segment | None:
        """Append one line (one ``write``); the file it went to, or None when it failed."""
        with self._lock:
            if self._closed:
                return None
            segment = self._current
            try:
                written = os.write(segment.fd, line)
                if written < len(line):  # only on a full disk: finish or fail the line
                    _write_all(segment.fd, line[written:])
            except OSError as error:
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"
                return None
            segment.appended += 1
            segment.size += len(line)
            segment.dirty = True
            return segment

    def sync(self) -> None:
        """fsync every file appended to since the last call (once per flush interval)."""
        with self._lock:
            dirty = [s for s in (*self._retired, self._current) if s.dirty]
            for segment in dirty:
                segment.dirty = False
        for segment in dirty:
            try:
                os.fsync(segment.fd)
            except OSError as error:
                self.last_error = f"fsync {segment.path.name}: {error}"

    def settle(self, counts: Mapping[Segment, int]) -> None:
        """Count lines as settled; truncate, rotate and delete files that allows."""
        rotate = False
        with self._lock:
            for segment, count in counts.items():
                segment.settled += count
            current = self._current
            if current.settled == current.appended:
                if current.size > current.header_size:
                    try:
                        os.ftruncate(current.fd, current.header_size)
                    except OSError as error:
                        self.last_error = f"truncate {current.path.name}: {error}"
                    else:
                        current.size = current.header_size
                        current.appended = current.settled = 0
                        current.dirty = False
            else:
                rotate = current.size >= self.rotate_bytes
            done = [s for s in self._retired if s.settled == s.appended]
            self._retired = [s for s in self._retired if s.settled != s.appended]
        for segment in done:
            _remove(segment)
        if rotate:
            try:
                fresh = self._open()
            except OSError as error:
                self.last_error = f"new journal file: {error}"
                return
            with self._lock:
                self._retired.append(self._current)
                self._current = fresh

    def close(self) -> None:
        """Delete the settled files; fsync and unlock the others (a later replay loads them)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            segments = [*self._retired, self._current]
        for segment in segments:
            if segment.settled == segment.appended:
                _remove(segment)
            else:
                with contextlib.suppress(OSError):
                    os.fsync(segment.fd)
                os.close(segment.fd)


def _remove(segment: Segment) -> None:
    """Delete a settled file: its name first, then its lock (so no replay takes it)."""
    segment.path.unlink(missing_ok=True)
    os.close(segment.fd)


@dataclass(slots=True)
class DeadJournal:
    """A journal file of a process that is gone, locked by the replay that claimed it."""

    path: Path
    fd: int

    def lines(self) -> tuple[dict[str, Any], list[str]]:
        """(the header, or ``{}`` when it is missing; the lines after it)."""
        with os.fdopen(os.dup(self.fd), "rb") as handle:
            handle.seek(0)
            text = handle.read().decode("utf-8", "replace")
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            try:
                first = json.loads(lines[0])
            except ValueError:
                return {}, lines
            if isinstance(first, dict) and isinstance(first.get(HEADER_KEY), dict):
                return first[HEADER_KEY], lines[1:]
        return {}, lines

    def remove(self) -> None:
        """Delete the file (its lines are loaded), then release it."""
        self.path.unlink(missing_ok=True)
        os.close(self.fd)

    def release(self) -> None:
        """Leave the file for a later replay."""
        os.close(self.fd)


def claim_dead(folder: Path) -> tuple[list[DeadJournal], int]:
    """The journal files in ``folder`` whose process is gone, each locked; and how many are live.

    The caller must :meth:`~DeadJournal.remove` or :meth:`~DeadJournal.release` each.
    """
    claimed: list[DeadJournal] = []
    live = 0
    for path in sorted(folder.glob(FILE_PATTERN)) if folder.is_dir() else []:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # settled and deleted by its process meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            live += 1
            continue
        if os.fstat(fd).st_nlink == 0:  # deleted between the listing and the lock
            os.close(fd)
            continue
        claimed.append(DeadJournal(path, fd))
    return claimed, live
