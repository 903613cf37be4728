"""The retry/fallback plan, driven step by step: fake providers, a fake clock, no I/O.

Each test runs :func:`~clearance.retryplan.plan_attempts` with a script of replies and
errors, advancing a fake clock by each call's and each sleep's duration, and asserts the
steps yielded and the exact attempts of the outcome.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from clearance.config import RouterConfig
from clearance.errors import (
    AuthenticationFailed,
    BadRequest,
    ClearanceError,
    ContentPolicyViolation,
    ContextLengthExceeded,
    InvalidEndpoint,
    KillSwitchActive,
    MalformedResponse,
    MissingApiKey,
    MissingPrice,
    ModelNotFound,
    PaymentRequired,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderServerError,
    ProviderTimeout,
    RateLimited,
    UnknownOrg,
)
from clearance.providers.base import Provider, ProviderReply
from clearance.providers.types import ChatResponse
from clearance.retryplan import (
    RULES,
    Attempt,
    Call,
    Deadline,
    ModelInfo,
    Outcome,
    Sleep,
    Steps,
    error_kind,
    plan_attempts,
    rule_for,
)

MODELS = {
    "a/m1": ModelInfo("a", "m1", 8000),
    "b/m2": ModelInfo("b", "m2", 16000),
    "c/m3": ModelInfo("c", "m3", 32000),
    "d/m4": ModelInfo("d", "m4", 64000),
}
CHAIN = ("a/m1", "b/m2", "c/m3")
#: Two retries per model; backoff 1 s doubling to at most 3 s (halved by the default fake jitter).
SETTINGS = RouterConfig(
    max_attempts=6,
    retries_per_model=2,
    backoff_base_s=1.0,
    backoff_max_s=3.0,
    max_retry_after_s=10.0,
)
CALL_S = 1.0
"""Seconds each fake call takes on the fake clock."""


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeProvider:
    name: str


class FixedRandom(random.Random):
    """``random()`` returns these values in turn (jitter factor 0.5 + value / 2)."""

    def __init__(self, *values: float) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


@dataclass
class World:
    """The plan's surroundings: clock, providers, kill switch, keys."""

    clock: Clock = field(default_factory=Clock)
    killed: frozenset[str] = frozenset()
    """Providers and model ids under a kill switch."""
    no_key: frozenset[str] = frozenset()
    """Providers whose API key is missing."""
    unbuildable: frozenset[str] = frozenset()
    """Providers with no base URL."""
    check_s: float = 0.0
    """Seconds each kill-switch check takes."""
    checked: list[tuple[str, str]] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    providers: dict[str, Provider] = field(default_factory=dict)

    def check_killswitch(self, provider: str, model_id: str) -> None:
        self.checked.append((provider, model_id))
        self.clock.now += self.check_s
        if provider in self.killed:
            raise KillSwitchActive("provider", provider, "outage")
        if model_id in self.killed:
            raise KillSwitchActive("model", model_id, "bad answers")

    def provider_for(self, name: str) -> Provider:
        self.built.append(name)
        if name in self.no_key:
            raise MissingApiKey(name, f"{name.upper()}_KEY")
        if name in self.unbuildable:
            raise ProviderError("no base URL is known", provider=name, model_id=None)
        return self.providers.setdefault(name, cast(Provider, FakeProvider(name)))

    def plan(
        self,
        chain: Sequence[str] = CHAIN,
        *,
        settings: RouterConfig = SETTINGS,
        deadline_s: float = 1000.0,
        rng: random.Random | None = None,
        models: dict[str, ModelInfo] | None = None,
        **options: Any,
    ) -> Plan:
        steps = plan_attempts(
            chain,
            MODELS if models is None else models,
            settings,
            Deadline(self.clock.now + deadline_s, deadline_s),
            check_killswitch=self.check_killswitch,
            provider_for=self.provider_for,
            rng=rng or FixedRandom(*[0.0] * 20),
            clock=self.clock,
            **options,
        )
        return Plan(self, steps)


Result = ProviderReply | ProviderError


@dataclass
class Plan:
    world: World
    steps: Steps
    seen: list[tuple[object, ...]] = field(default_factory=list)

    def run(
        self,
        *results: Result,
        call_s: float = CALL_S,
        oversleep_s: float = 0.0,
    ) -> Outcome:
        """Drive the plan: each call takes ``call_s`` and gets the next result."""
        pending = list(results)
        steps = self.steps
        clock = self.world.clock
        try:
            step = next(steps)
            while True:
                if isinstance(step, Sleep):
                    self.seen.append(("sleep", step.seconds))
                    clock.now += step.seconds + oversleep_s
                    sent: Result | None = None
                else:
                    assert isinstance(step, Call)
                    assert step.provider is self.world.providers[step.provider.name]
                    self.seen.append(("call", step.model_id, step.model_name, step.deadline_s))
                    clock.now += call_s
                    sent = pending.pop(0)
                step = steps.send(sent)
        except StopIteration as stop:
            assert not pending, f"results left unused: {pending}"
            outcome: Outcome = stop.value
            return outcome


