"""Lint against provider profiles: find the contract a family would refuse, before paying for it.

Each profile says what one family accepts in a tool's argument schema (the
``input_schema``, sent as ``parameters`` / ``input_schema``). The rules are data:
:data:`RULES` lists every one with its severity, a one-line reason and the source
it rests on. ``error`` means the provider rejects the request (HTTP 400);
``warning`` means it is accepted but the keyword is ignored, degraded, or not
documented as supported (so it may be rejected by some models or snapshots).

A schema is not sent as written: :mod:`clearance.providers.lowering` lowers it for each
protocol and names what that loses. :func:`~clearance.contracts.lowered.lower_contract`
lints the schema *as sent*,
so what is left is what lowering cannot fix (a Gemini parameter name, strict mode's
size limits); :func:`lint_schema` on the contract's own schema says what a provider
would refuse if it were sent unlowered (the lowering tests hold every lowered schema to
no error).

What each family accepts (keywords, formats, limits), and the sources it rests
on, is provider data: it lives in :mod:`clearance.providers.profiles`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from clearance.contracts.model import ContractSet, ToolContract
from clearance.providers.profiles import (
    ANTHROPIC_ROOT_COMBINATORS,
    DEFAULT_PROFILES,
    GEMINI_FIELDS,
    GEMINI_FIXES,
    GEMINI_FORMATS,
    GEMINI_PARAMETER_NAME,
    OPENAI_FORMATS,
    OPENAI_KEYWORD_ERRORS,
    OPENAI_KEYWORD_WARNINGS,
    OPENAI_MAX_DEPTH,
    OPENAI_MAX_ENUM_VALUES,
    OPENAI_MAX_PROPERTIES,
    OPENAI_MAX_STRING_CHARS,
    PROFILES,
)

__all__ = [
    "DEFAULT_PROFILES",
    "PROFILES",
    "RULES",
    "LintFinding",
    "LintRule",
    "Severity",
    "lint_contract",
    "lint_contracts",
    "lint_schema",
]

Severity = Literal["error", "warning"]
"""``error``: the provider rejects the request. ``warning``: ignored, degraded or undocumented."""


@dataclass(frozen=True, slots=True)
class LintRule:
    """One thing a provider family refuses or ignores."""

    id: str
    """``<profile>/<rule>``, stable: reports and suppressions use it."""
    profile: str
    severity: Severity
    reason: str
    """One line: what the provider does and why."""
    fix: str


@dataclass(frozen=True, slots=True)
class LintFinding:
    """A place in a contract's ``input_schema`` that a provider family would not take."""

    contract_key: str
    profile: str
    severity: Severity
    pointer: str
    """JSON pointer inside the contract document (``/input_schema/...``)."""
    message: str
    fix: str
    rule: str
    """The :class:`LintRule` id."""


def _rule(rule_id: str, severity: Severity, reason: str, fix: str) -> LintRule:
    return LintRule(rule_id, rule_id.split("/", 1)[0], severity, reason, fix)


# The rules ------------------------------------------------------------------------------

