"""Choosing which tools to call, and with which arguments, from the user's message.

A tool named literally in the message wins. Otherwise each tool is scored
by the stems its name (3 points each, 1 for a generic verb such as ``get``)
and its description (1 point each) share with the message; a tool is
relevant from 2 points. A message that asks for several things ("... and
also ...", "; ", a sentence starting with "Also") is read clause by clause,
and two or more clauses with a relevant tool (or two tool names in the
message) give parallel calls, each with arguments from its own clause.
``tool_choice`` is obeyed: ``"none"`` calls nothing, ``"required"`` calls the
best tool even when none is relevant, a named function is called alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clearance.reference.arguments import fill_arguments
from clearance.reference.text import name_words, split_clauses, stem, stems, wordset

__all__ = ["RELEVANT", "PlannedCall", "ToolSpec", "plan_calls", "score"]

RELEVANT = 2
"""The score from which a tool is relevant to a message: one word of its name, or two
words of its description."""

_GENERIC_VERBS = wordset(
    "get set fetch list create make do run find lookup look up check update delete add "
    "remove send search query read write tool api info data detail new"
)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One offered function tool, with the stems used to match it."""

    name: str
    description: str
    parameters: Mapping[str, Any] | None
    name_stems: frozenset[str] = field(default=frozenset(), compare=False)
    description_stems: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def of(cls, name: str, description: str, parameters: Mapping[str, Any] | None) -> ToolSpec:
        """A tool spec with its match stems computed."""
        name_stems, description_stems = _match_stems(name, description)
        return cls(name, description, parameters, name_stems, description_stems)


@functools.lru_cache(maxsize=4_096)
def _match_stems(name: str, description: str) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(stem(w) for w in name_words(name)), frozenset(stems(description))


@functools.lru_cache(maxsize=4_096)
def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """A tool call the simulator decided to make."""

    name: str
    arguments: dict[str, Any]


def score(tool: ToolSpec, message_stems: set[str]) -> int:
    """How well a tool matches a message (see the module docstring)."""
    total = 0
    for word in tool.name_stems & message_stems:
        total += 1 if word in _GENERIC_VERBS else 3
    return total + len(tool.description_stems & message_stems)


def _best(tools: Sequence[ToolSpec], text: str, *, minimum: int = RELEVANT) -> ToolSpec | None:
    found = stems(text)
    best: tuple[int, ToolSpec] | None = None
    for tool in tools:
        points = score(tool, found)
        if points >= minimum and (best is None or points > best[0]):
            best = (points, tool)
    return best[1] if best else None


def _named(tools: Sequence[ToolSpec], text: str) -> list[tuple[int, ToolSpec]]:
    """Tools whose exact name appears in the text, by position."""
    found = []
    for tool in tools:
        match = _name_pattern(tool.name).search(text)
        if match:
            found.append((match.start(), tool))
    return sorted(found, key=lambda pair: pair[0])


def plan_calls(
    text: str,
    tools: Sequence[ToolSpec],
    *,
    choice: str = "auto",
    forced: str | None = None,
    parallel: bool = True,
) -> list[PlannedCall]:
    """The calls to make for a user message; empty means "answer in text".

    Args:
        text: the last user message.
        tools: the offered tools.
        choice: ``auto``, ``none``, ``required`` or ``function``.
        forced: the function's name when ``choice`` is ``function``.
        parallel: whether several calls may be made (``parallel_tool_calls``).
    """
    if choice == "none" or not tools:
        return []
    if choice == "function":
        tool = next(t for t in tools if t.name == forced)
        return [PlannedCall(tool.name, fill_arguments(tool.parameters, text))]
    picks = _picks(text, tools)
    if not picks:
        best = _best(tools, text, minimum=0 if choice == "required" else RELEVANT)
        picks = [(best, text)] if best is not None else []
    calls: list[PlannedCall] = []
    for tool, clause in picks:
        fallback = text if clause != text else None
        call = PlannedCall(tool.name, fill_arguments(tool.parameters, clause, fallback))
        if call not in calls:
            calls.append(call)
    return calls if parallel else calls[:1]


def _picks(text: str, tools: Sequence[ToolSpec]) -> list[tuple[ToolSpec, str]]:
    """(tool, clause) pairs when the message clearly asks for tools; [] to decide otherwise."""
    named = _named(tools, text)
    if len(named) >= 2:
        ends = [position for position, _ in named[1:]] + [len(text)]
        return [(tool, text[start:end]) for (start, tool), end in zip(named, ends, strict=True)]
    clauses = split_clauses(text)
    if len(clauses) > 1:
        picks = []
        for clause in clauses:
            in_clause = _named(tools, clause)
            tool = in_clause[0][1] if in_clause else _best(tools, clause)
            if tool is not None:
                picks.append((tool, clause))
        if len(picks) >= 2:
            return picks
    if named:
        return [(named[0][1], text)]
    return []