def reply(wait_s: float = 0.5, status_code: int = 200) -> ProviderReply:
    response = ChatResponse("hi", (), "stop", "stop", None)
    return ProviderReply(response, wait_s, status_code)


def server_error(model_id: str = "a/m1", message: str = "upstream down") -> ProviderServerError:
    return ProviderServerError(message, provider=model_id[0], model_id=model_id, status_code=502)


def rate_limited(model_id: str = "a/m1", retry_after: float | None = None) -> RateLimited:
    return RateLimited(
        "slow down",
        provider=model_id[0],
        model_id=model_id,
        status_code=429,
        retry_after=retry_after,
    )


def auth_failed(model_id: str = "a/m1") -> AuthenticationFailed:
    return AuthenticationFailed("bad key", provider=model_id[0], model_id=model_id, status_code=401)


def context_too_long(model_id: str) -> ContextLengthExceeded:
    return ContextLengthExceeded(
        "prompt too long", provider=model_id[0], model_id=model_id, status_code=400
    )


def failed(error: ProviderError, wait_s: float = CALL_S) -> Attempt:
    """The attempt a provider error makes."""
    return Attempt(
        error.model_id or "-",
        error.provider,
        "error",
        error.kind,
        getattr(error, "status_code", None),
        wait_s,
        getattr(error, "retry_after", None),
        error.message,
    )


def ok(model_id: str, wait_s: float = 0.5, status_code: int = 200) -> Attempt:
    return Attempt(model_id, model_id[0], "ok", status_code=status_code, wait_s=wait_s)


def calls(*model_ids: str, start: float = 1000.0, gaps: Iterable[float] = ()) -> list[object]:
    """Call steps one after the other, each CALL_S long; ``gaps[i]`` seconds are slept
    after call ``i`` (none for 0)."""
    gaps = list(gaps)
    seen: list[object] = []
    left = start
    for i, model_id in enumerate(model_ids):
        seen.append(("call", model_id, MODELS[model_id].name, left))
        left -= CALL_S
        if i < len(gaps) and gaps[i]:
            seen.append(("sleep", gaps[i]))
            left -= gaps[i]
    return seen


# -- retries, then fallback -------------------------------------------------------------


def test_a_retryable_error_is_retried_up_to_retries_per_model_then_falls_back() -> None:
    world = World()
    plan = world.plan()
    errors = [server_error(), server_error(), server_error()]
    outcome = plan.run(*errors, reply())
    assert plan.seen == calls("a/m1", "a/m1", "a/m1", "b/m2", gaps=[0.5, 1.0])
    assert outcome.attempts == [*(failed(e) for e in errors), ok("b/m2")]
    assert outcome.reply is not None
    assert outcome.model_id == "b/m2"
    assert outcome.fallback_reason == "server_error"
    assert outcome.error is errors[-1]
    assert world.checked == [("a", "a/m1"), ("b", "b/m2")]
    assert world.built == ["a", "b"]


def test_a_first_answer_ends_the_plan() -> None:
    world = World()
    plan = world.plan()
    served = reply(wait_s=0.25, status_code=203)
    outcome = plan.run(served)
    assert plan.seen == calls("a/m1")
    assert outcome == Outcome(
        reply=served,
        model_id="a/m1",
        attempts=[ok("a/m1", wait_s=0.25, status_code=203)],
        waited_s=0.25,
    )


def test_no_retries_per_model_falls_back_after_one_error() -> None:
    world = World()
    plan = world.plan(settings=SETTINGS.model_copy(update={"retries_per_model": 0}))
    outcome = plan.run(server_error(), server_error("b/m2"), reply())
    assert plan.seen == calls("a/m1", "b/m2", "c/m3")
    assert outcome.model_id == "c/m3"


def test_every_model_failing_ends_with_the_last_error() -> None:
    world = World()
    plan = world.plan(
        ("a/m1", "b/m2"), settings=SETTINGS.model_copy(update={"retries_per_model": 1})
    )
    errors = [server_error(), server_error(), server_error("b/m2"), server_error("b/m2")]
    outcome = plan.run(*errors)
    assert plan.seen == calls("a/m1", "a/m1", "b/m2", "b/m2", gaps=[0.5, 0, 0.5])
    assert outcome.reply is None
    assert outcome.model_id is None
    assert outcome.error is errors[-1]
    assert outcome.attempts == [failed(e) for e in errors]
    assert outcome.fallback_reason == "server_error"


