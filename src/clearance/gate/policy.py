"""Gate policies: the bar a candidate model must clear, read from ``gates/*.yaml``.

This module only reads and validates the file (see ``gates/README.md`` for the
format); deciding enable / disable / inconclusive lives elsewhere in the gate.
Every problem is a :class:`~clearance.errors.ConfigError` naming the file, the
dotted key, the bad value (with its line) and the fix.

Numbers written in the file are read exactly: the YAML loader turns every float
into a :class:`~decimal.Decimal` of the written text, so ``0.1`` stays
``Decimal("0.1")`` for money, and rates become ``float`` only after that.
"""

from __future__ import annotations

import difflib
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from clearance.errors import ConfigError
from clearance.gate.stats import Method
from clearance.yamlfile import (
    RESERVED,
    Loc,
    at_line,
    lower_first,
    read_bytes,
    read_mapping,
    show_value,
    validate_file,
)

__all__ = [
    "GatePolicy",
    "OnUnverified",
    "RetrievalBar",
    "RetrievalChecks",
    "SnapshotRule",
    "load_policies",
    "load_policy",
    "policy_hash",
]

SKIPPED_FILES = frozenset({"slo.yaml", "slo.yml"})
"""Files in ``gates/`` that hold another format (the SLO policy) and are not gate policies."""

_README = "see gates/README.md for the format"


def _no_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; in a threshold that is always a slip.
    if isinstance(value, bool):
        raise ValueError("a number is required, not true/false")
    return value


def _exact_money(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("an amount is required, not true/false")
    if isinstance(value, float):  # built in code: read the float as it prints
        return Decimal(str(value))
    return value


Rate = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=1, allow_inf_nan=False)]
Level = Annotated[float, BeforeValidator(_no_bool), Field(gt=0.5, lt=1, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(_no_bool), Field(ge=1)]
Usd = Annotated[Decimal, BeforeValidator(_exact_money), Field(gt=0, allow_inf_nan=False)]


class _KeyedError(ValueError):
    """A cross-field problem that knows which key to blame."""

    def __init__(self, message: str, *, key: str, fix: str) -> None:
        super().__init__(message)
        self.key = key
        self.fix = fix


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Frozen):
    """A bar on the one-sided lower confidence bound of a pass rate."""

    min_lower_bound: Rate
    """The lower bound (at ``confidence``) of the pass rate must reach this."""


class Criticality(_Frozen):
    """Per tool criticality (as in the contract's ``criticality``); an omitted level is
    not checked."""

    critical: Threshold | None = None
    standard: Threshold | None = None


class PassHatK(_Frozen):
    """tau-bench's pass^k over all cases."""

    k: Count
    """Trials drawn per case; every one must pass."""
    min: Rate
    """Minimum pass^k (a point estimate, not a bound)."""


class Latency(_Frozen):
    """Latency bar."""

    p95_ms_max: Annotated[float, BeforeValidator(_no_bool), Field(gt=0, allow_inf_nan=False)]
    """Highest allowed 95th percentile latency of a call, in milliseconds."""


class Cost(_Frozen):
    """Cost bar."""

    per_successful_task_max_usd: Usd
    """Highest allowed spend (USD) divided by the number of passed tasks; exact decimal."""


class Regression(_Frozen):
    """Paired comparison against a baseline model."""

    baseline: str = Field(default="org_default", min_length=1)
    """``org_default`` (the org's current default model) or a model id."""
    max_drop: Rate = 0.05
    """The candidate's pass rate may be at most this much below the baseline's."""
    level: Level = 0.95
    """Confidence level of the non-inferiority test."""


OnUnverified = Literal["warn", "stale"]
"""What live traffic served by a snapshot no enabling decision was taken on does to that
decision: ``warn`` (``clearance slo check`` reports it) or ``stale`` (it also marks the
decision stale, so the router stops serving the model until it is verified again)."""


class SnapshotRule(_Frozen):
    """What an unverified model snapshot in live traffic does to a decision."""

    on_unverified: OnUnverified = "warn"
    """``warn``: reported by ``clearance slo check`` (exit 1); ``stale``: the decision is
    also marked stale, naming the snapshot."""


class RetrievalBar(_Frozen):
    """A bar on a retrieval metric's interval (from ``clearance eval --suites retrieval``)."""

    min_lower_bound: Rate
    """Enable when the interval's lower bound reaches this; disable when its upper bound
    is below it; otherwise inconclusive."""


class RetrievalChecks(_Frozen):
    """Bars a retriever configuration must clear on every labelled query set; an omitted
    metric is not checked."""

    recall_at_k: RetrievalBar | None = None
    """Mean recall at the configuration's ``k``."""
    mrr: RetrievalBar | None = None
    """Mean reciprocal rank of the first relevant document."""
    ndcg_at_10: RetrievalBar | None = None
    """Mean nDCG over the first 10 hits (graded relevance)."""

    def bars(self) -> dict[str, RetrievalBar]:
        """The metrics checked, by name, in a fixed order."""
        named = {"recall_at_k": self.recall_at_k, "mrr": self.mrr, "ndcg_at_10": self.ndcg_at_10}
        return {name: bar for name, bar in named.items() if bar is not None}


