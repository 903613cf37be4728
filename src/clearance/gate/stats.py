"""Confidence intervals for pass rates, for the small and clustered samples a gate sees.

An eval suite has tens of cases and a few trials of each, so:

* the normal (Wald) approximation is never used: it is badly off near 0 and 1
  and for small n. The intervals are Wilson's score interval and the exact
  Clopper–Pearson interval (the Beta quantile is computed here, from the
  regularized incomplete beta function, with no scipy);
* trials of one case are not independent (the same prompt tends to pass or fail
  again), so :func:`clustered_rate` estimates the intra-class correlation and
  :func:`clustered_interval` shrinks the sample to its effective size before
  computing the interval (Kish's design-effect adjustment);
* a paired comparison of two models on the same cases (:func:`paired_drop_bounds`)
  works on each case's pair of pass rates, so the case is the unit and the
  correlation of its trials never counts as extra evidence.

Conventions: a *two-sided* interval at ``level`` leaves ``(1 − level) / 2`` in
each tail; a *one-sided* bound at ``level`` leaves ``1 − level`` in its tail, so a
95% one-sided lower bound is the lower end of the 90% two-sided interval. A gate
compares a one-sided bound with its threshold.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Literal, SupportsIndex

from clearance.errors import InputError

__all__ = [
    "PAIRED_METHOD",
    "ClusteredRate",
    "Interval",
    "Method",
    "PairedDrop",
    "clopper_pearson_interval",
    "clustered_interval",
    "clustered_rate",
    "lower_bound",
    "mean_lower_bound",
    "mean_upper_bound",
    "paired_drop_bounds",
    "trials_to_settle",
    "upper_bound",
    "wilson_interval",
]

Method = Literal["wilson", "clopper-pearson"]
"""How an interval is computed: Wilson's score interval or the exact Clopper–Pearson one."""

_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson")


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval for a pass rate."""

    low: float
    """Lower end, in [0, 1]."""
    high: float
    """Upper end, in [0, 1]."""
    level: float
    """Two-sided coverage of ``[low, high]``; for the one-sided form of
    :func:`clustered_interval` each end is a one-sided bound at ``(1 + level) / 2``."""
    method: str
    """``"wilson"`` or ``"clopper-pearson"``; ``"+kish"`` is appended when the
    sample was shrunk by a design effect (:func:`clustered_interval`)."""


@dataclass(frozen=True, slots=True)
class ClusteredRate:
    """A pass rate over cases with several trials each, and how much the trials are worth."""

    rate: float
    """Pooled pass rate: all passes over all trials."""
    successes: int
    """Passes, over every trial."""
    n_trials: int
    """Trials, over every case."""
    n_cases: int
    """Cases with at least one trial."""
    icc: float
    """Intra-class correlation of the verdicts within a case (ANOVA estimator, clipped
    to [0, 1]); 1.0 when the data cannot estimate it (see ``icc_estimated``)."""
    icc_estimated: bool
    """False when the ICC could not be estimated (one case, one trial per case, or
    every verdict the same) and the conservative value 1.0 was used instead."""
    design_effect: float
    """``1 + (m̃ − 1)·icc`` with ``m̃ = Σmᵢ² / Σmᵢ`` the size-weighted mean trials per
    case (equal to the plain mean when every case has as many trials)."""
    effective_n: float
    """``n_trials / design_effect``: how many independent trials the sample is worth."""

    @property
    def effective_successes(self) -> float:
        """``rate × effective_n``: the passes an independent sample of that size would hold."""
        return self.rate * self.effective_n


# --- validation -------------------------------------------------------------------------


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise InputError(
            f"invalid counts: {successes} successes out of {n} trials",
            fix="pass 0 <= successes <= n",
        )


def _check_whole(what: str, count: object) -> None:
    # SupportsIndex: int and numpy integers, not float, Fraction or str; bool is an int
    # by inheritance only, and as a count it is always a slip.
    if isinstance(count, bool) or not isinstance(count, SupportsIndex):
        raise InputError(
            f"invalid {what} {count!r}: not a whole number", fix=f"pass {what} as an int"
        )


def _check_level(level: float, *, one_sided: bool) -> None:
    lowest = 0.5 if one_sided else 0.0
    if not lowest < level < 1.0:
        kind = "one-sided" if one_sided else "two-sided"
        raise InputError(
            f"invalid {kind} confidence level {level!r}",
            fix=f"pass a level strictly between {lowest} and 1, such as 0.95",
        )


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise InputError(
            f"unknown interval method {method!r}",
            fix="use 'wilson' or 'clopper-pearson'",
        )


def _tail(level: float, *, one_sided: bool) -> float:
    """Probability left in each tail for a two-sided interval or a one-sided bound."""
    _check_level(level, one_sided=one_sided)
    return 1.0 - level if one_sided else (1.0 - level) / 2.0


# --- the incomplete beta function and its quantile --------------------------------------

_EPS = 1e-15
_FPMIN = 1e-300
_MAX_ITERATIONS = 100_000


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b), by the modified Lentz method (Numerical Recipes' betacf)."""
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _FPMIN:
        d = _FPMIN
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITERATIONS + 1):
        m2 = 2 * m
        # even step
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _FPMIN:
            d = _FPMIN
        c = 1.0 + aa / c
        if abs(c) < _FPMIN:
            c = _FPMIN
        d = 1.0 / d
        h *= d * c
        # odd step
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _FPMIN:
            d = _FPMIN
        c = 1.0 + aa / c
        if abs(c) < _FPMIN:
            c = _FPMIN
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge for {a=}, {b=}")


