"""Deadlines: ``timeout_s`` bounds an attempt from the request to the last byte (a stream
included), ``deadline_s`` bounds the whole call; both against a real trickling server.

The bounds asserted (deadline + 2 s) are correctness bounds, not benchmarks: before the
fix, one call against these servers lasted as long as the server kept sending.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.orgstore import set_fallback_chain
from clearance.errors import ProviderServerError, ProviderTimeout
from clearance.providers.http import AsyncClientKind
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router
from tests.support.async_clients import CALL_MODES, call_in_mode
from tests.support.hostile import Answer, HostileServer, hostile_server, http_answer, trickle
from tests.test_router_transport import COMPLETION, USER, make_config, row_count, seed

MARGIN_S = 2.0
TRICKLED = trickle(http_answer(json.dumps(COMPLETION).encode()), 0.05)
"""The whole answer, status line first, one byte every 50 ms (~17 s in all)."""
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
KEEPALIVE_ONLY = [SSE_HEAD] + [b": OPENROUTER PROCESSING\n\n", 0.1] * 600
"""Headers at once, then a keep-alive comment every 100 ms for a minute, and nothing else."""
BODY_TRICKLED = [SSE_HEAD, *trickle(b'data: {"choices": []}\n\n' * 40, 0.05)]


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    handle = seed(open_catalog(f"sqlite:///{tmp_path / 'c.db'}"))
    yield handle
    handle.dispose()


class Slept(list[float]):
    """A real sleep that remembers what it was asked."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


def make_router(
    catalog: Catalog,
    server: HostileServer,
    tmp_path: Path,
    *,
    timeout_s: float,
    router: str = "",
    sleep: Callable[[float], None] = time.sleep,
    mode: AsyncClientKind | None = None,
) -> Router:
    provider = OpenAICompatibleProvider(
        "p", server.base_url, timeout_s=timeout_s, async_client=mode or "httpx"
    )
    return Router(make_config(tmp_path, router), catalog, providers={"p": provider}, sleep=sleep)


def call(router: Router, mode: AsyncClientKind | None, **kwargs: object) -> object:
    """Sync (``None``), or async over the provider's async client ``mode``."""
    return call_in_mode(router, mode, USER, model="p:a", **kwargs)


@pytest.mark.parametrize("mode", CALL_MODES)
@pytest.mark.parametrize(
    "answer",
    [TRICKLED, KEEPALIVE_ONLY, BODY_TRICKLED],
    ids=["trickled-from-the-status-line", "keepalive-comments-only", "trickled-body"],
)
def test_timeout_s_bounds_each_attempt_to_the_last_byte(
    catalog: Catalog,
    server: HostileServer,
    tmp_path: Path,
    answer: list[bytes | float],
    mode: AsyncClientKind | None,
) -> None:
    # 2026-12-07: timeout_s=3 against one byte a second lasted 126.85 s, keep-alives 126.25 s
    server.answer = Answer(answer)
    router = make_router(
        catalog, server, tmp_path, timeout_s=1.0, router="deadline_s = 60", mode=mode
    )
    with router:
        started = time.monotonic()
        with pytest.raises(ProviderTimeout) as raised:
            call(router, mode, allow_fallback=False, stream=answer is not TRICKLED)
        elapsed = time.monotonic() - started
        assert server.requests == 2  # two attempts of at most 1 s each (retries_per_model = 1)
        assert elapsed < 2 * 1.0 + MARGIN_S, elapsed
        assert (raised.value.limit, raised.value.limit_s) == ("timeout_s", 1.0)
        assert "timeout_s=1 s" in raised.value.message
        assert row_count(router, catalog) == 1


@pytest.mark.parametrize("mode", CALL_MODES)
def test_deadline_s_bounds_the_call_across_retries_and_fallbacks(
    catalog: Catalog, server: HostileServer, tmp_path: Path, mode: AsyncClientKind | None
) -> None:
    with catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    server.answer = Answer(KEEPALIVE_ONLY)
    # three attempts of 1 s would fit the timeouts; the call's 1.5 s does not
    router = make_router(
        catalog, server, tmp_path, timeout_s=1.0, router="deadline_s = 60", mode=mode
    )
    with router:
        started = time.monotonic()
        with pytest.raises(ProviderTimeout) as raised:
            call(router, mode, stream=True, deadline_s=1.5)
        elapsed = time.monotonic() - started
        assert elapsed < 1.5 + MARGIN_S, elapsed
        assert (raised.value.limit, raised.value.limit_s) == ("deadline_s", 1.5)
        assert "deadline_s=1.5 s passed after 2 attempts" in raised.value.message
        assert raised.value.fix is not None
        assert "router.deadline_s" in raised.value.fix
        assert [a.error_kind for a in raised.value.attempts] == ["timeout", "timeout"]
        assert row_count(router, catalog) == 1


def test_the_configured_deadline_applies_when_the_call_names_none(
    catalog: Catalog, server: HostileServer, tmp_path: Path
) -> None:
    server.answer = Answer(TRICKLED)
    router = make_router(catalog, server, tmp_path, timeout_s=5.0, router="deadline_s = 1")
    with router:
        started = time.monotonic()
        with pytest.raises(ProviderTimeout) as raised:
            router.complete(USER, model="p:a")
        assert time.monotonic() - started < 1.0 + MARGIN_S
        assert raised.value.limit == "deadline_s"
        assert server.requests == 1  # the attempt itself was cut to the second left


def test_a_backoff_never_sleeps_past_the_deadline(
    catalog: Catalog, server: HostileServer, tmp_path: Path
) -> None:
    server.answer = Answer([http_answer(b'{"error": {"message": "down"}}', status="503 Down")])
    slept = Slept()
    router = make_router(
        catalog,
        server,
        tmp_path,
        timeout_s=1.0,
        router="deadline_s = 1\nbackoff_base_s = 5\nbackoff_max_s = 5",
        sleep=slept,
    )
    with router:
        started = time.monotonic()
        with pytest.raises(ProviderServerError):  # the real failure, not a made-up timeout
            router.complete(USER, model="p:a", allow_fallback=False)
        assert time.monotonic() - started < 1.0
        assert slept == []  # a 2.5-5 s backoff does not fit the second left: no retry
        assert server.requests == 1
        assert row_count(router, catalog) == 1


def test_a_backoff_that_fits_is_slept(
    catalog: Catalog, server: HostileServer, tmp_path: Path
) -> None:
    server.answer = Answer([http_answer(b'{"error": {"message": "down"}}', status="503 Down")])
    slept = Slept()
    router = make_router(
        catalog, server, tmp_path, timeout_s=1.0, router="deadline_s = 10", sleep=slept
    )
    with router, pytest.raises(ProviderServerError):
        router.complete(USER, model="p:a", allow_fallback=False)
    assert len(slept) == 1
    assert server.requests == 2


def test_clearance_call_takes_a_deadline(
    server: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from clearance.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    server.answer = Answer(KEEPALIVE_ONLY)
    started = time.monotonic()
    result = CliRunner().invoke(
        app,
        [
            "call",
            "--base-url",
            server.base_url,
            "--model",
            "m",
            "--message",
            "hi",
            "--stream",
            "--timeout",
            "5",
            "--deadline",
            "1",
            "--json",
        ],
    )
    assert time.monotonic() - started < 1.0 + MARGIN_S
    assert result.exit_code == 3, result.stderr  # unavailable, as every timeout
    document = json.loads(result.stdout)
    assert document["kind"] == "timeout"
    assert "deadline_s" in document["message"]
