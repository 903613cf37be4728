"""Java and JavaScript argument text read as BFCL reads it, and written so it reads back.

The tables are bfcl-eval 2026.3.23's own converter tests (``test_java_type_converter``,
``test_js_type_converter`` and friends, Apache-2.0), so a port that drifts from BFCL fails
here; the properties check that what the importer writes reads back as the ground truth.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.flows.bfcl.values import (
    UnsupportedType,
    java_source,
    java_value,
    js_source,
    js_value,
)

JAVA = [
    ("true", "boolean", None, True),
    ("false", "boolean", None, False),
    ("123", "integer", None, 123),
    ("-123", "integer", None, -123),
    ("3.14f", "float", None, 3.14),
    ("-3.14f", "float", None, -3.14),
    ("3.14", "double", None, 3.14),
    ("123L", "long", None, 123),
    ("-123L", "long", None, -123),
    ("abc", "String", None, "abc"),
    ("new int[]{1, 2, 3}", "Array", None, [1, 2, 3]),
    ('new ArrayList<>(Arrays.asList("a", "b"))', "ArrayList", None, ["a", "b"]),
    ('new HashMap<String, String>() {{ put("key", "value"); }}', "HashMap", None, {"key": "value"}),
    ("3f", "float", None, 3.0),
    ("3e3F", "float", None, 3e3),
    ("3e-3F", "float", None, 3e-3),
    ("3.14e-2", "double", None, 3.14e-2),
    ("-128", "byte", None, -128),
    ("9223372036854775807L", "long", None, 9223372036854775807),
    ("123", "any", None, "123"),
    ("new int[]{}", "Array", None, []),
    ("new ArrayList<>()", "ArrayList", None, []),
    ("new HashMap<>()", "HashMap", None, {}),
    ('new Object[]{1, "abc", true}', "Array", None, [1, "abc", True]),
    ('new ArrayList<>(Arrays.asList(1, "abc", true))', "ArrayList", None, [1, "abc", True]),
    ("new int[] { 1, 2, 3 }", "Array", None, [1, 2, 3]),
    ("new HashMap<>() {{ }}", "HashMap", None, {}),
    ('new HashMap<String, String>() {{put("key", "value");}}', "HashMap", None, {"key": "value"}),
    ("new long[]{1L, 2L, 3L}", "Array", "long", [1, 2, 3]),
    ("new long[]{1L, 2, 3L}", "Array", "long", [1, "2", 3]),
    ("new ArrayList<Float>() {{ add(1.0f); add(2.0f); }}", "ArrayList", "float", [1.0, 2.0]),
    ("new ArrayList<Character>() {{ add('a'); add('b'); }}", "ArrayList", "char", ["a", "b"]),
    # text that does not parse stays text (the checker then fails it on type)
    ("true", "integer", None, "true"),
    ("3.14", "float", None, "3.14"),
    ("5", "long", None, "5"),
    ("a", "char", None, "a"),
]

JS = [
    ("true", "Boolean", None, True),
    ("123", "integer", None, 123),
    ("3.14", "float", None, 3.14),
    ("123n", "Bigint", None, 123),
    ("abc", "String", None, "abc"),
    ("'abc'", "String", None, "abc"),
    ("[1, 2, 3]", "array", None, [1, 2, 3]),
    ("new Array(1, 2, 3)", "array", None, [1, 2, 3]),
    ("{'key': 'value'}", "dict", None, {"key": "value"}),
    ("{'key': 123}", "dict", None, {"key": 123}),
    ("[]", "array", None, []),
    ("{}", "dict", None, {}),
    ("[1, 'two', true]", "array", None, [1, "two", True]),
    (
        "{'key1': 123, 'key2': 'value', 'key3': false}",
        "dict",
        None,
        {"key1": 123, "key2": "value", "key3": False},
    ),
    ("-3.14", "float", None, -3.14),
    ("[1.1, 2.2, 3.3]", "array", "float", [1.1, 2.2, 3.3]),
    ("[1n, 2n, 3n]", "array", "Bigint", [1, 2, 3]),
    ('["hello", "world", "!"]', "array", "String", ["hello", "world", "!"]),
    (" [ [ 1, 2 ], [ 3,   4], [5, 6]]", "array", "array", [[1, 2], [3, 4], [5, 6]]),
    (
        '{"initialState": initialStateObject, "middlewares": ["loggerMiddleware"]}',
        "dict",
        None,
        {"initialState": "initialStateObject", "middlewares": ["loggerMiddleware"]},
    ),
    ("123.45", "integer", None, "123.45"),
    ("123", "Bigint", None, "123"),
]


@pytest.mark.parametrize(("text", "declared", "items", "expected"), JAVA)
def test_java_values_as_bfcl_reads_them(
    text: str, declared: str, items: str | None, expected: Any
) -> None:
    assert java_value(text, declared, items) == expected


@pytest.mark.parametrize(("text", "declared", "items", "expected"), JS)
def test_javascript_values_as_bfcl_reads_them(
    text: str, declared: str, items: str | None, expected: Any
) -> None:
    assert js_value(text, declared, items) == expected


@pytest.mark.parametrize("declared", ["Set", "Hashtable", "Queue", "Stack", "Integer"])
def test_types_bfcl_does_not_convert_raise(declared: str) -> None:
    with pytest.raises(UnsupportedType):
        java_value("x", declared)
    with pytest.raises(UnsupportedType):
        js_value("x", "Object")


WORD = st.text(alphabet="abcXYZ_ 09", min_size=1, max_size=8).filter(
    lambda s: s == s.strip() and not s.isdigit()
)


@given(st.integers(-(10**12), 10**12))
def test_java_numbers_read_back(number: int) -> None:
    for declared in ("integer", "long", "short", "byte"):
        assert java_value(java_source(number, declared), declared) == number
    assert java_value(java_source(number, "double"), "double") == number


@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_java_floats_read_back(number: float) -> None:
    assert java_value(java_source(number, "float"), "float") == number
    assert java_value(java_source(number, "double"), "double") == number


@given(st.lists(st.integers(0, 999), max_size=5), st.lists(WORD, max_size=4))
def test_java_collections_read_back(numbers: list[int], words: list[str]) -> None:
    assert java_value(java_source(numbers, "Array", "integer"), "Array", "integer") == numbers
    assert java_value(java_source(numbers, "ArrayList", "long"), "ArrayList", "long") == numbers
    assert java_value(java_source(words, "ArrayList", "String"), "ArrayList", "String") == words
    entries = dict(zip(words, numbers, strict=False))
    assert java_value(java_source(entries, "HashMap"), "HashMap") == entries


@given(st.booleans(), st.integers(-999, 999), st.lists(st.integers(-9, 99), max_size=5))
def test_javascript_values_read_back(flag: bool, number: int, numbers: list[int]) -> None:
    assert js_value(js_source(flag, "Boolean"), "Boolean") is flag
    assert js_value(js_source(number, "integer"), "integer") == number
    assert js_value(js_source(number, "Bigint"), "Bigint") == number
    assert js_value(js_source(numbers, "array", "integer"), "array", "integer") == numbers
    entries = {f"k{i}": n for i, n in enumerate(numbers)}
    assert js_value(js_source(entries, "dict"), "dict") == entries
