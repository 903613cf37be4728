"""The router and API keys, against the reference server requiring a key: the chosen
model's provider without its key is refused before any request; a fallback without its
key is passed over with the reason recorded, never sent unauthenticated."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.orgstore import set_fallback_chain
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.errors import AuthenticationFailed, MissingApiKey
from clearance.reference import models_document
from clearance.router import Router
from tests.support.keyserver import SECRET, CountingServer, counting_server

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

USER = [{"role": "user", "content": "hi"}]
PROVIDERS = {"mock": "MOCK_API_KEY", "other": "OTHER_API_KEY", "third": "THIRD_API_KEY"}


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with counting_server() as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, server: CountingServer) -> ClearanceConfig:
    declared = "".join(
        f'[[providers]]\nname = "{name}"\nbase_url = "{server.base_url}"\n'
        f'api_key_env = "{variable}"\n'
        for name, variable in PROVIDERS.items()
    )
    (tmp_path / "clearance.toml").write_text(
        "[router]\nretries_per_model = 0\n[calllog]\nflush_interval_s = 0.02\n"
        "[gate]\nrequire_decision = false\n" + declared
    )
    return load_config(environ={}, cwd=tmp_path)


@pytest.fixture
def seeded(catalog: Catalog, server: CountingServer) -> Catalog:
    document = parse_model_list(models_document(), source="reference")
    with catalog.begin() as connection:
        for name, variable in PROVIDERS.items():
            ensure_provider(connection, name, base_url=server.base_url, api_key_env=variable)
            sync_models(connection, name, document, enable_new=True)
    server.requests.clear()
    return catalog


@pytest.fixture
def routers(seeded: Catalog, config: ClearanceConfig) -> Iterator[Any]:
    made: list[Router] = []

    def make(environ: dict[str, str]) -> Router:
        router = Router(config, seeded, environ=environ)
        made.append(router)
        return router

    yield make
    for router in made:
        router.close()


def _rows(router: Router) -> list[Any]:
    assert router.calllog is not None
    router.calllog.flush()
    with router.catalog.connect() as connection:
        return list(connection.execute(select(t.ai_calls).order_by(t.ai_calls.c.id)))


def test_the_chosen_models_provider_without_its_key_is_refused_before_any_request(
    routers: Any, server: CountingServer, config: ClearanceConfig
) -> None:
    router = routers({"MOCK_API_KEY": ""})
    with pytest.raises(MissingApiKey) as raised:
        router.complete(USER, model="mock:ref/steady")
    error = raised.value
    assert (error.provider, error.variable) == ("mock", "MOCK_API_KEY")
    assert error.message == (
        "provider 'mock' needs the environment variable MOCK_API_KEY, which is not set"
    )
    assert error.fix is not None
    assert config.source in error.fix
    assert server.requests == []
    ((attempt),) = error.attempts
    assert (attempt.outcome, attempt.error_kind) == ("skipped", "missing_api_key")  # type: ignore[attr-defined]
    (row,) = _rows(router)
    assert (row.status, row.error_kind, row.attempts) == ("error", "missing_api_key", 0)


def test_the_async_path_refuses_the_same_way(routers: Any, server: CountingServer) -> None:
    router = routers({})

    async def main() -> Any:
        try:
            return await router.acomplete(USER, model="mock:ref/steady")
        finally:
            await router.aclose()

    with pytest.raises(MissingApiKey, match="MOCK_API_KEY"):
        asyncio.run(main())
    assert server.requests == []


def test_a_fallback_without_its_key_is_passed_over_with_the_reason(
    routers: Any, seeded: Catalog, server: CountingServer
) -> None:
    with seeded.begin() as connection:
        set_fallback_chain(connection, "mock:ref/steady", ["other:ref/steady", "third:ref/steady"])
    router = routers({"MOCK_API_KEY": "sk-wrong-key-000000", "THIRD_API_KEY": SECRET})
    result = router.complete(USER, model="mock:ref/steady")
    assert result.served_model == "third:ref/steady"
    assert result.fallback_reason == "auth"
    outcomes = [(a.model_id, a.outcome, a.error_kind) for a in result.attempts]
    assert outcomes == [
        ("mock:ref/steady", "error", "auth"),
        ("other:ref/steady", "skipped", "missing_api_key"),
        ("third:ref/steady", "ok", None),
    ]
    assert "OTHER_API_KEY" in (result.attempts[1].detail or "")
    assert server.chats == 2  # mock (refused: wrong key) and third; never other
    assert "key from MOCK_API_KEY" in (result.attempts[0].detail or "")


def test_when_every_fallback_lacks_its_key_the_first_error_stands(
    routers: Any, seeded: Catalog, server: CountingServer
) -> None:
    with seeded.begin() as connection:
        set_fallback_chain(connection, "mock:ref/steady", ["other:ref/steady"])
    router = routers({"MOCK_API_KEY": "sk-wrong-key-000000"})
    with pytest.raises(AuthenticationFailed) as raised:
        router.complete(USER, model="mock:ref/steady")
    error = raised.value
    assert error.api_key_env == "MOCK_API_KEY"
    assert "HTTP 401 (key from MOCK_API_KEY)" in str(error)
    assert "sk-wrong-key-000000" not in str(error)
    assert [a.error_kind for a in error.attempts] == ["auth", "missing_api_key"]  # type: ignore[attr-defined]
    assert server.chats == 1


def test_a_key_that_is_set_is_sent(routers: Any, server: CountingServer) -> None:
    router = routers({"MOCK_API_KEY": SECRET})
    assert router.complete(USER, model="mock:ref/steady").served_model == "mock:ref/steady"
    assert server.chats == 1
    router.check_api_key("mock")  # set: nothing to say
    with pytest.raises(MissingApiKey, match="OTHER_API_KEY"):
        router.check_api_key("other")
