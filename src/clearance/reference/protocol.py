"""A small HTTP/1.1 server protocol on asyncio: keep-alive, pipelining, SSE.

Requests on one connection are answered in order: a request whose reply is
delayed (a slow or hanging model) holds back the ones pipelined behind it,
as HTTP/1.1 requires. Bodies must come with ``Content-Length``; a chunked
request body is refused with 411 and the connection closed (its end cannot
be found without decoding it). Streams are sent with chunked transfer
encoding, so the connection stays usable after them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from clearance.reference.wire import Reply, error_reply, openai_error

__all__ = ["Connection", "Handler", "HttpRequest"]

MAX_HEAD = 64 * 1024
"""Largest request line plus headers, in bytes (more gets 431)."""
MAX_BODY = 32 * 1024 * 1024
"""Largest request body, in bytes (more gets 413)."""

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One parsed request."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    """Lower-cased names; a repeated header's values joined with ``", "``."""
    body: bytes


Handler = Callable[[HttpRequest], Reply]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class Connection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, registry: set[Connection]) -> None:
        self._handler = handler
        self._registry = registry
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._continued = False
        self._paused = False

    @property
    def waiting(self) -> bool:
        """Whether a reply is being held back (a slow or hanging model)."""
        return self._task is not None

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport and register the connection."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._registry.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        """The client left (or the server closed): drop any delayed reply."""
        self._registry.discard(self)
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def data_received(self, data: bytes) -> None:
        """Buffer the bytes; answer every complete request unless a reply is pending."""
        self._buffer += data
        if self._task is None:
            self._process()
        elif len(self._buffer) > MAX_HEAD and not self._paused and self._transport is not None:
            self._transport.pause_reading()
            self._paused = True

    def shutdown(self) -> None:
        """Cancel a pending reply and close the connection (the server is stopping)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    # -- requests --------------------------------------------------------------------------

    def _process(self) -> None:
        while not self._closing:
            request = self._next_request()
            if request is None:
                return
            try:
                reply = self._handler(request)
            except Exception as error:  # a bug must not leave the client waiting
                _log.exception("reference server: handler failed")
                reply = Reply.json(
                    500,
                    openai_error(
                        f"internal error in the reference simulator: {type(error).__name__}",
                        "server_error",
                        "internal_error",
                    ),
                )
            if reply.delay_s > 0:
                self._task = asyncio.get_running_loop().create_task(self._later(request, reply))
                return
            self._send(request, reply)

    async def _later(self, request: HttpRequest, reply: Reply) -> None:
        if math.isinf(reply.delay_s):
            await asyncio.Event().wait()  # until cancelled: the client leaves or the server stops
        else:
            await asyncio.sleep(reply.delay_s)
        self._task = None
        self._send(request, reply)
        if self._paused and self._transport is not None and not self._closing:
            self._transport.resume_reading()
            self._paused = False
        self._process()

    def _next_request(self) -> HttpRequest | None:
        buffer = self._buffer
        while buffer.startswith(b"\r\n"):  # RFC 9112: ignore empty lines before a request
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD:
                self._refuse(431, "the request head is larger than 64 KiB", "head_too_large")
            return None
        lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self._refuse(400, f"not an HTTP/1.x request line: {lines[0][:80]!r}", "bad_request")
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                self._refuse(400, f"malformed header line: {line[:80]!r}", "bad_request")
                return None
            key = name.lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        if "transfer-encoding" in headers:
            self._refuse(
                411,
                "chunked request bodies are not supported: send the body with Content-Length",
                "length_required",
            )
            return None
        length = self._content_length(headers.get("content-length"))
        if length is None:
            return None
        total = end + 4 + length
        if len(buffer) < total:
            expect = headers.get("expect", "").lower() == "100-continue"
            if expect and not self._continued and self._transport is not None:
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._continued = True
            return None
        body = bytes(buffer[end + 4 : total])
        del buffer[:total]
        self._continued = False
        return HttpRequest(parts[0], parts[1], parts[2], headers, body)

    def _content_length(self, raw: str | None) -> int | None:
        if raw is None:
            return 0
        values = {v.strip() for v in raw.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            self._refuse(400, f"bad Content-Length: {raw[:40]!r}", "bad_request")
            return None
        length = int(values.pop())
        if length > MAX_BODY:
            self._refuse(413, "the request body is larger than 32 MiB", "body_too_large")
            return None
        return length

    # -- replies ---------------------------------------------------------------------------

    def _refuse(self, status: int, message: str, code: str) -> None:
        """Answer an unparseable request and close: the next request's start is unknown."""
        self._write(error_reply(status, message, code), keep_alive=False)

    def _send(self, request: HttpRequest, reply: Reply) -> None:
        connection = request.headers.get("connection", "").lower()
        if request.version == "HTTP/1.0":
            keep_alive = "keep-alive" in connection
        else:
            keep_alive = "close" not in connection
        self._write(reply, keep_alive=keep_alive)

    def _write(self, reply: Reply, *, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            self._closing = True
            return
        head = [
            f"HTTP/1.1 {reply.status} {_reason(reply.status)}",
            "server: clearance-reference",
            f"content-type: {reply.content_type}",
            f"connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        head.extend(f"{name}: {value}" for name, value in reply.headers)
        if reply.events is None:
            head.append(f"content-length: {len(reply.body)}")
            payload = reply.body
        else:
            head.extend(("transfer-encoding: chunked", "cache-control: no-cache"))
            framed = [b"%x\r\n%b\r\n" % (len(e), e) for e in reply.events]
            payload = b"".join(framed) + b"0\r\n\r\n"
        transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
        if not keep_alive:
            self._closing = True
            transport.close()
