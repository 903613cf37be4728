"""Every async client (httpx's transport, aiohttp's under it) behaves the same: the same
bytes on the wire, the same answers, the same typed errors, against real sockets.

Deadlines across clients are in tests/test_router_deadlines.py (parametrized by
``tests.support.async_clients.CALL_MODES``).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance.catalog.database import open_catalog
from clearance.config import load_config
from clearance.errors import (
    ClearanceError,
    ConfigError,
    ProviderConnectionError,
    ProviderError,
    RateLimited,
)
from clearance.providers.base import ChatRequest
from clearance.providers.http import ASYNC_CLIENTS, AsyncClientKind
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router, RouterResult
from tests.support.async_clients import ASYNC_MODES
from tests.support.hostile import Answer, HostileServer, hostile_server, http_answer
from tests.test_router_transport import (
    COMPLETION,
    USER,
    make_config,
    raw_answers,
    row_count,
    seed,
)

REQUEST = ChatRequest([{"role": "user", "content": "hi"}])


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


def provider(base_url: str, kind: AsyncClientKind, **kwargs: Any) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider("p", base_url, async_client=kind, **kwargs)


def acomplete(made: OpenAICompatibleProvider, request: ChatRequest = REQUEST, **kwargs: Any) -> Any:
    async def run() -> Any:
        try:
            return await made.acomplete("a", request, model_id="p:a", **kwargs)
        finally:
            await made.aclose()

    return asyncio.run(run())


def outcome(made: OpenAICompatibleProvider, **kwargs: Any) -> tuple[str, str]:
    """What one async call gave: ``("ok", content)`` or ``(error class, kind)``."""
    try:
        reply = acomplete(made, **kwargs)
    except ProviderError as error:
        return type(error).__name__, error.kind
    return "ok", reply.response.content


# -- the same bytes on the wire ---------------------------------------------------------------


class Recorder:
    """A loopback server that keeps each request's raw bytes and answers COMPLETION."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                while len(body) < length:
                    body += connection.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + body)
                connection.sendall(http_answer(json.dumps(COMPLETION).encode()))


def parsed(raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    line, *fields = head.split(b"\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return line, headers, body


def test_every_async_client_sends_the_same_request() -> None:
    recorder = Recorder()
    try:
        for kind in ASYNC_CLIENTS:
            made = provider(
                recorder.base_url, kind, api_key="sk-test", headers={"X-Title": "clearance"}
            )
            assert acomplete(made).response.content == "hi"
    finally:
        recorder.listener.close()
    (line_a, headers_a, body_a), (line_b, headers_b, body_b) = map(parsed, recorder.requests)
    assert line_a == line_b == b"POST /v1/chat/completions HTTP/1.1"
    assert headers_a == headers_b
    assert headers_a[b"authorization"] == b"Bearer sk-test"
    assert headers_a[b"user-agent"].startswith(b"python-httpx/")
    assert b"cookie" not in headers_a
    assert body_a == body_b
    assert json.loads(body_a)["model"] == "a"


# -- the same answers and typed errors ---------------------------------------------------------

ANSWERS = {
    "json": Answer([http_answer(json.dumps(COMPLETION).encode())]),
    "gzipped": Answer(
        [
            http_answer(
                gzip.compress(json.dumps(COMPLETION).encode()),
                headers=[("content-type", "application/json"), ("content-encoding", "gzip")],
            )
        ]
    ),
    "not-gzip-as-declared": Answer(
        [
            http_answer(
                json.dumps(COMPLETION).encode(),
                headers=[("content-type", "application/json"), ("content-encoding", "gzip")],
            )
        ]
    ),
    "429": Answer(
        [
            http_answer(
                b'{"error": {"message": "slow down", "code": 429}}',
                status="429 Too Many Requests",
                headers=[("content-type", "application/json"), ("retry-after", "3")],
            )
        ]
    ),
    "cut-short": Answer([http_answer(json.dumps(COMPLETION).encode())[:-10]]),
    "no-answer": Answer([b""]),
    "not-http": Answer([b"ICY 200 OK\r\n\r\nhello"]),
    "not-json": Answer([http_answer(b"<html>busy</html>")]),
}


@pytest.mark.parametrize("name", list(ANSWERS))
def test_every_async_client_gives_the_same_outcome(server: HostileServer, name: str) -> None:
    server.answer = ANSWERS[name]
    seen = {kind: outcome(provider(server.base_url, kind, timeout_s=2)) for kind in ASYNC_CLIENTS}
    assert len(set(seen.values())) == 1, seen
    expected = {
        "json": ("ok", "hi"),
        "gzipped": ("ok", "hi"),
        "not-gzip-as-declared": ("ProviderProtocolError", "protocol"),
        "429": ("RateLimited", "rate_limit"),
        "cut-short": ("ProviderProtocolError", "protocol"),
        "no-answer": ("ProviderProtocolError", "protocol"),
        "not-http": ("ProviderProtocolError", "protocol"),
        "not-json": ("MalformedResponse", "malformed_response"),
    }
    assert seen["httpx"] == expected[name]


@pytest.mark.parametrize("kind", ASYNC_MODES)
def test_a_rate_limit_keeps_its_retry_after(server: HostileServer, kind: AsyncClientKind) -> None:
    server.answer = ANSWERS["429"]
    with pytest.raises(RateLimited) as raised:
        acomplete(provider(server.base_url, kind))
    assert raised.value.status_code == 429
    assert raised.value.retry_after == 3.0


@pytest.mark.parametrize("kind", ASYNC_MODES)
def test_a_refused_connection_is_a_connection_error(kind: AsyncClientKind) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ProviderConnectionError):
        acomplete(provider(f"http://127.0.0.1:{port}/v1", kind))


SSE = (
    b'data: {"id":"c","model":"a","choices":[{"index":0,"delta":{"content":"h"}}]}\n\n'
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"i"},"finish_reason":"stop"}]}\n\n'
    b'data: {"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"choices":[]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("kind", ASYNC_MODES)
