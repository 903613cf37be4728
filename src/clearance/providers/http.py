"""What every provider over HTTP shares: clients, attempt bounds, typed errors.

:class:`HttpProvider` does the I/O once for every wire protocol: one sync client and
sharded async clients per provider, each attempt bounded from the request to the last
byte (:mod:`clearance.providers.deadline`), httpx's, httpcore's and h11's exceptions
turned into typed :class:`~clearance.errors.ProviderError` subclasses here and nowhere
else (the table is :mod:`clearance.providers.transport_errors`), error answers
classified by :func:`~clearance.providers.wire.classify_error`, and the key scrubbed
from anything shown.

A request goes straight to the client's transport (its connection pool, or the proxy its
environment names), built once with the client's headers: what ``Client.send`` adds
around that is cookies (an LLM API keeps no session in them: none is kept or sent, as
with curl), authentication and redirect flows (none here: the key is a header, and a
redirect is an answer), and an INFO log line per request; together a sixth of a routed
call's CPU on loopback (issue 20). A protocol subclass says only where a request goes, what its body
is, and how an answer and a stream are read (the hooks at the end of the class).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import itertools
import json
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Literal, Protocol

import httpx
import orjson

from clearance.errors import (
    ConfigError,
    InvalidEndpoint,
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
)
from clearance.providers.aiohttp_transport import AiohttpTransport, require_aiohttp
from clearance.providers.base import ChatRequest, ChunkCallback, ProviderReply
from clearance.providers.deadline import Budget, DeadlinePassed, bound_sync_client
from clearance.providers.transport_errors import classify_transport_error
from clearance.providers.types import ChatResponse
from clearance.providers.types import Protocol as WireProtocol
from clearance.providers.wire import classify_error, jsonbody

__all__ = [
    "ASYNC_CLIENTS",
    "ASYNC_SHARDS",
    "Assembler",
    "AsyncClientKind",
    "HttpProvider",
    "encode_json",
]

_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30)
ASYNC_SHARDS = 8
"""Async clients per provider. httpcore's pool re-scans every queued request against every
connection on each assignment, so one pool slows down quadratically with concurrency (at
50 concurrent calls here: 73 calls/s with one pool, 382 with eight; see benchmarks)."""

AsyncClientKind = Literal["httpx", "aiohttp"]
"""What sends async requests: httpx's own transport, or aiohttp's under it
(:mod:`clearance.providers.aiohttp_transport`, the optional ``aiohttp`` extra)."""
ASYNC_CLIENTS: tuple[AsyncClientKind, ...] = ("httpx", "aiohttp")


class Assembler(Protocol):
    """What reads a streamed answer, one SSE line at a time."""

    @property
    def last_chunk(self) -> Mapping[str, Any] | None:
        """The chunk the last line completed (None when it completed none)."""
        ...

    def feed_line(self, line: str) -> None:
        """Read one line of the stream (raises ProviderError on an error event)."""
        ...

    def result(self) -> ChatResponse:
        """The whole answer, once the stream has ended."""
        ...


def encode_json(body: dict[str, Any]) -> bytes:
    """The request body as JSON bytes: orjson, or the standard library for what orjson
    refuses (non-string keys, integers past 64 bits, custom types it cannot serialize)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body).encode()


