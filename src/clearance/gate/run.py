"""``clearance gate``'s work: judge the evaluated models and write the decisions back.

:func:`run_gate` reads stored eval results (the latest complete run, or the runs
named), checks that they were judged on the contracts and flows as they are now,
resolves the regression baseline, calls :func:`~clearance.gate.decide.decide`
for each model, and, unless asked not to, writes each decision with its
provenance into the catalog, where the policy resolver obeys it.

The outcome is a :class:`GateRun`: data for the terminal, JUnit XML and the
Markdown summary alike; its :attr:`GateRun.exit_code` is 0 when every required
model is enabled and 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import shlex
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearance.errors import ConfigError, InputError, UnknownModel
from clearance.gate.adaptive import decide_adaptive, rule_of_runs
from clearance.gate.decide import GateResult, decide
from clearance.gate.policy import GatePolicy, OnUnverified, load_policies, load_policy

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    from clearance.catalog.database import Catalog
    from clearance.catalog.gatestore import GateState, StaleMark
    from clearance.config import ClearanceConfig, Suite
    from clearance.evaluation.cases import SuiteSet
    from clearance.evaluation.results import ResultStore

__all__ = [
    "GateRun",
    "ModelVerdict",
    "current_hashes",
    "find_policy",
    "refresh_staleness",
    "run_gate",
    "snapshot_rules",
]


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """One model's gate outcome."""

    result: GateResult
    required: bool
    """Whether the gate's exit code depends on it."""
    baseline_id: str | None
    """The model it was compared with (``None``: no regression check)."""
    repro: tuple[str, ...]
    """Shell commands that reproduce the judged evidence and the decision locally."""
    state: GateState | None = None
    """The model's effective gate state after the decision was written (``None``: not
    written). An override in force can make it differ from the decision."""

    @property
    def model_id(self) -> str:
        return self.result.model_id

    @property
    def passed(self) -> bool:
        """The gate enabled it."""
        return self.result.decision == "enable"


