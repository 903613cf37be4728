"""SSE streams: chunks reassemble to the plain answer; usage in the final chunk when asked."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.reference.conftest import TOOLS, body, chat


def stream(client: httpx.Client, document: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The decoded chunks, and whether the stream ended with [DONE]."""
    chunks, done = [], False
    with client.stream("POST", "/chat/completions", json={**document, "stream": True}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "text/event-stream"
        for line in reply.iter_lines():
            if not line:
                continue
            assert line.startswith("data: ")
            assert not done, "nothing may follow [DONE]"
            if line == "data: [DONE]":
                done = True
            else:
                chunks.append(json.loads(line.removeprefix("data: ")))
    return chunks, done


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The message, finish reason and usage that the chunks add up to."""
    content, finish, usage = "", None, None
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content += delta.get("content") or ""
            for part in delta.get("tool_calls", []):
                call = calls.setdefault(part["index"], {"function": {"arguments": ""}})
                if "id" in part:
                    call["id"], call["type"] = part["id"], part["type"]
                    call["function"]["name"] = part["function"]["name"]
                call["function"]["arguments"] += part["function"].get("arguments", "")
            finish = choice["finish_reason"] or finish
    message: dict[str, Any] = {"content": content or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {"message": message, "finish_reason": finish, "usage": usage}


@pytest.mark.parametrize(
    "text",
    [
        "What's the weather in Rome and also the weather in Oslo in celsius",
        'Email ann@example.com with subject "Hello there" and body "A longer body to cut up"',
        "Tell me a joke about a very long and winding road through the mountains",
    ],
)
def test_stream_chunks_reassemble_to_the_plain_answer(client: httpx.Client, text: str) -> None:
    document = body("ref/steady", text, tools=TOOLS, stream_options={"include_usage": True})
    plain = chat(client, document).json()
    chunks, done = stream(client, document)
    assert done
    streamed = assemble(chunks)
    expected = plain["choices"][0]
    assert streamed["finish_reason"] == expected["finish_reason"]
    assert streamed["message"]["content"] == expected["message"]["content"]
    assert streamed["message"].get("tool_calls") == expected["message"].get("tool_calls")
    assert streamed["usage"] == plain["usage"]
    assert chunks[-1]["choices"] == []  # usage comes alone in the final chunk
    assert {c["id"] for c in chunks} == {plain["id"]}
    assert len(chunks) > 3  # really cut into pieces


def test_without_include_usage_no_chunk_carries_usage(client: httpx.Client) -> None:
    chunks, done = stream(client, body("ref/steady", "What's the weather in Rome?", tools=TOOLS))
    assert done
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_a_sloppy_stream_carries_the_same_fault_as_the_plain_answer(
    client: httpx.Client,
) -> None:
    for index in range(40):
        text = f"Find flights from Lisbon to Oslo on 2024-07-01 for 2 passengers, ref {index}"
        document = body("ref/sloppy", text, tools=TOOLS)
        plain = chat(client, document)
        with client.stream("POST", "/chat/completions", json={**document, "stream": True}) as s:
            s.read()
            assert s.headers.get("x-reference-fault") == plain.headers.get("x-reference-fault")
