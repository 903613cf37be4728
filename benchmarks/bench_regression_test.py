"""The gate's paired regression test against Hoeffding's bound: width, coverage, type-I error.

Run from the repository root: ``.venv/bin/python benchmarks/bench_regression_test.py``
(``--suites N`` per scenario, default 10,000; ``--seed``, default 21). numpy draws the
synthetic suites; the bounds are the gate's own (:func:`clearance.gate.stats.paired_drop_bounds`).

A synthetic suite has n cases and ``trials`` trials of each case per model. Cases differ:
the baseline's pass probability of case i is drawn from a Beta distribution, and the
candidate's is derived from it by a scenario that fixes the true mean drop over the suite's
cases at exactly ``max_drop`` (the boundary, where the gate's pass is a type-I error):

* ``shift``: every case a little worse (``p_cand = p_base · c``);
* ``few``: a quarter of the cases much worse, the rest unchanged;
* ``mixed``: the candidate much worse on some cases and better on others (independent
  Beta draws, then scaled), so losses and gains both occur.

Reported per scenario and n: the coverage of each one-sided bound of the true mean drop
(the mean over the suite's cases of ``p_base − p_cand``), the gate's pass rate at the
boundary (type-I error, must be ≤ 1 − level), and the median margin ``high − D̂``. The
widths table gives the margin at full agreement (every case passed by both) and its median
on suites where the two models are equal (true drop 0), next to Hoeffding's, with the
share of such suites the gate enables (power at no drop).
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import time
from collections.abc import Callable

import numpy as np

from clearance.gate.stats import (
    PairedDrop,
    mean_lower_bound,
    mean_upper_bound,
    paired_drop_bounds,
)

LEVEL = 0.95
MAX_DROP = 0.05
SIZES = (16, 60, 200)
TRIALS = 3
RATES = {"Beta(6, 1)": (6.0, 1.0), "Beta(0.5, 0.1)": (0.5, 0.1)}
"""Case pass probabilities: mean 0.86, every case flaky now and then; mean 0.83, most cases
solid (pass or fail nearly always) and a few flaky, the shape real suites tend to have."""
Scenario = Callable[[np.random.Generator, np.ndarray], np.ndarray]


def _scaled(base: np.ndarray, cand: np.ndarray, drop: float) -> np.ndarray:
    """``cand`` moved so that mean(base − cand) is exactly ``drop`` (and stays in [0, 1])."""
    # Mix cand with base·(1 − s) for the s that gives the drop; base − cand >= 0 part stays.
    gap = float(np.mean(base - cand))
    if gap >= drop:
        # cand is too weak: move it toward base.
        t = drop / gap if gap > 0 else 0.0
        return base - t * (base - cand)
    # cand is too strong: scale it down until the mean drop is reached.
    extra = drop - gap
    room = float(np.mean(cand))
    return cand * (1.0 - extra / room)


def shift(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """Every case a little worse."""
    return _scaled(base, base.copy(), MAX_DROP)


def few(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """A quarter of the cases much worse (the rest as good as the baseline)."""
    hit = rng.random(base.size) < 0.25
    hit[rng.integers(base.size)] = True
    cand = base.copy()
    cand[hit] = base[hit] * rng.beta(1.0, 2.0, hit.sum())
    return _scaled(base, cand, MAX_DROP)


def mixed(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """An unrelated candidate: worse on some cases, better on others."""
    return _scaled(base, rng.beta(4.0, 1.0, base.size), MAX_DROP)


SCENARIOS: dict[str, Scenario] = {"shift": shift, "few": few, "mixed": mixed}


CHECKED = 200
"""Suites per row whose fast bounds are checked against the gate's own function."""


@functools.cache
def _upper(sum_thirds: int, n: int, level: float) -> float:
    return mean_upper_bound(sum_thirds / (TRIALS * n), n, level=level)


@functools.cache
def _lower(sum_thirds: int, n: int, level: float) -> float:
    return mean_lower_bound(sum_thirds / (TRIALS * n), n, level=level)


