"""What lowering costs: a :class:`Loss` for each keyword not sent as written, and :class:`Lowered`.

A loss names where the keyword is (a JSON Pointer into the contract's schema), what
was done with it, and what a model may now get away with. ``loosens`` says whether the
schema sent accepts arguments the contract refuses: those are the losses a model can
exploit, and the evaluation names a violation of one ``dropped_constraint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from clearance.providers.types import Protocol

__all__ = ["CONSTRAINTS", "Loss", "LossAction", "Lowered", "Notes", "escape", "join"]

LossAction = Literal["dropped", "changed", "narrowed"]
"""``dropped``: not sent. ``changed``: sent in another form (``oneOf`` as ``anyOf``, an
exclusive bound as an inclusive one). ``narrowed``: the schema sent refuses arguments the
contract takes (a type Gemini needs, an object strict mode closes)."""

CONSTRAINTS = frozenset(
    {
        "type",
        "enum",
        "const",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "format",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxContains",
        "minContains",
        "maxProperties",
        "minProperties",
        "required",
        "dependentRequired",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "prefixItems",
        "items",
        "contains",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "$ref",
        "$dynamicRef",
    }
)
"""JSON Schema 2020-12 keywords that refuse instances; every other keyword (``title``,
``description``, ``$schema``, ``examples``, an unknown ``x-...``) refuses nothing."""

_WHOLE = frozenset({"$ref", "false"})
"""Loss keywords that stand for a whole subschema not sent: a ``$ref`` whose target was
not inlined, a ``false`` schema."""


def escape(token: str) -> str:
    """One JSON Pointer reference token."""
    return token.replace("~", "~0").replace("/", "~1")


def join(path: str, *tokens: str | int) -> str:
    """``path`` followed by ``tokens``, each escaped."""
    return path + "".join("/" + escape(str(t)) for t in tokens)


@dataclass(frozen=True, slots=True)
class Loss:
    """One keyword the lowered schema does not carry as the contract wrote it."""

    path: str
    """JSON Pointer of the subschema holding it in the contract's schema (``""`` is the
    root). A keyword reached through a ``$ref`` that lowering inlines is named by the path
    that reaches it, the way jsonschema names a violation's schema path; the targets that
    keep ``$ref`` (openai-strict, anthropic) name it where it is written."""
    keyword: str
    """The JSON Schema keyword; ``false`` for a ``false`` subschema."""
    action: LossAction
    detail: str
    """What was done and what the model may now get away with."""
    loosens: bool = True
    """Whether the schema sent accepts arguments the contract refuses because of it."""

    def covers(self, schema_pointer: str) -> bool:
        """Whether a violation at ``schema_pointer`` (jsonschema's absolute schema path, as
        a JSON Pointer) is one of a constraint this loss took away from the model."""
        if not self.loosens:
            return False
        if self.keyword in _WHOLE:
            return schema_pointer == self.path or schema_pointer.startswith(self.path + "/")
        own = join(self.path, self.keyword)
        return schema_pointer == own or schema_pointer.startswith(own + "/")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "path": self.path,
            "keyword": self.keyword,
            "action": self.action,
            "detail": self.detail,
            "loosens": self.loosens,
        }


@dataclass(frozen=True, slots=True)
class Lowered:
    """A schema as sent to one protocol, and what it lost."""

    protocol: Protocol
    schema: dict[str, Any]
    losses: tuple[Loss, ...]
    strict: bool = False
    """OpenAI strict mode (``strict: true`` on the function)."""

    @property
    def target(self) -> str:
        """The provider profile it was lowered for: ``openai-strict`` or the protocol."""
        return "openai-strict" if self.strict else self.protocol

    @property
    def loosening(self) -> tuple[Loss, ...]:
        """The losses a model can exploit (:attr:`Loss.loosens`)."""
        return tuple(loss for loss in self.losses if loss.loosens)

    def as_json_schema(self) -> dict[str, Any]:
        """What the schema sent means, in JSON Schema 2020-12 (a new dict): Gemini's
        ``nullable: true`` as a null type; the other protocols' schemas as they are."""
        if self.protocol == "gemini":
            from clearance.providers.lowering.meaning import gemini_as_json_schema

            converted: dict[str, Any] = gemini_as_json_schema(self.schema)
            return converted
        return dict(self.schema)


class Notes:
    """The losses of one lowering, in the order found, each once."""

    def __init__(self) -> None:
        self._losses: dict[tuple[str, str, str, str], Loss] = {}

    def add(
        self,
        path: str,
        keyword: str,
        action: LossAction,
        detail: str,
        *,
        loosens: bool | None = None,
    ) -> None:
        """Record a loss; ``loosens`` defaults to whether ``keyword`` refuses anything."""
        key = (path, keyword, action, detail)
        if key not in self._losses:
            if loosens is None:
                loosens = keyword in CONSTRAINTS and action != "narrowed"
            self._losses[key] = Loss(path, keyword, action, detail, loosens)

    def losses(self) -> tuple[Loss, ...]:
        """Every loss recorded."""
        return tuple(self._losses.values())
