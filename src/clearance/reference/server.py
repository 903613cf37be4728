"""The reference server: the simulator on a loopback port, in its own thread and loop."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from clearance.reference.app import ReferenceApp
from clearance.reference.behaviours import FlakySchedule, Simulator
from clearance.reference.protocol import Connection

__all__ = ["LOOPBACK", "ReferenceServer"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
"""The only hosts the server binds: it is a test fixture, never a public service.
(``localhost`` means ``127.0.0.1``, so that one port is bound, not one per address.)"""


class ReferenceServer:
    """A SIMULATOR of model behaviour on ``http://127.0.0.1:PORT``, in three protocols.

    None of its models is a language model: each is a deterministic program
    that reads the request's messages and tools (see ``GET /v1/models``). One port
    serves OpenAI chat completions (:attr:`base_url`), Anthropic Messages and Gemini
    (:meth:`base_url_for`; see :mod:`clearance.reference.app` for the routes).

    Args:
        host: a loopback address.
        port: 0 picks a free port (read it from :attr:`port` / :attr:`base_url`).
        seed: every answer is a function of (seed, request).
        api_key: when set, every route but ``/health`` wants it, as each protocol sends
            it (``Authorization: Bearer``, ``x-api-key``, ``x-goog-api-key``).
        sloppy_rate: the share of ``ref/sloppy`` tool-call answers that carry a fault.
        flaky: ``ref/flaky``'s schedule (:class:`FlakySchedule`'s defaults if None).
        slow_ms: ``ref/slow``'s delay, in milliseconds.

    Use it as a context manager, or :meth:`start` / :meth:`stop`::

        with ReferenceServer(seed=1) as server:
            httpx.get(server.base_url + "/models")
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 0,
        api_key: str | None = None,
        sloppy_rate: float = 0.3,
        flaky: FlakySchedule | None = None,
        slow_ms: int = 200,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(
                f"the reference server binds loopback only ({', '.join(sorted(LOOPBACK))}), "
                f"not {host!r}"
            )
        self.host = "127.0.0.1" if host == "localhost" else host
        self._port = port
        simulator = Simulator(
            seed=seed, sloppy_rate=sloppy_rate, flaky=flaky, slow_s=slow_ms / 1000
        )
        self.app = ReferenceApp(simulator, api_key=api_key)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._connections: set[Connection] = set()
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"ReferenceServer({self.host!r}, port={self._port}, {state})"

    @property
    def port(self) -> int:
        """The port it listens on (known once started)."""
        return self._port

    @property
    def origin(self) -> str:
        """``http://HOST:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: the base URL an OpenAI client wants."""
        return f"{self.origin}/v1"

    def base_url_for(self, protocol: str) -> str:
        """The base URL a client of ``protocol`` wants: ``/v1`` for OpenAI's and
        Anthropic's (``/v1/chat/completions``, ``/v1/messages``), ``/v1beta`` for Gemini's.

        Raises:
            ValueError: an unknown protocol.
        """
        if protocol in ("openai", "anthropic"):
            return self.base_url
        if protocol == "gemini":
            return f"{self.origin}/v1beta"
        raise ValueError(f"unknown protocol {protocol!r}: openai, anthropic or gemini")

    def requests(self) -> dict[str, int]:
        """How many requests each route got so far (``{"POST /v1/messages": 3, ...}``)."""
        return self.app.requests()

    @property
    def pending(self) -> int:
        """How many replies are being held back (slow, hanging) right now."""
        return sum(1 for connection in list(self._connections) if connection.waiting)

    @property
    def running(self) -> bool:
        """Whether the server thread is up."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ReferenceServer:
        """Start serving in a background thread; return once the port is listening.

        Raises:
            OSError: the port could not be bound.
            RuntimeError: already started.
        """
        if self._thread is not None:
            raise RuntimeError("the reference server is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="reference-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        error = self._startup_error()
        if error is not None:
            self._thread.join()
            self._thread = None
            raise error
        return self

    def _startup_error(self) -> BaseException | None:
        return self._error

    def stop(self) -> None:
        """Stop serving: close every connection, cancel pending replies, join the thread."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and thread.is_alive():
            loop.call_soon_threadsafe(stopping.set)
        thread.join()
        self._thread = None

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C (or :meth:`stop` from another thread)."""
        if not self.running:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.25)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the server thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to start() if it came before listening
            if not self._ready.is_set():
                self._error = error
        finally:
            self._ready.set()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopping = asyncio.Event()
        connections = self._connections
        server = await loop.create_server(
            lambda: Connection(self.app.handle, connections), self.host, self._port
        )
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for connection in list(connections):
                connection.shutdown()
            await server.wait_closed()
            for _ in range(3):  # let the transports run their close callbacks
                await asyncio.sleep(0)
