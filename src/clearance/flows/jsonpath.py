"""A tiny JSON path subset for final-answer assertions: ``$.a.b[0].c``, ``$['a b']``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonPath", "JsonPathError", "parse_json_path"]

_NAME = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)")
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r"""\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]""")


class JsonPathError(ValueError):
    """A path outside the supported subset (turned into a ContractError by the loader)."""


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path: a sequence of object keys (str) and list indexes (int)."""

    text: str
    steps: tuple[str | int, ...]

    def find(self, document: object) -> tuple[bool, Any]:
        """(found, value) of the path in ``document``."""
        value: object = document
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(value, Mapping) or step not in value:
                    return False, None
                value = value[step]
            else:
                if not isinstance(value, list) or not -len(value) <= step < len(value):
                    return False, None
                value = value[step]
        return True, value


def parse_json_path(text: str) -> JsonPath:
    """Parse ``$``, then any of ``.name``, ``[n]``, ``['key']`` / ``["key"]``.

    Raises:
        JsonPathError: anything else (wildcards, filters, slices, recursive descent).
    """
    if not text.startswith("$"):
        raise JsonPathError("a path starts with '$'")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        if match := _NAME.match(text, position):
            steps.append(match.group(1))
        elif match := _INDEX.match(text, position):
            steps.append(int(match.group(1)))
        elif match := _QUOTED.match(text, position):
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            steps.append(re.sub(r"\\(.)", r"\1", raw))
        else:
            raise JsonPathError(
                f"unsupported syntax at {text[position:]!r} "
                "(only .name, [index] and ['key'] are supported)"
            )
        position = match.end()
    return JsonPath(text, tuple(steps))