class GatePolicy(_Frozen):
    """One gate policy, as loaded by :func:`load_policy`.

    ``None`` for an optional section means that check is not made. ``path`` and
    ``source_hash`` are set by the loader (``None`` for a policy built in code);
    store ``source_hash`` with every decision so it traces to the bar it met.
    """

    version: Literal[1]
    """Format version; only 1 exists."""
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    """Unique among the policies in ``gates/``; the name ``clearance gate`` selects."""
    confidence: Level = 0.95
    """Level of the one-sided lower bounds (criticality, flows)."""
    interval: Method = "wilson"
    """How lower bounds are computed."""
    criticality: Criticality | None = None
    """Bars on tool cases, by the tool's criticality."""
    flows: Threshold | None = None
    """Bar on multi-turn flow cases."""
    pass_hat_k: PassHatK | None = None
    """Bar on pass^k over all cases."""
    min_trials_per_case: Count = 3
    """Fewer valid trials of a case than this makes the result inconclusive."""
    max_infra_error_share: Rate | None = None
    """Above this share of infra errors among trials, the result is inconclusive."""
    latency: Latency | None = None
    cost: Cost | None = None
    regression: Regression | None = None
    expires_after_days: Count | None = 30
    """A decision older than this many days no longer counts (``null``: never expires)."""
    required_models: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    """Models ``clearance gate`` must see pass; empty means every candidate evaluated."""
    snapshots: SnapshotRule = SnapshotRule()
    """What live traffic on a model snapshot the decision was not taken on does to it."""
    retrieval: RetrievalChecks | None = None
    """Bars on retriever configurations (``clearance gate --retrieval``)."""
    path: Path | None = None
    """The file it was read from."""
    source_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """SHA-256 (hex) of the file's exact bytes."""

    @model_validator(mode="after")
    def _consistent(self) -> GatePolicy:
        if self.pass_hat_k is not None and self.min_trials_per_case < self.pass_hat_k.k:
            raise _KeyedError(
                f"min_trials_per_case ({self.min_trials_per_case}) is below pass_hat_k.k "
                f"({self.pass_hat_k.k}), so pass^k would skip cases the gate accepts",
                key="min_trials_per_case",
                fix=f"raise min_trials_per_case to at least {self.pass_hat_k.k}, "
                "or lower pass_hat_k.k",
            )
        seen: set[str] = set()
        for model in self.required_models:
            if model in seen:
                raise _KeyedError(
                    f"model {model!r} is listed twice",
                    key="required_models",
                    fix="list each model once",
                )
            seen.add(model)
        if self.retrieval is not None and not self.retrieval.bars():
            raise _KeyedError(
                "retrieval checks nothing, so every retriever would pass",
                key="retrieval",
                fix="add at least one of recall_at_k, mrr, ndcg_at_10 with a min_lower_bound",
            )
        if not self.checks_models and self.retrieval is None:
            raise _KeyedError(
                "the policy checks nothing, so every model would pass",
                key="",
                fix="add at least one of criticality, flows, pass_hat_k, latency, cost, "
                "regression, retrieval",
            )
        return self

    @property
    def checks_models(self) -> bool:
        """Whether the policy has a check on models (a retrieval-only policy has none)."""
        checks = (
            self.criticality is not None
            and (self.criticality.critical is not None or self.criticality.standard is not None),
            self.flows,
            self.pass_hat_k,
            self.latency,
            self.cost,
            self.regression,
        )
        return any(check for check in checks)


# --- reading -----------------------------------------------------------------------------


def policy_hash(path: Path) -> str:
    """SHA-256 (hex) of the file's exact bytes.

    Raises:
        ConfigError: the file cannot be read.
    """
    return hashlib.sha256(read_bytes(path)).hexdigest()


def load_policy(path: Path) -> GatePolicy:
    """Read and validate one gate policy file.

    Raises:
        ConfigError: unreadable file, YAML syntax error, not a mapping, wrong
            version, unknown key, or a value out of range.
    """
    raw, data, lines = read_mapping(
        path, fix="write the policy as `key: value` lines starting with `version: 1`; " + _README
    )
    source = str(path)
    version = data.get("version")
    if type(version) is not int or version != 1:
        got = "missing" if "version" not in data else f"{show_value(version)} is not supported"
        raise ConfigError(
            f"version {got}" + at_line(lines, ("version",)),
            source=source,
            key="version",
            fix="write `version: 1` (the only format version)",
        )
    return validate_file(GatePolicy, data, path=path, raw=raw, lines=lines, explain=_explain)