@dataclass(frozen=True, slots=True)
class GateRun:
    """Everything one ``clearance gate`` found and did."""

    policy: GatePolicy
    run_ids: tuple[str, ...]
    verdicts: tuple[ModelVerdict, ...]
    decided_at: dt.datetime
    expires_at: dt.datetime | None
    written: bool
    """Whether the decisions were written to the catalog."""
    missing: tuple[str, ...] = ()
    """Required models with no results in the runs."""
    stale: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Models whose results were judged on contracts or flows that changed since,
    to what changed; no decision is made for them."""
    optional: tuple[str, ...] = ()
    """The models in ``stale`` the gate does not require (they do not fail it)."""

    @property
    def failed(self) -> tuple[ModelVerdict, ...]:
        """Required models the gate did not enable."""
        return tuple(v for v in self.verdicts if v.required and not v.passed)

    @property
    def exit_code(self) -> int:
        """0 when every required model is enabled; 1 otherwise."""
        stale_required = set(self.stale) - set(self.optional)
        return 1 if self.failed or self.missing or stale_required else 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "policy": {
                "name": self.policy.name,
                "path": None if self.policy.path is None else str(self.policy.path),
                "hash": self.policy.source_hash,
            },
            "run_ids": list(self.run_ids),
            "decided_at": self.decided_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "written": self.written,
            "exit_code": self.exit_code,
            "missing": list(self.missing),
            "stale": {model: list(changes) for model, changes in self.stale.items()},
            "models": [
                {
                    **verdict.result.to_json(),
                    "required": verdict.required,
                    "baseline": verdict.baseline_id,
                    "repro": list(verdict.repro),
                    "effective": None
                    if verdict.state is None
                    else {
                        "allows": verdict.state.allows,
                        "label": verdict.state.label,
                        "detail": verdict.state.detail,
                    },
                }
                for verdict in self.verdicts
            ],
        }


def find_policy(config: ClearanceConfig, name_or_path: str | None = None) -> GatePolicy:
    """The gate policy named (or at a path), else ``gate.policy`` from the configuration.

    Raises:
        ConfigError: a policy file that does not validate, or no policy by that name.
    """
    wanted = name_or_path or config.gate.policy
    as_path = Path(wanted)
    if as_path.suffix in (".yaml", ".yml"):
        path = as_path if as_path.is_absolute() else config.root / as_path
        if not path.is_file() and not as_path.is_absolute():
            path = Path.cwd() / as_path
        return load_policy(path)
    folder = config.root / config.gate.root
    policies = load_policies(folder)
    if wanted not in policies:
        known = ", ".join(sorted(policies)) or "none"
        raise ConfigError(
            f"no gate policy named {wanted!r} in {folder} (found: {known})",
            source=config.source,
            key="gate.policy",
            fix="pass --policy with one of those names or a YAML path, or fix [gate] policy",
        )
    return policies[wanted]


def _repro(model_id: str, cases: Sequence[str], policy: GatePolicy) -> tuple[str, ...]:
    model = shlex.quote(model_id)
    # the first 20 cases keep the command readable; the report lists every one
    selected = f" --cases {shlex.quote(','.join(cases[:20]))}" if cases else ""
    return (
        f"clearance eval --models {model}{selected} --record-mode none",
        f"clearance gate --policy {shlex.quote(policy.name)} --models {model} --dry-run",
    )


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _recordings(config: ClearanceConfig, cassettes: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in sorted(set(cassettes)):
        path = Path(name)
        digest = _sha256(path if path.is_absolute() else config.root / path)
        found[name] = digest or "missing"
    return found


def current_hashes(config: ClearanceConfig) -> tuple[dict[str, str], dict[str, str]]:
    """``case:ID`` and ``tool@version`` keys to their hash, as the files are now; and
    each tool's latest version (for readable stale reasons).

    Every suite that exists is read (the imported BFCL one only when its folder
    does), so a decision judged on any of them is compared with what it was judged on.

    Raises:
        ContractError: a contract or flow file that no longer loads.
    """
    from clearance.evaluation.cases import case_digest, load_suites

    suites: list[Suite] = ["contracts", "flows"]
    if config.bfcl_root().is_dir():
        suites.append("bfcl")
    current: dict[str, str] = {}
    latest: dict[str, Any] = {}
    for case in load_suites(config, suites).cases:
        current[f"case:{case.id}"] = case_digest(case)
        for contract in case.contracts:
            current[contract.key] = contract.content_hash
            if contract.name not in latest or contract.version > latest[contract.name]:
                latest[contract.name] = contract.version
    return current, {name: str(version) for name, version in latest.items()}


def snapshot_rules(config: ClearanceConfig) -> Callable[[str | None], OnUnverified]:
    """What a gate policy, by the name a decision recorded, says an unverified model
    snapshot does (``snapshots.on_unverified``).

    The policies are read from the gates folder on the first question. A name not there
    (the policy was renamed or removed since it decided, or there is no folder) gets the
    configured policy's rule; with no configured policy either, ``warn``.

    Raises:
        ConfigError: a policy file in the folder does not validate (on the first call).
    """
    rules: dict[str, OnUnverified] = {}
    fallback: list[OnUnverified] = []

    def rule(name: str | None) -> OnUnverified:
        if not fallback:
            folder = config.root / config.gate.root
            if folder.is_dir():
                for policy in load_policies(folder).values():
                    rules[policy.name] = policy.snapshots.on_unverified
            try:
                fallback.append(find_policy(config).snapshots.on_unverified)
            except ConfigError:
                fallback.append("warn")
        if name is not None and name in rules:
            return rules[name]
        return fallback[0]

    return rule


def refresh_staleness(config: ClearanceConfig, catalog: Catalog) -> list[StaleMark]:
    """Mark stale the gate decisions judged on contracts or cases that changed since.

    The policy resolver stops serving a model whose decision is stale (unless a
    person's override is in force); ``clearance contracts check`` and
    ``clearance gate`` call this, so a deploy that runs either keeps the catalog true.
    """
    from clearance.catalog.gatestore import mark_stale

    current, tools = current_hashes(config)
    with catalog.begin() as connection:
        return mark_stale(connection, current, tools=tools)


def _stale_rows(
    rows: pd.DataFrame,
    suite: SuiteSet,
    current: Mapping[str, str],
    judged_as: Mapping[str, Mapping[str, str]],
) -> tuple[str, ...]:
    """What changed since ``rows`` (one model's results) were judged.

    ``judged_as`` maps each run id to the case digests it stored when it ran (runs
    stored before digests were kept fall back to comparing contract versions).
    """
    cases = {case.id: case for case in suite.cases}
    changes: list[str] = []
    judged = rows[["run_id", "case_id", "contract_version"]].drop_duplicates()
    for run_id, case_id, version in zip(
        judged["run_id"], judged["case_id"], judged["contract_version"], strict=True
    ):
        case = cases.get(str(case_id))
        then = judged_as.get(str(run_id), {}).get(str(case_id))
        if case is None:
            changes.append(f"case {case_id} no longer exists")
        elif then is not None and current.get(f"case:{case_id}") != then:
            changes.append(
                f"case {case_id} changed since run {run_id} (its file or a contract it offers)"
            )
        elif version is not None and case.contract_version != version:
            changes.append(
                f"case {case_id} was judged on {case.tool}@{version}; "
                f"it is at {case.contract_version} now"
            )
    return tuple(dict.fromkeys(changes))


def _baseline(
    config: ClearanceConfig,
    catalog: Catalog,
    policy: GatePolicy,
    org_id: str | None,
    explicit: str | None,
) -> str | None:
    """The regression baseline's model id (``None``: no regression check can be made)."""
    from clearance.catalog.modelstore import resolve_model_id
    from clearance.catalog.orgstore import get_org
    from clearance.modelpolicy import org_default

    if policy.regression is None:
        return None
    wanted = explicit or policy.regression.baseline
    with catalog.connect() as connection:
        if wanted != "org_default":
            return resolve_model_id(connection, wanted, config.provider_names)
        if org_id is not None:
            org = get_org(connection, org_id)
            if org is None:
                raise InputError(
                    f"no org {org_id!r} in the catalog", fix="see `clearance orgs list`"
                )
            found = org_default(org)[0]
            if found is not None:
                return found
        default = config.policy.default_model
        if default is None:
            return None
        return resolve_model_id(connection, default, config.provider_names)


def _baseline_rows(
    store: ResultStore, frame: pd.DataFrame, baseline_id: str, run_ids: Sequence[str]
) -> pd.DataFrame:
    """The baseline's rows: from the judged runs, else its latest run that has any."""
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    if (frame["model_id"] == baseline_id).any():
        return frame
    other = store.results(model_id=baseline_id, evidence=False)
    if other.empty:
        return frame
    latest = other["run_id"].iloc[-1]
    has_rows = set(other["run_id"])
    for run in store.runs(limit=1000):  # newest first: its latest run with results
        if run.run_id in has_rows and run.run_id not in run_ids:
            latest = run.run_id
            break
    return pd.concat([frame, other[other["run_id"] == latest]], ignore_index=True)


def _required_model_id(
    connection: Any, config: ClearanceConfig, policy: GatePolicy, model: str
) -> str:
    """A ``required_models`` entry as a catalog id; an unknown one names the policy's file."""
    from clearance.catalog.modelstore import resolve_model_id

    try:
        return resolve_model_id(connection, model, config.provider_names)
    except UnknownModel as error:
        if error.ambiguous:
            raise
        where = str(policy.path) if policy.path is not None else f"policy {policy.name!r}"
        raise InputError(
            f"model {model!r}, in required_models of {where}, is not in the catalog",
            fix=f"remove it from required_models in {where} if this project does not gate it; "
            "else `clearance models sync` first (in CI: `clearance models sync --from` the "
            "committed snapshot)",
        ) from None


def run_gate(
    config: ClearanceConfig,
    catalog: Catalog,
    *,
    policy: GatePolicy,
    run_ids: Sequence[str] = (),
    models: Sequence[str] = (),
    org_id: str | None = None,
    baseline: str | None = None,
    require: Sequence[str] | None = None,
    write: bool = True,
    decided_by: str | None = None,
    now: dt.datetime | None = None,
) -> GateRun:
    """Judge each evaluated model against ``policy`` and (with ``write``) record it.

    Args:
        config: the configuration (contracts, gate settings, the platform default).
        catalog: where the results are read and the decisions written.
        policy: the bar.
        run_ids: the eval runs to judge (their results pooled); default: the latest
            complete run.
        models: the models to judge; default: every model in those runs.
        org_id: whose default model is the ``org_default`` baseline (default: the
            platform's ``policy.default_model``).
        baseline: a model id that replaces the policy's baseline.
        require: model ids that replace the policy's ``required_models``: the models
            whose decision the exit code (and the CI outputs' failures) answers for; every
            judged model is still decided and written the same way.
        write: write the decisions into the catalog (``False``: a dry run).
        decided_by: recorded with each decision (default: the user name).
        now: the decision time (tests).

    Raises:
        InputError: no eval run to judge, or an unknown run.
        ConfigError: contracts that no longer load.
    """
    if not policy.checks_models:
        where = str(policy.path) if policy.path is not None else f"policy {policy.name!r}"
        raise ConfigError(
            f"{where} checks retriever configurations only, so it cannot judge a model",
            source=where,
            key="retrieval",
            fix="run `clearance gate --retrieval` with it, or add model checks",
        )
    from clearance.catalog.gatestore import Provenance, mark_stale, record_decision
    from clearance.catalog.modelstore import resolve_model_id
    from clearance.config import SUITES
    from clearance.evaluation.cases import load_suites
    from clearance.evaluation.results import ResultStore

    store = ResultStore(catalog)
    chosen = tuple(dict.fromkeys(run_ids))
    if not chosen:
        latest = next(
            (run.run_id for run in store.runs(limit=1000) if run.status == "complete"), None
        )
        if latest is None:
            raise InputError(
                "there is no complete eval run to judge in the catalog",
                fix="run `clearance eval` (or `pytest evals`) first, or pass --run ID",
            )
        chosen = (latest,)
    records = []
    for run_id in chosen:
        record = store.run(run_id)
        if record is None:
            raise InputError(
                f"no eval run {run_id!r} in the catalog", fix="see `clearance runs list`"
            )
        records.append(record)
    frame = store.results(list(chosen), evidence=False)
    with catalog.connect() as connection:
        wanted = [resolve_model_id(connection, m, config.provider_names) for m in models]
        if require is None:
            required_ids = [
                _required_model_id(connection, config, policy, m) for m in policy.required_models
            ]
        else:
            required_ids = [resolve_model_id(connection, m, config.provider_names) for m in require]
    judged = wanted or sorted(str(m) for m in frame["model_id"].unique())
    suites = sorted({s for record in records for s in (record.suites or ()) if s in SUITES})
    suite = load_suites(config, suites or config.evals.suites)
    current, tools = current_hashes(config)
    baseline_id = _baseline(config, catalog, policy, org_id, baseline)
    if baseline_id is not None:
        frame = _baseline_rows(store, frame, baseline_id, chosen)

    judged_as = {
        record.run_id: dict((record.details or {}).get("case_digests") or {}) for record in records
    }
    rule = rule_of_runs([record.details for record in records])
    now = now or dt.datetime.now(dt.UTC)
    expires = (
        None
        if policy.expires_after_days is None
        else now + dt.timedelta(days=policy.expires_after_days)
    )
    if write:
        with catalog.begin() as connection:
            mark_stale(connection, current, tools=tools, now=now)
    if wanted:  # judging chosen models: the others' absence is not this gate's failure
        required = set(required_ids) & set(wanted) if required_ids else set(wanted)
    else:
        required = set(required_ids or judged)
    present = set(frame["model_id"].unique())
    missing = tuple(sorted(m for m in required if m not in present))
    stale: dict[str, tuple[str, ...]] = {}
    optional_stale: list[str] = []
    verdicts: list[ModelVerdict] = []
    user = decided_by or getpass.getuser()
    host = socket.gethostname()
    cases = {case.id: case for case in suite.cases}
    for model_id in judged:
        if model_id not in present:
            continue
        rows = frame[(frame["model_id"] == model_id) & frame["run_id"].isin(chosen)]
        changed = _stale_rows(rows, suite, current, judged_as)
        if changed:
            stale[model_id] = changed
            if model_id not in required:
                optional_stale.append(model_id)
            continue
        against = None if baseline_id == model_id else baseline_id
        if rule is None:
            result = decide(frame, policy, model_id=model_id, baseline_id=against)
        else:  # an adaptive run stopped on these levels: judge it on them (gate.adaptive)
            result = decide_adaptive(frame, policy, rule, model_id=model_id, baseline_id=against)
        failing = sorted({case for check in result.checks for case in check.cases})
        verdict = ModelVerdict(
            result=result,
            required=model_id in required,
            baseline_id=None if baseline_id == model_id else baseline_id,
            repro=_repro(model_id, failing, policy),
        )
        if write:
            used = [cases[str(c)] for c in rows["case_id"].unique() if str(c) in cases]
            hashes = {f"case:{c.id}": current[f"case:{c.id}"] for c in used}
            hashes.update({k.key: k.content_hash for c in used for k in c.contracts})
            provenance = Provenance(
                policy_name=policy.name,
                policy_hash=policy.source_hash,
                policy_path=None if policy.path is None else str(policy.path),
                eval_run_ids=chosen,
                contract_versions={k.name: str(k.version) for c in used for k in c.contracts},
                contract_hashes=hashes,
                recordings=_recordings(config, [str(c) for c in rows["cassette"].dropna()]),
                baseline_model=verdict.baseline_id,
                snapshots=result.snapshots,
            )
            with catalog.begin() as connection:
                state = record_decision(
                    connection,
                    model_id=model_id,
                    decision=result.decision,
                    reasons=result.reasons,
                    checks=result.to_json()["checks"],
                    provenance=provenance,
                    decided_by=user,
                    host=host,
                    decided_at=now,
                    expires_at=expires,
                    require_decision=config.gate.require_decision,
                )
            verdict = ModelVerdict(
                verdict.result, verdict.required, verdict.baseline_id, verdict.repro, state
            )
        verdicts.append(verdict)
    return GateRun(
        policy=policy,
        run_ids=chosen,
        verdicts=tuple(verdicts),
        decided_at=now,
        expires_at=expires,
        written=write,
        missing=missing,
        stale=stale,
        optional=tuple(sorted(optional_stale)),
    )
