"""Pair the model's tool calls with a step's expected calls, optimally.

The best assignment is the one that, in this order: fully matches the most
expectations; pairs the most expectations with a call of their tool (so a near miss
reads as an argument mismatch, not as a missing call plus an extra one); has the
fewest argument mismatches in all. Greedy pairing in arrival order gets this wrong
(an ``$any`` expectation can take the call a stricter one needed), so the search is
exact: dynamic programming over subsets when one side has at most
:data:`EXACT_LIMIT` calls, the Hungarian algorithm beyond. With ``any_order=False``
the pairs must keep the order on both sides (a sequence alignment).

Between equally good assignments the exact searches take the first option in order
(pair now rather than leave over, the earliest partner first): when one of two
identical calls is left over it is the repeat (the first gets the scripted result), and
when one of two identical expectations is left unpaired it is the second. (The
Hungarian fallback keeps the objective, not necessarily this tie-break.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from clearance.flows.matchers import Mismatch
from clearance.flows.model import ExpectedCall
from clearance.providers.types import ToolCall

__all__ = ["EXACT_LIMIT", "Assignment", "Pair", "assign"]

EXACT_LIMIT = 8
"""Largest side (the smaller of expected and actual) searched by exact subset DP."""

_Table = Sequence[Sequence[tuple[Mismatch, ...] | None]]
_Score = tuple[int, int, int]  # (full matches, pairs, -mismatches): larger is better


@dataclass(frozen=True, slots=True)
class Pair:
    """An expected call paired with one of the model's calls (always the same tool)."""

    expected: int
    """Index among the step's expected calls."""
    actual: int
    """Index in the ``actual`` sequence given to :func:`assign`."""
    mismatches: tuple[Mismatch, ...]

    @property
    def full(self) -> bool:
        """Whether the call satisfies the expectation entirely."""
        return not self.mismatches


@dataclass(frozen=True, slots=True)
class Assignment:
    """The best pairing of a turn's calls with its expectations."""

    pairs: tuple[Pair, ...]
    """Sorted by expected index."""
    unmatched_expected: tuple[int, ...]
    unmatched_actual: tuple[int, ...]

    @property
    def fully_matched(self) -> int:
        """How many expectations a call satisfies entirely."""
        return sum(pair.full for pair in self.pairs)

    @property
    def total_mismatches(self) -> int:
        """Argument mismatches summed over the pairs."""
        return sum(len(pair.mismatches) for pair in self.pairs)

    def actual_for(self, expected: int) -> int | None:
        """The call paired with expectation ``expected``, if any."""
        return next((p.actual for p in self.pairs if p.expected == expected), None)

    def expected_for(self, actual: int) -> int | None:
        """The expectation call ``actual`` is paired with, if any."""
        return next((p.expected for p in self.pairs if p.actual == actual), None)


def assign(
    expected: Sequence[ExpectedCall],
    actual: Sequence[ToolCall],
    *,
    any_order: bool,
    exact_limit: int = EXACT_LIMIT,
) -> Assignment:
    """The best assignment of ``actual`` calls to ``expected`` ones (see the module doc).

    Args:
        expected: the step's expected calls.
        actual: the model's calls to consider.
        any_order: whether calls may come in any order; if false, pairs keep the order.
        exact_limit: above this size on both sides, use the Hungarian algorithm.
    """
    table = [[exp.compare(call) for call in actual] for exp in expected]
    if not any_order:
        chosen = _in_order(table, len(expected), len(actual))
    elif min(len(expected), len(actual)) <= exact_limit:
        chosen = _subset_dp(table, len(expected), len(actual))
    else:
        chosen = _hungarian_assign(table, len(expected), len(actual))
    return _assignment(table, chosen, len(expected), len(actual))


def _assignment(table: _Table, chosen: Sequence[tuple[int, int]], n: int, m: int) -> Assignment:
    pairs = []
    for i, j in sorted(chosen):
        found = table[i][j]
        assert found is not None
        pairs.append(Pair(i, j, found))
    used_e = {i for i, _ in chosen}
    used_a = {j for _, j in chosen}
    return Assignment(
        tuple(pairs),
        tuple(i for i in range(n) if i not in used_e),
        tuple(j for j in range(m) if j not in used_a),
    )


def _gain(found: tuple[Mismatch, ...]) -> _Score:
    return (int(not found), 1, -len(found))


