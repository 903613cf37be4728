"""Argument matchers: each one accepts what FORMAT.md says, and nothing else."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import ContractError
from clearance.flows import Mismatch, compile_matcher, load_flow, match_arguments
from clearance.flows.matchers import OptionalMatcher, compile_arguments, json_equal, line_for
from tests.flows.helpers import write


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


# --- json_equal: properties over any JSON value --------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


def transform(value: Any, leaf: Callable[[Any], Any], *, as_tuple: bool = False) -> Any:
    """``value`` rebuilt with ``leaf`` applied to every scalar (lists as tuples if asked)."""
    if isinstance(value, dict):
        # reversed: key order must not matter
        return {k: transform(value[k], leaf, as_tuple=as_tuple) for k in reversed(value)}
    if isinstance(value, list):
        items = [transform(item, leaf, as_tuple=as_tuple) for item in value]
        return tuple(items) if as_tuple else items
    return leaf(value)


def ints_as_floats(value: Any) -> Any:
    exact = isinstance(value, int) and not isinstance(value, bool) and float(value) == value
    return float(value) if exact else value


def bools_as_ints(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def has_bool(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_bool(v) for v in value.values())
    if isinstance(value, list):
        return any(has_bool(v) for v in value)
    return isinstance(value, bool)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_json_equal_is_reflexive(value: Any) -> None:
    assert json_equal(value, value)
    assert json_equal(value, copy.deepcopy(value))
    assert m({"$exact": value}).matches(copy.deepcopy(value))


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, JSON_VALUES)
def test_json_equal_is_symmetric(left: Any, right: Any) -> None:
    assert json_equal(left, right) == json_equal(right, left)
    twin = transform(left, ints_as_floats, as_tuple=True)
    assert json_equal(left, twin) == json_equal(twin, left)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_numbers_compare_by_value_wherever_they_are(value: Any) -> None:
    """FORMAT.md: "numbers compare by value: 30 matches 30.0" — in objects and lists too."""
    twin = transform(value, ints_as_floats)
    assert json_equal(value, twin)
    assert json_equal(twin, value)
    assert m({"$exact": value}).matches(twin)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_true_never_equals_1_wherever_it_is(value: Any) -> None:
    as_ints = transform(value, bools_as_ints)
    assert json_equal(value, as_ints) is not has_bool(value)
    assert json_equal(as_ints, value) is not has_bool(value)
    as_floats = transform(as_ints, ints_as_floats)
    assert json_equal(value, as_floats) is not has_bool(value)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_a_tuple_is_a_list_and_key_order_does_not_matter(value: Any) -> None:
    twin = transform(value, lambda leaf: leaf, as_tuple=True)
    assert json_equal(value, twin)
    assert json_equal(twin, value)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, JSON_VALUES, st.text(max_size=4))
def test_nesting_keeps_the_verdict(left: Any, right: Any, key: str) -> None:
    verdict = json_equal(left, right)
    assert json_equal({key: left}, {key: right}) is verdict
    assert json_equal([left], (right,)) is verdict
    assert json_equal({key: [left]}, {key: [right]}) is verdict
    assert json_equal({key: left}, MappingProxyType({key: right})) is verdict


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), JSON_VALUES, min_size=1, max_size=4), st.data())
def test_objects_need_exactly_the_same_keys(value: dict[str, Any], data: st.DataObject) -> None:
    dropped = data.draw(st.sampled_from(sorted(value)))
    fewer = {k: v for k, v in value.items() if k != dropped}
    assert not json_equal(value, fewer)
    assert not json_equal(fewer, value)
    assert not json_equal(value, [*value.values()])  # an object is not a list


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (1, True, False),
        (0, False, False),
        (1.0, True, False),
        ({"a": 1}, {"a": True}, False),
        ([1, 0], [True, False], False),
        ({"a": [1]}, {"a": [True]}, False),
        (30, 30.0, True),
        ({"n": [30]}, {"n": (30.0,)}, True),
        (2**53 + 1, float(2**53 + 1), False),  # by exact value: the float is 2**53
        (0.1 + 0.2, 0.3, False),
        ("1", 1, False),
        (None, 0, False),
        ([], {}, False),
        ([1, 2], [2, 1], False),
    ],
)
def test_json_equal_examples(left: Any, right: Any, equal: bool) -> None:
    assert json_equal(left, right) is equal
    assert json_equal(right, left) is equal


# --- expected values that no JSON value can equal are refused --------------------------

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("spec", "message", "pointer"),
    [
        (NAN, "nan is not a JSON number", "/args/x"),
        (INF, "inf is not a JSON number", "/args/x"),
        (-INF, "-inf is not a JSON number", "/args/x"),
        ({"a": [1, NAN]}, "nan is not a JSON number", "/args/x/a/1"),
        ({"$exact": NAN}, "nan is not a JSON number", "/args/x/$exact"),
        ({"$exact": {"$k": [INF]}}, "inf is not a JSON number", "/args/x/$exact/$k/0"),
        ({"$one_of": [1, INF]}, "inf is not a JSON number", "/args/x/$one_of/1"),
        ({"$subset": {"a/b": NAN}}, "nan is not a JSON number", "/args/x/$subset/a~1b"),
        ({"$optional": [INF]}, "inf is not a JSON number", "/args/x/$optional/0"),
        ({"$range": [0, INF]}, "$range bound inf is not a JSON number", "/args/x/$range/1"),
        ({"$range": [-INF, 0]}, "$range bound -inf is not a JSON number", "/args/x/$range/0"),
        ({1: "a"}, "object key 1 is not a string", "/args/x"),
        ({"a": {True: "b"}}, "object key true is not a string", "/args/x/a"),
        ({"$exact": {"a": {2: 1}}}, "object key 2 is not a string", "/args/x/$exact/a"),
        ({"$exact": [{None: 1}]}, "object key null is not a string", "/args/x/$exact/0"),
        ({"$subset": {3: 1}}, "object key 3 is not a string", "/args/x/$subset"),
    ],
)
def test_non_json_expected_values_are_refused(spec: Any, message: str, pointer: str) -> None:
    with pytest.raises(ContractError) as info:
        compile_matcher(spec, path="flows/f.yaml", pointer="/args/x", lines={"/args/x": 7})
    error = info.value
    assert message in error.message
    assert error.pointer == pointer
    assert error.line == 7
    assert error.fix


def test_non_string_argument_names_are_refused() -> None:
    with pytest.raises(ContractError, match="argument name 5 is not a string") as info:
        compile_arguments({5: "x"}, path="f.yaml", pointer="/args")
    assert info.value.pointer == "/args"
    assert info.value.fix is not None
    assert "quote" in info.value.fix


FLOW = """\
id: pick_search
kind: case
tools: [search_contacts@1.0.0]
user: Who is Ada?
steps:
  - expect:
      calls:
        - tool: search_contacts
          args:
            query: ada
            limit: {value}
