"""Choosing which tools a user's message asks for: its *intents*, one per clause.

A tool named literally in the message wins. Otherwise each tool is scored
by the stems its name (3 points each, 1 for a generic verb such as ``get``)
and its description (1 point each) share with the message, plus 2 points
when the message uses one of the tool's verbs or a synonym ("mark" for
``update_deal_stage``, "book" for ``create_event``) and 1 when it names one
of the tool's enum values; a tool is relevant from 2 points. A tool whose
verb the message refuses ("do not change any deal") is never picked; of
equal scores, the tool needing fewer ids wins.

A message that asks for several things ("... and also ...", "; ", ", then",
``and`` before a verb of an offered tool, a sentence starting with "Also")
is read clause by clause: two or more clauses with a relevant tool (or two
tool names in the message) give one intent each, with arguments from its
own clause. A clause that points back at an earlier one ("then book *the
earliest one*") *waits* for the earlier results.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from clearance.reference.text import refers_back, split_clauses, stems, wordset
from clearance.reference.tools import ToolSpec
from clearance.reference.verbs import asked_verbs, refused_verbs, verb_splitter

__all__ = ["RELEVANT", "Intent", "best_tool", "intents", "score"]

RELEVANT = 2
"""The score from which a tool is relevant to a message: one word of its name, two words
of its description, or one of its verbs."""
VERB_POINTS = 2
"""Points for a message that uses one of the tool's verbs (or a synonym)."""

_GENERIC_VERBS = wordset(
    "get set fetch list create make do run find lookup look up check update delete add "
    "remove send search query read write tool api info data detail new"
)
_AND = re.compile(r"\band\b", re.IGNORECASE)
_VALUE_WORD = re.compile(r"[a-z0-9](?:[a-z0-9_.-]*[a-z0-9_])?")


@dataclass(frozen=True, slots=True)
class Intent:
    """One thing the message asks for: a tool, the clause that asks, and how it relates."""

    tool: ToolSpec
    clause: str
    fallback: str | None
    """The whole message, where a required argument is looked for next (None: clause is it)."""
    waits: bool = False
    """The clause points back at an earlier clause: call it once the earlier results are in."""


@functools.lru_cache(maxsize=4_096)
def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)


def score(
    tool: ToolSpec,
    message_stems: set[str] | frozenset[str],
    asked: set[str] | frozenset[str] = frozenset(),
    values: set[str] | frozenset[str] = frozenset(),
) -> int:
    """How well a tool matches a message (see the module docstring).

    Args:
        tool: the tool.
        message_stems: the stems of the message's words.
        asked: the verb stems the message asks with (outside quotes, not refused).
        values: the message's words as written, lower-cased (for enum values).
    """
    total = 0
    for word in tool.name_stems & message_stems:
        total += 1 if word in _GENERIC_VERBS else 3
    total += len(tool.description_stems & message_stems)
    if tool.verbs & asked:
        total += VERB_POINTS
    if tool.enum_words & values:
        total += 1
    return total


@functools.lru_cache(maxsize=2_048)
def _reading(text: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(word stems, asked verbs, words as written lower-cased) of a text."""
    values = frozenset(_VALUE_WORD.findall(text.lower()))
    return frozenset(stems(text)), asked_verbs(text), values


def best_tool(tools: Sequence[ToolSpec], text: str, *, minimum: int = RELEVANT) -> ToolSpec | None:
    """The tool that matches the text best, if it scores at least ``minimum``."""
    found, asked, values = _reading(text)
    best: tuple[int, int, ToolSpec] | None = None
    for tool in tools:
        points = score(tool, found, asked, values)
        if points >= minimum and (best is None or (points, -tool.required_ids) > best[:2]):
            best = (points, -tool.required_ids, tool)
    return best[2] if best else None


def _named(tools: Sequence[ToolSpec], text: str) -> list[tuple[int, ToolSpec]]:
    """Tools whose exact name appears in the text, by position."""
    found = []
    lowered = text.lower()
    for tool in tools:
        if tool.name.lower() not in lowered:
            continue
        match = _name_pattern(tool.name).search(text)
        if match:
            found.append((match.start(), tool))
    return sorted(found, key=lambda pair: pair[0])


def intents(text: str, tools: Sequence[ToolSpec]) -> list[Intent]:
    """What the message asks for, in order; empty means "answer in text".

    Each turn of a task asks this again for the same message and tools (the tool
    specs of a tools list are cached by the request parser), so the answer is kept.
    """
    key = (text, id(tools))
    kept = _INTENTS.get(key)
    if kept is not None and kept[0] is tools:
        return list(kept[1])
    found = _intents(text, tools)
    if len(_INTENTS) >= _INTENTS_KEPT:
        _INTENTS.clear()
    _INTENTS[key] = (tools, tuple(found))  # holding tools keeps their id unique
    return found


_INTENTS: dict[tuple[str, int], tuple[Sequence[ToolSpec], tuple[Intent, ...]]] = {}
_INTENTS_KEPT = 2_048


def _intents(text: str, tools: Sequence[ToolSpec]) -> list[Intent]:
    named = _named(tools, text)
    if len(named) >= 2:
        ends = [position for position, _ in named[1:]] + [len(text)]
        return [
            Intent(tool, text[start:end], text)
            for (start, tool), end in zip(named, ends, strict=True)
        ]
    refused = refused_verbs(text)
    usable = [t for t in tools if not t.heads & refused] if refused else list(tools)
    splitter = None
    if _AND.search(text):
        splitter = verb_splitter(frozenset().union(*(t.verbs for t in usable)))
    clauses = split_clauses(text, splitter)
    if len(clauses) > 1:
        picks: list[Intent] = []
        for clause in clauses:
            in_clause = _named(tools, clause)
            tool = in_clause[0][1] if in_clause else best_tool(usable, clause)
            if tool is not None:
                picks.append(Intent(tool, clause, text, bool(picks) and refers_back(clause)))
        if len(picks) >= 2:
            return picks
    if named:
        return [Intent(named[0][1], text, None)]
    tool = best_tool(usable, text)
    return [Intent(tool, text, None)] if tool is not None else []
