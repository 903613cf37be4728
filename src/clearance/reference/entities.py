"""Things the user names, and the tools that can look them up.

A *reference* is a value in the user's message that may name something the
tools know about: a quoted string, or a run of capitalised words ("Grace
Hopper"). It is *typed* when a noun of an offered tool's name stands right
before or after it (the "Compiler support" *deal*), and *person-like* when it
has two or more words and every one is capitalised.

A *provider* of a value a call needs but nobody gave (an id such as
``contact_id``, or an email address) is an offered read-only tool that does
not itself need that value and that is about the value's entity: its name
says so (``search_contacts`` for ``contact_id``, ``list_events`` for
``event_id``), or its description names the id ("Returns ... event_id").
Email addresses come from tools about people (contacts, users, customers) or
whose description mentions email. Providers needing fewer ids come first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clearance.reference.evidence import Evidence
from clearance.reference.text import stem, strings, words, wordset
from clearance.reference.tools import ToolSpec, id_entity, is_id_name

__all__ = [
    "PERSON",
    "Reference",
    "choose_reference",
    "providers",
    "references",
    "wants_email",
]

PERSON = frozenset(
    stem(w)
    for w in wordset(
        "contact person people user customer client member employee attendee recipient"
    )
)
"""Entities that are people (they have email addresses and names)."""

_DETERMINERS = wordset("the a an my our your her his their its this that these those")


@dataclass(frozen=True, slots=True)
class Reference:
    """A value of the message that may name a known thing."""

    text: str
    start: int
    typed: str | None
    """The stem of the entity noun next to it (``deal``), if any."""
    person_like: bool


def _typed(text: str, start: int, end: int, nouns: frozenset[str]) -> str | None:
    after = words(text[end:])[:1]
    before = [w for w in words(text[:start])[-3:] if w.lower() not in _DETERMINERS][-1:]
    for word in (*after, *before):
        found = stem(word)
        if found in nouns:
            return found
    return None


def _person_like(value: str) -> bool:
    parts = value.split()
    return len(parts) >= 2 and all(
        p[:1].isupper() and any(c.islower() for c in p[1:]) for p in parts
    )


@functools.lru_cache(maxsize=1_024)
def references(text: str, nouns: frozenset[str]) -> tuple[Reference, ...]:
    """The quoted strings and capitalised names of a text, in order.

    Args:
        text: the text.
        nouns: entity nouns of the offered tools (stems), for typing.
    """
    evidence = Evidence(text)
    found = [
        Reference(s.value, s.start, _typed(text, s.start, s.end, nouns), _person_like(s.value))
        for s in evidence.quoted
        if s.value.strip()
    ]
    for span in evidence.capitalized:
        if span.value.isupper():  # an acronym (CRM, USD) names no one
            continue
        typed = _typed(text, span.start, span.end, nouns)
        found.append(Reference(span.value, span.start, typed, _person_like(span.value)))
    return tuple(sorted(found, key=lambda r: r.start))


def choose_reference(
    texts: Sequence[str],
    arguments: Mapping[str, Any],
    entity: str | None,
    nouns: frozenset[str],
    *,
    strict: bool,
) -> str | None:
    """The reference that names the entity a lookup is for, if the texts have one.

    References another argument already holds, and those typed as another
    entity, are left out. The one typed as ``entity`` wins, then a person-like
    one when the entity is a person (or unknown), then the first.

    Args:
        texts: where to look, in order (the clause, then the whole message).
        arguments: the arguments the call already has.
        entity: the stem of the entity looked up (``contact``), None when unknown.
        nouns: entity nouns of the offered tools (stems).
        strict: only a reference typed as the entity, or a person-like one for a person
            entity (an *optional* id is looked up only then).
    """
    held = [s.lower() for s in strings(arguments)]
    seen: set[str] = set()
    ranked: list[tuple[int, int, str]] = []
    for order, text in enumerate(texts):
        for reference in references(text, nouns):
            key = reference.text.lower()
            if key in seen or any(key in value for value in held):
                continue
            seen.add(key)
            if reference.typed is not None and reference.typed != entity:
                continue
            personal = reference.person_like and (entity is None or entity in PERSON)
            rank = 0 if entity is not None and reference.typed == entity else 1 if personal else 2
            if strict and rank == 2:
                continue
            ranked.append((rank, order * 100_000 + reference.start, reference.text))
    return min(ranked)[2] if ranked else None


def wants_email(name: str, schema: Mapping[str, Any]) -> bool:
    """Whether a property holds email addresses (by its format, or its name)."""
    items = schema.get("items") if schema.get("type") == "array" else schema
    fmt = items.get("format") if isinstance(items, Mapping) else None
    return fmt in ("email", "idn-email") or "email" in name.lower()


def providers(
    name: str, schema: Mapping[str, Any], tools: Sequence[ToolSpec], action: ToolSpec
) -> list[ToolSpec]:
    """The offered tools that can look up a value of ``action``'s property ``name``, best first."""
    is_id = is_id_name(name)
    if not is_id and not wants_email(name, schema):
        return []
    entity = id_entity(name)
    mention = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])") if entity else None
    ranked = []
    for index, tool in enumerate(tools):
        if tool.name == action.name or not tool.read_only or name in tool.required:
            continue
        points = 0
        if is_id:
            if mention is not None and mention.search(tool.description):
                points += 2
            if entity in tool.entities if entity else tool.entities & action.entities:
                points += 2
        else:
            if "email" in tool.description_stems:
                points += 2
            if tool.entities & PERSON:
                points += 2
        if points >= 2:
            ranked.append((tool.required_ids, -points, index, tool))
    return [tool for *_, tool in sorted(ranked, key=lambda r: r[:3])]