"""


@pytest.mark.parametrize(
    ("value", "message", "pointer", "line"),
    [
        (".nan", "nan is not a JSON number", "/steps/0/expect/calls/0/args/limit", 11),
        ("-.inf", "-inf is not a JSON number", "/steps/0/expect/calls/0/args/limit", 11),
        (
            "{$exact: {n: [1, .inf]}}",
            "inf is not a JSON number",
            "/steps/0/expect/calls/0/args/limit/$exact/n/1",
            11,
        ),
        (
            "{$range: [1, .inf]}",
            "$range bound inf is not a JSON number",
            "/steps/0/expect/calls/0/args/limit/$range/1",
            11,
        ),
        ("{1: 5}", "object key 1 is not a string", "/steps/0/expect/calls/0/args/limit", 11),
        (
            "\n              {$exact: {true: 5}}",
            "object key true is not a string",
            "/steps/0/expect/calls/0/args/limit/$exact",
            12,
        ),
    ],
)
def test_a_flow_file_with_non_json_expectations_does_not_load(
    tmp_path: Path, value: str, message: str, pointer: str, line: int
) -> None:
    path = write(tmp_path, "pick_search.yaml", FLOW.replace("{value}", value))
    with pytest.raises(ContractError) as info:
        load_flow(path)
    error = info.value
    assert message in error.message
    assert error.path == str(path)
    assert error.pointer == pointer
    assert error.line == line
    assert str(error).startswith(f"{path}:{line} at {pointer}: ")


def test_a_json_flow_file_with_nan_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "pick_search.json"
    path.write_text(
        '{"id": "pick_search", "kind": "case", "tools": ["search_contacts@1.0.0"],\n'
        '  "user": "Who is Ada?",\n'
        '  "steps": [{"expect": {"calls": [{"tool": "search_contacts",\n'
        '    "args": {"query": "ada", "limit": NaN}}]}}]}\n'
    )
    with pytest.raises(ContractError, match="nan is not a JSON number") as info:
        load_flow(path)
    assert info.value.pointer == "/steps/0/expect/calls/0/args/limit"
    assert info.value.path == str(path)


# --- what the user reads: the whole error, fix included --------------------------------------

RANGE_FIX = "write {$range: [min, max]}, with null for an open end"


@pytest.mark.parametrize(
    ("spec", "where", "message", "fix"),
    [
        ({"$regx": "a"}, "/$regx", "unknown matcher '$regx'", "did you mean '$regex'?"),
        (
            {"$nope": 1},
            "/$nope",
            "unknown matcher '$nope'",
            "use one of $any, $regex, $range, $one_of, $subset, $text, $optional, $exact, "
            "or {$exact: ...} for a literal",
        ),
        (
            {"$regex": "(unclosed"},
            "/$regex",
            "invalid regular expression '(unclosed': missing ), unterminated subpattern "
            "at position 0",
            "write a Python `re` pattern; quote it in YAML",
        ),
        ({"$regex": 5}, "/$regex", "$regex takes a string, not 5", None),
        ({"$range": [1]}, "/$range", "$range takes [min, max], not [1]", RANGE_FIX),
        ({"$range": [float("nan"), 1]}, "/$range/0", "$range bound is NaN", RANGE_FIX),
        (
            {"$range": [0, float("inf")]},
            "/$range/1",
            "$range bound inf is not a JSON number",
            "write null for an open end",
        ),
        ({"$range": [1, "a"]}, "/$range/1", "$range bound 'a' is not a number or null", RANGE_FIX),
        (
            {"$range": [5, 1]},
            "/$range",
            "$range minimum 5 is above its maximum 1",
            "put the smaller bound first",
        ),
        ({"$any": False}, "/$any", "$any takes true, not false", "write {$any: true}"),
        ({"$one_of": []}, "/$one_of", "$one_of takes a non-empty list, not []", None),
        ({"$subset": [1]}, "/$subset", "$subset takes an object, not [1]", None),
        ({"$text": 1}, "/$text", "$text takes a string, not 1", None),
        (
            {"$one_of": [{"$optional": 1}]},
            "/$one_of/0/$optional",
            "$optional only makes sense for an argument or an object key",
            "move $optional up to the argument, or remove it",
        ),
        (
            {"$regex": "a", "b": 1},
            "/$regex",
            "an object with the key '$regex' mixed with other keys is neither a matcher nor "
            "a plain value",
            "a matcher is an object with a single $ key; write {$exact: {...}} for a literal "
            "object with $ keys",
        ),
        (
            float("nan"),
            "",
            "nan is not a JSON number",
            "a tool call's arguments are JSON, which has no NaN or infinity; "
            "use {$range: [min, null]} for an open bound",
        ),
        (
            {1: "a"},
            "",
            "object key 1 is not a string",
            "quote the key ('1'); JSON object keys are strings",
        ),
        # A value JSON cannot show (keys of mixed types) is shown as Python writes it.
        ({"$text": {1: "a", "b": 2}}, "/$text", "$text takes a string, not {1: 'a', 'b': 2}", None),
        # Long values are cut to 80 characters.
        (
            {"$regex": ["x" * 100]},
            "/$regex",
            f'$regex takes a string, not ["{"x" * 75}...',
            None,
        ),
    ],
)
def test_contract_error_reads_in_full(spec: Any, where: str, message: str, fix: str | None) -> None:
    with pytest.raises(ContractError) as info:
        compile_matcher(spec, path="flows/f.yaml", pointer="/args/x", lines={"/args": 7})
    error = info.value
    assert error.pointer == f"/args/x{where}"
    assert error.line == 7
    assert error.fix == fix
    expected = f"flows/f.yaml:7 at /args/x{where}: {message}"
    assert str(error) == (expected if fix is None else f"{expected}\n  fix: {fix}")


@pytest.mark.parametrize(
    ("spec", "text", "fix"),
    [
        ([1], "args must be an object, not [1]", None),
        (
            {5: "x"},
            "argument name 5 is not a string",
            "quote the name ('5'); argument names are strings",
        ),
    ],
)
def test_bad_args_read_in_full(spec: Any, text: str, fix: str | None) -> None:
    with pytest.raises(ContractError) as info:
        compile_arguments(spec, path="f.yaml", pointer="/steps/0/args")
    assert info.value.pointer == "/steps/0/args"
    assert info.value.fix == fix
    assert info.value.message == f"f.yaml at /steps/0/args: {text}"


# --- what the report shows: descriptions and mismatches ---------------------------------------


def test_composite_descriptions_spell_out_every_part() -> None:
    assert m({"a": 1, "b": [1, {"$text": "Ada"}]}).describe() == (
        "{a: 1, b: [1, text like 'Ada' (case and spacing ignored)]}"
    )
    assert m({"$subset": {"id": "c_42", "n": {"$optional": 1}}}).describe() == (
        "an object containing {id: 'c_42', n: optional: 1}"
    )
    assert m({"$range": [None, 2.5]}).describe() == "a number in [-inf, 2.5]"
    # Objects are shown with sorted keys, whatever the order in the file.
    assert m({"$exact": {"b": 1, "a": [True, None]}}).describe() == '{"a": [true, null], "b": 1}'


def test_long_expected_values_are_cut_in_descriptions() -> None:
    assert m("x" * 78).describe() == "'" + "x" * 78 + "'"  # 80 characters: kept
    assert m("x" * 79).describe() == "'" + "x" * 76 + "..."  # 81: cut to 80
    assert len(m("x" * 79).describe()) == 80


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"a": 1}, "x", "{a: 1}"),
        ({"$subset": {"a": 1}}, [1], "an object containing {a: 1}"),
        ([1, 2], [1], "[1, 2]"),
        ([1, 2], {"0": 1}, "[1, 2]"),
    ],
)
def test_a_value_of_the_wrong_shape_is_one_mismatch_at_its_pointer(
    spec: Any, value: Any, expected: str
) -> None:
    assert m(spec).mismatches(value, "/filter") == [
        Mismatch("/filter", expected, value, "mismatch")
    ]


def test_mismatches_inside_lists_and_optionals_point_at_the_item() -> None:
    assert m([1, {"a": 2}]).mismatches([1, {"a": 3}], "/xs") == [
        Mismatch("/xs/1/a", "2", 3, "mismatch")
    ]
    assert m({"$optional": {"a": 1}}).mismatches({"a": 2}, "/o") == [
        Mismatch("/o/a", "1", 2, "mismatch")
    ]


def test_a_nested_plain_object_needs_exactly_its_keys_even_when_extra_arguments_are_allowed() -> (
    None
):
    expected = compile_arguments({"filter": {"city": "London"}}, path="f.yaml", pointer="/args")
    found = match_arguments(
        expected, {"filter": {"city": "London", "x": 1}, "y": 2}, allow_extra=True
    )
    assert found == [Mismatch("/filter/x", "no such argument", 1, "unexpected")]


def test_range_bounds_may_be_fractions() -> None:
    matcher = m({"$range": [0.5, 2.5]})
    assert [matcher.matches(v) for v in (0.5, 1, 2.5, 0.4, 2.6)] == [True, True, True, False, False]


def test_optional_belongs_to_object_keys_not_to_list_items() -> None:
    page = m({"q": "ada", "page": {"$optional": 1}})
    assert page.matches({"q": "ada"})
    assert page.matches({"q": "ada", "page": 1})
    assert not page.matches({"q": "ada", "page": 2})
    with pytest.raises(ContractError) as info:
        m([{"$optional": 1}])
    assert info.value.pointer == "/args/x/0/$optional"
    assert info.value.fix == "move $optional up to the argument, or remove it"


def _returns_within(seconds: float, function: Callable[[], Any]) -> Any:
    """``function()``, failing (not hanging) the test if it does not end in time."""
    outcome: list[tuple[Any, BaseException | None]] = []

    def run() -> None:
        try:
            outcome.append((function(), None))
        except Exception as exc:  # re-raised in the test's thread below
            outcome.append((None, exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"did not end within {seconds} s"
    result, error = outcome[0]
    if error is not None:
        raise error
    return result


def test_a_pointer_without_a_leading_slash_ends_at_the_root() -> None:
    # It used to loop forever: "args".rsplit("/", 1)[0] is "args" again.
    assert _returns_within(5, lambda: line_for({"": 1}, "args/x")) == 1
    assert _returns_within(5, lambda: line_for({}, "args")) is None
    with pytest.raises(ContractError) as info:
        _returns_within(5, lambda: compile_matcher({"$bad": 1}, path="f.yaml", pointer="args"))
    assert (info.value.pointer, info.value.line) == ("args/$bad", None)