RULES: tuple[LintRule, ...] = (
    _rule(
        "openai-strict/root-object",
        "error",
        "the root of a strict schema must be type: object, and not anyOf",
        "make the arguments one object",
    ),
    _rule(
        "openai-strict/additional-properties",
        "error",
        "every object must set additionalProperties: false in strict mode",
        "add additionalProperties: false",
    ),
    _rule(
        "openai-strict/all-required",
        "error",
        "every property of every object must be listed in required in strict mode",
        "list it in required; make an optional one nullable: type: [<type>, 'null']",
    ),
    _rule(
        "openai-strict/unsupported-keyword",
        "error",
        "a keyword strict mode refuses (allOf, not, if/then/else, dependent*, oneOf)",
        "rewrite without it (anyOf is supported)",
    ),
    _rule(
        "openai-strict/undocumented-keyword",
        "warning",
        "a keyword not in the documented strict subset; may be refused or ignored",
        "drop it, or check it on the target model",
    ),
    _rule(
        "openai-strict/format",
        "warning",
        "a string format outside the supported list is not enforced or is refused",
        f"use one of {', '.join(sorted(OPENAI_FORMATS))}, or drop format",
    ),
    _rule(
        "openai-strict/limits",
        "error",
        "a schema over the size limits (5000 properties, 10 levels, 1000 enum values, "
        "120,000 characters) is refused",
        "split the tool or flatten the schema",
    ),
    _rule(
        "gemini/unknown-field",
        "error",
        "Gemini's Schema has no such field: 400 'Unknown name ... Cannot find field'",
        "rewrite without it",
    ),
    _rule(
        "gemini/additional-properties",
        "warning",
        "Gemini has no additionalProperties; clients drop false, so extra keys may appear",
        "nothing to send; validate the arguments on receipt",
    ),
    _rule(
        "gemini/type-list",
        "error",
        "type is one value in Gemini: 400 'Proto field is not repeating, cannot start list'",
        "use one type, and nullable: true for null",
    ),
    _rule(
        "gemini/enum-not-string",
        "error",
        "Gemini enums are lists of strings, on a string: 'enum only allowed for STRING type'",
        "use string values on type string, or drop enum and describe the values",
    ),
    _rule(
        "gemini/untyped",
        "error",
        "Gemini needs a type: 'type: must be specified when not using one_of, any_of or "
        "all_of fields'",
        "give it a type, or list the types it may take under anyOf",
    ),
    _rule(
        "gemini/array-items",
        "error",
        "a Gemini ARRAY needs items: 'items: missing field'",
        "say what its items are",
    ),
    _rule(
        "gemini/required-undefined",
        "error",
        "a name in required that properties does not declare: 'property is not defined'",
        "declare the property, or take it out of required",
    ),
    _rule(
        "gemini/empty-object",
        "error",
        "Gemini refuses an OBJECT without properties: 'should be non-empty for OBJECT type'",
        "declare its properties, or type it as a string holding JSON",
    ),
    _rule(
        "gemini/no-parameters",
        "warning",
        "a tool with no arguments must be sent without parameters; the adapter must omit them",
        "nothing, if the adapter omits parameters for argument-less tools",
    ),
    _rule(
        "gemini/format",
        "warning",
        "Gemini accepts few formats (string: enum, date-time; number: float, double; "
        "integer: int32, int64); others fail on the Developer API or are ignored",
        "drop format and say it in the description",
    ),
    _rule(
        "gemini/parameter-name",
        "error",
        "parameter names must match [a-zA-Z_][a-zA-Z0-9_]{0,63}",
        "rename the parameter",
    ),
    _rule(
        "anthropic/root-object",
        "error",
        "input_schema must have type: object at the top level",
        "make the arguments one object",
    ),
    _rule(
        "anthropic/root-combinator",
        "error",
        "input_schema does not support oneOf, allOf or anyOf at the top level",
        "move the alternatives into a property",
    ),
    _rule(
        "anthropic/remote-ref",
        "warning",
        "a $ref outside the schema is not fetched, so the model never sees its target",
        "inline the referenced schema, or put it under $defs",
    ),
)
_RULES_BY_ID = {rule.id: rule for rule in RULES}


# Walking a schema -----------------------------------------------------------------------

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
)


@dataclass(frozen=True, slots=True)
class _Node:
    schema: dict[str, Any]
    pointer: str
    depth: int
    """Objects on the way from the root, this one included."""


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _is_object(schema: dict[str, Any]) -> bool:
    return "object" in _types(schema) or ("type" not in schema and "properties" in schema)


