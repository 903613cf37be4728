"""No foreign exception leaves the router: every transport failure is typed, follows the
retry/fallback rules and gets its ai_calls row (a hostile loopback server, MockTransport)."""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import h11
import httpcore
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.orgstore import set_fallback_chain
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.errors import (
    ClearanceError,
    InvalidEndpoint,
    ProviderError,
    ProviderProtocolError,
)
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import RULES, Router, RouterResult
from tests.support.hostile import Answer, HostileServer, hostile_server, http_answer

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

USER = [{"role": "user", "content": "weather in Oslo?"}]
COMPLETION = {
    "id": "cmpl-1",
    "object": "chat.completion",
    "model": "a",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}
MODELS = [
    {
        "id": name,
        "context_length": 8000,
        "pricing": {"prompt": "0.000001", "completion": "0.000002"},
    }
    for name in ("a", "b")
]


def make_config(tmp_path: Path, router: str = "") -> ClearanceConfig:
    """Quick retries; ``router`` holds ``key = value`` lines that replace the defaults."""
    keys = {"retries_per_model": "1", "backoff_base_s": "0.01", "max_attempts": "6"}
    for line in router.splitlines():
        key, _, value = line.partition("=")
        keys[key.strip()] = value.strip()
    section = "".join(f"{key} = {value}\n" for key, value in keys.items())
    (tmp_path / "clearance.toml").write_text(
        f"[router]\n{section}[calllog]\nflush_interval_s = 0.02\n[gate]\nrequire_decision = false\n"
    )
    return load_config(environ={}, cwd=tmp_path)


def seed(catalog: Catalog, base_url: str = "http://127.0.0.1:9/v1") -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url=base_url)
        sync_models(
            connection, "p", parse_model_list({"data": MODELS}, source="t"), enable_new=True
        )
    return catalog


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    return seed(catalog)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


def rows(router: Router, catalog: Catalog) -> list[Any]:
    assert router.calllog is not None
    router.calllog.flush()
    with catalog.connect() as connection:
        return list(connection.execute(select(t.ai_calls).order_by(t.ai_calls.c.id)))


def row_count(router: Router, catalog: Catalog) -> int:
    assert router.calllog is not None
    router.calllog.flush()
    with catalog.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.ai_calls)).scalar_one())


def routed(catalog: Catalog, config: ClearanceConfig, provider: OpenAICompatibleProvider) -> Router:
    return Router(config, catalog, providers={"p": provider}, sleep=lambda s: None)


def test_a_body_not_in_its_declared_encoding_is_typed_retried_and_logged(
    seeded: Catalog, server: HostileServer, tmp_path: Path
) -> None:
    # 2026-12-07: httpx.DecodingError escaped Router.complete, with no ai_calls row
    server.answer = Answer(
        [http_answer(json.dumps(COMPLETION).encode(), headers=[("content-encoding", "gzip")])]
    )
    router = routed(seeded, make_config(tmp_path), OpenAICompatibleProvider("p", server.base_url))
    with router:
        with pytest.raises(ProviderProtocolError) as raised:
            router.complete(USER, model="p:a", allow_fallback=False)
        assert raised.value.kind == "protocol"
        assert "content-encoding" in raised.value.message
        assert server.requests == 2  # retried once (retries_per_model = 1)
        (row,) = rows(router, seeded)
        assert (row.status, row.error_kind, row.attempts) == ("error", "protocol", 2)


def test_the_same_answer_gzipped_for_real_is_served(server: HostileServer, tmp_path: Path) -> None:
    catalog = seed(open_catalog(f"sqlite:///{tmp_path / 'c.db'}"))
    body = gzip.compress(json.dumps(COMPLETION).encode())
    server.answer = Answer([http_answer(body, headers=[("content-encoding", "gzip")])])
    router = routed(catalog, make_config(tmp_path), OpenAICompatibleProvider("p", server.base_url))
    with router:
        assert router.complete(USER, model="p:a").response.content == "hi"
    catalog.dispose()


# -- every exception class of httpx, httpcore and h11 -----------------------------------------