# -- the rules, kind by kind ------------------------------------------------------------


def _http(cls: type[ProviderHTTPError], status: int, **extra: Any) -> Callable[[], ProviderError]:
    return lambda: cls("no", provider="a", model_id="a/m1", status_code=status, **extra)


def _plain(cls: type[ProviderError]) -> Callable[[], ProviderError]:
    return lambda: cls("no", provider="a", model_id="a/m1")


RETRY_AND_FALL_BACK = "retried, then falls back"
FALL_BACK = "falls back at once"
STOP = "ends the call"

ERRORS: list[tuple[Callable[[], ProviderError], str]] = [
    (_http(RateLimited, 429), RETRY_AND_FALL_BACK),
    (_http(ProviderServerError, 500), RETRY_AND_FALL_BACK),
    (_plain(ProviderTimeout), RETRY_AND_FALL_BACK),
    (_plain(ProviderConnectionError), RETRY_AND_FALL_BACK),
    (lambda: MalformedResponse("no", provider="a", model_id="a/m1", body="{"), RETRY_AND_FALL_BACK),
    (_plain(ProviderProtocolError), RETRY_AND_FALL_BACK),
    (_plain(InvalidEndpoint), FALL_BACK),
    (_http(AuthenticationFailed, 401), FALL_BACK),
    (_http(PaymentRequired, 402), FALL_BACK),
    (_http(ModelNotFound, 404), FALL_BACK),
    (_http(ContextLengthExceeded, 400), FALL_BACK),
    (_http(BadRequest, 400, code="tool_use_failed"), FALL_BACK),
    (_http(ContentPolicyViolation, 400), STOP),
    (_http(ContentPolicyViolation, 400, code="tool_use_failed"), STOP),
    (_http(BadRequest, 400), STOP),
    (_http(BadRequest, 400, code="invalid_json"), STOP),
    (_http(ProviderHTTPError, 418), STOP),  # a kind with no rule
    (_plain(ProviderError), STOP),  # a provider's bug, wrapped by the router
]


@pytest.mark.parametrize(
    ("make", "expected"),
    ERRORS,
    ids=[
        f"{make().kind}-{getattr(make(), 'code', None)}-{expected.split()[0]}"
        for make, expected in ERRORS
    ],
)
def test_each_error_kind_is_retried_falls_back_or_stops(
    make: Callable[[], ProviderError], expected: str
) -> None:
    world = World()
    plan = world.plan(
        ("a/m1", "b/m2"), settings=SETTINGS.model_copy(update={"retries_per_model": 1})
    )
    first, second = make(), make()
    if expected == RETRY_AND_FALL_BACK:
        outcome = plan.run(first, second, reply())
        assert plan.seen == calls("a/m1", "a/m1", "b/m2", gaps=[0.5])
        assert outcome.attempts == [failed(first), failed(second), ok("b/m2")]
        assert outcome.fallback_reason == first.kind
    elif expected == FALL_BACK:
        outcome = plan.run(first, reply())
        assert plan.seen == calls("a/m1", "b/m2")
        assert outcome.attempts == [failed(first), ok("b/m2")]
        assert outcome.fallback_reason == first.kind
    else:
        outcome = plan.run(first)
        assert plan.seen == calls("a/m1")
        assert outcome.attempts == [failed(first)]
        assert outcome.error is first
        assert outcome.reply is None
        assert outcome.fallback_reason is None
        assert world.checked == [("a", "a/m1")]


def test_the_rules_table() -> None:
    assert {kind: (rule.retry, rule.fall_back) for kind, rule in RULES.items()} == {
        "rate_limit": (True, True),
        "server_error": (True, True),
        "timeout": (True, True),
        "connection": (True, True),
        "malformed_response": (True, True),
        "protocol": (True, True),
        "invalid_endpoint": (False, True),
        "auth": (False, True),
        "payment_required": (False, True),
        "model_not_found": (False, True),
        "context_length": (False, True),
        "content_policy": (False, False),
        "bad_request": (False, False),
        "killed": (False, True),
        "no_price": (False, True),
        "missing_api_key": (False, False),
    }


def test_rule_for_refusals_and_unknown_errors() -> None:
    assert rule_for(KillSwitchActive("provider", "a", "x")) == RULES["killed"]
    assert rule_for(MissingPrice("a/m1", "no_price")) == RULES["no_price"]
    assert rule_for(MissingApiKey("a", "A_KEY")) == RULES["missing_api_key"]
    unknown = rule_for(UnknownOrg("acme"))
    assert (unknown.retry, unknown.fall_back) == (False, False)
    tool_use = rule_for(
        BadRequest("x", provider="a", model_id="m", status_code=400, code="tool_use_failed")
    )
    assert (tool_use.retry, tool_use.fall_back) == (False, True)


