"""An async request imports nothing: every module httpx and httpcore reach for is
installed (issue 20: httpcore's ``import sniffio`` failed, searching all of ``sys.path``,
four times per async request, because nothing declared sniffio)."""

from __future__ import annotations

import asyncio
import importlib.abc
import json
import sys
from collections.abc import Iterator, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pytest

from clearance.providers.base import ChatRequest
from clearance.providers.openai import OpenAICompatibleProvider
from tests.support.hostile import Answer, HostileServer, hostile_server, http_answer

COMPLETION = {
    "id": "cmpl-1",
    "object": "chat.completion",
    "model": "a",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}


class _Searches(importlib.abc.MetaPathFinder):
    """Notes every module Python searches for (one not already in ``sys.modules``)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        self.names.append(fullname)
        return None  # let the real finders answer


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        running.answer = Answer([http_answer(json.dumps(COMPLETION).encode())])
        yield running


def test_an_async_request_searches_for_no_module(server: HostileServer) -> None:
    provider = OpenAICompatibleProvider("p", server.base_url)
    request = ChatRequest([{"role": "user", "content": "hi"}])
    searches = _Searches()

    async def calls() -> list[str]:
        await provider.acomplete("a", request)  # warm-up: first-use imports are fine
        sys.meta_path.insert(0, searches)
        try:
            for _ in range(3):
                reply = await provider.acomplete("a", request)
                assert reply.response.content == "hi"
        finally:
            sys.meta_path.remove(searches)
            await provider.aclose()
        return searches.names

    assert asyncio.run(calls()) == []
    assert "sniffio" in sys.modules
