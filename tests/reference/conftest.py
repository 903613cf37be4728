"""A reference server per module, an httpx client, and the tools the tests offer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from clearance.reference import FlakySchedule, ReferenceServer


def function(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI function tool."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


GET_WEATHER = function(
    "get_weather",
    "Get the current weather forecast for a city",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
)
SEND_EMAIL = function(
    "send_email",
    "Send an email message to a recipient",
    {
        "type": "object",
        "properties": {
            "to": {"type": "string", "format": "email"},
            "subject": {"type": "string", "minLength": 1},
            "body": {"type": "string"},
            "cc": {"type": "string", "format": "email"},
            "urgent": {"type": "boolean"},
        },
        "required": ["to", "subject", "body"],
        "additionalProperties": False,
    },
)
CREATE_EVENT = function(
    "create_event",
    "Schedule a calendar event (a meeting) with attendees",
    {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 480},
            "attendees": {"type": "array", "items": {"type": "string", "format": "email"}},
            "location": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "room": {"type": "string"}},
                "required": ["city"],
            },
        },
        "required": ["title", "date", "duration_minutes"],
        "additionalProperties": False,
    },
)
SEARCH_FLIGHTS = function(
    "search_flights",
    "Search for airline flights between two airports",
    {
        "type": "object",
        "properties": {
            "origin": {"type": "string"},
            "destination": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "passengers": {"type": "integer", "minimum": 1, "default": 1},
            "cabin": {"type": "string", "enum": ["economy", "business", "first"]},
        },
        "required": ["origin", "destination", "date", "passengers"],
    },
)
TOOLS = [GET_WEATHER, SEND_EMAIL, CREATE_EVENT, SEARCH_FLIGHTS]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def validate(name: str, arguments: dict[str, Any]) -> None:
    """Check arguments against the tool's schema, formats included."""
    jsonschema.Draft202012Validator(
        SCHEMAS[name], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(arguments)


def body(
    model: str, text: str, *, tools: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A chat request body with one user message."""
    document: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    if tools is not None:
        document["tools"] = tools
    return {**document, **extra}


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    """A running server (seed 7, quick flaky delays) shared by a module's tests."""
    schedule = FlakySchedule(slow_rate=0.0, hang_rate=0.0)
    with ReferenceServer(seed=7, flaky=schedule, slow_ms=20) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ReferenceServer) -> Iterator[httpx.Client]:
    """An httpx client on the server's base URL (one per module: creating one costs ~50 ms)."""
    with httpx.Client(base_url=server.base_url, timeout=5) as http:
        yield http


def chat(client: httpx.Client, document: dict[str, Any]) -> httpx.Response:
    """POST /chat/completions."""
    return client.post("/chat/completions", json=document)


# -- the native protocols ---------------------------------------------------------------

ANTHROPIC = {"anthropic-version": "2023-06-01"}
"""The header every Messages request carries."""


def anthropic_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI function tools as Anthropic tools (``input_schema``)."""
    return [
        {
            "name": t["function"]["name"],
            "description": t["function"]["description"],
            "input_schema": t["function"]["parameters"],
        }
        for t in tools
    ]


def gemini_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI function tools as one Gemini tool of ``functionDeclarations``."""
    declarations = [
        {
            "name": t["function"]["name"],
            "description": t["function"]["description"],
            "parametersJsonSchema": t["function"]["parameters"],
        }
        for t in tools
    ]
    return [{"functionDeclarations": declarations}]


def messages_body(
    model: str, text: str, *, tools: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A Messages request body with one user message."""
    document: dict[str, Any] = {
        "model": model,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
    }
    if tools is not None:
        document["tools"] = anthropic_tools(tools)
    return {**document, **extra}


def generate_body(
    text: str, *, tools: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A generateContent request body with one user turn."""
    document: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if tools is not None:
        document["tools"] = gemini_tools(tools)
    return {**document, **extra}


@pytest.fixture(scope="module")
def native(server: ReferenceServer) -> Iterator[httpx.Client]:
    """An httpx client on the server's origin, for the native routes."""
    with httpx.Client(base_url=server.origin, timeout=5) as http:
        yield http


def sse(text: str) -> list[tuple[str | None, Any]]:
    """The (event name, decoded data) of each server-sent event."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = None, None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
        events.append((name, data))
    return events