def test_a_bad_request_without_a_code_ends_the_call() -> None:
    class OwnBadRequest(ProviderError):
        """A provider object's own error class: no ``code`` attribute."""

        kind = "bad_request"

    world = World()
    error = OwnBadRequest("no", provider="a", model_id="a/m1")
    outcome = world.plan().run(error)
    assert outcome.error is error
    assert outcome.attempts == [failed(error)]


def test_error_kind_names_refusals_and_falls_back_on_the_class_name() -> None:
    assert error_kind(rate_limited()) == "rate_limit"
    assert error_kind(MissingApiKey("a", "A_KEY")) == "missing_api_key"
    assert error_kind(KillSwitchActive("global", "", "x")) == "killed"
    assert error_kind(MissingPrice("a/m1", "dynamic")) == "no_price"
    assert error_kind(UnknownOrg("acme")) == "UnknownOrg"
    assert error_kind(ClearanceError("x")) == "ClearanceError"


# -- backoff and Retry-After ------------------------------------------------------------


def test_retry_after_is_honoured_as_it_is() -> None:
    world = World()
    plan = world.plan(rng=FixedRandom(0.9, 0.9))
    errors = [rate_limited(retry_after=2.0), rate_limited(retry_after=10.0)]
    outcome = plan.run(*errors, reply())
    assert plan.seen == calls("a/m1", "a/m1", "a/m1", gaps=[2.0, 10.0])
    assert outcome.attempts == [failed(errors[0]), failed(errors[1]), ok("a/m1")]
    assert outcome.attempts[0].retry_after_s == 2.0
    assert outcome.waited_s == 2 * CALL_S + 2.0 + 10.0 + 0.5


def test_retry_after_above_max_retry_after_s_falls_back_at_once() -> None:
    world = World()
    plan = world.plan()
    error = rate_limited(retry_after=10.5)
    outcome = plan.run(error, reply())
    assert plan.seen == calls("a/m1", "b/m2")
    assert outcome.attempts == [failed(error), ok("b/m2")]
    assert outcome.fallback_reason == "rate_limit"


def test_backoff_doubles_up_to_backoff_max_s_with_jitter_between_half_and_all() -> None:
    world = World()
    settings = SETTINGS.model_copy(update={"retries_per_model": 4})
    # jitter factor 0.5 + value / 2: 0.5, 1.0 (at the limit), 0.75, 0.5
    plan = world.plan(settings=settings, rng=FixedRandom(0.0, 1.0, 0.5, 0.0))
    outcome = plan.run(*[server_error()] * 5, reply())
    # 1 s doubling: 1, 2, 4 -> capped at 3, 8 -> capped at 3
    gaps = [0.5 * 1.0, 1.0 * 2.0, 0.75 * 3.0, 0.5 * 3.0]
    assert plan.seen == calls("a/m1", "a/m1", "a/m1", "a/m1", "a/m1", "b/m2", gaps=gaps)
    assert outcome.model_id == "b/m2"
    assert outcome.waited_s == 5 * CALL_S + sum(gaps) + 0.5


def test_backoff_with_a_seeded_rng_has_exact_values() -> None:
    world = World()
    plan = world.plan(
        settings=SETTINGS.model_copy(update={"backoff_base_s": 0.25, "backoff_max_s": 8.0}),
        rng=random.Random(42),
    )
    plan.run(server_error(), server_error(), reply())
    sleeps = [cast(float, step[1]) for step in plan.seen if step[0] == "sleep"]
    # random.Random(42).random(): 0.6394267984578837, 0.025010755222666936
    assert sleeps == pytest.approx([0.25 * 0.8197133992289419, 0.5 * 0.5125053776113335])
    assert 0.25 * 0.5 <= sleeps[0] <= 0.25
    assert 0.5 * 0.5 <= sleeps[1] <= 0.5


def test_a_backoff_of_zero_is_slept() -> None:
    world = World()
    plan = world.plan(settings=SETTINGS.model_copy(update={"backoff_base_s": 0.0}))
    plan.run(server_error(), reply())
    assert plan.seen == [
        ("call", "a/m1", "m1", 1000.0),
        ("sleep", 0.0),
        ("call", "a/m1", "m1", 999.0),
    ]


# -- attempts bound ---------------------------------------------------------------------


