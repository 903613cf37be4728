"""Schema surgery the lowerings share: ``$ref`` inlined, ``allOf`` merged, alternatives joined.

A subschema is handled as *parts*: ``(schema, path)`` pairs whose conjunction it is
(its own keywords, each ``allOf`` branch, each ``$ref`` target inlined), each with the
path where the contract wrote it, so that a loss names the place a violation of the
original would name. :meth:`Surgery.merge` turns parts into one schema; a keyword two
parts give different values that cannot be combined keeps the first and records a
loss for the other (the merged schema accepts more, never less).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from clearance.providers.lowering.losses import Notes, join

__all__ = [
    "MAX_INLINED",
    "MAX_REF_REPEATS",
    "Merged",
    "Part",
    "Surgery",
    "accepts_null",
    "is_object",
    "json_equal",
    "json_type",
    "types_of",
]

Part = tuple[Any, str]
"""A subschema and its path in the contract's schema."""

MAX_REF_REPEATS = 2
"""A recursive ``$ref`` is inlined this many times on one path; deeper, it is cut."""
MAX_INLINED = 2000
"""``$ref`` targets inlined in one schema at most (a guard against a schema that
doubles at each level)."""

_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
_SUBSCHEMA = ("items", "contains", "propertyNames", "additionalProperties", "not")
_QUIET = frozenset(
    {"title", "description", "default", "examples", "example", "$comment", "$schema", "$id"}
)
"""Annotations: when two parts disagree the first is kept and nothing is recorded."""
_CONFLICT = object()


def types_of(schema: Mapping[str, Any]) -> list[str]:
    """The ``type`` of a schema as a list (empty when it has none)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def is_object(schema: Mapping[str, Any]) -> bool:
    """An object schema as the lint reads one: ``type`` has object, or no type and properties."""
    return "object" in types_of(schema) or ("type" not in schema and "properties" in schema)


def json_type(value: Any) -> str:
    """The JSON Schema type of a JSON value (``integer`` for a whole number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def accepts_null(schema: Any) -> bool:
    """Whether ``schema`` plainly accepts ``null`` (its type or enum says so, or a branch does)."""
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, Mapping):
        return False
    if "const" in schema:
        return schema["const"] is None
    enum = schema.get("enum")
    if isinstance(enum, list) and None not in enum:
        return False
    if "type" in schema:
        return "null" in types_of(schema)
    branches = schema.get("anyOf", schema.get("oneOf"))
    if isinstance(branches, list):
        return any(accepts_null(b) for b in branches)
    return isinstance(enum, list)


@dataclass(slots=True)
class Merged:
    """Parts merged into one schema, with where each keyword and property came from."""

    schema: dict[str, Any]
    origin: dict[str, str] = field(default_factory=dict)
    """Keyword -> path of the part that gave it."""
    properties: dict[str, str] = field(default_factory=dict)
    """Property name -> path of its schema."""
    path: str = ""
    """Where the subschema is (for a keyword no part claims)."""

    def at(self, keyword: str) -> str:
        """The path of the part that gave ``keyword``."""
        return self.origin.get(keyword, self.path)

    def property_path(self, name: str) -> str:
        """The path of property ``name``'s schema."""
        found = self.properties.get(name)
        return found if found is not None else join(self.at("properties"), "properties", name)


