"""The retry/fallback plan: what to try next after each outcome of a routed call.

:func:`plan_attempts` is a generator of steps, pure and free of I/O: it yields
:class:`Call` (call this model, with this much of the call's deadline left) or
:class:`Sleep` (wait this long), is sent back the provider's reply or error (``None``
after a sleep), and returns the :class:`Outcome`. :class:`~clearance.router.Router`
drives it from ``complete`` (sync) and ``acomplete`` (async), so the logic is written
once.

The plan walks the chain, the chosen model first, then its fallbacks:

- What is retried and what falls back is decided by the error's kind (:data:`RULES`,
  through :func:`rule_for`): a 401 is never retried but may fall back to another
  provider's model; a 429 is retried (after its ``Retry-After``), then falls back; a
  content-policy refusal ends the call.
- A model is retried at most ``retries_per_model`` times, with backoff doubling from
  ``backoff_base_s`` up to ``backoff_max_s``, jittered to 50-100 % of that; a
  ``Retry-After`` is honoured as it is, unless longer than ``max_retry_after_s``, which
  falls back at once. ``max_attempts`` bounds the attempts of the whole chain, passed
  over models included.
- A context-length error passes over the later models whose window is not larger.
- Before a model's first request come its provider and model kill switches, its price
  (under strict pricing) and its provider object (whose API key may be missing). A model
  that fails one gets an attempt with outcome ``skipped``, and its error's rule decides:
  a kill switch or a missing price passes it over; the chosen model's provider without
  its key ends the call (the caller's configuration is wrong), while a fallback's is
  passed over and the error that led to it stands; a provider that cannot be built at
  all ends the call.
- No attempt starts once the call's :class:`Deadline` has passed (the call ends with a
  :class:`~clearance.errors.ProviderTimeout` whose ``limit`` is ``deadline_s``), each
  is told what is left of it, and a backoff that would end past it is not slept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from clearance.errors import (
    ClearanceError,
    ContextLengthExceeded,
    KillSwitchActive,
    MissingApiKey,
    MissingPrice,
    ProviderError,
    ProviderTimeout,
)
from clearance.providers.base import ProviderReply

if TYPE_CHECKING:
    import random

    from clearance.config import RouterConfig
    from clearance.providers.base import Provider

__all__ = [
    "RULES",
    "Attempt",
    "Call",
    "Deadline",
    "ErrorRule",
    "ModelInfo",
    "Outcome",
    "Sleep",
    "Steps",
    "error_kind",
    "plan_attempts",
    "rule_for",
]


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """What the router does after an error of one kind."""

    retry: bool
    """Try the same model again (up to ``router.retries_per_model``)."""
    fall_back: bool
    """Move on to the next model of the chain."""


#: Error kind (``ProviderError.kind``) to the router's reaction.
RULES: Mapping[str, ErrorRule] = {
    "rate_limit": ErrorRule(retry=True, fall_back=True),
    "server_error": ErrorRule(retry=True, fall_back=True),
    "timeout": ErrorRule(retry=True, fall_back=True),
    "connection": ErrorRule(retry=True, fall_back=True),
    "malformed_response": ErrorRule(retry=True, fall_back=True),
    # an answer that broke HTTP (a body not in its declared encoding, a connection cut
    # short): often passing, and a retry costs one request, within the call's deadline
    "protocol": ErrorRule(retry=True, fall_back=True),
    # a base URL HTTP cannot use fails the same way every time; another provider's may not
    "invalid_endpoint": ErrorRule(retry=False, fall_back=True),
    "auth": ErrorRule(retry=False, fall_back=True),
    "payment_required": ErrorRule(retry=False, fall_back=True),
    "model_not_found": ErrorRule(retry=False, fall_back=True),
    "context_length": ErrorRule(retry=False, fall_back=True),
    "content_policy": ErrorRule(retry=False, fall_back=False),
    "bad_request": ErrorRule(retry=False, fall_back=False),
    "killed": ErrorRule(retry=False, fall_back=True),
    "no_price": ErrorRule(retry=False, fall_back=True),
    # The chosen model's provider has no key: the caller's configuration is wrong. (A
    # fallback whose key is missing is passed over; the error that led to it stands.)
    "missing_api_key": ErrorRule(retry=False, fall_back=False),
}
_DEFAULT_RULE = ErrorRule(retry=False, fall_back=False)
_TOOL_USE_FAILED = ErrorRule(retry=False, fall_back=True)


def error_kind(error: ClearanceError) -> str:
    """The kind an error is known by in :data:`RULES`, attempts and the call log."""
    if isinstance(error, ProviderError | MissingApiKey):
        return error.kind
    if isinstance(error, KillSwitchActive):
        return "killed"
    if isinstance(error, MissingPrice):
        return "no_price"
    return type(error).__name__


def rule_for(error: ClearanceError) -> ErrorRule:
    """What to do after ``error``: its kind's rule, or neither retry nor fall back."""
    kind = error_kind(error)
    if kind == "bad_request" and getattr(error, "code", None) == "tool_use_failed":
        return _TOOL_USE_FAILED  # the model's tool-call output, not our request
    return RULES.get(kind, _DEFAULT_RULE)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model tried (or passed over) for a call."""

    model_id: str
    provider: str
    outcome: Literal["ok", "error", "skipped"]
    error_kind: str | None = None
    status_code: int | None = None
    wait_s: float = 0.0
    """Seconds spent waiting on the provider for this attempt."""
    retry_after_s: float | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the plan needs of a catalog model."""

    provider: str
    name: str
    """The provider's own name for the model (what is sent)."""
    context_length: int | None
    """Its context window in tokens, if known."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """The whole call's deadline: ``seconds`` after it started."""

    end: float
    """The clock reading (``time.perf_counter()`` by default) by which the call ends."""
    seconds: float

    def left(self, now: float) -> float:
        """Seconds left at clock reading ``now`` (zero or less: passed)."""
        return self.end - now

    def error(self, provider: str, model_id: str, attempts: Sequence[Attempt]) -> ProviderTimeout:
        """The error that ends a call whose deadline passed before its next attempt."""
        tried = sum(1 for a in attempts if a.outcome != "skipped")
        last = next((a.error_kind for a in reversed(attempts) if a.outcome == "error"), None)
        after = f"after {tried} attempt{'' if tried == 1 else 's'}"
        if last is not None:
            after += f", the last one a {last} error"
        return ProviderTimeout(
            f"the call's deadline_s={self.seconds:g} s passed {after}",
            provider=provider,
            model_id=model_id,
            limit="deadline_s",
            limit_s=self.seconds,
        )