def test_max_attempts_bounds_the_whole_chain() -> None:
    world = World()
    plan = world.plan(settings=SETTINGS.model_copy(update={"max_attempts": 4}))
    errors = [server_error(), server_error(), server_error(), server_error("b/m2")]
    outcome = plan.run(*errors)
    # b's error still backs off before the bound is seen
    assert plan.seen == calls("a/m1", "a/m1", "a/m1", "b/m2", gaps=[0.5, 1.0, 0, 0.5])
    assert outcome.attempts == [failed(e) for e in errors]
    assert outcome.error is errors[-1]
    assert world.checked == [("a", "a/m1"), ("b", "b/m2")]


def test_max_attempts_reached_within_one_model_stops_its_retries() -> None:
    world = World()
    plan = world.plan(settings=SETTINGS.model_copy(update={"max_attempts": 2}))
    errors = [server_error(), server_error()]
    outcome = plan.run(*errors)
    # the second error still backs off before the bound is seen
    assert plan.seen == calls("a/m1", "a/m1", gaps=[0.5, 1.0])
    assert outcome.attempts == [failed(e) for e in errors]
    assert world.checked == [("a", "a/m1")]


def test_models_passed_over_count_towards_max_attempts() -> None:
    world = World(killed=frozenset({"a"}))
    plan = world.plan(settings=SETTINGS.model_copy(update={"max_attempts": 2}))
    error = auth_failed("b/m2")
    outcome = plan.run(error)
    assert plan.seen == calls("b/m2")
    assert [a.outcome for a in outcome.attempts] == ["skipped", "error"]
    assert outcome.error is error
    assert outcome.fallback_reason == "killed"
    assert world.checked == [("a", "a/m1"), ("b", "b/m2")]


def test_max_attempts_of_one_tries_the_chosen_model_once() -> None:
    world = World()
    plan = world.plan(settings=SETTINGS.model_copy(update={"max_attempts": 1}))
    outcome = plan.run(server_error())
    # the error backs off before the bound is seen
    assert plan.seen == calls("a/m1", gaps=[0.5])
    assert len(outcome.attempts) == 1


# -- context length ---------------------------------------------------------------------


def test_a_context_length_error_skips_models_whose_window_is_not_larger() -> None:
    models = {
        "a/m1": ModelInfo("a", "m1", 8000),
        "b/m2": ModelInfo("b", "m2", 8000),
        "c/m3": ModelInfo("c", "m3", None),
        "d/m4": ModelInfo("d", "m4", 8001),
    }
    world = World()
    plan = world.plan(("a/m1", "b/m2", "c/m3", "d/m4"), models=models)
    error = context_too_long("a/m1")
    outcome = plan.run(error, reply())
    assert [s[1] for s in plan.seen] == ["a/m1", "d/m4"]
    assert outcome.attempts == [
        failed(error),
        Attempt("b/m2", "b", "skipped", "context_length", detail="window 8000 <= 8000"),
        Attempt("c/m3", "c", "skipped", "context_length", detail="window None <= 8000"),
        ok("d/m4"),
    ]
    assert outcome.model_id == "d/m4"
    assert outcome.fallback_reason == "context_length"
    assert world.checked == [("a", "a/m1"), ("d", "d/m4")]


def test_the_largest_window_exceeded_is_the_bar() -> None:
    models = {
        "a/m1": ModelInfo("a", "m1", 16000),
        "b/m2": ModelInfo("b", "m2", 32000),
        "c/m3": ModelInfo("c", "m3", 24000),
        "d/m4": ModelInfo("d", "m4", 64000),
    }
    world = World()
    plan = world.plan(("a/m1", "b/m2", "c/m3", "d/m4"), models=models)
    first, second = context_too_long("a/m1"), context_too_long("b/m2")
    outcome = plan.run(first, second, reply())
    assert [s[1] for s in plan.seen] == ["a/m1", "b/m2", "d/m4"]
    assert outcome.attempts[2] == Attempt(
        "c/m3", "c", "skipped", "context_length", detail="window 24000 <= 32000"
    )


def test_a_context_length_error_of_a_model_of_unknown_window_skips_unknown_windows() -> None:
    models = {
        "a/m1": ModelInfo("a", "m1", None),
        "b/m2": ModelInfo("b", "m2", None),
        "c/m3": ModelInfo("c", "m3", 1),
    }
    world = World()
    plan = world.plan(models=models)
    outcome = plan.run(context_too_long("a/m1"), reply())
    assert outcome.attempts[1] == Attempt(
        "b/m2", "b", "skipped", "context_length", detail="window None <= 0"
    )
    assert outcome.model_id == "c/m3"


def test_other_errors_do_not_skip_smaller_windows() -> None:
    models = {"a/m1": ModelInfo("a", "m1", 8000), "b/m2": ModelInfo("b", "m2", 4000)}
    world = World()
    plan = world.plan(("a/m1", "b/m2"), models=models)
    outcome = plan.run(auth_failed(), reply())
    assert outcome.model_id == "b/m2"


