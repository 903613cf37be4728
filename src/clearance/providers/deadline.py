"""How long one attempt may take: ``timeout_s`` from the request to the last byte, and
never past the call's ``deadline_s``.

httpx's timeouts bound each wait on the socket, not the answer: a server sending one
byte a second, or a stream of SSE keep-alive comments (``: OPENROUTER PROCESSING``),
never trips a 3 s read timeout, and an attempt lasted over two minutes. A
:class:`Budget` bounds the whole attempt on a clock:

- **sync**: every connect, write and read of httpx's connection pools gets at most the
  time left (:func:`bound_sync_client` wraps httpcore's network backend; the status line
  and headers are bounded too), and the body is read in a loop that checks the clock
  after each chunk or line (which also bounds a transport given to the provider);
- **async**: the attempt runs under :func:`asyncio.timeout`, which cancels it.

Either way the attempt ends with a timeout naming the bound that ran out
(:attr:`Budget.limit`). DNS resolution is the one wait no bound reaches (the system
resolver blocks); a connection's TLS handshake and each read and write are bounded.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import httpcore
import httpx

__all__ = ["Budget", "DeadlinePassed", "bound_sync_client"]

_END: ContextVar[float | None] = ContextVar("clearance_attempt_end", default=None)
"""``time.monotonic()`` by which the attempt running in this thread must end."""


class DeadlinePassed(Exception):
    """The attempt's budget ran out between two chunks (mapped to ProviderTimeout)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """The time one attempt may take."""

    end: float
    """``time.monotonic()`` by which the last byte must be in."""
    limit: Literal["timeout_s", "deadline_s"]
    """The bound that sets :attr:`end`: the attempt's ``timeout_s``, or what is left of the
    call's ``deadline_s`` when that is shorter."""
    limit_s: float
    """That bound, in seconds from the attempt's start."""

    @classmethod
    def start(cls, timeout_s: float, deadline_s: float | None = None) -> Budget:
        """A budget starting now: ``timeout_s``, or ``deadline_s`` (seconds left of the
        call) when it is shorter."""
        now = time.monotonic()
        if deadline_s is not None and deadline_s < timeout_s:
            left = max(deadline_s, 0.0)
            return cls(now + left, "deadline_s", left)
        return cls(now + timeout_s, "timeout_s", timeout_s)

    def left(self) -> float:
        """Seconds left (negative once it has run out)."""
        return self.end - time.monotonic()

    def check(self) -> None:
        """Raise :class:`DeadlinePassed` if the budget has run out."""
        if time.monotonic() >= self.end:
            raise DeadlinePassed(self.limit)

    def describe(self, cause: str) -> str:
        """What ran out, for a timeout's message; ``cause`` names the exception seen."""
        if self.limit == "timeout_s":
            return (
                f"no complete answer within timeout_s={self.limit_s:g} s of the request ({cause})"
            )
        return (
            "no complete answer before the call's deadline_s ran out "
            f"({self.limit_s:.2f} s were left for this attempt; {cause})"
        )

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        """Give every socket wait of this thread's sync connection pools at most the time
        left, until the block ends."""
        token = _END.set(self.end)
        try:
            yield
        finally:
            _END.reset(token)


def bound_sync_client(client: httpx.Client) -> bool:
    """Make the connection pools of ``client`` (its transport and its proxy mounts) obey
    :meth:`Budget.bound`.

    httpx builds its pools with no way to choose their network backend, so this wraps the
    one each pool holds (``HTTPTransport._pool._network_backend``: private attributes,
    stable since httpx 0.18 and httpcore 0.14, checked by a test).

    Returns:
        Whether a pool was found: ``False`` for a transport that is not httpx's (a
        ``MockTransport``), where the check between chunks is the only bound.
    """
    transports: list[object] = [getattr(client, "_transport", None)]
    transports += list(getattr(client, "_mounts", {}).values())
    bounded = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            if not isinstance(backend, _BoundedBackend):
                pool._network_backend = _BoundedBackend(backend)  # type: ignore[union-attr]
            bounded = True
    return bounded


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout``, cut to the time left of the attempt running in this thread."""
    end = _END.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline passed")
    return left if timeout is None or left < timeout else timeout


class _BoundedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with every wait cut to the attempt's time left."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _BoundedStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _bounded(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _BoundedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _BoundedStream(httpcore.NetworkStream):
    """A connection whose reads and writes wait at most the attempt's time left."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
        )
        return _BoundedStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
