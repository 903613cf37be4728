"""The eval engine: every chosen case against every candidate model, trials in order.

One (model, case) pair is one task with one cassette: its trials play in order, so a
recording holds them in order and replays exactly. Up to ``concurrency`` pairs run at
once. Every model call goes through the :class:`~clearance.router.Router`, as in
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

:class:`Evaluation` is what ``pytest evals`` and ``clearance eval`` both drive.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import httpx

from clearance.catalog.database import Catalog
from clearance.catalog.runrecords import ItemResult, RunSpec
from clearance.catalog.runstore import ResultStore
from clearance.config import ClearanceConfig
from clearance.errors import (
    ClearanceError,
    InputError,
    PolicyRefusal,
    ProviderError,
    RecordedProviderFailure,
    RecordingError,
)
from clearance.evaluation.cases import EvalCase, SuiteSet, case_digest
from clearance.evaluation.infra import redact, unjudged_reason
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
from clearance.flows.scoring import Failure, FlowVerdict, arun_flow
from clearance.providers.base import Provider
from clearance.providers.types import ChatResponse
from clearance.router import Router, RouterResult

__all__ = [
    "EvalItem",
    "Evaluation",
    "ProviderFactory",
    "RunOutcome",
    "TrialOutcome",
    "parse_shard",
    "plan_items",
]

_RESULT_BATCH = 500
_TRANSCRIPT_TEXT_LIMIT = 4_000


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


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One (model, case, trial): one pytest item, one stored result."""

    model_id: str
    case: EvalCase
    trial: int

    @property
    def key(self) -> tuple[str, str, int]:
        """(model, case id, trial)."""
        return self.model_id, self.case.id, self.trial

    @property
    def label(self) -> str:
        """A readable id: ``ref:ref/steady-cancel_meeting-t1``."""
        return f"{self.model_id}-{self.case.id}-t{self.trial}"


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """What one item came to: the stored row, and what a person needs to see why."""

    item: EvalItem
    result: ItemResult
    failures: tuple[Failure, ...] = ()
    error: ClearanceError | None = None
    """The infrastructure error (provider, policy, recording), when there was one."""
    verdict: FlowVerdict | None = field(default=None, repr=False)

    @property
    def recording_problem(self) -> bool:
        """Whether a recording was missing, stale, broken or mismatched (fails loudly).

        A recording that holds a provider failure is not one: it is an infrastructure
        error (:class:`~clearance.errors.RecordedProviderFailure`).
        """
        return isinstance(self.error, RecordingError) and not isinstance(
            self.error, RecordedProviderFailure
        )

    def explain(self) -> str:
        """A readable account of a failure or an infrastructure error."""
        item = self.item
        head = f"{item.model_id} / {item.case.id} / trial {item.trial}: {self.result.verdict}"
        lines = [head]
        if self.error is not None:
            lines.append(f"  {type(self.error).__name__}: {self.error.message}")
            if self.error.fix:
                lines.append(f"  fix: {self.error.fix}")
        for failure in self.failures:
            turn = f" (turn {failure.turn})" if failure.turn is not None else ""
            evidence = ", ".join(f"{k}={_short(v)}" for k, v in failure.evidence.items())
            lines.append(f"  {failure.code}{turn}: {evidence}")
        return "\n".join(lines)