TIMEOUT = {"TimeoutException", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout"}
CONNECTION = {
    "NetworkError",
    "ConnectError",
    "ReadError",
    "WriteError",
    "CloseError",
    "ProxyError",
    "ConnectionNotAvailable",
}
ENDPOINT = {"InvalidURL", "UnsupportedProtocol"}
PROTOCOL = {
    "DecodingError",
    "RemoteProtocolError",
    "LocalProtocolError",
    "ProtocolError",
    "TransportError",
    "RequestError",
    "HTTPError",
    "HTTPStatusError",
    "TooManyRedirects",
    "StreamError",
    "StreamConsumed",
    "StreamClosed",
    "ResponseNotRead",
    "RequestNotRead",
}
NOT_RAISED_BY_CALLS = {("httpx", "CookieConflict")}
"""Raised by ``Cookies.get`` only, which the provider never calls."""


def expected_kind(name: str) -> str:
    for kind, names in (
        ("timeout", TIMEOUT),
        ("connection", CONNECTION),
        ("invalid_endpoint", ENDPOINT),
        ("protocol", PROTOCOL),
    ):
        if name in names:
            return kind
    raise AssertionError(f"{name}: a new exception class; decide its kind in transport_errors")


def exception_classes() -> list[type[BaseException]]:
    found = []
    for module in (httpx, httpcore, h11):
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and not name.startswith("_")
                and (module.__name__, name) not in NOT_RAISED_BY_CALLS
                and not (module is h11 and name == "ProtocolError")  # abstract in h11
            ):
                found.append(value)
    return found


def make(cls: type[BaseException]) -> BaseException:
    if cls is httpx.HTTPStatusError:
        request = httpx.Request("POST", "http://p.example/v1/chat/completions")
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    try:
        return cls("boom")
    except TypeError:
        return cls()  # httpx's stream errors take no message


class Failing(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks after its first bytes."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"id": "cmpl-1", '
        raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"id": "cmpl-1", '
        raise self.error


class Scripted:
    """Model ``a`` fails with :attr:`error` (sending, or reading the body); ``b`` answers."""

    def __init__(self) -> None:
        self.error: BaseException = RuntimeError("unset")
        self.in_body = False
        self.calls: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        self.calls.append(model)
        if model == "b":
            return httpx.Response(200, json=COMPLETION)
        if self.in_body:
            return httpx.Response(200, stream=Failing(self.error))
        raise self.error

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        return self.handle(request)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Router, Scripted, Catalog]]:
    root = tmp_path_factory.mktemp("transport")
    catalog = seed(open_catalog(f"sqlite:///{root / 'c.db'}"))
    with catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    scripted = Scripted()
    provider = OpenAICompatibleProvider(
        "p",
        "https://p.example/v1",
        transport=httpx.MockTransport(scripted.handle),
        async_transport=httpx.MockTransport(scripted.ahandle),
    )
    router = routed(catalog, make_config(root), provider)

    async def asleep(seconds: float) -> None:
        pass

    router._asleep = asleep
    yield router, scripted, catalog
    router.close()
    catalog.dispose()


@pytest.mark.parametrize(
    "cls", exception_classes(), ids=lambda c: f"{c.__module__.split('.')[0]}.{c.__name__}"
)
def test_every_transport_exception_is_typed_retried_or_not_and_logged(
    chain: tuple[Router, Scripted, Catalog], cls: type[BaseException]
) -> None:
    router, scripted, catalog = chain
    kind = expected_kind(cls.__name__)
    tries = 2 if RULES[kind].retry else 1
    before = row_count(router, catalog)
    for in_body in (False, True):
        scripted.in_body = in_body
        for asynchronous in (False, True):
            scripted.error = make(cls)
            scripted.calls.clear()
            if asynchronous:
                result = asyncio.run(router.acomplete(USER, model="p:a"))
            else:
                result = router.complete(USER, model="p:a")
            assert result.served_model == "p:b"  # every transport failure falls back
            assert result.fallback_reason == kind
            assert scripted.calls == ["a"] * tries + ["b"]
            assert [a.error_kind for a in result.attempts] == [kind] * tries + [None]
    assert row_count(router, catalog) == before + 4


