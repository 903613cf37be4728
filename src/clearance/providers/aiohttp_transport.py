"""An httpx transport that sends over aiohttp: the optional fast async client.

httpx's own async transport (httpcore on anyio) spends most of a loopback call's CPU in its
pool and stream machinery: the pool re-checks every connection on each assignment (one
``getpeername`` through anyio's typed attributes per connection and request), and every
read and write goes through anyio's stream wrappers. aiohttp's connector and its C HTTP
parser do the same exchange in a fraction of that (issue 20: at 50 concurrent calls the
router was 0.14× raw aiohttp on httpx's transport; see benchmarks/RESULTS.md).

:class:`AiohttpTransport` sits under an ``httpx.AsyncClient`` like any transport, so the
provider above it is unchanged: the same request (headers, body, timeout extension) goes
out, the same ``httpx.Response`` comes back (raw headers; the body still compressed, decoded
by httpx as on its own transport, so a body not in its declared encoding fails the same
way), and aiohttp's exceptions are turned here into the httpx exceptions that stand for the
same failure, so :mod:`clearance.providers.transport_errors` types them as it types httpx's.
No cookie is kept or sent and no redirect is followed (as the provider sends over httpx);
proxies from the environment are httpx's (the client mounts its proxy transports in front
of this one).

aiohttp is an optional dependency (``pip install 'clearance[aiohttp]'``), imported when the
first request is sent. A session belongs to one event loop: a request from another loop (a
second ``asyncio.run``) gets a new session, and the old one's connections are closed.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from clearance.errors import ConfigError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport", "require_aiohttp"]

INSTALL = "pip install 'clearance[aiohttp]'"


def require_aiohttp(source: str = "router.async_client") -> None:
    """Fail now, with the install line, if aiohttp is not installed.

    Raises:
        ConfigError: aiohttp cannot be imported; ``source`` names the setting that asked
            for it.
    """
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise ConfigError(
            "async_client = 'aiohttp' needs aiohttp, which is not installed",
            source=source,
            key="router.async_client",
            fix=f"run {INSTALL}, or set router.async_client = 'httpx' (the default)",
        ) from None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send httpx requests with an aiohttp session (one per event loop).

    Args:
        ssl_context: the TLS context of every connection (the provider's, from certifi).
        max_connections: open connections, all hosts together.
        keepalive_expiry: seconds an idle connection is kept for reuse.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 200,
        keepalive_expiry: float = 30.0,
    ) -> None:
        self._ssl = ssl_context
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _current_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop and not session.closed:
            return session
        if session is not None:
            _abandon(session)
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_expiry,
            ssl=self._ssl if self._ssl is not None else True,
        )
        self._session = session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookie kept or sent
            auto_decompress=False,  # httpx decodes the body, as on its own transport
            trust_env=False,  # httpx routes proxied URLs to its own proxy transports
            timeout=aiohttp.ClientTimeout(total=None),  # the provider bounds the attempt
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )
        self._loop = loop
        # a transport dropped without close() (a provider nobody closed) takes its session
        # along quietly, as httpx's pools go, instead of aiohttp's "Unclosed" warning
        weakref.finalize(self, _abandon, session)
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the answer once its headers are in (the body is
        read as the caller iterates it)."""
        import aiohttp
        from yarl import URL

        session = self._current_session()
        content = request.content if hasattr(request, "_content") else await request.aread()
        try:
            answer = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=content or None,
                allow_redirects=False,
                timeout=_timeout(request.extensions.get("timeout")),
                compress=None,
            )
        except Exception as error:
            raise _as_httpx(error, aiohttp) from error
        return httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            stream=_Body(answer),
            extensions={
                "http_version": b"HTTP/%d.%d" % (answer.version.major, answer.version.minor)
                if answer.version is not None
                else b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode("latin-1", "replace"),
            },
            request=request,
        )

    def close(self) -> None:
        """Close the session's connections without awaiting (from sync code, or once its
        event loop has ended)."""
        session, self._session = self._session, None
        if session is not None:
            _abandon(session)

    async def aclose(self) -> None:
        """Close the session and its connections."""
        session, self._session = self._session, None
        if session is None:
            return
        if self._loop is asyncio.get_running_loop():
            await session.close()
        else:
            _abandon(session)


class _Body(httpx.AsyncByteStream):
    """The body of an aiohttp answer, as httpx reads a body."""

    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self._answer = answer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._answer.content.iter_any():
                yield chunk
        except Exception as error:
            raise _as_httpx(error, aiohttp) from error

    async def aclose(self) -> None:
        # A body read to its end has returned its connection already; one cut short
        # (an error status, a deadline) closes it, as httpcore does.
        if self._answer.content.at_eof():
            self._answer.release()
        else:
            self._answer.close()


def _abandon(session: aiohttp.ClientSession) -> None:
    """Drop a session whose event loop is gone or another's: close its connections
    without awaiting (nothing can await on a closed loop)."""
    if session.closed:
        return
    connector = session.connector
    session.detach()
    if connector is not None:
        # aiohttp's public close() is a coroutine; its synchronous part closes every
        # connection, and on a closed loop it only marks the connector closed.
        connector._close()


def _timeout(extension: Mapping[str, float | None] | None) -> aiohttp.ClientTimeout:
    """httpx's timeout extension (connect, read, write, pool), as aiohttp's timeouts."""
    import aiohttp

    if not extension:
        return aiohttp.ClientTimeout(total=None)
    connect = extension.get("connect")
    pool = extension.get("pool")
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=extension.get("read"),
    )


def _as_httpx(error: Exception, aiohttp: Any) -> Exception:
    """The httpx exception that stands for ``error`` (aiohttp's), or ``error`` itself when
    it is not a transport failure (a bug shows as itself)."""
    message = str(error) or type(error).__name__
    if isinstance(error, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return httpx.ProxyError(message)
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(error, aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(message)
    if isinstance(error, aiohttp.InvalidURL):
        return httpx.InvalidURL(message)
    if isinstance(error, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message)
    if isinstance(error, aiohttp.ClientResponseError | aiohttp.http_exceptions.HttpProcessingError):
        return httpx.RemoteProtocolError(message)
    if isinstance(error, aiohttp.ClientOSError | aiohttp.ClientConnectionError | OSError):
        return httpx.ReadError(message)
    if isinstance(error, aiohttp.ClientError):
        return httpx.TransportError(message)
    return error
