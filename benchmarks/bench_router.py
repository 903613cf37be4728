"""Router overhead: raw httpx vs clearance's Router vs LiteLLM's Router, in one run.

The reference provider runs in its own process on 127.0.0.1 (so it does not share
the client's GIL). clearance runs with everything on: kill switch, policy,
pricing and the call log (a SQLite catalog in a temporary folder). Rounds of each
case are interleaved so machine load hits them alike; ratios are taken per round.

    .venv/bin/python benchmarks/bench_router.py [--calls 300] [--rounds 5]

LiteLLM is measured when it is installed (``pip install -e '.[bench]'``).

Issue 20's router figure is "overhead versus raw httpx in the same venv": per round, the
router's median (and p99) call time minus raw httpx's, then the median over rounds;
``--sequential-only`` skips the concurrent and import sections.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
]
MESSAGES = [{"role": "user", "content": 'What is the weather in "Oslo" in celsius?'}]


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "clearance.reference", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http"):
        raise SystemExit(f"reference server did not start: {base_url!r}")
    return process, base_url


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def clearance_router(base_url: str, folder: Path, router_settings: str = "") -> Any:
    """A Router on a fresh SQLite catalog in ``folder``; ``router_settings``: extra
    ``key = value`` lines of its ``[router]`` section."""
    from clearance.catalog.database import open_catalog
    from clearance.catalog.gatestore import record_override
    from clearance.catalog.modelstore import ensure_provider, sync_models
    from clearance.catalog.orgstore import set_fallback_chain
    from clearance.config import load_config
    from clearance.discovery import fetch_model_list
    from clearance.router import Router

    (folder / "clearance.toml").write_text(
        f'[catalog]\ndatabase_url = "sqlite:///{folder}/catalog.db"\n'
        f'[[providers]]\nname = "ref"\nbase_url = "{base_url}"\n'
        f"[router]\nretries_per_model = 0\n{router_settings}"
    )
    config = load_config(environ={}, cwd=folder)
    catalog = open_catalog(config.resolved_database_url())
    with catalog.begin() as connection:
        ensure_provider(connection, "ref", base_url=base_url)
        sync_models(connection, "ref", fetch_model_list(base_url), enable_new=True)
        set_fallback_chain(connection, "ref:ref/status-500", ["ref:ref/steady"])
        # the gate requires a decision (gate.require_decision): enable the simulators the
        # benchmark calls as a person would, so the router reads a real gate state
        for model_id in ("ref:ref/steady", "ref:ref/status-500"):
            record_override(
                connection,
                model_id=model_id,
                action="enable",
                reason="benchmark",
                decided_by="bench",
                host=None,
                require_decision=config.gate.require_decision,
            )
    return Router(config, catalog)


def litellm_router(base_url: str) -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:
        return None
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    params = {"api_base": base_url, "api_key": "sk-bench"}
    return litellm.Router(
        model_list=[
            {"model_name": "steady", "litellm_params": {"model": "openai/ref/steady", **params}},
            {
                "model_name": "broken",
                "litellm_params": {"model": "openai/ref/status-500", **params},
            },
        ],
        fallbacks=[{"broken": ["steady"]}],
        num_retries=0,
    )


def time_calls(call: Callable[[], Any], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def sequential(base_url: str, router: Any, lite: Any, calls: int, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of raw httpx and ``router`` (clearance) or ``lite`` (LiteLLM)."""
    client = httpx.Client(timeout=30)
    url = f"{base_url}/chat/completions"
    headers = {"Content-Type": "application/json"}

    # What an application calling the API itself does per call: build the body, encode
    # it, post, decode the answer. (Encoding once outside the loop would flatter raw.)
    def raw() -> None:
        body = {"model": "ref/steady", "messages": MESSAGES, "tools": TOOLS}
        response = client.post(url, content=json.dumps(body), headers=headers)
        response.raise_for_status()
        response.json()

    def raw_hop() -> None:
        body = {"model": "ref/status-500", "messages": MESSAGES, "tools": TOOLS}
        assert client.post(url, content=json.dumps(body), headers=headers).status_code == 500
        raw()

    overheads: list[float] = []
    overheads_hop: list[float] = []

    def routed() -> None:
        result = router.complete(MESSAGES, TOOLS, model="ref:ref/steady")
        overheads.append(result.overhead_s)

    def routed_hop() -> None:
        result = router.complete(MESSAGES, TOOLS, model="ref:ref/status-500")
        assert result.served_model == "ref:ref/steady"
        overheads_hop.append(result.overhead_s)

    cases: dict[str, Callable[[], None]] = {
        "raw httpx": raw,
        "raw httpx, 500 then retry elsewhere": raw_hop,
    }
    if router is not None:
        cases["clearance Router"] = routed
        cases["clearance Router, one fallback hop"] = routed_hop
    if lite is not None:
        cases["LiteLLM Router"] = lambda: lite.completion(
            model="steady", messages=MESSAGES, tools=TOOLS
        )
        cases["LiteLLM Router, one fallback hop"] = lambda: lite.completion(
            model="broken", messages=MESSAGES, tools=TOOLS
        )
    for call in cases.values():  # warm-up: connections, caches, imports
        for _ in range(20):
            call()
    overheads.clear()
    overheads_hop.clear()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    ratios: dict[str, list[float]] = {}
    deltas: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        medians = {}
        p99s = {}
        for name, call in cases.items():
            times = time_calls(call, calls)
            samples[name].extend(times)
            medians[name] = statistics.median(times)
            p99s[name] = percentile(times, 0.99)
        pairs: list[tuple[str, str, str]] = []
        if router is not None:
            pairs += [
                ("clearance / raw", "clearance Router", "raw httpx"),
                (
                    "clearance / raw, one fallback hop",
                    "clearance Router, one fallback hop",
                    "raw httpx, 500 then retry elsewhere",
                ),
            ]
        if lite is not None:
            pairs += [
                ("LiteLLM / raw", "LiteLLM Router", "raw httpx"),
                (
                    "LiteLLM / raw, one fallback hop",
                    "LiteLLM Router, one fallback hop",
                    "raw httpx, 500 then retry elsewhere",
                ),
            ]
        for label, a, b in pairs:
            ratios.setdefault(label, []).append(medians[a] / medians[b])
            deltas.setdefault(label, []).append((medians[a] - medians[b], p99s[a] - p99s[b]))
    client.close()
    return {
        "samples": samples,
        "ratios": {k: statistics.median(v) for k, v in ratios.items()},
        "deltas": {
            k: (statistics.median(d[0] for d in v), statistics.median(d[1] for d in v))
            for k, v in deltas.items()
        },
        "overhead": overheads,
        "overhead_hop": overheads_hop,
    }


