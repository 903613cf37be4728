"""httpx's, httpcore's and h11's exceptions as clearance's: the one table that maps them.

httpx maps httpcore's exceptions (``map_httpcore_exceptions``) and httpcore maps h11's,
but not every path goes through both (an injected transport may raise httpcore's own;
a body decoder raises ``httpx.DecodingError``, outside the transport; an invalid URL
raises ``httpx.InvalidURL``, which is no ``httpx.HTTPError``), so every class of the
three libraries is listed here, most specific first. The provider raises what
:func:`classify_transport_error` picks (:meth:`OpenAICompatibleProvider._mapped`); the
router's rules (``clearance.router.RULES``) then decide by the error's kind:

==========================================  ========================  =====  =========
exception                                   error (kind)              retry  fall back
==========================================  ========================  =====  =========
timeouts (connect, read, write, pool), the  ProviderTimeout           yes    yes
attempt's or the call's deadline            (``timeout``)
``InvalidURL``, ``UnsupportedProtocol``     InvalidEndpoint           no     yes
                                            (``invalid_endpoint``)
proxy, connect, read, write, close errors   ProviderConnectionError   yes    yes
                                            (``connection``)
decoding, remote and local protocol         ProviderProtocolError     yes    yes
errors, redirects, stream errors, any       (``protocol``)
other ``httpx.HTTPError``
==========================================  ========================  =====  =========

Anything else is not a transport failure and is not mapped: a bug shows as itself.
"""

from __future__ import annotations

import h11
import httpcore
import httpx

from clearance.errors import (
    InvalidEndpoint,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeout,
)

__all__ = ["TRANSPORT_ERRORS", "classify_transport_error"]

TRANSPORT_ERRORS: tuple[tuple[tuple[type[BaseException], ...], type[ProviderError], str], ...] = (
    (
        # asyncio.timeout's TimeoutError: the attempt's deadline, on the async path
        (httpx.TimeoutException, httpcore.TimeoutException, TimeoutError),
        ProviderTimeout,
        "no answer in time",
    ),
    (
        (httpx.InvalidURL, httpx.UnsupportedProtocol, httpcore.UnsupportedProtocol),
        InvalidEndpoint,
        "the base URL cannot be used for HTTP",
    ),
    (
        (httpx.ProxyError, httpcore.ProxyError),
        ProviderConnectionError,
        "the proxy failed the connection",
    ),
    (
        (httpx.NetworkError, httpcore.NetworkError, httpcore.ConnectionNotAvailable),
        ProviderConnectionError,
        "the connection failed",
    ),
    (
        (httpx.DecodingError,),
        ProviderProtocolError,
        "the body does not decode as its declared content-encoding",
    ),
    (
        (httpx.RemoteProtocolError, httpcore.RemoteProtocolError, h11.RemoteProtocolError),
        ProviderProtocolError,
        "the answer is not valid HTTP/1.1 or was cut short",
    ),
    (
        (httpx.LocalProtocolError, httpcore.LocalProtocolError, h11.LocalProtocolError),
        ProviderProtocolError,
        "the exchange could not go on under HTTP/1.1 (the server broke it off)",
    ),
    (
        (httpx.TooManyRedirects,),
        ProviderProtocolError,
        "the provider redirected too many times",
    ),
    (
        (httpx.StreamError,),
        ProviderProtocolError,
        "the answer's stream was closed or read twice (a bug in clearance: please report it)",
    ),
    (
        (httpx.HTTPError, httpcore.ProtocolError, h11.ProtocolError),
        ProviderProtocolError,
        "the HTTP exchange failed",
    ),
)
"""(exception classes, the ProviderError to raise, what happened), most specific first."""


def classify_transport_error(error: BaseException) -> tuple[type[ProviderError], str] | None:
    """The ProviderError class for a transport exception and a message naming it.

    Returns:
        ``None`` when ``error`` is not an httpx, httpcore or h11 exception (nor the
        ``TimeoutError`` of an expired deadline): it is not a transport failure.
    """
    for classes, error_class, what in TRANSPORT_ERRORS:
        if isinstance(error, classes):
            said = str(error).strip()
            name = type(error).__name__
            return error_class, f"{what} ({name}: {said})" if said else f"{what} ({name})"
    return None
