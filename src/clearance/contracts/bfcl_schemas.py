"""BFCL's parameter schemas: as the contract shows them, and as BFCL's checker reads them.

- :func:`convert_parameters`: a Python category's ``parameters`` as JSON Schema 2020-12
  (``dict`` → ``object``, ``float`` → ``number``, ``tuple`` → ``array``, ``any`` → no
  type; BFCL's ``optional`` keyword dropped; everything else kept as written).
- :func:`source_text_parameters`: a Java or JavaScript category's ``parameters`` as BFCL
  shows them to function-calling models (bfcl-eval's
  ``_func_doc_language_specific_pre_processing``): every parameter a ``string`` of source
  text, its declared type said in its description.
- :func:`declared_function`: what the ``bfcl`` profile's answer key keeps of a function:
  each parameter's BFCL type (and an array's element type) and the required ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from clearance.errors import SourceFormatError
from clearance.flows.bfcl.key import BfclFunction, BfclParameter

__all__ = ["convert_parameters", "declared_function", "source_text_parameters"]

_TYPES = {
    "dict": "object",
    "object": "object",
    "float": "number",
    "number": "number",
    "integer": "integer",
    "int": "integer",
    "boolean": "boolean",
    "bool": "boolean",
    "string": "string",
    "str": "string",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "null": "null",
}
_DROPPED_KEYWORDS = frozenset({"optional"})


def convert_parameters(schema: Any, *, source: str = "", pointer: str = "") -> dict[str, Any]:
    """A BFCL parameter schema as JSON Schema 2020-12 (see the module docstring).

    Raises:
        SourceFormatError: a schema that is not an object, or an unknown type name.
    """
    converted = _convert_schema(schema, source, pointer)
    converted.setdefault("type", "object")
    return converted


def _convert_type(value: Any, source: str, pointer: str) -> Any:
    if isinstance(value, list):
        mapped = [_convert_type(v, source, pointer) for v in value]
        return None if None in mapped else list(dict.fromkeys(mapped))
    if value == "any":
        return None
    if isinstance(value, str) and value in _TYPES:
        return _TYPES[value]
    raise SourceFormatError(
        f"unknown BFCL type {value!r}",
        source=source,
        pointer=pointer,
        fix=f"known types: {', '.join(sorted({*_TYPES, 'any'}))}",
    )


def _convert_schema(schema: Any, source: str, pointer: str) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise SourceFormatError(
            f"a schema must be an object, got {type(schema).__name__}",
            source=source,
            pointer=pointer,
        )
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key == "type":
            mapped = _convert_type(value, source, f"{pointer}/type")
            if mapped is not None:
                out["type"] = mapped
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {
                name: _convert_schema(sub, source, f"{pointer}/properties/{name}")
                for name, sub in value.items()
            }
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _convert_schema(value, source, f"{pointer}/{key}")
        elif key == "items" and isinstance(value, list):
            out["prefixItems"] = [
                _convert_schema(sub, source, f"{pointer}/items/{i}") for i, sub in enumerate(value)
            ]
        else:
            out[key] = value
    return out


def source_text_parameters(schema: Any, language: str, source: str, pointer: str) -> Any:
    """A Java or JavaScript parameter schema as BFCL shows it to function-calling models:
    every parameter a string of source text, its type said in its description."""
    if not isinstance(schema, Mapping):
        raise SourceFormatError("a schema must be an object", source=source, pointer=pointer)
    name = "Java" if language == "java" else "JavaScript"
    properties: dict[str, Any] = {}
    for parameter, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, Mapping):
            raise SourceFormatError(
                "a parameter must be an object", source=source, pointer=f"{pointer}/{parameter}"
            )
        declared = spec.get("type")
        text = str(spec.get("description") or "")
        if declared == "any":
            text += f" This parameter can be of any type of {name} object in string representation."
        else:
            text += f" This is {name} {declared} type parameter in string representation."
        items = spec.get("items")
        if declared in ("ArrayList", "Array", "array") and isinstance(items, Mapping):
            text += (
                f" The list elements are of type {items.get('type')}; they are not in string "
                "representation."
            )
        if language == "javascript" and declared == "dict" and "properties" in spec:
            text += (
                " The dictionary entries have the following schema; they are not in string "
                f"representation. {json.dumps(spec['properties'])}"
            )
        properties[str(parameter)] = {"type": "string", "description": text.strip()}
    converted: dict[str, Any] = {"type": "object", "properties": properties}
    if schema.get("required"):
        converted["required"] = list(schema["required"])
    return converted


def declared_function(parameters: Any) -> BfclFunction:
    properties: dict[str, BfclParameter] = {}
    for name, spec in ((parameters or {}).get("properties") or {}).items():
        if not isinstance(spec, Mapping):
            continue
        declared = spec.get("type")
        items = spec.get("items")
        item_type = items.get("type") if isinstance(items, Mapping) else None
        properties[str(name)] = BfclParameter(
            declared if isinstance(declared, str) else json.dumps(declared),
            item_type if isinstance(item_type, str) else None,
        )
    required = (parameters or {}).get("required") or []
    return BfclFunction(properties, tuple(str(r) for r in required))