class Surgery:
    """Resolves, flattens and merges subschemas of one root, recording what it gives up."""

    def __init__(self, root: Any, notes: Notes) -> None:
        self.root = root
        self.notes = notes
        self.inlined = 0
        self._synthetic: dict[int, tuple[list[Any], tuple[str, ...]]] = {}

    # -- $ref -----------------------------------------------------------------------------

    def resolve(self, ref: str) -> tuple[bool, Any]:
        """``(True, target)`` for a local JSON Pointer reference, else ``(False, None)``."""
        if not ref.startswith("#"):
            return False, None
        fragment = unquote(ref[1:])
        if fragment == "":
            return True, self.root
        if not fragment.startswith("/"):
            return False, None  # a plain-name fragment ($anchor) is not followed
        node = self.root
        for raw in fragment[1:].split("/"):
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return False, None
        return True, node

    # -- branches that keep their own paths -----------------------------------------------

    def combinator(self, keyword: str, parts: Sequence[Part]) -> dict[str, Any]:
        """A synthetic ``{keyword: [...]}`` (``allOf``/``anyOf``) whose branches keep their
        own paths (:meth:`branch_paths`)."""
        branches = [schema for schema, _ in parts]
        self._synthetic[id(branches)] = (branches, tuple(path for _, path in parts))
        return {keyword: branches}

    def branch_paths(self, branches: list[Any], path: str, keyword: str) -> list[str]:
        """The path of each branch of the list ``branches`` found at ``path/keyword``."""
        found = self._synthetic.get(id(branches))
        if found is not None and found[0] is branches:
            return list(found[1])
        return [join(path, keyword, i) for i in range(len(branches))]

    # -- allOf and $ref as parts ----------------------------------------------------------

    def flatten(
        self, node: Any, path: str, refs: tuple[str, ...], *, inline_refs: bool
    ) -> tuple[list[Part], tuple[str, ...]]:
        """The parts whose conjunction ``node`` is, and the refs inlined on the way.

        ``allOf`` branches become parts; so do ``$ref`` targets when ``inline_refs``. A
        ``$ref`` that is not local, or that recurs more than :data:`MAX_REF_REPEATS`
        times on the way from the root, is not inlined and is recorded as dropped.
        ``true`` and ``{}`` give no part, nor does ``false`` (recorded as dropped).
        """
        parts: list[Part] = []
        chain = list(refs)

        def visit(schema: Any, where: str) -> None:
            if schema is False:
                self.notes.add(
                    where,
                    "false",
                    "dropped",
                    "a subschema that accepts nothing (false) is not sent: the model may "
                    "send anything here",
                )
                return
            if not isinstance(schema, Mapping):
                return
            ref = schema.get("$ref") if inline_refs else None
            own = {
                k: v
                for k, v in schema.items()
                if k != "allOf" and not (k == "$ref" and isinstance(ref, str))
            }
            if own:
                parts.append((own, where))
            if isinstance(ref, str):
                target = self._inline(ref, where, chain)
                if target is not None:
                    visit(target[0], where)
            branches = schema.get("allOf")
            if isinstance(branches, list):
                for branch, branch_path in zip(
                    branches, self.branch_paths(branches, where, "allOf"), strict=True
                ):
                    visit(branch, branch_path)

        visit(node, path)
        return parts, tuple(chain)

    def _inline(self, ref: str, where: str, chain: list[str]) -> tuple[Any] | None:
        found, target = self.resolve(ref)
        if not found:
            self.notes.add(
                where,
                "$ref",
                "dropped",
                f"$ref {ref!r} is not a reference inside the schema: its target is not "
                "sent, so the model may send anything here",
            )
            return None
        if chain.count(ref) >= MAX_REF_REPEATS or self.inlined >= MAX_INLINED:
            self.notes.add(
                where,
                "$ref",
                "dropped",
                f"$ref {ref!r} recurs: it is inlined {MAX_REF_REPEATS} levels deep and cut "
                "there, so the model may send anything below",
            )
            return None
        self.inlined += 1
        chain.append(ref)
        return (target,)

    # -- merging parts (allOf) ------------------------------------------------------------

    def merge(self, parts: Sequence[Part], path: str) -> Merged:
        """One schema for the conjunction of ``parts`` (the subschema at ``path``).

        Keywords combine by meaning: properties and required are joined, bounds take
        the tighter value, types and enums intersect, two subschemas become an
        ``allOf`` of both (merged in turn when lowered). A keyword that cannot be
        combined (two patterns, two formats, two sets of alternatives) keeps the first
        value; the other is recorded as dropped.
        """
        merged = Merged({}, path=path)
        for part, where in parts:
            self.merge_into(merged, part, where)
        return merged

    def merge_into(
        self,
        merged: Merged,
        part: Mapping[str, Any],
        where: str,
        property_paths: Mapping[str, str] | None = None,
    ) -> None:
        """Merge one more part (at ``where``) into ``merged``; ``property_paths`` names
        where its properties are when they are not at ``where/properties/NAME``."""
        out = merged.schema
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                self._properties(merged, value, where, property_paths or {})
                continue
            if key not in out:
                out[key] = value
                merged.origin[key] = where
                continue
            combined = self._combine(key, out[key], merged.origin[key], value, where)
            if combined is _CONFLICT:
                if key not in _QUIET:
                    first = merged.origin[key] or "the root"
                    self.notes.add(
                        where,
                        key,
                        "dropped",
                        f"allOf: {key} here and at {first} cannot be sent as one; only "
                        f"the one at {first} is sent",
                    )
                continue
            out[key] = combined

    def _properties(
        self, merged: Merged, value: Mapping[str, Any], where: str, paths: Mapping[str, str]
    ) -> None:
        current = merged.schema.get("properties")
        if not isinstance(current, Mapping):
            merged.schema["properties"] = dict(value)
            merged.origin["properties"] = where
            current = {}
        combined = dict(current)
        for name, schema in value.items():
            here = paths.get(name) or join(where, "properties", name)
            if name in current:
                combined[name] = self.combinator(
                    "allOf", [(combined[name], merged.property_path(name)), (schema, here)]
                )
            else:
                combined[name] = schema
                merged.properties[name] = here
        merged.schema["properties"] = combined

    def _combine(self, key: str, a: Any, a_path: str, b: Any, b_path: str) -> Any:
        if a == b:
            return a
        if key in ("$defs", "definitions") and isinstance(a, Mapping) and isinstance(b, Mapping):
            return {**b, **a}
        if key == "required" and isinstance(a, list) and isinstance(b, list):
            return list(dict.fromkeys([*a, *b]))
        if key == "type":
            return self._types(a, b)
        if key == "enum" and isinstance(a, list) and isinstance(b, list):
            both = [v for v in a if any(json_equal(v, w) for w in b)]
            return both if both else _CONFLICT
        if key in _LOWER and _number(a) and _number(b):
            return max(a, b)
        if key in _UPPER and _number(a) and _number(b):
            return min(a, b)
        if key == "uniqueItems":
            return bool(a) or bool(b)
        if key == "nullable":
            return bool(a) and bool(b)
        if key in _SUBSCHEMA:
            if a is False or b is False:
                return False
            if a is True:
                return b
            if b is True:
                return a
            return self.combinator("allOf", [(a, join(a_path, key)), (b, join(b_path, key))])
        return _CONFLICT

    @staticmethod
    def _types(a: Any, b: Any) -> Any:
        left = [a] if isinstance(a, str) else a
        right = [b] if isinstance(b, str) else b
        if not isinstance(left, list) or not isinstance(right, list):
            return _CONFLICT
        both: list[str] = []
        for kind in left:
            if kind in right:
                both.append(kind)
            elif kind in ("integer", "number") and {"integer", "number"} & set(right):
                both.append("integer")  # integer and number meet at integer
        both = list(dict.fromkeys(both))
        if not both:
            return _CONFLICT
        return both[0] if len(both) == 1 else both

    # -- the top level --------------------------------------------------------------------

    def root_object(self, schema: Any) -> Merged:
        """The root as one object schema with no combinator at its top level.

        Providers refuse ``anyOf``/``oneOf``/``allOf`` at the top of a tool's arguments.
        A root ``$ref`` and ``allOf`` are merged in; alternatives are joined into one
        object that accepts each of them (a property any alternative declares, required
        only where every alternative requires it), which is recorded as dropped.
        """
        parts, _ = self.flatten(schema, "", (), inline_refs=True)
        merged = self.merge(parts, "")
        if isinstance(schema, Mapping):
            for keyword, what in (("allOf", "its parts are"), ("$ref", "its target is")):
                if keyword in schema:
                    self.notes.add(
                        "",
                        keyword,
                        "changed",
                        f"{keyword} at the top level is refused: {what} merged into one object",
                        loosens=False,
                    )
        for keyword in ("anyOf", "oneOf"):
            branches = merged.schema.get(keyword)
            if not isinstance(branches, list):
                continue
            where = merged.at(keyword)
            del merged.schema[keyword]
            if not branches:
                continue
            paths = self.branch_paths(branches, where, keyword)
            options = [
                self.merge(self.flatten(b, p, (), inline_refs=True)[0], p)
                for b, p in zip(branches, paths, strict=True)
            ]
            self.notes.add(
                where,
                keyword,
                "dropped",
                f"{keyword} at the top level is refused: its {len(branches)} alternatives "
                "are sent as one object (a property is required only where every "
                "alternative requires it), so the model may mix them or send none",
            )
            joined = self._join(options)
            self.merge_into(merged, joined.schema, where, joined.properties)
        declared = merged.schema.get("type")
        if declared != "object":
            if "object" in types_of(merged.schema) or declared is None:
                self.notes.add(
                    "",
                    "type",
                    "changed",
                    f"the top level is sent as type: object (it was {declared!r}); tool "
                    "arguments are always an object",
                    loosens=False,
                )
            else:
                self.notes.add(
                    "",
                    "type",
                    "narrowed",
                    f"the top level is type {declared!r}, sent as type: object: tool "
                    "arguments are always an object",
                )
            merged.schema["type"] = "object"
        return merged

    def _join(self, options: Sequence[Merged]) -> Merged:
        """One object schema accepting every object each alternative accepts."""
        branches = [o.schema for o in options]
        names = list(dict.fromkeys(n for b in branches for n in _properties(b)))
        joined = Merged({"type": "object"})
        properties: dict[str, Any] = {}
        for name in names:
            choices: list[Part] = []
            for option in options:
                declared = _properties(option.schema)
                if name in declared:
                    choices.append((declared[name], option.property_path(name)))
                    continue
                extra = option.schema.get("additionalProperties", True)
                if extra is not False:
                    where = join(option.at("additionalProperties"), "additionalProperties")
                    choices.append((extra, where))
            if any(choice is True or choice == {} for choice, _ in choices):
                properties[name] = {}
            elif len(choices) == 1:
                properties[name] = choices[0][0]
                joined.properties[name] = choices[0][1]
            else:
                properties[name] = self.combinator("anyOf", choices)
        joined.schema["properties"] = properties
        required = [n for n in names if all(n in (b.get("required") or ()) for b in branches)]
        if required:
            joined.schema["required"] = required
        if all(b.get("additionalProperties") is False for b in branches):
            joined.schema["additionalProperties"] = False
        return joined


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    found = schema.get("properties")
    return found if isinstance(found, Mapping) else {}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``True != 1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)