async def concurrent(
    base_url: str, router: Any, concurrency: int, seconds: float
) -> dict[str, float]:
    url = f"{base_url}/chat/completions"
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    shards = 8
    sharded_limits = httpx.Limits(
        max_connections=200 // shards, max_keepalive_connections=100 // shards
    )

    async def run(call: Callable[[], Any]) -> float:
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

    headers = {"Content-Type": "application/json"}
    pool = [httpx.AsyncClient(timeout=30, limits=sharded_limits) for _ in range(shards)]
    turn = itertools.count()
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def post(http: httpx.AsyncClient) -> None:
            body = {"model": "ref/steady", "messages": MESSAGES, "tools": TOOLS}
            response = await http.post(url, content=json.dumps(body), headers=headers)
            response.raise_for_status()
            response.json()

        async def raw() -> None:
            await post(client)

        async def raw_sharded() -> None:
            await post(pool[next(turn) % shards])

        async def routed() -> None:
            await router.acomplete(MESSAGES, TOOLS, model="ref:ref/steady")

        cases = {
            "raw httpx (one AsyncClient)": raw,
            "raw httpx (8 AsyncClients, as the router shards them)": raw_sharded,
            "clearance Router": routed,
        }
        for call in cases.values():  # warm-up
            await asyncio.gather(*(call() for _ in range(concurrency)))
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(3):
            for name, call in cases.items():
                results[name].append(await run(call))
        await router.aclose()
    for http in pool:
        await http.aclose()
    return {name: statistics.median(values) for name, values in results.items()}


