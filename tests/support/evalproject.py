"""A small eval project (two tools, one case per failure code, three flows) and a
scripted OpenAI-compatible endpoint that answers each case the way its prompt names.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import httpx

from clearance.config import ClearanceConfig, load_config

STEADY = "ref:ref/steady"
SLOPPY = "ref:ref/sloppy"

TOOLS = {
    "find_person": """
        name: find_person
        version: 1.0.0
        description: Find a person by name; returns person_id.
        criticality: standard
        input_schema:
          type: object
          properties:
            name: {type: string, minLength: 1}
          required: [name]
          additionalProperties: false
        output_schema: {type: object}
        examples:
          valid: [{name: Ada}]
          invalid: [{args: {}, reason: name is required}]
        """,
    "book": """
        name: book
        version: 1.0.0
        description: Book a meeting with a person at an ISO date.
        criticality: critical
        input_schema:
          type: object
          properties:
            person_id: {type: string, pattern: "^p_[0-9]+$"}
            date: {type: string, pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
          required: [person_id, date]
          additionalProperties: false
        output_schema: {type: object}
        examples:
          valid: [{person_id: p_1, date: "2026-12-01"}]
          invalid: [{args: {person_id: p_1}, reason: date is required}]
        """,
}

CASE = """
    id: {id}
    description: scripted case {id}
    kind: case
    tools: [book@1.0.0, find_person@1.0.0]
    user: "[script:{id}] Book p_7 on 2026-12-01."
    steps:
      - expect:
          calls:
            - tool: book
              args: {{person_id: p_7, date: "2026-12-01"}}
    """

NO_TOOL_CASE = """
    id: no_final_answer
    description: the model should answer in words
    kind: case
    tools: [book@1.0.0]
    user: "[script:no_final_answer] What can you do?"
    steps:
      - expect:
          calls: []
    """

FLOW = """
    id: {id}
    description: look up, then book, then say so
    kind: flow
    tools: [find_person@1.0.0, book@1.0.0]
    user: "[script:{id}] Book Ada on 2026-12-01."
    {max_turns}
    steps:
      - expect:
          calls:
            - tool: find_person
              args: {{name: Ada}}
        results:
          - tool: find_person
            content: {{person_id: p_7}}
      - expect:
          calls:
            - tool: book
              args: {{person_id: p_7, date: "2026-12-01"}}
        results:
          - tool: book
            content: {{status: booked}}
    final:
      - contains: booked
    """

SINGLE_TURN = [
    "ok",
    "wrong_tool",
    "missing_call",
    "extra_call",
    "invented_tool",
    "invalid_json",
    "schema_violation",
    "argument_mismatch",
    "server_error",
]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def make_project(root: Path, database_url: str, *, extra: str = "") -> ClearanceConfig:
    for name, text in TOOLS.items():
        _write(root / "contracts" / "tools" / name / "1.0.0.yaml", text)
    for case_id in SINGLE_TURN:
        _write(root / "contracts" / "flows" / f"{case_id}.yaml", CASE.format(id=case_id))
    _write(root / "contracts" / "flows" / "no_final_answer.yaml", NO_TOOL_CASE)
    _write(root / "contracts" / "flows" / "flow_ok.yaml", FLOW.format(id="flow_ok", max_turns=""))
    _write(
        root / "contracts" / "flows" / "final_answer_mismatch.yaml",
        FLOW.format(id="final_answer_mismatch", max_turns=""),
    )
    _write(
        root / "contracts" / "flows" / "turn_limit.yaml",
        FLOW.format(id="turn_limit", max_turns="max_turns: 2"),
    )
    _write(
        root / "clearance.toml",
        f"""
        [catalog]
        database_url = "{database_url}"
        [router]
        backoff_base_s = 0.0
        backoff_max_s = 0.0
        retries_per_model = 1
        [gate]
        # fallback targets are not candidates: serve them although never gated
        require_decision = false
        [evals]
        trials = 2
        concurrency = 4
        {extra}
        """,
    )
    return load_config(root / "clearance.toml", environ={})


def _completion(model: str, message: dict[str, Any], *, prompt: int = 1000) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": 100, "total_tokens": prompt + 100},
    }


def _call(name: str, arguments: Any, index: int = 0) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "id": f"call_{index}",
        "type": "function",
        "function": {"name": name, "arguments": text},
    }


BOOK = {"person_id": "p_7", "date": "2026-12-01"}


def scripted(script: str, turn: int) -> dict[str, Any]:
    """The assistant message a scripted model sends on ``turn`` (0-based) of ``script``."""
    calls = {
        "ok": [_call("book", BOOK)],
        "wrong_tool": [_call("find_person", {"name": "p_7"})],
        "missing_call": None,
        "extra_call": [_call("book", BOOK), _call("book", BOOK, 1)],
        "invented_tool": [_call("teleport", {"to": "p_7"})],
        "invalid_json": [_call("book", '{"person_id": "p_7", "date": ')],
        "schema_violation": [_call("book", {"person_id": "p_7", "date": "tomorrow"})],
        "argument_mismatch": [_call("book", {"person_id": "p_8", "date": "2026-12-01"})],
    }
    if script in calls:
        found = calls[script]
        return {"content": None, "tool_calls": found} if found else {"content": "Done!"}
    if script == "no_final_answer":
        return {"content": ""}
    # flows: find, then book, then the answer
    if turn == 0:
        return {"content": None, "tool_calls": [_call("find_person", {"name": "Ada"})]}
    if turn == 1:
        return {"content": None, "tool_calls": [_call("book", BOOK)]}
    if script == "final_answer_mismatch":
        return {"content": "I could not do it."}
    return {"content": "The meeting is booked for 2026-12-01."}


class ScriptedNetwork:
    """An OpenAI-compatible endpoint answering each case by the script its prompt names."""

    def __init__(self, *, failing_models: set[str] | None = None, flaky: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failing_models = failing_models or set()
        self.flaky = flaky
        """Answer each distinct request with a 503 the first time it is sent."""
        self._seen: set[bytes] = set()
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append({"headers": dict(request.headers), "body": body})
        model = body["model"]
        first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        script = first_user.split("]")[0].removeprefix("[script:")
        if script == "server_error" or model in self.failing_models:
            return httpx.Response(500, json={"error": {"message": "upstream broke", "code": 500}})
        if self.flaky and request.content not in self._seen:
            self._seen.add(request.content)
            return httpx.Response(503, json={"error": {"message": "try again", "code": 503}})
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        return httpx.Response(200, json=_completion(model, scripted(script, turn)))


class NoNetwork(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"replay touched the network: {request.url}")