def _walk(schema: Any, pointer: str, depth: int = 0) -> Iterator[_Node]:
    if not isinstance(schema, dict):
        return
    depth += 1 if _is_object(schema) else 0
    yield _Node(schema, pointer, depth)
    for key in _SCHEMA_MAPS:
        members = schema.get(key)
        if isinstance(members, dict):
            for name, sub in members.items():
                yield from _walk(sub, f"{pointer}/{key}/{_escape(name)}", depth)
    for key in _SCHEMA_LISTS:
        members = schema.get(key)
        if isinstance(members, list):
            for index, sub in enumerate(members):
                yield from _walk(sub, f"{pointer}/{key}/{index}", depth)
    for key in _SCHEMA_ONE:
        sub = schema.get(key)
        if isinstance(sub, list) and key == "items":  # draft 4-7 tuple form
            for index, item in enumerate(sub):
                yield from _walk(item, f"{pointer}/items/{index}", depth)
        else:
            yield from _walk(sub, f"{pointer}/{key}", depth)


_TYPELESS_OK = ("anyOf", "oneOf", "allOf", "$ref")
"""A Gemini schema may go without a type when it has these (the last two are refused
as unknown fields on their own)."""

_Emit = Callable[[str, str, str], None]
"""(rule id, pointer, message) -> None."""


# Profiles --------------------------------------------------------------------------------


def _openai_strict(schema: dict[str, Any], base: str, emit: _Emit) -> None:
    if schema.get("type") != "object" or "anyOf" in schema:
        emit(
            "openai-strict/root-object",
            base,
            f"the root must be type: object without anyOf (type is {schema.get('type')!r})",
        )
    properties_total = enum_total = chars = 0
    deepest: _Node | None = None
    for node in _walk(schema, base):
        sub = node.schema
        if deepest is None or node.depth > deepest.depth:
            deepest = node
        for keyword in sub:
            if keyword in OPENAI_KEYWORD_ERRORS:
                emit(
                    "openai-strict/unsupported-keyword",
                    f"{node.pointer}/{_escape(keyword)}",
                    f"{keyword!r}: {OPENAI_KEYWORD_ERRORS[keyword]}",
                )
            elif keyword in OPENAI_KEYWORD_WARNINGS:
                emit(
                    "openai-strict/undocumented-keyword",
                    f"{node.pointer}/{_escape(keyword)}",
                    f"{keyword!r}: {OPENAI_KEYWORD_WARNINGS[keyword]}",
                )
        fmt = sub.get("format")
        if isinstance(fmt, str) and fmt not in OPENAI_FORMATS:
            emit(
                "openai-strict/format",
                f"{node.pointer}/format",
                f"format {fmt!r} is not one OpenAI strict mode supports",
            )
        properties = sub.get("properties")
        if isinstance(properties, dict):
            properties_total += len(properties)
            chars += sum(len(name) for name in properties)
        for key in ("$defs", "definitions"):
            if isinstance(sub.get(key), dict):
                chars += sum(len(name) for name in sub[key])
        if isinstance(sub.get("enum"), list):
            enum_total += len(sub["enum"])
            chars += sum(len(v) for v in sub["enum"] if isinstance(v, str))
        if isinstance(sub.get("const"), str):
            chars += len(sub["const"])
        if not _is_object(sub):
            continue
        if sub.get("additionalProperties") is not False:
            emit(
                "openai-strict/additional-properties",
                f"{node.pointer}/additionalProperties"
                if "additionalProperties" in sub
                else node.pointer,
                "an object without additionalProperties: false "
                f"(it is {sub.get('additionalProperties', 'unset')!r})",
            )
        required = sub.get("required", [])
        missing = [
            name
            for name in (properties or {})
            if not isinstance(required, list) or name not in required
        ]
        if missing:
            emit(
                "openai-strict/all-required",
                f"{node.pointer}/required" if "required" in sub else node.pointer,
                f"properties not listed in required: {', '.join(missing)}",
            )
    limits = [
        (properties_total, OPENAI_MAX_PROPERTIES, "properties"),
        (deepest.depth if deepest else 0, OPENAI_MAX_DEPTH, "levels of object nesting"),
        (enum_total, OPENAI_MAX_ENUM_VALUES, "enum values"),
        (chars, OPENAI_MAX_STRING_CHARS, "characters of names, enum and const values"),
    ]
    for count, limit, what in limits:
        if count > limit:
            where = deepest.pointer if deepest and what.startswith("levels") else base
            emit("openai-strict/limits", where, f"{count} {what}; the limit is {limit}")


