"""Argument matchers: what a flow expects a tool call's arguments to be.

A plain value matches exactly (numbers by value, ``true`` never equals ``1``); an
object whose single key starts with ``$`` is a matcher (see ``contracts/FORMAT.md``).
Plain objects and lists are matched structurally, so a matcher may sit inside them:
``{filter: {name: {$text: ada}}}`` works, and a plain object still needs exactly its
keys (those under ``$optional`` may be absent). ``$exact`` takes its value literally.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from clearance.errors import ContractError

__all__ = [
    "MATCHER_KEYS",
    "AnyMatcher",
    "ExactMatcher",
    "ListMatcher",
    "Matcher",
    "Mismatch",
    "MismatchReason",
    "ObjectMatcher",
    "OneOfMatcher",
    "OptionalMatcher",
    "RangeMatcher",
    "RegexMatcher",
    "SubsetMatcher",
    "TextMatcher",
    "compile_arguments",
    "compile_matcher",
    "escape_pointer",
    "json_equal",
    "line_for",
    "match_arguments",
]

MismatchReason = Literal["missing", "unexpected", "mismatch"]

MATCHER_KEYS = (
    "$any",
    "$regex",
    "$range",
    "$one_of",
    "$subset",
    "$text",
    "$optional",
    "$exact",
)
"""Every matcher key the format knows."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way an argument differs from what was expected."""

    pointer: str
    """JSON pointer of the argument inside the call's arguments (``/query``)."""
    expected: str
    """What was expected, in words (``Matcher.describe``)."""
    actual: Any
    """The value the model sent (``None`` when it is missing)."""
    reason: MismatchReason
    """``missing`` (required, absent), ``unexpected`` (not asked for) or ``mismatch``."""


