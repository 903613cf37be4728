"""Lowering for Anthropic: the top level made one object, remote ``$ref`` dropped.

Anthropic's ``input_schema`` is JSON Schema 2020-12; it refuses a top level that is not
``type: object`` and ``anyOf``/``oneOf``/``allOf`` at the top level. The top level is
merged into one object (alternatives joined, see
:meth:`~clearance.providers.lowering.schema.Surgery.root_object`); below it the schema is
sent as written, except a ``$ref`` outside the schema, which Anthropic does not fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearance.providers.lowering.losses import Notes, join
from clearance.providers.lowering.schema import Merged, Surgery

__all__ = ["lower_anthropic"]

_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
)


def lower_anthropic(schema: Mapping[str, Any], notes: Notes) -> dict[str, Any]:
    """The ``input_schema`` Anthropic takes; losses go to ``notes``."""
    surgery = Surgery(schema, notes)
    root = surgery.root_object(schema)
    out: dict[str, Any] = _walk(root.schema, "", surgery, notes, root)
    return out


def _walk(schema: Any, path: str, surgery: Surgery, notes: Notes, m: Merged | None = None) -> Any:
    """``schema`` with every remote ``$ref`` left out (``m``: the root's origins)."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        at = m.at(key) if m is not None else path
        if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
            notes.add(
                at,
                "$ref",
                "dropped",
                f"$ref {value!r} points outside the schema, which Anthropic does not fetch: "
                "it is not sent, so the model may send anything here",
            )
        elif key in _MAPS and isinstance(value, Mapping):
            out[key] = {
                name: _walk(
                    sub,
                    m.property_path(name)
                    if m is not None and key == "properties"
                    else join(at, key, name),
                    surgery,
                    notes,
                )
                for name, sub in value.items()
            }
        elif key in _LISTS and isinstance(value, list):
            paths = surgery.branch_paths(value, at, key)
            out[key] = [_walk(b, p, surgery, notes) for b, p in zip(value, paths, strict=True)]
        elif key in _ONE:
            out[key] = _walk(value, join(at, key), surgery, notes)
        else:
            out[key] = value
    return out
