"""How long pricing one call takes, in clearance and (if installed) in LiteLLM.

Run from the repository root::

    .venv/bin/python benchmarks/bench_pricing.py

Every case prices the same realistic call: 1,200 prompt tokens of which 300
are read from the cache, 350 completion tokens of which 80 are reasoning, at
gpt-4o's list price. Each case runs a warm-up round, then ``--rounds`` timed
rounds of ``--calls`` calls (``--litellm-calls`` for LiteLLM), with the garbage
collector off as ``timeit`` does; a round's figure is its total time divided by
its calls. Rounds are interleaved across cases, so load on a shared machine
hits every case alike. The table reports the median, fastest and slowest
round; each LiteLLM/clearance ratio is the median of per-round ratios, all
measured in this one run, which is what survives a noisy machine.

LiteLLM is optional (``pip install -e '.[bench]'``); without it its rows are
skipped and the script still exits 0.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from clearance.pricing import Price, PriceRates, Usage, compute_cost, price_call

# gpt-4o list price, USD per token (the same figures as LiteLLM's table).
GPT_4O = Price(
    "openai:gpt-4o",
    PriceRates(
        prompt=Decimal("0.0000025"),
        completion=Decimal("0.00001"),
        cache_read=Decimal("0.00000125"),
    ),
    source="litellm",
)
DEFAULT = Price("default", PriceRates(Decimal("0.00003"), Decimal("0.00006")), source="default")

# The usage object of a chat completion, as OpenAI returns it.
OPENAI_USAGE: dict[str, Any] = {
    "prompt_tokens": 1200,
    "completion_tokens": 350,
    "total_tokens": 1550,
    "prompt_tokens_details": {"cached_tokens": 300, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 80,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
USAGE = Usage.from_openai(OPENAI_USAGE)
REPORTED = Usage(
    prompt_tokens=1200,
    completion_tokens=350,
    cached_tokens=300,
    reasoning_tokens=80,
    reported_cost=Decimal("0.006125"),
)


@dataclass(frozen=True, slots=True)
class Timing:
    """Per-call nanoseconds of each timed round of one case."""

    name: str
    calls: int
    per_call_ns: tuple[float, ...]

    @property
    def median_us(self) -> float:
        return statistics.median(self.per_call_ns) / 1000

    @property
    def min_us(self) -> float:
        return min(self.per_call_ns) / 1000

    @property
    def max_us(self) -> float:
        return max(self.per_call_ns) / 1000


@dataclass(frozen=True, slots=True)
class Case:
    """A function to time, and how many calls make one of its rounds."""

    name: str
    fn: Callable[[], object]
    calls: int


def measure(cases: list[Case], *, rounds: int) -> list[Timing]:
    """Time every case over ``rounds`` rounds, after one warm-up round each.

    The rounds are interleaved (round 1 of every case, then round 2, ...) so
    that a burst of load on the machine hits all cases alike, and the paired
    per-round ratios stay meaningful.
    """
    for case in cases:
        for _ in range(case.calls):
            case.fn()
    per_call: dict[str, list[float]] = {case.name: [] for case in cases}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for case in cases:
                fn, loop = case.fn, range(case.calls)
                start = time.perf_counter_ns()
                for _ in loop:
                    fn()
                per_call[case.name].append((time.perf_counter_ns() - start) / case.calls)
    finally:
        if enabled:
            gc.enable()
    return [Timing(case.name, case.calls, tuple(per_call[case.name])) for case in cases]


def paired_ratio(slow: Timing, fast: Timing) -> float:
    """Median over rounds of slow / fast, each round's pair measured back to back."""
    return statistics.median(s / f for s, f in zip(slow.per_call_ns, fast.per_call_ns, strict=True))