def _add(a: _Score, b: _Score) -> _Score:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _in_order(table: _Table, n: int, m: int) -> list[tuple[int, int]]:
    """Order-preserving alignment maximizing the score (an LCS-style DP)."""

    @cache
    def best(i: int, j: int) -> tuple[_Score, tuple[tuple[int, int], ...]]:
        if i == n or j == m:
            return (0, 0, 0), ()
        options = []
        found = table[i][j]
        if found is not None:
            score, rest = best(i + 1, j + 1)
            options.append((_add(score, _gain(found)), ((i, j), *rest)))
        # On a tie the first option wins: pair now, else keep call j for a later expectation.
        options += [best(i + 1, j), best(i, j + 1)]
        return max(options, key=lambda option: option[0])

    result = list(best(0, 0)[1])
    best.cache_clear()
    return result


def _subset_dp(table: _Table, n: int, m: int) -> list[tuple[int, int]]:
    """Exact search: walk the larger side, remember the used subset of the smaller one."""
    transpose = m > n
    rows, cols = (m, n) if transpose else (n, m)

    def cell(r: int, c: int) -> tuple[Mismatch, ...] | None:
        return table[c][r] if transpose else table[r][c]

    @cache
    def best(r: int, used: int) -> tuple[_Score, tuple[tuple[int, int], ...]]:
        if r == rows:
            return (0, 0, 0), ()
        options = []
        for c in range(cols):
            found = cell(r, c)
            if found is None or used & (1 << c):
                continue
            score, rest = best(r + 1, used | (1 << c))
            options.append((_add(score, _gain(found)), ((r, c), *rest)))
        options.append(best(r + 1, used))  # row r stays unpaired: only if strictly better
        return max(options, key=lambda option: option[0])

    pairs = best(0, 0)[1]
    best.cache_clear()
    return [(c, r) if transpose else (r, c) for r, c in pairs]


def _hungarian_assign(table: _Table, n: int, m: int) -> list[tuple[int, int]]:
    """The same objective folded into one integer cost, solved by the Hungarian method.

    Each side gets dummy partners at cost 0 (unpaired); a pair costs
    ``-(full·W2 + W1) + mismatches`` with weights large enough that the lexicographic
    order (full matches, pairs, fewer mismatches) is kept.
    """
    most = sum(len(f) for row in table for f in row if f is not None)
    w1 = most + 1
    w2 = w1 * (min(n, m) + 1)
    forbidden = w2 * (n + m + 1)  # worse than leaving both unpaired
    size = n + m
    cost = [[0] * size for _ in range(size)]
    for i in range(n):
        for j in range(m):
            found = table[i][j]
            if found is None:
                cost[i][j] = forbidden
            else:
                cost[i][j] = -((not found) * w2 + w1) + len(found)
    match = hungarian(cost)
    return [(i, j) for i, j in enumerate(match) if i < n and j < m and table[i][j] is not None]


def hungarian(cost: Sequence[Sequence[int]]) -> list[int]:
    """Minimum-cost perfect matching of a square matrix: row → column (O(n³))."""
    size = len(cost)
    inf = float("inf")  # pragma: no mutate
    # The tables below are 1-based with a sentinel slot 0; their sizes and starting values
    # are exempt from mutation testing ("pragma: no mutate"): every slot a mutant could add
    # or start differently is written before it is read, or never read (RESULTS.md, Testing).
    u = [0.0] * (size + 1)  # pragma: no mutate
    v = [0.0] * (size + 1)  # pragma: no mutate
    way = [0] * (size + 1)  # pragma: no mutate
    owner = [0] * (size + 1)  # pragma: no mutate  (owner[column] = row, 1-based; 0 = none)
    for row in range(1, size + 1):
        owner[0] = row
        column = 0
        slack = [inf] * (size + 1)  # pragma: no mutate
        visited = [False] * (size + 1)  # pragma: no mutate
        while True:
            visited[column] = True
            current = owner[column]
            delta = inf
            nxt = 0  # pragma: no mutate  (always set below: a finite slack exists)
            for j in range(1, size + 1):
                if visited[j]:
                    continue
                reduced = cost[current - 1][j - 1] - u[current] - v[j]
                if reduced < slack[j]:
                    slack[j] = reduced
                    way[j] = column
                if slack[j] < delta:
                    delta = slack[j]
                    nxt = j
            for j in range(size + 1):
                if visited[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    slack[j] -= delta
            column = nxt
            if owner[column] == 0:
                break
        while column:
            previous = way[column]
            owner[column] = owner[previous]
            column = previous
    result = [0] * size  # pragma: no mutate  (every entry is written below)
    for j in range(1, size + 1):
        result[owner[j] - 1] = j - 1
    return result