@dataclass(slots=True)
class RunOutcome:
    """A finished (or stopped) run of one shard."""

    run_id: str
    outcomes: dict[tuple[str, str, int], TrialOutcome] = field(repr=False)
    planned: int
    spend: Decimal
    status: str
    """``complete``, or ``stopped`` when the cost cap was reached."""
    note: str | None = None
    elapsed_s: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        """Items per verdict (``not_run``: left out by a stop)."""
        counts = {"pass": 0, "fail": 0, "infra_error": 0}
        for outcome in self.outcomes.values():
            counts[outcome.result.verdict] += 1
        counts["not_run"] = self.planned - len(self.outcomes)
        return counts

    def per_model(self) -> dict[str, dict[str, Any]]:
        """Per model: items per verdict, spend, and the share of judged items passed.

        A progress figure for this shard's run; rates to decide on (pass@1, pass^k)
        come from the stored rows (:mod:`clearance.evaluation.metrics`).
        """
        models: dict[str, dict[str, Any]] = {}
        for outcome in self.outcomes.values():
            tally = models.setdefault(
                outcome.item.model_id,
                {"pass": 0, "fail": 0, "infra_error": 0, "spend": Decimal(0)},
            )
            tally[outcome.result.verdict] += 1
            if outcome.result.cost is not None:
                tally["spend"] += outcome.result.cost
        for tally in models.values():
            judged = tally["pass"] + tally["fail"]
            tally["judged"] = judged
            tally["passed_share"] = round(tally["pass"] / judged, 4) if judged else None
        return models

    def unjudged_models(self) -> dict[str, str]:
        """Models every run item of which failed on infrastructure, and why, in words.

        ``{"mock:gpt-mock": "mock:gpt-mock: all 3 items failed on infrastructure (HTTP 500
        from provider: upstream broke); nothing was judged"}``. Items a stop left unrun
        are not counted; a model none of whose items ran is not named.
        """
        rows: dict[str, list[tuple[str, Any, str | None, bool]]] = {}
        judged: set[str] = set()
        for outcome in self.outcomes.values():
            result = outcome.result
            if result.verdict != "infra_error" and not result.fallback_served:
                judged.add(result.model_id)
                continue
            row = (result.case_id, result.evidence, result.failure_code, result.fallback_served)
            rows.setdefault(result.model_id, []).append(row)
        return {
            model_id: unjudged_reason(model_id, found)
            for model_id, found in sorted(rows.items())
            if model_id not in judged
        }


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/8"`` → (2, 8); ``None`` → ``None``.

    Raises:
        InputError: not ``I/N`` with 1 ≤ I ≤ N.
    """
    if text is None or text == "":
        return None
    index, _, total = text.partition("/")
    try:
        i, n = int(index), int(total)
    except ValueError:
        i, n = 0, 0
    if not 1 <= i <= n:
        raise InputError(
            f"--shard {text!r} is not I/N with 1 <= I <= N",
            fix="write the shard as I/N, e.g. --shard 2/8 for the second of eight",
        )
    return i, n


def plan_items(
    models: Sequence[str],
    cases: Sequence[EvalCase],
    trials: int,
    shard: tuple[int, int] | None = None,
) -> list[EvalItem]:
    """Every (model, case, trial) of this shard.

    (model, case) pairs are dealt to shards in turn, in (model, case id) order, so every
    runner with the same models and cases computes the same split, shards differ by at
    most one pair, and the trials of one pair (one cassette) stay together.
    """
    pairs = sorted(((m, c) for m in models for c in cases), key=lambda p: (p[0], p[1].id))
    if shard is not None:
        index, total = shard
        pairs = pairs[index - 1 :: total]
    return [EvalItem(m, c, k) for m, c in pairs for k in range(1, trials + 1)]


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


class _FallbackServed(Exception):
    def __init__(self, result: RouterResult) -> None:
        self.result = result


@dataclass(slots=True)
class _Tally:
    """The calls of one trial."""

    calls: int = 0
    wall_ms: float = 0.0
    overhead_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    served: str | None = None
    provider_ms: Callable[[], float | None] = field(default=lambda: None, repr=False)
    """The provider's time for the trial as recorded (replayed or just recorded)."""

    @property
    def latency_ms(self) -> float:
        """What the trial's calls took: the provider's recorded time plus clearance's own
        (so a replay reports the latency the model had); the wall time when unknown."""
        provider = self.provider_ms()
        return self.wall_ms if provider is None else provider + self.overhead_ms

    def add(self, result: RouterResult) -> None:
        self.calls += 1
        self.wall_ms += result.latency_s * 1000
        self.overhead_ms += result.overhead_s * 1000
        usage = result.response.usage
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
        self.cost += result.cost.cost
        self.served = result.served_model


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
        if not models:
            raise InputError(
                "no candidate models",
                fix="pass --models A,B (pytest: --clearance-models=A,B) or set "
                "[evals] models in clearance.toml",
            )
        self.models = self._resolve_models(models)
        self.items = plan_items(self.models, self.cases, self.trials, shard)
        self._root = config.root.resolve()
        self._cassettes = config.cassettes_dir()
        self._names: dict[tuple[str, str], str] = {}
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

    # -- running ----------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        """Run every planned item (blocking)."""
        return asyncio.run(self.arun())

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
                "selected_cases": None
                if len(self.cases) == len(self.suite.cases)
                else sorted(c.id for c in self.cases),
            },
        )

    async def _run_all(self, router: Router, store: ResultStore | None) -> RunOutcome:
        outcome = RunOutcome(self.run_id, {}, len(self.items), Decimal(0), "complete")
        pending: list[ItemResult] = []
        stop = asyncio.Event()
        semaphore = asyncio.Semaphore(self.concurrency)
        groups: dict[tuple[str, str], list[EvalItem]] = {}
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
            async with semaphore:
                if stop.is_set():
                    return
                await self._run_pair(router, items, record, spent, stop)
            if len(pending) >= _RESULT_BATCH:
                await flush()

        await asyncio.gather(*(run_group(items) for items in groups.values()))
        await flush()
        if stop.is_set():
            done = len(outcome.outcomes)
            outcome.status = "stopped"
            outcome.note = (
                f"cost cap of {self.cost_cap} USD reached: {outcome.spend} USD spent, "
                f"{done} of {len(self.items)} items run; the rest were not started"
            )
        return outcome

    async def _run_pair(
        self,
        router: Router,
        items: list[EvalItem],
        record: Callable[[TrialOutcome], None],
        spent: Callable[[Decimal], None],
        stop: asyncio.Event,
    ) -> None:
        first = items[0]
        try:
            cassette = self.library.open(
                first.model_id, first.case.id, fingerprint=first.case.fingerprint
            )
        except RecordingError as error:
            for item in items:
                record(self._infra(item, error, None, _Tally()))
            return
        last: TrialOutcome | None = None
        for item in items:
            if stop.is_set():
                break
            with cassette.use(item.trial):
                last = await self._run_trial(router, item, spent, cassette)
            record(last)
        try:
            if not cassette.interactions_recorded:
                cassette.finish()
            else:  # writing and fsyncing the file must not stall the other pairs
                await asyncio.to_thread(cassette.finish)
        except RecordingError as error:
            if last is not None and not stop.is_set():
                # The recording holds more than the suite asked for: the last trial's
                # verdict cannot be trusted to match what was recorded.
                fixed = self._infra(last.item, error, last.verdict, _Tally())
                record(fixed)

    async def _run_trial(
        self,
        router: Router,
        item: EvalItem,
        spent: Callable[[Decimal], None],
        cassette: CaseCassette,
    ) -> TrialOutcome:
        tally = _Tally(provider_ms=lambda: cassette.provider_ms(item.trial))
        case = item.case

        async def model(
            messages: list[dict[str, Any]], tools: list[dict[str, Any]]
        ) -> ChatResponse:
            result = await router.acomplete(
                messages,
                tools,
                model=item.model_id,
                allow_fallback=self.config.evals.allow_fallback,
                timeout_s=self.config.evals.timeout_s,
            )
            tally.add(result)
            spent(result.cost.cost)
            if result.fallback_served:
                raise _FallbackServed(result)
            return result.response

        try:
            verdict = await arun_flow(
                case.flow, model, tool_schemas=case.schemas, descriptions=case.descriptions
            )
        except _FallbackServed as served:
            result = served.result
            failed = _last_failed(result.attempts, item.model_id)
            cassette.mark_failure(
                item.trial,
                "fallback_served",
                status_code=failed.status_code if failed is not None else None,
                message=f"{result.served_model} answered instead ({result.fallback_reason})"
                + (f": {failed.detail}" if failed is not None and failed.detail else ""),
            )
            return self._fallback(item, result, tally)
        except ProviderError as error:
            cassette.mark_failure(
                item.trial,
                error.kind,
                status_code=getattr(error, "status_code", None),
                message=error.detail,
            )
            return self._infra(item, error, None, tally)
        except (PolicyRefusal, RecordingError) as error:
            return self._infra(item, error, None, tally)
        return self._judged(item, verdict, tally)

    # -- results ----------------------------------------------------------------------------

    def _row(self, item: EvalItem, tally: _Tally, **values: Any) -> ItemResult:
        case = item.case
        return ItemResult(
            model_id=item.model_id,
            case_id=case.id,
            case_kind=case.kind,
            tool=case.tool,
            contract_version=case.contract_version,
            criticality=case.criticality,
            trial=item.trial,
            shard=self.shard[0] if self.shard else None,
            latency_ms=round(tally.latency_ms, 3) if tally.calls else None,
            prompt_tokens=tally.prompt_tokens if tally.calls else None,
            completion_tokens=tally.completion_tokens if tally.calls else None,
            cost=tally.cost if tally.calls else None,
            served_model=tally.served,
            cassette=self._cassette_name(item),
            **values,
        )

    def _cassette_name(self, item: EvalItem) -> str:
        """The cassette's path, from the project root when it is inside it."""
        key = (item.model_id, item.case.id)
        name = self._names.get(key)
        if name is None:
            path = cassette_path(self._cassettes, item.model_id, item.case.id)
            try:
                name = str(path.relative_to(self._root))
            except ValueError:
                name = str(path)
            self._names[key] = name
        return name

    def _judged(self, item: EvalItem, verdict: FlowVerdict, tally: _Tally) -> TrialOutcome:
        evidence: dict[str, Any] = {
            "turns": [
                {"passed": turn.passed, "failures": [f.code for f in turn.failures]}
                for turn in verdict.turns
            ]
        }
        if not verdict.passed:
            evidence["failures"] = [_failure_json(f) for f in verdict.failures]
            evidence["transcript"] = _transcript(verdict.transcript)
        row = self._row(
            item,
            tally,
            verdict="pass" if verdict.passed else "fail",
            failure_code=verdict.failures[0].code if verdict.failures else None,
            evidence=evidence,
            turns_passed=verdict.turns_passed,
            turns_total=verdict.turns_total,
            fallback_served=False,
        )
        return TrialOutcome(item, row, verdict.failures, None, verdict)

    def _infra(
        self,
        item: EvalItem,
        error: ClearanceError,
        verdict: FlowVerdict | None,
        tally: _Tally,
    ) -> TrialOutcome:
        evidence: dict[str, Any] = {
            "kind": getattr(error, "kind", type(error).__name__),
            "error": type(error).__name__,
            "message": error.message,
            "fix": error.fix,
        }
        if isinstance(error, RecordedProviderFailure):
            evidence["kind"] = error.failure_kind
            evidence["from_recording"] = True
        if isinstance(error, ProviderError | RecordedProviderFailure):
            evidence["provider_message"] = redact(error.detail, self.environ)
        status = getattr(error, "status_code", None)
        if status is not None:
            evidence["status_code"] = status
        if error.attempts:
            evidence["attempts"] = [_attempt_json(a) for a in error.attempts]
        row = self._infra_row(item, tally, evidence, fallback_served=False)
        return TrialOutcome(item, row, (), error, verdict)

    def _infra_row(
        self, item: EvalItem, tally: _Tally, evidence: dict[str, Any], *, fallback_served: bool
    ) -> ItemResult:
        return self._row(
            item,
            tally,
            verdict="infra_error",
            failure_code="infra_error",
            evidence=evidence,
            turns_passed=None,
            turns_total=None,
            fallback_served=fallback_served,
        )

    def _fallback(self, item: EvalItem, result: RouterResult, tally: _Tally) -> TrialOutcome:
        evidence: dict[str, Any] = {
            "kind": "fallback_served",
            "message": f"{result.served_model} answered instead of {item.model_id} "
            f"({result.fallback_reason}): the answer does not count for the candidate",
            "served_model": result.served_model,
            "fallback_reason": result.fallback_reason,
            "attempts": [_attempt_json(a) for a in result.attempts],
        }
        return TrialOutcome(item, self._infra_row(item, tally, evidence, fallback_served=True))


def _last_failed(attempts: Sequence[Any], model_id: str) -> Any:
    """The candidate's last failed attempt (``None`` when it never failed)."""
    failed = [a for a in attempts if a.model_id == model_id and a.outcome == "error"]
    return failed[-1] if failed else None


def _attempt_json(attempt: Any) -> dict[str, Any]:
    return {
        "model_id": attempt.model_id,
        "outcome": attempt.outcome,
        "error_kind": attempt.error_kind,
        "status_code": attempt.status_code,
        "detail": attempt.detail,
    }


def _failure_json(failure: Failure) -> dict[str, Any]:
    return {"code": failure.code, "turn": failure.turn, "evidence": failure.evidence}


def _transcript(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The messages exchanged, long texts cut (the report shows them as untrusted text)."""
    out = []
    for message in messages:
        copy = dict(message)
        content = copy.get("content")
        if isinstance(content, str) and len(content) > _TRANSCRIPT_TEXT_LIMIT:
            copy["content"] = content[:_TRANSCRIPT_TEXT_LIMIT] + f"… [{len(content)} chars]"
        out.append(copy)
    return out
