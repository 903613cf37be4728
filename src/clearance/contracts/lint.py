"""Provider profiles: find the contract a provider family would refuse, before paying for it.

Each profile says what one family accepts in a tool's argument schema (the
``input_schema``, sent as ``parameters`` / ``input_schema``). The rules are data:
:data:`RULES` lists every one with its severity, a one-line reason and the source
it rests on. ``error`` means the provider rejects the request (HTTP 400);
``warning`` means it is accepted but the keyword is ignored, degraded, or not
documented as supported (so it may be rejected by some models or snapshots).

Sources (checked 2026; providers change these, so keep the table current):

- openai-strict: "Supported schemas" in the Structured Outputs guide,
  https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
  (supported types and per-type keywords; all fields required; additionalProperties
  false; root an object and not anyOf; 5000 properties, 10 levels of nesting, 1000
  enum values, 120,000 characters of names/enum/const; "not yet supported:
  allOf, not, dependentRequired, dependentSchemas, if, then, else"). ``oneOf`` is
  refused with "'oneOf' is not permitted" (community.openai.com thread 932422).
  ``minLength``/``maxLength`` are not in the documented list and were refused
  ("maxLength is not permitted", jina-ai/node-DeepResearch#79) before mid-2025
  (pydantic/pydantic-ai#4490 says they are accepted since): a warning.
- gemini: function declarations take ``parameters`` as the Schema object, "a select
  subset of an OpenAPI 3.0 schema object" (ai.google.dev/api/caching#Schema;
  googleapis.github.io/js-genai types.Schema lists its fields). Any other field is
  a 400 "Invalid JSON payload received. Unknown name ... Cannot find field"
  (zed-industries/zed#44875 for const, nanbingxyz/5ire#42 for additionalProperties,
  openswarm-ai/openswarm#24 for $schema/exclusiveMinimum/propertyNames); a type
  list is a 400 "Proto field is not repeating, cannot start list"
  (zed-industries/zed#53919); an OBJECT without properties is a 400 "properties:
  should be non-empty for OBJECT type" (agno-agi/agno#2112, pipecat-ai/pipecat-flows#110);
  ``format`` is limited to enum/date-time for strings on the Gemini Developer API
  (firebase.google.com/docs/reference/js/ai.schemashared); parameter names must
  match ``[a-zA-Z_][a-zA-Z0-9_]{0,63}`` (cloud.google.com/vertex-ai FunctionDeclaration).
  The profile assumes the one translation every Gemini client makes: dropping
  ``additionalProperties: false`` (so that is a warning; Gemini may add keys).
- anthropic: ``input_schema`` is JSON Schema 2020-12 (checked when loading);
  its top level must have ``type: object`` ("tools.N.custom.input_schema.type: Field
  required", BerriAI/litellm#31527) and no oneOf/allOf/anyOf ("input_schema does not
  support oneOf, allOf, or anyOf at the top level", anthropics/claude-code#40075).
  Remote ``$ref`` targets are not fetched.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from clearance.contracts.model import ContractSet, ToolContract

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

PROFILES = ("openai-strict", "gemini", "anthropic")
DEFAULT_PROFILES = PROFILES


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

_OPENAI_KEYWORD_ERRORS = dict.fromkeys(
    ("allOf", "not", "dependentRequired", "dependentSchemas", "if", "then", "else"),
    "OpenAI strict mode does not support it yet (Structured Outputs guide)",
) | {"oneOf": "OpenAI strict mode refuses it: \"'oneOf' is not permitted\"; use anyOf"}
_OPENAI_KEYWORD_WARNINGS = dict.fromkeys(
    (
        "minLength",
        "maxLength",
        "patternProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "prefixItems",
        "$dynamicRef",
        "$dynamicAnchor",
    ),
    "not in OpenAI's documented strict-mode subset; may be refused or ignored",
)
_OPENAI_FORMATS = frozenset(
    ("date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid")
)
_OPENAI_MAX_DEPTH = 10  # was 5 before 2025
_OPENAI_MAX_PROPERTIES = 5000
_OPENAI_MAX_ENUM_VALUES = 1000
_OPENAI_MAX_STRING_CHARS = 120_000

# google-genai / js-genai ``Schema`` fields: anything else is "Unknown name".
_GEMINI_FIELDS = frozenset(
    (
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    )
)
_GEMINI_FIXES = {
    "$ref": "inline the referenced schema",
    "$defs": "inline the definitions where they are used",
    "definitions": "inline the definitions where they are used",
    "oneOf": "use anyOf",
    "allOf": "merge the subschemas into one",
    "const": "use enum with the one value",
    "exclusiveMinimum": "use minimum",
    "exclusiveMaximum": "use maximum",
    "examples": "use example (one value)",
    "$schema": "remove it",
}
_GEMINI_FORMATS = {
    "string": frozenset(("enum", "date-time")),
    "number": frozenset(("float", "double")),
    "integer": frozenset(("int32", "int64")),
}
_GEMINI_PARAMETER_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")

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
        f"use one of {', '.join(sorted(_OPENAI_FORMATS))}, or drop format",
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
        "Gemini enums are lists of strings",
        "use string values, or drop enum and describe the values",
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
            if keyword in _OPENAI_KEYWORD_ERRORS:
                emit(
                    "openai-strict/unsupported-keyword",
                    f"{node.pointer}/{_escape(keyword)}",
                    f"{keyword!r}: {_OPENAI_KEYWORD_ERRORS[keyword]}",
                )
            elif keyword in _OPENAI_KEYWORD_WARNINGS:
                emit(
                    "openai-strict/undocumented-keyword",
                    f"{node.pointer}/{_escape(keyword)}",
                    f"{keyword!r}: {_OPENAI_KEYWORD_WARNINGS[keyword]}",
                )
        fmt = sub.get("format")
        if isinstance(fmt, str) and fmt not in _OPENAI_FORMATS:
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
        (properties_total, _OPENAI_MAX_PROPERTIES, "properties"),
        (deepest.depth if deepest else 0, _OPENAI_MAX_DEPTH, "levels of object nesting"),
        (enum_total, _OPENAI_MAX_ENUM_VALUES, "enum values"),
        (chars, _OPENAI_MAX_STRING_CHARS, "characters of names, enum and const values"),
    ]
    for count, limit, what in limits:
        if count > limit:
            where = deepest.pointer if deepest and what.startswith("levels") else base
            emit("openai-strict/limits", where, f"{count} {what}; the limit is {limit}")


def _gemini(schema: dict[str, Any], base: str, emit: _Emit) -> None:
    root_properties = schema.get("properties")
    if isinstance(root_properties, dict):
        for name in root_properties:
            if not _GEMINI_PARAMETER_NAME.match(name):
                emit(
                    "gemini/parameter-name",
                    f"{base}/properties/{_escape(name)}",
                    f"parameter name {name!r} is not accepted by Gemini",
                )
    for node in _walk(schema, base):
        sub = node.schema
        for keyword, value in sub.items():
            if keyword in _GEMINI_FIELDS:
                continue
            pointer = f"{node.pointer}/{_escape(keyword)}"
            if keyword == "additionalProperties" and value is False:
                emit(
                    "gemini/additional-properties",
                    pointer,
                    "additionalProperties: false is dropped for Gemini; it may add keys",
                )
                continue
            hint = _GEMINI_FIXES.get(keyword)
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
        kinds = [t for t in _types(sub) if t in _GEMINI_FORMATS]
        if isinstance(fmt, str) and kinds and fmt not in _GEMINI_FORMATS[kinds[0]]:
            emit(
                "gemini/format",
                f"{node.pointer}/format",
                f"format {fmt!r} on a {kinds[0]} is not one Gemini supports",
            )


def _anthropic(schema: dict[str, Any], base: str, emit: _Emit) -> None:
    if schema.get("type") != "object":
        emit(
            "anthropic/root-object",
            f"{base}/type" if "type" in schema else base,
            f"the top level must be type: object (it is {schema.get('type')!r})",
        )
    for keyword in ("oneOf", "allOf", "anyOf"):
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
    contract: ToolContract, profiles: Sequence[str] = DEFAULT_PROFILES
) -> list[LintFinding]:
    """Check a contract's ``input_schema`` against each profile, in the order given."""
    findings: list[LintFinding] = []
    for profile in profiles:
        findings.extend(lint_schema(contract.input_schema, profile, contract_key=contract.key))
    return findings


def lint_contracts(
    contracts: ContractSet | Iterable[ToolContract], profiles: Sequence[str] = DEFAULT_PROFILES
) -> list[LintFinding]:
    """Check every contract; findings in (name, version, profile) order."""
    return [finding for c in contracts for finding in lint_contract(c, profiles)]
