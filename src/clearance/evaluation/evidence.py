"""What is stored of each trial: its ``eval_results`` row, with the evidence a person reads.

:class:`ResultRows` turns how a trial ended into its :class:`TrialOutcome`: judged by its
flow (the turns, and for a failure the failures and the transcript, long texts cut), or
an infrastructure error (the error, the provider's message with secrets redacted, every
attempt), or answered by a fallback model (which never counts for the candidate).
:class:`Tally` adds up the trial's calls for the row: latency, tokens, cost, and the model
snapshot each answer reported (a replay reports the one its cassette's body holds).

A row's ``model_snapshot`` is the last call's, as its ``served_model`` is: one snapshot
the provider really reported, so that the gate counts results per snapshot and the SLO
check compares a live call's snapshot with them by equality. A flow whose turns were
answered by different snapshots (a provider rolling a new one out mid-run) keeps every
call's, in order, in ``evidence["snapshots"]``, for the person reading it: its verdict is
evidence for the mix, which no single snapshot names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from clearance.catalog.runrecords import ItemResult
from clearance.errors import ClearanceError, ProviderError, RecordedProviderFailure
from clearance.evaluation.infra import redact
from clearance.evaluation.outcomes import TrialOutcome
from clearance.evaluation.plan import EvalItem
from clearance.evaluation.recording import cassette_path
from clearance.flows.scoring import Failure, FlowVerdict
from clearance.router import RouterResult

__all__ = ["ResultRows", "Tally"]

_TRANSCRIPT_TEXT_LIMIT = 4_000
_SNAPSHOT_CHARS = 255
"""The ``model_snapshot`` column's size (a provider's text is cut to fit)."""


@dataclass(slots=True)
class Tally:
    """The calls of one trial: what its row says they took and cost."""

    calls: int = 0
    wall_ms: float = 0.0
    overhead_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    served: str | None = None
    snapshots: list[str | None] = field(default_factory=list)
    """Each call's model snapshot as its provider reported it, in order (``None``: none)."""
    provider_ms: Callable[[], float | None] = field(default=lambda: None, repr=False)
    """The provider's time for the trial as recorded (replayed or just recorded)."""
    recorded_now: Callable[[], bool] = field(default=lambda: True, repr=False)
    """Whether the trial's calls reached the provider in this run (``False``: replayed)."""

    @property
    def latency_ms(self) -> float:
        """What the trial's calls took, from the provider's recorded time.

        Recording, clearance's own overhead is added; a replay reports the recorded time
        alone: the overhead it measures is the replaying machine's, which would make two
        replays of one recording (and the gate decisions on them) differ. The wall time
        when the provider's time is unknown (a cassette written before times were kept).
        """
        provider = self.provider_ms()
        if provider is None:
            return self.wall_ms
        return provider + self.overhead_ms if self.recorded_now() else provider

    def add(self, result: RouterResult) -> None:
        """Count one call the trial made."""
        self.calls += 1
        self.wall_ms += result.latency_s * 1000
        self.overhead_ms += result.overhead_s * 1000
        usage = result.response.usage
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
        self.cost += result.cost.cost
        self.served = result.served_model
        snapshot = result.response.snapshot
        self.snapshots.append(snapshot if snapshot is None else snapshot[:_SNAPSHOT_CHARS])

    @property
    def snapshot(self) -> str | None:
        """The last call's snapshot: what answered the call ``served`` names."""
        return self.snapshots[-1] if self.snapshots else None

    @property
    def mixed(self) -> bool:
        """Whether the trial's calls reported different snapshots (or some none)."""
        return len(set(self.snapshots)) > 1


class ResultRows:
    """The rows of one run's trials, and the outcomes that carry them.

    Args:
        shard: the shard's index (``None``: the run is not sharded).
        cassettes: the folder the run's cassettes are in (each row names its cassette).
        root: the project root (a cassette inside it is named from there).
        environ: the secrets to redact from providers' messages.
    """

    def __init__(
        self, shard: int | None, cassettes: Path, root: Path, environ: Mapping[str, str]
    ) -> None:
        self._shard = shard
        self._cassettes = cassettes
        self._root = root
        self._environ = environ
        self._names: dict[tuple[str, str], str] = {}

    def _row(
        self, item: EvalItem, tally: Tally, evidence: dict[str, Any], **values: Any
    ) -> ItemResult:
        case = item.case
        if tally.mixed:
            evidence["snapshots"] = list(tally.snapshots)
        return ItemResult(
            model_id=item.model_id,
            case_id=case.id,
            case_kind=case.kind,
            tool=case.tool,
            contract_version=case.contract_version,
            criticality=case.criticality,
            trial=item.trial,
            shard=self._shard,
            latency_ms=round(tally.latency_ms, 3) if tally.calls else None,
            prompt_tokens=tally.prompt_tokens if tally.calls else None,
            completion_tokens=tally.completion_tokens if tally.calls else None,
            cost=tally.cost if tally.calls else None,
            served_model=tally.served,
            model_snapshot=tally.snapshot,
            cassette=self._cassette_name(item),
            evidence=evidence,
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

    def judged(self, item: EvalItem, verdict: FlowVerdict, tally: Tally) -> TrialOutcome:
        """A trial its flow judged: the turns, and for a failure what failed and the
        transcript."""
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
            evidence,
            verdict="pass" if verdict.passed else "fail",
            failure_code=verdict.failures[0].code if verdict.failures else None,
            turns_passed=verdict.turns_passed,
            turns_total=verdict.turns_total,
            fallback_served=False,
        )
        return TrialOutcome(item, row, verdict.failures, None, verdict)

    def infra(
        self,
        item: EvalItem,
        error: ClearanceError,
        verdict: FlowVerdict | None,
        tally: Tally,
    ) -> TrialOutcome:
        """A trial that ended on an infrastructure error (``verdict``: the flow's, when
        the error came after it was judged)."""
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
            evidence["provider_message"] = redact(error.detail, self._environ)
        status = getattr(error, "status_code", None)
        if status is not None:
            evidence["status_code"] = status
        if error.attempts:
            evidence["attempts"] = [_attempt_json(a) for a in error.attempts]
        row = self._infra_row(item, tally, evidence, fallback_served=False)
        return TrialOutcome(item, row, (), error, verdict)

    def _infra_row(
        self, item: EvalItem, tally: Tally, evidence: dict[str, Any], *, fallback_served: bool
    ) -> ItemResult:
        return self._row(
            item,
            tally,
            evidence,
            verdict="infra_error",
            failure_code="infra_error",
            turns_passed=None,
            turns_total=None,
            fallback_served=fallback_served,
        )

    def fallback(self, item: EvalItem, result: RouterResult, tally: Tally) -> TrialOutcome:
        """A trial a fallback model answered: stored as an infrastructure error, never as
        the candidate's answer."""
        evidence: dict[str, Any] = {
            "kind": "fallback_served",
            "message": f"{result.served_model} answered instead of {item.model_id} "
            f"({result.fallback_reason}): the answer does not count for the candidate",
            "served_model": result.served_model,
            "fallback_reason": result.fallback_reason,
            "attempts": [_attempt_json(a) for a in result.attempts],
        }
        return TrialOutcome(item, self._infra_row(item, tally, evidence, fallback_served=True))


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
