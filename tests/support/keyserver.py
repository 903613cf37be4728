"""The reference server wanting an API key, counting the requests that reach it: the
proof that a missing key stopped a command before any network I/O."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clearance.reference import ReferenceServer

__all__ = ["SECRET", "CountingServer", "counting_server"]

SECRET = "sk-reference-test-0123456789"
"""The key the server wants (a fake, shaped like a real one so scrubbers see it)."""


class CountingServer:
    """A started :class:`ReferenceServer` wanting ``SECRET``; ``requests`` lists the
    target of every request it received, authenticated or not."""

    def __init__(self) -> None:
        self.server = ReferenceServer(api_key=SECRET).start()
        self.base_url = self.server.base_url
        self.requests: list[str] = []
        handle = self.server.app.handle

        def counting(request: Any) -> Any:
            self.requests.append(request.target)
            return handle(request)

        # Connections look the handler up when they open, so every later one counts.
        self.server.app.handle = counting  # type: ignore[method-assign]

    @property
    def chats(self) -> int:
        """How many chat-completion requests arrived."""
        return sum(1 for target in self.requests if target.endswith("/chat/completions"))


@contextmanager
def counting_server() -> Iterator[CountingServer]:
    """A :class:`CountingServer`, stopped on exit."""
    server = CountingServer()
    try:
        yield server
    finally:
        server.server.stop()