def escape_pointer(token: str) -> str:
    """Escape one JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def json_equal(left: object, right: object) -> bool:
    """Equality as JSON means it: numbers by value, booleans apart from numbers."""
    if _is_number(left) and _is_number(right):  # never a bool: see _is_number
        return bool(left == right)
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(json_equal, left, right))
    # Anything else is equal only to a value of its own type: true is not 1, 1 is not "1".
    return type(left) is type(right) and left == right


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else _json_text(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_text(value: object) -> str:
    import json

    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


class Matcher:
    """What one expected value accepts.

    Subclasses are frozen dataclasses; ``matches`` never raises, whatever the value.
    """

    __slots__ = ()

    @property
    def optional(self) -> bool:
        """Whether the value may be absent (only ``$optional`` says yes)."""
        return False

    def matches(self, value: object) -> bool:  # pragma: no cover - abstract
        """Whether ``value`` is accepted."""
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        """What is accepted, in words, for failure evidence."""
        raise NotImplementedError

    def mismatches(self, value: object, pointer: str) -> list[Mismatch]:
        """Where ``value`` differs, as deep as the matcher can tell ([] when it matches)."""
        if self.matches(value):
            return []
        return [Mismatch(pointer, self.describe(), value, "mismatch")]


@dataclass(frozen=True, slots=True)
class ExactMatcher(Matcher):
    """A plain value (or ``$exact``): equal as JSON."""

    value: Any

    def matches(self, value: object) -> bool:
        """Whether ``value`` equals the expected one as JSON."""
        return json_equal(self.value, value)

    def describe(self) -> str:
        """The value itself."""
        return _show(self.value)


@dataclass(frozen=True, slots=True)
class AnyMatcher(Matcher):
    """``$any: true``: any value, as long as it is present."""

    def matches(self, value: object) -> bool:
        """Always true."""
        return True

    def describe(self) -> str:
        """``any value``."""
        return "any value"


@dataclass(frozen=True, slots=True)
class RegexMatcher(Matcher):
    """``$regex``: a string the pattern matches with ``re.search``."""

    pattern: re.Pattern[str]

    def matches(self, value: object) -> bool:
        """Whether ``value`` is a string the pattern finds a match in."""
        return isinstance(value, str) and self.pattern.search(value) is not None

    def describe(self) -> str:
        """``a string matching /.../``."""
        return f"a string matching /{self.pattern.pattern}/"


@dataclass(frozen=True, slots=True)
class RangeMatcher(Matcher):
    """``$range: [min, max]``: a number within the closed bounds (``None`` = open)."""

    minimum: float | int | None
    maximum: float | int | None

    def matches(self, value: object) -> bool:
        """Whether ``value`` is a finite number within the bounds."""
        if not _is_number(value):
            return False
        number = float(value)  # type: ignore[arg-type]
        if math.isnan(number):
            return False
        if self.minimum is not None and number < self.minimum:
            return False
        return self.maximum is None or number <= self.maximum

    def describe(self) -> str:
        """``a number in [min, max]``."""
        low = "-inf" if self.minimum is None else _show(self.minimum)
        high = "inf" if self.maximum is None else _show(self.maximum)
        return f"a number in [{low}, {high}]"


@dataclass(frozen=True, slots=True)
class OneOfMatcher(Matcher):
    """``$one_of``: a value any of the options accepts."""

    options: tuple[Matcher, ...]

    def matches(self, value: object) -> bool:
        """Whether any option accepts ``value``."""
        return any(option.matches(value) for option in self.options)

    def describe(self) -> str:
        """``one of: a | b``."""
        return "one of: " + " | ".join(option.describe() for option in self.options)


@dataclass(frozen=True, slots=True)
class SubsetMatcher(Matcher):
    """``$subset``: an object holding at least these keys, each matching."""

    fields: Mapping[str, Matcher]

    def matches(self, value: object) -> bool:
        """Whether ``value`` is an object whose named keys all match."""
        return not self.mismatches(value, "")

    def describe(self) -> str:
        """``an object containing {...}``."""
        inner = ", ".join(f"{k}: {m.describe()}" for k, m in self.fields.items())
        return f"an object containing {{{inner}}}"

    def mismatches(self, value: object, pointer: str) -> list[Mismatch]:
        """Each named key that is missing or differs."""
        if not isinstance(value, Mapping):
            return [Mismatch(pointer, self.describe(), value, "mismatch")]
        return _field_mismatches(self.fields, value, pointer, allow_extra=True)


@dataclass(frozen=True, slots=True)
class ObjectMatcher(Matcher):
    """A plain object: exactly these keys (``$optional`` ones may be absent), each matching."""

    fields: Mapping[str, Matcher]

    def matches(self, value: object) -> bool:
        """Whether ``value`` is an object with exactly the expected keys, each matching."""
        return not self.mismatches(value, "")

    def describe(self) -> str:
        """``{key: ..., ...}``."""
        return "{" + ", ".join(f"{k}: {m.describe()}" for k, m in self.fields.items()) + "}"

    def mismatches(self, value: object, pointer: str) -> list[Mismatch]:
        """Each key that is missing, unexpected or differs."""
        if not isinstance(value, Mapping):
            return [Mismatch(pointer, self.describe(), value, "mismatch")]
        return _field_mismatches(self.fields, value, pointer, allow_extra=False)


@dataclass(frozen=True, slots=True)
class ListMatcher(Matcher):
    """A plain list: the same length, each item matching in order."""

    items: tuple[Matcher, ...]

    def matches(self, value: object) -> bool:
        """Whether ``value`` is a list of the same length whose items all match."""
        return not self.mismatches(value, "")

    def describe(self) -> str:
        """``[a, b]``."""
        return "[" + ", ".join(item.describe() for item in self.items) + "]"

    def mismatches(self, value: object, pointer: str) -> list[Mismatch]:
        """Each item that differs, or the whole list when the length differs."""
        if not isinstance(value, list | tuple) or len(value) != len(self.items):
            return [Mismatch(pointer, self.describe(), value, "mismatch")]
        found: list[Mismatch] = []
        for index, (item, actual) in enumerate(zip(self.items, value, strict=True)):
            found.extend(item.mismatches(actual, f"{pointer}/{index}"))
        return found


@dataclass(frozen=True, slots=True)
class TextMatcher(Matcher):
    """``$text``: a string equal ignoring case and runs of white space."""

    text: str

    def matches(self, value: object) -> bool:
        """Whether ``value`` is a string equal to the text once normalized."""
        return isinstance(value, str) and _normalize(value) == _normalize(self.text)

    def describe(self) -> str:
        """``text like '...'``."""
        return f"text like {self.text!r} (case and spacing ignored)"


@dataclass(frozen=True, slots=True)
class OptionalMatcher(Matcher):
    """``$optional``: may be absent; when present, the inner matcher must accept it."""

    inner: Matcher

    @property
    def optional(self) -> bool:
        """Always true."""
        return True

    def matches(self, value: object) -> bool:
        """Whether the inner matcher accepts ``value``."""
        return self.inner.matches(value)

    def describe(self) -> str:
        """``optional: ...``."""
        return f"optional: {self.inner.describe()}"

    def mismatches(self, value: object, pointer: str) -> list[Mismatch]:
        """The inner matcher's mismatches."""
        return self.inner.mismatches(value, pointer)


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def _field_mismatches(
    fields: Mapping[str, Matcher],
    actual: Mapping[str, Any],
    pointer: str,
    *,
    allow_extra: bool,
) -> list[Mismatch]:
    found: list[Mismatch] = []
    for key, matcher in fields.items():
        where = f"{pointer}/{escape_pointer(key)}"
        if key not in actual:
            if not matcher.optional:
                found.append(Mismatch(where, matcher.describe(), None, "missing"))
            continue
        found.extend(matcher.mismatches(actual[key], where))
    if not allow_extra:
        for key in actual:
            if key not in fields:
                where = f"{pointer}/{escape_pointer(str(key))}"
                found.append(Mismatch(where, "no such argument", actual[key], "unexpected"))
    return found