def _regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function (the Beta(a, b) CDF at x)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The continued fraction converges fast on this side of the mean; use the symmetry
    # I_x(a, b) = 1 − I_{1−x}(b, a) on the other.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_quantile(q: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = q, by bisection (I_x is increasing in x)."""
    low, high = 0.0, 1.0
    while high - low > 1e-15:
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if _regularized_beta(mid, a, b) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


# --- the two intervals, on real-valued counts (effective counts are not integers) -------


def _wilson(x: float, n: float, tail: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1.0 - tail)
    z2 = z * z
    denominator = n + z2
    center = (x + z2 / 2.0) / denominator
    half = z / denominator * math.sqrt(max(x * (n - x) / n, 0.0) + z2 / 4.0)
    low = 0.0 if x <= 0 else max(0.0, center - half)
    high = 1.0 if x >= n else min(1.0, center + half)
    return low, high


def _clopper_pearson(x: float, n: float, tail: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    # P(X ≥ x | p) = I_p(x, n − x + 1) and P(X ≤ x | p) = 1 − I_p(x + 1, n − x).
    low = 0.0 if x <= 0 else _beta_quantile(tail, x, n - x + 1.0)
    high = 1.0 if x >= n else _beta_quantile(1.0 - tail, x + 1.0, n - x)
    return low, high


def _bounds(x: float, n: float, tail: float, method: str) -> tuple[float, float]:
    _check_method(method)
    if method == "wilson":
        return _wilson(x, n, tail)
    return _clopper_pearson(x, n, tail)


# --- public functions -------------------------------------------------------------------


def wilson_interval(successes: int, n: int, *, level: float = 0.95) -> Interval:
    """Wilson score interval, two-sided at ``level``; (0, 1) when ``n == 0``."""
    _check_counts(successes, n)
    low, high = _wilson(successes, n, _tail(level, one_sided=False))
    return Interval(low, high, level, "wilson")


def clopper_pearson_interval(successes: int, n: int, *, level: float = 0.95) -> Interval:
    """Exact (Clopper–Pearson) interval from Beta quantiles, two-sided at ``level``.

    ``low`` is 0 when ``successes == 0`` and ``high`` is 1 when ``successes == n``;
    (0, 1) when ``n == 0``. Its coverage is at least ``level`` for every true rate.
    """
    _check_counts(successes, n)
    low, high = _clopper_pearson(successes, n, _tail(level, one_sided=False))
    return Interval(low, high, level, "clopper-pearson")


def lower_bound(
    successes: int,
    n: int,
    *,
    level: float = 0.95,
    method: Method = "wilson",
    one_sided: bool = True,
) -> float:
    """Lower confidence bound for the pass rate: the value a gate compares with its threshold.

    With ``one_sided`` (the default) it is a one-sided bound at ``level``, which is the
    lower end of the two-sided interval at ``2·level − 1``; otherwise the lower end of
    the two-sided interval at ``level``.
    """
    _check_counts(successes, n)
    return _bounds(successes, n, _tail(level, one_sided=one_sided), method)[0]


def upper_bound(
    successes: int,
    n: int,
    *,
    level: float = 0.95,
    method: Method = "wilson",
    one_sided: bool = True,
) -> float:
    """Upper confidence bound for the pass rate (the mirror of :func:`lower_bound`)."""
    _check_counts(successes, n)
    return _bounds(successes, n, _tail(level, one_sided=one_sided), method)[1]


def clustered_rate(cases: Sequence[tuple[int, int]]) -> ClusteredRate:
    """Pooled pass rate of per-case ``(passes, trials)`` counts, with ICC and design effect.

    The ICC is the one-way ANOVA estimator for binary data with unequal cluster sizes
    (Fleiss; Ridout, Demétrio & Firth 1999): with k cases, N trials, ``MSB`` and ``MSW``
    the between- and within-case mean squares and ``m₀ = (N − Σmᵢ²/N) / (k − 1)``,
    ``ICC = (MSB − MSW) / (MSB + (m₀ − 1)·MSW)``, clipped to [0, 1]. The design effect
    uses the size-weighted mean cluster size ``m̃ = Σmᵢ²/N`` (Kish; the same as
    ``(1 + CV²)·m̄``), which is the plain mean when all cases have as many trials.

    Cases with no trials carry no information and are skipped.

    Raises:
        InputError: a case with passes outside [0, trials], or no trials at all.
    """
    sizes: list[int] = []
    passes: list[int] = []
    for index, (case_passes, case_trials) in enumerate(cases):
        if case_trials < 0 or not 0 <= case_passes <= case_trials:
            raise InputError(
                f"invalid counts for case #{index}: {case_passes} passes out of {case_trials}",
                fix="give each case as (passes, trials) with 0 <= passes <= trials",
            )
        if case_trials:
            sizes.append(case_trials)
            passes.append(case_passes)
    total = sum(sizes)
    if total == 0:
        raise InputError(
            "no trials to rate: every case has zero trials",
            fix="rate at least one case with at least one trial",
        )
    successes = sum(passes)
    k = len(sizes)
    icc = _anova_icc(passes, sizes)
    weighted_size = Fraction(sum(m * m for m in sizes), total)
    icc_value = 1.0 if icc is None else icc
    design_effect = 1.0 + (float(weighted_size) - 1.0) * icc_value
    return ClusteredRate(
        rate=successes / total,
        successes=successes,
        n_trials=total,
        n_cases=k,
        icc=icc_value,
        icc_estimated=icc is not None,
        design_effect=design_effect,
        effective_n=total / design_effect,
    )


def _anova_icc(passes: Sequence[int], sizes: Sequence[int]) -> float | None:
    """ANOVA ICC estimate clipped to [0, 1], or None when the data cannot estimate it."""
    k = len(sizes)
    total = sum(sizes)
    successes = sum(passes)
    if k < 2 or total == k or successes in (0, total):
        return None
    # Exact arithmetic: the mean squares are differences of nearly equal sums.
    pairs = zip(passes, sizes, strict=True)
    sum_sq_over_m = sum((Fraction(y * y, m) for y, m in pairs), Fraction())
    msb = (sum_sq_over_m - Fraction(successes * successes, total)) / (k - 1)
    msw = (successes - sum_sq_over_m) / (total - k)
    m0 = (total - Fraction(sum(m * m for m in sizes), total)) / (k - 1)
    denominator = msb + (m0 - 1) * msw
    if denominator <= 0:
        return None
    return min(1.0, max(0.0, float((msb - msw) / denominator)))


def clustered_interval(
    cases: Sequence[tuple[int, int]],
    *,
    level: float = 0.95,
    method: Method = "wilson",
    one_sided: bool = False,
) -> Interval:
    """Interval for the pass rate of clustered trials, on the effective sample size.

    The interval is computed as if ``rate × n_eff`` passes had been seen in
    ``n_eff = n / design_effect`` independent trials (Kish's design-effect adjustment).
    This is an approximation: it assumes one common ICC and an exchangeable
    correlation within a case, and it plugs an estimated ICC in as if known. It is
    still far better than treating the trials as independent, which counts a case
    that passes 5 times out of 5 as 5 pieces of evidence when it may be little more
    than one, and so gives intervals that are too narrow and gates that are too sure.

    With ``one_sided``, each end is a one-sided bound at ``level``, and the returned
    ``Interval.level`` is the two-sided coverage ``2·level − 1``.
    """
    rated = clustered_rate(cases)
    tail = _tail(level, one_sided=one_sided)
    low, high = _bounds(rated.effective_successes, rated.effective_n, tail, method)
    return Interval(low, high, 1.0 - 2.0 * tail, f"{method}+kish")


def trials_to_settle(
    successes: int,
    n: int,
    threshold: float,
    *,
    level: float = 0.95,
    method: Method = "wilson",
    deff: float = 1.0,
    max_n: int = 100_000,
) -> int | None:
    """Roughly how many more trials, at the observed rate, would settle the gate.

    Settled means the one-sided bound at ``level`` lies clearly on one side of
    ``threshold``: the lower bound at or above it when the observed rate is above it,
    the upper bound below it when the rate is below. Future trials are assumed to pass
    at exactly the observed rate, and ``deff`` (a design effect, see
    :func:`clustered_rate`) shrinks every trial count to its effective size.

    Returns:
        0 when already settled; None when there is no data, the observed rate equals the
        threshold, or more than ``max_n`` additional trials would be needed.

    Raises:
        InputError: counts that are not whole numbers with ``0 <= successes <= n``; a
            ``level`` not strictly between 0.5 and 1; an unknown ``method``; a
            ``threshold`` outside [0, 1]; a ``deff`` that is not a finite number > 0; a
            ``max_n`` that is not a whole number >= 0.
    """
    for what, count in (("successes", successes), ("n", n), ("max_n", max_n)):
        _check_whole(what, count)
    _check_counts(successes, n)
    _check_method(method)
    tail = _tail(level, one_sided=True)
    if not 0.0 <= threshold <= 1.0:
        raise InputError(
            f"invalid threshold {threshold!r}", fix="pass a pass-rate threshold in [0, 1]"
        )
    if not 0.0 < deff < math.inf:
        raise InputError(f"invalid design effect {deff!r}", fix="pass a finite design effect > 0")
    if max_n < 0:
        raise InputError(f"invalid max_n {max_n!r}", fix="pass max_n >= 0 (additional trials)")
    if n == 0 or Fraction(successes, n) == Fraction(threshold):
        return None
    rate = successes / n
    above = rate > threshold

    def settled(extra: int) -> bool:
        n_eff = (n + extra) / deff
        low, high = _bounds(rate * n_eff, n_eff, tail, method)
        return low >= threshold if above else high < threshold

    return _first_true(settled, max_n)


def _first_true(predicate: Callable[[int], bool], limit: int) -> int | None:
    """Smallest k in [0, limit] with predicate(k), for a predicate monotone in k."""
    if predicate(0):
        return 0
    if not predicate(limit):
        return None
    # Gallop up from 1, then bisect: few evaluations, each possibly a Beta quantile.
    bad, good = 0, 1
    while good < limit and not predicate(good):
        bad, good = good, min(2 * good, limit)
    while good - bad > 1:
        mid = (bad + good) // 2
        if predicate(mid):
            good = mid
        else:
            bad = mid
    return good


# --- the paired drop of two models on the same cases -------------------------------------

PAIRED_METHOD = "paired-split-kl"
"""The name of :func:`paired_drop_bounds`' method, as a gate decision records it."""


@dataclass(frozen=True, slots=True)
class PairedDrop:
    """One-sided bounds on how much lower a candidate's pass rate is than a baseline's."""

    mean_drop: float
    """``D̂``: the mean over paired cases of ``rate_base,i − rate_cand,i``, in [−1, 1]."""
    low: float
    """One-sided lower bound on the mean drop at ``level``."""
    high: float
    """One-sided upper bound on the mean drop at ``level``."""
    level: float
    """Confidence of each bound on its own (a one-sided level)."""
    n_cases: int
    """Paired cases: the unit of the test."""
    losses: float
    """Mean over cases of the part of the drop where the candidate did worse, ``max(d_i, 0)``."""
    gains: float
    """Mean over cases of the part where it did better, ``max(−d_i, 0)``."""
    method: str = PAIRED_METHOD
    """How the bounds were computed (:data:`PAIRED_METHOD`)."""


def _kl(mean: float, mu: float) -> float:
    """Relative entropy of Bernoulli(mean) from Bernoulli(mu), for 0 < mu < 1."""
    total = 0.0
    if mean > 0.0:
        total += mean * math.log(mean / mu)
    if mean < 1.0:
        total += (1.0 - mean) * math.log((1.0 - mean) / (1.0 - mu))
    return total


def _check_mean(mean: float, n: int) -> None:
    _check_whole("n", n)
    if n < 1 or not 0.0 <= mean <= 1.0:
        raise InputError(
            f"invalid sample: mean {mean!r} over {n!r} values",
            fix="pass the mean of n >= 1 values in [0, 1]",
        )


def mean_upper_bound(mean: float, n: int, *, level: float = 0.95) -> float:
    """Upper confidence bound, one-sided at ``level``, on the mean of n values in [0, 1].

    The values need only be independent, each in [0, 1]; their means may differ (the
    bound is on the average of their means). It inverts Hoeffding's (1963, theorem 1)
    relative-entropy inequality ``P(X̄ ≤ μ − t) ≤ exp(−n·KL(μ − t ‖ μ))``: the bound is
    the largest μ with ``n·KL(mean ‖ μ) ≤ ln(1/(1 − level))``. It is valid for every n,
    with no normal approximation, and it narrows as the mean nears 0 or 1 (with a mean
    of 0 it is ``1 − (1 − level)^(1/n)``, the exact Clopper–Pearson bound for 0 of n).
    """
    _check_mean(mean, n)
    budget = math.log(1.0 / _tail(level, one_sided=True)) / n
    if mean >= 1.0:
        return 1.0
    low, high = mean, 1.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if _kl(mean, mid) > budget:
            high = mid
        else:
            low = mid
    return high


def mean_lower_bound(mean: float, n: int, *, level: float = 0.95) -> float:
    """Lower confidence bound on the mean of n values in [0, 1] (the mirror of
    :func:`mean_upper_bound`)."""
    _check_mean(mean, n)
    return 1.0 - mean_upper_bound(1.0 - mean, n, level=level)


def paired_drop_bounds(
    cases: Sequence[tuple[int, int, int, int]], *, level: float = 0.95
) -> PairedDrop:
    """Bounds on the mean drop from a baseline to a candidate over cases both ran.

    Each case is ``(baseline passes, baseline trials, candidate passes, candidate
    trials)``. The case is the unit: its drop ``d_i = rate_base,i − rate_cand,i`` folds
    every trial of the case into one number, so trials of a case, which tend to pass or
    fail together, never count as independent evidence, and cases are independent.

    The drop splits into what the candidate lost and what it gained on each case,
    ``d_i = max(d_i, 0) − max(−d_i, 0)``; both parts lie in [0, 1] and on most cases of a
    real suite both are 0 (the two models agree), which is what lets the bounds narrow.
    The mean drop's upper bound is the losses' upper bound minus the gains' lower bound,
    each one-sided at ``(1 + level) / 2`` by :func:`mean_upper_bound` (so the two misses
    together stay within ``1 − level``, Bonferroni); the lower bound is the mirror. With
    one trial per case the losses and gains are McNemar's two discordant counts.

    Raises:
        InputError: no case, or a case whose counts are not ``0 <= passes <= trials``
            with at least one trial for each model.
    """
    if not cases:
        raise InputError(
            "no paired case to compare", fix="pass at least one case both models have trials of"
        )
    tail = _tail(level, one_sided=True)
    for index, counts in enumerate(cases):
        for count in counts:
            _check_whole(f"count of paired case #{index}", count)
        base_passes, base_n, cand_passes, cand_n = counts
        if min(base_n, cand_n) < 1 or not (
            0 <= base_passes <= base_n and 0 <= cand_passes <= cand_n
        ):
            raise InputError(
                f"invalid counts for paired case #{index}: {tuple(counts)}",
                fix="give each case as (base passes, base trials, candidate passes, "
                "candidate trials) with 0 <= passes <= trials and trials >= 1",
            )
    losses = Fraction()
    gains = Fraction()
    # Exact sums, one term per distinct count (a suite repeats few of them).
    for (base_passes, base_n, cand_passes, cand_n), times in Counter(cases).items():
        drop = (Fraction(base_passes, base_n) - Fraction(cand_passes, cand_n)) * times
        if drop > 0:
            losses += drop
        else:
            gains -= drop
    n = len(cases)
    loss_mean = float(losses / n)
    gain_mean = float(gains / n)
    half = 1.0 - tail / 2.0
    high = mean_upper_bound(loss_mean, n, level=half) - mean_lower_bound(gain_mean, n, level=half)
    low = mean_lower_bound(loss_mean, n, level=half) - mean_upper_bound(gain_mean, n, level=half)
    return PairedDrop(
        mean_drop=float((losses - gains) / n),
        low=low,
        high=high,
        level=level,
        n_cases=n,
        losses=loss_mean,
        gains=gain_mean,
    )
