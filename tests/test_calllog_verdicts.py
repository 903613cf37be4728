"""The call log's verdict cache: arguments sent as a JSON object (Anthropic's ``input``,
Gemini's ``args``) reuse their verdict like arguments sent as text, and a reused verdict
is always the one validating them afresh would give."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.calllog import _Validators, validate_tool_calls
from clearance.providers.types import ToolCall

SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "s": {"type": "string"},
        "items": {"type": "array", "items": {"type": "number"}},
    },
    "required": ["n"],
    "additionalProperties": {"type": ["string", "null"]},
}


class CountingValidators(_Validators):
    """The cache, counting how often a schema is actually run."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self._wrapped: dict[int, Any] = {}

    def get(self, schema: Any) -> Any:
        inner = super().get(schema)
        found = self._wrapped.get(id(inner))
        if found is None:
            found = self._wrapped[id(inner)] = _Counted(inner, self)
        return found


class _Counted:
    def __init__(self, inner: Any, owner: CountingValidators) -> None:
        self.inner = inner
        self.owner = owner

    def iter_errors(self, instance: Any) -> Any:
        self.owner.runs += 1
        return self.inner.iter_errors(instance)


def object_call(arguments: Any) -> ToolCall:
    """A call whose arguments came as a JSON object (raw is the object itself)."""
    return ToolCall(0, "toolu_1", "f", arguments, arguments)


def verdicts(calls: list[ToolCall], validators: _Validators | None = None) -> list[Any]:
    return validate_tool_calls(calls, {"f": SCHEMA}, validators)


def test_object_arguments_are_validated_once_per_content() -> None:
    validators = CountingValidators()
    for _ in range(5):
        assert verdicts([object_call({"n": 1, "s": "a"})], validators)[0]["valid"] is True
    assert validators.runs == 1
    # the same content in a new object, as every decoded answer is: still one run
    assert verdicts([object_call({"n": 1, "s": "a"})], validators)[0]["valid"] is True
    assert validators.runs == 1
    assert verdicts([object_call({"n": 2, "s": "a"})], validators)[0]["valid"] is True
    assert validators.runs == 2


def test_text_arguments_are_still_known_by_their_text() -> None:
    validators = CountingValidators()
    for _ in range(3):
        call = ToolCall(0, "call_1", "f", {"n": 1}, '{"n": 1}')
        assert verdicts([call], validators)[0]["valid"] is True
    assert validators.runs == 1


def test_values_python_calls_equal_keep_their_own_verdicts() -> None:
    validators = CountingValidators()
    # 1 == True == 1.0 in Python; to the schema, true is no integer
    assert verdicts([object_call({"n": 1})], validators)[0]["valid"] is True
    found = verdicts([object_call({"n": True})], validators)[0]
    assert (found["valid"], found["pointer"]) == (False, "/n")
    assert verdicts([object_call({"n": 1.0})], validators)[0]["valid"] is True
    # -0.0 == 0.0, but each is named in its own error message
    zero = verdicts([object_call({"n": 1, "s": 0.0})], validators)[0]
    negative = verdicts([object_call({"n": 1, "s": -0.0})], validators)[0]
    assert zero["message"].startswith("0.0 ")
    assert negative["message"].startswith("-0.0 ")
    assert validators.runs == 5


def test_arguments_json_does_not_decode_to_are_validated_each_time() -> None:
    validators = CountingValidators()
    # a tuple is no JSON array to the validator; a list of the same items is
    as_tuple = verdicts([object_call({"n": 1, "items": (1, 2)})], validators)[0]
    as_list = verdicts([object_call({"n": 1, "items": [1, 2]})], validators)[0]
    assert (as_tuple["valid"], as_tuple["pointer"]) == (False, "/items")
    assert as_list["valid"] is True
    verdicts([object_call({"n": 1, "items": (1, 2)})], validators)
    verdicts([object_call({1: "x", "n": 1})], validators)  # a key that is no string
    verdicts([object_call({1: "x", "n": 1})], validators)
    assert validators.runs == 5  # the tuple twice, the list once, the int key twice


json_values = st.recursive(
    st.sampled_from([None, True, False, 0, 1, 2, 0.0, -0.0, 1.5, "", "a"]),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.tuples(inner)
        | st.dictionaries(st.sampled_from(["n", "s"]), inner, max_size=2)
    ),
    max_leaves=4,
)
KEYS = st.sampled_from(["n", "s", "items", "x"])


def twin(value: Any) -> Any:
    """A value a careless key would take for ``value``: equal in Python (``True`` and
    ``1``, ``1`` and ``1.0``, ``0.0`` and ``-0.0``) or written alike as JSON (a tuple and
    a list), yet not validated alike."""
    kind = type(value)
    if kind is bool:
        return int(value)
    if kind is int:
        return float(value)
    if kind is float:
        return -value if value == 0 else int(value) if value.is_integer() else value
    if kind is list:
        return tuple(twin(item) for item in value)
    if kind is tuple:
        return [twin(item) for item in value]
    if kind is dict:
        return {key: twin(item) for key, item in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(KEYS, json_values, max_size=2), max_size=6))
def test_a_cached_verdict_is_the_fresh_one(arguments: list[dict[str, Any]]) -> None:
    shared = _Validators()
    calls = [object_call(value) for value in arguments + [twin(a) for a in arguments]]
    assert verdicts(calls, shared) == [verdicts([call])[0] for call in calls]
