"""Provider profiles: what each provider family accepts in a tool's argument schema.

Data about providers, read by :mod:`clearance.contracts.lint`, which turns it
into rules and findings. A profile is one family's view of the ``input_schema``
sent with a tool (as ``parameters`` / ``input_schema``): which JSON Schema
keywords and ``format`` values it takes, its size limits, the names it allows.
:data:`PROFILES` names them; the tables below are prefixed with the family.

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
  Refusals found by field reports: a schema without ``type`` (and no anyOf) is a 400
  "type: must be specified when not using one_of, any_of or all_of fields"
  (danny-avila/LibreChat#6971); an ARRAY without ``items`` is "items: missing field"
  (kkrishnan90/gemini-desktop#7); a ``required`` name missing from ``properties`` is
  "required[0]: property is not defined" (iBUHub/AIStudioToAPI#154); ``enum`` is "only
  allowed for STRING type" (decolua/9router#359); ``properties`` is "only allowed for
  OBJECT type" (anomalyco/opencode#43495); the parameters must be an OBJECT
  (diegosouzapw/OmniRoute#3360). ``title`` is accepted but makes Gemini 2.5 Flash answer
  MALFORMED_FUNCTION_CALL (googleapis/python-genai#1732, PrefectHQ/fastmcp#3860), so
  lowering drops it. A free-form object is sent with one placeholder property, the
  workaround clients use for "should be non-empty for OBJECT type"
  (NoeFabris/opencode-antigravity-auth#316, lobehub/lobehub#5002).
- anthropic: ``input_schema`` is JSON Schema 2020-12 (checked when loading);
  its top level must have ``type: object`` ("tools.N.custom.input_schema.type: Field
  required", BerriAI/litellm#31527) and no oneOf/allOf/anyOf ("input_schema does not
  support oneOf, allOf, or anyOf at the top level", anthropics/claude-code#40075).
  Remote ``$ref`` targets are not fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from clearance.providers.types import Protocol

__all__ = [
    "ANTHROPIC_ROOT_COMBINATORS",
    "DEFAULT_PROFILES",
    "GEMINI_ANY_TYPES",
    "GEMINI_FIELDS",
    "GEMINI_FIXES",
    "GEMINI_FORMATS",
    "GEMINI_NOISE",
    "GEMINI_PARAMETER_NAME",
    "GEMINI_PLACEHOLDER",
    "OPENAI_FORMATS",
    "OPENAI_KEYWORD_ERRORS",
    "OPENAI_KEYWORD_WARNINGS",
    "OPENAI_MAX_DEPTH",
    "OPENAI_MAX_ENUM_VALUES",
    "OPENAI_MAX_PROPERTIES",
    "OPENAI_MAX_STRING_CHARS",
    "PROFILES",
    "PROFILE_PROTOCOLS",
]

PROFILES = ("openai-strict", "gemini", "anthropic")
"""The provider families a schema can be checked against."""
DEFAULT_PROFILES = PROFILES
"""The families checked when none is named: all of them."""
PROFILE_PROTOCOLS: Mapping[str, tuple[Protocol, bool]] = {
    "openai-strict": ("openai", True),
    "gemini": ("gemini", False),
    "anthropic": ("anthropic", False),
}
"""Profile -> (the wire protocol, OpenAI strict mode): what a schema is lowered for."""

# openai-strict ---------------------------------------------------------------------------

OPENAI_KEYWORD_ERRORS: Mapping[str, str] = dict.fromkeys(
    ("allOf", "not", "dependentRequired", "dependentSchemas", "if", "then", "else"),
    "OpenAI strict mode does not support it yet (Structured Outputs guide)",
) | {"oneOf": "OpenAI strict mode refuses it: \"'oneOf' is not permitted\"; use anyOf"}
"""Keywords strict mode refuses (HTTP 400), each with the reason."""
OPENAI_KEYWORD_WARNINGS: Mapping[str, str] = dict.fromkeys(
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
"""Keywords outside the documented strict subset, each with the reason."""
OPENAI_FORMATS = frozenset(
    ("date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid")
)
"""The string ``format`` values strict mode supports."""
OPENAI_MAX_DEPTH = 10  # was 5 before 2025
"""Levels of object nesting, the root object included."""
OPENAI_MAX_PROPERTIES = 5000
"""Properties in the whole schema."""
OPENAI_MAX_ENUM_VALUES = 1000
"""Enum values in the whole schema."""
OPENAI_MAX_STRING_CHARS = 120_000
"""Characters of property and definition names, enum and const values."""

# gemini ----------------------------------------------------------------------------------

# google-genai / js-genai ``Schema`` fields: anything else is "Unknown name".
GEMINI_FIELDS = frozenset(
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
"""The fields of Gemini's ``Schema``; any other is a 400 "Unknown name"."""
GEMINI_FIXES: Mapping[str, str] = {
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
"""How to do without a field Gemini lacks, for the fields that have a replacement."""
GEMINI_FORMATS: Mapping[str, frozenset[str]] = {
    "string": frozenset(("enum", "date-time")),
    "number": frozenset(("float", "double")),
    "integer": frozenset(("int32", "int64")),
}
"""The ``format`` values Gemini accepts, by JSON Schema type."""
GEMINI_NOISE: Mapping[str, str] = {
    "title": "title is not sent: it makes Gemini 2.5 Flash answer MALFORMED_FUNCTION_CALL",
    "$schema": "$schema is not a Gemini Schema field",
    "$id": "$id is not a Gemini Schema field",
    "$comment": "$comment is not a Gemini Schema field",
    "$anchor": "$anchor is not a Gemini Schema field",
    "$dynamicAnchor": "$dynamicAnchor is not a Gemini Schema field",
    "$vocabulary": "$vocabulary is not a Gemini Schema field",
    "$defs": "the definitions are inlined where they are used",
    "definitions": "the definitions are inlined where they are used",
    "deprecated": "deprecated is not a Gemini Schema field",
    "readOnly": "readOnly is not a Gemini Schema field",
    "writeOnly": "writeOnly is not a Gemini Schema field",
    "contentMediaType": "contentMediaType is not a Gemini Schema field",
    "contentEncoding": "contentEncoding is not a Gemini Schema field",
    "contentSchema": "contentSchema is not a Gemini Schema field",
}
"""Annotations lowering drops for Gemini (they refuse nothing), each with the reason."""
GEMINI_ANY_TYPES = ("string", "number", "boolean")
"""What a value of any type is sent as (``anyOf`` these, nullable): Gemini needs a type,
and an array or object needs items or properties."""
GEMINI_PLACEHOLDER = "_unused"
"""The one optional property a free-form object is sent with (Gemini refuses an OBJECT
without properties)."""
GEMINI_PARAMETER_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
"""The names Gemini accepts for a function's parameters."""

# anthropic -------------------------------------------------------------------------------

ANTHROPIC_ROOT_COMBINATORS = ("oneOf", "allOf", "anyOf")
"""Keywords ``input_schema`` refuses at its top level."""