def _gemini(schema: dict[str, Any], base: str, emit: _Emit) -> None:
    root_properties = schema.get("properties")
    if isinstance(root_properties, dict):
        for name in root_properties:
            if not GEMINI_PARAMETER_NAME.match(name):
                emit(
                    "gemini/parameter-name",
                    f"{base}/properties/{_escape(name)}",
                    f"parameter name {name!r} is not accepted by Gemini",
                )
    reachable = set(_gemini_nodes(schema, base))
    for node in _walk(schema, base):
        sub = node.schema
        for keyword, value in sub.items():
            if keyword in GEMINI_FIELDS:
                continue
            pointer = f"{node.pointer}/{_escape(keyword)}"
            if keyword == "additionalProperties" and value is False:
                emit(
                    "gemini/additional-properties",
                    pointer,
                    "additionalProperties: false is dropped for Gemini; it may add keys",
                )
                continue
            hint = GEMINI_FIXES.get(keyword)
            emit(
                "gemini/unknown-field",
                pointer,
                f"Gemini's Schema has no field {keyword!r}" + (f"; {hint}" if hint else ""),
            )
        declared = sub.get("type")
        if isinstance(declared, list):
            emit(
                "gemini/type-list",
                f"{node.pointer}/type",
                f"type is a list {declared!r}; Gemini takes one type (and nullable: true)",
            )
        enum = sub.get("enum")
        if isinstance(enum, list) and not all(isinstance(v, str) for v in enum):
            emit(
                "gemini/enum-not-string",
                f"{node.pointer}/enum",
                f"enum {enum!r} has values that are not strings",
            )
        elif isinstance(enum, list) and _types(sub) not in ([], ["string"]):
            emit(
                "gemini/enum-not-string",
                f"{node.pointer}/enum",
                f"enum on type {sub.get('type')!r}: Gemini takes enum on a string only",
            )
        if node.pointer in reachable:  # not under a field Gemini lacks (reported itself)
            _gemini_shape(sub, node.pointer, emit)
        if "object" in _types(sub) and not sub.get("properties"):
            if node.pointer == base:
                emit(
                    "gemini/no-parameters",
                    node.pointer,
                    "the tool takes no arguments: send it without parameters",
                )
            else:
                emit(
                    "gemini/empty-object",
                    node.pointer,
                    "an object without properties (free-form objects are refused)",
                )
        fmt = sub.get("format")
        kinds = [t for t in _types(sub) if t in GEMINI_FORMATS]
        if isinstance(fmt, str) and kinds and fmt not in GEMINI_FORMATS[kinds[0]]:
            emit(
                "gemini/format",
                f"{node.pointer}/format",
                f"format {fmt!r} on a {kinds[0]} is not one Gemini supports",
            )


def _gemini_shape(sub: dict[str, Any], pointer: str, emit: _Emit) -> None:
    """What Gemini's Schema needs of a subschema it reads: a type, items, declared names."""
    if not _types(sub) and not any(k in sub for k in _TYPELESS_OK):
        emit(
            "gemini/untyped",
            pointer,
            "a schema without a type (Gemini needs one, or anyOf)",
        )
    if "array" in _types(sub) and not isinstance(sub.get("items"), dict):
        emit(
            "gemini/array-items",
            f"{pointer}/items" if "items" in sub else pointer,
            "an array without items (a schema for its items)",
        )
    required = sub.get("required")
    if isinstance(required, list):
        listed = sub.get("properties")
        names: dict[str, Any] = listed if isinstance(listed, dict) else {}
        undefined = [n for n in required if n not in names]
        if undefined:
            emit(
                "gemini/required-undefined",
                f"{pointer}/required",
                f"required names properties does not declare: {', '.join(map(str, undefined))}",
            )