def load_policies(folder: Path) -> dict[str, GatePolicy]:
    """Every policy in ``folder`` (``*.yaml``, ``*.yml``; not ``slo.yaml``), by name.

    Raises:
        ConfigError: the folder is missing, a file is invalid, or two files share a name.
    """
    if not folder.is_dir():
        raise ConfigError(
            "no such folder",
            source=str(folder),
            fix="run `clearance init` to write the default policies (it overwrites nothing), "
            "or set [gate] root to your gates folder",
        )
    files = sorted(
        file
        for pattern in ("*.yaml", "*.yml")
        for file in folder.glob(pattern)
        if file.is_file() and file.name not in SKIPPED_FILES
    )
    policies: dict[str, GatePolicy] = {}
    for file in files:
        policy = load_policy(file)
        if policy.name in policies:
            raise ConfigError(
                f"policy name {policy.name!r} is also used by {policies[policy.name].path}",
                source=str(file),
                key="name",
                fix="give each policy in the folder its own name",
            )
        policies[policy.name] = policy
    return policies


# --- explaining ----------------------------------------------------------------------------

_RATE_FIX = "write a rate between 0 and 1, e.g. 0.85"
_LEVEL_FIX = "write a level strictly between 0.5 and 1, e.g. 0.95"
_FIXES: dict[str, str] = {
    "name": "use letters, digits, '.', '_' or '-' (up to 64), starting with a letter or digit",
    "confidence": _LEVEL_FIX,
    "level": _LEVEL_FIX,
    "interval": "write wilson or clopper-pearson",
    "min_lower_bound": _RATE_FIX,
    "min": _RATE_FIX,
    "max_drop": _RATE_FIX,
    "max_infra_error_share": _RATE_FIX + " (omit it to not check infra errors)",
    "k": "write a whole number of at least 1, e.g. 3",
    "min_trials_per_case": "write a whole number of at least 1, e.g. 3",
    "expires_after_days": "write a whole number of days of at least 1, or null for never",
    "p95_ms_max": "write a positive number of milliseconds, e.g. 8000 (omit latency to not check)",
    "per_successful_task_max_usd": 'write a positive amount in USD, e.g. "0.05" '
    "(omit cost to not check)",
    "baseline": "write org_default or a model id",
    "required_models": "write a list of model ids, e.g. [openrouter:openai/gpt-4o]",
    "on_unverified": "write warn (report it) or stale (also mark the decision stale)",
}


def _explain(exc: ValidationError, source: str, lines: dict[Loc, int]) -> ConfigError:
    """Turn pydantic's first error into a message with the key, value, line and fix.

    An unknown key goes first: a misspelt key also makes its right name missing.
    """
    errors = exc.errors(include_url=False)
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: Loc = tuple(error["loc"])
    key = ".".join(map(str, loc)) or None
    kind = error["type"]
    if kind == "extra_forbidden":
        known = [name for name in _model_at(loc[:-1]).model_fields if name not in RESERVED]
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return ConfigError(
            f"unknown key {loc[-1]!r}" + at_line(lines, loc), source=source, key=key, fix=fix
        )
    if kind == "value_error" and isinstance(error.get("ctx", {}).get("error"), _KeyedError):
        keyed: _KeyedError = error["ctx"]["error"]
        kloc: Loc = tuple(keyed.key.split(".")) if keyed.key else ()
        where = at_line(lines, kloc) if kloc else ""
        return ConfigError(str(keyed) + where, source=source, key=keyed.key or None, fix=keyed.fix)
    if kind == "missing":
        return ConfigError(
            "required key is missing" + at_line(lines, loc[:-1]),
            source=source,
            key=key,
            fix=f"add {loc[-1]}: " + _FIXES.get(str(loc[-1]), _README),
        )
    if kind in ("model_type", "model_attributes_type"):
        return ConfigError(
            f"got {show_value(error['input'])}, expected a mapping of keys" + at_line(lines, loc),
            source=source,
            key=key,
            fix=f"write it as `{loc[-1]}: {{key: value}}`; {_README}",
        )
    leaf = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    fix = _FIXES.get(leaf, _README)
    if kind == "literal_error" and isinstance(error["input"], str):
        expected = [str(v) for v in _literal_choices(loc)]
        close = difflib.get_close_matches(error["input"], expected, n=1)
        if close:
            fix = f"did you mean {close[0]!r}?"
    message = (
        f"got {show_value(error['input'])}" + at_line(lines, loc) + f": {lower_first(error['msg'])}"
    )
    return ConfigError(message, source=source, key=key, fix=fix)


def _model_at(loc: Loc) -> type[BaseModel]:
    model: type[BaseModel] = GatePolicy
    for part in loc:
        if isinstance(part, int):
            continue
        model = _unwrap(model.model_fields[part].annotation)
    return model


def _unwrap(annotation: Any) -> type[BaseModel]:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    raise TypeError(f"no model in {annotation!r}")  # pragma: no cover - models only nest models


def _literal_choices(loc: Loc) -> tuple[Any, ...]:
    try:
        annotation = _model_at(loc[:-1]).model_fields[str(loc[-1])].annotation
    except (KeyError, TypeError):
        return ()
    return tuple(getattr(annotation, "__args__", ()))
