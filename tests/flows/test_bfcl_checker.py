"""BFCL's AST checker rules as the ``bfcl`` profile applies them, one rule per test.

Each expectation below is what the official checker (bfcl-eval 2026.3.23's
``ast_checker``) answers for the same input; ``benchmarks/bench_bfcl_agreement.py``
compares the two on thousands of answers, and tests/flows/test_bfcl_judge.py on a
recorded sample of the official verdicts.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.flows.bfcl.checker import check_call, check_calls, standardize_string
from clearance.flows.bfcl.key import BfclFunction, BfclKey, BfclParameter


def function(required: tuple[str, ...] = (), **types: str | tuple[str, str]) -> BfclFunction:
    return BfclFunction(
        {
            name: BfclParameter(t) if isinstance(t, str) else BfclParameter(t[0], t[1])
            for name, t in types.items()
        },
        required,
    )


def check(
    declared: BfclFunction,
    arguments: dict[str, Any],
    answers: dict[str, list[Any]],
    language: Any = "python",
) -> str | None:
    error = check_call(
        "f", declared, "f", arguments, {k: tuple(v) for k, v in answers.items()}, language
    )
    return None if error is None else error.error_type


UNIT = function(("unit",), unit="string", count="integer", ratio="float")


def test_strings_compare_after_bfcls_normalization() -> None:
    # class A: case, spaces and ,./-_*^ do not count
    assert check(UNIT, {"unit": "UNITS"}, {"unit": ["units"]}) is None
    assert check(UNIT, {"unit": "New-York, N.Y."}, {"unit": ["new york ny"]}) is None
    assert check(UNIT, {"unit": "it's"}, {"unit": ['it"s']}) is None  # ' reads as "
    assert check(UNIT, {"unit": "meters"}, {"unit": ["units"]}) == "value_error:string"
    assert standardize_string(" A_b-C*d^e/f.g,h ") == "abcdefgh"


@given(st.text(alphabet=st.sampled_from("aB ,./-_*^x"), max_size=12))
def test_standardizing_twice_changes_nothing(text: str) -> None:
    once = standardize_string(text)
    assert standardize_string(once) == once
    assert not set(once) & set(" ,./-_*^")


def test_a_float_for_an_integer_fails_and_an_int_for_a_float_passes() -> None:
    # class B: 5.0 is not an integer for BFCL (JSON Schema says it is)
    answers = {"unit": ["u"], "count": [5, ""], "ratio": [2.0, ""]}
    assert check(UNIT, {"unit": "u", "count": 5.0}, answers) == "type_error:simple"
    assert check(UNIT, {"unit": "u", "count": 5}, answers) is None
    assert check(UNIT, {"unit": "u", "ratio": 2}, answers) is None  # int -> float, top level
    assert check(UNIT, {"unit": "u", "count": True}, answers) == "type_error:simple"


def test_ints_inside_a_float_array_fail() -> None:
    # class C: the int -> float conversion is for top-level parameters only
    declared = function(("xs",), xs=("array", "float"))
    assert check(declared, {"xs": [1.0, 2.5]}, {"xs": [[1.0, 2.5]]}) is None
    assert check(declared, {"xs": [1, 2.5]}, {"xs": [[1.0, 2.5]]}) == "type_error:nested"


def test_ground_truth_of_another_type_is_a_variable() -> None:
    # class E: a value of the possible answer's type passes, whatever the declaration says
    declared = function(("x",), x=("array", "float"), mod="float")
    assert check(declared, {"x": "data['sales']"}, {"x": ["data['sales']"]}) is None
    assert check(declared, {"x": "data['cost']"}, {"x": ["data['sales']"]}) is not None
    assert check(declared, {"x": "data['sales']", "mod": None}, {"x": ["data['sales']"],
                 "mod": [None]}) is None  # fmt: skip


def test_enum_and_format_are_not_read() -> None:
    # class F: alternatives outside the schema's enum or format still pass
    declared = function(("date",), date="string")
    assert (
        check(declared, {"date": "Jan 15, 2021"}, {"date": ["2021-01-15", "Jan 15, 2021"]}) is None
    )


def test_a_parameter_the_function_does_not_declare_fails() -> None:
    # class G: even when the ground truth names it
    declared = function(("a",), a="integer")
    error = check(declared, {"a": 1, "permeability": 0.1}, {"a": [1], "permeability": ["", 0.1]})
    assert error == "simple_function_checker:unexpected_param"
    assert check(declared, {"a": 1}, {"a": [1], "permeability": ["", 0.1]}) is None


def test_required_optional_and_unexpected() -> None:
    declared = function(("a",), a="integer", b="string", c="string")
    answers = {"a": [1], "b": ["x", ""], "c": ["y"]}
    assert (
        check(declared, {"b": "x", "c": "y"}, answers) == "simple_function_checker:missing_required"
    )
    assert check(declared, {"a": 1, "c": "y"}, answers) is None
    assert check(declared, {"a": 1}, answers) == "simple_function_checker:missing_optional"
    assert check(declared, {"a": 1, "c": "y", "d": 1}, answers) == (
        "simple_function_checker:unexpected_param"
    )
    error = check_call("f", declared, "g", {"a": 1}, {"a": (1,)}, "python")
    assert error is not None
    assert error.error_type == "simple_function_checker:wrong_func_name"


def test_dicts_and_lists_of_dicts() -> None:
    declared = function(("d",), d="dict", rows=("array", "dict"))
    answers = {"d": [{"city": ["New York", "NYC"], "zip": ["", "10001"]}]}
    assert check(declared, {"d": {"city": "new york"}}, answers) is None
    assert check(declared, {"d": {"city": "NYC", "zip": "10001"}}, answers) is None
    assert check(declared, {"d": {"city": "NYC", "state": "NY"}}, answers) == "value_error:dict_key"
    assert check(declared, {"d": {"zip": "10001"}}, answers) == "value_error:dict_key"
    assert check(declared, {"d": {"city": "Boston"}}, answers) == "value_error:dict_value"
    rows = {"d": [{"city": ["a"]}], "rows": [[{"k": ["v"]}, {"k": ["w", "W2"]}]]}
    base = {"d": {"city": "a"}}
    assert check(declared, {**base, "rows": [{"k": "V"}, {"k": "w2"}]}, rows) is None
    assert check(declared, {**base, "rows": [{"k": "v"}]}, rows) == "value_error:list_dict_count"


def test_lists_compare_in_order_with_strings_normalized() -> None:
    declared = function(("xs",), xs=("array", "string"))
    answers = {"xs": [["Paris", "Rome"]]}
    assert check(declared, {"xs": ["PARIS", "rome"]}, answers) is None
    assert check(declared, {"xs": ["Rome", "Paris"]}, answers) == "value_error:list/tuple"


def test_an_undeclared_type_fails_where_bfcl_would_raise() -> None:
    declared = function(("x",), x="number", xs="array")
    assert check(declared, {"x": 1}, {"x": [1]}) == "checker_error"
    assert check(declared, {"x": 1, "xs": [1]}, {"x": [1], "xs": [[1]]}) == "checker_error"


def test_java_and_javascript_values_are_read_from_their_source_text() -> None:
    java = function(("n", "flag"), n="long", flag="boolean", names=("ArrayList", "String"))
    answers = {"n": [5], "flag": [True], "names": ["", ["a", "b"]]}
    assert check(java, {"n": "5L", "flag": "true"}, answers, "java") is None
    assert check(java, {"n": "5", "flag": "true"}, answers, "java") == "type_error:simple"
    assert check(java, {"n": 5, "flag": "true"}, answers, "java") == "type_error:java"
    names = {"n": "5L", "flag": "true", "names": 'new ArrayList<>(Arrays.asList("a", "b"))'}
    assert check(java, names, answers, "java") is None
    js = function(("s",), s="String", xs=("array", "integer"))
    assert check(js, {"s": "'Hello'"}, {"s": ["hello"]}, "javascript") is None
    assert check(js, {"s": "x", "xs": "[1, 2]"}, {"s": ["x"], "xs": [[1, 2]]}, "javascript") is None


def key(category: str, truth: list[tuple[str, dict[str, list[Any]]]], **functions: BfclFunction):
    return BfclKey(
        category,
        functions,
        tuple((tool, {p: tuple(v) for p, v in args.items()}) for tool, args in truth),
    )


PRICE = function(("company", "date"), company="string", date="string", exchange="string")


def test_parallel_finds_a_complete_pairing_where_bfcls_greedy_order_does_not() -> None:
    # class H (parallel_178): the first expectation accepts either company; BFCL pairs it
    # with the first call that fits, leaving the third expectation without a partner
    truth = [
        ("price", {"company": ["Microsoft", "Apple"], "date": ["2022-01-01"]}),
        ("price", {"company": ["Microsoft"], "date": ["2022-02-01"]}),
        ("price", {"company": ["Apple"], "date": ["2022-01-01"]}),
    ]
    parallel = key("parallel", truth, price=PRICE)
    calls = [
        ("price", {"company": "Apple", "date": "2022-01-01"}),
        ("price", {"company": "Microsoft", "date": "2022-02-01"}),
        ("price", {"company": "Microsoft", "date": "2022-01-01"}),
    ]
    outcome = check_calls(parallel, calls)
    assert outcome.valid
    assert sorted(outcome.pairs) == [(0, 2), (1, 1), (2, 0)]
    wrong = check_calls(parallel, [*calls[:2], ("price", {"company": "IBM", "date": "2022-01-01"})])
    assert not wrong.valid
    assert wrong.errors is not None
    assert wrong.error is not None
    assert wrong.error.error_type.endswith(":cannot_find_match")


@pytest.mark.parametrize(
    ("category", "calls", "valid"),
    [
        ("simple_python", 1, True),
        ("simple_python", 2, False),
        ("multiple", 0, False),
        ("parallel", 1, False),
    ],
)
def test_calls_are_counted_by_category(category: str, calls: int, valid: bool) -> None:
    truth = [("price", {"company": ["IBM"], "date": ["d"]})]
    if category == "parallel":
        truth = truth * 2
    sent = [("price", {"company": "IBM", "date": "d"})] * calls
    outcome = check_calls(key(category, truth, price=PRICE), sent)
    assert outcome.valid is valid
    if not valid:
        assert outcome.error is not None
        assert outcome.error.error_type.endswith(":wrong_count")


def test_simple_checks_the_first_offered_function() -> None:
    truth = [("price", {"company": ["IBM"], "date": ["d"]})]
    simple = key("simple_python", truth, price=PRICE, other=function())
    assert check_calls(simple, [("price", {"company": "IBM", "date": "d"})]).valid
    multiple = key("multiple", truth, other=function(), price=PRICE)
    assert check_calls(multiple, [("price", {"company": "IBM", "date": "d"})]).valid
