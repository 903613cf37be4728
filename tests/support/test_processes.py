"""The test helper for child processes: no wait without a deadline, SIGINT that works."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator

import pytest

from tests.support.processes import child

_SHOW_SIGINT = "import signal; print(signal.getsignal(signal.SIGINT), flush=True)"


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """As under `nohup make test &`: this process, and so its children, ignore SIGINT."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("sigint_ignored")
def test_a_child_gets_sigint_back_even_when_the_suite_ignores_it() -> None:
    with child([sys.executable, "-c", _SHOW_SIGINT]) as running:
        assert "default_int_handler" in running.readline()
        assert running.wait() == 0


@pytest.mark.usefixtures("sigint_ignored")
def test_a_server_told_to_stop_with_sigint_stops() -> None:
    code = "import time\nprint('up', flush=True)\nwhile True: time.sleep(0.05)"
    with child([sys.executable, "-c", code]) as running:
        assert running.readline().strip() == "up"
        running.process.send_signal(signal.SIGINT)
        assert running.wait(timeout=10) != 0  # KeyboardInterrupt, not a hang


def test_a_silent_child_fails_the_test_at_the_deadline_and_is_killed() -> None:
    started = time.monotonic()
    with child([sys.executable, "-c", "import time; time.sleep(60)"]) as running:
        with pytest.raises(AssertionError, match="no line from"):
            running.readline(timeout=0.5)
        process = running.process
    assert process.poll() is not None  # killed on leaving the block
    assert time.monotonic() - started < 30
