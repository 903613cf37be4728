"""The retrieval gate: enable, disable or leave inconclusive a retriever configuration
from its stored retrieval evaluation, and say whether a configuration is cleared now.

For each configuration judged (every ``[[retrievers]]`` entry, or those named) the gate
reads the scores of its latest complete retrieval run (or the runs named), one summary
per labelled query set, and checks each bar of the policy's ``retrieval`` section
against each summary's interval:

* **pass** when the interval's lower bound reaches the bar,
* **fail** when its upper bound is below the bar,
* **inconclusive** otherwise (the evaluation cannot tell: more queries would).

The configuration is **enabled** when every check passes, **disabled** when one fails,
and **inconclusive** otherwise; a configuration with no scores, or whose scores were
taken on a configuration that has changed since (another kind, ``k`` or embedder: its
sha256 differs), gets no decision and the gate fails. The bounds are those of the
evaluation's two-sided interval (95 % by default, so each is a one-sided 97.5 % bound).

A decision is written to ``retriever_decisions`` with the configuration's sha256, the
policy's name, path and sha256, the runs and the expiry (the policy's
``expires_after_days``). :func:`retriever_clearance` is what the router asks: a
configuration is cleared only by its latest decision being ``enable``, unexpired, and
taken on the configuration as it is now.
"""

from __future__ import annotations

import datetime as dt
import getpass
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from clearance.catalog import retrievalruns
from clearance.catalog.retrieverdecisions import (
    RetrieverDecisionRow,
    latest_retriever_decisions,
    record_retriever_decision,
)
from clearance.errors import ConfigError, InputError, RetrieverNotCleared
from clearance.knowledge.configured import (
    ConfiguredRetriever,
    build_retriever,
    config_document,
    config_fingerprint,
)

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig, RetrieverConfig
    from clearance.gate.policy import GatePolicy

__all__ = [
    "ClearedRetrievers",
    "RetrievalCheck",
    "RetrievalGateRun",
    "RetrieverClearance",
    "RetrieverVerdict",
    "clearances",
    "decide_retriever",
    "retriever_clearance",
    "run_retrieval_gate",
]

Decision = Literal["enable", "disable", "inconclusive"]
_LABELS = {"recall_at_k": "recall@k", "mrr": "MRR", "ndcg_at_10": "nDCG@10"}


@dataclass(frozen=True, slots=True)
class RetrievalCheck:
    """One bar against one query set's interval."""

    metric: str
    """``recall_at_k``, ``mrr`` or ``ndcg_at_10``."""
    knowledge_base: str
    org_id: str
    mean: float
    low: float
    high: float
    bar: float
    verdict: Literal["pass", "fail", "inconclusive"]

    @property
    def detail(self) -> str:
        """``recall@k 0.812 [0.741, 0.873] vs 0.8 on ourco-help (ourco)``."""
        return (
            f"{_LABELS[self.metric]} {self.mean:.3f} [{self.low:.3f}, {self.high:.3f}] vs "
            f"{self.bar:g} on {self.knowledge_base} ({self.org_id})"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "metric": self.metric,
            "knowledge_base": self.knowledge_base,
            "org": self.org_id,
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "min_lower_bound": self.bar,
            "verdict": self.verdict,
        }


@dataclass(frozen=True, slots=True)
class RetrieverVerdict:
    """One configuration's outcome."""

    retriever: str
    decision: Decision | None
    """``None``: not judged (no scores, or scores of a changed configuration)."""
    checks: tuple[RetrievalCheck, ...]
    reasons: tuple[str, ...]
    run_ids: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """The gate enabled it."""
        return self.decision == "enable"


@dataclass(frozen=True, slots=True)
class RetrievalGateRun:
    """Everything one ``clearance gate --retrieval`` found and did."""

    policy: GatePolicy
    verdicts: tuple[RetrieverVerdict, ...]
    decided_at: dt.datetime
    expires_at: dt.datetime | None
    written: bool

    @property
    def exit_code(self) -> int:
        """0 when every judged configuration is enabled; 1 otherwise."""
        return 0 if all(verdict.passed for verdict in self.verdicts) else 1

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "policy": {
                "name": self.policy.name,
                "path": None if self.policy.path is None else str(self.policy.path),
                "hash": self.policy.source_hash,
            },
            "decided_at": self.decided_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "written": self.written,
            "exit_code": self.exit_code,
            "retrievers": [
                {
                    "retriever": v.retriever,
                    "decision": v.decision,
                    "reasons": list(v.reasons),
                    "run_ids": list(v.run_ids),
                    "checks": [check.to_json() for check in v.checks],
                }
                for v in self.verdicts
            ],
        }