# -- kill switch, price, provider -------------------------------------------------------


def test_a_killed_fallback_is_passed_over() -> None:
    world = World(killed=frozenset({"b"}))
    plan = world.plan()
    error = auth_failed()
    outcome = plan.run(error, reply())
    assert plan.seen == calls("a/m1", "c/m3")
    assert outcome.attempts == [
        failed(error),
        Attempt("b/m2", "b", "skipped", "killed", detail="kill switch on (provider 'b'): outage"),
        ok("c/m3"),
    ]
    assert outcome.fallback_reason == "auth"
    assert world.built == ["a", "c"]


def test_a_killed_chosen_model_falls_back_with_reason_killed() -> None:
    world = World(killed=frozenset({"a/m1"}))
    plan = world.plan()
    outcome = plan.run(reply())
    assert plan.seen == calls("b/m2")
    assert outcome.attempts == [
        Attempt(
            "a/m1", "a", "skipped", "killed", detail="kill switch on (model 'a/m1'): bad answers"
        ),
        ok("b/m2"),
    ]
    assert outcome.fallback_reason == "killed"
    assert world.checked == [("a", "a/m1"), ("b", "b/m2")]


def test_every_model_killed_ends_with_the_last_refusal() -> None:
    world = World(killed=frozenset({"a", "b"}))
    plan = world.plan(("a/m1", "b/m2"))
    outcome = plan.run()
    assert plan.seen == []
    assert isinstance(outcome.error, KillSwitchActive)
    assert outcome.error.target == "b"
    assert [a.error_kind for a in outcome.attempts] == ["killed", "killed"]


def test_strict_pricing_passes_over_a_model_without_a_price() -> None:
    world = World()
    plan = world.plan(strict_pricing=True, priced={"a/m1", "c/m3"})
    error = auth_failed()
    outcome = plan.run(error, reply())
    assert plan.seen == calls("a/m1", "c/m3")
    assert outcome.attempts == [
        failed(error),
        Attempt("b/m2", "b", "skipped", "no_price", detail="no price for model 'b/m2' (no_price)"),
        ok("c/m3"),
    ]
    assert world.built == ["a", "c"]


def test_without_strict_pricing_an_unpriced_model_is_called() -> None:
    world = World()
    plan = world.plan(priced=set())  # strict_pricing defaults to False
    outcome = plan.run(reply())
    assert outcome.attempts == [ok("a/m1")]
    assert World().plan(strict_pricing=False).run(reply()).attempts == [ok("a/m1")]


def test_strict_pricing_checks_after_the_kill_switch() -> None:
    world = World(killed=frozenset({"a"}))
    outcome = world.plan(("a/m1",), strict_pricing=True).run()
    assert [a.error_kind for a in outcome.attempts] == ["killed"]


def test_a_fallback_without_its_key_is_passed_over_and_the_first_error_stands() -> None:
    world = World(no_key=frozenset({"b"}))
    plan = world.plan(settings=SETTINGS.model_copy(update={"retries_per_model": 0}))
    error = server_error()
    outcome = plan.run(error, reply())
    assert plan.seen == calls("a/m1", "c/m3")
    message = MissingApiKey("b", "B_KEY").message
    assert outcome.attempts == [
        failed(error),
        Attempt("b/m2", "b", "skipped", "missing_api_key", detail=message),
        ok("c/m3"),
    ]
    assert outcome.fallback_reason == "server_error"


def test_the_last_fallback_without_its_key_leaves_the_first_error() -> None:
    world = World(no_key=frozenset({"b"}))
    plan = world.plan(
        ("a/m1", "b/m2"), settings=SETTINGS.model_copy(update={"retries_per_model": 0})
    )
    error = server_error()
    outcome = plan.run(error)
    assert outcome.error is error
    assert outcome.fallback_reason == "server_error"


def test_the_chosen_model_without_its_key_ends_the_call() -> None:
    world = World(no_key=frozenset({"a"}))
    plan = world.plan()
    outcome = plan.run()
    assert plan.seen == []
    assert isinstance(outcome.error, MissingApiKey)
    assert outcome.attempts == [
        Attempt("a/m1", "a", "skipped", "missing_api_key", detail=outcome.error.message)
    ]
    assert world.built == ["a"]
    assert outcome.fallback_reason is None


def test_a_provider_that_cannot_be_built_ends_the_call() -> None:
    world = World(unbuildable=frozenset({"b"}))
    plan = world.plan()
    outcome = plan.run(auth_failed())
    assert plan.seen == calls("a/m1")
    assert isinstance(outcome.error, ProviderError)
    assert outcome.error.kind == "provider_error"
    assert outcome.attempts[1] == Attempt(
        "b/m2", "b", "skipped", "provider_error", detail="b (no model): no base URL is known"
    )
    assert world.checked == [("a", "a/m1"), ("b", "b/m2")]


