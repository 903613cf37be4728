"""One routed call around its attempts: the request sent, the row logged, the result.

The router opens a :class:`~clearance.calllog.CallRecord` when a call starts and logs it
when the call ends, whichever way: these functions fill it in. :func:`record_refusal`
for a call the kill switch or the policy refused before any network I/O,
:func:`record_failure` for one whose every attempt failed, :func:`record_answer` for
one a model served, with its usage, cost and timings, and the :class:`RouterResult` the
caller gets. :func:`chat_request` turns the caller's arguments into the
:class:`~clearance.providers.base.ChatRequest` every attempt sends, and
:func:`untyped_error` turns whatever else a provider raised into the ``ProviderError``
the call ends with.

The kill switch, the policy, pricing, the pin and the log itself stay in the router
(:mod:`clearance.router`), which calls each of these at most once per call; the
:class:`RouterResult` is exported from there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clearance.errors import (
    ClearanceError,
    KillSwitchActive,
    PolicyRefusal,
    ProviderError,
    RetrievalFailed,
)
from clearance.providers.base import ChatRequest
from clearance.retryplan import Attempt, Call, Outcome, error_kind

if TYPE_CHECKING:  # types only: modelpolicy imports the settings (pydantic), issue 20
    from clearance.calllog import CallRecord
    from clearance.knowledge.context import Retrieval
    from clearance.modelpolicy import RouteDecision
    from clearance.pricing import CallCost, Usage
    from clearance.providers.types import ChatResponse

__all__ = [
    "RouterResult",
    "chat_request",
    "record_answer",
    "record_failure",
    "record_refusal",
    "record_retrieval",
    "untyped_error",
]

log = logging.getLogger("clearance.router")  # the router's log: its messages stay where they were

_KNOWN_OPTIONS = frozenset({"tool_choice", "temperature", "max_tokens", "stream"})


@dataclass(frozen=True, slots=True)
class RouterResult:
    """A served call."""

    call_id: str
    response: ChatResponse
    served_model: str
    decision: RouteDecision
    attempts: tuple[Attempt, ...]
    cost: CallCost
    latency_s: float
    """Wall time of the whole call, clearance included."""
    overhead_s: float
    """clearance's own time: latency minus time waiting on providers and backoff."""
    fallback_reason: str | None = None
    """The error kind that first moved the call off the chosen model."""
    retrieval: Retrieval | None = None
    """What the call's knowledge retrieval found and injected (``None``: it asked none)."""

    @property
    def fallback_served(self) -> bool:
        """Whether a model other than the policy's choice answered."""
        return self.served_model != self.decision.model_id


def chat_request(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None,
    options: Mapping[str, Any],
) -> ChatRequest:
    """The request every attempt of a call sends; unknown options go in ``extra``."""
    if not options:
        return ChatRequest(messages, tools)
    return ChatRequest(
        messages=messages,
        tools=tools,
        tool_choice=options.get("tool_choice"),
        temperature=options.get("temperature"),
        max_tokens=options.get("max_tokens"),
        stream=bool(options.get("stream", False)),
        extra={k: v for k, v in options.items() if k not in _KNOWN_OPTIONS},
    )


def record_refusal(record: CallRecord, error: KillSwitchActive | PolicyRefusal, t0: float) -> None:
    """A call refused before any network I/O (its status is ``refused`` from the start)."""
    record.error_kind = error_kind(error)
    record.latency_ms = (time.perf_counter() - t0) * 1000
    record.extra = {"refusal": error.message}


def record_failure(record: CallRecord, outcome: Outcome, chosen: str, t0: float) -> ClearanceError:
    """A call every attempt of which failed; returns the error it ends with.

    Args:
        record: the call's record, its attempts already noted.
        outcome: what the plan came to.
        chosen: the model the policy chose (named when no attempt was made).
        t0: when the call started (``time.perf_counter``).
    """
    error = outcome.error or ProviderError("no attempt was made", provider="-", model_id=chosen)
    record.status = "error"
    record.error_kind = error_kind(error)
    last = outcome.attempts[-1] if outcome.attempts else None
    record.served_model = None
    record.provider = last.provider if last else None
    latency = time.perf_counter() - t0
    record.latency_ms = latency * 1000
    record.overhead_us = (latency - outcome.waited_s) * 1e6
    error.attempts = tuple(outcome.attempts)
    return error