def _verdict(low: float, high: float, bar: float) -> Literal["pass", "fail", "inconclusive"]:
    if low >= bar:
        return "pass"
    if high < bar:
        return "fail"
    return "inconclusive"


def decide_retriever(
    retriever: str, scores: Sequence[retrievalruns.ScoreRow], policy: GatePolicy
) -> RetrieverVerdict:
    """Judge one configuration's summaries (one per query set) against the policy's
    ``retrieval`` bars (see the module docstring).

    Raises:
        ConfigError: the policy has no ``retrieval`` section.
    """
    if policy.retrieval is None:
        where = str(policy.path) if policy.path is not None else f"policy {policy.name!r}"
        raise ConfigError(
            f"{where} has no retrieval checks, so it cannot judge a retriever",
            source=where,
            key="retrieval",
            fix="add a retrieval section (gates/README.md, Retrieval), or pass --policy "
            "with one that has it",
        )
    run_ids = tuple(sorted({score.run_id for score in scores}))
    if not scores:
        return RetrieverVerdict(
            retriever,
            None,
            (),
            (f"no retrieval scores of {retriever}: run clearance eval --suites retrieval",),
            run_ids,
        )
    checks = []
    for score in scores:
        intervals = {"recall_at_k": score.recall, "mrr": score.mrr, "ndcg_at_10": score.ndcg}
        for metric, bar in policy.retrieval.bars().items():
            interval = intervals[metric]
            checks.append(
                RetrievalCheck(
                    metric,
                    score.knowledge_base,
                    score.org_id,
                    interval.mean,
                    interval.low,
                    interval.high,
                    bar.min_lower_bound,
                    _verdict(interval.low, interval.high, bar.min_lower_bound),
                )
            )
    verdicts = {check.verdict for check in checks}
    decision: Decision = (
        "disable"
        if "fail" in verdicts
        else "inconclusive"
        if "inconclusive" in verdicts
        else "enable"
    )
    why = {"fail": "below the bar", "inconclusive": "the interval straddles the bar"}
    reasons = tuple(
        f"{check.detail}: {why[check.verdict]}" for check in checks if check.verdict != "pass"
    )
    return RetrieverVerdict(retriever, decision, tuple(checks), reasons, run_ids)


def run_retrieval_gate(
    config: ClearanceConfig,
    catalog: Catalog,
    *,
    policy: GatePolicy,
    retrievers: Sequence[str] = (),
    run_ids: Sequence[str] = (),
    write: bool = True,
    decided_by: str | None = None,
    now: dt.datetime | None = None,
) -> RetrievalGateRun:
    """Judge the configured retrievers (or those named) and (with ``write``) record it.

    Raises:
        ConfigError: no retriever configured, an unknown name, a policy without
            ``retrieval``.
        InputError: a named run that does not exist.
    """
    if not config.retrievers:
        raise ConfigError(
            "no retriever configuration is declared",
            source=config.source,
            key="retrievers",
            fix="declare [[retrievers]] and score them with clearance eval --suites retrieval",
        )
    chosen = [config.retriever(name) for name in retrievers] or list(config.retrievers)
    now = now or dt.datetime.now(dt.UTC)
    expires = (
        None
        if policy.expires_after_days is None
        else now + dt.timedelta(days=policy.expires_after_days)
    )
    names = [entry.name for entry in chosen]
    with catalog.connect() as connection:
        for run_id in run_ids:
            if retrievalruns.run_record(connection, run_id) is None:
                raise InputError(
                    f"no retrieval run {run_id!r}",
                    fix="run clearance eval --suites retrieval; its output names the run",
                )
        if run_ids:
            scores = retrievalruns.score_rows(connection, list(run_ids), names)
        else:
            latest = retrievalruns.latest_run_ids(connection, names)
            scores = retrievalruns.score_rows(connection, sorted(set(latest.values())), names)
            scores = [s for s in scores if latest.get(s.retriever) == s.run_id]
    verdicts = []
    user = decided_by or getpass.getuser()
    host = socket.gethostname()
    for entry in chosen:
        mine = [s for s in scores if s.retriever == entry.name]
        fingerprint = config_fingerprint(entry)
        changed = [s for s in mine if s.config_sha256 != fingerprint]
        if changed:
            verdict = RetrieverVerdict(
                entry.name,
                None,
                (),
                (
                    f"{entry.name} was scored as {dict(changed[0].config)} and is "
                    f"{config_document(entry)} now: run clearance eval --suites retrieval "
                    f"--retrievers {entry.name}",
                ),
                tuple(sorted({s.run_id for s in mine})),
            )
        else:
            verdict = decide_retriever(entry.name, mine, policy)
        if write and verdict.decision is not None:
            with catalog.begin() as connection:
                record_retriever_decision(
                    connection,
                    retriever=entry.name,
                    decision=verdict.decision,
                    reason="\n".join(verdict.reasons) or None,
                    checks=[check.to_json() for check in verdict.checks],
                    config=config_document(entry),
                    config_sha256=fingerprint,
                    policy_name=policy.name,
                    policy_path=None if policy.path is None else str(policy.path),
                    policy_hash=policy.source_hash,
                    run_ids=verdict.run_ids,
                    decided_by=user,
                    host=host,
                    decided_at=now,
                    expires_at=expires,
                )
        verdicts.append(verdict)
    return RetrievalGateRun(policy, tuple(verdicts), now, expires, write)