def import_time(statement: str, runs: int = 5) -> float:
    code = (
        "import time; started = time.perf_counter(); "
        f"{statement}; print(time.perf_counter() - started)"
    )
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="sequential calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0, help="per concurrent round")
    parser.add_argument(
        "--sequential-only", action="store_true", help="skip the concurrent and import parts"
    )
    parser.add_argument("--litellm-only", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.litellm_only:
        # LiteLLM starts background threads at import; measured in this separate process
        # so they do not compete with clearance for the GIL (and vice versa).
        lite = litellm_router(args.litellm_only)
        if lite is None:
            print(json.dumps(None))
            return
        seq = sequential(args.litellm_only, None, lite, args.calls, args.rounds)
        print(json.dumps({"samples": seq["samples"], "ratios": seq["ratios"]}))
        return
    print(f"# {sys.executable} benchmarks/bench_router.py {' '.join(sys.argv[1:])}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"# cpu: {cpu}, nproc {os.cpu_count()}; python {platform.python_version()}")
    print(f"# load average before: {os.getloadavg()[0]:.2f}")
    server, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            router = clearance_router(base_url, Path(folder))
            seq = sequential(base_url, router, None, args.calls, args.rounds)
            conc = None
            if not args.sequential_only:
                conc = asyncio.run(concurrent(base_url, router, args.concurrency, args.seconds))
            router.close()
        lite_run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--litellm-only",
                base_url,
                "--calls",
                str(max(20, args.calls // 10)),
                "--rounds",
                str(args.rounds),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        lite = json.loads(lite_run.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait()
    if lite is None:
        print("# litellm not installed: its rows are skipped (pip install -e '.[bench]')")
    else:
        for name, times in lite["samples"].items():
            if name.startswith("LiteLLM"):
                seq["samples"][name] = times
        seq["ratios"].update(lite["ratios"])
        seq["ratios"]["LiteLLM / clearance (via their raw-httpx ratios)"] = (
            lite["ratios"]["LiteLLM / raw"] / seq["ratios"]["clearance / raw"]
        )
    print("\n## Sequential calls (one tool-call request, reference provider on loopback)\n")
    print("| case | calls | median ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, times in seq["samples"].items():
        print(
            f"| {name} | {len(times)} | {statistics.median(times) * 1000:.3f} | "
            f"{percentile(times, 0.99) * 1000:.3f} |"
        )
    print("\n## clearance's own overhead per call (total minus time waiting on the provider)\n")
    print("| case | p50 µs | p99 µs |")
    print("|---|---:|---:|")
    for label, values in (("direct", seq["overhead"]), ("one fallback hop", seq["overhead_hop"])):
        print(
            f"| {label} | {percentile(values, 0.5) * 1e6:.1f} | "
            f"{percentile(values, 0.99) * 1e6:.1f} |"
        )
    print("\n## Ratios of median call time (median of per-round ratios)\n")
    for label, value in seq["ratios"].items():
        print(f"- {label}: {value:.3f}×")
    print("\n## Time added to raw httpx (per round: p50 and p99 differences; their medians)\n")
    for label, (p50, p99) in seq["deltas"].items():
        print(f"- {label}: p50 {p50 * 1e6:+.1f} µs, p99 {p99 * 1e6:+.1f} µs")
    if conc is None:
        print(f"\n# load average after: {os.getloadavg()[0]:.2f}")
        return
    print(f"\n## {args.concurrency} concurrent calls (asyncio, {args.seconds:.0f} s rounds × 3)\n")
    for name, rps in conc.items():
        print(f"- {name}: {rps:.0f} calls/s")
    raw_rps = conc["raw httpx (one AsyncClient)"]
    print(f"- clearance / raw throughput: {conc['clearance Router'] / raw_rps:.3f}×")
    sharded = conc["raw httpx (8 AsyncClients, as the router shards them)"]
    print(f"- clearance / raw with the same sharding: {conc['clearance Router'] / sharded:.3f}×")
    print("\n## Import time (median of 5 fresh interpreters)\n")
    for statement in ("import clearance", "from clearance.router import Router", "import httpx"):
        print(f"- `{statement}`: {import_time(statement) * 1000:.0f} ms")
    if lite is not None:
        print(f"- `import litellm`: {import_time('import litellm', runs=3) * 1000:.0f} ms")
    print("\n(LiteLLM runs in its own process with its own raw-httpx rounds; its call counts are")
    print(" a tenth of clearance's because each call takes ten times as long.)")
    print(f"\n# load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