def record_answer(
    record: CallRecord,
    request: ChatRequest,
    response: ChatResponse,
    *,
    model_id: str,
    provider: str,
    usage: Usage,
    cost: CallCost,
    latency: float,
    overhead: float,
    decision: RouteDecision,
    outcome: Outcome,
    retrieval: Retrieval | None = None,
) -> RouterResult:
    """A call ``model_id`` of ``provider`` served with ``response``; returns its result.

    Args:
        record: the call's record, its attempts already noted.
        request: what was sent (its tools are stored when the answer calls one).
        response: the answer.
        model_id / provider: who served it.
        usage / cost: the billable usage and its price.
        latency / overhead: the whole call, and clearance's own part of it, in seconds.
        decision: the policy's decision the call acted on.
        outcome: what the plan came to (its attempts and fallback reason).
        retrieval: the call's knowledge retrieval, if it made one.
    """
    record.status = "ok"
    record.served_model = model_id
    record.provider = provider
    record.finish_reason = response.finish_reason
    record.finish_reason_raw = response.finish_reason_raw
    record.prompt_tokens = usage.prompt_tokens
    record.completion_tokens = usage.completion_tokens
    record.cached_tokens = usage.cached_tokens
    record.cache_write_tokens = usage.cache_write_tokens
    record.reasoning_tokens = usage.reasoning_tokens
    record.cost = cost.cost
    record.computed_cost = cost.computed
    record.reported_cost = cost.reported
    record.pricing_source = cost.pricing_source
    record.price_id = cost.price.price_id if cost.price is not None else None
    record.latency_ms = latency * 1000
    record.overhead_us = overhead * 1e6
    record.model_snapshot = _fit_snapshot(response.snapshot)
    if response.tool_calls:
        record.tool_calls = response.tool_calls
        record.tools = request.tools
    return RouterResult(
        call_id=record.call_id,
        response=response,
        served_model=model_id,
        decision=decision,
        attempts=tuple(outcome.attempts),
        cost=cost,
        latency_s=latency,
        overhead_s=overhead,
        fallback_reason=outcome.fallback_reason,
        retrieval=retrieval,
    )


def record_retrieval(record: CallRecord, retrieval: Retrieval, t0: float) -> RetrievalFailed | None:
    """Note the call's retrieval (its ``retrievals`` row goes with the call's row).

    Returns the error the call ends with when the retrieval failed and the call required
    it (the record is then complete: status ``error``), else ``None``.
    """
    record.retrieval = retrieval.log_entry()
    if retrieval.error is None or not retrieval.required:
        return None
    error = RetrievalFailed(
        retrieval.org_id, retrieval.retriever, f"{retrieval.error}: {retrieval.detail}"
    )
    record.status = "error"
    record.error_kind = error_kind(error)
    record.latency_ms = (time.perf_counter() - t0) * 1000
    return error


def untyped_error(error: Exception, step: Call) -> ProviderError:
    """A provider raised something that is neither a ClearanceError nor a transport failure
    (those are mapped where they happen): a bug, in clearance or in a provider object given
    to the router. The call ends (no retry, no fallback) with this error and its row; the
    original is its ``__cause__``."""
    log.error(
        "provider %s raised %s for %s",
        step.provider.name,
        type(error).__name__,
        step.model_id,
        exc_info=error,
    )
    wrapped = ProviderError(
        f"the provider raised {type(error).__name__}: {error} (a bug: please report it, "
        "with the traceback)",
        provider=step.provider.name,
        model_id=step.model_id,
    )
    wrapped.__cause__ = error
    return wrapped


def _fit_snapshot(snapshot: str | None) -> str | None:
    """The snapshot, cut to its column (a provider's text is untrusted)."""
    if snapshot is None or len(snapshot) <= _SNAPSHOT_CHARS:
        return snapshot
    return snapshot[:_SNAPSHOT_CHARS]


_SNAPSHOT_CHARS = 255
