"""Builders shared by the flow tests: tool schemas, calls, responses, flow files."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from clearance.providers.types import ChatResponse, ToolCall

SCHEMAS: dict[str, dict[str, Any]] = {
    "search_contacts": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    "create_event": {
        "type": "object",
        "properties": {
            "contact_id": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 480},
            "title": {"type": "string", "minLength": 1},
            "notes": {"type": "string"},
        },
        "required": ["contact_id", "start", "duration_minutes", "title"],
        "additionalProperties": False,
    },
    "delete_contact": {
        "type": "object",
        "properties": {"contact_id": {"type": "string"}},
        "required": ["contact_id"],
    },
}

EXAMPLE_FLOW = """\
id: schedule_followup
description: Find a contact, then book a follow-up meeting with them.
kind: flow
tags: [scheduling]
tools:
  - search_contacts@1.0.0
  - create_event@2.0.0
  - delete_contact@1.0.0
system: You are a CRM assistant. Use the tools; never invent ids.
user: Find Ada Lovelace and book a 30-minute follow-up with her on 2026-12-01 at 10:00.
max_turns: 4
forbidden_tools: [delete_contact]
steps:
  - expect:
      calls:
        - tool: search_contacts
          args:
            query: {$text: ada lovelace}
      any_order: true
      allow_extra_calls: false
    results:
      - tool: search_contacts
        content: {contacts: [{contact_id: c_42, name: Ada Lovelace}]}
  - expect:
      calls:
        - tool: create_event
          args:
            contact_id: c_42
            start: {$regex: "^2026-12-01T10:00"}
            duration_minutes: {$range: [30, 30]}
            title: {$any: true}
            notes: {$optional: {$any: true}}
    results:
      - tool: create_event
        content: {event_id: e_7, status: confirmed}
  - user: Thanks!
    expect:
      calls: []
final:
  - contains: e_7
  - regex: "(?i)confirmed|booked"
"""


def write(folder: Path, name: str, text: str) -> Path:
    """Write a flow file (dedented) into ``folder`` and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def call(
    name: str,
    arguments: dict[str, Any] | None = None,
    *,
    id: str | None = None,
    index: int = 0,
    raw: str | None = None,
) -> ToolCall:
    """A tool call as a provider adapter would normalize it."""
    if arguments is None and raw is None:
        arguments = {}
    return ToolCall(
        index=index,
        id=id or f"call_{name}_{index}",
        name=name,
        arguments=arguments,
        raw_arguments=raw if raw is not None else json.dumps(arguments),
        quirks=("invalid_json",) if arguments is None else (),
    )


def response(content: str | None = None, *calls: ToolCall) -> ChatResponse:
    """A chat response with ``calls`` re-indexed in order."""
    indexed = tuple(
        ToolCall(c.index if c.index else i, c.id, c.name, c.arguments, c.raw_arguments, c.quirks)
        for i, c in enumerate(calls)
    )
    return ChatResponse(
        content=content,
        tool_calls=indexed,
        finish_reason="tool_calls" if calls else "stop",
        finish_reason_raw=None,
        usage=None,
    )


class Scripted:
    """A model callable that plays back responses and records what it was sent."""

    def __init__(self, responses: Sequence[ChatResponse]) -> None:
        self._responses: Iterator[ChatResponse] = iter(responses)
        self.seen: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []

    def __call__(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatResponse:
        self.seen.append((json.loads(json.dumps(messages)), tools))
        return next(self._responses)


ModelFn = Callable[[list[dict[str, Any]], list[dict[str, Any]]], ChatResponse]
