"""The router's catalog state, refreshed off the call path (issue 20, target 3).

A background thread re-reads the state and swaps it in whole; a call never waits on that
read once a state exists; a failing read keeps the last state for a bounded time and then
refuses calls as an unreadable kill switch does; the thread ends with the router. The
state's models and prices come from one snapshot of the catalog, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.pricestore import add_price_versions
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.errors import CatalogUnavailable, KillSwitchActive
from clearance.pricing import Price, PriceRates
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router
from clearance.routerstate import RouterState, StateRefresher
from tests.support.waiting import wait_until

THREAD = "clearance-router-state"
ANSWER = {
    "id": "cmpl-1",
    "object": "chat.completion",
    "model": "a",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}
ASK = [{"role": "user", "content": "hello"}]


def answer(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=ANSWER)


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(
        "[router]\nretries_per_model = 0\npolicy_cache_ttl_s = 0.05\n"
        "[calllog]\nflush_interval_s = 0.02\n[gate]\nrequire_decision = false\n"
    )
    return load_config(environ={}, cwd=tmp_path)


def listed(*names: str) -> Any:
    return parse_model_list(
        {
            "data": [
                {"id": name, "pricing": {"prompt": "0.000001", "completion": "0.000002"}}
                for name in names
            ]
        },
        source="t",
    )


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        sync_models(connection, "p", listed("a", "b"), enable_new=True)
    return catalog


@pytest.fixture
def router(seeded: Catalog, config: ClearanceConfig) -> Iterator[Router]:
    provider = OpenAICompatibleProvider(
        "p",
        "https://p.example/v1",
        api_key="k",
        transport=httpx.MockTransport(answer),
        async_transport=httpx.MockTransport(answer),
    )
    made = Router(config, seeded, providers={"p": provider})
    yield made
    made.close()


class Gate:
    """Holds the refresh thread at its next statement on the catalog until released."""

    def __init__(self, catalog: Catalog, *, when: str = "") -> None:
        self.when = when
        self.held = threading.Event()
        self.release = threading.Event()
        self.armed = False
        event.listen(catalog.engine, "before_cursor_execute", self._hold)

    def _hold(self, *args: Any) -> None:
        statement = args[2]
        if not self.armed or threading.current_thread().name != THREAD:
            return
        if self.when and self.when not in statement:
            return
        self.armed = False
        self.held.set()
        assert self.release.wait(20), "the test never released the refresh"


def refresh_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD]


def test_calls_never_wait_on_a_read_under_way(router: Router, seeded: Catalog) -> None:
    gate = Gate(seeded)
    router.complete(ASK, model="p:a")  # the first state is read by the call that needs it
    first = router.state()
    gate.armed = True
    wait_until(gate.held.is_set, "the background re-read started and is held")
    served = []
    for _ in range(20):  # the re-read is stuck; every call is served on the state in place
        served.append(router.complete(ASK, model="p:a").served_model)
        assert router.state() is first
    assert served == ["p:a"] * 20
    gate.release.set()
    wait_until(lambda: router.state() is not first, "the re-read was swapped in")
    assert router.state().read_at > first.read_at


def test_async_calls_never_wait_on_a_read_under_way(router: Router, seeded: Catalog) -> None:
    gate = Gate(seeded)

    async def scenario() -> RouterState:
        await router.acomplete(ASK, model="p:a")
        first = router.state()
        gate.armed = True
        while not gate.held.is_set():
            await asyncio.sleep(0.005)
        for _ in range(10):
            result = await router.acomplete(ASK, model="p:a")
            assert result.served_model == "p:a"
            assert router.state() is first
        gate.release.set()
        return first

    first = asyncio.run(scenario())
    wait_until(lambda: router.state() is not first, "the re-read was swapped in")


def test_models_and_prices_come_from_one_snapshot(router: Router, seeded: Catalog) -> None:
    """A model and its price committed between the read of the models and the read of
    the prices are in neither: the state never prices a model it does not know."""
    router.complete(ASK, model="p:a")
    first = router.state()
    gate = Gate(seeded, when="prices")  # the first statement on prices, models read already
    gate.armed = True
    wait_until(gate.held.is_set, "the re-read is between models and prices")
    with seeded.begin() as connection:
        sync_models(connection, "p", listed("a", "b", "c"), enable_new=True)
    gate.release.set()
    wait_until(lambda: router.state() is not first, "the held re-read was swapped in")
    held = router.state()
    assert "p:c" not in held.models
    assert "p:c" not in held.prices
    wait_until(lambda: "p:c" in router.state().models, "the next re-read sees the new model")
    fresh = router.state()
    assert fresh.prices["p:c"].rates.prompt == fresh.prices["p:a"].rates.prompt


def test_a_price_change_reaches_the_state_and_others_are_reused(
    router: Router, seeded: Catalog
) -> None:
    router.complete(ASK, model="p:a")
    first = router.state()
    rates = PriceRates.from_strings({"prompt": "0.000009", "completion": "0.000009"})
    with seeded.begin() as connection:
        add_price_versions(connection, [("p:b", Price("p:b", rates), "t")], source="provider")
    wait_until(
        lambda: router.state().prices["p:b"].rates == rates, "the new provider price is in force"
    )
    fresh = router.state()
    assert fresh.prices["p:b"].rates == rates
    assert fresh.prices["p:a"] is first.prices["p:a"]  # unchanged: not read again


def test_close_ends_the_thread_and_the_router_still_reads(router: Router) -> None:
    router.complete(ASK, model="p:a")
    assert refresh_threads()
    router.close()
    assert not [thread for thread in refresh_threads() if thread.is_alive()]
    before = router.state()
    time.sleep(0.06)  # past the lifetime: a closed router re-reads inline, as before
    assert router.state() is not before


def test_aclose_ends_the_thread(router: Router) -> None:
    async def scenario() -> None:
        await router.acomplete(ASK, model="p:a")
        assert refresh_threads()
        await router.aclose()

    asyncio.run(scenario())
    assert not [thread for thread in refresh_threads() if thread.is_alive()]


class Reader:
    """A state reader that can be made to fail, as a catalog that goes down."""

    def __init__(self) -> None:
        self.down = False
        self.reads = 0

    def read(self, previous: RouterState | None) -> RouterState:
        if self.down:
            raise CatalogUnavailable("sqlite:///catalog.db", "database is locked")
        self.reads += 1
        return RouterState(
            read_at=time.monotonic(),
            models={},
            states={},
            orgs={},
            prices={},
            fallbacks={},
            tiers={},
            platform_default=None,
            unknown_org="platform_default",
            providers={},
            canonical=str,
        )


@pytest.mark.parametrize("fail_open", [False, True])
def test_a_failing_read_keeps_the_state_then_fails_closed(fail_open: bool) -> None:
    reader = Reader()
    refresher = StateRefresher(reader.read, ttl_s=0.02, fail_open=fail_open, stale_after_s=0.3)
    try:
        first = refresher.current()
        reader.down = True
        time.sleep(0.1)  # several lifetimes: each re-read failed
        assert refresher.current() is first  # the last state keeps serving
        wait_until(lambda: time.monotonic() - first.read_at > 0.35, "past the staleness bound")
        if fail_open:
            assert refresher.current() is first
        else:
            with pytest.raises(KillSwitchActive) as refused:
                refresher.current()
            assert refused.value.scope == "unreadable"
            assert "database is locked" in refused.value.reason
        reader.down = False
        wait_until(lambda: refresher.reads > 0, "the catalog is back and re-read")
        assert refresher.current() is not first
    finally:
        refresher.close()


def test_a_refresher_does_not_keep_its_owner_alive() -> None:
    reader = Reader()
    refresher = StateRefresher(reader.read, ttl_s=0.01)
    refresher.current()
    thread = next(t for t in refresh_threads() if t.is_alive())
    del reader  # the bound method was the only reference: held weakly, it goes
    thread.join(5)
    assert not thread.is_alive()
