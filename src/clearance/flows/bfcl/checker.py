"""BFCL's AST checker rules, for one call and for a turn's calls.

A port of ``bfcl_eval.eval_checker.ast_eval.ast_checker`` (bfcl-eval 2026.3.23,
Apache-2.0, github.com/ShishirPatil/gorilla) onto clearance's data, rule for rule, so
that a verdict here is the official checker's verdict (``benchmarks/bench_bfcl_agreement.py``
measures it). For one call (BFCL's ``simple_function_checker``), in this order:

1. the function name must be the expected one;
2. every parameter the function declares required must be present;
3. each parameter sent, in the order sent: it must be declared *and* named by the
   possible answer (else ``Unexpected parameter``); Java and JavaScript values are
   converted from their source text by the declared type
   (:mod:`~clearance.flows.bfcl.values`); a Python ``int`` for a top-level ``float``
   parameter becomes a float (nowhere else: ints inside a float array fail); then the
   type must be the declared one, exactly (``5.0`` is not an integer, ``true`` not a
   number), or the type of the possible answer (BFCL's "variable" rule, which also
   accepts ground truth that breaks its own schema); then the value:

   - strings, and strings inside lists and dicts, compare after BFCL's normalization:
     lower-cased, with spaces and ``,./-_*^`` removed and ``'`` read as ``"``;
   - dicts: no key outside one acceptable dict, every key present unless ``""`` allows
     its absence; lists of dicts element by element;
   - anything else by Python equality (``1 == 1.0``);
4. every parameter of the possible answer not sent must allow ``""``.

Schemas are not validated (enum, format, bounds play no part), as in BFCL. Where BFCL's
checker would raise (an undeclared type, an array without ``items``, an acceptable
value of a shape it cannot read) the call fails here with ``checker_error``.

Counting: ``simple`` takes exactly one call, checked against the first offered function;
``multiple`` one call against the expected function; ``parallel`` as many calls as
expected, in any order. BFCL pairs parallel calls greedily, in the order of the
possible answers, and so fails a valid reordering when an earlier expectation takes a
call a later one needed; :func:`check_calls` finds a complete pairing whenever one
exists (the "any order" BFCL documents): the one known, deliberate divergence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clearance.flows.bfcl.key import BfclFunction, BfclKey, BfclParameter, Language
from clearance.flows.bfcl.values import JAVA_TYPES, JS_TYPES, UnsupportedType, java_value, js_value

__all__ = [
    "PYTHON_TYPES",
    "BfclError",
    "BfclOutcome",
    "check_call",
    "check_calls",
    "standardize_string",
]

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
"""BFCL type name → the Python type a Python-category value must have."""

_NESTED = {"python": ("array", "tuple"), "java": ("Array", "ArrayList"), "javascript": ("array",)}
_TYPES: dict[str, dict[str, type]] = {
    "python": PYTHON_TYPES,
    "java": JAVA_TYPES,
    "javascript": JS_TYPES,
}
_STRIP = str.maketrans("", "", " ,./-_*^")


def standardize_string(text: str) -> str:
    """BFCL's string normalization: ``,./-_*^`` and spaces removed, lower case, ``'`` → ``"``."""
    return text.translate(_STRIP).lower().replace("'", '"')


@dataclass(frozen=True, slots=True)
class BfclError:
    """Why BFCL fails a call (its ``error_type`` and message)."""

    error_type: str
    """BFCL's own: ``type_error:simple``, ``value_error:string``, ``..._checker:wrong_count``."""
    message: str
    parameter: str | None = None
    """The parameter at fault, when one is."""
    value: Any = None
    """The value sent for it (after a Java or JavaScript conversion)."""


@dataclass(frozen=True, slots=True)
class BfclOutcome:
    """BFCL's verdict on a turn's calls."""

    valid: bool
    error: BfclError | None = None
    """The first reason it failed (``None`` when valid)."""
    pairs: tuple[tuple[int, int], ...] = ()
    """(expected call, call sent) for each expectation a call satisfies."""
    errors: Mapping[int, tuple[int, BfclError]] | None = None
    """Expected call → (the call sent that came closest, why it failed), for each
    expectation no call satisfies."""


class _CheckerError(Exception):
    """Where BFCL's own checker would raise: the call cannot be judged, so it fails."""

    def __init__(self, error: BfclError) -> None:
        super().__init__(error.message)
        self.error = error


def _crash(reason: str) -> BfclError:
    return BfclError("checker_error", f"BFCL's checker cannot judge this answer: {reason}")


