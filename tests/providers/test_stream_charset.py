"""A stream is read as UTF-8 whatever charset its Content-Type declares.

The Server-Sent Events standard says a stream is always decoded as UTF-8; a server that
declares another charset (a hostile one did: ``charset=utf-16``) must not turn a good
answer into a ``UnicodeError`` that no ``ProviderError`` stands for.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from clearance.providers.base import ChatRequest
from clearance.providers.openai import OpenAICompatibleProvider

CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Grüße, "}}]},
    {"choices": [{"index": 0, "delta": {"content": "東京"}, "finish_reason": "stop"}]},
]
BODY = (
    "".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in CHUNKS) + "data: [DONE]\n\n"
)


def _respond(charset: str) -> httpx.MockTransport:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": f"text/event-stream; charset={charset}"},
            content=BODY.encode("utf-8"),
        )

    return httpx.MockTransport(respond)


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "no-such-charset", "utf-8"])
def test_a_stream_is_utf8_whatever_its_declared_charset(charset: str) -> None:
    provider = OpenAICompatibleProvider(
        "p",
        "https://p.example/v1",
        transport=_respond(charset),
        async_transport=_respond(charset),
    )
    request = ChatRequest([{"role": "user", "content": "hi"}], stream=True)
    try:
        reply = provider.complete("m", request, model_id="p:m")
        areply = asyncio.run(provider.acomplete("m", request, model_id="p:m"))
    finally:
        provider.close()
    assert reply.response.content == areply.response.content == "Grüße, 東京"
    assert reply.response.finish_reason == "stop"
