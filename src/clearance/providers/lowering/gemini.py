"""Lowering for Gemini: JSON Schema 2020-12 into the OpenAPI 3.0 subset of Gemini's ``Schema``.

Every subschema is sent with one ``type`` (``nullable: true`` for null) or as ``anyOf``
typed branches; ``$ref`` is inlined (a recursive one is cut after
:data:`~clearance.providers.lowering.schema.MAX_REF_REPEATS` levels), ``allOf`` merged,
``oneOf`` sent as ``anyOf``, ``const`` as a one-value ``enum`` (strings) or a closed range
(numbers), exclusive bounds as inclusive ones (exact for integers). What Gemini has no
field for (``additionalProperties``, most formats, ``not``, ``if``...) is dropped; each
step is a :class:`~clearance.providers.lowering.losses.Loss`. What Gemini accepts, and the
sources, is :mod:`clearance.providers.profiles`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from clearance.providers.lowering.losses import Notes, join
from clearance.providers.lowering.schema import (
    Merged,
    Surgery,
    json_equal,
    json_type,
    types_of,
)
from clearance.providers.profiles import (
    GEMINI_ANY_TYPES,
    GEMINI_FORMATS,
    GEMINI_NOISE,
    GEMINI_PLACEHOLDER,
)

__all__ = ["lower_gemini"]

_KINDS = ("string", "integer", "number", "boolean", "array", "object")
_ANNOTATIONS = ("description", "default", "example", "examples")
_ALTERNATIVES = ("anyOf", "oneOf")
_TYPED = {
    "string": ("minLength", "maxLength", "pattern"),
    "integer": ("minimum", "maximum"),
    "number": ("minimum", "maximum"),
    "boolean": (),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties", "propertyOrdering"),
}
"""Keywords Gemini takes as they are, by type."""
_UNSENT = {
    "integer": {"multipleOf": "the model may send any integer in range"},
    "number": {"multipleOf": "the model may send any number in range"},
    "array": {
        "uniqueItems": "the model may repeat items",
        "contains": "no item has to match it",
        "minContains": "no item has to match contains",
        "maxContains": "any number of items may match contains",
        "prefixItems": "the leading items are checked only against items",
        "unevaluatedItems": "extra items are not checked",
    },
    "object": {
        "patternProperties": "keys matching the pattern are not checked",
        "propertyNames": "any key name may be used",
        "dependentRequired": "a property may come without the ones it requires",
        "dependentSchemas": "a property may come without what it requires",
        "unevaluatedProperties": "extra keys are not checked",
    },
}
"""Keywords Gemini has no field for, by type, with what the model may now do."""
_ANYWHERE = {
    "not": "the model may send what it excludes",
    "if": "the condition is not sent",
    "then": "the model may break what it requires",
    "else": "the model may break what it requires",
}
_INFER = (
    (
        "object",
        ("properties", "required", "additionalProperties", "minProperties", "maxProperties"),
    ),
    ("array", ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")),
    ("string", ("minLength", "maxLength", "pattern")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)
_KNOWN = frozenset(
    {
        "type",
        "enum",
        "const",
        "nullable",
        "format",
        "items",
        "properties",
        "required",
        "additionalProperties",
        "exclusiveMinimum",
        "exclusiveMaximum",
        *_ANNOTATIONS,
        *_ALTERNATIVES,
        *_ANYWHERE,
        *GEMINI_NOISE,
        *(k for keys in _TYPED.values() for k in keys),
        *(k for keys in _UNSENT.values() for k in keys),
    }
)


def lower_gemini(schema: Mapping[str, Any], notes: Notes) -> dict[str, Any]:
    """The Gemini ``Schema`` for a tool's ``parameters``; losses go to ``notes``."""
    return _Gemini(schema, notes).lower()