_STRINGS: dict[int, tuple[Sequence[Any], frozenset[str]]] = {}
"""id(acceptable values) → (those values, their strings standardized): an answer key
hands out the same tuple for every call it judges, and BFCL standardizes them all."""


def _standard_strings(accepted: Sequence[Any]) -> frozenset[str]:
    found = _STRINGS.get(id(accepted))
    if found is not None and found[0] is accepted:
        return found[1]
    strings = frozenset(standardize_string(a) for a in accepted if type(a) is str)
    if len(_STRINGS) >= 65_536:
        _STRINGS.clear()
    _STRINGS[id(accepted)] = (accepted, strings)  # holding the values keeps their id unique
    return strings


def check_call(
    expected: str,
    function: BfclFunction,
    name: str,
    arguments: Mapping[str, Any],
    answers: Mapping[str, Sequence[Any]],
    language: Language,
) -> BfclError | None:
    """Whether one call passes BFCL's ``simple_function_checker`` (``None``) or why not.

    Args:
        expected: the expected tool's name.
        function: its declaration.
        name: the tool the call names.
        arguments: the call's decoded arguments.
        answers: parameter → acceptable values (``""`` = may be left out).
        language: how values are read (``python``, ``java``, ``javascript``).
    """
    if name != expected:
        return BfclError(
            "simple_function_checker:wrong_func_name",
            f"Function name {expected!r} not found in model output.",
        )
    for parameter in function.required:
        if parameter not in arguments:
            return BfclError(
                "simple_function_checker:missing_required",
                f"Missing required parameter: {parameter!r}.",
                parameter,
            )
    declared = function.parameters
    for parameter, value in arguments.items():
        spec = declared.get(parameter)
        accepted = answers.get(parameter)
        if spec is None or accepted is None:
            return BfclError(
                "simple_function_checker:unexpected_param",
                f"Unexpected parameter: {parameter!r}.",
                parameter,
                value,
            )
        try:
            error = _check_parameter(parameter, value, spec, accepted, language)
        except _CheckerError as crash:
            return BfclError(crash.error.error_type, crash.error.message, parameter, value)
        except (TypeError, KeyError, AttributeError, IndexError) as crash:  # BFCL raises too
            return BfclError(_crash(repr(crash)).error_type, str(crash), parameter, value)
        if error is not None:
            return error
    if len(answers) > len(arguments):  # every parameter sent is one of answers (else above)
        for parameter, accepted in answers.items():
            if parameter not in arguments and "" not in accepted:
                return BfclError(
                    "simple_function_checker:missing_optional",
                    f"Optional parameter {parameter!r} not provided and not marked as optional.",
                    parameter,
                )
    return None


def _check_parameter(
    parameter: str,
    value: Any,
    spec: BfclParameter,
    accepted: Sequence[Any],
    language: Language,
) -> BfclError | None:
    declared, items = spec.type, spec.items
    types = PYTHON_TYPES if language == "python" else _TYPES[language]
    expected = types.get(declared)
    if language != "python" and expected is not None and type(value) is not str:
        return BfclError(
            f"type_error:{'java' if language == 'java' else 'js'}",
            f"Incorrect type for parameter {parameter!r}. Expected type String, got "
            f"{type(value).__name__}. Parameter value: {value!r}.",
            parameter,
            value,
        )
    if expected is None:
        raise _CheckerError(_crash(f"undeclared {language} type {declared!r}"))
    nested: type | None = None
    if declared in _NESTED[language]:
        if items is None:
            raise _CheckerError(_crash(f"array {parameter!r} declares no item type"))
        nested = types.get(items)
        if nested is None:
            raise _CheckerError(_crash(f"undeclared {language} item type {items!r}"))
    if language == "python":
        if declared == "float" and type(value) is int:
            value = float(value)
    else:
        convert = java_value if language == "java" else js_value
        try:
            value = convert(value, declared, items if nested is not None else None)
        except UnsupportedType as unsupported:
            raise _CheckerError(_crash(f"{language} type {unsupported} is not converted")) from None
    return _check_value(parameter, value, declared, expected, nested, accepted)