def match_arguments(
    expected: Mapping[str, Matcher], actual: Mapping[str, Any], *, allow_extra: bool
) -> list[Mismatch]:
    """Every difference between a call's arguments and what was expected ([] = a match).

    Args:
        expected: argument name → matcher.
        actual: the decoded arguments of the call.
        allow_extra: whether arguments not named in ``expected`` are accepted.
    """
    return _field_mismatches(expected, actual, "", allow_extra=allow_extra)


def compile_matcher(
    spec: object,
    *,
    path: str,
    pointer: str,
    lines: Mapping[str, int] | None = None,
) -> Matcher:
    """Turn a flow file's value into a matcher.

    Args:
        spec: the value as read from YAML or JSON.
        path: the flow file, for errors.
        pointer: JSON pointer of ``spec`` in the file, for errors.
        lines: JSON pointer → line in the file, when known.

    Raises:
        ContractError: an unknown ``$`` key or a malformed matcher.
    """
    return _Compiler(path, lines or {}).compile(spec, pointer, allow_optional=True)


def line_for(lines: Mapping[str, int], pointer: str) -> int | None:
    """The line of ``pointer``, or of its nearest ancestor that has one."""
    while True:
        if pointer in lines:
            return lines[pointer]
        if not pointer:
            return None
        pointer = pointer.rpartition("/")[0]  # "" (the root) once no "/" is left


