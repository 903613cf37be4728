"""How many requests per second the reference server answers on loopback.

Run ``python -m clearance.reference.loadcheck`` (``--help`` for options). It
starts a server (or uses ``--url``), then keeps ``--workers`` concurrent
clients busy with ``ref/steady`` tool-call requests for ``--seconds``, on
keep-alive connections, and prints the rate. Two clients:

``httpx``
    ``httpx.AsyncClient``, as clearance's router uses; the client's own cost
    is part of the figure (it usually dominates).
``raw``
    a minimal HTTP/1.1 client on asyncio streams, to see the server's capacity.

Client and server share one machine (the server in a thread of this
process), so the figure is a floor, not the server's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from clearance.reference.server import ReferenceServer

__all__ = ["LoadResult", "measure", "request_body"]

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "description": "Send an email to a recipient",
            "parameters": {
                "type": "object",
                "properties": {"to": {"type": "string", "format": "email"}},
                "required": ["to"],
            },
        },
    },
]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load check measured."""

    requests: int
    """Answers received with status 200."""
    errors: int
    """Other answers and failed requests."""
    seconds: float
    workers: int
    client: str

    @property
    def per_second(self) -> float:
        """Successful requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def request_body(model: str = "ref/steady", index: int = 0) -> bytes:
    """A small tool-call request (``index`` varies the city, so bodies differ)."""
    message = f"What's the weather in City{index} in celsius?"
    body = {"model": model, "messages": [{"role": "user", "content": message}], "tools": TOOLS}
    return json.dumps(body).encode()


async def _httpx_worker(
    base_url: str, model: str, deadline: float, counts: list[int], numbers: Iterator[int]
) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        while time.perf_counter() < deadline:
            try:
                response = await client.post(
                    "/chat/completions",
                    content=request_body(model, next(numbers)),
                    headers={"content-type": "application/json"},
                )
                counts[0 if response.status_code == 200 else 1] += 1
            except httpx.HTTPError:
                counts[1] += 1


async def _raw_worker(
    base_url: str, model: str, deadline: float, counts: list[int], numbers: Iterator[int]
) -> None:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path.rstrip("/") + "/chat/completions"
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            body = request_body(model, next(numbers))
            head = (
                f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            )
            writer.write(head.encode() + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            counts[0 if b" 200 " in status_line else 1] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _run(
    base_url: str, *, seconds: float, workers: int, model: str, client: str, distinct: bool
) -> LoadResult:
    counts = [0, 0]
    worker = _httpx_worker if client == "httpx" else _raw_worker
    started = time.perf_counter()
    deadline = started + seconds
    numbers = itertools.count() if distinct else itertools.cycle(range(100))
    await asyncio.gather(
        *(worker(base_url, model, deadline, counts, numbers) for _ in range(workers))
    )
    elapsed = time.perf_counter() - started
    return LoadResult(counts[0], counts[1], elapsed, workers, client)


@contextlib.contextmanager
def _server_process() -> Iterator[str]:
    """A reference server in a child process (so that client and server do not share a GIL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "clearance.reference"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def measure(
    base_url: str | None = None,
    *,
    seconds: float = 3.0,
    workers: int = 8,
    model: str = "ref/steady",
    client: Literal["httpx", "raw"] = "httpx",
    distinct: bool = False,
    in_process: bool = False,
) -> LoadResult:
    """Keep ``workers`` clients busy for ``seconds`` and count the answers.

    Args:
        base_url: a running server's ``.../v1``; None starts one for the measurement.
        distinct: every request different (the server computes each answer); by default
            the clients cycle through 100 requests, as a load test replaying prompts does.
        in_process: start the server in a thread of this process rather than in a child
            process (client and server then share one interpreter lock).
    """

    def run(url: str) -> LoadResult:
        return asyncio.run(
            _run(
                url, seconds=seconds, workers=workers, model=model, client=client, distinct=distinct
            )
        )

    if base_url is not None:
        return run(base_url)
    if in_process:
        with ReferenceServer() as server:
            return run(server.base_url)
    with _server_process() as url:
        return run(url)


def main(argv: list[str] | None = None) -> None:
    """``python -m clearance.reference.loadcheck``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a running server's base URL (default: start one)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--model", default="ref/steady")
    parser.add_argument("--client", choices=("httpx", "raw", "both"), default="both")
    parser.add_argument(
        "--distinct", action="store_true", help="every request different (default: 100 cycled)"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="server in a thread, not a child process"
    )
    args = parser.parse_args(argv)
    clients: list[Literal["httpx", "raw"]] = (
        ["httpx", "raw"] if args.client == "both" else [args.client]
    )
    for client in clients:
        result = measure(
            args.url,
            seconds=args.seconds,
            workers=args.workers,
            model=args.model,
            client=client,
            distinct=args.distinct,
            in_process=args.in_process,
        )
        print(
            f"{client:5} client, {result.workers} workers, {result.seconds:.1f} s: "
            f"{result.requests} ok, {result.errors} errors, {result.per_second:,.0f} requests/s"
        )


if __name__ == "__main__":
    main()
