"""The eval engine: every chosen case against every candidate model, trials at once.

One (model, case) pair is one task with one cassette; its trials play concurrently, each
trial's requests kept apart and in order in the cassette, so a recording replays
exactly. ``concurrency`` counts requests: each candidate has that many request slots,
and a request waits for one (a trial between two requests, scoring an answer, holds
none). Up to twice as many pairs per model are open at once, so a slot freed is taken
at once. Every model call goes through the :class:`~clearance.router.Router`, as in
production (kill switch, policy, retries, pricing, call log), with the candidate let
through even when the catalog has not enabled it yet. An answer a fallback model
served, a provider failure left after the router's retries, and a recording problem
are ``infra_error``: stored, never counted as the candidate's failure.

A trial that ended on a provider failure while recording is marked so in its cassette
(:meth:`~clearance.evaluation.recording.CaseCassette.mark_failure`): the next ``once`` or
``new`` run records it again, and a replay-only run reports it as an infrastructure error
that names the command that re-records it, never as the model's answer. A model none of
whose items could be judged is named by :meth:`RunOutcome.unjudged_models`.

A replay needs no API key (CI replays offline, without keys). When the record mode
means some candidate will call its provider, that provider's key is checked before any
item starts, and a missing one fails the run up front
(:class:`~clearance.errors.MissingApiKey`, naming the models that need it).

A provider the run starts itself (a simulator) comes from a :class:`ProviderFactory`
its caller passes: the CLI and ``pytest evals`` wire one in, the engine names none.

:class:`Evaluation` is what ``pytest evals`` and ``clearance eval`` both drive. It sets
a run up and runs it; the parts live beside it: the items and shards in
:mod:`~clearance.evaluation.plan`, one pair's trials in :mod:`~clearance.evaluation.trials`,
each trial's stored row and evidence in :mod:`~clearance.evaluation.evidence`, and what
the run comes to in :mod:`~clearance.evaluation.outcomes` (all re-exported here).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Protocol

import httpx

from clearance.catalog.database import Catalog
from clearance.catalog.runrecords import ItemResult, RunSpec
from clearance.catalog.runstore import ResultStore
from clearance.config import ClearanceConfig
from clearance.errors import ClearanceError, InputError, RecordingError
from clearance.evaluation.cases import EvalCase, SuiteSet, case_digest
from clearance.evaluation.evidence import ResultRows, Tally
from clearance.evaluation.outcomes import RunOutcome, TrialOutcome
from clearance.evaluation.plan import EvalItem, parse_shard, plan_items
from clearance.evaluation.recording import (
    CaseCassette,
    CassetteLibrary,
    RecordingTransport,
    RecordMode,
    cassette_holds_failure,
    cassette_path,
    default_record_mode,
    replaying_now,
)
from clearance.evaluation.trials import TrialRunner
from clearance.modelid import parse_model_id
from clearance.providers.base import Provider
from clearance.providers.types import PROTOCOLS
from clearance.providers.types import Protocol as WireProtocol
from clearance.router import Router

__all__ = [
    "EvalItem",
    "Evaluation",
    "ProviderFactory",
    "RoundPlanner",
    "RunOutcome",
    "TrialOutcome",
    "parse_shard",
    "plan_items",
]

_RESULT_BATCH = 500


class ProviderFactory(Protocol):
    """Providers an eval run starts for itself, and the models they serve.

    How a caller hands the run a provider nobody runs yet (the CLI and ``pytest evals``
    wire in the simulator this way). The run starts one only to call it: when the record
    mode may call providers, no ``network`` replaces the real one, and the configuration
    does not declare the provider (a declared one is running somewhere already).
    """

    def register_models(self, catalog: Catalog, models: Sequence[str]) -> None:
        """Put into the catalog the models it serves that ``models`` names, so they resolve.

        Called with the candidates as given, before they are resolved, replaying or not.
        """
        ...

    def serves(self, provider: str) -> bool:
        """Whether it starts ``provider`` (whose API key the run then does not check)."""
        ...

    def open(
        self, provider: str, transport: httpx.AsyncBaseTransport
    ) -> AbstractContextManager[Provider]:
        """Start ``provider``, its calls sent through ``transport`` (they are recorded).

        The provider entered is the run's: its router closes it when the run ends, and
        leaving the context then stops whatever was started for it.
        """
        ...


class RoundPlanner(Protocol):
    """What an adaptive run asks after each round: which trials to play next.

    ``clearance eval --until-decided`` wires one in (the gate's stopping rule and
    allocation, :mod:`clearance.gate.adaptive`); the engine names none. The run's results
    so far are in the catalog when it is asked.
    """

    def details(self) -> Mapping[str, Any]:
        """What the run's ``details`` keep of the plan (under ``adaptive``)."""
        ...

    def next_round(self, run_id: str, look: int) -> Mapping[str, Sequence[str]]:
        """After round ``look``: model id -> the case ids that get one more trial.

        Empty: every model is decided (or nothing more may run), and the run ends.
        """
        ...