@dataclass(frozen=True, slots=True)
class RetrieverClearance:
    """Whether a retriever configuration may serve, and why."""

    retriever: str
    allows: bool
    label: Literal["enable", "disable", "inconclusive", "ungated", "expired", "changed"]
    detail: str
    decision: RetrieverDecisionRow | None = None


def retriever_clearance(
    entry: RetrieverConfig, decision: RetrieverDecisionRow | None, *, now: dt.datetime
) -> RetrieverClearance:
    """Whether ``entry`` is cleared by ``decision`` (its latest) at ``now``: only an
    ``enable``, not expired, taken on the configuration as it is now."""
    name = entry.name
    if decision is None:
        return RetrieverClearance(name, False, "ungated", f"{name} has no gate decision")
    if decision.config_sha256 != config_fingerprint(entry):
        return RetrieverClearance(
            name,
            False,
            "changed",
            f"{name} changed since the gate judged it on {decision.decided_at:%Y-%m-%d}",
            decision,
        )
    if decision.expires_at is not None and decision.expires_at <= now:
        return RetrieverClearance(
            name,
            False,
            "expired",
            f"{name}'s decision expired {decision.expires_at:%Y-%m-%d}",
            decision,
        )
    label: Literal["enable", "disable", "inconclusive"] = decision.decision  # type: ignore[assignment]
    return RetrieverClearance(
        name,
        label == "enable",
        label,
        f"{name}: {label} by the gate ({decision.policy_name}) on {decision.decided_at:%Y-%m-%d}",
        decision,
    )


def clearances(
    config: ClearanceConfig, catalog: Catalog, *, now: dt.datetime | None = None
) -> dict[str, RetrieverClearance]:
    """Every configured retriever's clearance, by name."""
    now = now or dt.datetime.now(dt.UTC)
    with catalog.connect() as connection:
        latest = latest_retriever_decisions(connection, [r.name for r in config.retrievers])
    return {
        entry.name: retriever_clearance(entry, latest.get(entry.name), now=now)
        for entry in config.retrievers
    }


class ClearedRetrievers:
    """Which retriever an org's knowledge is searched with: the org's configuration
    (``[knowledge] org_retrievers``, else ``default_retriever``), only while the retrieval
    gate clears it (:func:`retriever_clearance`). The router's seam
    (:meth:`clearance.router.Router.retriever_for`) asks :meth:`for_org`.

    The decisions are read at most once per ``ttl_s`` (the router's
    ``policy_cache_ttl_s``); each configuration is built once (a MiniLM embedder loads
    its weights once).
    """

    def __init__(
        self,
        config: ClearanceConfig,
        catalog: Catalog,
        *,
        ttl_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.ttl_s = ttl_s
        self._clock = clock
        self._now = now
        self._read_at: float | None = None
        self._states: dict[str, RetrieverClearance] = {}
        self._built: dict[str, ConfiguredRetriever] = {}

    def states(self) -> dict[str, RetrieverClearance]:
        """Every configured retriever's clearance (cached for ``ttl_s``)."""
        if self._read_at is None or self._clock() - self._read_at >= self.ttl_s:
            self._states = clearances(self.config, self.catalog, now=self._now())
            self._read_at = self._clock()
        return self._states

    def for_org(self, org_id: str) -> ConfiguredRetriever:
        """The cleared retriever of ``org_id``.

        Raises:
            RetrieverNotCleared: the org has no configuration, or its configuration is
                disabled, inconclusive, never judged, expired or changed since.
        """
        name = self.config.org_retriever(org_id)
        if name is None:
            raise RetrieverNotCleared(org_id, None, "none")
        state = self.states()[name]
        if not state.allows:
            raise RetrieverNotCleared(org_id, name, state.label)
        if name not in self._built:
            self._built[name] = build_retriever(self.config.retriever(name), self.catalog)
        return self._built[name]
