"""ref/sloppy: a set share of tool-call answers carries one fault, named in a header only."""

from __future__ import annotations

import collections
import json

import httpx
import jsonschema
import pytest

from clearance.reference import FAULT_KINDS, ReferenceServer
from tests.reference.conftest import SCHEMAS, TOOLS, body, chat, validate

REQUESTS = 200


def flight_request(index: int) -> dict[str, object]:
    text = (
        f"Find flights from Lisbon to Tokyo on 2024-07-01 for {index % 9 + 1} passengers "
        f"(request {index})"
    )
    return body("ref/sloppy", text, tools=TOOLS)


def manifested(response: httpx.Response) -> str | None:
    """The fault the answer shows, judged from the body alone."""
    call = response.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    if call["name"] not in SCHEMAS:
        return "invented_tool"
    try:
        arguments = json.loads(call["arguments"])
    except json.JSONDecodeError:
        return "malformed_json"
    if call["name"] != "search_flights":
        validate(call["name"], arguments)
        return "wrong_tool"
    try:
        validate(call["name"], arguments)
    except jsonschema.ValidationError as error:
        return {"type": "wrong_type", "required": "missing_required"}[str(error.validator)]
    return None


def test_faults_cover_every_kind_at_the_configured_share(client: httpx.Client) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    for index in range(REQUESTS):
        response = chat(client, flight_request(index))
        assert response.status_code == 200
        declared = response.headers.get("x-reference-fault")
        assert manifested(response) == declared
        assert b"fault" not in response.content
        kinds[declared or "none"] += 1
    faults = REQUESTS - kinds["none"]
    # Deterministic for seed 7: exact counts, and close to the 0.3 rate.
    assert faults == 68
    assert abs(faults / REQUESTS - 0.3) < 0.05
    assert set(kinds) == {"none", *FAULT_KINDS}
    assert dict(kinds) == {
        "none": 132,
        "wrong_type": 12,
        "missing_required": 19,
        "invented_tool": 21,
        "malformed_json": 7,
        "wrong_tool": 9,
    }


def test_a_fault_that_cannot_apply_passes_to_the_next_kind(client: httpx.Client) -> None:
    """With one tool and no required argument, only invented_tool and malformed_json apply."""
    lone = {
        "type": "function",
        "function": {
            "name": "ping",
            "description": "Ping a host",
            "parameters": {"type": "object", "properties": {"host": {"type": "string"}}},
        },
    }
    seen = set()
    for index in range(60):
        document = body("ref/sloppy", f"ping host: h{index}.example", tools=[lone])
        fault = chat(client, document).headers.get("x-reference-fault")
        if fault:
            seen.add(fault)
    assert seen <= {"wrong_type", "invented_tool", "malformed_json"}
    assert {"invented_tool", "malformed_json"} <= seen


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 0), (1.0, 30)])
def test_the_rate_bounds(rate: float, expected: int) -> None:
    with (
        ReferenceServer(seed=7, sloppy_rate=rate) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        faults = sum(
            "x-reference-fault" in chat(http, flight_request(i)).headers for i in range(30)
        )
    assert faults == expected


def test_steady_never_has_faults_and_text_answers_never_do(client: httpx.Client) -> None:
    for index in range(30):
        steady = {**flight_request(index), "model": "ref/steady"}
        assert "x-reference-fault" not in chat(client, steady).headers
        text = body("ref/sloppy", f"Tell me a story number {index}", tools=TOOLS)
        assert "x-reference-fault" not in chat(client, text).headers