@dataclass(frozen=True, slots=True)
class Call:
    """Step: call this model; send back its reply or the ``ProviderError`` it raised."""

    provider: Provider
    model_id: str
    model_name: str
    deadline_s: float
    """Seconds left of the call's deadline: the attempt must end by then."""


@dataclass(frozen=True, slots=True)
class Sleep:
    """Step: wait before retrying; send back ``None``."""

    seconds: float


@dataclass(slots=True)
class Outcome:
    """How the plan ended: a reply from ``model_id``, or ``error``."""

    reply: ProviderReply | None = None
    model_id: str | None = None
    """The model that served ``reply``."""
    attempts: list[Attempt] = field(default_factory=list)
    waited_s: float = 0.0
    """Seconds spent waiting on providers and sleeping between retries."""
    error: ClearanceError | None = None
    """The error the call ends with when there is no reply."""
    fallback_reason: str | None = None
    """The error kind that first moved the call off the chosen model."""


#: What :func:`plan_attempts` returns: yields steps, is sent their results.
Steps = Generator[Call | Sleep, ProviderReply | ProviderError | None, Outcome]


def plan_attempts(
    chain: Sequence[str],
    models: Mapping[str, ModelInfo],
    settings: RouterConfig,
    deadline: Deadline,
    *,
    check_killswitch: Callable[[str, str], object],
    provider_for: Callable[[str], Provider],
    rng: random.Random,
    strict_pricing: bool = False,
    priced: Container[str] = frozenset(),
    allow_fallback: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> Steps:
    """The steps of one call, from the chosen model (``chain[0]``) through its fallbacks.

    Args:
        chain: model ids, the chosen one first, then its fallbacks in order.
        models: what is known of each model of the chain.
        settings: the router's retry settings (``max_attempts``, ``retries_per_model``,
            ``backoff_base_s``, ``backoff_max_s``, ``max_retry_after_s``).
        deadline: the whole call's deadline, on ``clock``.
        check_killswitch: called with (provider, model id) before a model's first
            request; raises :class:`~clearance.errors.KillSwitchActive` to pass it over.
        provider_for: the provider object for a provider name; may raise
            :class:`~clearance.errors.MissingApiKey` or
            :class:`~clearance.errors.ProviderError` (none can be built).
        rng: the source of backoff jitter.
        strict_pricing: pass over a model without a price in ``priced``.
        priced: the model ids that have a price.
        allow_fallback: ``False`` tries the chosen model only.
        clock: the time source, in seconds (``deadline`` is on it).
    """
    if not allow_fallback:
        chain = chain[:1]
    outcome = Outcome()
    attempts = outcome.attempts
    too_small: int | None = None  # context window that was exceeded
    for model_id in chain:
        if len(attempts) >= settings.max_attempts:
            break
        info = models[model_id]
        if deadline.left(clock()) <= 0:
            outcome.error = deadline.error(info.provider, model_id, attempts)
            return outcome
        if outcome.error is not None:
            outcome.fallback_reason = outcome.fallback_reason or error_kind(outcome.error)
        if too_small is not None and (info.context_length or 0) <= too_small:
            attempts.append(
                Attempt(
                    model_id,
                    info.provider,
                    "skipped",
                    "context_length",
                    detail=f"window {info.context_length} <= {too_small}",
                )
            )
            continue
        try:
            check_killswitch(info.provider, model_id)
            if strict_pricing and model_id not in priced:
                raise MissingPrice(model_id, "no_price")
            provider = provider_for(info.provider)
        except (KillSwitchActive, MissingPrice, MissingApiKey, ProviderError) as error:
            attempts.append(
                Attempt(model_id, info.provider, "skipped", error_kind(error), detail=error.message)
            )
            if isinstance(error, MissingApiKey) and outcome.error is not None:
                continue  # a fallback without its key: passed over, the first error stands
            outcome.error = error
            if rule_for(error).fall_back:
                continue
            break
        for retry in range(settings.retries_per_model + 1):
            if len(attempts) >= settings.max_attempts:
                break
            left = deadline.left(clock())
            if left <= 0:
                outcome.error = deadline.error(info.provider, model_id, attempts)
                return outcome
            started = clock()
            result = yield Call(provider, model_id, info.name, left)
            spent = clock() - started
            if isinstance(result, ProviderReply):
                attempts.append(
                    Attempt(
                        model_id,
                        info.provider,
                        "ok",
                        status_code=result.status_code,
                        wait_s=result.wait_s,
                    )
                )
                outcome.waited_s += result.wait_s
                outcome.reply, outcome.model_id = result, model_id
                return outcome
            assert isinstance(result, ProviderError)
            retry_after = getattr(result, "retry_after", None)
            attempts.append(
                Attempt(
                    model_id,
                    info.provider,
                    "error",
                    result.kind,
                    getattr(result, "status_code", None),
                    spent,
                    retry_after,
                    result.message[:300],
                )
            )
            outcome.waited_s += spent
            outcome.error = result
            if isinstance(result, ContextLengthExceeded):
                too_small = max(too_small or 0, info.context_length or 0)
            rule = rule_for(result)
            if not rule.retry or retry == settings.retries_per_model:
                break
            delay = _backoff(settings, rng, retry, retry_after)
            if delay is None:
                break  # asked to wait longer than we will: fall back now
            if delay >= deadline.left(clock()):
                break  # no time to wait and try again before the deadline: fall back now
            slept = clock()
            yield Sleep(delay)
            outcome.waited_s += clock() - slept
        if outcome.error is not None and not rule_for(outcome.error).fall_back:
            break
    return outcome


def _backoff(
    settings: RouterConfig, rng: random.Random, retry: int, retry_after: float | None
) -> float | None:
    """Seconds to wait before retry number ``retry`` (0-based); None: do not wait."""
    if retry_after is not None:
        return None if retry_after > settings.max_retry_after_s else retry_after
    delay: float = min(settings.backoff_max_s, settings.backoff_base_s * 2.0**retry)
    return delay * (0.5 + rng.random() / 2)
