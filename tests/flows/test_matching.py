"""Optimal pairing of calls with expectations: beats greedy, keeps order when asked, and
breaks ties in order (the repeat of a call is the extra one)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from clearance.flows import ExpectedCall, Step, assign, score_turn
from clearance.flows.matchers import compile_arguments
from clearance.flows.matching import Assignment
from clearance.providers.types import ToolCall
from tests.flows.helpers import SCHEMAS, call, response


def expect(tool: str, args: dict[str, Any], *, extra: bool = False) -> ExpectedCall:
    return ExpectedCall(tool, compile_arguments(args, path="f.yaml", pointer="/args"), extra)


def greedy(expected: list[ExpectedCall], actual: list[ToolCall]) -> int:
    """What a naive matcher does: each expectation takes the first call of its tool."""
    used: set[int] = set()
    full = 0
    for exp in expected:
        for j, candidate in enumerate(actual):
            found = exp.compare(candidate)
            if j not in used and found is not None:
                used.add(j)
                full += not found
                break
    return full


def test_optimal_beats_greedy_on_a_crafted_case() -> None:
    # The $any expectation comes first and would grab the call the strict one needs.
    expected = [expect("t", {"x": {"$any": True}}), expect("t", {"x": 1})]
    actual = [call("t", {"x": 1}, index=0), call("t", {"x": 2}, index=1)]
    assert greedy(expected, actual) == 1
    result = assign(expected, actual, any_order=True)
    assert result.fully_matched == 2
    assert result.actual_for(0) == 1
    assert result.actual_for(1) == 0
    assert result.expected_for(0) == 1
    assert result.total_mismatches == 0
    assert result.unmatched_expected == ()
    assert result.unmatched_actual == ()


def test_unpaired_calls_and_expectations_have_no_partner() -> None:
    expected = [expect("search", {}), expect("create", {})]
    result = assign(expected, [call("create", index=0), call("noise", index=1)], any_order=True)
    assert result.actual_for(1) == 0
    assert result.expected_for(0) == 1
    assert result.actual_for(0) is None
    assert result.expected_for(1) is None


def test_fewest_mismatches_when_nothing_matches_fully() -> None:
    expected = [expect("t", {"a": 1, "b": 2}), expect("t", {"a": 3, "b": 4})]
    actual = [call("t", {"a": 3, "b": 0}, index=0), call("t", {"a": 1, "b": 0}, index=1)]
    result = assign(expected, actual, any_order=True)
    assert result.fully_matched == 0
    assert result.total_mismatches == 2
    assert [(p.expected, p.actual) for p in result.pairs] == [(0, 1), (1, 0)]


def test_near_misses_are_paired_not_dropped() -> None:
    expected = [expect("search", {"q": "ada"}), expect("create", {"name": "ada"})]
    actual = [call("create", {"name": "bob"}), call("search", {"q": "ada"}, index=1)]
    result = assign(expected, actual, any_order=True)
    assert result.fully_matched == 1
    assert [(p.expected, p.actual, p.full) for p in result.pairs] == [(0, 1, True), (1, 0, False)]


def test_other_tools_never_pair() -> None:
    result = assign([expect("a", {})], [call("b")], any_order=True)
    assert result.pairs == ()
    assert result.unmatched_expected == (0,)
    assert result.unmatched_actual == (0,)


def test_in_order_matching_keeps_the_order() -> None:
    expected = [expect("search", {}), expect("create", {})]
    swapped = [call("create", index=0), call("search", index=1)]
    in_order = assign(expected, swapped, any_order=False)
    assert in_order.fully_matched == 1
    assert len(in_order.unmatched_expected) == 1
    assert assign(expected, swapped, any_order=True).fully_matched == 2
    straight = [call("search", index=0), call("noise", index=1), call("create", index=2)]
    result = assign(expected, straight, any_order=False)
    assert result.fully_matched == 2
    assert result.unmatched_actual == (1,)


def test_in_order_picks_the_best_alignment() -> None:
    # Greedy in-order would pair expectation 0 with call 0 and lose the second match.
    expected = [expect("t", {"x": 2}), expect("t", {"x": 3})]
    actual = [
        call("t", {"x": 1}, index=0),
        call("t", {"x": 2}, index=1),
        call("t", {"x": 3}, index=2),
    ]
    result = assign(expected, actual, any_order=False)
    assert result.fully_matched == 2
    assert [(p.expected, p.actual) for p in result.pairs] == [(0, 1), (1, 2)]


@pytest.mark.parametrize("any_order", [True, False])
def test_the_repeat_of_a_call_is_the_extra_one(any_order: bool) -> None:
    expected = [expect("search", {"q": "ada"}), expect("create", {"name": "ada"})]
    actual = [
        call("search", {"q": "ada"}, index=0),
        call("search", {"q": "ada"}, index=1),
        call("create", {"name": "ada"}, index=2),
    ]
    result = assign(expected, actual, any_order=any_order)
    assert [(p.expected, p.actual, p.full) for p in result.pairs] == [(0, 0, True), (1, 2, True)]
    assert result.unmatched_actual == (1,)
    # One expectation, the same call twice: the first call is the match.
    twice = assign(expected[:1], actual[:2], any_order=any_order)
    assert [(p.expected, p.actual) for p in twice.pairs] == [(0, 0)]
    assert twice.unmatched_actual == (1,)


@pytest.mark.parametrize("any_order", [True, False])
def test_the_second_of_identical_expectations_is_the_one_left_unpaired(any_order: bool) -> None:
    expected = [expect("search", {"q": "ada"}), expect("search", {"q": "ada"}), expect("x", {})]
    result = assign(
        expected, [call("search", {"q": "ada"}), call("x", index=1)], any_order=any_order
    )
    assert [(p.expected, p.actual) for p in result.pairs] == [(0, 0), (2, 1)]
    assert result.unmatched_expected == (1,)


def test_a_repeated_call_is_reported_as_the_extra_call() -> None:
    # What the user reads: the evidence names the repeat, not the call that was right.
    step = Step(calls=(expect("search_contacts", {"query": "ada"}),), any_order=True)
    first = call("search_contacts", {"query": "ada"}, id="call_a", index=0)
    repeat = call("search_contacts", {"query": "ada"}, id="call_b", index=1)
    verdict = score_turn(
        step,
        response(None, first, repeat),
        tool_schemas=SCHEMAS,
        offered={"search_contacts"},
        forbidden=frozenset(),
    )
    assert [(f.code, f.evidence["call_id"], f.evidence["index"]) for f in verdict.failures] == [
        ("extra_call", "call_b", 1)
    ]
    assert verdict.assignment.expected_for(0) == 0  # the first call gets the scripted result


def test_invalid_json_pairs_but_never_matches_fully() -> None:
    result = assign([expect("t", {"x": 1})], [call("t", None, raw="{x:")], any_order=True)
    assert result.fully_matched == 0
    assert len(result.pairs) == 1
    assert result.pairs[0].mismatches[0].expected == "arguments as a JSON object"


def _score(result: Assignment) -> tuple[int, int, int]:
    return (result.fully_matched, len(result.pairs), -result.total_mismatches)


def test_hungarian_fallback_agrees_with_exact_search() -> None:
    rng = random.Random(7)
    tools = ["a", "b"]
    for _ in range(150):
        n, m = rng.randint(0, 6), rng.randint(0, 6)
        expected = [
            expect(
                rng.choice(tools), {"x": rng.randint(0, 2), "y": {"$range": [0, rng.randint(0, 2)]}}
            )
            for _ in range(n)
        ]
        actual = [
            call(rng.choice(tools), {"x": rng.randint(0, 2), "y": rng.randint(0, 3)}, index=j)
            for j in range(m)
        ]
        exact = assign(expected, actual, any_order=True)
        fallback = assign(expected, actual, any_order=True, exact_limit=0)
        assert _score(fallback) == _score(exact)
        actuals = [p.actual for p in fallback.pairs]
        assert len(actuals) == len(set(actuals))
        assert greedy(expected, actual) <= exact.fully_matched


def test_the_exact_limit_is_inclusive() -> None:
    # Two equally good assignments: the exact search gives the first expectation its
    # earliest partner; the Hungarian fallback happens to choose the other one.
    expected = [expect("t", {"x": 2}), expect("t", {"x": 2})]
    actual = [call("t", {"x": 3}, index=0), call("t", {"x": 2}, index=1)]
    at_limit = assign(expected, actual, any_order=True, exact_limit=2)
    assert at_limit == assign(expected, actual, any_order=True)
    assert [(p.expected, p.actual, p.full) for p in at_limit.pairs] == [(0, 0, False), (1, 1, True)]


def test_large_turns_use_the_fallback() -> None:
    expected = [expect("t", {"x": i}) for i in range(12)]
    actual = [call("t", {"x": 11 - i}, index=i) for i in range(12)]
    result = assign(expected, actual, any_order=True)
    assert result.fully_matched == 12
    assert all(p.actual == 11 - p.expected for p in result.pairs)
