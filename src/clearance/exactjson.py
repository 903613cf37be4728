"""Exact JSON: numbers decoded as :class:`~decimal.Decimal`, read back without loss.

A price list is money: its numbers are decoded with ``parse_float=Decimal``
(:func:`loads_exact`) so none passes through a binary float, then read as decimals
(:func:`parse_decimal`) or counts (:func:`parse_count`) with an error that names the JSON
pointer, and written back to JSON with the decimals as strings (:func:`jsonable`).
:mod:`clearance.discovery`, :mod:`clearance.native_models` and
:mod:`clearance.litellm_table` read their documents through it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from clearance.errors import SourceFormatError

__all__ = ["jsonable", "loads_exact", "parse_count", "parse_decimal"]


def loads_exact(text: str | bytes, *, source: str) -> Any:
    """Decode JSON with every non-integer number as a :class:`Decimal`.

    Raises:
        SourceFormatError: not JSON; names the line and column.
    """
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            source=source,
        ) from None
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"not UTF-8 text: {exc.reason}", source=source) from None


def parse_decimal(value: Any, *, source: str, pointer: str) -> Decimal:
    """A decimal from a JSON string or number, never through float.

    Raises:
        SourceFormatError: not a number, or a float (the JSON was parsed lossily).
    """
    if isinstance(value, bool | float):
        raise SourceFormatError(
            f"{value!r} is a {type(value).__name__}, not an exact decimal",
            source=source,
            pointer=pointer,
            fix="parse the JSON with parse_float=Decimal, or write prices as strings",
        )
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise SourceFormatError(
                f"{value!r} is not a decimal number", source=source, pointer=pointer
            ) from None
    else:
        raise SourceFormatError(
            f"expected a decimal string, found {type(value).__name__}",
            source=source,
            pointer=pointer,
        )
    if not result.is_finite():
        raise SourceFormatError(f"{value!r} is not finite", source=source, pointer=pointer)
    return result


def parse_count(value: Any, *, source: str, pointer: str) -> int | None:
    """A non-negative whole number (a token limit, a count), or ``None`` for JSON null.

    Raises:
        SourceFormatError: not a whole number >= 0; names the pointer.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise SourceFormatError(
            f"expected an integer, found {value!r}", source=source, pointer=pointer
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise SourceFormatError(
            f"{value!r} is not an integer", source=source, pointer=pointer
        ) from None
    if number != number.to_integral_value() or number < 0:
        raise SourceFormatError(
            f"{value!r} is not a non-negative integer", source=source, pointer=pointer
        )
    return int(number)


def jsonable(value: Any) -> Any:
    """The entry with Decimals back as strings, for a JSON column."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
