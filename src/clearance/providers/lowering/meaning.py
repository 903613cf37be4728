"""What a lowered schema means, read back as JSON Schema 2020-12.

A schema sent to Gemini is in its OpenAPI subset: ``nullable: true`` where JSON Schema
says a null type. Reading it back lets the sent schema be validated like any other: the
scorer asks whether the schema the model saw accepts what it sent, and the lowering tests
check that lowering only relaxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["gemini_as_json_schema"]


def gemini_as_json_schema(schema: Any) -> Any:
    """What a Gemini ``Schema`` means, as JSON Schema 2020-12: ``nullable: true`` becomes a
    null type (or a null alternative); the fields JSON Schema lacks are left out."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("nullable", "example", "propertyOrdering"):
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: gemini_as_json_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = gemini_as_json_schema(value)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [gemini_as_json_schema(sub) for sub in value]
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif isinstance(out.get("anyOf"), list):
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
    return out