def test_a_provider_is_looked_up_once_per_model() -> None:
    world = World()
    plan = world.plan(("a/m1", "a/m1"))
    plan.run(server_error(), server_error(), server_error(), reply())
    assert world.built == ["a", "a"]
    assert world.checked == [("a", "a/m1"), ("a", "a/m1")]


# -- the deadline -----------------------------------------------------------------------


def test_each_call_is_told_what_is_left_of_the_deadline() -> None:
    world = World()
    plan = world.plan(deadline_s=10.0)
    plan.run(server_error(), server_error(), reply(), call_s=2.0)
    assert plan.seen == [
        ("call", "a/m1", "m1", 10.0),
        ("sleep", 0.5),
        ("call", "a/m1", "m1", 7.5),
        ("sleep", 1.0),
        ("call", "a/m1", "m1", 4.5),
    ]


def test_a_deadline_passed_before_the_first_attempt() -> None:
    world = World(check_s=0.0)
    plan = world.plan(deadline_s=0.0)
    outcome = plan.run()
    assert plan.seen == []
    error = outcome.error
    assert isinstance(error, ProviderTimeout)
    assert (error.provider, error.model_id, error.limit, error.limit_s) == (
        "a",
        "a/m1",
        "deadline_s",
        0.0,
    )
    assert error.message == "a (a/m1): the call's deadline_s=0 s passed after 0 attempts"
    assert outcome.attempts == []
    assert world.checked == []


def test_a_deadline_passed_before_a_fallback() -> None:
    world = World()
    plan = world.plan(deadline_s=2.5)
    error = auth_failed()
    outcome = plan.run(error, call_s=2.5)
    assert plan.seen == [("call", "a/m1", "m1", 2.5)]
    timeout = outcome.error
    assert isinstance(timeout, ProviderTimeout)
    assert (timeout.provider, timeout.model_id, timeout.limit, timeout.limit_s) == (
        "b",
        "b/m2",
        "deadline_s",
        2.5,
    )
    assert timeout.message == (
        "b (b/m2): the call's deadline_s=2.5 s passed after 1 attempt, the last one a auth error"
    )
    assert outcome.attempts == [failed(error, wait_s=2.5)]
    assert outcome.fallback_reason is None  # the plan ended before moving on
    assert world.checked == [("a", "a/m1")]


def test_a_deadline_passed_before_a_retry() -> None:
    world = World()
    plan = world.plan(deadline_s=3.0)
    error = server_error()
    # the first backoff (0.5 s of the 2 s left) fits, but sleeping takes 1.5 s more
    outcome = plan.run(error, oversleep_s=1.5)
    assert plan.seen == [("call", "a/m1", "m1", 3.0), ("sleep", 0.5)]
    timeout = outcome.error
    assert isinstance(timeout, ProviderTimeout)
    assert (timeout.provider, timeout.model_id, timeout.limit, timeout.limit_s) == (
        "a",
        "a/m1",
        "deadline_s",
        3.0,
    )
    assert timeout.message == (
        "a (a/m1): the call's deadline_s=3 s passed after 1 attempt, the last one a "
        "server_error error"
    )
    assert outcome.attempts == [failed(error)]
    assert outcome.waited_s == CALL_S + 2.0  # the oversleep counts


def test_passed_over_models_are_not_counted_as_attempts_in_the_deadline_message() -> None:
    world = World(killed=frozenset({"a"}), check_s=1.0)
    plan = world.plan(deadline_s=1.0)
    outcome = plan.run()
    assert isinstance(outcome.error, ProviderTimeout)
    assert outcome.error.message == ("b (b/m2): the call's deadline_s=1 s passed after 0 attempts")
    assert [a.outcome for a in outcome.attempts] == ["skipped"]


def test_the_last_error_named_is_the_last_provider_error_not_a_passed_over_model() -> None:
    world = World(killed=frozenset({"b"}), check_s=0.5)
    plan = world.plan(deadline_s=2.0)
    error = auth_failed()
    # a: checked (0.5 s), called (1 s); b: checked (0.5 s), killed; c: no time left
    outcome = plan.run(error)
    assert plan.seen == [("call", "a/m1", "m1", 1.5)]
    assert isinstance(outcome.error, ProviderTimeout)
    assert outcome.error.message == (
        "c (c/m3): the call's deadline_s=2 s passed after 1 attempt, the last one a auth error"
    )
    assert [a.outcome for a in outcome.attempts] == ["error", "skipped"]
    assert outcome.fallback_reason == "auth"


