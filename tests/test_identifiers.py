"""Identifiers are checked at the router's entry, with the same limits on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clearance import InvalidIdentifier
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.errors import InputError
from clearance.identifiers import IDENTIFIER_LIMITS, check_identifiers, fit_row
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router

USER = [{"role": "user", "content": "hi"}]
ANSWER = {
    "id": "c",
    "object": "chat.completion",
    "model": "a",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def test_the_limits_are_the_call_log_columns() -> None:
    assert {
        "org": t.ai_calls.c.org_id.type.length,
        "session": t.ai_calls.c.session_id.type.length,
        "model": t.ai_calls.c.requested_model.type.length,
    } == IDENTIFIER_LIMITS
    assert IDENTIFIER_LIMITS["org"] == t.org_settings.c.org_id.type.length == 128
    assert IDENTIFIER_LIMITS["session"] == t.session_pins.c.session_id.type.length == 128


@pytest.mark.parametrize(
    ("arguments", "field", "reason", "length", "limit"),
    [
        ({"org": "x" * 5000}, "org", "too_long", 5000, 128),
        ({"org": "x" * 129}, "org", "too_long", 129, 128),
        ({"session": "s" * 129}, "session", "too_long", 129, 128),
        ({"model": "p:" + "m" * 299}, "model", "too_long", 301, 300),
        ({"org": ""}, "org", "empty", 0, 128),
        ({"org": "acme\x00"}, "org", "control_character", 5, 128),
        ({"session": "a\nb"}, "session", "control_character", 3, 128),
        ({"session": "caf\u00e9\x85"}, "session", "control_character", 5, 128),
        ({"org": "bad\udc80"}, "org", "control_character", 4, 128),
        ({"org": 42}, "org", "not_text", 0, 128),
        ({"tier": "premium"}, "tier", "unknown_tier", 7, 16),
    ],
)
def test_a_bad_identifier_is_a_typed_input_error(
    arguments: dict[str, Any], field: str, reason: str, length: int, limit: int
) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        check_identifiers(**arguments)
    error = caught.value
    assert isinstance(error, InputError)
    assert (error.field, error.reason, error.length, error.limit) == (field, reason, length, limit)
    assert error.message.startswith(field)
    assert error.fix
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.reason, copy.length, copy.limit, str(copy)) == (
        field,
        reason,
        length,
        limit,
        str(error),
    )


def test_a_too_long_id_names_its_length_and_limit() -> None:
    with pytest.raises(InvalidIdentifier, match=r"org 'x+'… is 5000 characters long.*at most 128"):
        check_identifiers(org="x" * 5000)


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"org": "x" * 128, "session": "s" * 128, "model": "m" * 300, "tier": "cheap"},
        {"org": "Zürich GmbH", "session": "セッション-1", "model": "openrouter:openai/gpt-4o"},
        {"org": "emoji 🙂 org"},
    ],
)
def test_ids_within_the_limits_pass(arguments: dict[str, Any]) -> None:
    check_identifiers(**arguments)


class NoIO:
    """A kill switch that fails the test if it is read."""

    def check(self, **_: object) -> None:
        raise AssertionError("the kill switch was read")

    def killed(self) -> tuple[set[str], set[str]]:
        raise AssertionError("the kill switch was read")

    def invalidate(self) -> None:
        pass


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(
        "[calllog]\nflush_interval_s = 0.02\n[gate]\nrequire_decision = false\n"
    )
    return load_config(environ={}, cwd=tmp_path)


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        models = parse_model_list({"data": [{"id": "a", "context_length": 8000}]}, source="t")
        sync_models(connection, "p", models, enable_new=True)
    return catalog


@pytest.mark.parametrize("asynchronous", [False, True])
def test_the_router_refuses_a_5000_character_org_before_any_io_on_both_dialects(
    seeded: Catalog, config: ClearanceConfig, asynchronous: bool
) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=ANSWER)

    provider = OpenAICompatibleProvider(
        "p",
        "https://p.example/v1",
        api_key="k",
        transport=httpx.MockTransport(answer),
        async_transport=httpx.MockTransport(answer),
    )
    no_io: Any = NoIO()
    guarded = Router(config, seeded, providers={"p": provider}, killswitch=no_io)
    try:
        call = (
            (lambda: asyncio.run(guarded.acomplete(USER, model="p:a", org="x" * 5000)))
            if asynchronous
            else (lambda: guarded.complete(USER, model="p:a", org="x" * 5000))
        )
        with pytest.raises(InvalidIdentifier) as caught:
            call()
        assert (caught.value.field, caught.value.length, caught.value.limit) == ("org", 5000, 128)
        assert sent == []  # no provider call, and NoIO saw no kill switch read
    finally:
        guarded.close()
    # a valid call through a normal router is served and logged: the check blocks only bad ids
    router = Router(config, seeded, providers={"p": provider})
    try:
        router.complete(USER, model="p:a", org="x" * 128)
        assert router.calllog is not None
        router.calllog.flush()
    finally:
        router.close()
    with seeded.connect() as connection:
        orgs = connection.execute(select(t.ai_calls.c.org_id)).scalars().all()
        total = connection.execute(select(func.count()).select_from(t.ai_calls)).scalar()
    assert (orgs, total) == (["x" * 128], 1)  # the refused call left no row


def test_fit_row_cuts_free_text_and_refuses_identifiers() -> None:
    row: dict[str, Any] = {"call_id": "c", "finish_reason_raw": "r" * 5000, "extra": None}
    assert fit_row(row) is None
    assert row["finish_reason_raw"] == "r" * 64
    assert row["extra"] == {"truncated": {"finish_reason_raw": 5000}}
    nul = {"call_id": "c", "error_kind": "a\x00b"}
    assert fit_row(nul) is None
    assert nul["error_kind"] == "a\ufffdb"
    problem = fit_row({"call_id": "c", "org_id": "x" * 5000})
    assert problem == "ai_calls.org_id is 5000 characters long; the column holds 128"
    assert "control character" in str(fit_row({"call_id": "c", "session_id": "a\x00"}))