def test_without_a_fallback_the_typed_error_is_raised_with_its_row(
    chain: tuple[Router, Scripted, Catalog],
) -> None:
    router, scripted, catalog = chain
    scripted.in_body = False
    scripted.error = httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'")
    scripted.calls.clear()
    before = row_count(router, catalog)
    with pytest.raises(InvalidEndpoint) as raised:
        router.complete(USER, model="p:a", allow_fallback=False)
    assert "base_url is 'https://p.example/v1'" in raised.value.message
    assert "base_url of provider 'p'" in str(raised.value.fix)
    assert scripted.calls == ["a"]  # never retried
    assert row_count(router, catalog) == before + 1


def test_a_bug_in_a_provider_is_a_provider_error_with_its_cause_and_row(
    chain: tuple[Router, Scripted, Catalog], caplog: pytest.LogCaptureFixture
) -> None:
    router, scripted, catalog = chain
    scripted.in_body = False
    scripted.error = ValueError("not a transport failure")
    scripted.calls.clear()
    before = row_count(router, catalog)
    with caplog.at_level(logging.ERROR, "clearance.router"), pytest.raises(ProviderError) as raised:
        router.complete(USER, model="p:a")
    assert type(raised.value) is ProviderError
    assert isinstance(raised.value.__cause__, ValueError)
    assert scripted.calls == ["a"]  # a bug: neither retried nor fallen back from
    assert "ValueError" in caplog.text
    assert row_count(router, catalog) == before + 1


def test_a_base_url_that_is_not_a_url_is_an_invalid_endpoint() -> None:
    with pytest.raises(InvalidEndpoint, match="base_url is 'http://\\[::1'"):
        OpenAICompatibleProvider("p", "http://[::1")


# -- a hostile server, answering anything ------------------------------------------------------