@dataclass(frozen=True, slots=True)
class _Compiler:
    path: str
    lines: Mapping[str, int]

    def fail(self, message: str, pointer: str, fix: str | None = None) -> ContractError:
        return ContractError(
            message, path=self.path, line=line_for(self.lines, pointer), pointer=pointer, fix=fix
        )

    def compile(self, spec: object, pointer: str, *, allow_optional: bool) -> Matcher:
        if isinstance(spec, Mapping):
            dollar = [k for k in spec if isinstance(k, str) and k.startswith("$")]
            if dollar and len(spec) == 1:
                key = dollar[0]
                return self.matcher(key, spec[key], pointer, allow_optional=allow_optional)
            if dollar:
                raise self.fail(
                    f"an object with the key {dollar[0]!r} mixed with other keys is neither "
                    "a matcher nor a plain value",
                    f"{pointer}/{escape_pointer(dollar[0])}",
                    fix="a matcher is an object with a single $ key; "
                    "write {$exact: {...}} for a literal object with $ keys",
                )
            fields: dict[str, Matcher] = {}
            for key, value in spec.items():
                if not isinstance(key, str):
                    raise self.key_error(key, pointer)
                fields[key] = self.compile(
                    value, f"{pointer}/{escape_pointer(key)}", allow_optional=True
                )
            return ObjectMatcher(fields)
        if isinstance(spec, list):
            return ListMatcher(
                tuple(
                    self.compile(item, f"{pointer}/{i}", allow_optional=False)
                    for i, item in enumerate(spec)
                )
            )
        self.literal(spec, pointer)
        return ExactMatcher(spec)

    def key_error(self, key: object, pointer: str) -> ContractError:
        return self.fail(
            f"object key {_show(key)} is not a string",
            pointer,
            fix=f"quote the key ({str(key)!r}); JSON object keys are strings",
        )

    def literal(self, value: object, pointer: str) -> None:
        """Refuse what no JSON value can be: NaN, ±infinity, non-string object keys."""
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(
                f"{value} is not a JSON number",
                pointer,
                fix="a tool call's arguments are JSON, which has no NaN or infinity; "
                "use {$range: [min, null]} for an open bound",
            )
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise self.key_error(key, pointer)
                self.literal(item, f"{pointer}/{escape_pointer(key)}")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                self.literal(item, f"{pointer}/{index}")

    def matcher(self, key: str, arg: object, pointer: str, *, allow_optional: bool) -> Matcher:
        here = f"{pointer}/{escape_pointer(key)}"
        if key == "$any":
            if arg is not True:
                raise self.fail(
                    f"$any takes true, not {_show(arg)}", here, fix="write {$any: true}"
                )
            return AnyMatcher()
        if key == "$regex":
            if not isinstance(arg, str):
                raise self.fail(f"$regex takes a string, not {_show(arg)}", here)
            try:
                return RegexMatcher(re.compile(arg))
            except re.error as exc:
                raise self.fail(
                    f"invalid regular expression {arg!r}: {exc}",
                    here,
                    fix="write a Python `re` pattern; quote it in YAML",
                ) from None
        if key == "$range":
            return self.range(arg, here)
        if key == "$one_of":
            if not isinstance(arg, list) or not arg:
                raise self.fail(f"$one_of takes a non-empty list, not {_show(arg)}", here)
            return OneOfMatcher(
                tuple(
                    self.compile(item, f"{here}/{i}", allow_optional=False)
                    for i, item in enumerate(arg)
                )
            )
        if key == "$subset":
            if not isinstance(arg, Mapping):
                raise self.fail(f"$subset takes an object, not {_show(arg)}", here)
            fields: dict[str, Matcher] = {}
            for name, value in arg.items():
                if not isinstance(name, str):
                    raise self.key_error(name, here)
                fields[name] = self.compile(
                    value, f"{here}/{escape_pointer(name)}", allow_optional=True
                )
            return SubsetMatcher(fields)
        if key == "$text":
            if not isinstance(arg, str):
                raise self.fail(f"$text takes a string, not {_show(arg)}", here)
            return TextMatcher(arg)
        if key == "$optional":
            if not allow_optional:
                raise self.fail(
                    "$optional only makes sense for an argument or an object key",
                    here,
                    fix="move $optional up to the argument, or remove it",
                )
            return OptionalMatcher(self.compile(arg, here, allow_optional=False))
        if key == "$exact":
            self.literal(arg, here)
            return ExactMatcher(arg)
        close = difflib.get_close_matches(key, MATCHER_KEYS, n=1)
        raise self.fail(
            f"unknown matcher {key!r}",
            here,
            fix=f"did you mean {close[0]!r}?"
            if close
            else f"use one of {', '.join(MATCHER_KEYS)}, or {{$exact: ...}} for a literal",
        )

    def range(self, arg: object, here: str) -> Matcher:
        fix = "write {$range: [min, max]}, with null for an open end"
        if not isinstance(arg, list) or len(arg) != 2:
            raise self.fail(f"$range takes [min, max], not {_show(arg)}", here, fix=fix)
        bounds: list[float | int | None] = []
        for index, bound in enumerate(arg):
            if bound is None:
                bounds.append(None)
            elif isinstance(bound, int | float) and not isinstance(bound, bool):
                if isinstance(bound, float) and math.isnan(bound):
                    raise self.fail("$range bound is NaN", f"{here}/{index}", fix=fix)
                if isinstance(bound, float) and math.isinf(bound):
                    raise self.fail(
                        f"$range bound {bound} is not a JSON number",
                        f"{here}/{index}",
                        fix="write null for an open end",
                    )
                bounds.append(bound)
            else:
                raise self.fail(
                    f"$range bound {_show(bound)} is not a number or null",
                    f"{here}/{index}",
                    fix=fix,
                )
        low, high = bounds
        if low is not None and high is not None and low > high:
            raise self.fail(
                f"$range minimum {low} is above its maximum {high}",
                here,
                fix="put the smaller bound first",
            )
        return RangeMatcher(low, high)


def compile_arguments(
    spec: object, *, path: str, pointer: str, lines: Mapping[str, int] | None = None
) -> dict[str, Matcher]:
    """Compile a call's ``args`` object: argument name → matcher.

    Raises:
        ContractError: ``args`` is not an object, or a matcher in it is malformed.
    """
    compiler = _Compiler(path, lines or {})
    if not isinstance(spec, Mapping):
        raise compiler.fail(f"args must be an object, not {_show(spec)}", pointer)
    out: dict[str, Matcher] = {}
    for key, value in spec.items():
        if not isinstance(key, str):
            raise compiler.fail(
                f"argument name {_show(key)} is not a string",
                pointer,
                fix=f"quote the name ({str(key)!r}); argument names are strings",
            )
        out[key] = compiler.compile(value, f"{pointer}/{escape_pointer(key)}", allow_optional=True)
    return out
