"""The router: every model call goes through here.

In order, for each call: the kill switch (global and org scopes) before any
network I/O; the policy decision; the call to the chosen model, retried with
backoff that honours ``Retry-After``; then the model's fallback chain (data,
never code), with a bound on the total number of attempts; the kill switch is
checked again for each model's provider and model scopes, and each provider's API
key is looked up before its first request: the chosen model's provider without its key
is the caller's configuration error (:class:`~clearance.errors.MissingApiKey`, raised
before any network I/O); a fallback without its key is passed over, with the reason
recorded, rather than sent unauthenticated. The answer carries
the model that actually served it, every attempt with its typed reason, the
exact cost with its pricing source, and the policy decision. Every call,
served, failed or refused, is logged as one ``ai_calls`` row off the hot path.

What is retried and what falls back is decided by the error's kind
(:data:`~clearance.retryplan.RULES`): a 401 is never retried but may fall back to another
provider's model; a context-length error falls back only to a model with a larger window;
a 429 is retried (after its ``Retry-After``), then falls back. Whatever a provider
raises becomes a ``ProviderError`` with a kind (transport failures are mapped where they
happen, in :mod:`clearance.providers.transport_errors`; an eval recording's own error
goes to the engine untouched), so every call ends in a result or a typed error, and its
row.

Each attempt is bounded by ``timeout_s``, from the request to the last byte; the whole
call by ``router.deadline_s`` (or ``deadline_s=``): an attempt gets at most what is
left of it, a backoff that would end past it is not slept, and a call that reaches it
ends with a :class:`~clearance.errors.ProviderTimeout` whose ``limit`` is
``deadline_s``.

A call may ask for its org's knowledge (``knowledge=Knowledge(org_id=..., query=...,
budget_tokens=...)``): after the kill switch and the policy, and before any provider is
called, the router searches the org's knowledge base with :meth:`Router.retriever_for`,
cuts what it found to the token budget and injects it as one system message after the
caller's system prompt (:mod:`clearance.knowledge.inject` documents the form); the
call's row gets a ``retrievals`` row beside it, through the call log. A knowledge base
of another org than the call's is refused (:class:`~clearance.errors.KnowledgeOrgMismatch`,
logged as refused); a failed retrieval goes on without context unless the call
required it (:mod:`clearance.knowledge.context`). The knowledge code is imported by the
first call that asks for knowledge, not with this module.

The retry/fallback logic is written once, in :mod:`clearance.retryplan`, as a generator
of steps (call this model, sleep this long) driven by :meth:`Router.complete` (sync) and
:meth:`Router.acomplete` (async). The catalog state calls are decided on is
:mod:`clearance.routerstate`'s; the request, row and result of one call are filled in by
:mod:`clearance.routercall`.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from clearance.calllog import CallLog, CallRecord, EscalationOutcome, flag_escalation, new_call_id
from clearance.errors import (
    CatalogUnavailable,
    ClearanceError,
    KillSwitchActive,
    KnowledgeOrgMismatch,
    PolicyRefusal,
    ProviderError,
)
from clearance.pricing import CallCost, Price, PriceRates, Usage, price_call
from clearance.providers.base import ChatRequest, ChunkCallback, Provider, ProviderReply
from clearance.providers.keys import read_api_key
from clearance.retryplan import (
    RULES,
    Attempt,
    Deadline,
    ErrorRule,
    ModelInfo,
    Outcome,
    Sleep,
    Steps,
    plan_attempts,
)
from clearance.routercall import (
    RouterResult,
    chat_request,
    record_answer,
    record_failure,
    record_refusal,
    record_retrieval,
    untyped_error,
)
from clearance.tokencount import billable_usage

# What reaches the catalog (SQLAlchemy's stores, the pydantic settings, the kill switch,
# the policy's state) is imported when a router is built, not with this module:
# `from clearance.router import Router` stays cheap (issue 20).
if TYPE_CHECKING:
    import httpx

    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig, Tier
    from clearance.gate.retrieval import ClearedRetrievers
    from clearance.killswitch import KillSwitch
    from clearance.knowledge.context import Knowledge, Retrieval
    from clearance.knowledge.types import Retriever
    from clearance.modelpolicy import RouteDecision, RouteRequest
    from clearance.routerstate import ProviderSettings, RouterState

__all__ = ["RULES", "Attempt", "ErrorRule", "Router", "RouterResult"]

log = logging.getLogger("clearance.router")


class Router:
    """Routes chat calls through kill switch, policy, retries, fallbacks, pricing and the log.

    Args:
        config: the configuration (router, pricing, policy, kill switch sections).
        catalog: the catalog database.
        providers: provider objects by name; others are built from the configuration (or
            the catalog's ``providers`` table) on first use.
        killswitch: the guard (default: one on ``catalog`` with the configured cache).
        calllog: where call rows go (default: a batched writer on ``catalog``; pass
            ``None`` explicitly through ``log_calls=False`` to log nothing).
        sleep / asleep: how to wait between retries (for tests; ``asleep`` defaults to
            :func:`asyncio.sleep`).
        environ: where API keys are read from.
        require_api_keys: refuse to build a provider whose key variable is unset
            (:class:`~clearance.errors.MissingApiKey`); ``False`` builds it without a key
            (the eval engine: a replay needs none, and it checks up front the keys of
            the models it must record).
        async_transport: the transport of the providers this router builds itself (the
            eval engine's recording transport; default: real HTTP).
        eval_run_id: set by the eval engine: every call is logged as that run's
            (``ai_calls.eval_run_id``), so SLOs on live traffic never count it.
        retriever_for: the retriever to search an org's knowledge base with, by org
            (default: :meth:`retriever_for`'s).
    """

    def __init__(
        self,
        config: ClearanceConfig,
        catalog: Catalog,
        *,
        providers: Mapping[str, Provider] | None = None,
        killswitch: KillSwitch | None = None,
        calllog: CallLog | None = None,
        log_calls: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Any] | None = None,
        environ: Mapping[str, str] | None = None,
        require_api_keys: bool = True,
        rng: random.Random | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        eval_run_id: str | None = None,
        retriever_for: Callable[[str], Retriever] | None = None,
    ) -> None:
        import asyncio

        from clearance.catalog.gatestore import GateCache
        from clearance.identifiers import check_identifiers
        from clearance.killswitch import KillSwitch
        from clearance.modelpolicy import RouteRequest

        self._check_identifiers = check_identifiers
        self._route_request = RouteRequest
        self.config = config
        self.eval_run_id = eval_run_id
        self.catalog = catalog
        self.killswitch: KillSwitch = killswitch or KillSwitch(
            catalog,
            cache_ttl_s=config.killswitch.cache_ttl_s,
            fail_open=config.killswitch.fail_open,
        )
        if calllog is None and log_calls:
            calllog = CallLog(
                catalog,
                spill_dir=config.spill_dir(),
                batch_size=config.calllog.batch_size,
                flush_interval_s=config.calllog.flush_interval_s,
                journal=config.calllog.journal,
            )
        self.calllog = calllog
        self._providers: dict[str, Provider] = dict(providers or {})
        self._own_providers: list[Provider] = []
        self._sleep = sleep
        self._asleep = asyncio.sleep if asleep is None else asleep
        self._environ = os.environ if environ is None else environ
        self._require_api_keys = require_api_keys
        self._async_transport = async_transport
        self._rng = rng or random.Random()
        from clearance.routerstate import StateRefresher

        self._refresher = StateRefresher(
            self._read_state,
            ttl_s=config.router.policy_cache_ttl_s,
            fail_open=config.killswitch.fail_open,
        )
        self._lock = threading.RLock()  # provider() may refresh state() while holding it
        self._warned_unpriced: set[str] = set()
        self._adhoc: dict[str, ModelInfo] = {}
        self._candidates: set[str] = set()
        self._gate_cache = GateCache()
        self._retriever_for = retriever_for
        self._default_retriever: Retriever | None = None
        self._cleared: ClearedRetrievers | None = None
        self._default_rates = PriceRates(
            config.pricing.default_prompt_per_token, config.pricing.default_completion_per_token
        )

    # -- lifecycle --------------------------------------------------------------------------

    def add_provider(self, provider: Provider, *, owned: bool = False) -> None:
        """Use this provider object for its name; ``owned``: the router closes it."""
        self._providers[provider.name] = provider
        if owned:
            self._own_providers.append(provider)

    def add_adhoc_model(self, model_id: str, provider: str, name: str) -> None:
        """Make a model the catalog lacks available to this router only (smoke tests).

        Nothing is written to the catalog; kill switches still apply to it.
        """
        self._adhoc[model_id] = ModelInfo(provider, name, None)
        self._refresher.invalidate()

    def add_candidate(self, model_id: str) -> None:
        """Let this router call a catalog model that is not enabled: an eval candidate.

        Deciding whether to enable a model is what evals are for, so a candidate is
        treated as enabled by this router only; nothing is written to the catalog, and
        kill switches and removal by the provider still apply.
        """
        self._candidates.add(model_id)
        self._refresher.invalidate()

    def close(self) -> None:
        """Stop the catalog state's refresh, flush the call log and close the providers
        this router opened."""
        self._refresher.close()
        if self.calllog is not None:
            self.calllog.close()
        for provider in self._own_providers:
            provider.close()

    async def aclose(self) -> None:
        """The same, for the async clients (the refresh thread is waited for off the loop)."""
        import asyncio

        await asyncio.to_thread(self._refresher.close)
        for provider in self._own_providers:
            await provider.aclose()
        self.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- catalog state ----------------------------------------------------------------------

    def state(self) -> RouterState:
        """The catalog state calls are decided on (:class:`~clearance.routerstate.StateRefresher`).

        The first call reads it; from then on a background thread re-reads it every
        ``router.policy_cache_ttl_s`` and swaps it in, and no call waits on a read. When the
        catalog cannot be read, the last state keeps serving; the kill switch, which fails
        closed by default, decides whether calls go on during the outage, and a state left
        unrefreshed longer than :data:`~clearance.routerstate.STALE_AFTER_S` past its
        lifetime is refused the same way.

        Raises:
            CatalogUnavailable: the catalog has never been read by this router.
            KillSwitchActive: the state is too old to route on (see above).
        """
        return self._refresher.current()

    def _read_state(self, previous: RouterState | None) -> RouterState:
        from clearance.routerstate import read_state

        return read_state(
            self.catalog,
            self.config,
            killed=self.killswitch.killed(),
            adhoc=dict(self._adhoc),  # copies: the refresh thread reads while callers add
            candidates=frozenset(self._candidates),
            gate_cache=self._gate_cache,
            previous=previous,
        )

    def flag_escalation(
        self, call_id: str, *, reason: str | None = None
    ) -> Future[EscalationOutcome]:
        """Flag a call (``RouterResult.call_id``) for human hand-off, after the fact.

        Goes through the call log's queue, after the rows queued before it, so a call
        whose row is not written yet can be flagged; returns at once. Without a call
        log, the row is updated now.
        """
        if self.calllog is not None:
            return self.calllog.flag_escalated(call_id, reason=reason)
        outcome: Future[EscalationOutcome] = Future()
        found = flag_escalation(self.catalog, call_id, reason=reason)
        outcome.set_result("flagged" if found else "unknown")
        return outcome

    def refresh(self) -> None:
        """Forget cached catalog and kill-switch state (the next call re-reads both)."""
        self._refresher.invalidate()
        self.killswitch.invalidate()

    def decide(self, request: RouteRequest, state: RouterState | None = None) -> RouteDecision:
        """The policy decision for a request, on the cached catalog state.

        The resolver is pure, so a decision for a request without a session is reused
        until the state is re-read.
        """
        return (state or self.state()).decide(request, self.catalog)

    def provider(self, name: str) -> Provider:
        """The provider called ``name`` (built from configuration or catalog on first use),
        of the class its wire protocol names (:mod:`clearance.providers.factory`).

        Raises:
            ProviderError: no base URL is known for it.
            MissingApiKey: its key variable is not set (unless ``require_api_keys`` is off).
            ConfigError: the catalog gives it a protocol clearance does not speak.
        """
        found = self._providers.get(name)
        if found is not None:
            return found
        from clearance.providers.factory import make_provider

        with self._lock:
            found = self._providers.get(name)
            if found is not None:
                return found
            base_url, key_env, protocol, timeout, source = self._declared(name)
            if not base_url:
                raise ProviderError(
                    "no base URL is known for this provider; declare it under [[providers]]",
                    provider=name,
                    model_id=None,
                )
            api_key = read_api_key(
                name,
                key_env,
                environ=self._environ,
                source=source,
                required=self._require_api_keys,
            )
            made = make_provider(
                protocol,
                name,
                base_url,
                api_key=api_key,
                api_key_env=key_env,
                timeout_s=timeout,
                async_transport=self._async_transport,
                async_client=self.config.router.async_client,
                source=source,
            )
            self._providers[name] = made
            self._own_providers.append(made)
            return made

    def check_api_key(self, name: str, *, models: Sequence[str] = ()) -> None:
        """Fail now if calling provider ``name`` would need a key that is not set.

        A provider object given to this router, or one it has built, is taken as it is.

        Args:
            name: the provider.
            models: the models that would call it, named in the error.

        Raises:
            MissingApiKey: its ``api_key_env`` names a variable that is not set.
        """
        if name in self._providers:
            return
        _, key_env, _, _, source = self._declared(name)
        read_api_key(name, key_env, environ=self._environ, source=source, models=tuple(models))

    def _declared(self, name: str) -> ProviderSettings:
        """How provider ``name`` is reached: as configured, else as the catalog holds it."""
        if name in self.config.provider_names:
            from clearance.routerstate import configured_settings

            return configured_settings(self.config, name)
        return self.state().provider_settings(name)

    # -- knowledge ----------------------------------------------------------------------------

    def retriever_for(self, org_id: str) -> Retriever:
        """The retriever a call of ``org_id`` searches its knowledge base with.

        The one given as ``Router(retriever_for=...)``; else, when the configuration
        declares ``[[retrievers]]``, the org's configuration (``[knowledge]
        org_retrievers``, else ``default_retriever``) only while the retrieval gate clears
        it (:class:`~clearance.gate.retrieval.ClearedRetrievers`): a disabled,
        inconclusive, never judged, expired or changed one raises
        :class:`~clearance.errors.RetrieverNotCleared`, so the call goes without context
        (its ``retrievals`` row says why) or, with ``Knowledge(required=True)``, ends with
        :class:`~clearance.errors.RetrievalFailed`. With no ``[[retrievers]]`` at all, a
        :class:`~clearance.knowledge.base.LexicalRetriever` over this router's catalog
        serves every org.
        """
        if self._retriever_for is not None:
            return self._retriever_for(org_id)
        if self.config.retrievers:
            if self._cleared is None:
                from clearance.gate.retrieval import ClearedRetrievers

                self._cleared = ClearedRetrievers(
                    self.config, self.catalog, ttl_s=self.config.router.policy_cache_ttl_s
                )
            return self._cleared.for_org(org_id)
        if self._default_retriever is None:
            from clearance.knowledge.base import LexicalRetriever

            self._default_retriever = LexicalRetriever(self.catalog)
        return self._default_retriever

    def _retrieve(self, knowledge: Knowledge) -> Retrieval:
        from clearance.knowledge.context import retrieve

        try:
            retriever = self.retriever_for(knowledge.org_id)
        except Exception as error:  # no retriever at all: a failed retrieval like any other
            from clearance.knowledge.context import failed_retrieval

            # an uncleared configuration names itself in the retrievals row
            name = getattr(error, "retriever", None)
            return failed_retrieval(knowledge, error, name=name or "unknown")
        return retrieve(retriever, knowledge)

    def _with_knowledge(
        self, request: ChatRequest, record: CallRecord, retrieval: Retrieval, t0: float
    ) -> ChatRequest:
        """The request with the retrieved context; raises (after logging the call) when
        retrieval failed and the call required it."""
        error = record_retrieval(record, retrieval, t0)
        if error is not None:
            self._log(record)
            raise error
        message = retrieval.context.message
        if message is None:
            return request
        from dataclasses import replace

        from clearance.knowledge.inject import inject_context

        return replace(request, messages=inject_context(request.messages, message))

    # -- the attempt plan (one implementation for sync and async) ---------------------------

    def _deadline(self, t0: float, deadline_s: float | None) -> Deadline:
        seconds = self.config.router.deadline_s if deadline_s is None else deadline_s
        return Deadline(t0 + seconds, seconds)

    def _plan(
        self, state: RouterState, decision: RouteDecision, allow_fallback: bool, deadline: Deadline
    ) -> Steps:
        return plan_attempts(
            (decision.model_id, *decision.fallbacks),
            state.models,
            self.config.router,
            deadline,
            check_killswitch=self._check_killswitch,
            provider_for=self.provider,
            rng=self._rng,
            strict_pricing=self.config.pricing.strict,
            priced=state.prices,
            allow_fallback=allow_fallback,
        )

    def _check_killswitch(self, provider: str, model_id: str) -> None:
        self.killswitch.check(provider=provider, model=model_id)

    # -- drivers ----------------------------------------------------------------------------

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        org: str | None = None,
        session: str | None = None,
        tier: Tier | None = None,
        model: str | None = None,
        allow_fallback: bool = True,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
        escalated: bool = False,
        knowledge: Knowledge | None = None,
        **options: Any,
    ) -> RouterResult:
        """Send one chat call; returns the answer or raises the typed error.

        ``timeout_s`` bounds each attempt from the request to the last byte of the answer,
        a stream included (default: the provider's ``timeout_s``); ``deadline_s`` bounds
        the whole call, every attempt, backoff and fallback included (default:
        ``router.deadline_s``): no attempt outlives it and no backoff sleeps past it.

        ``escalated`` flags the call for human hand-off in the call log (to flag it after
        the answer is seen, use :meth:`flag_escalation` with ``result.call_id``).

        ``knowledge`` retrieves from the call's org's knowledge base and injects what fits
        its token budget (see the module docstring); ``result.retrieval`` says what.

        Raises:
            InvalidIdentifier: an org, session or model id the log cannot store (no I/O).
            KillSwitchActive / PolicyRefusal: refused before any network I/O
                (:class:`~clearance.errors.KnowledgeOrgMismatch`: ``knowledge`` names
                another org than ``org``).
            RetrievalFailed: ``knowledge.required`` and the retrieval failed (no
                provider was called).
            ProviderTimeout: the deadline passed (``.limit == "deadline_s"``), or the last
                attempt ran out of its ``timeout_s``.
            ProviderError: every attempt failed (the last error; ``.attempts`` lists all).
                Whatever a provider raises is a ``ProviderError``: a transport failure has
                its kind, anything else (a bug) the base class, with the original as
                ``__cause__``; either way the call has its ``ai_calls`` row.
        """
        self._check_identifiers(org=org, session=session, model=model, tier=tier)
        context = self._begin(
            messages, tools, org, session, tier, model, options, escalated, knowledge
        )
        if isinstance(context, ClearanceError):
            raise context
        state, decision, request, record, t0 = context
        retrieval = None
        if knowledge is not None:
            retrieval = self._retrieve(knowledge)
            request = self._with_knowledge(request, record, retrieval, t0)
        steps = self._plan(state, decision, allow_fallback, self._deadline(t0, deadline_s))
        result: ProviderReply | ProviderError | None = None
        try:
            step = next(steps)
            while True:
                if isinstance(step, Sleep):
                    self._sleep(step.seconds)
                    result = None
                else:
                    try:
                        result = step.provider.complete(
                            step.model_name,
                            request,
                            model_id=step.model_id,
                            timeout_s=timeout_s,
                            deadline_s=step.deadline_s,
                            on_chunk=on_chunk,
                        )
                    except ProviderError as error:
                        result = error
                    except ClearanceError:
                        raise  # an eval recording's error: for the engine, untouched
                    except Exception as error:
                        result = untyped_error(error, step)
                step = steps.send(result)
        except StopIteration as stop:
            outcome: Outcome = stop.value
        return self._finish(state, decision, request, record, t0, outcome, retrieval)

    async def acomplete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        org: str | None = None,
        session: str | None = None,
        tier: Tier | None = None,
        model: str | None = None,
        allow_fallback: bool = True,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        on_chunk: ChunkCallback | None = None,
        escalated: bool = False,
        knowledge: Knowledge | None = None,
        **options: Any,
    ) -> RouterResult:
        """The same as :meth:`complete`, without blocking the event loop on providers."""
        self._check_identifiers(org=org, session=session, model=model, tier=tier)
        context = self._begin(
            messages, tools, org, session, tier, model, options, escalated, knowledge
        )
        if isinstance(context, ClearanceError):
            raise context
        state, decision, request, record, t0 = context
        retrieval = None
        if knowledge is not None:  # the search is blocking database I/O: off the loop
            import asyncio

            retrieval = await asyncio.to_thread(self._retrieve, knowledge)
            request = self._with_knowledge(request, record, retrieval, t0)
        steps = self._plan(state, decision, allow_fallback, self._deadline(t0, deadline_s))
        result: ProviderReply | ProviderError | None = None
        try:
            step = next(steps)
            while True:
                if isinstance(step, Sleep):
                    await self._asleep(step.seconds)
                    result = None
                else:
                    try:
                        result = await step.provider.acomplete(
                            step.model_name,
                            request,
                            model_id=step.model_id,
                            timeout_s=timeout_s,
                            deadline_s=step.deadline_s,
                            on_chunk=on_chunk,
                        )
                    except ProviderError as error:
                        result = error
                    except ClearanceError:
                        raise  # an eval recording's error: for the engine, untouched
                    except Exception as error:
                        result = untyped_error(error, step)
                step = steps.send(result)
        except StopIteration as stop:
            outcome: Outcome = stop.value
        return self._finish(state, decision, request, record, t0, outcome, retrieval)

    # -- before and after -------------------------------------------------------------------

    def _begin(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None,
        org: str | None,
        session: str | None,
        tier: Tier | None,
        model: str | None,
        options: Mapping[str, Any],
        escalated: bool,
        knowledge: Knowledge | None = None,
    ) -> tuple[RouterState, RouteDecision, ChatRequest, CallRecord, float] | ClearanceError:
        t0 = time.perf_counter()
        record = CallRecord(
            call_id=new_call_id(),
            started_at=time.time(),
            status="refused",
            org_id=org,
            session_id=session,
            tier=tier,
            requested_model=model,
            escalated=escalated,
            eval_run_id=self.eval_run_id,
        )
        try:
            self.killswitch.check(org=org)
            if knowledge is not None and knowledge.org_id != org:
                raise KnowledgeOrgMismatch(org, knowledge.org_id)
            state = self.state()
            requested = None if model is None else state.catalog_id(model)
            route = self._route_request(org, requested, tier, session)
            decision = state.decide(route, self.catalog)
        except (KillSwitchActive, PolicyRefusal) as error:
            record_refusal(record, error, t0)
            self._log(record)
            return error
        request = chat_request(messages, tools, options)
        record.requested_model = requested if model is not None else decision.model_id
        record.policy_reason = decision.reason
        return state, decision, request, record, t0

    def _finish(
        self,
        state: RouterState,
        decision: RouteDecision,
        request: ChatRequest,
        record: CallRecord,
        t0: float,
        outcome: Outcome,
        retrieval: Retrieval | None = None,
    ) -> RouterResult:
        record.attempts = sum(1 for a in outcome.attempts if a.outcome != "skipped")
        record.fallback_reason = outcome.fallback_reason
        if outcome.model_id is not None and outcome.model_id != decision.model_id:
            record.fallback_from = decision.model_id
        record.attempt_log = outcome.attempts
        if outcome.reply is None or outcome.model_id is None:
            error = record_failure(record, outcome, decision.model_id, t0)
            self._log(record)
            raise error
        model_id = outcome.model_id
        response = outcome.reply.response
        usage = billable_usage(request, response)  # never $0 for want of a usage
        cost = self._price(model_id, usage, state)
        if decision.pin is not None and record.session_id is not None:
            self._write_pin(state, record.session_id, decision.pin, record.org_id)
        latency = time.perf_counter() - t0
        overhead = latency - outcome.waited_s
        result = record_answer(
            record,
            request,
            response,
            model_id=model_id,
            provider=state.models[model_id].provider,
            usage=usage,
            cost=cost,
            latency=latency,
            overhead=overhead,
            decision=decision,
            outcome=outcome,
            retrieval=retrieval,
        )
        self._log(record)
        return result

    def _price(self, model_id: str, usage: Usage, state: RouterState) -> CallCost:
        price = state.prices.get(model_id)
        if price is None and model_id not in self._warned_unpriced:
            self._warned_unpriced.add(model_id)
            log.warning("no price for %s: its calls are priced at the default", model_id)
        default = price or Price(model_id, self._default_rates, source="default")
        return price_call(model_id, usage, price, default=default, warn=False)

    def _write_pin(self, state: RouterState, session: str, model_id: str, org: str | None) -> None:
        from clearance.catalog.orgstore import write_pin
        from clearance.modelpolicy import SessionPin

        state.pins[session] = SessionPin(session, model_id, org)
        try:
            with self.catalog.begin() as connection:
                write_pin(connection, session, model_id, org)
        except CatalogUnavailable as error:  # the answer is served; the pin is best effort
            log.warning("session pin of %s not stored: %s", session, error.cause)

    def _log(self, record: CallRecord) -> None:
        if self.calllog is not None:
            self.calllog.record(record)