def _check_value(
    parameter: str,
    value: Any,
    declared: str,
    expected: type,
    nested: type | None,
    accepted: Sequence[Any],
) -> BfclError | None:
    """BFCL's type check, then its value check (the value converted already)."""
    answer_type = _answer_type(accepted)
    value_type: type = type(value)
    # BFCL's type_checker: the declared type exactly, or the possible answer's ("variable")
    if value_type is expected:
        variable = answer_type is not None and answer_type is not expected
        if nested is not None and not any(
            type(item) is not list or all(_item_type_ok(v, item, nested) for v in value)
            for item in accepted
        ):
            return BfclError(
                "type_error:nested",
                f"Nested type checking failed for parameter {parameter!r}. Expected outer "
                f"type {declared} with inner type {nested}. Parameter value: {value!r}.",
                parameter,
                value,
            )
    elif answer_type is not None and value_type is answer_type:
        variable = True
    else:
        return BfclError(
            "type_error:simple",
            f"Incorrect type for parameter {parameter!r}. Expected type {declared}, got "
            f"{type(value).__name__}. Parameter value: {value!r}.",
            parameter,
            value,
        )
    if not variable:
        if expected is str:
            if standardize_string(value) in _standard_strings(accepted):
                return None
            return BfclError(
                "value_error:string",
                f"Invalid value for parameter {parameter!r}: {value!r}. Expected one of "
                f"{list(accepted)}. Case insensitive.",
                parameter,
                value,
            )
        if expected is dict:
            return _dict_check(parameter, value, accepted)
        if expected is list and nested is dict:
            return _list_dict_check(parameter, value, accepted)
        if expected is list:
            return _list_check(parameter, value, accepted)
    if value not in accepted:
        return BfclError(
            "value_error:others",
            f"Invalid value for parameter {parameter!r}: {value!r}. "
            f"Expected one of {list(accepted)}.",
            parameter,
            value,
        )
    return None


def _answer_type(accepted: Sequence[Any]) -> type | None:
    for answer in accepted:
        if answer != "":
            return type(answer)
    return None


def _item_type_ok(value: Any, accepted: list[Any], nested: type) -> bool:
    if type(value) is nested:
        return True
    answer_type = _answer_type(accepted)
    return answer_type is not None and type(value) is answer_type


def _standardized(values: Any) -> list[Any]:
    """Each value standardized when it is a string, as BFCL indexes ``values`` (a string
    gives its characters; something without a length or items makes BFCL raise)."""
    if type(values) is list or type(values) is str:
        return [standardize_string(v) if type(v) is str else v for v in values]
    if isinstance(values, Mapping) and not values:
        return []
    raise _CheckerError(_crash(f"an acceptable value {values!r} is not a list"))


def _list_check(parameter: str, value: list[Any], accepted: Sequence[Any]) -> BfclError | None:
    sent = [standardize_string(v) if type(v) is str else v for v in value]
    if sent in [_standardized(answer) for answer in accepted]:
        return None
    return BfclError(
        "value_error:list/tuple",
        f"Invalid value for parameter {parameter!r}: {value!r}. Expected one of {list(accepted)}.",
        parameter,
        value,
    )


def _dict_check(parameter: str, value: Any, accepted: Sequence[Any]) -> BfclError | None:
    if type(value) is not dict:
        raise _CheckerError(_crash(f"{value!r} is not a dict"))
    error = BfclError("dict_checker:unclear", f"Invalid value for parameter {parameter!r}.")
    for answer in accepted:
        if answer == "":
            continue
        if type(answer) is not dict:
            raise _CheckerError(_crash(f"an acceptable value {answer!r} is not a dict"))
        error = _dict_error(parameter, value, answer)
        if error is _MATCHED:
            return None
    return error


_MATCHED = BfclError("", "")


def _dict_error(parameter: str, value: dict[str, Any], answer: dict[str, Any]) -> BfclError:
    """Why ``value`` is not ``answer`` (a dict of acceptable values); ``_MATCHED`` if it is."""
    for key, item in value.items():
        if key not in answer:
            return BfclError(
                "value_error:dict_key", f"Unexpected dict key parameter: '{key}'.", parameter, value
            )
        sent = standardize_string(item) if type(item) is str else item
        if sent not in _standardized(answer[key]):
            return BfclError(
                "value_error:dict_value",
                f"Invalid value for parameter {key!r}: {item!r}.",
                parameter,
                value,
            )
    for key, options in answer.items():
        if key not in value and "" not in options:
            return BfclError(
                "value_error:dict_key", f"Missing dict key parameter: '{key}'.", parameter, value
            )
    return _MATCHED


def _list_dict_check(parameter: str, value: list[Any], accepted: Sequence[Any]) -> BfclError | None:
    error = BfclError("list_dict_checker:unclear", f"Invalid value for parameter {parameter!r}.")
    for answer in accepted:
        if not isinstance(answer, list | str | dict):
            raise _CheckerError(_crash(f"an acceptable value {answer!r} has no length"))
        if len(value) != len(answer):
            error = BfclError(
                "value_error:list_dict_count",
                "Wrong number of dictionaries in the list.",
                parameter,
                value,
            )
            continue
        ok = True
        for index, item in enumerate(value):
            if type(answer) is not list:
                raise _CheckerError(_crash(f"an acceptable value {answer!r} is not a list"))
            found = _dict_check(parameter, item, [answer[index]])
            if found is not None:
                error, ok = found, False
                break
        if ok:
            return None
    return error


