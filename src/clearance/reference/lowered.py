"""A native request's tool schemas read back as the JSON Schema the tool was written in.

A client lowers a tool's schema for the protocol it speaks: Gemini's OpenAPI subset
spells types in capitals (``"type": "STRING"``) and has no field for most formats, so
they travel in the description (``"Format: email."``, ``"... (format: date)"``). A
careful model reads the description; so does the simulator, which restores the format
before it plans, and a steady model stays steady on every protocol.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["read_lowered"]

_FORMAT_SAID = re.compile(r"(?:^|\()\s*format: ([A-Za-z][\w-]*)", re.IGNORECASE)
_NESTED = frozenset({"items", "anyOf", "oneOf", "allOf", "additionalProperties", "prefixItems"})


def read_lowered(schema: Any) -> Any:
    """The schema with lower-case types and the formats its descriptions state."""
    if isinstance(schema, list):
        return [read_lowered(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {name: read_lowered(item) for name, item in value.items()}
        elif key in _NESTED:
            out[key] = read_lowered(value)
        else:
            out[key] = value
    description = schema.get("description")
    if "format" not in schema and isinstance(description, str):
        said = _FORMAT_SAID.search(description)
        if said is not None:
            out["format"] = said.group(1).lower()
    return out