def _git_commit(root: Any) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


class _ShardedTransport(httpx.AsyncBaseTransport):
    """Requests dealt round-robin over several connection pools.

    httpcore's pool rescans every connection for every waiting request, so one pool
    serving many concurrent requests spends more time assigning connections than
    sending (profiled: half of a live run's time). The providers shard their own
    clients for the same reason (see ``clearance.providers.openai``).
    """

    def __init__(self, shards: int) -> None:
        # One TLS context (httpx's default: certifi) for all pools: building one loads
        # the CA bundle, ~50 ms each.
        context = httpx.create_ssl_context()
        self._pools = [
            httpx.AsyncHTTPTransport(verify=context) for _ in range(max(1, min(shards, 16)))
        ]
        self._next = itertools.count()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pools[next(self._next) % len(self._pools)]
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


async def _no_sleep_when_replaying(seconds: float) -> None:
    """Retry waits: real when recording, skipped when a recording replays."""
    if not replaying_now():
        await asyncio.sleep(seconds)


class Evaluation:
    """One run (or one shard of a run) of ``cases`` × ``models`` × ``trials``.

    Args:
        config: the configuration (``[evals]`` gives the defaults of the options below).
        catalog: where models, prices and results live.
        suite: the loaded suites (for the run's hashes); ``cases`` defaults to all of them.
        models: candidate model ids (as the catalog names them, or unique names).
        trials / concurrency / cost_cap / record_mode: see ``[evals]``.
        shard: (index, total) to run one part of the run.
        run_id: the run's id (every shard of one run must use the same one).
        environ: where API keys and ``CI`` are read from.
        on_outcome: called after each item (progress bars).
        store_results: write the run and its results to the catalog.
        network: the transport recordings are made through (default: real HTTP; tests
            pass an ``httpx.MockTransport``); never used when the record mode is ``none``.
        providers: providers the run may start itself (see :class:`ProviderFactory`);
            ``None``: every candidate's provider is declared or in the catalog.
        rounds: play the trials in rounds, one trial of the chosen cases per round, as
            ``rounds`` chooses after each (:class:`RoundPlanner`); ``trials`` is then the
            most a case gets. ``None``: every case gets ``trials`` trials at once.
    """

    def __init__(
        self,
        config: ClearanceConfig,
        catalog: Catalog,
        suite: SuiteSet,
        models: Sequence[str],
        *,
        cases: Sequence[EvalCase] | None = None,
        trials: int | None = None,
        concurrency: int | None = None,
        cost_cap: Decimal | None = None,
        record_mode: RecordMode | None = None,
        shard: tuple[int, int] | None = None,
        run_id: str | None = None,
        environ: Mapping[str, str] | None = None,
        on_outcome: Callable[[TrialOutcome, Decimal], None] | None = None,
        store_results: bool = True,
        network: httpx.AsyncBaseTransport | None = None,
        providers: ProviderFactory | None = None,
        rounds: RoundPlanner | None = None,
    ) -> None:
        import os

        evals = config.evals
        self.config = config
        self.catalog = catalog
        self.suite = suite
        self.cases = tuple(cases if cases is not None else suite.cases)
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.trials = trials or evals.trials
        self.concurrency = concurrency or evals.concurrency
        self.cost_cap = cost_cap if cost_cap is not None else evals.cost_cap
        self.record_mode: RecordMode = (
            record_mode or evals.record_mode or default_record_mode(self.environ)
        )
        self.shard = shard
        if shard is not None and shard[1] > 1 and not (run_id or evals.run_id):
            raise InputError(
                "a sharded run needs a run id that every shard shares",
                fix="pass --run-id (or set CLEARANCE_RUN_ID), e.g. "
                "--run-id ${{ github.run_id }}-${{ github.run_attempt }} in GitHub Actions",
            )
        self.run_id = run_id or evals.run_id or uuid.uuid4().hex[:16]
        self.on_outcome = on_outcome
        self.store_results = store_results
        self.network = network
        self.providers = providers
        self.rounds = rounds
        self.looks = 0
        """Rounds an adaptive run played (0 for a run that is not adaptive)."""
        self.budget_note: str | None = None
        """Why an adaptive run stopped before a round its budget could not cover."""
        if rounds is not None and (not store_results or (shard is not None and shard[1] > 1)):
            raise InputError(
                "an adaptive run (--until-decided) reads its own results after each round",
                fix="run it unsharded, storing its results",
            )
        if not models:
            raise InputError(
                "no candidate models",
                fix="pass --models A,B (pytest: --clearance-models=A,B) or set "
                "[evals] models in clearance.toml",
            )
        self.models = self._resolve_models(models)
        self.items = plan_items(self.models, self.cases, self.trials, shard)
        self._cassettes = config.cassettes_dir()
        self._rows = ResultRows(
            shard[0] if shard else None, self._cassettes, config.root.resolve(), self.environ
        )
        self.library = CassetteLibrary(
            config.cassettes_dir(),
            self.record_mode,
            environ=self.environ,
            rerecord_command=self._rerecord_command,
        )

    # -- set-up -----------------------------------------------------------------------------

    def _rerecord_command(self, model_id: str, case_id: str) -> str:
        return f"clearance eval --models {model_id} --cases {case_id} --record-mode new"

    def _resolve_models(self, models: Sequence[str]) -> list[str]:
        """Catalog ids of the candidates (the provider factory registers its models first)."""
        from clearance.catalog.modelstore import resolve_model_id

        wanted = [m.strip() for m in models if m.strip()]
        if self.providers is not None:
            self.providers.register_models(self.catalog, wanted)
        resolved = []
        with self.catalog.connect() as connection:
            for text in wanted:
                model_id = resolve_model_id(connection, text)
                if model_id not in resolved:
                    resolved.append(model_id)
        return resolved

    def _protocols(self) -> Callable[[str], WireProtocol]:
        """model id -> the wire protocol its provider speaks: as ``[[providers]]`` declares
        it, else as the catalog holds it (the simulator's ``ref-gemini``...), else openai."""
        from clearance.catalog.modelstore import list_providers

        with self.catalog.connect() as connection:
            known = {entry.name: entry.protocol for entry in list_providers(connection)}
        for declared in self.config.providers:
            known[declared.name] = declared.protocol

        def protocol_of(model_id: str) -> WireProtocol:
            provider = parse_model_id(model_id, known).provider
            found = known.get(provider or "", "openai")
            return next((p for p in PROTOCOLS if p == found), "openai")

        return protocol_of

    def _needs_network(self) -> bool:
        return self.record_mode != "none"

    def _recording_models(self) -> list[str]:
        """The candidates this run may call a provider for; the others only replay.

        ``none`` never calls. ``once`` calls only for a (model, case) of this shard that
        has no cassette yet, or one holding a provider failure (an existing one replays,
        or fails, without the network).
        ``new`` and ``all`` may call for every candidate.
        """
        if self.record_mode == "none":
            return []
        planned = dict.fromkeys((item.model_id, item.case.id) for item in self.items)
        if self.record_mode == "once":  # a cassette holding a provider failure is recorded again
            paths = {pair: cassette_path(self._cassettes, *pair) for pair in planned}
            planned = {
                pair: None
                for pair, path in paths.items()
                if not path.exists() or cassette_holds_failure(path)
            }
        return list(dict.fromkeys(model_id for model_id, _ in planned))

    def _own_providers(self, router: Router) -> list[str]:
        """The candidates' providers this run starts itself, through its provider factory.

        Only when it may call providers over the real network, and only those the
        configuration does not declare (a declared provider is running somewhere).
        """
        factory = self.providers
        if factory is None or not self._needs_network() or self.network is not None:
            return []
        owners = router.state().models
        names = {owners[model_id].provider for model_id in self.models}
        declared = self.config.provider_names
        return sorted(name for name in names if name not in declared and factory.serves(name))

    def _check_api_keys(self, router: Router, *, served: set[str]) -> None:
        """Fail before any item starts when a model that must record has no key.

        Args:
            router: the run's router (it knows where each provider's key variable is named).
            served: providers the run starts itself (:meth:`_own_providers`).

        Raises:
            MissingApiKey: for the first provider (by name) whose key is not set, naming
                the models that need it.
        """
        models = self._recording_models()
        if not models:
            return
        owners = router.state().models
        by_provider: dict[str, list[str]] = {}
        for model_id in models:
            by_provider.setdefault(owners[model_id].provider, []).append(model_id)
        for provider in sorted(by_provider.keys() - served):
            router.check_api_key(provider, models=by_provider[provider])

    def _replay_without_http(self, router: Router) -> None:
        """Let the candidates' providers answer a replaying cassette's calls themselves.

        Each is wrapped in a :class:`~clearance.evaluation.replay.ReplayingProvider`: a
        replayed call still goes through the router, but never builds an httpx request.
        A provider the router cannot build is left alone (the call says why, as before).
        """
        from clearance.evaluation.replay import ReplayingProvider
        from clearance.providers.http import HttpProvider

        owners = router.state().models
        for name in sorted({owners[model_id].provider for model_id in self.models}):
            try:
                provider = router.provider(name)
            except ClearanceError:
                continue
            if isinstance(provider, HttpProvider):
                router.add_provider(ReplayingProvider(provider))

    # -- running ----------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        """Run every planned item (blocking).

        What exists before the run (modules, the loaded suite, the catalog) lives as long
        as the run: it is frozen out of the garbage collector's sight meanwhile, so the
        full collections the run's allocations trigger do not walk it again each time
        (they took ~0.3 s of a 2,000-item replay). The run's own garbage is collected at
        its end, before the rest is unfrozen: that collection walks only what the run made.
        A caller that froze objects itself keeps its collector as it set it.
        """
        if gc.get_freeze_count():
            return asyncio.run(self.arun())
        gc.freeze()
        try:
            return asyncio.run(self.arun())
        finally:
            gc.collect()
            gc.unfreeze()

    async def arun(self) -> RunOutcome:
        """Run every planned item; results are stored as they come, in batches."""
        started = time.perf_counter()
        store = ResultStore(self.catalog) if self.store_results else None
        spec = self._spec()
        started_providers = contextlib.ExitStack()
        inner: httpx.AsyncBaseTransport | None = None
        if self._needs_network():
            inner = self.network or _ShardedTransport(self.concurrency)
        transport = RecordingTransport(inner_async=inner)
        router = Router(
            self.config,
            self.catalog,
            asleep=_no_sleep_when_replaying,
            environ=self.environ,
            require_api_keys=False,  # a replay needs no key; _check_api_keys runs first
            async_transport=transport,  # every provider it builds records or replays
            eval_run_id=self.run_id,  # its calls are this run's, never live traffic
        )
        try:
            own = self._own_providers(router)
            self._check_api_keys(router, served=set(own))
            if store is not None:
                await asyncio.to_thread(
                    store.start_run, spec, shard=self.shard[0] if self.shard else None
                )
            if self.providers is not None:
                for name in own:
                    provider = started_providers.enter_context(self.providers.open(name, transport))
                    router.add_provider(provider, owned=True)
            for model_id in self.models:
                router.add_candidate(model_id)
            if self.record_mode != "all":
                self._replay_without_http(router)
            outcome = await self._run_all(router, store)
        finally:
            await router.aclose()
            if inner is not None and inner is not self.network:
                await inner.aclose()
            started_providers.close()
        outcome.elapsed_s = time.perf_counter() - started
        if store is not None:
            await asyncio.to_thread(
                store.finish,
                self.run_id,
                shard=self.shard[0] if self.shard else None,
                status="stopped" if outcome.status == "stopped" else "complete",
                spend=outcome.spend,
                note=outcome.note,
            )
        return outcome

    def _spec(self) -> RunSpec:
        return RunSpec(
            run_id=self.run_id,
            suites=tuple(self.suite.suites),
            models=tuple(self.models),
            trials=self.trials,
            record_mode=self.record_mode,
            shards=self.shard[1] if self.shard else 1,
            suite_hash=self.suite.suite_hash,
            contracts_hash=self.suite.contracts_hash,
            git_commit=_git_commit(self.config.root),
            cost_cap=self.cost_cap,
            details={
                "cases": len(self.cases),
                "contract_versions": dict(self.suite.contract_versions),
                # what each case was when judged: the gate refuses evidence on a changed one
                "case_digests": {case.id: case_digest(case) for case in self.cases},
                # which rules judged each suite (the report names them)
                "scoring": dict(self.suite.scoring),
                "selected_cases": None
                if len(self.cases) == len(self.suite.cases)
                else sorted(c.id for c in self.cases),
                **({} if self.rounds is None else {"adaptive": dict(self.rounds.details())}),
            },
        )

    async def _run_all(self, router: Router, store: ResultStore | None) -> RunOutcome:
        outcome = RunOutcome(self.run_id, {}, len(self.items), Decimal(0), "complete")
        pending: list[ItemResult] = []
        stop = asyncio.Event()
        # per candidate: requests in flight, and pairs open (twice as many, so that a
        # request slot a trial frees while it scores is taken by another trial at once)
        requests = {m: asyncio.Semaphore(self.concurrency) for m in self.models}
        pairs = {m: asyncio.Semaphore(2 * self.concurrency) for m in self.models}
        groups: dict[tuple[str, str], list[EvalItem]] = {}
        runner = TrialRunner(
            router,
            self.library,
            self._rows,
            allow_fallback=self.config.evals.allow_fallback,
            timeout_s=self.config.evals.timeout_s,
            protocol_of=self._protocols(),
        )
        for item in self.items:
            groups.setdefault((item.model_id, item.case.id), []).append(item)

        async def flush() -> None:
            batch, pending[:] = list(pending), []
            if store is not None and batch:
                await asyncio.to_thread(store.add_results, self.run_id, batch)

        def record(result: TrialOutcome) -> None:
            outcome.outcomes[result.item.key] = result
            pending.append(result.result)
            if self.on_outcome is not None:
                self.on_outcome(result, outcome.spend)

        def spent(amount: Decimal) -> None:
            outcome.spend += amount
            if self.cost_cap is not None and outcome.spend >= self.cost_cap and not stop.is_set():
                stop.set()

        async def run_group(items: list[EvalItem]) -> None:
            model_id = items[0].model_id
            async with pairs[model_id]:
                if stop.is_set():
                    return
                await runner.run_pair(items, record, spent, stop, requests[model_id])
            if len(pending) >= _RESULT_BATCH:
                await flush()

        if self.rounds is None:
            await asyncio.gather(*(run_group(items) for items in groups.values()))
            await flush()
        else:
            cases = {pair: items[0].case for pair, items in groups.items()}
            await self._play_rounds(
                runner, cases, pairs, requests, record, spent, stop, flush, lambda: outcome.spend
            )
            if self.budget_note is not None:
                outcome.note = self.budget_note
        if stop.is_set():
            done = len(outcome.outcomes)
            outcome.status = "stopped"
            outcome.note = (
                f"cost cap of {self.cost_cap} USD reached: {outcome.spend} USD spent, "
                f"{done} of {len(self.items)} items run; the rest were not started"
            )
        return outcome

    async def _play_rounds(
        self,
        runner: TrialRunner,
        cases: Mapping[tuple[str, str], EvalCase],
        pairs: Mapping[str, asyncio.Semaphore],
        requests: Mapping[str, asyncio.Semaphore],
        record: Callable[[TrialOutcome], None],
        spent: Callable[[Decimal], None],
        stop: asyncio.Event,
        flush: Callable[[], Awaitable[None]],
        spend_now: Callable[[], Decimal],
    ) -> None:
        """An adaptive run: round 1 plays trial 1 of every pair; after each round the
        :class:`RoundPlanner` names the pairs that get their next trial, until it names
        none, every chosen pair has had ``trials`` trials, or the cost cap would be passed.

        Each pair's cassette stays open from its first round to the end of the run, so a
        recording keeps every trial of the pair, in order, whichever round played it.
        """
        assert self.rounds is not None
        cassettes: dict[tuple[str, str], CaseCassette] = {}
        played: dict[tuple[str, str], int] = {}
        last: dict[tuple[str, str], TrialOutcome] = {}

        def kept(result: TrialOutcome) -> None:
            last[(result.item.model_id, result.item.case.id)] = result
            record(result)

        async def one(pair: tuple[str, str]) -> None:
            model_id, case_id = pair
            played[pair] = played.get(pair, 0) + 1
            item = EvalItem(model_id, cases[pair], played[pair])
            async with pairs[model_id]:
                if stop.is_set():
                    return
                cassette = cassettes.get(pair)
                if cassette is None:
                    try:
                        cassette = self.library.open(
                            model_id, case_id, fingerprint=item.case.fingerprint
                        )
                    except RecordingError as error:
                        kept(self._rows.infra(item, error, None, Tally()))
                        return
                    cassettes[pair] = cassette
                await runner.run_pair(
                    [item], kept, spent, stop, requests[model_id], cassette=cassette
                )

        chosen = sorted(cases)
        while chosen and not stop.is_set():
            self.looks += 1
            await asyncio.gather(*(one(pair) for pair in chosen))
            await flush()
            if self.looks >= self.trials or stop.is_set():
                break
            wanted = await asyncio.to_thread(self.rounds.next_round, self.run_id, self.looks)
            chosen = sorted(
                (model_id, case_id)
                for model_id, ids in wanted.items()
                for case_id in ids
                if (model_id, case_id) in cases and played.get((model_id, case_id), 0) < self.trials
            )
            if chosen and self.cost_cap is not None:
                # the next round costs about what a trial has cost so far, times its trials
                mean = spend_now() / max(1, sum(played.values()))
                if spend_now() + mean * len(chosen) > self.cost_cap:
                    self.budget_note = (
                        f"budget of {self.cost_cap} USD: round {self.looks + 1} "
                        f"({len(chosen)} trials, about {mean * len(chosen):.4f} USD) "
                        f"would pass it after {spend_now()} USD spent; it was not started"
                    )
                    break
        for pair in sorted(cassettes):
            await runner.finish_pair(cassettes[pair], last.get(pair), record, stop)
        await flush()