def _gemini_nodes(schema: Any, pointer: str) -> Iterator[str]:
    """Pointers of the subschemas Gemini reads: through properties, items and anyOf."""
    if not isinstance(schema, dict):
        return
    yield pointer
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            yield from _gemini_nodes(sub, f"{pointer}/properties/{_escape(name)}")
    yield from _gemini_nodes(schema.get("items"), f"{pointer}/items")
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        for index, sub in enumerate(branches):
            yield from _gemini_nodes(sub, f"{pointer}/anyOf/{index}")


def _anthropic(schema: dict[str, Any], base: str, emit: _Emit) -> None:
    if schema.get("type") != "object":
        emit(
            "anthropic/root-object",
            f"{base}/type" if "type" in schema else base,
            f"the top level must be type: object (it is {schema.get('type')!r})",
        )
    for keyword in ANTHROPIC_ROOT_COMBINATORS:
        if keyword in schema:
            emit(
                "anthropic/root-combinator",
                f"{base}/{keyword}",
                f"{keyword} at the top level of input_schema is refused",
            )
    for node in _walk(schema, base):
        ref = node.schema.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            emit(
                "anthropic/remote-ref",
                f"{node.pointer}/$ref",
                f"$ref {ref!r} points outside the schema",
            )


_CHECKS: dict[str, Callable[[dict[str, Any], str, _Emit], None]] = {
    "openai-strict": _openai_strict,
    "gemini": _gemini,
    "anthropic": _anthropic,
}


# Public API ------------------------------------------------------------------------------


def lint_schema(
    schema: dict[str, Any],
    profile: str,
    *,
    contract_key: str = "",
    pointer: str = "/input_schema",
) -> list[LintFinding]:
    """Check one argument schema against one provider profile.

    Args:
        schema: the tool's argument schema (a contract's ``input_schema``).
        profile: one of :data:`PROFILES`.
        contract_key: ``name@version``, copied into the findings.
        pointer: where the schema sits in its document (prefix of every pointer).

    Raises:
        ValueError: an unknown profile.
    """
    check = _CHECKS.get(profile)
    if check is None:
        close = difflib.get_close_matches(profile, PROFILES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown lint profile {profile!r} (known: {', '.join(PROFILES)}){hint}")
    findings: list[LintFinding] = []

    def emit(rule_id: str, where: str, message: str) -> None:
        rule = _RULES_BY_ID[rule_id]
        findings.append(
            LintFinding(contract_key, profile, rule.severity, where, message, rule.fix, rule.id)
        )

    check(schema, pointer, emit)
    return findings


def lint_contract(
    contract: ToolContract,
    profiles: Sequence[str] = DEFAULT_PROFILES,
    *,
    as_sent: bool = False,
) -> list[LintFinding]:
    """Check a contract's ``input_schema`` against each profile, in the order given.

    ``as_sent``: lint the schema lowered for each profile
    (:func:`~clearance.contracts.lowered.lower_contract`), which leaves what lowering
    cannot fix; else the schema as the contract writes it.
    """
    from clearance.contracts.lowered import lower_contract  # it lints with this module

    findings: list[LintFinding] = []
    for profile in profiles:
        if as_sent:
            findings.extend(lower_contract(contract, profile).findings)
        else:
            findings.extend(lint_schema(contract.input_schema, profile, contract_key=contract.key))
    return findings


def lint_contracts(
    contracts: ContractSet | Iterable[ToolContract],
    profiles: Sequence[str] = DEFAULT_PROFILES,
    *,
    as_sent: bool = False,
) -> list[LintFinding]:
    """Check every contract; findings in (name, version, profile) order."""
    return [finding for c in contracts for finding in lint_contract(c, profiles, as_sent=as_sent)]
