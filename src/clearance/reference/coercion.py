"""Making values fit a JSON Schema: stand-ins, typed strings, numbers, enums, bounds.

:mod:`clearance.reference.arguments` finds values in the text; this module turns
them into what the schema wants: an email, URL or ISO date written the way the
``format`` says, a number parsed from its digits, an enum value matched ignoring
case, a string padded or cut to its length bounds, a number clamped to its range
and step, an array cut or padded to its item counts. A required property nothing
gives gets a type-correct stand-in (:func:`placeholder`).
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from clearance.reference.evidence import parse_flag
from clearance.reference.text import name_words, wordset

__all__ = [
    "MISSING",
    "as_format",
    "conform",
    "conform_array",
    "enum_match",
    "kind_of",
    "matches",
    "parse_number",
    "placeholder",
    "scalar",
    "string_hint",
]

MISSING: Any = object()
"""Nothing found (a sentinel; ``None`` is a JSON value)."""

_DATE_WORDS = wordset("date day deadline due birthday when")
_URL_WORDS = wordset("url uri link website homepage endpoint href")
_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


def placeholder(schema: Mapping[str, Any], index: int = 0) -> Any:
    """A type-correct stand-in: ``default``, first ``enum``, ``examples[0]``, or by type."""
    if index == 0:
        if "default" in schema:
            return schema["default"]
        if schema.get("enum"):
            return schema["enum"][0]
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return examples[0]
    if "const" in schema:
        return schema["const"]
    kind = kind_of(schema)
    if kind == "string":
        by_format = {
            "email": f"user{index or ''}@example.com",
            "uri": f"https://example.com/{index or ''}",
            "url": f"https://example.com/{index or ''}",
            "date": f"2024-01-{index + 1:02d}",
            "date-time": f"2024-01-{index + 1:02d}T00:00:00Z",
            "time": "00:00:00",
            "uuid": f"00000000-0000-4000-8000-{index:012d}",
        }
        return by_format.get(str(schema.get("format")), "example" + (f" {index}" if index else ""))
    if kind in ("integer", "number"):
        return index + 1
    if kind == "boolean":
        return index % 2 == 1
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return None


def kind_of(schema: Mapping[str, Any]) -> str:
    """The JSON type to produce (the first non-null one, or inferred from keywords)."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), "null")
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if schema.get("enum"):
        first = schema["enum"][0]
        return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
            type(first), "string"
        )
    return "string"


@functools.lru_cache(maxsize=1_024)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def matches(pattern: str, value: str) -> bool:
    """Whether a value matches a schema ``pattern`` (an unusable pattern matches anything)."""
    compiled = _compiled(pattern)
    return compiled is None or compiled.search(value) is not None


def string_hint(name: str, fmt: Any) -> str | None:
    """``email``, ``uri`` or ``date`` when the format or the property's name says so."""
    if fmt == "email" or fmt == "idn-email":
        return "email"
    if fmt in ("uri", "url", "iri", "uri-reference"):
        return "uri"
    if fmt in ("date", "date-time"):
        return "date"
    if fmt is not None:
        return None
    parts = set(name_words(name))
    if "email" in parts or "emails" in parts:
        return "email"
    if parts & _URL_WORDS:
        return "uri"
    if parts & _DATE_WORDS or name.endswith(("_at", "_on")):
        return "date"
    return None


def as_format(raw: str, hint: str, fmt: Any) -> str | None:
    """A value of the hinted kind, written the way the format wants, or None."""
    if hint == "email":
        match = re.fullmatch(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", raw.strip())
        return match.group() if match else None
    if hint == "uri":
        return raw.strip() if re.fullmatch(r"https?://\S+", raw.strip()) else None
    match = _DATE.match(raw.strip())
    if match is None:
        return None
    day, clock, seconds, zone = match.groups()
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        return None
    if fmt == "date":
        return day
    if fmt == "date-time":
        zone = zone if zone == "Z" or (zone and ":" in zone) else "Z"
        return f"{day}T{clock or '00:00'}{seconds or ':00'}{zone}"
    return match.group()


def parse_number(raw: str, kind: str) -> int | float | None:
    """A finite number written in ``raw`` (``1,250.5``), an integer for ``integer``, or None."""
    try:
        number = float(raw.replace(",", "").strip())
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if number.is_integer():
        return int(number)
    return None if kind == "integer" else number


def enum_match(raw: str, options: list[Any]) -> Any:
    """The enum option ``raw`` names (case, ``-`` and ``_`` ignored), or MISSING."""
    wanted = raw.strip().strip("\"'").lower().replace("-", " ").replace("_", " ")
    for option in options:
        if str(option).lower().replace("-", " ").replace("_", " ") == wanted:
            return option
    return MISSING


def scalar(raw: str, schema: Mapping[str, Any], kind: str) -> Any:
    """One item of a written list as the schema's type wants it, or MISSING."""
    if schema.get("enum"):
        return enum_match(raw, list(schema["enum"]))
    if kind in ("integer", "number"):
        number = parse_number(raw, kind)
        return MISSING if number is None else number
    if kind == "boolean":
        flag = parse_flag(raw)
        return MISSING if flag is None else flag
    if kind == "string":
        hint = string_hint("", schema.get("format"))
        if hint is None:
            return raw
        typed = as_format(raw, hint, schema.get("format"))
        return MISSING if typed is None else typed
    return MISSING


def conform(value: Any, schema: Mapping[str, Any], kind: str) -> Any:
    """A scalar adjusted to the schema's constraints."""
    options = schema.get("enum")
    if options:
        return value if value in options else options[0]
    if kind == "string" and isinstance(value, str):
        return _conform_string(value, schema)
    if kind in ("integer", "number") and _is_number(value):
        return _conform_number(value, schema, kind)
    return value


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _conform_string(value: str, schema: Mapping[str, Any]) -> str:
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not re.search(pattern, value):
        candidates = [schema.get("default"), *(schema.get("examples") or [])]
        value = next((c for c in candidates if isinstance(c, str) and re.search(pattern, c)), value)
    minimum, maximum = schema.get("minLength"), schema.get("maxLength")
    if isinstance(minimum, int) and len(value) < minimum:
        value = value + "x" * (minimum - len(value))
    if isinstance(maximum, int) and len(value) > maximum:
        value = value[:maximum]
    return value


def _conform_number(value: int | float, schema: Mapping[str, Any], kind: str) -> int | float:
    step = 1 if kind == "integer" else 0.5
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if _is_number(exclusive_low) and value <= exclusive_low:
        value = exclusive_low + step
    if _is_number(exclusive_high) and value >= exclusive_high:
        value = exclusive_high - step
    if _is_number(low) and value < low:
        value = low
    if _is_number(high) and value > high:
        value = high
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    if kind == "integer":
        return math.ceil(value)
    return value


def conform_array(
    values: list[Any], schema: Mapping[str, Any], make: Callable[[int], Any]
) -> list[Any]:
    """An array cut or padded (with ``make(index)``) to its item counts, unique if asked."""
    if schema.get("uniqueItems"):
        unique: list[Any] = []
        for value in values:
            if value not in unique:
                unique.append(value)
        values = unique
    maximum, minimum = schema.get("maxItems"), schema.get("minItems")
    if isinstance(maximum, int):
        values = values[:maximum]
    if isinstance(minimum, int):
        index = 0
        while len(values) < minimum and index < minimum + 100:
            candidate = make(index)
            if not schema.get("uniqueItems") or candidate not in values:
                values.append(candidate)
            index += 1
    return values
