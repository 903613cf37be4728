"""``clearance contracts check``: what CI runs on every pull request.

It fails when a contract or flow file is invalid; when a contract changed while
its version did not; when a new version's bump is smaller than its changes
require; when the lock does not match the files; and when a flow is passed by a
negative control (so it cannot tell a good model from a bad one). It also says
which stored eval results and gate decisions a change makes stale. For each provider
profile linted, it lowers every contract (:mod:`clearance.providers.lowering`) and
reports what the lowering drops or changes as facts (:attr:`CheckReport.lowering`), and
the lint of the schema *as sent* as warnings: what lowering cannot fix.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clearance.contracts.bump import diff_contracts
from clearance.contracts.loader import load_contracts
from clearance.contracts.lock import Lock, document_hash, read_document, read_lock
from clearance.contracts.lowered import LoweringReport, lower_contract
from clearance.contracts.model import ContractSet, ToolContract
from clearance.errors import ContractError

if TYPE_CHECKING:
    from clearance.contracts.cache import ProbeCache

__all__ = ["CheckFinding", "CheckReport", "build_lock", "check_contracts", "load_all"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class CheckFinding:
    """One thing ``contracts check`` found."""

    severity: Severity
    code: str
    """``invalid_file``, ``changed_without_bump``, ``bump_too_small``, ``version_downgrade``,
    ``lock_missing``, ``lock_stale``, ``flow_broken``, ``diff_disagreement``, ``lint``,
    ``acknowledgement_unused``."""
    subject: str
    """The contract (``name@version``), flow id or file concerned."""
    message: str
    fix: str | None = None
    rule: str | None = None
    """For ``lint``: the lint rule id (``gemini/format``)."""
    pointer: str | None = None
    """For ``lint``: the JSON pointer of the finding in the contract document."""
    acknowledgement: str | None = None
    """For an acknowledged ``lint`` finding: the reason given in
    ``lint-acknowledgements.yaml``."""

    @property
    def acknowledged(self) -> bool:
        """Whether the project accepts this finding by design (it is counted, not shown)."""
        return self.acknowledgement is not None

    @property
    def group(self) -> str:
        """What findings are grouped by when shown: the lint rule, else the code."""
        return self.rule or self.code


@dataclass(slots=True)
class CheckReport:
    """Everything ``contracts check`` found, as data."""

    findings: list[CheckFinding] = field(default_factory=list)
    contracts: int = 0
    flows: int = 0
    stale_results: dict[str, int] = field(default_factory=dict)
    """``name@version`` -> stored eval results recorded against it that a newer version
    (or an in-place change) makes stale."""
    stale_decisions: list[dict[str, Any]] = field(default_factory=list)
    probes_run: int = 0
    """Second-opinion probes computed in this check."""
    probes_cached: int = 0
    """Second-opinion probes answered from ``.clearance/cache/probes.json``."""
    lowering: list[LoweringReport] = field(default_factory=list)
    """Each contract lowered for each linted profile that lost something: facts about
    what is sent, not findings."""

    @property
    def ok(self) -> bool:
        """No error finding."""
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[CheckFinding]:
        """The error findings."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[CheckFinding]:
        """The warning findings not acknowledged."""
        return [f for f in self.findings if f.severity == "warning" and not f.acknowledged]

    @property
    def acknowledged(self) -> list[CheckFinding]:
        """The findings ``lint-acknowledgements.yaml`` accepts by design."""
        return [f for f in self.findings if f.acknowledged]

    def add(
        self, severity: Severity, code: str, subject: str, message: str, fix: str | None = None
    ) -> None:
        """Record a finding."""
        self.findings.append(CheckFinding(severity, code, subject, message, fix))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: every finding, the acknowledged ones included (flagged)."""
        return {
            "ok": self.ok,
            "contracts": self.contracts,
            "flows": self.flows,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "acknowledged": len(self.acknowledged),
            "findings": [
                {
                    "severity": f.severity,
                    "code": f.code,
                    "subject": f.subject,
                    "message": f.message,
                    "fix": f.fix,
                    "rule": f.rule,
                    "pointer": f.pointer,
                    "acknowledged": f.acknowledged,
                    "acknowledgement": f.acknowledgement,
                }
                for f in self.findings
            ],
            "stale_results": self.stale_results,
            "stale_decisions": self.stale_decisions,
            "probes": {"run": self.probes_run, "cached": self.probes_cached},
            "lowering": [
                {
                    "contract": r.contract_key,
                    "profile": r.profile,
                    "losses": [loss.as_dict() for loss in r.lowered.losses],
                }
                for r in self.lowering
            ],
        }


def load_all(root: Path) -> tuple[ContractSet, list[Any], list[ContractError]]:
    """Contracts and flows under ``root``, with every file error collected (not raised)."""
    from clearance.flows import load_flow

    contracts, errors = load_contracts(root, collect=True)
    flows: list[Any] = []
    for path in sorted((root / "flows").glob("*")) if (root / "flows").is_dir() else []:
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            flows.append(load_flow(path, known_tools=lambda key: _known(contracts, key)))
        except ContractError as error:
            errors.append(error)
    return contracts, flows, errors


def _known(contracts: ContractSet, key: str) -> bool:
    """Whether a contract ``name@version`` exists (``get`` answers ``None`` when not)."""
    name, _, version = key.partition("@")
    return contracts.get(name, version) is not None


def build_lock(root: Path) -> Lock:
    """The lock the files under ``root`` call for.

    Raises:
        ContractError: a file is invalid (a lock is never written over broken files).
    """
    contracts, flows, errors = load_all(root)
    if errors:
        raise errors[0]
    return Lock.build(
        ((c.name, str(c.version), c.content_hash, c.criticality) for c in contracts),
        ((flow.id, document_hash(read_document(Path(flow.path)))) for flow in flows),
    )


def _schemas(contracts: ContractSet, keys: Sequence[str]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for key in keys:
        contract = contracts.resolve(key)
        schemas[contract.name] = contract.input_schema
    return schemas


def check_contracts(
    root: Path,
    *,
    lint_profiles: Sequence[str] = (),
    catalog: Any = None,
    probe: bool = True,
    cache_dir: Path | None = None,
) -> CheckReport:
    """Check every contract and flow under ``root`` against the lock and each other.

    Args:
        root: the contracts folder.
        lint_profiles: provider families each contract is lowered for: the losses are
            reported as facts, the lint of the lowered schema as warnings.
        catalog: when given, stored eval results and gate decisions a change makes stale
            are looked up in it.
        probe: run the hypothesis second opinion on version diffs.
        cache_dir: where the loaded suite and the probes' answers are kept between runs
            (see :mod:`clearance.contracts.cache`); ``None`` loads and probes afresh.
    """
    from clearance.contracts.cache import ProbeCache, load_suite

    report = CheckReport()
    if cache_dir is not None:
        loaded = load_suite(root, cache_dir)
        contracts, flows, errors = loaded.contracts, loaded.flows, loaded.errors
    else:
        contracts, flows, errors = load_all(root)
    for error in errors:
        report.add("error", "invalid_file", error.path, error.message, error.fix)
    report.contracts = len(list(contracts))
    report.flows = len(flows)
    changed: set[str] = set()
    probes = ProbeCache(cache_dir)
    _check_versions(contracts, report, probe=probe, probe_cache=probes)
    probes.save()
    report.probes_run, report.probes_cached = probes.misses, probes.hits
    lock = read_lock(root)
    if lock is None:
        report.add(
            "error",
            "lock_missing",
            str(root / "contracts.lock"),
            "there is no contracts.lock",
            "run `clearance contracts lock` and commit it",
        )
    else:
        # a flow file that does not load is reported as invalid, not as missing
        invalid = frozenset(Path(error.path).stem for error in errors)
        changed = _check_lock(contracts, flows, lock, report, invalid_flows=invalid)
    _check_controls(contracts, flows, report)
    _lint(root, contracts, tuple(lint_profiles), report)
    if catalog is not None:
        _stale(contracts, changed, catalog, report)
    return report


def _lint(
    root: Path, contracts: ContractSet, profiles: tuple[str, ...], report: CheckReport
) -> None:
    """Each contract lowered for each profile: the losses kept as facts, the lint of the
    schema as sent as warnings (those acknowledged by design are marked)."""
    from clearance.contracts.acknowledgements import read_acknowledgements

    try:
        acknowledgements = read_acknowledgements(root)
    except ContractError as error:
        report.add("error", "invalid_file", error.path, error.message, error.fix)
        acknowledgements = ()
    used: set[int] = set()
    for contract in contracts:
        for profile in profiles:
            lowered = lower_contract(contract, profile)
            if lowered.lowered.losses:
                report.lowering.append(lowered)
            for finding in lowered.findings:
                index = next((i for i, a in enumerate(acknowledgements) if a.covers(finding)), None)
                if index is not None:
                    used.add(index)
                report.findings.append(
                    CheckFinding(
                        "warning",
                        "lint",
                        contract.key,
                        f"{finding.profile} (as sent): {finding.pointer}: {finding.message}",
                        finding.fix,
                        rule=finding.rule,
                        pointer=finding.pointer,
                        acknowledgement=None if index is None else acknowledgements[index].reason,
                    )
                )
    for index, acknowledgement in enumerate(acknowledgements):
        if index not in used and acknowledgement.profile in profiles:
            report.add(
                "warning",
                "acknowledgement_unused",
                acknowledgement.where,
                f"the acknowledgement of {acknowledgement.rule} for "
                f"{', '.join(acknowledgement.tools)} matches no finding",
                "remove it (the contracts it was for were fixed or removed, or lowering "
                "now sends them in a form the provider takes)",
            )


def _document(contract: ToolContract) -> Any:
    return read_document(contract.path)


def _check_versions(
    contracts: ContractSet, report: CheckReport, *, probe: bool, probe_cache: ProbeCache
) -> None:
    """Each version against the one before it: the bump must cover the changes."""
    names = sorted({c.name for c in contracts})
    for name in names:
        versions = contracts.versions(name)
        for older, newer in itertools.pairwise(versions):
            # A quick second opinion in CI; `contracts diff` runs the full probe.
            diff = diff_contracts(
                _document(older),
                _document(newer),
                probe=probe,
                probe_examples=30,
                probe_budget_s=0.5,
                probe_cache=probe_cache,
            )
            if not diff.ok:
                kinds = ", ".join(
                    sorted({c.kind for c in diff.changes if c.breaking})
                ) or ", ".join(sorted({c.kind for c in diff.changes}))
                report.add(
                    "error",
                    "bump_too_small",
                    newer.key,
                    f"{older.version} -> {newer.version} is a {diff.actual_bump} bump, but the "
                    f"changes ({kinds}) need a {diff.required_bump} bump",
                    f"renumber {newer.path.name} to the next {diff.required_bump} version, or "
                    f"see `clearance contracts diff {name} {older.version} {newer.version}`",
                )
            for disagreement in diff.disagreements:
                report.add("warning", "diff_disagreement", newer.key, disagreement)


def _check_lock(
    contracts: ContractSet,
    flows: Sequence[Any],
    lock: Lock,
    report: CheckReport,
    *,
    invalid_flows: frozenset[str] = frozenset(),
) -> set[str]:
    """Files against the lock; returns the contract keys that changed in place."""
    changed: set[str] = set()
    present: set[tuple[str, str]] = set()
    for contract in contracts:
        key = (contract.name, str(contract.version))
        present.add(key)
        locked = lock.tools.get(key)
        if locked is None:
            report.add(
                "error",
                "lock_stale",
                contract.key,
                f"{contract.key} is not in contracts.lock",
                "run `clearance contracts lock` and commit the lock with the new file",
            )
        elif locked.hash != contract.content_hash:
            changed.add(contract.key)
            later = [v for v in contracts.versions(contract.name) if v.version > contract.version]
            hint = (
                f"a newer version ({later[-1].version}) exists: change that one instead"
                if later
                else "copy it to a new version file (a patch for a description change, minor "
                "for a widening, major for a breaking change: `clearance contracts diff` tells)"
            )
            report.add(
                "error",
                "changed_without_bump",
                contract.key,
                f"{contract.path} changed but its version did not",
                hint,
            )
    for key in sorted(set(lock.tools) - present):
        report.add(
            "error",
            "lock_stale",
            f"{key[0]}@{key[1]}",
            f"contracts.lock lists {key[0]}@{key[1]}, which no file defines",
            "run `clearance contracts lock` (or restore the file: removing a version "
            "breaks every flow and eval that used it)",
        )
    flow_ids = set()
    for flow in flows:
        flow_ids.add(flow.id)
        digest = document_hash(read_document(Path(flow.path)))
        if lock.flows.get(flow.id) != digest:
            report.add(
                "error",
                "lock_stale",
                flow.id,
                f"flow {flow.id} is "
                + ("new" if flow.id not in lock.flows else "changed")
                + " since contracts.lock was written",
                "run `clearance contracts lock` and commit it (recordings of this flow "
                "need re-recording)",
            )
    for flow_id in sorted(set(lock.flows) - flow_ids - invalid_flows):
        report.add(
            "error",
            "lock_stale",
            flow_id,
            f"contracts.lock lists flow {flow_id}, which no file defines",
            "run `clearance contracts lock`",
        )
    return changed


def _check_controls(contracts: ContractSet, flows: Sequence[Any], report: CheckReport) -> None:
    from clearance.flows import check_controls

    for flow in flows:
        try:
            schemas = _schemas(contracts, flow.tools)
        except (KeyError, ContractError):
            continue  # already reported as an invalid flow
        control = check_controls(flow, schemas)
        if control.broken:
            report.add(
                "error",
                "flow_broken",
                flow.id,
                f"flow {flow.id} is passed by the negative control(s) "
                f"{', '.join(control.passed_by)}, so it cannot tell a good model from a bad one",
                "make its expectations specific: required argument values, or a final answer "
                "that depends on a tool result",
            )


def _stale(contracts: ContractSet, changed: set[str], catalog: Any, report: CheckReport) -> None:
    """Stored eval results and gate decisions judged against versions that are not current."""
    from clearance.catalog.gatestore import judged_decisions
    from clearance.catalog.runstore import ResultStore

    latest = {c.name: str(contracts.latest(c.name).version) for c in contracts}
    counts = ResultStore(catalog).counts_by_contract()
    with catalog.connect() as connection:
        decisions = judged_decisions(connection)
    for (tool, version), count in counts.items():
        key = f"{tool}@{version}"
        if (tool in latest and version != latest[tool]) or key in changed:
            report.stale_results[key] = count
    for decision in decisions:
        versions = decision.contract_versions
        stale = {
            tool: version
            for tool, version in versions.items()
            if (tool in latest and version != latest[tool]) or f"{tool}@{version}" in changed
        }
        if stale:
            report.stale_decisions.append(
                {
                    "id": decision.id,
                    "model": decision.model_id,
                    "decided_at": decision.decided_at.isoformat(),
                    "stale_contracts": stale,
                }
            )
