"""What a run comes to: one :class:`TrialOutcome` per item, gathered in a :class:`RunOutcome`.

A trial's outcome is its stored row (:class:`~clearance.catalog.runrecords.ItemResult`)
with what a person needs to see why it failed (:meth:`TrialOutcome.explain`); a run's is
every trial's, with the spend, the status (``stopped`` when the cost cap was reached)
and the models nothing could be judged for (:meth:`RunOutcome.unjudged_models`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from clearance.catalog.runrecords import ItemResult
from clearance.errors import ClearanceError, RecordedProviderFailure, RecordingError
from clearance.evaluation.infra import unjudged_reason
from clearance.evaluation.plan import EvalItem
from clearance.flows.scoring import Failure, FlowVerdict

__all__ = ["RunOutcome", "TrialOutcome"]


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
