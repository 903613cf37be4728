"""What HttpProvider puts on the wire now that it hands requests to the client's transport
itself (issue 20): the client's headers, the body, the timeout, and no cookie jar."""

from __future__ import annotations

import asyncio
import json

import httpx

from clearance.providers.base import ChatRequest
from clearance.providers.openai import OpenAICompatibleProvider

COMPLETION = {
    "id": "cmpl-1",
    "object": "chat.completion",
    "model": "a",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}
REQUEST = ChatRequest([{"role": "user", "content": "hi"}])


def answer(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, json=COMPLETION, headers={"set-cookie": "session=abc; Path=/"})

    return httpx.MockTransport(handler)


def check(seen: list[httpx.Request]) -> None:
    assert len(seen) == 2
    for sent in seen:
        assert sent.method == "POST"
        assert str(sent.url) == "https://llm.example/v1/chat/completions"
        assert sent.headers["authorization"] == "Bearer sk-test"
        assert sent.headers["x-title"] == "clearance"
        assert sent.headers["content-type"] == "application/json"
        assert sent.headers["host"] == "llm.example"
        assert sent.headers["user-agent"].startswith("python-httpx/")
        assert int(sent.headers["content-length"]) == len(sent.content)
        assert json.loads(sent.content)["model"] == "a"
        assert sent.extensions["timeout"]["read"] == 7.0
        assert "cookie" not in sent.headers  # the answer's set-cookie is not sent back


def test_sync_requests_carry_the_clients_headers_and_no_cookie() -> None:
    seen: list[httpx.Request] = []
    provider = OpenAICompatibleProvider(
        "p",
        "https://llm.example/v1",
        api_key="sk-test",
        headers={"X-Title": "clearance"},
        timeout_s=7,
        transport=answer(seen),
    )
    for _ in range(2):
        assert provider.complete("a", REQUEST).response.content == "hi"
    provider.close()
    check(seen)


def test_async_requests_carry_the_clients_headers_and_no_cookie() -> None:
    seen: list[httpx.Request] = []
    provider = OpenAICompatibleProvider(
        "p",
        "https://llm.example/v1",
        api_key="sk-test",
        headers={"X-Title": "clearance"},
        timeout_s=7,
        async_transport=answer(seen),
        async_shards=1,
    )

    async def calls() -> None:
        for _ in range(2):
            assert (await provider.acomplete("a", REQUEST)).response.content == "hi"
        await provider.aclose()

    asyncio.run(calls())
    check(seen)
