"""Child processes in tests, with a deadline on every wait.

A test that reads a child's output line by line, or waits for it to stop, must never
hang the suite: ``make test`` started under ``nohup`` or with ``&`` ignores SIGINT,
every child inherits that, and a child told to stop with SIGINT then never does
(``subprocess.Popen``'s context manager would wait for it forever). :func:`child`
starts the process with SIGINT at its default, reads lines through a thread with a
timeout, and kills whatever is still running when the block ends.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO

__all__ = ["Child", "child", "default_sigint"]

#: How long a test waits for one line, or for a child to stop, unless told otherwise.
DEADLINE_S = 30.0


def default_sigint() -> None:
    """In the child, before exec: SIGINT back to its default, whatever the parent ignores."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """A running child process whose stdout is read line by line with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()
        self.rest: list[str] = []
        """What stdout said after the lines read, once the process ended."""

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def readline(self, timeout: float = DEADLINE_S) -> str:
        """The next line of stdout (``""`` at its end); fails the test after ``timeout``."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line from {self.process.args!r} within {timeout} s") from None
        if line is None:
            self._lines.put(None)  # stays at its end
            return ""
        return line

    def wait(self, timeout: float = DEADLINE_S) -> int:
        """The exit code; fails the test (and kills the child) after ``timeout``."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.process.args!r} did not stop within {timeout} s") from None

    def stderr(self) -> str:
        """Everything the child wrote on stderr (once it has ended)."""
        if self.process.stderr is None:
            return ""
        return self.process.stderr.read()


@contextmanager
def child(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stderr: bool = True,
) -> Iterator[Child]:
    """Run ``command`` for the block; on leaving it, a child still running is killed."""
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
        text=True,
        env=None if env is None else dict(env),
        preexec_fn=default_sigint,
    )
    running = Child(process)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=DEADLINE_S)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