def bounds(base: np.ndarray, cand: np.ndarray, index: int) -> tuple[float, float, float]:
    """``(mean drop, low, high)`` as paired_drop_bounds computes them, memoised.

    Every per-case rate is a multiple of 1/TRIALS, so the losses and gains are whole
    numbers of 1/(TRIALS·n) and their bounds repeat: they are cached per sum. The first
    CHECKED suites of each row are also passed to paired_drop_bounds itself, and must agree.
    """
    n = base.size
    diff = base - cand
    losses, gains = int(diff[diff > 0].sum()), int(-diff[diff < 0].sum())
    half = 1.0 - (1.0 - LEVEL) / 2.0
    high = _upper(losses, n, half) - _lower(gains, n, half)
    low = _lower(losses, n, half) - _upper(gains, n, half)
    drop = (losses - gains) / (TRIALS * n)
    if index < CHECKED:
        test: PairedDrop = paired_drop_bounds(
            [(int(b), TRIALS, int(c), TRIALS) for b, c in zip(base, cand, strict=True)],
            level=LEVEL,
        )
        assert (test.low, test.high) == (low, high), (test, low, high)
        assert abs(test.mean_drop - drop) < 1e-12
    return drop, low, high


def hoeffding_margin(n: int) -> float:
    return math.sqrt(2.0 * math.log(1.0 / (1.0 - LEVEL)) / n)


def simulate(
    rng: np.random.Generator, rates: tuple[float, float], scenario: Scenario, n: int, suites: int
) -> dict[str, float]:
    below = above = passed = hoeffding_passed = 0
    margins = []
    for index in range(suites):
        base_p = rng.beta(*rates, n)
        cand_p = np.clip(scenario(rng, base_p), 0.0, 1.0)
        truth = float(np.mean(base_p - cand_p))
        drop, low, high = bounds(rng.binomial(TRIALS, base_p), rng.binomial(TRIALS, cand_p), index)
        below += high < truth
        above += low > truth
        passed += high < MAX_DROP
        hoeffding_passed += drop + hoeffding_margin(n) < MAX_DROP
        margins.append(high - drop)
    return {
        "upper_cover": 1.0 - below / suites,
        "lower_cover": 1.0 - above / suites,
        "type1": passed / suites,
        "type1_hoeffding": hoeffding_passed / suites,
        "margin": float(np.median(margins)),
    }


def widths(
    rng: np.random.Generator, rates: tuple[float, float], n: int, suites: int
) -> dict[str, float]:
    agree = paired_drop_bounds([(TRIALS, TRIALS, TRIALS, TRIALS)] * n, level=LEVEL)
    margins = []
    enabled = 0
    for index in range(suites):
        p = rng.beta(*rates, n)
        drop, _, high = bounds(rng.binomial(TRIALS, p), rng.binomial(TRIALS, p), index)
        margins.append(high - drop)
        enabled += high < MAX_DROP
    return {
        "agree": agree.high,
        "median": float(np.median(margins)),
        "p90": float(np.quantile(margins, 0.9)),
        "enabled": enabled / suites,
        "hoeffding": hoeffding_margin(n),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", type=int, default=10_000, help="suites per scenario and n")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"python {platform.python_version()}, numpy {np.__version__}, seed {args.seed}")
    print(f"level {LEVEL}, max_drop {MAX_DROP}, {TRIALS} trials per case")
    print()
    print(
        "| case rates | n | margin at full agreement | median margin, equal models | "
        "90th pct | Hoeffding margin | enabled at no drop |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, rates in RATES.items():
        for n in SIZES:
            w = widths(rng, rates, n, args.suites)
            print(
                f"| {label} | {n} | ±{w['agree']:.3f} | +{w['median']:.3f} | +{w['p90']:.3f} | "
                f"±{w['hoeffding']:.3f} | {w['enabled']:.1%} |"
            )
    print()
    print(f"True mean drop = max_drop = {MAX_DROP}; {args.suites:,} suites per row.")
    print()
    print(
        "| case rates | scenario | n | upper bound covers | lower bound covers | "
        "gate passes (type I) | Hoeffding passes | median margin |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, rates in RATES.items():
        for name, scenario in SCENARIOS.items():
            for n in SIZES:
                r = simulate(rng, rates, scenario, n, args.suites)
                print(
                    f"| {label} | {name} | {n} | {r['upper_cover']:.4f} | "
                    f"{r['lower_cover']:.4f} | {r['type1']:.4f} | {r['type1_hoeffding']:.4f} | "
                    f"+{r['margin']:.3f} |"
                )
    print()
    print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
