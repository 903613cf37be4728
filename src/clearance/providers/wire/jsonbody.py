"""JSON bodies read fast and exactly: orjson, unless it would change a number.

orjson is several times faster than the standard library, but it reads an integer past
64 bits as a float (``18446744073709551616`` becomes ``1.8446744073709552e19``) and
refuses ``NaN`` / ``Infinity``. A tool call's arguments are data the model chose — an
account number, an id — so :func:`loads` gives such text to the standard library, which
reads it exactly. The check is one scan for a run of 19 digits (every integer past 64
bits has at least 20), cheap beside the decoding itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["loads"]

_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


def loads(text: str | bytes) -> Any:
    """The decoded JSON, numbers exact.

    Raises:
        ValueError: not JSON (a :class:`json.JSONDecodeError`, or a
            :class:`UnicodeDecodeError` for bytes that are not UTF-8).
        RecursionError: nested deeper than the standard library reads.
    """
    pattern = _LONG_DIGITS_BYTES if isinstance(text, bytes) else _LONG_DIGITS
    if pattern.search(text) is None:  # type: ignore[arg-type]
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity...: the standard library reads them
    return json.loads(text)