class _Gemini:
    def __init__(self, root: Mapping[str, Any], notes: Notes) -> None:
        self.notes = notes
        self.surgery = Surgery(root, notes)

    def lower(self) -> dict[str, Any]:
        return self.merged(self.surgery.root_object(self.surgery.root), (), top=True)

    # -- a subschema ----------------------------------------------------------------------

    def node(self, schema: Any, path: str, refs: tuple[str, ...]) -> dict[str, Any]:
        parts, chain = self.surgery.flatten(schema, path, refs, inline_refs=True)
        return self.merged(self.surgery.merge(parts, path), chain)

    def merged(self, m: Merged, refs: tuple[str, ...], *, top: bool = False) -> dict[str, Any]:
        s = m.schema
        for key in s:
            if key in GEMINI_NOISE:
                self.notes.add(m.at(key), key, "dropped", GEMINI_NOISE[key], loosens=False)
            elif key in _ANYWHERE:
                self.notes.add(m.at(key), key, "dropped", f"{key} is not sent: {_ANYWHERE[key]}")
            elif key not in _KNOWN:
                self.notes.add(m.at(key), key, "dropped", f"Gemini's Schema has no {key!r}")
        if any(isinstance(s.get(k), list) for k in _ALTERNATIVES):
            return self.alternatives(m, refs)
        return self.typed_node(m, refs, top=top)

    def alternatives(self, m: Merged, refs: tuple[str, ...]) -> dict[str, Any]:
        s = m.schema
        key = "anyOf" if isinstance(s.get("anyOf"), list) else "oneOf"
        if key == "anyOf" and "oneOf" in s:
            self.notes.add(
                m.at("oneOf"),
                "oneOf",
                "dropped",
                "Gemini takes one set of alternatives (anyOf): this oneOf is not sent",
            )
        elif key == "oneOf":
            self.notes.add(
                m.at("oneOf"),
                "oneOf",
                "changed",
                "oneOf is sent as anyOf (Gemini has no oneOf): the model may send a value "
                "that matches more than one alternative",
            )
        branches: list[Any] = s[key]
        outer = {k: s[k] for k in _ANNOTATIONS if k in s}
        rest: dict[str, dict[str, Any]] = {}
        for k, v in s.items():
            if k not in _ALTERNATIVES and k not in outer:
                rest.setdefault(m.at(k), {})[k] = v
        shared = list(rest.items())
        at = m.at(key)
        lowered: list[dict[str, Any]] = []
        nullable = False
        for branch, where in zip(
            branches, self.surgery.branch_paths(branches, at, key), strict=True
        ):
            parts, chain = self.surgery.flatten(branch, where, refs, inline_refs=True)
            both = Merged({}, path=where)
            for path, part in shared:
                self.surgery.merge_into(both, part, path, m.properties)
            for part, path in parts:
                self.surgery.merge_into(both, part, path)
            if _only_null(both.schema):
                nullable = True
                continue
            lowered.append(self.merged(both, chain))
        if nullable:
            self.notes.add(
                at,
                key,
                "changed",
                "the null alternative is sent as nullable: true",
                loosens=False,
            )
        if not lowered:
            return self.any(m, "every alternative is null; Gemini has no null type")
        if nullable:
            for branch in lowered:
                _make_nullable(branch)
        if len(lowered) == 1:
            only = lowered[0]
            self.annotate(m, only)
            return only
        out: dict[str, Any] = {"anyOf": lowered}
        self.annotate(m, out)
        return out

    def typed_node(self, m: Merged, refs: tuple[str, ...], *, top: bool) -> dict[str, Any]:
        s = m.schema
        types = types_of(s)
        values = _values(s)
        nullable = ("null" in types if types else True) and (values is None or None in values)
        nullable = nullable or s.get("nullable") is True
        kinds = [t for t in dict.fromkeys(types) if t in _KINDS]
        if not kinds and values is not None:
            kinds = list(dict.fromkeys(json_type(v) for v in values if v is not None))
        if not kinds and "type" not in s:
            kinds = [kind for kind, keys in _INFER if any(k in s for k in keys)]
            fmt = s.get("format")
            if not kinds and isinstance(fmt, str):
                kinds = ["number" if fmt in ("float", "double", "int32", "int64") else "string"]
            if kinds:
                self.notes.add(
                    m.path,
                    "type",
                    "narrowed",
                    f"no type: Gemini needs one, and it is sent as {' or '.join(kinds)} "
                    "(from its other keywords), so the model cannot send another type here",
                )
        if not kinds:
            if types == ["null"]:
                return self.any(m, "type null: Gemini has no null type", narrowed=False)
            return self.any(m, "any value: Gemini needs a type")
        if "integer" in kinds and "number" in kinds:
            kinds.remove("integer")
        if isinstance(s.get("type"), list) and len(s["type"]) > 1:
            sent = " or ".join(kinds) + (", nullable" if nullable else "")
            self.notes.add(
                m.at("type"),
                "type",
                "changed",
                f"type {s['type']} is sent as {sent} (Gemini takes one type)",
                loosens=False,
            )
        if len(kinds) == 1:
            out = self.typed(kinds[0], m, refs, values, top=top)
            self.annotate(m, out)
        else:
            out = {"anyOf": [self.typed(kind, m, refs, values, top=False) for kind in kinds]}
            self.annotate(m, out)
        if nullable:
            _make_nullable(out)
        return out

    # -- one type -------------------------------------------------------------------------

    def typed(
        self, kind: str, m: Merged, refs: tuple[str, ...], values: list[Any] | None, *, top: bool
    ) -> dict[str, Any]:
        s = m.schema
        out: dict[str, Any] = {"type": kind}
        for key in _TYPED[kind]:
            if key in s:
                out[key] = s[key]
        for key, consequence in _UNSENT.get(kind, {}).items():
            if key in s:
                self.notes.add(m.at(key), key, "dropped", f"{key} is not sent: {consequence}")
        self.format(kind, m, out)
        if kind in ("integer", "number"):
            self.bounds(kind, m, out)
        elif kind == "array":
            self.array(m, refs, out)
        elif kind == "object":
            self.object(m, refs, out, top=top)
        if values is not None:
            self.values(kind, m, values, out)
        return out

    def format(self, kind: str, m: Merged, out: dict[str, Any]) -> None:
        fmt = m.schema.get("format")
        if not isinstance(fmt, str):
            return
        if fmt in GEMINI_FORMATS.get(kind, ()):
            out["format"] = fmt
            return
        if kind not in ("string", "integer", "number"):
            return  # a format on another type refuses nothing
        self.notes.add(
            m.at("format"),
            "format",
            "dropped",
            f"format {fmt!r} is not sent (Gemini takes "
            f"{', '.join(sorted(GEMINI_FORMATS.get(kind, ()))) or 'none'} on a {kind}); it is "
            "named in the description, and the model may send any "
            f"{kind} here",
        )
        out["description"] = _with_format(m.schema.get("description"), fmt)

    def bounds(self, kind: str, m: Merged, out: dict[str, Any]) -> None:
        s = m.schema
        for key, inclusive, step in (
            ("exclusiveMinimum", "minimum", 1),
            ("exclusiveMaximum", "maximum", -1),
        ):
            bound = s.get(key)
            if not _number(bound):
                if key in s:
                    self.notes.add(m.at(key), key, "dropped", f"{key} {bound!r} is not a number")
                continue
            current = out.get(inclusive)
            if _number(current) and (current > bound if step == 1 else current < bound):
                self.notes.add(
                    m.at(key),
                    key,
                    "dropped",
                    f"{key} {bound} is not sent: {inclusive} {current} already excludes it",
                    loosens=False,
                )
                continue
            if kind == "integer":
                value = math.floor(bound) + 1 if step == 1 else math.ceil(bound) - 1
                out[inclusive] = value
                self.notes.add(
                    m.at(key),
                    key,
                    "changed",
                    f"{key} {bound} is sent as {inclusive} {value} (Gemini has no exclusive "
                    "bounds; the same integers pass)",
                    loosens=False,
                )
                continue
            out[inclusive] = bound
            self.notes.add(
                m.at(key),
                key,
                "changed",
                f"{key} {bound} is sent as {inclusive} {bound} (Gemini has no exclusive "
                f"bounds): the bound is now inclusive, so the model may send exactly {bound}",
            )

    def array(self, m: Merged, refs: tuple[str, ...], out: dict[str, Any]) -> None:
        s = m.schema
        items = s.get("items")
        where = join(m.at("items"), "items")
        if items is False:
            if "prefixItems" in s:
                self.notes.add(
                    m.at("items"),
                    "items",
                    "dropped",
                    "items: false after prefixItems is not sent: the model may add items",
                )
            else:
                out["maxItems"] = 0
            out["items"] = self.any(Merged({}, path=where), "items: false", notes=False)
        elif isinstance(items, Mapping) or items is True:
            out["items"] = self.node(items, where, refs)
        elif isinstance(items, list):
            self.notes.add(
                m.at("items"),
                "items",
                "dropped",
                "items as a list (one schema per position) is not sent: the items are not checked",
            )
            out["items"] = self.any(Merged({}, path=where), "an item")
        else:
            out["items"] = self.any(
                Merged({}, path=where), "an array without items: Gemini needs items"
            )

    def object(self, m: Merged, refs: tuple[str, ...], out: dict[str, Any], *, top: bool) -> None:
        s = m.schema
        declared = s.get("properties")
        properties: dict[str, Any] = {}
        if isinstance(declared, Mapping):
            for name, schema in declared.items():
                where = m.property_path(name)
                if schema is False:
                    self.notes.add(
                        where,
                        "false",
                        "dropped",
                        f"property {name!r} may not be sent (false), which Gemini cannot "
                        "say: the model may send it",
                    )
                    continue
                properties[name] = self.node(schema, where, refs)
        required = s.get("required")
        extra = s.get("additionalProperties")
        if isinstance(required, list):
            missing = [n for n in required if isinstance(n, str) and n not in properties]
            # a name declared false, or any name when no other key is allowed, cannot be
            # sent at all; another is declared with the schema undeclared keys take
            blocked = [
                n
                for n in missing
                if extra is False or (isinstance(declared, Mapping) and n in declared)
            ]
            if len(blocked) < len(missing):
                self.declare(m, refs, [n for n in missing if n not in blocked], properties)
            if blocked:
                self.notes.add(
                    m.at("required"),
                    "required",
                    "dropped",
                    f"required {', '.join(blocked)} cannot be sent (not a declared property, "
                    "and Gemini refuses an undeclared one): the model may leave them out",
                )
        if extra is False:
            self.notes.add(
                m.at("additionalProperties"),
                "additionalProperties",
                "dropped",
                "additionalProperties: false is not sent (Gemini has no such field): the "
                "model may add keys",
            )
        elif isinstance(extra, Mapping) and extra:
            self.notes.add(
                m.at("additionalProperties"),
                "additionalProperties",
                "dropped",
                "additionalProperties is not sent (Gemini has no such field): the values "
                "of undeclared keys are not checked",
            )
        if properties:
            out["properties"] = properties
            kept = [n for n in properties if isinstance(required, list) and n in required]
            if kept:
                out["required"] = kept
        elif top:
            # A tool that takes no arguments: the API accepts an empty `properties` at the
            # top (a recorded 200: tests/data/realdata/cassettes/gemini/pydantic-ai/
            # test_google_tool_config_any_with_tool_without_args.yaml sends exactly this).
            out["properties"] = {}
        else:
            out["properties"] = {
                GEMINI_PLACEHOLDER: {
                    "type": "string",
                    "description": "Unused: this object's keys are not declared.",
                }
            }
            self.notes.add(
                m.path,
                "properties",
                "narrowed",
                "an object without properties is refused by Gemini: it is sent with one "
                f"optional placeholder property ({GEMINI_PLACEHOLDER}), so the model may not "
                "be able to send the keys it takes",
            )

    def declare(
        self, m: Merged, refs: tuple[str, ...], names: list[str], properties: dict[str, Any]
    ) -> None:
        """Declare the required names ``properties`` lacks (Gemini refuses an undeclared
        one), each with the schema undeclared keys take."""
        extra = m.schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            where = join(m.at("additionalProperties"), "additionalProperties")
            for name in names:
                properties[name] = self.node(extra, where, refs)
            return
        for name in names:
            properties[name] = self.any(Merged({}, path=m.at("required")), "", notes=False)
        self.notes.add(
            m.at("required"),
            "required",
            "narrowed",
            f"required {', '.join(names)} are not declared properties (Gemini refuses that: "
            "'property is not defined'): they are declared as any of "
            f"{', '.join(GEMINI_ANY_TYPES)} or null, so the model cannot send an array or "
            "object for them",
        )

    def values(self, kind: str, m: Merged, values: list[Any], out: dict[str, Any]) -> None:
        s = m.schema
        key = "const" if "const" in s else "enum"
        fits = [v for v in values if v is not None and _fits(kind, json_type(v))]
        if kind == "string" and fits:
            out["enum"] = fits
            if key == "const":
                self.notes.add(
                    m.at(key),
                    key,
                    "changed",
                    "const is sent as an enum of one value (Gemini has no const)",
                    loosens=False,
                )
            return
        if kind in ("integer", "number") and fits:
            low, high = min(fits), max(fits)
            if low == high:
                out["minimum"] = out["maximum"] = low
                self.notes.add(
                    m.at(key),
                    key,
                    "changed",
                    f"{key} {low} is sent as minimum = maximum = {low} (Gemini enums are strings)",
                    loosens=False,
                )
                return
            if not _number(out.get("minimum")) or out["minimum"] < low:
                out["minimum"] = low
            if not _number(out.get("maximum")) or out["maximum"] > high:
                out["maximum"] = high
            self.notes.add(
                m.at(key),
                key,
                "dropped",
                f"{key} {fits} is not sent (Gemini enums are strings): it is sent as the "
                f"range {low} to {high}, so the model may send any {kind} in it",
            )
            return
        if kind == "boolean" and len({bool(v) for v in fits}) == 2:
            return
        if fits:
            self.notes.add(
                m.at(key),
                key,
                "dropped",
                f"{key} is not sent (Gemini enums are strings): the model may send any {kind} here",
            )

    # -- helpers --------------------------------------------------------------------------

    def any(
        self, m: Merged, why: str, *, narrowed: bool = True, notes: bool = True
    ) -> dict[str, Any]:
        """A value of any type, as Gemini can take it: a string, number or boolean."""
        if notes:
            self.notes.add(
                m.path,
                "type",
                "narrowed" if narrowed else "dropped",
                f"{why}; sent as any of {', '.join(GEMINI_ANY_TYPES)} or null, so the model "
                "cannot send an array or object here"
                + ("" if narrowed else ", and may send a value that is not null"),
            )
        out: dict[str, Any] = {
            "anyOf": [{"type": kind, "nullable": True} for kind in GEMINI_ANY_TYPES]
        }
        self.annotate(m, out)
        return out

    def annotate(self, m: Merged, out: dict[str, Any]) -> None:
        s = m.schema
        description = out.get("description", s.get("description"))
        if isinstance(description, str):
            out["description"] = description
        if "default" in s:
            out["default"] = s["default"]
        if "example" in s:
            out["example"] = s["example"]
        elif isinstance(s.get("examples"), list) and s["examples"]:
            out["example"] = s["examples"][0]
            self.notes.add(
                m.at("examples"),
                "examples",
                "changed",
                "examples is sent as example (its first value)",
                loosens=False,
            )


def _values(schema: Mapping[str, Any]) -> list[Any] | None:
    """The values ``enum``/``const`` allow (``None``: any)."""
    enum = schema.get("enum")
    if "const" in schema:
        const = schema["const"]
        if isinstance(enum, list):
            return [v for v in enum if json_equal(v, const)]
        return [const]
    return list(enum) if isinstance(enum, list) else None


def _only_null(schema: Mapping[str, Any]) -> bool:
    if types_of(schema) == ["null"]:
        return True
    values = _values(schema)
    return values is not None and values != [] and all(v is None for v in values)


def _fits(kind: str, found: str) -> bool:
    return found == kind or (kind == "number" and found == "integer")


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _make_nullable(schema: dict[str, Any]) -> None:
    branches = schema.get("anyOf")
    if isinstance(branches, list) and "type" not in schema:
        for branch in branches:
            _make_nullable(branch)
    else:
        schema["nullable"] = True


def _with_format(description: Any, fmt: str) -> str:
    if isinstance(description, str) and description:
        return f"{description} (format: {fmt})"
    return f"Format: {fmt}."