def machine() -> list[str]:
    """Lines describing where the figures were taken."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"cpu: {model}, nproc {usable}",
        f"python: {platform.python_implementation()} {platform.python_version()} "
        f"({platform.system()} {platform.machine()})",
    ]


def clearance_cases(calls: int) -> list[Case]:
    def router_path() -> object:
        return price_call("openai:gpt-4o", Usage.from_openai(OPENAI_USAGE), GPT_4O, default=DEFAULT)

    cases: list[tuple[str, Callable[[], object]]] = [
        ("(a) clearance compute_cost", lambda: compute_cost(USAGE, GPT_4O)),
        (
            "(b) clearance price_call, catalog price",
            lambda: price_call("openai:gpt-4o", USAGE, GPT_4O, default=DEFAULT),
        ),
        (
            "(c) clearance price_call, reported cost",
            lambda: price_call("openai:gpt-4o", REPORTED, GPT_4O, default=DEFAULT),
        ),
        ("(d) clearance Usage.from_openai + price_call", router_path),
        ("    (loop and call overhead: a no-op lambda)", lambda: None),
    ]
    return [Case(name, fn, calls) for name, fn in cases]


def litellm_cases(calls: int) -> tuple[list[Case], list[str]] | None:
    """LiteLLM's rows and notes, or ``None`` if it is not installed."""
    # Read LiteLLM's bundled price table instead of fetching it from GitHub at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
        from litellm import ModelResponse
    except ImportError:
        return None
    from importlib.metadata import version

    response = ModelResponse(
        id="chatcmpl-bench",
        model="gpt-4o",
        choices=[
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok"},
                "finish_reason": "stop",
            }
        ],
        usage=dict(OPENAI_USAGE),
    )

    def per_token() -> object:
        return litellm.cost_per_token(model="gpt-4o", prompt_tokens=1200, completion_tokens=350)

    def from_response() -> object:
        return litellm.completion_cost(completion_response=response)

    ours = price_call("openai:gpt-4o", USAGE, GPT_4O, default=DEFAULT).cost
    theirs = litellm.completion_cost(completion_response=response)
    notes = [
        f"litellm {version('litellm')}, LITELLM_LOCAL_MODEL_COST_MAP="
        f"{os.environ['LITELLM_LOCAL_MODEL_COST_MAP']}",
        f"same call priced: clearance {ours} (Decimal), litellm completion_cost {theirs!r} (float)",
        "cost_per_token is given prompt and completion counts only (no cache split), as asked",
    ]
    cases = [
        Case("(e) litellm cost_per_token", per_token, calls),
        Case("(e) litellm completion_cost", from_response, calls),
    ]
    return cases, notes


def table(timings: list[Timing]) -> list[str]:
    lines = [
        "| case | calls × rounds | median µs/call | fastest round | slowest round |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in timings:
        lines.append(
            f"| {t.name.strip()} | {t.calls:,} × {len(t.per_call_ns)} | {t.median_us:.2f} "
            f"| {t.min_us:.2f} | {t.max_us:.2f} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000, help="calls per clearance round")
    parser.add_argument(
        "--litellm-calls",
        type=int,
        default=2_000,
        help="calls per LiteLLM round (each takes ~100× longer)",
    )
    args = parser.parse_args(argv)

    print(f"# {' '.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    for line in machine():
        print(f"# {line}")

    cases = clearance_cases(args.calls)
    found = litellm_cases(args.litellm_calls)
    if found is None:
        print("# litellm is not installed: its rows are skipped (pip install -e '.[bench]')")
    else:
        theirs, notes = found
        cases += theirs
        for line in notes:
            print(f"# {line}")
    before = os.getloadavg()[0]
    timings = measure(cases, rounds=args.rounds)
    print(f"# 1-minute load average: {before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print()
    print("\n".join(table(timings)))

    if found is not None:
        by_name = {t.name: t for t in timings}
        pairs = [
            ("(e) litellm cost_per_token", "(b) clearance price_call, catalog price"),
            ("(e) litellm completion_cost", "(d) clearance Usage.from_openai + price_call"),
        ]
        print()
        for theirs_name, ours_name in pairs:
            ratio = paired_ratio(by_name[theirs_name], by_name[ours_name])
            print(f"{theirs_name} / {ours_name}: {ratio:.0f}× (median of per-round ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