def test_a_backoff_that_would_end_past_the_deadline_is_not_slept() -> None:
    world = World()
    plan = world.plan(deadline_s=3.0)
    error = rate_limited(retry_after=2.0)
    outcome = plan.run(error, reply())
    # 2 s left after the first call: a 2 s wait would end at the deadline
    assert plan.seen == [("call", "a/m1", "m1", 3.0), ("call", "b/m2", "m2", 2.0)]
    assert outcome.attempts == [failed(error), ok("b/m2")]


def test_a_backoff_that_ends_before_the_deadline_is_slept() -> None:
    world = World()
    plan = world.plan(deadline_s=3.0)
    error = rate_limited(retry_after=1.99)
    outcome = plan.run(error, reply())
    assert plan.seen == [
        ("call", "a/m1", "m1", 3.0),
        ("sleep", 1.99),
        ("call", "a/m1", "m1", pytest.approx(0.01)),
    ]
    assert outcome.model_id == "a/m1"


def test_deadline_left() -> None:
    deadline = Deadline(10.0, 4.0)
    assert deadline.left(7.5) == 2.5
    assert deadline.left(11.0) == -1.0


# -- what the outcome says --------------------------------------------------------------


def test_fallback_reason_is_the_first_errors_kind() -> None:
    world = World()
    plan = world.plan(settings=SETTINGS.model_copy(update={"retries_per_model": 0}))
    outcome = plan.run(rate_limited(), server_error("b/m2"), reply())
    assert outcome.fallback_reason == "rate_limit"
    assert outcome.model_id == "c/m3"


def test_waited_s_sums_attempt_waits_and_sleeps() -> None:
    world = World()
    plan = world.plan()
    outcome = plan.run(server_error(), server_error(), reply(wait_s=0.7), call_s=1.25)
    # two failed calls of 1.25 s, sleeps of 0.5 and 1.0 s, and the answer's own wait
    assert outcome.waited_s == pytest.approx(1.25 + 0.5 + 1.25 + 1.0 + 0.7)
    assert [a.wait_s for a in outcome.attempts] == [1.25, 1.25, 0.7]


def test_an_error_detail_is_cut_at_300_characters() -> None:
    world = World()
    plan = world.plan(("a/m1",), settings=SETTINGS.model_copy(update={"retries_per_model": 0}))
    error = server_error(message="x" * 400)
    outcome = plan.run(error)
    detail = outcome.attempts[0].detail
    assert detail == error.message[:300]
    assert len(error.message) > 300


def test_allow_fallback_false_tries_only_the_chosen_model() -> None:
    world = World()
    plan = world.plan(allow_fallback=False)
    errors = [server_error(), server_error(), server_error()]
    outcome = plan.run(*errors)
    assert plan.seen == calls("a/m1", "a/m1", "a/m1", gaps=[0.5, 1.0])
    assert outcome.attempts == [failed(e) for e in errors]
    assert outcome.error is errors[-1]
    assert outcome.fallback_reason is None
    assert world.checked == [("a", "a/m1")]


def test_a_failed_attempt_of_an_error_without_status_records_none() -> None:
    world = World()
    plan = world.plan(("a/m1",), settings=SETTINGS.model_copy(update={"retries_per_model": 0}))
    error = ProviderConnectionError("refused", provider="a", model_id="a/m1")
    outcome = plan.run(error)
    assert outcome.attempts == [
        Attempt("a/m1", "a", "error", "connection", None, CALL_S, None, error.message)
    ]


# -- defaults ---------------------------------------------------------------------------


def test_the_default_clock_is_perf_counter() -> None:
    started = time.perf_counter()
    steps = plan_attempts(
        ("a/m1",),
        MODELS,
        SETTINGS.model_copy(update={"retries_per_model": 0}),
        Deadline(started + 60.0, 60.0),
        check_killswitch=lambda provider, model_id: None,
        provider_for=lambda name: cast(Provider, FakeProvider(name)),
        rng=random.Random(0),
    )
    step = next(steps)
    assert isinstance(step, Call)
    assert 59.0 < step.deadline_s <= 60.0
    with pytest.raises(StopIteration) as stop:
        steps.send(server_error())
    outcome: Outcome = stop.value.value
    assert 0.0 <= outcome.attempts[0].wait_s < 1.0


def test_strict_pricing_without_prices_passes_over_every_model() -> None:
    world = World()
    outcome = world.plan(("a/m1", "b/m2"), strict_pricing=True).run()
    assert isinstance(outcome.error, MissingPrice)
    assert outcome.error.model_id == "b/m2"
    assert [(a.model_id, a.error_kind) for a in outcome.attempts] == [
        ("a/m1", "no_price"),
        ("b/m2", "no_price"),
    ]
