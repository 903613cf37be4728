"""The attempt budget, and its hook into httpx's connection pools."""

from __future__ import annotations

import time

import httpcore
import httpx
import pytest

from clearance.providers.deadline import Budget, DeadlinePassed, bound_sync_client


def test_the_shorter_of_timeout_and_deadline_sets_the_budget() -> None:
    assert Budget.start(3.0).limit == "timeout_s"
    assert Budget.start(3.0, deadline_s=10.0).limit_s == 3.0
    cut = Budget.start(3.0, deadline_s=0.5)
    assert (cut.limit, cut.limit_s) == ("deadline_s", 0.5)
    assert 0 < cut.left() <= 0.5
    assert cut.describe("ReadTimeout") == (
        "no complete answer before the call's deadline_s ran out "
        "(0.50 s were left for this attempt; ReadTimeout)"
    )
    assert Budget.start(3.0).describe("ReadTimeout") == (
        "no complete answer within timeout_s=3 s of the request (ReadTimeout)"
    )


def test_a_spent_budget_says_so() -> None:
    spent = Budget.start(1.0, deadline_s=-2.0)
    assert spent.limit_s == 0.0
    with pytest.raises(DeadlinePassed):
        spent.check()
    Budget(time.monotonic() + 60, "timeout_s", 60).check()  # time left: no error


def pools(client: httpx.Client) -> list[object]:
    transports = [client._transport, *client._mounts.values()]
    return [transport._pool for transport in transports if transport is not None]  # type: ignore[attr-defined]


def test_every_pool_of_an_httpx_client_gets_the_bounded_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx's internals this relies on: a test, so that an upgrade that moves them shows
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with httpx.Client() as client:
        assert len(pools(client)) == 2  # the transport and the proxy mount
        assert bound_sync_client(client)
        backends = [pool._network_backend for pool in pools(client)]  # type: ignore[attr-defined]
        assert all(type(b).__name__ == "_BoundedBackend" for b in backends)
        assert bound_sync_client(client)  # twice: wrapped once
        inner = [b._inner for b in backends]
        assert all(isinstance(b, httpcore.NetworkBackend) for b in inner)
        assert not any(type(b).__name__ == "_BoundedBackend" for b in inner)


def test_an_injected_transport_has_no_pool_to_bound() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        assert not bound_sync_client(client)


def test_a_bounded_read_gets_only_the_time_left() -> None:
    from clearance.providers.deadline import _bounded

    assert _bounded(5.0, httpcore.ReadTimeout) == 5.0  # no attempt running: as asked
    with Budget.start(0.5).bound():
        left = _bounded(5.0, httpcore.ReadTimeout)
        assert left is not None
        assert 0 < left <= 0.5
        assert _bounded(0.1, httpcore.ReadTimeout) == 0.1
    with Budget.start(1.0, deadline_s=0.0).bound(), pytest.raises(httpcore.ReadTimeout):
        _bounded(5.0, httpcore.ReadTimeout)
