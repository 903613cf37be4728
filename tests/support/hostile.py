"""A hostile HTTP/1.1 server: raw bytes on a loopback socket, exactly as scripted.

The reference provider speaks correct HTTP; this one says whatever a test wants (a
body not in its declared content-encoding, a status line that is not one, a body
trickled a byte at a time, a stream of keep-alive comments that never ends), so the
transport errors and deadlines of the provider are tested against real sockets.

Each connection reads one request, plays the answer the server holds at that moment
(pieces of bytes, with pauses between them), then closes; ``hold_s`` keeps it open
(silent) before closing. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["Answer", "HostileServer", "hostile_server", "http_answer", "trickle"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server sends for one request."""

    pieces: Sequence[bytes | float] = ()
    """Bytes to send, and pauses (seconds, as floats) between them."""
    hold_s: float = 0.0
    """Seconds to keep the connection open, silent, after the last piece."""


def http_answer(
    body: bytes,
    *,
    status: str = "200 OK",
    headers: Sequence[tuple[str, str]] = (("content-type", "application/json"),),
    content_length: bool = True,
) -> bytes:
    """A raw HTTP/1.1 answer (with a correct ``content-length`` unless told not to)."""
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    if content_length:
        lines.append(f"content-length: {len(body)}")
    lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def trickle(data: bytes, every_s: float) -> list[bytes | float]:
    """``data`` one byte at a time, ``every_s`` seconds apart."""
    pieces: list[bytes | float] = []
    for index in range(len(data)):
        pieces += [data[index : index + 1], every_s]
    return pieces


@dataclass(slots=True)
class HostileServer:
    """A running server; set :attr:`answer` before each call."""

    answer: Answer = field(default_factory=Answer)
    requests: int = 0
    """Requests received so far."""
    _listener: socket.socket = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        accepting = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        accepting.start()
        self._threads.append(accepting)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def stop(self) -> None:
        """Close the listener and every open connection; wait for the threads."""
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            serving = threading.Thread(
                target=self._serve, args=(connection,), name="hostile-conn", daemon=True
            )
            with self._lock:
                self._threads[:] = [t for t in self._threads if t.is_alive()]
                self._threads.append(serving)
            serving.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            if not self._read_request(connection):
                return
            with self._lock:
                self.requests += 1
                answer = self.answer
            try:
                for piece in answer.pieces:
                    if isinstance(piece, float):
                        if self._stop.wait(piece):
                            return
                    else:
                        connection.sendall(piece)
                if answer.hold_s:
                    self._stop.wait(answer.hold_s)
            except OSError:
                return  # the client gave up (its deadline): nothing more to send

    def _read_request(self, connection: socket.socket) -> bool:
        """Read one request (headers, then a ``content-length`` body); False if none came."""
        connection.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return False
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                chunk = connection.recv(65536)
                if not chunk:
                    return False
                body += chunk
        except OSError:
            return False
        return True


@contextlib.contextmanager
def hostile_server(answer: Answer | None = None) -> Iterator[HostileServer]:
    """A :class:`HostileServer`, stopped on exit."""
    server = HostileServer(answer or Answer())
    try:
        yield server
    finally:
        server.stop()
