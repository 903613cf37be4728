"""Waiting on a condition with a deadline, instead of sleeping for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(
    predicate: Callable[[], object],
    what: str,
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
) -> None:
    """Return as soon as ``predicate()`` is true; fail the test after ``timeout`` seconds.

    ``what`` names the condition for the failure message ("the kill switch cache expired").
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {timeout} s: {what}")
        time.sleep(interval)
