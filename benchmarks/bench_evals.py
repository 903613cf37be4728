"""Eval speed: replaying 2,000 recorded items end to end, and live throughput.

1. Replay. 400 single-turn BFCL cases (simple_python and multiple) x 5 trials against
   ``ref:ref/steady`` = 2,000 (model, case, trial) items are recorded once against the
   reference simulator, then replayed offline with scoring and result storage, timed
   from process start to exit, for ``clearance eval`` and for ``pytest evals``.
2. Live. The same items are run live at concurrency 8 against the reference provider
   (recording into a scratch folder, as a first run does), and the requests the run
   sent are then sent again by raw httpx at concurrency 8 against a fresh server: the
   ratio of the two throughputs is the engine's cost on a live run.

    python benchmarks/bench_evals.py [--rounds 3] [--profile]

The reference provider is a SIMULATOR: these figures measure clearance, not a model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CASES = "bfcl_simple_python_*,bfcl_multiple_*"
MODEL = "ref:ref/steady"
TRIALS = 5


def write_project(
    folder: Path,
    cassettes: Path,
    reference_url: str | None = None,
    *,
    model: str = MODEL,
    trials: int = TRIALS,
) -> Path:
    config = folder / "clearance.toml"
    provider = (
        f'[[providers]]\nname = "ref"\nbase_url = "{reference_url}"\n' if reference_url else ""
    )
    config.write_text(
        f"""
[catalog]
database_url = "sqlite:///{folder / "catalog.db"}"
[contracts]
root = "{ROOT / "contracts"}"
[evals]
models = ["{model}"]
suites = ["bfcl"]
bfcl_root = "{ROOT / "contracts" / "bfcl"}"
cassettes = "{cassettes}"
trials = {trials}
concurrency = 8
{provider}""",
        encoding="utf-8",
    )
    return config


def clearance(config: Path, *args: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
    env["CLEARANCE_CONFIG"] = str(config)
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "clearance"), *args], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"clearance {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def pytest_evals(config: Path, project: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
    env["CLEARANCE_CONFIG"] = str(config)
    (project / "evals").mkdir(exist_ok=True)
    (project / "evals" / "test_evals.py").write_text(
        (ROOT / "evals" / "test_evals.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pytest",
            "evals",
            "-q",
            "-p",
            "no:cacheprovider",
            "--clearance-record-mode=none",
            "--clearance-model-failures=xfail",
            f"--clearance-cases={CASES}",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pytest evals failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


@contextlib.contextmanager
def reference_process() -> Iterator[str]:
    """A reference simulator in its own process; yields its base URL."""
    server = subprocess.Popen(
        [str(BIN / "python"), "-m", "clearance.reference"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


def recorded_requests(cassettes: Path) -> list[dict[str, object]]:
    bodies = []
    for path in sorted(cassettes.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for interaction in document["interactions"]:
            bodies.append(interaction["request"]["body"]["json"])
    return bodies


async def raw_httpx(base_url: str, bodies: list[dict[str, object]], concurrency: int) -> float:
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                response = await client.post("/chat/completions", json=body)
                response.raise_for_status()
                response.json()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one replay")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evals-") as scratch:
        folder = Path(scratch)
        cassettes = folder / "cassettes"
        config = write_project(folder, cassettes)

        # live: record (first run) at concurrency 8, timed inside the process
        elapsed, out = clearance(config, "eval", "--cases", CASES, "--record-mode", "all", "--json")
        live = json.loads(out)
        items = live["planned"]
        requests = recorded_requests(cassettes)
        print(f"recorded {items} items ({len(requests)} requests) in {elapsed:.2f} s")
        print(f"  counts {live['counts']}")

        # Live. The provider is another process, as a real one is another machine: the
        # engine and raw httpx each talk to a fresh `python -m clearance.reference`.
        # ref/steady answers at once (the run is bound by CPU: this measures clearance's
        # own cost per request); ref/slow answers after 200 ms like steady (the run is
        # bound by the provider: this measures whether concurrency is used fully).
        for model, cases, trials in (
            (MODEL, CASES, TRIALS),
            ("ref:ref/slow", "bfcl_simple_python_1*", 2),
        ):
            engine_rates, raw_rates = [], []
            for round_ in range(args.rounds):
                live = folder / f"live-{model.rsplit('/', 1)[-1]}-{round_}"
                live.mkdir()
                with reference_process() as base_url:
                    live_config = write_project(
                        live, live / "cassettes", base_url, model=model, trials=trials
                    )
                    _, out = clearance(
                        live_config, "eval", "--cases", cases, "--record-mode", "all", "--json"
                    )
                    sent = recorded_requests(live / "cassettes")
                    engine_rates.append(len(sent) / json.loads(out)["elapsed_s"])
                with reference_process() as base_url:
                    raw_rates.append(len(sent) / asyncio.run(raw_httpx(base_url, sent, 8)))
            engine_rate = statistics.median(engine_rates)
            raw_rate = statistics.median(raw_rates)
            print(
                f"live {model}, {len(sent)} requests at concurrency 8: engine "
                f"{engine_rate:.0f} req/s, raw httpx {raw_rate:.0f} req/s: "
                f"engine/raw = {engine_rate / raw_rate:.2f} (medians of {args.rounds})"
            )

        # replay: process start to exit
        eval_times = [
            clearance(config, "eval", "--cases", CASES, "--record-mode", "none", "--json")[0]
            for _ in range(args.rounds)
        ]
        pytest_times = [pytest_evals(config, folder) for _ in range(args.rounds)]
        print(
            f"replay {items} items, process start to exit: clearance eval median "
            f"{statistics.median(eval_times):.2f} s (min {min(eval_times):.2f}); "
            f"pytest evals median {statistics.median(pytest_times):.2f} s "
            f"(min {min(pytest_times):.2f})"
        )
        if args.profile:
            env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
            env["CLEARANCE_CONFIG"] = str(config)
            out_file = ROOT / "benchmarks" / ".out" / "evals-replay.prof"
            out_file.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    str(BIN / "python"),
                    "-m",
                    "cProfile",
                    "-o",
                    str(out_file),
                    str(BIN / "clearance"),
                    "eval",
                    "--cases",
                    CASES,
                    "--record-mode",
                    "none",
                    "--json",
                ],
                env=env,
                capture_output=True,
                check=True,
            )
            import pstats

            pstats.Stats(str(out_file)).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