class HttpProvider(abc.ABC):
    """A provider reached over HTTP at ``base_url``, with an optional key.

    Args:
        name: the provider's name in the catalog (``openrouter``).
        base_url: e.g. ``https://openrouter.ai/api/v1``.
        api_key: the key itself (read by the caller, through
            :func:`clearance.providers.keys.read_api_key`, from the variable the
            configuration names); never shown in ``repr``, errors or logs.
        api_key_env: the name of that variable, named in 401/403 errors.
        timeout_s: default bound on one attempt, from the request to the last byte of
            the answer (a stream included), in seconds.
        headers: extra headers (OpenRouter's ``HTTP-Referer`` / ``X-Title``).
        transport / async_transport: injected transports (``httpx.MockTransport`` in tests).
        async_shards: async httpx clients (each its own pool) the async calls rotate over.
        async_client: what sends async requests when no ``async_transport`` is injected:
            ``httpx`` (its own transport, sharded) or ``aiohttp`` (one aiohttp session under
            one httpx client; needs the ``aiohttp`` extra). Errors, deadlines and streams
            are the same either way; sync calls always use httpx.

    Raises:
        ConfigError: ``async_client="aiohttp"`` without aiohttp installed.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        async_shards: int = ASYNC_SHARDS,
        async_client: AsyncClientKind = "httpx",
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._secret = api_key or None
        self._urls: dict[tuple[str, bool], httpx.URL] = {}
        """Parsed once per (model, stream): httpx parses a URL given as text on every
        request."""
        with self._mapped(None):
            self._url_for("", stream=False)  # a base URL that is no URL fails here, early
        self._urls.clear()
        self._headers = {
            "Content-Type": "application/json",
            **(headers or {}),
            **(self._auth_headers(api_key) if api_key else {}),
        }
        self.api_key_env = api_key_env
        self._transport = transport
        self._async_transport = async_transport
        self._client: httpx.Client | None = None
        if async_client not in ASYNC_CLIENTS:
            raise ConfigError(
                f"async_client {async_client!r} is not one of {', '.join(ASYNC_CLIENTS)}",
                source=f"provider {name!r}",
                key="router.async_client",
                fix="set router.async_client to httpx (the default) or aiohttp",
            )
        self.async_client = async_client
        if async_client == "aiohttp" and async_transport is None:
            require_aiohttp()
            async_shards = 1  # aiohttp's pool does not slow down with concurrency
        self._async_shards = max(1, async_shards)
        self._async_clients: list[httpx.AsyncClient] = []
        self._aiohttp: AiohttpTransport | None = None
        self._next_shard = itertools.count()

    def __repr__(self) -> str:
        key = "set" if self._secret else "none"
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r}, key={key})"

    # -- clients ---------------------------------------------------------------------------

    def _sync(self) -> httpx.Client:
        if self._client is None:
            client = httpx.Client(
                headers=self._headers,
                timeout=self.timeout_s,
                limits=_LIMITS,
                transport=self._transport,
                verify=_tls(),
            )
            bound_sync_client(client)
            self._client = client
        return self._client

    def _async(self) -> httpx.AsyncClient:
        if not self._async_clients:
            transport = self._async_transport
            if transport is None and self.async_client == "aiohttp":
                transport = self._aiohttp = AiohttpTransport(
                    ssl_context=_tls(), max_connections=_LIMITS.max_connections or 200
                )
            per_shard = httpx.Limits(
                max_connections=max(8, 200 // self._async_shards),
                max_keepalive_connections=max(4, 100 // self._async_shards),
                keepalive_expiry=30,
            )
            self._async_clients = [
                httpx.AsyncClient(
                    headers=self._headers,
                    timeout=self.timeout_s,
                    limits=per_shard,
                    transport=transport,
                    verify=_tls(),
                )
                for _ in range(self._async_shards)
            ]
        clients = self._async_clients
        return clients[next(self._next_shard) % len(clients)]

    def close(self) -> None:
        """Close the sync client's connections, and the aiohttp session's if there is one
        (an aiohttp session warns when collected unclosed; httpx's async pools do not)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._aiohttp is not None:
            self._aiohttp.close()

    async def aclose(self) -> None:
        """Close the async clients' connections."""
        clients, self._async_clients = self._async_clients, []
        for client in clients:
            await client.aclose()

    # -- errors: httpx's exceptions become clearance's, here only ---------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    @contextlib.contextmanager
    def _mapped(self, model_id: str | None, budget: Budget | None = None) -> Iterator[None]:
        """Raise the :class:`ProviderError` that a transport exception (or the attempt's
        budget running out) stands for; anything else (a bug) goes through untouched."""
        try:
            yield
        except ProviderError:
            raise
        except DeadlinePassed:
            raise self._timeout_error(model_id, budget, "DeadlinePassed") from None
        except Exception as error:
            found = classify_transport_error(error)
            if found is None:
                raise
            error_class, message = found
            if error_class is ProviderTimeout:
                raise self._timeout_error(model_id, budget, type(error).__name__) from None
            if error_class is InvalidEndpoint:
                message = f"{message}; base_url is {self.base_url!r}"
            raise error_class(self._scrub(message), provider=self.name, model_id=model_id) from None

    def _timeout_error(
        self, model_id: str | None, budget: Budget | None, cause: str
    ) -> ProviderTimeout:
        if budget is None:
            return ProviderTimeout(
                f"no answer in time ({cause})", provider=self.name, model_id=model_id
            )
        return ProviderTimeout(
            budget.describe(cause),
            provider=self.name,
            model_id=model_id,
            limit=budget.limit,
            limit_s=budget.limit_s,
        )

    def _decode(self, content: bytes, model_id: str | None) -> Any:
        try:
            return jsonbody.loads(content)  # exact: orjson would float a huge integer
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise MalformedResponse(
                f"the answer is not JSON ({error})",
                provider=self.name,
                model_id=model_id,
                body=self._scrub(content[:2000].decode("utf-8", "replace")),
            ) from None

    def _error(
        self, response: httpx.Response, content: bytes, model_id: str | None
    ) -> ProviderError:
        # Some providers echo the key they were given in an auth error: scrub it first.
        text = self._scrub(content.decode("utf-8", "replace"))
        try:
            body: Any = json.loads(text)
        except json.JSONDecodeError:
            body = text[:2000]
        return classify_error(
            response.status_code,
            body,
            response.headers,
            provider=self.name,
            model_id=model_id,
            api_key_env=self.api_key_env,
        )

    # -- calls -----------------------------------------------------------------------------

    def _budget(self, timeout_s: float | None, deadline_s: float | None) -> Budget:
        return Budget.start(timeout_s if timeout_s is not None else self.timeout_s, deadline_s)

    def complete(
        self,
        model_name: str,
        request: ChatRequest,
        *,
        model_id: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> ProviderReply:
        """Send the request (``POST``) and return the normalized answer.

        ``timeout_s`` (default: the provider's) bounds the attempt from the request to the
        last byte; ``deadline_s``, the seconds left of the whole call, cuts it shorter.
        """
        url, content = self.outgoing(model_name, request)
        client = self._sync()
        budget = self._budget(timeout_s, deadline_s)
        sent = _request(client, url, content, max(budget.limit_s, 0.001))
        started = time.perf_counter()
        with self._mapped(model_id, budget), budget.bound():
            response = client._transport_for_url(url).handle_request(sent)
            response.request = sent
            try:
                if response.status_code >= 400:
                    raise self._error(response, _read(response, budget), model_id)
                if not request.stream:
                    body = _read(response, budget)
                else:
                    result = self._assemble(response, model_id, on_chunk, budget.check)
                    wait = time.perf_counter() - started
                    return ProviderReply(result, wait, response.status_code)
            finally:
                response.close()
        wait = time.perf_counter() - started
        return ProviderReply(self._answer(response, body, model_id), wait, response.status_code)

    async def acomplete(
        self,
        model_name: str,
        request: ChatRequest,
        *,
        model_id: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> ProviderReply:
        """The same as :meth:`complete`, on the async client (the attempt runs under
        :func:`asyncio.timeout`)."""
        url, content = self.outgoing(model_name, request)
        client = self._async()
        budget = self._budget(timeout_s, deadline_s)
        sent = _request(client, url, content, max(budget.limit_s, 0.001))
        started = time.perf_counter()
        with self._mapped(model_id, budget):
            async with asyncio.timeout(budget.left()):
                response = await client._transport_for_url(url).handle_async_request(sent)
                response.request = sent
                try:
                    if response.status_code >= 400:
                        raise self._error(response, await response.aread(), model_id)
                    if not request.stream:
                        body = await response.aread()
                    else:
                        assembler = self._assembler(model_id)
                        response.encoding = "utf-8"  # SSE is UTF-8 whatever the charset says
                        async for line in response.aiter_lines():
                            assembler.feed_line(line)
                            if on_chunk is not None and assembler.last_chunk is not None:
                                on_chunk(assembler.last_chunk)
                        result = assembler.result()
                        wait = time.perf_counter() - started
                        return ProviderReply(result, wait, response.status_code)
                finally:
                    await response.aclose()
        wait = time.perf_counter() - started
        return ProviderReply(self._answer(response, body, model_id), wait, response.status_code)

    def outgoing(self, model_name: str, request: ChatRequest) -> tuple[httpx.URL, bytes]:
        """Where ``request`` goes and its body, as this protocol sends it."""
        return self._url_for(model_name, request.stream), encode_json(
            self._body(model_name, request)
        )

    def read_answer(
        self,
        response: httpx.Response,
        *,
        stream: bool,
        model_id: str | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> ChatResponse:
        """A whole (already read) answer, as :meth:`complete` reads one off the wire: an
        error status raises its typed error, a stream is assembled line by line. The eval
        engine's replays read recorded answers through it."""
        if response.status_code >= 400 or not stream:
            return self._answer(response, response.read(), model_id)
        return self._assemble(response, model_id, on_chunk)

    def _assemble(
        self,
        response: httpx.Response,
        model_id: str | None,
        on_chunk: ChunkCallback | None,
        check: Callable[[], None] | None = None,
    ) -> ChatResponse:
        """A streamed answer, line by line (``check`` runs before each: the budget)."""
        assembler = self._assembler(model_id)
        response.encoding = "utf-8"  # SSE is UTF-8 whatever the charset says
        for line in response.iter_lines():
            if check is not None:
                check()
            assembler.feed_line(line)
            if on_chunk is not None and assembler.last_chunk is not None:
                on_chunk(assembler.last_chunk)
        return assembler.result()

    def _answer(self, response: httpx.Response, body: bytes, model_id: str | None) -> ChatResponse:
        if response.status_code >= 400:
            raise self._error(response, body, model_id)
        decoded = self._decode(body, model_id)
        if not isinstance(decoded, Mapping):
            raise MalformedResponse(
                "the answer is not a JSON object",
                provider=self.name,
                model_id=model_id,
                body=self._scrub(body[:2000].decode("utf-8", "replace")),
            )
        return self._parse(decoded, response.status_code, model_id)

    # -- what a protocol says -------------------------------------------------------------

    protocol: ClassVar[WireProtocol]

    @abc.abstractmethod
    def _auth_headers(self, api_key: str) -> dict[str, str]:
        """The headers that carry the key."""
        ...

    @abc.abstractmethod
    def _url(self, model_name: str, stream: bool) -> str:
        """Where a request for ``model_name`` goes."""
        ...

    @abc.abstractmethod
    def _body(self, model_name: str, request: ChatRequest) -> dict[str, Any]:
        """The JSON body of the request."""
        ...

    @abc.abstractmethod
    def _parse(
        self, decoded: Mapping[str, Any], status_code: int, model_id: str | None
    ) -> ChatResponse:
        """A whole (decoded) answer, normalized."""
        ...

    @abc.abstractmethod
    def _assembler(self, model_id: str | None) -> Assembler:
        """A new reader of one streamed answer."""
        ...

    def _url_for(self, model_name: str, stream: bool) -> httpx.URL:
        key = (model_name, stream)
        found = self._urls.get(key)
        if found is None:
            found = self._urls[key] = httpx.URL(self._url(model_name, stream))
        return found


def _read(response: httpx.Response, budget: Budget) -> bytes:
    """The whole (decoded) body, checking the budget after each chunk."""
    chunks = []
    for chunk in response.iter_bytes():
        budget.check()
        chunks.append(chunk)
    return b"".join(chunks)


def _request(
    client: httpx.Client | httpx.AsyncClient, url: httpx.URL, content: bytes, timeout_s: float
) -> httpx.Request:
    """The POST of ``content`` to ``url`` with the client's headers, as ``Client.send`` would
    send it (``Host`` and ``Content-Length`` are the request's own)."""
    return httpx.Request(
        "POST", url, headers=client.headers, content=content, extensions=_timeouts(timeout_s)
    )


@functools.lru_cache(maxsize=64)
def _timeout_map(seconds: float) -> Mapping[str, float | None]:
    """httpcore's timeout extension for a bound, built once per value (read only)."""
    return httpx.Timeout(seconds).as_dict()


def _timeouts(seconds: float) -> dict[str, Any]:
    return {"timeout": _timeout_map(seconds)}


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (httpx's default, from certifi) for every client: each new one
    loads the CA bundle (~50 ms), and a provider opens eight async clients."""
    return httpx.create_ssl_context()
