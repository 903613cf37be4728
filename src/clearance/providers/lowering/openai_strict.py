"""Lowering for OpenAI strict mode (``strict: true``): the Structured Outputs subset.

Every object is closed (``additionalProperties: false``) and lists every property in
``required``, an optional one made nullable (the model sends ``null`` to leave it out);
``allOf`` is merged, ``oneOf`` sent as ``anyOf``, the keywords strict mode refuses or
does not document are dropped, and so are formats it does not support. ``$ref`` and
``$defs`` stay (strict mode takes them). The size limits cannot be lowered away: the lint
keeps reporting a schema over them. What strict mode accepts, and the sources, is
:mod:`clearance.providers.profiles`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearance.providers.lowering.losses import Notes, join
from clearance.providers.lowering.schema import Merged, Surgery, accepts_null, is_object
from clearance.providers.profiles import (
    OPENAI_FORMATS,
    OPENAI_KEYWORD_ERRORS,
    OPENAI_KEYWORD_WARNINGS,
)

__all__ = ["lower_openai_strict"]

_MAPS = ("$defs", "definitions")


def lower_openai_strict(schema: Mapping[str, Any], notes: Notes) -> dict[str, Any]:
    """The schema strict mode takes for a function's ``parameters``; losses go to ``notes``."""
    surgery = Surgery(schema, notes)
    return _Strict(surgery, notes).merged(surgery.root_object(schema))


class _Strict:
    def __init__(self, surgery: Surgery, notes: Notes) -> None:
        self.surgery = surgery
        self.notes = notes

    def node(self, schema: Any, path: str) -> Any:
        if not isinstance(schema, Mapping):
            return schema
        if isinstance(schema.get("allOf"), list):
            parts, _ = self.surgery.flatten(schema, path, (), inline_refs=True)
            self.notes.add(
                path,
                "allOf",
                "changed",
                "allOf is merged into one schema (strict mode refuses allOf)",
                loosens=False,
            )
            return self.merged(self.surgery.merge(parts, path))
        return self.merged(Merged(dict(schema), path=path))

    def merged(self, m: Merged) -> dict[str, Any]:
        s = m.schema
        out: dict[str, Any] = {}
        for key, value in s.items():
            at = m.at(key)
            if key == "oneOf" and isinstance(value, list) and "anyOf" not in s:
                out["anyOf"] = self.branches(value, at, key)
                self.notes.add(
                    at,
                    key,
                    "changed",
                    "oneOf is sent as anyOf (strict mode refuses oneOf): the model may send "
                    "a value that matches more than one alternative",
                )
            elif key in OPENAI_KEYWORD_ERRORS:
                self.notes.add(
                    at, key, "dropped", f"{key} is not sent: {OPENAI_KEYWORD_ERRORS[key]}"
                )
            elif key in OPENAI_KEYWORD_WARNINGS:
                self.notes.add(
                    at, key, "dropped", f"{key} is not sent: {OPENAI_KEYWORD_WARNINGS[key]}"
                )
            elif key == "format" and value not in OPENAI_FORMATS:
                self.notes.add(
                    at,
                    key,
                    "dropped",
                    f"format {value!r} is not sent (strict mode supports "
                    f"{', '.join(sorted(OPENAI_FORMATS))}): the model may send any string here",
                )
            elif key == "anyOf" and isinstance(value, list):
                out[key] = self.branches(value, at, key)
            elif key == "properties" and isinstance(value, Mapping):
                out[key] = {
                    name: self.node(sub, m.property_path(name)) for name, sub in value.items()
                }
            elif key in _MAPS and isinstance(value, Mapping):
                out[key] = {
                    name: self.node(sub, join(at, key, name)) for name, sub in value.items()
                }
            elif key == "items" and isinstance(value, list):
                self.notes.add(
                    at,
                    key,
                    "dropped",
                    "items as a list (one schema per position) is not sent: the items are "
                    "not checked",
                )
            elif key in ("items", "additionalProperties"):
                out[key] = self.node(value, join(at, key))
            else:
                out[key] = value
        if is_object(s):
            self.close(m, out)
        return out

    def branches(self, branches: list[Any], at: str, key: str) -> list[Any]:
        paths = self.surgery.branch_paths(branches, at, key)
        return [self.node(b, p) for b, p in zip(branches, paths, strict=True)]

    def close(self, m: Merged, out: dict[str, Any]) -> None:
        """Every property required (optional ones nullable), no other key allowed."""
        s = m.schema
        properties: dict[str, Any] = out.setdefault("properties", {})
        if s.get("additionalProperties") is not False:
            self.notes.add(
                m.at("additionalProperties") if "additionalProperties" in s else m.path,
                "additionalProperties",
                "narrowed",
                "strict mode closes every object (additionalProperties: false): the model can "
                "send only the declared keys"
                + ("" if properties else ", and this object declares none"),
            )
        out["additionalProperties"] = False
        found = s.get("required")
        listed: list[Any] = found if isinstance(found, list) else []
        undeclared = [name for name in listed if name not in properties]
        if undeclared:
            self.notes.add(
                m.at("required"),
                "required",
                "dropped",
                f"required {', '.join(map(str, undeclared))} are not declared properties, so "
                "strict mode cannot list them: the model may leave them out",
            )
        for name, schema in properties.items():
            if name in listed:
                continue
            already = accepts_null(schema)
            properties[name] = schema if already else _nullable(schema)
            self.notes.add(
                m.property_path(name),
                "type",
                "changed",
                "optional: sent as required"
                + ("" if already else " and nullable")
                + ", so the model sends null to leave it out",
                loosens=not already,
            )
        out["required"] = list(properties)


def _nullable(schema: Any) -> Any:
    """``schema`` or null."""
    if not isinstance(schema, Mapping) or "const" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    declared = schema.get("type")
    out = dict(schema)
    if isinstance(declared, str):
        out["type"] = [declared, "null"]
    elif isinstance(declared, list):
        out["type"] = [*declared, "null"]
    elif isinstance(schema.get("anyOf"), list) and set(schema) <= {"anyOf", "description", "title"}:
        out["anyOf"] = [*schema["anyOf"], {"type": "null"}]
        return out
    else:
        return {"anyOf": [schema, {"type": "null"}]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out