def test_a_stream_reads_the_same_chunks(server: HostileServer, kind: AsyncClientKind) -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    server.answer = Answer([head, SSE[:50], 0.02, SSE[50:]])
    chunks: list[Any] = []
    reply = acomplete(
        provider(server.base_url, kind),
        ChatRequest([{"role": "user", "content": "hi"}], stream=True),
        on_chunk=chunks.append,
    )
    assert reply.response.content == "hi"
    assert reply.response.usage.completion_tokens == 1
    assert len(chunks) == 3


# -- a hostile server, over each async client --------------------------------------------------


@pytest.mark.parametrize("kind", ASYNC_MODES)
def test_a_hostile_server_only_ever_gets_a_result_or_a_clearance_error_async(
    server: HostileServer, tmp_path: Path, kind: AsyncClientKind
) -> None:
    catalog = seed(open_catalog(f"sqlite:///{tmp_path / 'c.db'}"))
    made = provider(server.base_url, kind, timeout_s=0.4)
    router = Router(
        make_config(tmp_path, "deadline_s = 0.8"),
        catalog,
        providers={"p": made},
        sleep=lambda s: None,
    )
    seen: dict[str, int] = {}
    loop = asyncio.new_event_loop()  # one loop, as an application has

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(answer=raw_answers(), stream=st.booleans())
    def check(answer: Answer, stream: bool) -> None:
        server.answer = answer
        before = row_count(router, catalog)
        cause = ""
        try:
            result = loop.run_until_complete(router.acomplete(USER, model="p:a", stream=stream))
        except ClearanceError as error:
            unmapped = type(error) is ProviderError
            found = "unmapped" if unmapped else getattr(error, "kind", type(error).__name__)
            cause = repr(error.__cause__)
        else:
            assert isinstance(result, RouterResult)
            found = "ok"
        seen[found] = seen.get(found, 0) + 1
        assert found != "unmapped", cause
        assert row_count(router, catalog) == before + 1

    with router:
        try:
            check()
        finally:
            loop.run_until_complete(made.aclose())
            loop.close()
    catalog.dispose()
    assert {"ok", "protocol"} <= seen.keys(), seen


# -- the setting -------------------------------------------------------------------------------


def test_aiohttp_missing_is_a_config_error_with_the_install_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # import aiohttp raises ImportError
    with pytest.raises(ConfigError) as raised:
        provider("http://127.0.0.1:9/v1", "aiohttp")
    assert raised.value.fix is not None
    assert "pip install 'clearance[aiohttp]'" in raised.value.fix
    # an injected transport needs no aiohttp: nothing is sent over it
    assert provider("http://127.0.0.1:9/v1", "httpx").async_client == "httpx"


def test_an_unknown_async_client_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'curl' is not one of httpx, aiohttp"):
        provider("http://127.0.0.1:9/v1", "curl")  # type: ignore[arg-type]


def test_the_router_builds_its_providers_with_the_configured_async_client(
    tmp_path: Path,
) -> None:
    (tmp_path / "clearance.toml").write_text(
        f'[catalog]\ndatabase_url = "sqlite:///{tmp_path}/c.db"\n'
        '[[providers]]\nname = "p"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[router]\nasync_client = "aiohttp"\n'
    )
    config = load_config(environ={}, cwd=tmp_path)
    assert config.router.async_client == "aiohttp"
    catalog = open_catalog(config.resolved_database_url())
    with Router(config, catalog) as router:
        made = router.provider("p")
        assert isinstance(made, OpenAICompatibleProvider)
        assert made.async_client == "aiohttp"
    catalog.dispose()
    (tmp_path / "clearance.toml").write_text('[router]\nasync_client = "curl"\n')
    with pytest.raises(ConfigError):
        load_config(environ={}, cwd=tmp_path)