SSE = [
    b": OPENROUTER PROCESSING",
    b'data: {"id":"c","model":"a","choices":[{"index":0,"delta":{"content":"hi"}}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    b'data: {"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"choices":[]}',
    b'event: error\ndata: {"message":"overloaded","code":503}',
    b"data: [DONE]",
    b"data: {broken",
    b"retry: 10",
    b"",
]
BODIES = st.one_of(
    st.just(json.dumps(COMPLETION).encode()),
    st.just(b'{"error": {"message": "slow down", "code": 429}}'),
    st.just(b'{"choices": []}'),
    st.lists(st.sampled_from(SSE), max_size=8).map(lambda lines: b"\n\n".join(lines) + b"\n\n"),
    st.binary(max_size=200),
)
STATUS_LINES = st.one_of(
    st.just(b"HTTP/1.1 200 OK"),
    st.sampled_from(
        [
            b"HTTP/1.1 200 OK",
            b"HTTP/1.1 429 Too Many Requests",
            b"HTTP/1.1 503 Service Unavailable",
            b"HTTP/1.1 401 Unauthorized",
            b"HTTP/1.1 301 Moved Permanently",
            b"HTTP/1.1 204 No Content",
            b"HTTP/1.1 100 Continue",
            b"HTTP/1.1 101 Switching Protocols",
            b"HTTP/1.0 200 OK",
            b"HTTP/2 200",
            b"HTTP/1.1 2000 OK",
            b"ICY 200 OK",
            b"",
        ]
    ),
    st.builds(
        lambda code, reason: b"HTTP/1.1 %d %s" % (code, reason),
        st.integers(0, 999),
        st.binary(max_size=12),
    ),
)
HEADERS = st.lists(
    st.one_of(
        st.tuples(
            st.just(b"content-type"),
            st.sampled_from(
                [
                    b"application/json",
                    b"text/event-stream",
                    b"text/plain; charset=utf-16",
                    b"text/event-stream; charset=nope",
                ]
            ),
        ),
        st.tuples(
            st.just(b"content-encoding"),
            st.sampled_from(
                [b"gzip", b"deflate", b"br", b"zstd", b"identity", b"gzip, deflate", b"x-what", b""]
            ),
        ),
        st.tuples(st.just(b"transfer-encoding"), st.sampled_from([b"chunked", b"gzip", b"bogus"])),
        st.tuples(
            st.just(b"content-length"),
            st.sampled_from([b"0", b"5", b"100000", b"-1", b"abc", b"12, 13", b""]),
        ),
        st.tuples(
            st.just(b"retry-after"),
            st.sampled_from([b"0", b"1", b"-5", b"Wed, 21 Oct 2015 07:28:00 GMT", b"soon"]),
        ),
        st.tuples(st.binary(min_size=1, max_size=12), st.binary(max_size=20)),
    ),
    max_size=3,
)


@st.composite
def raw_answers(draw: st.DrawFn) -> Answer:
    """An HTTP/1.1-ish answer: any status line, headers, encoding, body, framing and pace."""
    body = draw(BODIES)
    encoding = draw(st.sampled_from([None, None, "gzip", "gzip-lie", "deflate"]))
    headers = list(draw(st.one_of(st.just([]), HEADERS)))
    if encoding == "gzip":
        body = gzip.compress(body)
    if encoding is not None:
        headers.append(
            (b"content-encoding", b"gzip" if encoding == "gzip-lie" else encoding.encode())
        )
    framing = draw(
        st.sampled_from(["length", "length", "lying-length", "chunked", "bad-chunks", "close"])
    )
    if framing == "length":
        headers.append((b"content-length", str(len(body)).encode()))
    elif framing == "lying-length":
        delta = draw(st.integers(-5, 50))
        headers.append((b"content-length", str(max(len(body) + delta, 0)).encode()))
    elif framing == "chunked":
        headers.append((b"transfer-encoding", b"chunked"))
        body = (b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n") if body else b"0\r\n\r\n"
    elif framing == "bad-chunks":
        headers.append((b"transfer-encoding", b"chunked"))
        body = draw(st.sampled_from([b"zz\r\n", b"5\r\nab", b"-1\r\n", b"3\r\nabcdef\r\n"])) + body
    head = draw(STATUS_LINES) + b"".join(b"\r\n" + name + b": " + value for name, value in headers)
    data = head + b"\r\n\r\n" + body
    if draw(st.sampled_from([False, False, False, True])):
        data = data[: draw(st.integers(0, len(data)))]  # the server hangs up early
    cut = draw(st.integers(0, len(data)))
    pause = draw(st.sampled_from([0.0, 0.0, 0.01, 0.05]))
    hold = draw(st.sampled_from([0.0] * 6 + [1.0]))  # then silence, past the timeout
    return Answer([data[:cut], pause, data[cut:]], hold_s=hold)


def test_a_hostile_server_only_ever_gets_a_result_or_a_clearance_error_and_a_row(
    server: HostileServer, tmp_path: Path
) -> None:
    catalog = seed(open_catalog(f"sqlite:///{tmp_path / 'c.db'}"))
    config = make_config(tmp_path, "deadline_s = 0.8")
    provider = OpenAICompatibleProvider("p", server.base_url, timeout_s=0.4)
    router = routed(catalog, config, provider)
    seen: dict[str, int] = {}

    @settings(
        max_examples=60,
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
            result = router.complete(USER, model="p:a", stream=stream)
        except ClearanceError as error:
            # the base class is what the router wraps an unmapped exception in: a miss
            unmapped = type(error) is ProviderError
            outcome = "unmapped" if unmapped else getattr(error, "kind", type(error).__name__)
            cause = repr(error.__cause__)
        else:
            assert isinstance(result, RouterResult)
            outcome = "ok"
        seen[outcome] = seen.get(outcome, 0) + 1
        assert outcome != "unmapped", cause
        assert row_count(router, catalog) == before + 1

    with router:
        check()
    catalog.dispose()
    assert {"ok", "protocol", "timeout", "malformed_response"} <= seen.keys(), seen


@pytest.mark.parametrize("base_url", ["localhost:8000/v1", "http://[::1"])
def test_clearance_call_with_a_base_url_http_cannot_use_is_the_callers_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    from typer.testing import CliRunner

    from clearance.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    result = CliRunner().invoke(
        app, ["call", "--base-url", base_url, "--model", "m", "--message", "hi"]
    )
    assert result.exit_code == 2, result.output
    assert "base URL cannot be used for HTTP" in result.stderr
    assert "fix: check base_url of provider 'direct'" in result.stderr
    assert "Traceback" not in result.output
