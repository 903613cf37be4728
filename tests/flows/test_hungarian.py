"""The Hungarian fallback on its own: optimal against brute force, and its cost weights pinned.

``hungarian()`` is checked against an exhaustive search over random square and rectangular
matrices (integer and float costs, many ties). ``_hungarian_assign()`` folds the lexicographic
objective (full matches, then pairs, then fewest mismatches) into one integer cost; the cases
below are built so that each weight decides which pairing wins, so a weight too small fails one.

The weights are deliberately generous, so larger ones (and some smaller ones) keep the same
optimum and cannot be told apart by any test. ``W1`` only has to exceed the mismatches of any
assignment. ``W2 = W1·(q+1)`` (``q`` the smaller side) could be ``W1·(q-1)``: an assignment with
one more full match has at most ``q-1`` fewer pairs, and when it has exactly ``q-1`` fewer its
single pair is the full one, with no mismatch, while the other has at least ``q``. Even
``W2 = W1`` seems to hold (swapping an alternating path that costs a full match gains at most
one pair; 60 000 random tables found no counterexample); ``W2 = W1 // 2`` does not (below).
A wrong-tool cost only has to be >= 0, since such pairs are dropped afterwards.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.flows import assign
from clearance.flows.matchers import Mismatch
from clearance.flows.matching import _hungarian_assign, _subset_dp, hungarian
from tests.flows.helpers import call
from tests.flows.test_matching import expect

Cell = tuple[Mismatch, ...] | None


# --- hungarian(): optimal perfect matching, brute-force oracle ------------------------------


def _pad(cost: Sequence[Sequence[float]]) -> list[list[float]]:
    """Square the matrix with zero-cost dummy rows or columns (unpaired = free)."""
    n, m = len(cost), len(cost[0])
    size = max(n, m)
    return [[cost[i][j] if i < n and j < m else 0 for j in range(size)] for i in range(size)]


def _brute_force(cost: Sequence[Sequence[float]]) -> float:
    """Least total cost pairing every index of the smaller side (permutations of the larger)."""
    n, m = len(cost), len(cost[0])
    if n <= m:
        return min(
            sum(cost[i][j] for i, j in enumerate(cols))
            for cols in itertools.permutations(range(m), n)
        )
    return min(
        sum(cost[i][j] for j, i in enumerate(rows)) for rows in itertools.permutations(range(n), m)
    )


_INT_VALUES = st.sampled_from([-3, 0, 0, 1, 1, 2, 5])  # few values: many ties
_FLOAT_VALUES = st.one_of(
    st.sampled_from([-1.5, 0.0, 0.1, 0.1, 0.3, 2.25]),
    st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False),
)


@st.composite
def _matrices(draw: st.DrawFn) -> list[list[float]]:
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 6))
    values = draw(st.sampled_from([_INT_VALUES, _FLOAT_VALUES]))
    return [[draw(values) for _ in range(m)] for _ in range(n)]


@settings(max_examples=200, deadline=None)
@given(_matrices())
def test_hungarian_is_optimal_against_brute_force(cost: list[list[float]]) -> None:
    n, m = len(cost), len(cost[0])
    square = _pad(cost)
    size = len(square)
    # Annotated for ints (what assign() passes); the algorithm is exact for floats too.
    match = hungarian(square)  # type: ignore[arg-type]
    # A permutation: every row gets one column, no column is used twice.
    assert len(match) == size
    assert sorted(match) == list(range(size))
    real = [(i, j) for i, j in enumerate(match) if i < n and j < m]
    assert len(real) == min(n, m)
    assert len({i for i, _ in real}) == len({j for _, j in real}) == len(real)
    total = sum(square[i][j] for i, j in enumerate(match))
    best = _brute_force(cost)
    if all(isinstance(x, int) for row in cost for x in row):
        assert total == best
    else:
        assert math.isclose(total, best, rel_tol=1e-9, abs_tol=1e-9)


def test_hungarian_small_cases() -> None:
    assert hungarian([[7]]) == [0]
    assert hungarian([[1, 0], [0, 1]]) == [1, 0]
    assert hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]) == [1, 0, 2]  # total 5
    assert hungarian([]) == []


# --- _hungarian_assign(): the weights keep the lexicographic order --------------------------


def _mismatches(k: int) -> tuple[Mismatch, ...]:
    return tuple(Mismatch(f"/a{i}", "1", 2, "mismatch") for i in range(k))


FULL: Cell = ()
WRONG_TOOL: Cell = None


def _pairs(table: Sequence[Sequence[Cell]]) -> list[tuple[int, int]]:
    return sorted(_hungarian_assign(table, len(table), len(table[0])))


def test_a_full_match_outweighs_fewer_mismatches() -> None:
    # {e0-a0 full, e1-a1 with 5 mismatches}: 1 full match, 5 mismatches.
    # {e0-a1, e1-a0}, one mismatch each: no full match, 2 mismatches. Full matches come first.
    table: list[list[Cell]] = [[FULL, _mismatches(1)], [_mismatches(1), _mismatches(5)]]
    assert _pairs(table) == [(0, 0), (1, 1)]


def test_a_near_miss_is_paired_around_a_full_match() -> None:
    # e1 can only take a0; e0 takes a0 fully or a1 with 3 mismatches. One full match either way,
    # so the second pair (e0-a1) must win over leaving e0's near miss unpaired.
    table: list[list[Cell]] = [[FULL, _mismatches(3), WRONG_TOOL], [FULL, WRONG_TOOL, WRONG_TOOL]]
    assert _pairs(table) == [(0, 1), (1, 0)]


def test_a_near_miss_is_paired_rather_than_left_unpaired() -> None:
    # Pairing with many wrong arguments beats reporting a missing call plus an extra one.
    assert _pairs([[_mismatches(4)]]) == [(0, 0)]


def test_more_pairs_outweigh_fewer_mismatches() -> None:
    # {e0-a0, e1-a1}: 2 pairs, 5 mismatches; any single pair: 1 pair, 1 mismatch.
    table: list[list[Cell]] = [[_mismatches(1), WRONG_TOOL], [_mismatches(1), _mismatches(4)]]
    assert _pairs(table) == [(0, 0), (1, 1)]


def test_fewest_mismatches_decide_between_equal_pairings() -> None:
    table: list[list[Cell]] = [[_mismatches(1), _mismatches(3)], [_mismatches(2), _mismatches(1)]]
    assert _pairs(table) == [(0, 0), (1, 1)]
    table = [[_mismatches(3), _mismatches(1)], [_mismatches(1), _mismatches(2)]]
    assert _pairs(table) == [(0, 1), (1, 0)]


def test_two_full_matches_outweigh_a_third_pair() -> None:
    # Found by random search: with W2 = W1 // 2 the three-pair assignment wins.
    table: list[list[Cell]] = [
        [_mismatches(1), WRONG_TOOL, WRONG_TOOL],
        [WRONG_TOOL, WRONG_TOOL, _mismatches(15)],
        [_mismatches(1), _mismatches(8), FULL],
        [FULL, _mismatches(15), WRONG_TOOL],
    ]
    assert _pairs(table) == [(2, 2), (3, 0)]


def test_a_wrong_tool_is_never_paired_even_to_free_a_full_match() -> None:
    assert _pairs([[WRONG_TOOL]]) == []
    table: list[list[Cell]] = [[WRONG_TOOL, FULL], [FULL, WRONG_TOOL]]
    assert _pairs(table) == [(0, 1), (1, 0)]
    table = [[FULL, WRONG_TOOL, WRONG_TOOL], [WRONG_TOOL, WRONG_TOOL, _mismatches(2)]]
    assert _pairs(table) == [(0, 0), (1, 2)]


def test_weights_decide_through_assign_with_real_matchers() -> None:
    # A near miss (same tool, every argument wrong) pairs; a call of another tool does not.
    expected = [expect("t", {"a": 1, "b": 1, "c": 1}), expect("u", {})]
    actual = [call("v", index=0), call("t", {"a": 2, "b": 2, "c": 2}, index=1)]
    result = assign(expected, actual, any_order=True, exact_limit=0)
    assert [(p.expected, p.actual, len(p.mismatches)) for p in result.pairs] == [(0, 1, 3)]
    assert result.unmatched_expected == (1,)
    assert result.unmatched_actual == (0,)


_CELLS = st.one_of(st.none(), st.integers(0, 4).map(_mismatches))


@st.composite
def _tables(draw: st.DrawFn) -> list[list[Cell]]:
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 6))
    return [[draw(_CELLS) for _ in range(m)] for _ in range(n)]


def _objective(table: list[list[Cell]], chosen: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    cells = [table[i][j] for i, j in chosen]
    assert all(c is not None for c in cells)
    return (
        sum(not c for c in cells if c is not None),
        len(cells),
        -sum(len(c) for c in cells if c is not None),
    )


@settings(max_examples=200, deadline=None)
@given(_tables())
def test_weighted_cost_gives_the_lexicographic_optimum(table: list[list[Cell]]) -> None:
    n, m = len(table), len(table[0])
    chosen = _hungarian_assign(table, n, m)
    assert len({i for i, _ in chosen}) == len({j for _, j in chosen}) == len(chosen)
    assert _objective(table, chosen) == _objective(table, _subset_dp(table, n, m))
