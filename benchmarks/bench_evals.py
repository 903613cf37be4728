"""Eval speed: replaying 2,000 recorded items end to end, and live throughput.

1. Replay. 400 single-turn BFCL cases (simple_python and multiple) x 5 trials against
   ``ref:ref/steady`` = 2,000 (model, case, trial) items are recorded once against the
   reference simulator, then replayed offline with scoring and result storage, timed
   from process start to exit, for ``clearance eval`` and for ``pytest evals``.
2. Live. The same items are run live at concurrency 8 against the reference provider
   (recording into a scratch folder, as a first run does), and the requests the run
   sent are then sent again by raw httpx at concurrency 8 against a fresh server: the
   ratio of the two throughputs is the engine's cost on a live run. Three runs: the
   2,000 items against ``ref/steady`` (answers at once: bound by CPU), 111 cases x 2
   trials and 4 cases x 10 trials against ``ref/slow`` (answers after 200 ms: bound by
   the provider, so the ratio says whether the run keeps its 8 requests in flight).

    python benchmarks/bench_evals.py [--rounds 3] [--profile] [--baseline REV]

``--baseline REV`` measures "before" and "after" in the same run: a copy of ``src/`` whose
``clearance/evaluation`` package, ``clearance/contracts/cache.py`` and
``clearance/cli/evals.py`` are as they were at ``REV`` (everything else as in the working
tree) runs beside the working tree, round by round, each figure then given for both with
their ratio. The live figures are then rounds of the engine against raw httpx sent the
same requests (each on its own fresh server), for each tree. Each replay's CPU time (user
+ system, every thread of the process) is given beside its wall time (on a shared machine
it moves less with the load), and the two trees' stored result rows must be equal.

The reference provider is a SIMULATOR: these figures measure clearance, not a model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
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
FEW_CASES = ",".join(f"bfcl_simple_python_{n}" for n in range(1, 5))


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


def _env(config: Path, src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
    env["CLEARANCE_CONFIG"] = str(config)
    if src is not None:  # ahead of the editable install's path
        env["PYTHONPATH"] = str(src)
    return env


BASELINE_PATHS = (
    "src/clearance/evaluation",
    "src/clearance/contracts/cache.py",
    "src/clearance/cli/evals.py",
)
"""What ``--baseline`` takes from the revision (a package whole, or one file)."""


def baseline_src(rev: str, into: Path) -> Path:
    """A copy of ``src/`` with :data:`BASELINE_PATHS` as they were at ``rev``."""
    shutil.copytree(ROOT / "src", into, ignore=shutil.ignore_patterns("__pycache__"))
    at_rev = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, *BASELINE_PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for package in BASELINE_PATHS:
        if not package.endswith(".py"):
            for path in (into / Path(package).relative_to("src")).glob("*.py"):
                path.unlink()
    for name in at_rev:
        text = subprocess.run(
            ["git", "show", f"{rev}:{name}"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        target = into / Path(name).relative_to("src")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
    return into


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system) of each timed process, by what it ran."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def clearance(config: Path, *args: str, src: Path | None = None) -> tuple[float, str]:
    env = _env(config, src)
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "clearance"), *args], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    CPU.setdefault(f"clearance {src}", []).append(_children_cpu() - cpu)
    if done.returncode != 0:
        raise SystemExit(f"clearance {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def pytest_evals(config: Path, project: Path, src: Path | None = None) -> float:
    env = _env(config, src)
    (project / "evals").mkdir(exist_ok=True)
    (project / "evals" / "test_evals.py").write_text(
        (ROOT / "evals" / "test_evals.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    cpu = _children_cpu()
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
    CPU.setdefault(f"pytest {src}", []).append(_children_cpu() - cpu)
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


def result_rows(config: Path, run_id: str, src: Path | None) -> list[str]:
    """A stored run's result rows (``clearance runs export``), without what differs from
    run to run (the run id, when the row was written), sorted: equal lists are the same
    decisions, failures, evidence, costs and recorded latencies."""
    _, out = clearance(config, "runs", "export", run_id, "--out", "-", src=src)
    rows = []
    for line in out.splitlines():
        row = json.loads(line)
        if row.get("type") == "result":
            row.pop("run_id", None)
            row.pop("created_at", None)
            rows.append(json.dumps(row, sort_keys=True))
    return sorted(rows)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (min {min(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one replay")
    parser.add_argument(
        "--baseline", metavar="REV", help="also run clearance/evaluation as of REV, interleaved"
    )
    parser.add_argument(
        "--only", choices=("live", "replay"), help="measure only live runs, or only replays"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evals-") as scratch:
        folder = Path(scratch)
        trees: dict[str, Path | None] = {"after": None}
        if args.baseline:
            trees = {"before": baseline_src(args.baseline, folder / "before-src"), **trees}
        for src in trees.values():  # each tree's bytecode written once, before any timing
            subprocess.run(
                [str(BIN / "python"), "-m", "compileall", "-q", str(src or ROOT / "src")],
                env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                check=True,
            )
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
        # bound by the provider: this measures whether concurrency is used fully), over
        # many cases with 2 trials each, then over 4 cases with 10 trials each (fewer
        # (model, case) pairs than request slots: only trials run at once fill them).
        for scenario, (model, cases, trials) in enumerate(
            ()
            if args.only == "replay"
            else (
                (MODEL, CASES, TRIALS),
                ("ref:ref/slow", "bfcl_simple_python_1*", 2),
                ("ref:ref/slow", FEW_CASES, 10),
            )
        ):
            rates: dict[str, list[float]] = {}
            for round_ in range(args.rounds):
                for tree, src in trees.items():
                    live = folder / f"live-{tree}-{scenario}-{round_}"
                    live.mkdir()
                    with reference_process() as base_url:
                        live_config = write_project(
                            live, live / "cassettes", base_url, model=model, trials=trials
                        )
                        _, out = clearance(
                            live_config,
                            "eval",
                            "--cases",
                            cases,
                            "--record-mode",
                            "all",
                            "--json",
                            src=src,
                        )
                        sent = recorded_requests(live / "cassettes")
                        engine = len(sent) / json.loads(out)["elapsed_s"]
                    with reference_process() as base_url:
                        raw = len(sent) / asyncio.run(raw_httpx(base_url, sent, 8))
                    rates.setdefault(tree, []).append(engine / raw)
                    rates.setdefault(f"{tree} engine", []).append(engine)
                    rates.setdefault(f"{tree} raw", []).append(raw)
            for tree in trees:
                print(
                    f"live {model} [{tree}], {len(sent)} requests ({trials} trials per case) "
                    f"at concurrency 8: engine "
                    f"{statistics.median(rates[f'{tree} engine']):.0f} req/s, raw httpx "
                    f"{statistics.median(rates[f'{tree} raw']):.0f} req/s: engine/raw per "
                    f"round {', '.join(f'{r:.2f}' for r in rates[tree])}, median "
                    f"{statistics.median(rates[tree]):.2f}"
                )

        # replay: process start to exit, the trees alternating, each tree with its own
        # catalog (the trees may differ in migrations) over the same cassettes
        projects = {}
        for tree in trees:
            (folder / f"replay-{tree}").mkdir()
            projects[tree] = write_project(folder / f"replay-{tree}", cassettes)
        eval_times: dict[str, list[float]] = {tree: [] for tree in trees}
        inside: dict[str, list[float]] = {tree: [] for tree in trees}
        pytest_times: dict[str, list[float]] = {tree: [] for tree in trees}
        eval_cpu: dict[str, list[float]] = {tree: [] for tree in trees}
        pytest_cpu: dict[str, list[float]] = {tree: [] for tree in trees}
        counts: dict[str, object] = {}
        rows: dict[str, list[str]] = {}
        for _ in range(0 if args.only == "live" else args.rounds):
            for tree, src in trees.items():
                took, out = clearance(
                    projects[tree],
                    "eval",
                    "--cases",
                    CASES,
                    "--record-mode",
                    "none",
                    "--json",
                    src=src,
                )
                eval_times[tree].append(took)
                eval_cpu[tree].append(CPU[f"clearance {src}"][-1])
                inside[tree].append(json.loads(out)["elapsed_s"])
                counts[tree] = json.loads(out)["counts"]
                rows[tree] = result_rows(projects[tree], json.loads(out)["run_id"], src)
                pytest_times[tree].append(
                    pytest_evals(projects[tree], folder / f"replay-{tree}", src)
                )
                pytest_cpu[tree].append(CPU[f"pytest {src}"][-1])
        for tree in trees if args.only != "live" else ():
            print(
                f"replay {items} items [{tree}], process start to exit: clearance eval "
                f"{_median(eval_times[tree])} (the run itself {_median(inside[tree])}; CPU "
                f"{_median(eval_cpu[tree])}); pytest evals {_median(pytest_times[tree])} "
                f"(CPU {_median(pytest_cpu[tree])}); counts {counts[tree]}"
            )
        if len(trees) == 2 and args.only != "live":
            if counts["before"] != counts["after"]:
                raise SystemExit(f"the replays disagree: {counts}")
            if rows["before"] != rows["after"]:
                raise SystemExit("the replays stored different result rows")
            print(f"  both trees stored the same {len(rows['after'])} result rows")
            for name, times in (
                ("clearance eval", eval_times),
                ("clearance eval CPU", eval_cpu),
                ("pytest evals", pytest_times),
                ("pytest evals CPU", pytest_cpu),
            ):
                ratios = [a / b for a, b in zip(times["after"], times["before"], strict=True)]
                print(f"  {name}: after/before per round {', '.join(f'{r:.2f}' for r in ratios)}")
        if args.profile:
            env = _env(config, None)
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
