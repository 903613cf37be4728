"""Adaptive trials against a fixed k = 3, on synthetic suites (issue 21, point 2).

Each suite has ``CASES`` cases whose true pass probabilities differ (case heterogeneity:
most cases are near-certain, some are hard, a share is flaky, as tau-bench reports), one
rate check at ``BAR`` with the gate's own statistics (``clustered_interval``, Wilson +
Kish, one-sided 0.95), and ``min_trials_per_case = 3``, as ``gates/default.yaml``. The
fixed design plays 3 trials of every case and decides once. The adaptive design plays
rounds as ``clearance eval --until-decided`` does (``gate.adaptive``): round 1 gives every
case one trial, a look after each round, enabling judged at ``StoppingRule.enable_level``
and disabling at ``disable_level``, stopping at the first decision or at the cap.

The futility rows stop an inconclusive model when ``gate.adaptive.settle_chance`` predicts
its check settles by the cap with a chance below the bound (``StoppingRule.futility``). They
follow the very same trials as the plain adaptive run of the same cap (its own draws are
seeded by the counts, not taken from the suite's generator, so the rows above are what
they were before futility existed), which makes the decisions they lose exact: a lost
decision is a suite the plain run decided and the futility run left inconclusive.

A decision error is enabling a model whose true mean is below the bar, or disabling one
whose mean is at or above it. Run: ``python benchmarks/bench_adaptive.py [SUITES]``.
"""

from __future__ import annotations

import random
import sys

from clearance.gate.adaptive import StoppingRule, settle_chance
from clearance.gate.stats import clustered_interval

CASES = 60
BAR = 0.85
LEVEL = 0.95
FUTILITY = (0.05, 0.10)


def _suite(rng: random.Random, quality: float) -> list[float]:
    """Per-case pass probabilities: a mixture around ``quality``."""
    probabilities = []
    for _ in range(CASES):
        draw = rng.random()
        if draw < 0.25:  # flaky: flips between identical runs
            probabilities.append(rng.uniform(0.3, 0.9))
        elif draw < 0.25 + (1 - quality):  # hard: mostly fails
            probabilities.append(rng.uniform(0.0, 0.2))
        else:  # near-certain
            probabilities.append(rng.uniform(0.97, 1.0))
    return probabilities


def _verdict(cases: list[tuple[int, int]], enable: float, disable: float) -> str:
    low = clustered_interval(cases, level=enable, one_sided=True).low
    high = clustered_interval(cases, level=disable, one_sided=True).high
    if high < BAR:
        return "disable"
    if low >= BAR:
        return "enable"
    return "inconclusive"


def _fixed(rng: random.Random, probabilities: list[float], k: int) -> tuple[str, int]:
    cases = [(sum(rng.random() < p for _ in range(k)), k) for p in probabilities]
    return _verdict(cases, LEVEL, LEVEL), k * len(probabilities)


def _adaptive(
    rng: random.Random, probabilities: list[float], most: int
) -> dict[str, tuple[str, int]]:
    """The plain adaptive run, and on its very trials where each futility bound stops it."""
    rule = StoppingRule(most, 3, futility=0.0)
    enable, disable = rule.enable_level(LEVEL), rule.disable_level(LEVEL)
    passes = [0] * len(probabilities)
    calls = 0
    verdict = "inconclusive"
    stopped: dict[float, int] = {}  # futility bound -> calls when it stopped the run
    for look in range(1, most + 1):
        for index, p in enumerate(probabilities):
            passes[index] += rng.random() < p
        calls += len(probabilities)
        verdict = _verdict([(c, look) for c in passes], enable, disable)
        if look < rule.min_trials and verdict == "enable":
            verdict = "inconclusive"  # min_trials_per_case: no enable before 3 trials
        if verdict != "inconclusive":
            break
        if look < most and len(stopped) < len(FUTILITY):
            chance = settle_chance(
                [(c, look, most - look) for c in passes],
                BAR,
                enable_level=enable,
                disable_level=disable,
                enough=max(FUTILITY),
            )
            for bound in FUTILITY:
                if chance < bound:
                    stopped.setdefault(bound, calls)
    designs = {f"adaptive, cap {most}": (verdict, calls)}
    for bound in FUTILITY:
        at = stopped.get(bound)
        designs[f"adaptive, cap {most}, futility {bound:g}"] = (
            (verdict, calls) if at is None else ("inconclusive", at)
        )
    return designs


def main(suites: int) -> None:
    rng = random.Random(20260521)
    tallies: dict[str, dict[str, float]] = {}
    for _ in range(suites):
        quality = rng.uniform(0.70, 1.0)
        probabilities = _suite(rng, quality)
        good = sum(probabilities) / len(probabilities) >= BAR
        runs = {"fixed k=3": _fixed(rng, probabilities, 3)}
        runs.update(_adaptive(rng, probabilities, 3))
        runs.update(_adaptive(rng, probabilities, 6))
        for name, (verdict, calls) in runs.items():
            tally = tallies.setdefault(
                name, dict.fromkeys(("calls", "wrong", "undecided", "lost"), 0.0)
            )
            tally["calls"] += calls
            tally["wrong"] += (verdict == "enable" and not good) or (verdict == "disable" and good)
            tally["undecided"] += verdict == "inconclusive"
            plain = runs[name.partition(", futility")[0]][0]
            tally["lost"] += verdict == "inconclusive" and plain != "inconclusive"
    base = tallies["fixed k=3"]["calls"]
    print(f"{suites} synthetic suites of {CASES} cases, bar {BAR}, one-sided {LEVEL}")
    print(
        "| design | mean calls per suite | vs fixed k=3 | wrong decisions | inconclusive "
        "| decisions lost to futility |"
    )
    print("|---|---|---|---|---|---|")
    for name, tally in tallies.items():
        print(
            f"| {name} | {tally['calls'] / suites:.1f} | {tally['calls'] / base - 1:+.1%} | "
            f"{tally['wrong'] / suites:.2%} | {tally['undecided'] / suites:.1%} | "
            f"{tally['lost'] / suites:.2%} |"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