# -- a turn's calls ---------------------------------------------------------------------


_ONE_PAIR = BfclOutcome(True, pairs=((0, 0),))


def _wrong_count(kind: str) -> BfclError:
    checker = {
        "simple": "simple_function_checker",
        "multiple": "multiple_function_checker",
        "parallel": "parallel_function_checker_no_order",
    }[kind]
    return BfclError(f"{checker}:wrong_count", "Wrong number of functions.")


def check_calls(key: BfclKey, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> BfclOutcome:
    """BFCL's verdict on the decoded calls of a turn (simple, multiple, parallel categories).

    Args:
        key: the case's answer key.
        calls: (tool, decoded arguments) of each call, in the order sent.
    """
    truth = key.ground_truth
    kind = key.kind
    if kind == "parallel":
        if len(calls) != len(truth):
            return BfclOutcome(False, _wrong_count(kind))
        return _parallel(key, calls)
    if len(calls) != (1 if kind == "simple" else len(truth)):
        return BfclOutcome(False, _wrong_count(kind))
    # simple: BFCL checks the first offered function; multiple: the expected one
    expected = key.first if kind == "simple" else truth[0][0]
    assert expected is not None  # a simple case offers a function (its ground truth calls one)
    name, arguments = calls[0]
    error = check_call(
        expected, key.functions[expected], name, arguments, truth[0][1], key.language
    )
    if error is None:
        return _ONE_PAIR
    return BfclOutcome(False, error, errors={0: (0, error)})


def _parallel(key: BfclKey, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> BfclOutcome:
    truth = key.ground_truth
    functions = key.functions
    table: dict[tuple[int, int], BfclError | None] = {}

    def cell(i: int, j: int) -> BfclError | None:
        if (i, j) not in table:
            tool, answers = truth[i]
            name, arguments = calls[j]
            table[i, j] = check_call(tool, functions[tool], name, arguments, answers, key.language)
        return table[i, j]

    # BFCL's own order first: each expectation takes the first free call that passes.
    taken: dict[int, int] = {}
    for i in range(len(truth)):
        found = next((j for j in range(len(calls)) if j not in taken and cell(i, j) is None), None)
        if found is None:
            break
        taken[found] = i
    else:
        return BfclOutcome(True, pairs=tuple(sorted((i, j) for j, i in taken.items())))
    # An expectation no call satisfies at all: no pairing can be complete (BFCL's answer).
    stuck = next(i for i in range(len(truth)) if i not in taken.values())
    if all(cell(stuck, j) is not None for j in range(len(calls))):
        return _unpaired_outcome(calls, cell, taken, [stuck])
    # A complete pairing may still exist (augmenting paths, Kuhn's algorithm).
    owner: dict[int, int] = {}

    def place(i: int, seen: set[int]) -> bool:
        for j in range(len(calls)):
            if j in seen or cell(i, j) is not None:
                continue
            seen.add(j)
            if j not in owner or place(owner[j], seen):
                owner[j] = i
                return True
        return False

    unpaired = [i for i in range(len(truth)) if not place(i, set())]
    if not unpaired:
        return BfclOutcome(True, pairs=tuple(sorted((i, j) for j, i in owner.items())))
    return _unpaired_outcome(calls, cell, owner, unpaired)


def _unpaired_outcome(
    calls: Sequence[tuple[str, Mapping[str, Any]]],
    cell: Any,
    owner: Mapping[int, int],
    unpaired: list[int],
) -> BfclOutcome:
    """The failure: for each expectation left unpaired, the free call that came closest."""
    pairs = tuple(sorted((i, j) for j, i in owner.items()))
    free = [j for j in range(len(calls)) if j not in owner] or list(range(len(calls)))
    errors: dict[int, tuple[int, BfclError]] = {}
    for i in unpaired:
        failed = [(j, error) for j in free if (error := cell(i, j)) is not None]
        same_tool = [pair for pair in failed if "wrong_func_name" not in pair[1].error_type]
        errors[i] = (same_tool or failed or [(free[0], _crash("no call left to pair"))])[0]
    _, first = errors[unpaired[0]]
    return BfclOutcome(
        False,
        BfclError(
            "parallel_function_checker_no_order:cannot_find_match",
            f"Could not find a matching function for index {unpaired[0]} of possible "
            f"answers: {first.message}",
            first.parameter,
            first.value,
        ),
        pairs,
        errors,
    )
