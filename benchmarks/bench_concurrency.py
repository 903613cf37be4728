"""50 concurrent calls: raw httpx, raw aiohttp and clearance's Router, in one run.

Issue 20, target 2: the router's async throughput against the two raw clients an
application would otherwise use, each sending the same tool-call request to the reference
provider (a SIMULATOR in its own process on 127.0.0.1, answering at once: this measures
the clients' CPU per request, not a model). Every case runs ``--concurrency`` asyncio tasks
that call in a loop for ``--seconds``; the cases alternate round by round, and each ratio
is the median of the per-round ratios (the machine is shared and noisy).

    .venv/bin/python benchmarks/bench_concurrency.py [--rounds 5] [--seconds 3]

Raw aiohttp and the router on its aiohttp transport are measured when aiohttp is
installed (``pip install -e '.[aiohttp]'``); ``--only CASE`` runs one case alone, for a
profiler (``py-spy record -- python benchmarks/bench_concurrency.py --only router``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_router import MESSAGES, TOOLS, clearance_router, start_server

Call = Callable[[], Awaitable[Any]]


def body() -> str:
    """What an application calling the API itself encodes per call."""
    return json.dumps({"model": "ref/steady", "messages": MESSAGES, "tools": TOOLS})


async def throughput(call: Call, concurrency: int, seconds: float) -> float:
    """Calls per second of ``concurrency`` tasks calling in a loop for ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


class Cases:
    """The clients of one run, opened and closed together."""

    def __init__(self, base_url: str, folder: Path, concurrency: int) -> None:
        self.base_url = base_url
        self.url = f"{base_url}/chat/completions"
        self.folder = folder
        self.concurrency = concurrency
        self.closers: list[Callable[[], Awaitable[Any]]] = []
        self.calls: dict[str, Call] = {}

    async def open(self, only: str | None) -> None:
        headers = {"Content-Type": "application/json"}
        wanted = (lambda key: key == only) if only else (lambda key: True)
        if wanted("httpx"):
            limits = httpx.Limits(
                max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency
            )
            client = httpx.AsyncClient(timeout=30, limits=limits)
            self.closers.append(client.aclose)

            async def raw_httpx() -> None:
                response = await client.post(self.url, content=body(), headers=headers)
                response.raise_for_status()
                response.json()

            self.calls["raw httpx (one AsyncClient)"] = raw_httpx
        if importlib.util.find_spec("aiohttp") is not None and wanted("aiohttp"):
            import aiohttp

            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.concurrency * 2),
                timeout=aiohttp.ClientTimeout(total=30),
            )
            self.closers.append(session.close)

            async def raw_aiohttp() -> None:
                async with session.post(self.url, data=body(), headers=headers) as response:
                    response.raise_for_status()
                    await response.json()

            self.calls["raw aiohttp (one ClientSession)"] = raw_aiohttp
        for transport in ("httpx", "aiohttp"):
            key = "router" if transport == "httpx" else "router-aiohttp"
            if not wanted(key):
                continue
            if transport == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
                continue
            router = self.router(transport)
            if router is None:
                continue
            self.closers.append(router.aclose)

            async def routed(router: Any = router) -> None:
                await router.acomplete(MESSAGES, TOOLS, model="ref:ref/steady")

            self.calls[f"clearance Router ({transport} transport)"] = routed

    def router(self, transport: str) -> Any:
        """The router with ``router.async_client = transport`` (None: a tree without the
        setting, for a baseline run)."""
        from clearance.errors import ConfigError

        folder = self.folder / transport
        folder.mkdir()
        setting = "" if transport == "httpx" else f'async_client = "{transport}"\n'
        try:
            return clearance_router(self.base_url, folder, setting)
        except ConfigError:
            return None

    async def close(self) -> None:
        for close in self.closers:
            await close()


async def measure(
    base_url: str, folder: Path, concurrency: int, seconds: float, rounds: int, only: str | None
) -> dict[str, list[float]]:
    cases = Cases(base_url, folder, concurrency)
    await cases.open(only)
    try:
        for call in cases.calls.values():  # warm-up: connections, caches, imports
            for _ in range(3):
                await asyncio.gather(*(call() for _ in range(concurrency)))
        results: dict[str, list[float]] = {name: [] for name in cases.calls}
        for round_number in range(rounds):
            names = list(cases.calls)
            if round_number % 2:  # alternate the order: no case always runs first
                names.reverse()
            for name in names:
                results[name].append(await throughput(cases.calls[name], concurrency, seconds))
    finally:
        await cases.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0, help="per case and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--only",
        choices=("httpx", "aiohttp", "router", "router-aiohttp"),
        help="run one case alone (for a profiler)",
    )
    args = parser.parse_args()
    print(f"# {sys.executable} benchmarks/bench_concurrency.py {' '.join(sys.argv[1:])}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    print(
        f"# nproc {os.cpu_count()}; python {platform.python_version()}; httpx {httpx.__version__}"
    )
    if importlib.util.find_spec("aiohttp") is not None:
        import aiohttp

        print(f"# aiohttp {aiohttp.__version__}")
    else:
        print("# aiohttp not installed: its rows are skipped (pip install -e '.[aiohttp]')")
    print(f"# load average before: {os.getloadavg()[0]:.2f}")
    server, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            results = asyncio.run(
                measure(
                    base_url, Path(folder), args.concurrency, args.seconds, args.rounds, args.only
                )
            )
    finally:
        server.terminate()
        server.wait()
    print(f"\n## {args.concurrency} concurrent calls, {args.seconds:g} s × {args.rounds} rounds\n")
    print("| case | median calls/s | per round |")
    print("|---|---:|---|")
    for name, values in results.items():
        rounds = ", ".join(f"{value:.0f}" for value in values)
        print(f"| {name} | {statistics.median(values):.0f} | {rounds} |")
    print("\n## Ratios (median of per-round ratios)\n")
    raws = [name for name in results if name.startswith("raw")]
    for name in results:
        if name.startswith("raw"):
            continue
        for raw in raws:
            ratio = statistics.median(
                a / b for a, b in zip(results[name], results[raw], strict=True)
            )
            print(f"- {name} / {raw}: {ratio:.3f}×")
    print(f"\n# load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
