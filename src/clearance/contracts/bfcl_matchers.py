"""BFCL's acceptable values as clearance matchers (the ``clearance`` profile's expectations).

A parameter's list of acceptable values becomes: one value → that value (exact; numbers
compare by value, so ``5`` also accepts ``5.0``); several → ``$one_of``; ``""`` in the
list → wrapped in ``$optional``; ``""`` alone → ``{$optional: {$any: true}}``; ``null``
under ``$optional`` is written ``{$exact: null}``; an empty list, which nothing satisfies
in BFCL, becomes a matcher nothing satisfies (``{$regex: "(?!)"}``). BFCL's nested form
(a dict, or a list
of dicts, whose values are themselves lists of acceptable values) is expanded into every
concrete alternative (keys with ``""`` present or absent) and matched exactly, which is
what BFCL's ``dict_checker`` does (no unknown keys); past :data:`MAX_ALTERNATIVES` a dict
becomes a looser ``$subset`` instead.

In the Java and JavaScript categories a model sends every argument as source text, so
each acceptable value is written as the text BFCL reads back as that value
(:func:`~clearance.flows.bfcl.values.java_source`, ``js_source``): one spelling per
value, strictly; the ``bfcl`` profile reads any spelling BFCL reads.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clearance.flows.bfcl.key import Language
from clearance.flows.bfcl.values import java_source, js_source

__all__ = [
    "ABSENT",
    "MAX_ALTERNATIVES",
    "alternatives",
    "ground_truth_arguments",
    "parameter_matcher",
    "source_values",
]

MAX_ALTERNATIVES = 64
"""The most concrete alternatives one nested BFCL value is expanded into."""

ABSENT: Any = object()
"""A nested key left out (its acceptable values held ``""``)."""


class TooManyAlternatives(Exception):
    """A nested value with more than MAX_ALTERNATIVES concrete forms."""


def is_nested(value: Any) -> bool:
    """BFCL's nested form: a dict whose values are all lists of acceptable values."""
    return (
        isinstance(value, dict) and bool(value) and all(isinstance(v, list) for v in value.values())
    )


def alternatives(value: Any) -> list[Any]:
    """Every concrete value an acceptable value stands for (nested forms expanded).

    Raises:
        TooManyAlternatives: more than :data:`MAX_ALTERNATIVES` of them.
    """
    if is_nested(value):
        per_key: list[list[tuple[str, Any]]] = []
        for key, options in value.items():
            choices: list[tuple[str, Any]] = []
            for option in options:
                if option == "":
                    choices.append((key, ABSENT))
                else:
                    choices.extend((key, alt) for alt in alternatives(option))
            per_key.append(choices)
        return _product(per_key, lambda pairs: {k: v for k, v in pairs if v is not ABSENT})
    if isinstance(value, list) and any(is_nested(item) for item in value):
        per_item = [[(i, alt) for alt in alternatives(item)] for i, item in enumerate(value)]
        return _product(per_item, lambda pairs: [v for _, v in pairs])
    return [value]


def _product(groups: list[list[tuple[Any, Any]]], build: Any) -> list[Any]:
    total = 1
    for group in groups:
        total *= max(len(group), 1)
        if total > MAX_ALTERNATIVES:
            raise TooManyAlternatives
    return _unique(build(combo) for combo in itertools.product(*groups))


def _unique(values: Iterable[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for value in values:
        key = json.dumps(value, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _has_dollar_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(str(k).startswith("$") for k in value) or any(
            _has_dollar_key(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_dollar_key(v) for v in value)
    return False


def _literal(value: Any) -> Any:
    """A value as an exact matcher (``$exact`` when it could be read as a matcher)."""
    return {"$exact": value} if _has_dollar_key(value) else value


def _loose(value: Any) -> Any:
    """A matcher for a nested value too large to expand: ``$subset`` per dict."""
    if is_nested(value):
        return {"$subset": {key: parameter_matcher(options) for key, options in value.items()}}
    if isinstance(value, list) and any(is_nested(item) for item in value):
        raise TooManyAlternatives  # a list of huge dicts: no matcher matches element-wise
    return _literal(value)


NOTHING = {"$regex": "(?!)"}
"""A matcher no value satisfies: for an empty list of acceptable values (nothing passes
BFCL there either: the parameter can be neither sent nor left out)."""


def parameter_matcher(values: Sequence[Any], *, loose: list[bool] | None = None) -> Any:
    """The matcher for one parameter's list of acceptable values (see the module docstring)."""
    if not values:
        return dict(NOTHING)
    optional = any(isinstance(v, str) and v == "" for v in values)
    options: list[Any] = []
    for value in values:
        if isinstance(value, str) and value == "":
            continue
        try:
            options.extend(_literal(alt) for alt in alternatives(value))
        except TooManyAlternatives:
            if loose is not None:
                loose.append(True)
            options.append(_loose(value))
    options = _unique(options)
    if not options:
        matcher: Any = {"$any": True}
    elif len(options) == 1:
        matcher = options[0]
    else:
        matcher = {"$one_of": options}
    if not optional:
        return matcher
    return {"$optional": {"$exact": None} if matcher is None else matcher}


def source_values(
    values: Sequence[Any], language: Language, declared: str, items: str | None
) -> list[Any]:
    """A Java or JavaScript parameter's acceptable values as the source text a model sends
    (``""`` kept: it still means "may be left out"); nested forms are expanded first."""
    write = java_source if language == "java" else js_source
    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and value == "":
            out.append(value)
            continue
        try:
            concrete = alternatives(value)
        except TooManyAlternatives:
            concrete = [_first_concrete(value)]
        out.extend(write(alt, declared, items) for alt in concrete)
    return list(dict.fromkeys(out))


def _first_value(values: Sequence[Any]) -> Any:
    """The first acceptable value, concrete (``ABSENT`` when only ``""`` is listed)."""
    for value in values:
        if isinstance(value, str) and value == "":
            continue
        return _first_concrete(value)
    return ABSENT


def _first_concrete(value: Any) -> Any:
    if is_nested(value):
        picked = {key: _first_value(options) for key, options in value.items()}
        return {k: v for k, v in picked.items() if v is not ABSENT}
    if isinstance(value, list) and any(is_nested(item) for item in value):
        return [_first_concrete(item) for item in value]
    return value


def ground_truth_arguments(arguments: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """One concrete set of arguments: each parameter's first acceptable value, ``""`` left out."""
    picked = {name: _first_value(values) for name, values in arguments.items()}
    return {name: value for name, value in picked.items() if value is not ABSENT}
