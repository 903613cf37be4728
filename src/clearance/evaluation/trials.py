"""Running one (model, case) pair: its trials at once, on one cassette, each judged by its flow.

:class:`TrialRunner` opens the pair's cassette, plays every trial's flow against the
model through the run's router, concurrently (the cassette keeps each trial's
interactions apart and in order, so a recording replays exactly whatever order the
trials' requests were made in), each request waiting for one of the model's request
slots (every call counted and its cost reported as it is spent), and hands how each
trial ended to :class:`~clearance.evaluation.evidence.ResultRows`.
A trial that a fallback model answered, or that ended on a provider failure, is marked so
in the cassette (:meth:`~clearance.evaluation.recording.CaseCassette.mark_failure`), so
that the next recording run records it again.

A trial whose first request finds the run stopped (the cost cap) is not run; one that
has started plays to its end. How many requests and pairs are in flight per model, the
cost cap and storing the results are the engine's (:mod:`clearance.evaluation.engine`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from clearance.errors import PolicyRefusal, ProviderError, RecordingError
from clearance.evaluation.evidence import ResultRows, Tally
from clearance.evaluation.outcomes import TrialOutcome
from clearance.evaluation.plan import EvalItem
from clearance.evaluation.recording import CaseCassette, CassetteLibrary
from clearance.flows.scoring import arun_flow
from clearance.providers.types import ChatResponse, Protocol
from clearance.router import Router, RouterResult

__all__ = ["TrialRunner"]


class _NotStarted(Exception):
    """The run stopped before the trial's first request was sent."""


class _FallbackServed(Exception):
    def __init__(self, result: RouterResult) -> None:
        self.result = result


class TrialRunner:
    """Runs the trials of (model, case) pairs of one run.

    Args:
        router: the run's router (every model call goes through it).
        library: the run's cassettes.
        rows: what each trial's ending is stored as.
        allow_fallback / timeout_s: passed to every call (``[evals]``).
        protocol_of: the wire protocol a candidate is called over (its provider was sent
            the contracts' schemas lowered for it, which the scoring has to know);
            ``openai`` for every one when not given.
    """

    def __init__(
        self,
        router: Router,
        library: CassetteLibrary,
        rows: ResultRows,
        *,
        allow_fallback: bool,
        timeout_s: float | None,
        protocol_of: Callable[[str], Protocol] | None = None,
    ) -> None:
        self._router = router
        self._library = library
        self._rows = rows
        self._allow_fallback = allow_fallback
        self._timeout_s = timeout_s
        self._protocol_of = protocol_of

    async def run_pair(
        self,
        items: list[EvalItem],
        record: Callable[[TrialOutcome], None],
        spent: Callable[[Decimal], None],
        stop: asyncio.Event,
        requests: asyncio.Semaphore | None = None,
        *,
        cassette: CaseCassette | None = None,
    ) -> CaseCassette | None:
        """Run the trials of one (model, case), all at once, until ``stop`` is set.

        Args:
            items: the pair's items, in trial order.
            record: called with each trial's outcome, as each ends.
            spent: called with the cost of each call, as it is made.
            stop: set when the run stops (the cost cap): no further trial starts.
            requests: the model's request slots, one held around each call
                (``None``: unbounded).
            cassette: the pair's cassette, opened by an earlier call, to play more of its
                trials (an adaptive run's later rounds); then it is left open, and the
                caller ends it with :meth:`finish_pair`. ``None``: it is opened here and
                ended when these trials are done.

        Returns:
            The open cassette when one was given; else ``None`` (it is finished). Also
            ``None`` when it could not be opened (each item is recorded as an infra error).
        """
        keep = cassette is not None
        if cassette is None:
            first = items[0]
            try:
                cassette = self._library.open(
                    first.model_id, first.case.id, fingerprint=first.case.fingerprint
                )
            except RecordingError as error:
                for item in items:
                    record(self._rows.infra(item, error, None, Tally()))
                return None
        opened = cassette
        done: dict[int, TrialOutcome] = {}

        async def trial(item: EvalItem) -> None:
            if stop.is_set():
                return
            with opened.use(item.trial):
                try:
                    outcome = await self._run_trial(item, spent, opened, stop, requests)
                except _NotStarted:
                    return
            done[item.trial] = outcome
            record(outcome)

        if len(items) == 1:
            await trial(items[0])
        else:
            await asyncio.gather(*(trial(item) for item in items))
        if keep:
            return opened
        await self.finish_pair(opened, done[max(done)] if done else None, record, stop)
        return None

    async def finish_pair(
        self,
        cassette: CaseCassette,
        last: TrialOutcome | None,
        record: Callable[[TrialOutcome], None],
        stop: asyncio.Event,
    ) -> None:
        """End a pair's cassette (check what was played, or write what was recorded).

        Args:
            cassette: the pair's cassette.
            last: the outcome of its last trial (``None``: none ran).
            record: where a corrected outcome goes.
            stop: the run's stop (a stopped run's leftovers are not held against it).
        """
        try:
            if not cassette.interactions_recorded:
                cassette.finish()
            else:  # writing and fsyncing the file must not stall the other pairs
                await asyncio.to_thread(cassette.finish)
        except RecordingError as error:
            if last is not None and not stop.is_set():
                # The recording holds more than the suite asked for: the last trial's
                # verdict cannot be trusted to match what was recorded.
                fixed = self._rows.infra(last.item, error, last.verdict, Tally())
                record(fixed)

    async def _run_trial(
        self,
        item: EvalItem,
        spent: Callable[[Decimal], None],
        cassette: CaseCassette,
        stop: asyncio.Event,
        requests: asyncio.Semaphore | None,
    ) -> TrialOutcome:
        tally = Tally(
            provider_ms=lambda: cassette.provider_ms(item.trial),
            recorded_now=lambda: cassette.recorded_now(item.trial),
        )
        case = item.case
        router = self._router
        slot = requests if requests is not None else contextlib.nullcontext()

        async def model(
            messages: list[dict[str, Any]], tools: list[dict[str, Any]]
        ) -> ChatResponse:
            async with slot:
                if tally.calls == 0 and stop.is_set():
                    raise _NotStarted
                result = await router.acomplete(
                    messages,
                    tools,
                    model=item.model_id,
                    allow_fallback=self._allow_fallback,
                    timeout_s=self._timeout_s,
                )
            tally.add(result)
            spent(result.cost.cost)
            if result.fallback_served:
                raise _FallbackServed(result)
            return result.response

        try:
            verdict = await arun_flow(
                case.flow,
                model,
                tool_schemas=case.schemas,
                descriptions=case.descriptions,
                protocol=self._protocol_of(item.model_id) if self._protocol_of else "openai",
                profile=case.scoring,
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
            return self._rows.fallback(item, result, tally)
        except ProviderError as error:
            cassette.mark_failure(
                item.trial,
                error.kind,
                status_code=getattr(error, "status_code", None),
                message=error.detail,
            )
            return self._rows.infra(item, error, None, tally)
        except (PolicyRefusal, RecordingError) as error:
            return self._rows.infra(item, error, None, tally)
        return self._rows.judged(item, verdict, tally)


def _last_failed(attempts: Sequence[Any], model_id: str) -> Any:
    """The candidate's last failed attempt (``None`` when it never failed)."""
    failed = [a for a in attempts if a.model_id == model_id and a.outcome == "error"]
    return failed[-1] if failed else None
