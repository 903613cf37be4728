"""Argument matchers: each one accepts what FORMAT.md says, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from clearance.errors import ContractError
from clearance.flows import Mismatch, compile_matcher, match_arguments
from clearance.flows.matchers import OptionalMatcher, compile_arguments


def m(spec: Any) -> Any:
    return compile_matcher(spec, path="f.yaml", pointer="/args/x")


@pytest.mark.parametrize(
    ("spec", "good", "bad"),
    [
        ("c_42", ["c_42"], ["C_42", "c_42 ", None, 42]),
        (30, [30, 30.0], [31, "30", True]),
        (1, [1, 1.0], [True]),
        (True, [True], [1, 1.0, "true"]),
        (None, [None], [0, "", False]),
        ({"a": 1, "b": [1, 2]}, [{"a": 1.0, "b": [1, 2]}], [{"a": 1}, {"a": 1, "b": [2, 1]}]),
        ([1, {"$text": "Ada"}], [[1, " ada "]], [[1, "bob"], [1], [1, "ada", 2]]),
        ({"$any": True}, ["x", 0, None, [], {}], []),
        ({"$regex": "^2026-12-01T10:00"}, ["2026-12-01T10:00:00Z"], ["x2026-12-01T10:00", 5]),
        ({"$regex": "lace"}, ["Ada Lovelace"], ["LACE"]),
        ({"$range": [30, 30]}, [30, 30.0], [29.9, 31, "30", True, float("nan")]),
        ({"$range": [None, 10]}, [-1e9, 10], [10.5]),
        ({"$range": [0, None]}, [0, 1e12], [-0.1]),
        ({"$one_of": ["a", {"$regex": "^b"}, 3]}, ["a", "bee", 3.0], ["c", "A", 4]),
        (
            {"$subset": {"id": "c_42", "tags": {"$any": True}, "n": {"$optional": 1}}},
            [{"id": "c_42", "tags": [], "extra": 1}, {"id": "c_42", "tags": 0, "n": 1}],
            [{"id": "c_42"}, {"id": "c_42", "tags": [], "n": 2}, "c_42", None],
        ),
        ({"$text": "ada  Lovelace"}, ["Ada Lovelace", " ADA\n lovelace\t"], ["AdaLovelace", 1]),
        ({"$optional": {"$range": [1, 2]}}, [1, 2], [3]),
        ({"$exact": {"$any": True}}, [{"$any": True}], ["x", {"$any": False}]),
        ({"$exact": 30}, [30.0], [True]),
        ({"filter": {"name": {"$text": "ada"}}}, [{"filter": {"name": "ADA"}}], [{"filter": {}}]),
    ],
)
def test_matcher_accepts_and_rejects(spec: Any, good: list[Any], bad: list[Any]) -> None:
    matcher = m(spec)
    for value in good:
        assert matcher.matches(value), (spec, value)
    for value in bad:
        assert not matcher.matches(value), (spec, value)
    assert isinstance(matcher.describe(), str)
    assert matcher.describe()


def test_only_optional_is_optional() -> None:
    assert m({"$optional": 1}).optional
    assert isinstance(m({"$optional": 1}), OptionalMatcher)
    for spec in (1, {"$any": True}, {"$regex": "x"}, {"$one_of": [1]}, {"$text": "a"}):
        assert not m(spec).optional


def test_descriptions_name_the_expectation() -> None:
    assert m({"$regex": "^a"}).describe() == "a string matching /^a/"
    assert m({"$range": [30, None]}).describe() == "a number in [30, inf]"
    assert m({"$any": True}).describe() == "any value"
    assert m("c_42").describe() == "'c_42'"
    assert m({"$one_of": [1, 2]}).describe() == "one of: 1 | 2"


def test_match_arguments_reports_missing_unexpected_and_mismatch() -> None:
    expected = compile_arguments(
        {
            "query": {"$text": "ada"},
            "limit": {"$range": [1, 10]},
            "page": {"$optional": 1},
            "filter": {"$subset": {"city": "London"}},
        },
        path="f.yaml",
        pointer="/args",
    )
    actual = {"limit": 50, "sort": "name", "filter": {"city": "Paris", "x": 1}}
    found = match_arguments(expected, actual, allow_extra=False)
    assert found == [
        Mismatch("/query", "text like 'ada' (case and spacing ignored)", None, "missing"),
        Mismatch("/limit", "a number in [1, 10]", 50, "mismatch"),
        Mismatch("/filter/city", "'London'", "Paris", "mismatch"),
        Mismatch("/sort", "no such argument", "name", "unexpected"),
    ]
    with_extra = match_arguments(expected, actual, allow_extra=True)
    assert [x.reason for x in with_extra] == ["missing", "mismatch", "mismatch"]
    assert (
        match_arguments(
            expected, {"query": "ADA", "limit": 3, "filter": {"city": "London"}}, allow_extra=False
        )
        == []
    )


def test_pointer_escapes_keys() -> None:
    expected = compile_arguments({"a/b": 1}, path="f.yaml", pointer="/args")
    assert match_arguments(expected, {"a/b": 2, "c~d": 0}, allow_extra=False) == [
        Mismatch("/a~1b", "1", 2, "mismatch"),
        Mismatch("/c~0d", "no such argument", 0, "unexpected"),
    ]


@pytest.mark.parametrize(
    ("spec", "message", "pointer", "fix"),
    [
        ({"$regx": "a"}, "unknown matcher '$regx'", "/args/x/$regx", "did you mean '$regex'?"),
        ({"$nope": 1}, "unknown matcher '$nope'", "/args/x/$nope", "$exact"),
        ({"$regex": "(unclosed"}, "invalid regular expression '(unclosed'", "/args/x/$regex", "re"),
        ({"$regex": 5}, "$regex takes a string, not 5", "/args/x/$regex", None),
        ({"$range": [1]}, "$range takes [min, max], not [1]", "/args/x/$range", "[min, max]"),
        ({"$range": 5}, "$range takes [min, max]", "/args/x/$range", None),
        ({"$range": [1, "a"]}, "$range bound 'a' is not a number", "/args/x/$range/1", None),
        ({"$range": [True, 2]}, "$range bound true is not a number", "/args/x/$range/0", None),
        (
            {"$range": [5, 1]},
            "$range minimum 5 is above its maximum 1",
            "/args/x/$range",
            "smaller bound first",
        ),
        ({"$any": False}, "$any takes true, not false", "/args/x/$any", "{$any: true}"),
        ({"$one_of": []}, "$one_of takes a non-empty list", "/args/x/$one_of", None),
        (
            {"$one_of": [{"$optional": 1}]},
            "$optional only makes sense",
            "/args/x/$one_of/0/$optional",
            None,
        ),
        ({"$one_of": [{"$bad": 1}]}, "unknown matcher '$bad'", "/args/x/$one_of/0/$bad", None),
        ({"$subset": [1]}, "$subset takes an object", "/args/x/$subset", None),
        (
            {"$subset": {"k": {"$regex": "["}}},
            "invalid regular expression",
            "/args/x/$subset/k/$regex",
            None,
        ),
        ({"$text": 1}, "$text takes a string", "/args/x/$text", None),
        ({"$regex": "a", "b": 1}, "mixed with other keys", "/args/x/$regex", "$exact"),
        (
            {"$optional": {"$optional": 1}},
            "$optional only makes sense",
            "/args/x/$optional/$optional",
            None,
        ),
    ],
)
def test_malformed_matcher_is_a_contract_error(
    spec: Any, message: str, pointer: str, fix: str | None
) -> None:
    with pytest.raises(ContractError) as info:
        compile_matcher(spec, path="flows/f.yaml", pointer="/args/x", lines={"/args/x": 7})
    error = info.value
    assert message in error.message
    assert error.pointer == pointer
    assert error.path == "flows/f.yaml"
    assert error.line == 7  # nearest known ancestor
    assert str(error).startswith(f"flows/f.yaml:7 at {pointer}: ")
    if fix is not None:
        assert error.fix is not None
        assert fix in error.fix
