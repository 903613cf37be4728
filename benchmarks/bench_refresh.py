"""Catalog refresh against the call path: 5,000 models, 10,000 calls, sequential and async.

Issue 20's target 3: with 5,000 models in the catalog, the slowest of 10,000 calls is at
most 2x the p99. Each call goes through the whole router (kill switch, policy, pricing,
the call log on a SQLite catalog in a temporary folder) to a provider over
``httpx.MockTransport`` that answers at once, so what a call waits on is the router's.

Two routers, on the same catalog, in one run:

- ``inline``: the router as it was before the refresh moved off the call path (the
  benchmark's :class:`InlineRouter` restores it): whichever call finds the state older
  than ``policy_cache_ttl_s`` re-reads the whole catalog, every price included, before
  it goes on; on the event loop in async code.
- ``background``: the router as shipped: the state is rebuilt by its background thread
  and swapped in; prices are re-read only for the models whose rows changed.
- ``no refresh``: the router as shipped with ``policy_cache_ttl_s = 60``: no re-read
  during the run at all, the floor of what the refresh can reach.

Beside each row: the garbage collector's full passes during its calls and the longest
one (a full pass stops every thread; one comes every few thousand calls whatever the
refresh does, from what the calls themselves keep alive).

Rounds alternate the two (``--rounds``), each round a sequential block and an async
block of ``--calls`` calls each; latencies are pooled per router and mode. Between
rounds a price changes (one new version), so the background refresh has a delta to load.
Also printed: the time of one full state read, and of one read after a price change.

    .venv/bin/python benchmarks/bench_refresh.py [--models 5000] [--calls 10000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.gatestore import record_override
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.pricestore import add_price_versions
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.pricing import Price, PriceRates
from clearance.providers.factory import make_provider
from clearance.router import Router
from clearance.routerstate import RouterState, read_state

MESSAGES = [{"role": "user", "content": "What is the weather in Oslo?"}]
CALLED = "p:vendor/model-00000"
ANSWER = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "vendor/model-00000",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Sunny, 21 C."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }
).encode()


def answer(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=ANSWER, headers={"content-type": "application/json"})


def seed(folder: Path, models: int) -> tuple[ClearanceConfig, Catalog]:
    """A SQLite catalog with ``models`` priced models (every tenth one tiered)."""
    (folder / "clearance.toml").write_text(
        f'[catalog]\ndatabase_url = "sqlite:///{folder}/catalog.db"\n'
        '[[providers]]\nname = "p"\nbase_url = "https://p.example.invalid/v1"\n'
        "[router]\nretries_per_model = 0\n"
    )
    config = load_config(environ={}, cwd=folder)
    catalog = open_catalog(config.resolved_database_url())
    entries = [
        {
            "id": f"vendor/model-{index:05d}",
            "context_length": 128000,
            "pricing": {"prompt": f"0.00000{index % 9 + 1}", "completion": "0.000015"},
        }
        for index in range(models)
    ]
    tiered = [
        (
            f"p:vendor/model-{index:05d}",
            Price(
                f"p:vendor/model-{index:05d}",
                PriceRates.from_strings({"prompt": "0.000002", "completion": "0.00001"}),
                tiers=(),
            ),
            "bench",
        )
        for index in range(0, models, 10)
    ]
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example.invalid/v1")
        sync_models(
            connection, "p", parse_model_list({"data": entries}, source="bench"), enable_new=True
        )
        add_price_versions(connection, tiered, source="manual")
        record_override(
            connection,
            model_id=CALLED,
            action="enable",
            reason="benchmark",
            decided_by="bench",
            host=None,
            require_decision=config.gate.require_decision,
        )
    return config, catalog


def change_a_price(catalog: Catalog, step: int) -> None:
    """One new price version (what a price sync between two reads looks like)."""
    model_id = f"p:vendor/model-{step % 100 + 1:05d}"
    rates = PriceRates.from_strings({"prompt": f"0.0000{step % 90 + 10}", "completion": "0.00002"})
    with catalog.begin() as connection:
        add_price_versions(
            connection, [(model_id, Price(model_id, rates), "bench")], source="manual"
        )


class InlineRouter(Router):
    """The router before issue 20: the call that finds the state stale re-reads it all."""

    inline_state: RouterState | None = None

    def state(self) -> RouterState:
        state = self.inline_state
        ttl = self.config.router.policy_cache_ttl_s
        if state is None or time.monotonic() - state.read_at >= ttl:
            with self._lock:
                state = self.inline_state
                if state is None or time.monotonic() - state.read_at >= ttl:
                    state = read_state(
                        self.catalog,
                        self.config,
                        killed=self.killswitch.killed(),
                        adhoc=self._adhoc,
                        candidates=self._candidates,
                        gate_cache=self._gate_cache,
                    )
                    self.inline_state = state
        return state


def make_router(cls: type[Router], config: ClearanceConfig, catalog: Catalog) -> Router:
    router = cls(config, catalog, environ={})
    router.add_provider(
        make_provider(
            "openai",
            "p",
            "https://p.example.invalid/v1",
            api_key="k",
            transport=httpx.MockTransport(answer),
            async_transport=httpx.MockTransport(answer),
        ),
        owned=True,
    )
    return router


def sequential(router: Router, calls: int) -> list[float]:
    times = []
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        router.complete(MESSAGES, model=CALLED)
        times.append(clock() - t0)
    return times


async def one_by_one(router: Router, calls: int) -> list[float]:
    times = []
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        await router.acomplete(MESSAGES, model=CALLED)
        times.append(clock() - t0)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    p99 = percentile(values, 0.99)
    return {
        "calls": len(values),
        "p50_ms": statistics.median(values) * 1e3,
        "p99_ms": p99 * 1e3,
        "max_ms": max(values) * 1e3,
        "max_over_p99": max(values) / p99,
    }


def timed(action: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - t0)
    return best


def read_times(router: Router, catalog: Catalog, config: ClearanceConfig) -> dict[str, float]:
    """One full state read, and one that reuses the last state's prices after a change."""

    def full() -> RouterState:
        return read_state(
            catalog,
            config,
            killed=router.killswitch.killed(),
            adhoc={},
            candidates=(),
            gate_cache=router._gate_cache,
        )

    last = full()
    steps: Iterator[int] = iter(range(1000, 2000))

    def incremental() -> None:
        change_a_price(catalog, next(steps))
        read_state(
            catalog,
            config,
            killed=router.killswitch.killed(),
            adhoc={},
            candidates=(),
            gate_cache=router._gate_cache,
            previous=last,
        )

    return {"full_ms": timed(full, 5) * 1e3, "incremental_ms": timed(incremental, 5) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load {os.getloadavg()[0]:.2f}, {args.models} models, {args.calls} calls x "
        f"{args.rounds} round(s) per router and mode",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as tmp:
        config, catalog = seed(Path(tmp), args.models)
        ttl = config.router.model_copy(update={"policy_cache_ttl_s": 60.0})
        routers = {
            "inline": make_router(InlineRouter, config, catalog),
            "background": make_router(Router, config, catalog),
            "no refresh": make_router(Router, config.model_copy(update={"router": ttl}), catalog),
        }
        pooled: dict[tuple[str, str], list[float]] = {}
        pauses: dict[tuple[str, str], list[float]] = {}
        started = [0.0]
        current: list[list[float]] = [[]]

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if info["generation"] != 2:
                return
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                current[0].append(time.perf_counter() - started[0])

        gc.callbacks.append(on_gc)
        for router in routers.values():  # the first state is read inline by both
            router.complete(MESSAGES, model=CALLED)
        for step in range(args.rounds):
            for name, router in routers.items():
                change_a_price(catalog, step)
                current[0] = pauses.setdefault((name, "sequential"), [])
                pooled.setdefault((name, "sequential"), []).extend(sequential(router, args.calls))
                change_a_price(catalog, step + 500)
                current[0] = pauses.setdefault((name, "async"), [])
                times = asyncio.run(one_by_one(router, args.calls))
                pooled.setdefault((name, "async"), []).extend(times)
                current[0] = []
        reads = read_times(routers["background"], catalog, config)
        for router in routers.values():
            router.close()
        catalog.dispose()
    rows = {}
    for key, times in pooled.items():
        row = rows[f"{key[0]} {key[1]}"] = summary(times)
        row["full_gc"] = len(pauses[key])
        row["longest_full_gc_ms"] = max(pauses[key], default=0.0) * 1e3
    print(
        f"{'router, mode':<24}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'max/p99':>9}"
        f"{'full gc':>9}{'longest':>9}"
    )
    for label, row in rows.items():
        print(
            f"{label:<24}{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}{row['max_ms']:>9.2f}"
            f"{row['max_over_p99']:>9.2f}{row['full_gc']:>9}{row['longest_full_gc_ms']:>9.1f}"
        )
    print(
        f"state read, {args.models} models: full {reads['full_ms']:.1f} ms, after one price "
        f"change reusing the last state's prices {reads['incremental_ms']:.1f} ms (best of 5)"
    )
    print(json.dumps({"calls": rows, "reads": reads}))


if __name__ == "__main__":
    main()
