"""The router's decisions, with scripted providers (httpx.MockTransport) and a real catalog."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, set_enabled, sync_models
from clearance.catalog.orgstore import set_fallback_chain, set_org
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    KillSwitchActive,
    NoModelAvailable,
    ProviderServerError,
    RateLimited,
)
from clearance.killswitch import set_switch
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

Handler = Callable[[dict[str, Any], int], httpx.Response]
SECRET = "sk-test-do-not-log-0123456789"
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def completion(
    content: str | None = "hi",
    *,
    tool_calls: list[Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "model": "x",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": usage or {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
    }


def ok(**kwargs: Any) -> Handler:
    return lambda body, n: httpx.Response(200, json=completion(**kwargs))


def status(
    code: int, message: str = "no", headers: dict[str, str] | None = None, error_code: Any = None
) -> Handler:
    error: dict[str, Any] = {"message": message}
    if error_code is not None:
        error["code"] = error_code
    return lambda body, n: httpx.Response(code, json={"error": error}, headers=headers)


def sequence(*handlers: Handler) -> Handler:
    """The n-th call to the model gets the n-th handler (the last one repeats)."""
    return lambda body, n: handlers[min(n, len(handlers) - 1)](body, n)


class Scripted:
    """A fake OpenAI-compatible provider: model name -> handler, counting calls."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.calls: list[str] = []
        self.headers: list[httpx.Headers] = []

    def _respond(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        model = body["model"]
        n = self.calls.count(model)
        self.calls.append(model)
        self.headers.append(request.headers)
        return self.handlers[model](body, n)

    def provider(self, name: str = "p") -> OpenAICompatibleProvider:
        def handle_async(request: httpx.Request) -> httpx.Response:
            return self._respond(request)

        return OpenAICompatibleProvider(
            name,
            "https://p.example/v1",
            api_key=SECRET,
            transport=httpx.MockTransport(self._respond),
            async_transport=httpx.MockTransport(handle_async),
        )


MODELS = [
    {
        "id": "a",
        "context_length": 8000,
        "pricing": {"prompt": "0.000001", "completion": "0.000002"},
    },
    {
        "id": "b",
        "context_length": 8000,
        "pricing": {"prompt": "0.000003", "completion": "0.000004"},
    },
    {
        "id": "big",
        "context_length": 200000,
        "pricing": {"prompt": "0.00001", "completion": "0.00002"},
    },
    {
        "id": "small",
        "context_length": 4000,
        "pricing": {"prompt": "0.000001", "completion": "0.000001"},
    },
    {"id": "unpriced", "context_length": 8000},
]


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(
        "[router]\nretries_per_model = 2\nbackoff_base_s = 0.01\nmax_retry_after_s = 5\n"
        "max_attempts = 6\n[calllog]\nflush_interval_s = 0.02\n"
        # routing mechanics, not the gate: serve enabled models the gate never judged
        "[gate]\nrequire_decision = false\n"
    )
    return load_config(environ={}, cwd=tmp_path)


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        sync_models(
            connection, "p", parse_model_list({"data": MODELS}, source="t"), enable_new=True
        )
    return catalog


class Harness:
    def __init__(self, catalog: Catalog, config: ClearanceConfig) -> None:
        self.catalog = catalog
        self.config = config
        self.slept: list[float] = []
        self.routers: list[Router] = []

    def router(
        self, handlers: dict[str, Handler], eval_run_id: str | None = None
    ) -> tuple[Router, Scripted]:
        scripted = Scripted(handlers)

        async def asleep(seconds: float) -> None:
            self.slept.append(seconds)

        router = Router(
            self.config,
            self.catalog,
            providers={"p": scripted.provider()},
            sleep=self.slept.append,
            asleep=asleep,
            eval_run_id=eval_run_id,
        )
        self.routers.append(router)
        return router, scripted

    def rows(self) -> list[Any]:
        for router in self.routers:
            assert router.calllog is not None
            router.calllog.flush()
        with self.catalog.connect() as connection:
            return list(connection.execute(select(t.ai_calls).order_by(t.ai_calls.c.id)))


@pytest.fixture
def harness(seeded: Catalog, config: ClearanceConfig) -> Iterator[Harness]:
    made = Harness(seeded, config)
    yield made
    for router in made.routers:
        router.close()


USER = [{"role": "user", "content": "weather in Oslo?"}]


def test_a_served_call_is_priced_exactly_and_logged(harness: Harness) -> None:
    router, scripted = harness.router({"a": ok()})
    result = router.complete(USER, model="p:a")
    assert result.served_model == "p:a"
    assert result.decision.reason == "requested"
    # 1000 × 0.000001 + 500 × 0.000002 = 0.001 + 0.001 = 0.002
    assert result.cost.cost == Decimal("0.002")
    assert result.cost.pricing_source == "catalog"
    assert result.overhead_s >= 0
    assert result.latency_s >= result.overhead_s
    (row,) = harness.rows()
    assert (row.status, row.requested_model, row.served_model, row.provider) == (
        "ok",
        "p:a",
        "p:a",
        "p",
    )
    assert (row.prompt_tokens, row.completion_tokens, row.cost) == (1000, 500, Decimal("0.002"))
    assert row.pricing_source == "catalog"
    assert row.attempts == 1
    assert row.overhead_us is not None
    assert scripted.headers[0]["authorization"] == f"Bearer {SECRET}"


def test_global_kill_switch_refuses_before_any_network_io(harness: Harness) -> None:
    router, scripted = harness.router({"a": ok()})
    set_switch(harness.catalog, "global", active=True, reason="incident")
    with pytest.raises(KillSwitchActive, match="incident"):
        router.complete(USER, model="p:a")
    assert scripted.calls == []
    (row,) = harness.rows()
    assert (row.status, row.error_kind) == ("refused", "killed")


def test_a_model_killed_after_the_policy_state_was_read_is_still_passed_over(
    harness: Harness,
) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b", "p:big"])
    router, scripted = harness.router({"a": status(503, "down"), "b": ok(), "big": ok()})
    router.state()  # policy state cached: b is alive in it
    set_switch(harness.catalog, "model", target="p:b", active=True, reason="bad output")
    router.killswitch.invalidate()  # the guard's own cache expires (at most 1 s in real life)
    result = router.complete(USER, model="p:a")
    assert result.served_model == "p:big"
    assert "b" not in scripted.calls
    (skipped,) = [a for a in result.attempts if a.outcome == "skipped"]
    assert (skipped.model_id, skipped.error_kind) == ("p:b", "killed")


def test_a_killed_requested_model_falls_back_to_the_default(
    harness: Harness, tmp_path: Path
) -> None:
    set_switch(harness.catalog, "model", target="p:a", active=True, reason="bad output")
    harness.config = harness.config.model_copy(
        update={"policy": harness.config.policy.model_copy(update={"default_model": "p:b"})}
    )
    router, scripted = harness.router({"a": ok(), "b": ok()})
    result = router.complete(USER, model="p:a")
    assert result.served_model == "p:b"
    assert result.decision.rejected[0].reason == "killed"
    assert scripted.calls == ["b"]


def test_429_honours_retry_after_then_succeeds(harness: Harness) -> None:
    router, _scripted = harness.router(
        {"a": sequence(status(429, "slow down", {"Retry-After": "2"}), ok())}
    )
    result = router.complete(USER, model="p:a")
    assert result.served_model == "p:a"
    assert harness.slept == [2.0]
    assert [a.outcome for a in result.attempts] == ["error", "ok"]
    assert result.attempts[0].error_kind == "rate_limit"
    assert result.attempts[0].retry_after_s == 2.0
    assert result.fallback_reason is None
    # waiting is not clearance's overhead
    assert result.overhead_s < 2.0


def test_429_retries_then_falls_back_with_the_reason_recorded(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    router, scripted = harness.router({"a": status(429, "slow"), "b": ok(content="b here")})
    result = router.complete(USER, model="p:a")
    assert result.served_model == "p:b"
    assert result.fallback_served
    assert result.fallback_reason == "rate_limit"
    assert scripted.calls == ["a", "a", "a", "b"]
    assert len(harness.slept) == 2  # backoff between the three tries of a
    # b's price: 1000 × 0.000003 + 500 × 0.000004 = 0.003 + 0.002
    assert result.cost.cost == Decimal("0.005")
    (row,) = harness.rows()
    assert (row.served_model, row.fallback_from, row.fallback_reason, row.attempts) == (
        "p:b",
        "p:a",
        "rate_limit",
        4,
    )
    assert [a["outcome"] for a in row.extra["attempts"]] == ["error", "error", "error", "ok"]


def test_a_retry_after_longer_than_allowed_falls_back_at_once(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    router, scripted = harness.router(
        {"a": status(429, "later", {"Retry-After": "3600"}), "b": ok()}
    )
    assert router.complete(USER, model="p:a").served_model == "p:b"
    assert scripted.calls == ["a", "b"]
    assert harness.slept == []


def test_401_is_not_retried_but_falls_back(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    router, scripted = harness.router({"a": status(401, f"bad key {SECRET}"), "b": ok()})
    result = router.complete(USER, model="p:a")
    assert scripted.calls == ["a", "b"]
    assert result.fallback_reason == "auth"
    rows = harness.rows()
    assert SECRET not in json.dumps([dict(r._mapping) for r in rows], default=str)


def test_context_length_falls_back_only_to_a_larger_window(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:small", "p:b", "p:big"])
    router, scripted = harness.router(
        {
            "a": status(
                400,
                "This model's maximum context length is 8000 tokens",
                error_code="context_length_exceeded",
            ),
            "small": ok(),
            "b": ok(),
            "big": ok(content="big enough"),
        }
    )
    result = router.complete(USER, model="p:a")
    assert result.served_model == "p:big"
    assert scripted.calls == ["a", "big"]
    skipped = [a for a in result.attempts if a.outcome == "skipped"]
    assert [a.model_id for a in skipped] == ["p:small", "p:b"]
    assert result.fallback_reason == "context_length"


def test_a_bad_request_neither_retries_nor_falls_back(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    router, scripted = harness.router({"a": status(400, "messages: bad role"), "b": ok()})
    with pytest.raises(BadRequest) as caught:
        router.complete(USER, model="p:a")
    assert scripted.calls == ["a"]
    assert len(caught.value.attempts) == 1
    (row,) = harness.rows()
    assert (row.status, row.error_kind, row.served_model) == ("error", "bad_request", None)


def test_groq_tool_use_failed_falls_back(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    router, _scripted = harness.router(
        {
            "a": status(400, "Failed to call a function", error_code="tool_use_failed"),
            "b": ok(),
        }
    )
    assert router.complete(USER, [WEATHER], model="p:a").served_model == "p:b"


def test_attempts_are_bounded(harness: Harness, config: ClearanceConfig) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b", "p:big", "p:small"])
    router, scripted = harness.router({m: status(503, "down") for m in ("a", "b", "big", "small")})
    with pytest.raises(ProviderServerError) as caught:
        router.complete(USER, model="p:a")
    assert len(scripted.calls) == config.router.max_attempts == 6
    assert caught.value.kind == "server_error"  # type: ignore[attr-defined]


def test_no_fallback_when_the_caller_forbids_it(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    router, scripted = harness.router({"a": status(429, "no"), "b": ok()})
    with pytest.raises(RateLimited):
        router.complete(USER, model="p:a", allow_fallback=False)
    assert "b" not in scripted.calls


def test_an_unpriced_model_is_priced_at_the_default_and_flagged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    router, _ = harness.router({"unpriced": ok()})
    with caplog.at_level(logging.WARNING, logger="clearance.router"):
        first = router.complete(USER, model="p:unpriced")
        router.complete(USER, model="p:unpriced")
    assert first.cost.pricing_source == "default"
    # 1000 × 0.000015 + 500 × 0.000075 = 0.015 + 0.0375
    assert first.cost.cost == Decimal("0.0525")
    assert sum("no price for p:unpriced" in m for m in caplog.messages) == 1
    assert {r.pricing_source for r in harness.rows()} == {"default"}


def test_a_provider_reported_cost_is_used_with_the_computed_one_kept(harness: Harness) -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 500, "cost": 0.0021}
    router, _ = harness.router({"a": ok(usage=usage)})
    result = router.complete(USER, model="p:a")
    assert (result.cost.cost, result.cost.computed) == (Decimal("0.0021"), Decimal("0.002"))
    (row,) = harness.rows()
    assert (row.cost, row.computed_cost, row.reported_cost, row.pricing_source) == (
        Decimal("0.0021"),
        Decimal("0.002"),
        Decimal("0.0021"),
        "provider",
    )


def test_policy_refusal_is_logged_and_raised(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_org(connection, "acme", enabled_models=[], default_model_id="p:a")
        set_enabled(connection, "p:a", False)
    router, scripted = harness.router({"a": ok()})
    with pytest.raises(NoModelAvailable):
        router.complete(USER, org="acme")
    assert scripted.calls == []
    (row,) = harness.rows()
    assert (row.status, row.org_id, row.error_kind) == ("refused", "acme", "NoModelAvailable")


def test_session_is_pinned_and_tool_calls_are_checked_in_the_log(harness: Harness) -> None:
    calls = [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
        },
        {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
    ]
    with harness.catalog.begin() as connection:
        set_org(connection, "acme", enabled_models=["p:a", "p:b"], default_model_id="p:a")
    router, _ = harness.router({"a": ok(content=None, tool_calls=calls), "b": ok()})
    result = router.complete(USER, [WEATHER], org="acme", session="s1")
    assert [c.name for c in result.response.tool_calls] == ["weather", "weather"]
    with harness.catalog.connect() as connection:
        pin = connection.execute(select(t.session_pins)).one()
    assert (pin.session_id, pin.model_id, pin.org_id) == ("s1", "p:a", "acme")
    (row,) = harness.rows()
    assert (row.tool_calls, row.tool_calls_valid) == (2, 1)
    assert row.extra["tool_calls"][1]["error"] == "schema_violation"


def test_ad_hoc_models_and_candidates_join_the_policy_state(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_enabled(connection, "p:b", False)
    router, scripted = harness.router({"b": ok(), "adhoc": ok()})
    with pytest.raises(NoModelAvailable):
        router.complete(USER, model="p:b", allow_fallback=False)
    with pytest.raises(NoModelAvailable):
        router.complete(USER, model="adhoc")  # unknown until it is added
    router.add_candidate("p:b")  # an eval's candidate: served although disabled
    router.add_adhoc_model("p:adhoc", "p", "adhoc")
    assert router.complete(USER, model="p:b").served_model == "p:b"
    # a bare name resolves against the ad hoc models too
    result = router.complete(USER, model="adhoc")
    assert (result.served_model, result.decision.reason) == ("p:adhoc", "requested")
    assert router.state().models["p:adhoc"].provider == "p"
    assert scripted.calls == ["b", "adhoc"]
    set_switch(harness.catalog, "provider", target="p", active=True, reason="outage")
    router.refresh()
    states = router.state().states
    assert states["p:adhoc"].killed  # added by hand, still under the kill switch
    assert states["p:b"].killed


def test_acomplete_follows_the_same_rules(harness: Harness) -> None:
    with harness.catalog.begin() as connection:
        set_fallback_chain(connection, "p:a", ["p:b"])
    router, scripted = harness.router({"a": status(401, "no"), "b": ok(content="async b")})

    async def main() -> Any:
        try:
            return await router.acomplete(USER, model="p:a")
        finally:
            await router.aclose()

    result = asyncio.run(main())
    assert result.served_model == "p:b"
    assert result.response.content == "async b"
    assert scripted.calls == ["a", "b"]


def test_secrets_stay_out_of_reprs_and_errors(harness: Harness) -> None:
    router, _ = harness.router({"a": status(401, f"key {SECRET} is wrong")})
    assert SECRET not in repr(router.provider("p"))
    with pytest.raises(AuthenticationFailed) as caught:
        router.complete(USER, model="p:a", allow_fallback=False)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.body)


def test_a_call_is_flagged_for_hand_off_at_call_time_or_after(harness: Harness) -> None:
    router, _ = harness.router({"a": ok()})
    flagged = router.complete(USER, model="p:a", escalated=True)
    later = router.complete(USER, model="p:a")
    plain = asyncio.run(router.acomplete(USER, model="p:a"))
    flagged_async = asyncio.run(router.acomplete(USER, model="p:a", escalated=True))
    # queued behind the rows not written yet, so the row it names is there when it runs
    outcome = router.flag_escalation(later.call_id, reason="asked for a person")
    assert outcome.result(timeout=30) == "flagged"
    assert router.flag_escalation("no-such-call").result(timeout=30) == "unknown"
    rows = {row.call_id: row for row in harness.rows()}
    assert {call_id: row.escalated for call_id, row in rows.items()} == {
        flagged.call_id: True,
        later.call_id: True,
        plain.call_id: False,
        flagged_async.call_id: True,
    }
    assert rows[later.call_id].extra["escalation"]["reason"] == "asked for a person"
    assert "escalation" not in (rows[flagged.call_id].extra or {})  # flagged at call time
    # a router that logs nothing flags the stored row at once
    quiet = Router(harness.config, harness.catalog, log_calls=False)
    assert quiet.flag_escalation(plain.call_id).result(timeout=0) == "flagged"
    assert quiet.flag_escalation("no-such-call").result(timeout=0) == "unknown"
    assert [row.escalated for row in harness.rows()] == [True, True, True, True]


def test_a_refused_call_keeps_its_escalation_flag(harness: Harness) -> None:
    router, _ = harness.router({"a": ok()})
    set_switch(harness.catalog, "global", active=True, reason="incident")
    with pytest.raises(KillSwitchActive):
        router.complete(USER, model="p:a", escalated=True)
    (row,) = harness.rows()
    assert (row.status, row.escalated) == ("refused", True)


def test_an_eval_runs_router_logs_its_calls_as_eval_traffic(harness: Harness) -> None:
    live, _ = harness.router({"a": ok()})
    evals, _ = harness.router({"a": ok()}, eval_run_id="run-7")
    served = live.complete(USER, model="p:a")
    judged = evals.complete(USER, model="p:a")
    rows = {row.call_id: row for row in harness.rows()}
    assert rows[served.call_id].eval_run_id is None  # live traffic
    assert rows[judged.call_id].eval_run_id == "run-7"
