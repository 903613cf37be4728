"""The offered tools as the simulator reads them, and the calls it plans.

A :class:`ToolSpec` keeps what picking and chaining look at, computed once per
tool list (requests cache their tool specs): the stems of its name and
description, its verbs (see :mod:`clearance.reference.verbs`), the nouns of its
name (``list_deals`` → deal: what it is about), the enum values of its
parameters, and which of its required parameters are ids.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clearance.reference.text import name_words, stem, stems, wordset
from clearance.reference.verbs import VERB_STEMS, head_verbs, is_read_only, tool_verbs

__all__ = ["PlannedCall", "ToolSpec", "id_entity", "is_id_name"]

_ID_WORDS = wordset("id ids uuid guid")
_NOT_ENTITIES = VERB_STEMS | frozenset(
    stem(w)
    for w in [
        "by",
        "for",
        "of",
        "to",
        "from",
        "with",
        "all",
        "info",
        "data",
        "detail",
        "details",
        "new",
        "v1",
        "v2",
    ]
)


@functools.lru_cache(maxsize=16_384)
def is_id_name(name: str) -> bool:
    """Whether a property name names an id (``contact_id``, ``eventId``, ``id``)."""
    parts = name_words(name)
    return bool(parts) and parts[-1] in _ID_WORDS


def id_entity(name: str) -> str | None:
    """The stem of what an id property identifies (``contact_id`` → ``contact``), or None."""
    parts = name_words(name)
    return stem(parts[-2]) if len(parts) >= 2 and parts[-1] in _ID_WORDS else None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One offered function tool, with what the simulator matches it by."""

    name: str
    description: str
    parameters: Mapping[str, Any] | None
    name_stems: frozenset[str] = field(default=frozenset(), compare=False)
    description_stems: frozenset[str] = field(default=frozenset(), compare=False)
    verbs: frozenset[str] = field(default=frozenset(), compare=False)
    """Stems of the verbs that ask for it (its head verbs and their synonyms)."""
    heads: frozenset[str] = field(default=frozenset(), compare=False)
    """Stems of the known verbs its name and description start with."""
    entities: frozenset[str] = field(default=frozenset(), compare=False)
    """Stems of the nouns of its name: what it is about."""
    enum_words: frozenset[str] = field(default=frozenset(), compare=False)
    """Its top-level parameters' enum values, lower-cased."""
    required: tuple[str, ...] = field(default=(), compare=False)
    required_ids: int = field(default=0, compare=False)
    """How many required parameters are ids (each needs a lookup when not given)."""

    @classmethod
    def of(cls, name: str, description: str, parameters: Mapping[str, Any] | None) -> ToolSpec:
        """A tool spec with its match data computed."""
        name_stems, description_stems = _match_stems(name, description)
        properties = (parameters or {}).get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        raw_required = (parameters or {}).get("required")
        required = tuple(
            n
            for n in (raw_required if isinstance(raw_required, list) else [])
            if isinstance(n, str)
        )
        enum_words = frozenset(
            str(value).lower()
            for schema in properties.values()
            if isinstance(schema, Mapping) and isinstance(schema.get("enum"), list)
            for value in schema["enum"]
            if isinstance(value, str) and value
        )
        return cls(
            name,
            description,
            parameters,
            name_stems,
            description_stems,
            tool_verbs(name, description),
            head_verbs(name, description),
            name_stems - _NOT_ENTITIES,
            enum_words,
            required,
            sum(1 for n in required if is_id_name(n)),
        )

    @property
    def read_only(self) -> bool:
        """Whether it only looks things up (by its verbs; no known verb counts as read)."""
        return is_read_only(self.verbs)

    def property_schema(self, name: str) -> Mapping[str, Any]:
        """The schema of one top-level parameter ({} when unknown)."""
        properties = (self.parameters or {}).get("properties")
        found = properties.get(name) if isinstance(properties, Mapping) else None
        return found if isinstance(found, Mapping) else {}

    def property_names(self) -> list[str]:
        """Its top-level parameter names, in schema order."""
        properties = (self.parameters or {}).get("properties")
        return [str(n) for n in properties] if isinstance(properties, Mapping) else []


@functools.lru_cache(maxsize=4_096)
def _match_stems(name: str, description: str) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(stem(w) for w in name_words(name)), frozenset(stems(description))


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """A tool call the simulator decided to make."""

    name: str
    arguments: dict[str, Any]
