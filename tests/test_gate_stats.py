"""Pass-rate statistics for gates: closed forms, published values and an exact oracle.

Published values: Newcombe, R. G. (1998), "Two-sided confidence intervals for the single
proportion: comparison of seven methods", Statistics in Medicine 17:857–872, Table II
(method 3 is Wilson's score interval, method 5 the exact Clopper–Pearson interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clearance.errors import InputError
from clearance.gate import (
    PAIRED_METHOD,
    ClusteredRate,
    Interval,
    Method,
    clopper_pearson_interval,
    clustered_interval,
    clustered_rate,
    lower_bound,
    mean_lower_bound,
    mean_upper_bound,
    paired_drop_bounds,
    trials_to_settle,
    upper_bound,
    wilson_interval,
)

Z_95_TWO_SIDED = 1.959963984540054  # Φ⁻¹(0.975)
Z_90_TWO_SIDED = 1.6448536269514722  # Φ⁻¹(0.95): also the 95% one-sided z


def wilson_by_hand(x: float, n: float, z: float) -> tuple[float, float]:
    """The Wilson score interval, from its closed form."""
    p = x / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return center - half, center + half


# --- Wilson -------------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(0, 10), (5, 10), (10, 10), (81, 263), (1, 29), (3, 7)])
@pytest.mark.parametrize(("level", "z"), [(0.95, Z_95_TWO_SIDED), (0.90, Z_90_TWO_SIDED)])
def test_wilson_matches_the_closed_form(x: int, n: int, level: float, z: float) -> None:
    interval = wilson_interval(x, n, level=level)
    low, high = wilson_by_hand(x, n, z)
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)
    assert (interval.level, interval.method) == (level, "wilson")


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [  # Newcombe (1998), Table II, method 3
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_published_values(x: int, n: int, low: float, high: float) -> None:
    interval = wilson_interval(x, n)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_wilson_ends_are_exact_at_zero_and_n() -> None:
    assert wilson_interval(0, 10).low == 0.0
    assert wilson_interval(10, 10).high == 1.0
    # at x = n the lower end is n / (n + z²)
    assert wilson_interval(10, 10).low == pytest.approx(10 / (10 + Z_95_TWO_SIDED**2), abs=1e-12)


def test_no_trials_gives_the_whole_unit_interval() -> None:
    assert wilson_interval(0, 0) == Interval(0.0, 1.0, 0.95, "wilson")
    assert clopper_pearson_interval(0, 0) == Interval(0.0, 1.0, 0.95, "clopper-pearson")


# --- Clopper–Pearson ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [  # Newcombe (1998), Table II, method 5
        (81, 263, 0.2527, 0.3676),
        (15, 148, 0.0578, 0.1617),
        (0, 20, 0.0000, 0.1684),
        (1, 29, 0.0009, 0.1776),
        # Closed forms at the edges: 1 − 0.025^(1/10) and 0.025^(1/10); and the symmetric 5/10.
        (0, 10, 0.0000, 0.3085),
        (10, 10, 0.6915, 1.0000),
        (5, 10, 0.1871, 0.8129),
    ],
)
def test_clopper_pearson_matches_published_values(x: int, n: int, low: float, high: float) -> None:
    interval = clopper_pearson_interval(x, n)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_clopper_pearson_edges_match_their_closed_forms() -> None:
    for n in (1, 3, 10, 57):
        assert clopper_pearson_interval(0, n).high == pytest.approx(1 - 0.025 ** (1 / n), abs=1e-12)
        assert clopper_pearson_interval(n, n).low == pytest.approx(0.025 ** (1 / n), abs=1e-12)
        assert clopper_pearson_interval(0, n).low == 0.0
        assert clopper_pearson_interval(n, n).high == 1.0


_BITS = 40


def _upper_tail_at_least(x: int, n: int, a: int, tail: Fraction) -> bool:
    """P(X ≥ x | p = a / 2^BITS) ≥ tail, in exact integer arithmetic."""
    d = 1 << _BITS
    mass = sum(math.comb(n, k) * a**k * (d - a) ** (n - k) for k in range(x, n + 1))
    return bool(mass * tail.denominator >= tail.numerator * d**n)


def _lower_tail_at_most(x: int, n: int, a: int, tail: Fraction) -> bool:
    """P(X ≤ x | p = a / 2^BITS) ≤ tail, in exact integer arithmetic."""
    d = 1 << _BITS
    mass = sum(math.comb(n, k) * a**k * (d - a) ** (n - k) for k in range(x + 1))
    return bool(mass * tail.denominator <= tail.numerator * d**n)


def _bisect(
    predicate_true_above: Callable[[int, int, int, Fraction], bool],
    x: int,
    n: int,
    tail: Fraction,
) -> float:
    """Smallest a / 2^BITS at which the (monotone) predicate holds."""
    lo, hi = 0, 1 << _BITS
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if predicate_true_above(x, n, mid, tail):
            hi = mid
        else:
            lo = mid
    return hi / (1 << _BITS)


def exact_clopper_pearson(x: int, n: int, level: Fraction) -> tuple[float, float]:
    """The oracle: solve P(X ≥ x | p_low) = α/2 and P(X ≤ x | p_high) = α/2 on binomial sums."""
    tail = (1 - level) / 2
    low = 0.0 if x == 0 else _bisect(_upper_tail_at_least, x, n, tail)
    high = 1.0 if x == n else _bisect(_lower_tail_at_most, x, n, tail)
    return low, high


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10, 13, 17, 20, 25, 31, 36, 40])
def test_clopper_pearson_agrees_with_exact_binomial_tails(n: int) -> None:
    for level in (Fraction(95, 100), Fraction(90, 100), Fraction(99, 100)):
        for x in range(n + 1):
            interval = clopper_pearson_interval(x, n, level=float(level))
            low, high = exact_clopper_pearson(x, n, level)
            assert interval.low == pytest.approx(low, abs=1e-6), (x, n, level)
            assert interval.high == pytest.approx(high, abs=1e-6), (x, n, level)


# --- one-sided bounds ---------------------------------------------------------------------


def test_one_sided_95_bound_is_the_lower_end_of_the_two_sided_90_interval() -> None:
    for x, n in [(0, 10), (7, 10), (10, 10), (81, 263)]:
        low, high = wilson_by_hand(x, n, Z_90_TWO_SIDED)
        assert lower_bound(x, n) == pytest.approx(low, abs=1e-12)
        assert upper_bound(x, n) == pytest.approx(high, abs=1e-12)
        assert lower_bound(x, n, method="clopper-pearson") == pytest.approx(
            clopper_pearson_interval(x, n, level=0.90).low, abs=1e-12
        )
        assert lower_bound(x, n, one_sided=False) == wilson_interval(x, n).low


def test_invalid_arguments_are_input_errors() -> None:
    with pytest.raises(InputError, match="11 successes out of 10"):
        wilson_interval(11, 10)
    with pytest.raises(InputError, match="level"):
        clopper_pearson_interval(1, 10, level=1.0)
    with pytest.raises(InputError, match="one-sided"):
        lower_bound(1, 10, level=0.4)
    with pytest.raises(InputError, match="'wald'"):
        lower_bound(1, 10, method="wald")  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------

methods: st.SearchStrategy[Method] = st.sampled_from(["wilson", "clopper-pearson"])
METHODS: tuple[Method, ...] = ("wilson", "clopper-pearson")
levels = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@st.composite
def counts(draw: st.DrawFn, max_n: int = 300) -> tuple[int, int]:
    n = draw(st.integers(1, max_n))
    return draw(st.integers(0, n)), n


@settings(max_examples=60, deadline=None)
@given(counts(), methods, levels)
def test_lower_bound_is_non_decreasing_in_successes(
    xn: tuple[int, int], method: Method, level: float
) -> None:
    x, n = xn
    bounds = [lower_bound(k, n, level=level, method=method) for k in range(max(0, x - 3), x + 1)]
    assert bounds == sorted(bounds)


@settings(max_examples=60, deadline=None)
@given(counts(), methods, levels, levels)
def test_a_higher_level_never_gives_a_higher_lower_bound(
    xn: tuple[int, int], method: Method, level_a: float, level_b: float
) -> None:
    x, n = xn
    low_level, high_level = sorted((level_a, level_b))
    assert lower_bound(x, n, level=high_level, method=method) <= lower_bound(
        x, n, level=low_level, method=method
    )


@settings(max_examples=60, deadline=None)
@given(counts(), levels)
def test_intervals_contain_the_point_estimate(xn: tuple[int, int], level: float) -> None:
    x, n = xn
    for interval in (
        wilson_interval(x, n, level=level),
        clopper_pearson_interval(x, n, level=level),
    ):
        assert 0.0 <= interval.low <= x / n <= interval.high <= 1.0


@settings(max_examples=60, deadline=None)
@given(counts())
def test_clopper_pearson_is_wider_than_wilson_away_from_the_edges(xn: tuple[int, int]) -> None:
    # Only at 95% and for 0 < x < n (checked exhaustively for n ≤ 300). At x = 0 or x = n
    # it fails from n = 46 on: Wilson's width is z²/(n + z²) ≈ 3.84/n there, Clopper–Pearson's
    # 1 − 0.025^(1/n) ≈ 3.69/n. At 99% it fails even inside, e.g. 1/24.
    x, n = xn
    if 0 < x < n:
        wilson, exact = wilson_interval(x, n), clopper_pearson_interval(x, n)
        assert exact.high - exact.low >= wilson.high - wilson.low
    if n >= 46 and x in (0, n):
        wilson, exact = wilson_interval(x, n), clopper_pearson_interval(x, n)
        assert exact.high - exact.low < wilson.high - wilson.low


# --- clustered trials ---------------------------------------------------------------------


def test_cases_that_always_agree_with_themselves_count_once() -> None:
    rated = clustered_rate([(5, 5)] * 12 + [(0, 5)] * 8)
    assert rated == ClusteredRate(
        rate=0.6,
        successes=60,
        n_trials=100,
        n_cases=20,
        icc=1.0,
        icc_estimated=True,
        design_effect=5.0,
        effective_n=20.0,
    )
    assert rated.effective_successes == pytest.approx(12.0)


def test_binomially_spread_cases_are_worth_nearly_every_trial() -> None:
    # 32 cases of 5 trials whose passes follow Binomial(5, 1/2) exactly: 1, 5, 10, 10, 5, 1.
    # By hand: MSB = pq·k/(k−1), MSW = pq, so ICC = (1/(k−1)) / (k/(k−1) + m − 1) = 1/156,
    # deff = 1 + 4/156 and n_eff = 160 / deff = 156.
    cases = [(y, 5) for y, count in enumerate([1, 5, 10, 10, 5, 1]) for _ in range(count)]
    rated = clustered_rate(cases)
    assert (rated.rate, rated.n_cases, rated.n_trials) == (0.5, 32, 160)
    assert rated.icc == pytest.approx(1 / 156, abs=1e-12)
    assert rated.effective_n == pytest.approx(156.0, abs=1e-9)


def test_cases_more_alike_than_chance_clip_the_icc_to_zero() -> None:
    rated = clustered_rate([(2, 4)] * 10)  # every case exactly 2 of 4: less spread than binomial
    assert (rated.icc, rated.icc_estimated, rated.design_effect) == (0.0, True, 1.0)
    assert rated.effective_n == 40.0


def test_unequal_cases_use_the_size_weighted_mean_size() -> None:
    # ICC = 1 (each case all-pass or all-fail); m̃ = Σm²/N = (4 + 4 + 36 + 36) / 16 = 5.
    rated = clustered_rate([(2, 2), (0, 2), (6, 6), (0, 6)])
    assert rated.icc == 1.0
    assert rated.design_effect == pytest.approx(5.0)
    assert rated.effective_n == pytest.approx(3.2)


def test_an_icc_the_data_cannot_estimate_is_taken_as_one() -> None:
    for cases in ([(5, 5)] * 10, [(0, 3)] * 4, [(3, 5)]):
        rated = clustered_rate(cases)
        assert (rated.icc, rated.icc_estimated) == (1.0, False)
        assert rated.effective_n == pytest.approx(rated.n_cases)
    single_trials = clustered_rate([(1, 1), (0, 1), (1, 1)])
    assert (single_trials.icc_estimated, single_trials.design_effect) == (False, 1.0)


def test_cases_without_trials_are_skipped_and_bad_counts_rejected() -> None:
    assert clustered_rate([(3, 4), (0, 0), (1, 4)]).n_cases == 2
    with pytest.raises(InputError, match="case #1"):
        clustered_rate([(1, 2), (3, 2)])
    with pytest.raises(InputError, match="no trials"):
        clustered_rate([(0, 0)])


def test_clustered_interval_is_wider_than_the_naive_one_when_trials_correlate() -> None:
    cases = [(5, 5)] * 10 + [(3, 5)] * 5 + [(0, 5)] * 5
    rated = clustered_rate(cases)
    assert rated.icc > 0.3
    for method in METHODS:
        clustered = clustered_interval(cases, method=method)
        naive = (wilson_interval if method == "wilson" else clopper_pearson_interval)(
            rated.successes, rated.n_trials
        )
        assert clustered.low < naive.low
        assert clustered.high > naive.high
        assert clustered.method == f"{method}+kish"
    # Wilson on the effective (non-integer) counts, by hand:
    low, high = wilson_by_hand(rated.effective_successes, rated.effective_n, Z_95_TWO_SIDED)
    clustered = clustered_interval(cases)
    assert (clustered.low, clustered.high) == pytest.approx((low, high), abs=1e-12)


def test_clustered_interval_without_clustering_is_the_plain_interval() -> None:
    cases = [(1, 1)] * 17 + [(0, 1)] * 3
    assert clustered_interval(cases) == Interval(
        wilson_interval(17, 20).low, wilson_interval(17, 20).high, 0.95, "wilson+kish"
    )


def test_one_sided_clustered_interval_reports_its_two_sided_coverage() -> None:
    cases = [(1, 1)] * 17 + [(0, 1)] * 3
    interval = clustered_interval(cases, one_sided=True)
    assert interval.level == pytest.approx(0.90)
    assert interval.low == pytest.approx(lower_bound(17, 20), abs=1e-12)


# --- trials to settle ---------------------------------------------------------------------


def test_a_settled_gate_needs_no_more_trials() -> None:
    assert lower_bound(95, 100) >= 0.8
    assert trials_to_settle(95, 100, 0.8) == 0
    assert upper_bound(50, 100) < 0.8
    assert trials_to_settle(50, 100, 0.8) == 0


def test_a_rate_on_the_threshold_never_settles() -> None:
    assert trials_to_settle(8, 10, 0.8) is None
    assert trials_to_settle(0, 0, 0.8) is None  # no data, no observed rate


def test_the_answer_is_the_first_trial_count_that_settles() -> None:
    # Checked against the Wilson closed form with the 95% one-sided z, on fractional counts.
    successes, n, threshold = 17, 20, 0.8
    extra = trials_to_settle(successes, n, threshold)
    assert extra is not None
    assert extra > 0
    rate = successes / n

    def low(total: int) -> float:
        return wilson_by_hand(rate * total, total, Z_90_TWO_SIDED)[0]

    assert low(n + extra) >= threshold > low(n + extra - 1)


def test_need_falls_as_the_rate_moves_away_from_the_threshold() -> None:
    for method in METHODS:
        above = [trials_to_settle(x, 40, 0.75, method=method) for x in (31, 33, 35, 37)]
        below = [trials_to_settle(x, 40, 0.75, method=method) for x in (29, 27, 25, 23)]
        for needs in (above, below):
            known = [need for need in needs if need is not None]
            assert len(known) == len(needs)
            assert known == sorted(known, reverse=True), (method, known)
            assert known[0] > known[-1]


def test_a_design_effect_multiplies_the_need() -> None:
    plain = trials_to_settle(17, 20, 0.8)
    clustered = trials_to_settle(17, 20, 0.8, deff=2.0)
    assert plain is not None
    assert clustered is not None
    # At the same rate, deff 2 needs twice the total trials: 2·(20 + plain) − 20 (± rounding).
    assert abs(clustered - (2 * (20 + plain) - 20)) <= 2


def test_a_gate_that_cannot_settle_within_max_n_says_so() -> None:
    # 0.81 against 0.8 needs about z²·p(1 − p)/0.01² ≈ 4,300 trials in all.
    assert trials_to_settle(81, 100, 0.8, max_n=1000) is None
    assert trials_to_settle(81, 100, 0.8) == pytest.approx(4200, rel=0.05)
    assert trials_to_settle(801, 1000, 0.8) is None  # ≈ 430,000: past the default max_n
    with pytest.raises(InputError, match="threshold"):
        trials_to_settle(1, 2, 1.5)


COUNTS_FIX = "pass 0 <= successes <= n"
THRESHOLD_FIX = "pass a pass-rate threshold in [0, 1]"
DEFF_FIX = "pass a finite design effect > 0"


@pytest.mark.parametrize(
    ("args", "options", "message", "fix"),
    [
        ((-1, 10, 0.5), {}, "invalid counts: -1 successes out of 10 trials", COUNTS_FIX),
        ((11, 10, 0.5), {}, "invalid counts: 11 successes out of 10 trials", COUNTS_FIX),
        ((0, -1, 0.5), {}, "invalid counts: 0 successes out of -1 trials", COUNTS_FIX),
        (
            (2.5, 10, 0.5),
            {},
            "invalid successes 2.5: not a whole number",
            "pass successes as an int",
        ),
        ((5, 10.0, 0.5), {}, "invalid n 10.0: not a whole number", "pass n as an int"),
        (
            (True, 10, 0.5),
            {},
            "invalid successes True: not a whole number",
            "pass successes as an int",
        ),
        (
            (5, 10, 0.4),
            {"max_n": 2.5},
            "invalid max_n 2.5: not a whole number",
            "pass max_n as an int",
        ),
        ((5, 10, 0.4), {"max_n": -1}, "invalid max_n -1", "pass max_n >= 0 (additional trials)"),
        ((5, 10, -0.1), {}, "invalid threshold -0.1", THRESHOLD_FIX),
        ((5, 10, 1.01), {}, "invalid threshold 1.01", THRESHOLD_FIX),
        ((5, 10, math.nan), {}, "invalid threshold nan", THRESHOLD_FIX),
        ((5, 10, 0.4), {"deff": 0.0}, "invalid design effect 0.0", DEFF_FIX),
        ((5, 10, 0.4), {"deff": -2.0}, "invalid design effect -2.0", DEFF_FIX),
        ((5, 10, 0.4), {"deff": math.inf}, "invalid design effect inf", DEFF_FIX),
        ((5, 10, 0.4), {"deff": math.nan}, "invalid design effect nan", DEFF_FIX),
        (
            (5, 10, 0.4),
            {"level": 0.5},
            "invalid one-sided confidence level 0.5",
            "pass a level strictly between 0.5 and 1, such as 0.95",
        ),
        (
            (5, 10, 0.4),
            {"method": "wald"},
            "unknown interval method 'wald'",
            "use 'wilson' or 'clopper-pearson'",
        ),
    ],
)
def test_trials_to_settle_refuses_what_is_outside_its_domain(
    args: tuple[object, ...], options: dict[str, object], message: str, fix: str
) -> None:
    with pytest.raises(InputError) as raised:
        trials_to_settle(*args, **options)  # type: ignore[arg-type]
    assert (raised.value.message, raised.value.fix) == (message, fix)


def test_trials_to_settle_takes_the_edges_of_its_domain() -> None:
    # Thresholds 0 and 1 are bars a rate can meet: 0/10 "below" 1 is settled at once
    # (upper bound < 1), 10/10 "above" 0 too (lower bound > 0).
    assert trials_to_settle(0, 10, 1.0) == 0
    assert trials_to_settle(10, 10, 0.0) == 0
    # A bar of 1 is out of reach of any rate below it; once the upper bound is under 1 that
    # is settled, even for one trial (0/1) or a rate of 1/2 (the numerator alone is 1).
    assert trials_to_settle(0, 1, 1.0) == 0
    assert trials_to_settle(1, 2, 1.0) == 0
    # max_n = 0 asks only whether it is settled now.
    assert trials_to_settle(17, 20, 0.8, max_n=0) is None
    assert trials_to_settle(95, 100, 0.8, max_n=0) == 0
    # A design effect below 1 (negative within-case correlation) shrinks the need.
    plain = trials_to_settle(17, 20, 0.8)
    assert plain is not None
    shrunk = trials_to_settle(17, 20, 0.8, deff=0.5)
    assert shrunk is not None
    assert shrunk < plain


# --- the intra-class correlation with exactly two cases -----------------------------------


def test_icc_of_two_equal_cases_by_hand() -> None:
    # (3 of 4) and (1 of 4): k = 2, N = 8, S = 4. Σy²/m = 9/4 + 1/4 = 5/2.
    # MSB = (5/2 − 16/8) / 1 = 1/2; MSW = (4 − 5/2) / (8 − 2) = 1/4; m₀ = (8 − 32/8) / 1 = 4.
    # ICC = (1/2 − 1/4) / (1/2 + 3·1/4) = 1/5; deff = 1 + 3/5 = 8/5; n_eff = 8 / (8/5) = 5.
    rated = clustered_rate([(3, 4), (1, 4)])
    assert (rated.n_cases, rated.n_trials, rated.successes, rated.icc_estimated) == (
        2,
        8,
        4,
        True,
    )
    assert rated.icc == pytest.approx(0.2, abs=1e-15)
    assert rated.design_effect == pytest.approx(1.6, abs=1e-15)
    assert rated.effective_n == pytest.approx(5.0, abs=1e-14)


def test_icc_of_two_unequal_cases_by_hand() -> None:
    # (2 of 2) and (1 of 4): k = 2, N = 6, S = 3. Σy²/m = 4/2 + 1/4 = 9/4.
    # MSB = 9/4 − 9/6 = 3/4; MSW = (3 − 9/4) / (6 − 2) = 3/16;
    # m₀ = 6 − (4 + 16)/6 = 8/3 (the ANOVA size), m̃ = 20/6 = 10/3 (Kish's, for the deff).
    # ICC = (3/4 − 3/16) / (3/4 + (5/3)·(3/16)) = (9/16) / (17/16) = 9/17;
    # deff = 1 + (7/3)·(9/17) = 38/17; n_eff = 6 · 17/38 = 51/19.
    rated = clustered_rate([(2, 2), (1, 4)])
    assert rated.icc == pytest.approx(9 / 17, abs=1e-15)
    assert rated.design_effect == pytest.approx(38 / 17, abs=1e-15)
    assert rated.effective_n == pytest.approx(51 / 19, abs=1e-14)
    assert rated.icc_estimated


def test_two_cases_that_disagree_completely_have_icc_one() -> None:
    # (2 of 2) and (0 of 2): MSW = 0, so ICC = MSB / MSB = 1, estimated (not the fallback).
    rated = clustered_rate([(2, 2), (0, 2)])
    assert (rated.icc, rated.icc_estimated, rated.design_effect, rated.effective_n) == (
        1.0,
        True,
        2.0,
        2.0,
    )


# --- the confidence level's domain ----------------------------------------------------------


ONE_SIDED_CALLS: tuple[Callable[[float], object], ...] = (
    lambda level: lower_bound(3, 10, level=level),
    lambda level: upper_bound(3, 10, level=level),
    lambda level: clustered_interval([(3, 10)], level=level, one_sided=True),
    lambda level: trials_to_settle(3, 10, 0.5, level=level),
)


@pytest.mark.parametrize("level", [0.5, 0.4999, 1.0])
def test_one_sided_levels_must_lie_strictly_above_one_half(level: float) -> None:
    # A one-sided bound at level 0.5 leaves half the mass in its tail: z = 0, no bound at all.
    for call in ONE_SIDED_CALLS:
        with pytest.raises(InputError) as raised:
            call(level)
        assert raised.value.message == f"invalid one-sided confidence level {level!r}"
        assert raised.value.fix == "pass a level strictly between 0.5 and 1, such as 0.95"


def test_a_one_sided_level_just_above_one_half_collapses_on_the_rate() -> None:
    # z = Φ⁻¹(0.5 + ε) ≈ ε·sqrt(2π) → 0, and Wilson's bounds tend to the observed rate.
    level = 0.5 + 1e-9
    low, high = lower_bound(3, 10, level=level), upper_bound(3, 10, level=level)
    assert low < 0.3 < high
    assert (low, high) == pytest.approx((0.3, 0.3), abs=1e-8)
    z = 1e-9 * math.sqrt(2 * math.pi)
    assert (low, high) == pytest.approx(wilson_by_hand(3, 10, z), abs=1e-15)


def test_two_sided_levels_may_go_down_to_zero_exclusive() -> None:
    # Level 0.5 two-sided is allowed and means z = Φ⁻¹(0.75); level 0 is not an interval.
    z_75 = 0.6744897501960817
    interval = wilson_interval(3, 10, level=0.5)
    assert (interval.low, interval.high) == pytest.approx(wilson_by_hand(3, 10, z_75), abs=1e-12)
    assert lower_bound(3, 10, level=0.5, one_sided=False) == interval.low
    assert wilson_interval(3, 10, level=0.3).low < 0.3
    for level in (0.0, -0.1, 1.0):
        with pytest.raises(InputError) as raised:
            wilson_interval(3, 10, level=level)
        assert raised.value.message == f"invalid two-sided confidence level {level!r}"
        assert raised.value.fix == "pass a level strictly between 0.0 and 1, such as 0.95"


def settle_by_scan(
    successes: int, n: int, threshold: float, z: float, deff: float, limit: int
) -> int | None:
    """The first extra trial count that settles, by trying each in turn (Wilson closed form)."""
    rate = successes / n
    for extra in range(limit + 1):
        n_eff = (n + extra) / deff
        low, high = wilson_by_hand(rate * n_eff, n_eff, z)
        if (low >= threshold) if rate > threshold else (high < threshold):
            return extra
    return None


@pytest.mark.parametrize(
    ("successes", "n", "threshold"),
    [
        (17, 20, 0.8),
        (9, 10, 0.7),
        (3, 10, 0.5),
        (40, 50, 0.7),
        (12, 40, 0.2),
        (1, 2, 0.3),
        (0, 2, 0.5),  # 1 more (at deff 1)
        (1, 3, 0.7),  # 2 more
        (1, 2, 0.8),  # 3 more
    ],
)
@pytest.mark.parametrize("deff", [1.0, 2.5])
def test_trials_to_settle_is_the_first_count_found_one_by_one(
    successes: int, n: int, threshold: float, deff: float
) -> None:
    need = settle_by_scan(successes, n, threshold, Z_90_TWO_SIDED, deff, 3000)
    assert need is not None
    assert trials_to_settle(successes, n, threshold, deff=deff) == need
    # max_n is a ceiling: reached exactly it answers, one short it gives up.
    assert trials_to_settle(successes, n, threshold, deff=deff, max_n=need) == need
    if need > 0:
        assert trials_to_settle(successes, n, threshold, deff=deff, max_n=need - 1) is None


def test_a_bound_exactly_on_the_threshold() -> None:
    # Settled above means the lower bound at or above the threshold; settled below means
    # the upper bound strictly under it (as the gate reads them).
    low = lower_bound(17, 20)
    assert trials_to_settle(17, 20, low) == 0
    assert trials_to_settle(17, 20, math.nextafter(low, 1.0)) == 1
    high = upper_bound(3, 10)
    assert trials_to_settle(3, 10, high) == 1
    assert trials_to_settle(3, 10, math.nextafter(high, 1.0)) == 0


def test_wilson_with_a_single_trial_is_the_closed_form() -> None:
    # n = 1 is a sample, not "no data": x = 1 gives [1 / (1 + z²), 1], x = 0 its mirror.
    assert wilson_interval(1, 1).low == pytest.approx(1 / (1 + Z_95_TWO_SIDED**2), abs=1e-12)
    assert wilson_interval(1, 1).high == 1.0
    assert wilson_interval(0, 1).high == pytest.approx(Z_95_TWO_SIDED**2 / (1 + Z_95_TWO_SIDED**2))
    assert wilson_interval(0, 1).low == 0.0


def test_a_single_pass_in_all_is_enough_to_estimate_the_icc() -> None:
    # (1 of 2) and (0 of 2): Σy²/m = 1/2, MSB = (1/2 − 1/4) / 1 = 1/4, MSW = (1 − 1/2) / 2 = 1/4:
    # the cases differ no more than chance, ICC 0 (estimated, not the fallback 1).
    rated = clustered_rate([(1, 2), (0, 2)])
    assert (rated.icc, rated.icc_estimated, rated.design_effect, rated.effective_n) == (
        0.0,
        True,
        1.0,
        4.0,
    )


def test_clustered_rate_refusals_say_how_to_fix_them() -> None:
    with pytest.raises(InputError) as raised:
        clustered_rate([(1, 2), (3, 2)])
    assert (raised.value.message, raised.value.fix) == (
        "invalid counts for case #1: 3 passes out of 2",
        "give each case as (passes, trials) with 0 <= passes <= trials",
    )
    with pytest.raises(InputError) as raised:
        clustered_rate([(0, 0), (0, 0)])
    assert (raised.value.message, raised.value.fix) == (
        "no trials to rate: every case has zero trials",
        "rate at least one case with at least one trial",
    )
    with pytest.raises(InputError) as raised:
        clustered_rate([(0, -1)])
    assert raised.value.message == "invalid counts for case #0: 0 passes out of -1"


def test_the_incomplete_beta_function_matches_its_closed_forms() -> None:
    # The Beta(a, b) CDF that Clopper–Pearson inverts: 0 at 0 and 1 at 1, and in closed
    # form I_x(a, 1) = xᵃ, I_x(1, b) = 1 − (1 − x)ᵇ, I_x(2, 2) = 3x² − 2x³ (on both sides
    # of the mean, where the continued fraction is used directly or through the symmetry).
    from clearance.gate.stats import _regularized_beta  # the kernel behind every quantile

    for a, b in [(1.0, 1.0), (3.0, 7.0), (0.5, 2.5)]:
        assert _regularized_beta(0.0, a, b) == 0.0
        assert _regularized_beta(1.0, a, b) == 1.0
    for x in (0.01, 0.2, 0.5, 0.8, 0.99):
        assert _regularized_beta(x, 4.0, 1.0) == pytest.approx(x**4, abs=1e-13)
        assert _regularized_beta(x, 1.0, 6.0) == pytest.approx(1 - (1 - x) ** 6, abs=1e-13)
        assert _regularized_beta(x, 2.0, 2.0) == pytest.approx(3 * x**2 - 2 * x**3, abs=1e-13)


# --- the paired drop (regression) -------------------------------------------------------


MEAN_FIX = "pass the mean of n >= 1 values in [0, 1]"


def kl(mean: float, mu: float) -> float:
    """Bernoulli relative entropy, written out for the tests."""
    left = 0.0 if mean == 0 else mean * math.log(mean / mu)
    right = 0.0 if mean == 1 else (1 - mean) * math.log((1 - mean) / (1 - mu))
    return left + right


@given(
    st.integers(min_value=1, max_value=400),
    st.floats(min_value=0.0, max_value=0.999),
    st.sampled_from([0.8, 0.9, 0.95, 0.975, 0.99]),
)
@example(8, 1.3698541993714282e-12, 0.8)  # 1 − mean rounds; CI found it
def test_mean_bounds_solve_the_relative_entropy_equation(n: int, mean: float, level: float) -> None:
    upper = mean_upper_bound(mean, n, level=level)
    budget = math.log(1 / (1 - level)) / n
    assert mean < upper <= 1.0
    # The bound is where n·KL(mean ‖ μ) reaches ln(1/α), and it is on the safe side.
    if upper < 1.0:
        # the smallest float past the last μ still inside the budget
        assert kl(mean, upper) >= budget * (1 - 1e-12)
        assert kl(mean, math.nextafter(upper, 0.0)) <= budget * (1 + 1e-12)
    # The mirror: 1 − mean is rounded, so the mirrored bound is taken at the mean the
    # lower bound really sees (near 0 the bound moves far faster than the mean).
    seen = 1 - (1 - mean)
    lower = mean_lower_bound(1 - mean, n, level=level)
    assert lower == pytest.approx(1 - mean_upper_bound(seen, n, level=level), abs=1e-15)
    if seen == mean:
        assert lower == pytest.approx(1 - upper, abs=1e-15)


def test_mean_bounds_closed_forms_and_errors() -> None:
    # 0 of n: the exact Clopper–Pearson bound 1 − α^(1/n); all of n: its mirror.
    assert mean_upper_bound(0.0, 16, level=0.975) == pytest.approx(1 - 0.025 ** (1 / 16))
    assert mean_lower_bound(1.0, 16, level=0.975) == pytest.approx(0.025 ** (1 / 16))
    assert (mean_upper_bound(1.0, 5), mean_lower_bound(0.0, 5)) == (1.0, 0.0)
    # narrower with more values, wider with more confidence
    assert (
        mean_upper_bound(0.1, 100)
        < mean_upper_bound(0.1, 50)
        < mean_upper_bound(0.1, 50, level=0.99)
    )
    with pytest.raises(InputError, match="confidence level"):
        mean_upper_bound(0.5, 5, level=0.4)


@pytest.mark.parametrize(
    ("mean", "n", "message", "fix"),
    [
        (-0.1, 5, "invalid sample: mean -0.1 over 5 values", MEAN_FIX),
        (1.5, 5, "invalid sample: mean 1.5 over 5 values", MEAN_FIX),
        (math.nan, 5, "invalid sample: mean nan over 5 values", MEAN_FIX),
        (0.5, 0, "invalid sample: mean 0.5 over 0 values", MEAN_FIX),
        (0.5, 2.0, "invalid n 2.0: not a whole number", "pass n as an int"),
    ],
)
def test_mean_bounds_refuse_a_sample_outside_their_domain(
    mean: float, n: int, message: str, fix: str
) -> None:
    for bound in (mean_upper_bound, mean_lower_bound):
        with pytest.raises(InputError) as raised:
            bound(mean, n)
        assert (raised.value.message, raised.value.fix) == (message, fix)


def test_relative_entropy_at_the_ends_of_the_mean() -> None:
    # KL(0 ‖ μ) = ln(1/(1 − μ)) and KL(1 ‖ μ) = ln(1/μ): 0·ln 0 counts as 0 at either
    # end. mean_upper_bound answers a mean of 1 before it asks, but the function is the
    # whole Bernoulli relative entropy, not only the part one caller needs today.
    from clearance.gate.stats import _kl  # the function every mean bound inverts

    for mu in (0.01, 0.3, 0.5, 0.99):
        assert _kl(0.0, mu) == pytest.approx(-math.log1p(-mu), rel=1e-15)
        assert _kl(1.0, mu) == pytest.approx(-math.log(mu), rel=1e-15)
        assert _kl(mu, mu) == 0.0
    assert _kl(0.25, 0.5) == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))


def test_paired_drop_splits_losses_and_gains_and_bonferroni_combines_them() -> None:
    # Drops 1, 1/2, 0, −1 (counts chosen so the rates differ in trials): losses 3/8, gains 1/4.
    cases = [(2, 2, 0, 2), (1, 1, 1, 2), (1, 3, 1, 3), (0, 4, 4, 4)]
    found = paired_drop_bounds(cases, level=0.9)
    assert (found.n_cases, found.level, found.method) == (4, 0.9, PAIRED_METHOD)
    assert (found.losses, found.gains, found.mean_drop) == (3 / 8, 1 / 4, 1 / 8)
    half = 0.95
    assert found.high == mean_upper_bound(3 / 8, 4, level=half) - mean_lower_bound(
        1 / 4, 4, level=half
    )
    assert found.low == mean_lower_bound(3 / 8, 4, level=half) - mean_upper_bound(
        1 / 4, 4, level=half
    )
    assert found.low < found.mean_drop < found.high
    # The case is the unit: more trials of the same rates change nothing.
    doubled = [(2 * a, 2 * b, 2 * c, 2 * d) for a, b, c, d in cases]
    assert paired_drop_bounds(doubled, level=0.9) == found
    # Order of the cases does not matter.
    assert paired_drop_bounds(cases[::-1], level=0.9) == found


def test_paired_drop_at_full_agreement_is_the_exact_zero_bound() -> None:
    for n in (16, 60, 200):
        found = paired_drop_bounds([(3, 3, 3, 3)] * n, level=0.95)
        zero = 1 - 0.025 ** (1 / n)
        assert (found.low, found.high) == pytest.approx((-zero, zero), abs=1e-12)
        # Far inside Hoeffding's data-blind margin sqrt(2 ln 20 / n).
        assert found.high < math.sqrt(2 * math.log(20) / n) / 2.5
    everything_lost = paired_drop_bounds([(1, 1, 0, 1)] * 20, level=0.95)
    assert (everything_lost.low, everything_lost.high) == pytest.approx(
        (2 * 0.025 ** (1 / 20) - 1, 1.0), abs=1e-12
    )


@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40),
    st.sampled_from([0.8, 0.9, 0.95]),
)
def test_paired_drop_bounds_hold_the_estimate_and_stay_in_range(
    pairs: list[tuple[int, int]], level: float
) -> None:
    cases = [(b, 4, c, 4) for b, c in pairs]
    found = paired_drop_bounds(cases, level=level)
    assert -1.0 <= found.low <= found.mean_drop <= found.high <= 1.0
    assert found.mean_drop == pytest.approx(sum(b - c for b, c in pairs) / (4 * len(pairs)))
    assert found.losses - found.gains == pytest.approx(found.mean_drop)
    # A higher level never narrows the bounds.
    wider = paired_drop_bounds(cases, level=0.99)
    assert wider.low <= found.low
    assert wider.high >= found.high
    # Swapping the two models mirrors the bounds.
    swapped = paired_drop_bounds([(c, 4, b, 4) for b, c in pairs], level=level)
    assert (swapped.low, swapped.high) == pytest.approx((-found.high, -found.low), abs=1e-12)


def test_paired_drop_refuses_bad_counts() -> None:
    with pytest.raises(InputError) as raised:
        paired_drop_bounds([])
    assert (raised.value.message, raised.value.fix) == (
        "no paired case to compare",
        "pass at least one case both models have trials of",
    )
    for bad in ((1, 0, 0, 1), (2, 1, 0, 1), (0, 1, -1, 1), (0, 1, 3, 2)):
        with pytest.raises(InputError) as raised:
            paired_drop_bounds([(1, 1, 1, 1), bad])
        assert (raised.value.message, raised.value.fix) == (
            f"invalid counts for paired case #1: {bad}",
            "give each case as (base passes, base trials, candidate passes, candidate "
            "trials) with 0 <= passes <= trials and trials >= 1",
        )
    with pytest.raises(InputError) as raised:
        paired_drop_bounds([(1, 1, 1, 1), (1, 1, 0.5, 1)])  # type: ignore[list-item]
    assert raised.value.message == "invalid count of paired case #1 0.5: not a whole number"
    with pytest.raises(InputError, match="confidence level"):
        paired_drop_bounds([(1, 1, 1, 1)], level=1.0)
