"""The SLO objectives file, ``gates/slo.yaml``: what live traffic must meet.

Format (version 1)::

    version: 1
    window: 1h            # default window of `clearance slo check`
    min_calls: 20         # fewer in a group: insufficient_data, not a breach
    group_by: [model]     # [model], [org], [model, org], or [] for the whole platform
    objectives:
      - {metric: error_rate, max: 0.02}
      - {metric: spend_usd, max: "50", orgs: [acme]}   # optional: models, orgs, min_calls
    retrieval:            # optional: objectives on knowledge retrievals (``retrievals``)
      group_by: [retriever]   # [retriever], [org], [org, retriever], or []
      min_retrievals: 20
      objectives:
        - {metric: empty_result_rate, max: 0.1}   # optional: orgs, retrievers, min_retrievals

Every metric is defined once, in :data:`METRICS` (calls) or :data:`RETRIEVAL_METRICS`
(retrievals). A threshold is read exactly (the
YAML loader turns a float into the :class:`~decimal.Decimal` of its text). Every
problem is a :class:`~clearance.errors.ConfigError` naming the file, the dotted key,
the bad value with its line, and the fix.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from clearance.errors import ConfigError, InputError

# The YAML reading (exact decimals, key lines, duplicate keys) is shared with gate policies.
from clearance.yamlfile import (
    at_line,
    lower_first,
    read_mapping,
    show_value,
    validate_file,
)

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "RETRIEVAL_DIMENSIONS",
    "RETRIEVAL_METRICS",
    "Dimension",
    "Metric",
    "MetricInfo",
    "Objective",
    "RetrievalDimension",
    "RetrievalMetric",
    "RetrievalObjective",
    "RetrievalObjectives",
    "SloPolicy",
    "format_duration",
    "load_slo_policy",
    "parse_duration",
    "regroup",
    "slo_path",
]

Dimension = Literal["model", "org"]
"""What calls are grouped by: ``model`` (the served model, else the requested one), ``org``."""
DIMENSIONS: tuple[Dimension, ...] = ("model", "org")

Metric = Literal[
    "tool_success_rate",
    "fallback_rate",
    "error_rate",
    "escalation_rate",
    "p50_latency_ms",
    "p95_latency_ms",
    "avg_cost_per_message_usd",
    "spend_usd",
]

RetrievalDimension = Literal["org", "retriever"]
"""What retrievals are grouped by: ``org`` (the knowledge base's org), ``retriever`` (the
retriever configuration's name, as logged)."""
RETRIEVAL_DIMENSIONS: tuple[RetrievalDimension, ...] = ("org", "retriever")

RetrievalMetric = Literal[
    "empty_result_rate",
    "truncation_rate",
    "error_rate",
    "p50_latency_ms",
    "p95_latency_ms",
]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """One metric: its unit, which way is better, and its definition."""

    name: Metric | RetrievalMetric
    unit: Literal["rate", "ms", "usd"]
    """``rate``: a share in [0, 1]; ``ms``: milliseconds; ``usd``: exact Decimal dollars."""
    bound: Literal["min", "max"]
    """The only direction an objective may take (``min`` for higher-is-better)."""
    definition: str
    """Numerator / denominator in words; the denominator is the sample size ``n``."""
    uses_min_calls: bool = True
    """``spend_usd`` is a budget: a small group that overspends has still overspent."""


METRICS: Mapping[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo(
            "tool_success_rate",
            "rate",
            "min",
            "tool calls whose arguments satisfied the schema sent / tool calls made",
        ),
        MetricInfo(
            "fallback_rate",
            "rate",
            "max",
            "served calls the policy routed to the model that a fallback answered / served "
            "calls routed to it (counted for the model that failed over, not the rescuer)",
        ),
        MetricInfo(
            "error_rate",
            "rate",
            "max",
            "calls that failed on every attempt / calls attempted (refusals excluded)",
        ),
        MetricInfo(
            "escalation_rate",
            "rate",
            "max",
            "served calls flagged for human hand-off / served calls",
        ),
        MetricInfo(
            "p50_latency_ms",
            "ms",
            "max",
            "median latency of served calls (percentile_cont), milliseconds",
        ),
        MetricInfo(
            "p95_latency_ms",
            "ms",
            "max",
            "95th percentile latency of served calls (percentile_cont), milliseconds",
        ),
        MetricInfo(
            "avg_cost_per_message_usd",
            "usd",
            "max",
            "spend / served calls, USD (an unpriced served call counts as 0)",
        ),
        MetricInfo(
            "spend_usd",
            "usd",
            "max",
            "sum of the cost of every call in the window, USD (calls without usage priced from "
            "estimated tokens included, and shown apart)",
            uses_min_calls=False,
        ),
    )
}

RETRIEVAL_METRICS: Mapping[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo(
            "empty_result_rate",
            "rate",
            "max",
            "retrievals that found nothing (no chunk injected, none cut by the budget) / "
            "retrievals that did not fail",
        ),
        MetricInfo(
            "truncation_rate",
            "rate",
            "max",
            "retrievals whose context the token budget cut / retrievals that did not fail",
        ),
        MetricInfo(
            "error_rate",
            "rate",
            "max",
            "retrievals that failed (the call went without context) / retrievals",
        ),
        MetricInfo(
            "p50_latency_ms",
            "ms",
            "max",
            "median latency of retrievals that did not fail (search and budget, "
            "percentile_cont), milliseconds",
        ),
        MetricInfo(
            "p95_latency_ms",
            "ms",
            "max",
            "95th percentile latency of retrievals that did not fail (search and budget, "
            "percentile_cont), milliseconds",
        ),
    )
}
"""The retrieval metrics, read from the ``retrievals`` table (one row per retrieval the
router made for a call with knowledge)."""

# --- durations -----------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)([smhdw])")
_DURATION_FIX = "write a whole number and a unit (s, m, h, d, w), e.g. 15m, 1h, 24h, 7d"


def _duration_or_reason(text: str) -> dt.timedelta | str:
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned or _DURATION.sub("", cleaned):
        return f"{text!r} is not a duration"
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(cleaned))
    if seconds <= 0:
        return f"{text!r} is not a positive duration"
    return dt.timedelta(seconds=seconds)


def parse_duration(text: str, *, where: str = "duration") -> dt.timedelta:
    """A duration such as ``15m``, ``1h``, ``24h``, ``7d`` or ``1h30m``.

    Raises:
        InputError: the text is not a positive duration (the message names ``where``).
    """
    parsed = _duration_or_reason(text)
    if isinstance(parsed, str):
        raise InputError(f"{where}: {parsed}", fix=_DURATION_FIX)
    return parsed


def format_duration(value: dt.timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back (``90m`` -> ``1h30m``)."""
    seconds = int(value.total_seconds())
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# --- the file ------------------------------------------------------------------------------


class _Problem(ValueError):
    """A validation problem that knows its fix (and, for a model check, its key)."""

    def __init__(self, message: str, *, fix: str, key: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix
        self.key = key


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise _Problem("a number is required, not true/false", fix="write a number")
    return value


def _exact(value: Any) -> Any:
    value = _no_bool(value)
    if isinstance(value, float):  # built in code: read the float as it prints
        return Decimal(str(value))
    return value


def _window(value: Any) -> Any:
    if isinstance(value, dt.timedelta):
        return value
    if not isinstance(value, str):
        raise _Problem(f"got {show_value(value)}, not a duration", fix=_DURATION_FIX)
    parsed = _duration_or_reason(value)
    if isinstance(parsed, str):
        raise _Problem(parsed, fix=_DURATION_FIX)
    return parsed


Threshold = Annotated[Decimal, BeforeValidator(_exact), Field(allow_inf_nan=False)]
Names = tuple[Annotated[str, Field(min_length=1)], ...]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_bound(info: MetricInfo, low: Decimal | None, high: Decimal | None) -> None:
    """One bound, in the metric's direction and range."""
    other = "max" if info.bound == "min" else "min"
    if (high if other == "max" else low) is not None:
        better = "higher" if info.bound == "min" else "lower"
        raise _Problem(
            f"{info.name} is better {better}, so it takes {info.bound}, not {other}",
            key=other,
            fix=f"write {info.bound}: instead of {other}:",
        )
    bound = low if info.bound == "min" else high
    if bound is None:
        raise _Problem(
            f"no threshold for {info.name}",
            key=info.bound,
            fix=f"add {info.bound}: {_EXAMPLE[info.unit]}",
        )
    if info.unit == "rate" and not 0 <= bound <= 1:
        raise _Problem(
            f"got {bound}: a rate is between 0 and 1", key=info.bound, fix=_FIX[info.unit]
        )
    if info.unit == "ms" and bound <= 0:
        raise _Problem(
            f"got {bound}: a latency bound is positive", key=info.bound, fix=_FIX[info.unit]
        )
    if info.unit == "usd" and bound < 0:
        raise _Problem(
            f"got {bound}: an amount is not negative", key=info.bound, fix=_FIX[info.unit]
        )


def _check_names(*lists: tuple[str, tuple[str, ...]]) -> None:
    for key, names in lists:
        if len(set(names)) != len(names):
            raise _Problem(f"a name is listed twice in {key}", key=key, fix="list each once")


def _unknown_metric(value: Any, known: Mapping[str, MetricInfo]) -> Any:
    if isinstance(value, str) and value not in known:
        close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.5)
        raise _Problem(
            f"unknown metric {value!r}",
            fix=f"did you mean {close[0]!r}?" if close else f"known metrics: {', '.join(known)}",
        )
    return value


class Objective(_Frozen):
    """One objective: a bound on one metric, for every group or for the ones named."""

    metric: Metric
    min: Threshold | None = None
    """Lower bound (``tool_success_rate``): measured below it is a breach."""
    max: Threshold | None = None
    """Upper bound (every other metric): measured above it is a breach."""
    models: Names = ()
    """Only these models (ids as logged, ``PROVIDER:NAME``); empty: every model."""
    orgs: Names = ()
    """Only these orgs; empty: every org."""
    min_calls: Annotated[int, BeforeValidator(_no_bool), Field(ge=1)] | None = None
    """Overrides the file's ``min_calls`` for this objective."""

    @field_validator("metric", mode="before")
    @classmethod
    def _known_metric(cls, value: Any) -> Any:
        return _unknown_metric(value, METRICS)

    @model_validator(mode="after")
    def _one_bound(self) -> Objective:
        _check_bound(METRICS[self.metric], self.min, self.max)
        _check_names(("models", self.models), ("orgs", self.orgs))
        return self

    @property
    def info(self) -> MetricInfo:
        """The metric's definition."""
        return METRICS[self.metric]

    @property
    def threshold(self) -> Decimal | None:
        """The bound, whichever direction it takes."""
        return self.min if self.info.bound == "min" else self.max

    @property
    def label(self) -> str:
        """``error_rate <= 0.02`` (with the model and org filters, if any)."""
        text = f"{self.metric} {'>=' if self.info.bound == 'min' else '<='} {self.threshold}"
        if self.models:
            text += f" [models: {', '.join(self.models)}]"
        if self.orgs:
            text += f" [orgs: {', '.join(self.orgs)}]"
        return text

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (thresholds as exact strings)."""
        return {
            "metric": self.metric,
            "bound": self.info.bound,
            "threshold": str(self.threshold),
            "models": list(self.models),
            "orgs": list(self.orgs),
            "min_calls": self.min_calls,
            "label": self.label,
        }


_EXAMPLE = {"rate": "0.02", "ms": "8000", "usd": '"0.02"'}
_FIX = {
    "rate": "write a rate between 0 and 1, e.g. 0.02",
    "ms": "write a positive number of milliseconds, e.g. 8000",
    "usd": 'write an amount in USD, quoted to keep it exact, e.g. "0.02"',
}


class RetrievalObjective(_Frozen):
    """One objective on knowledge retrievals: a bound on one retrieval metric."""

    metric: RetrievalMetric
    max: Threshold | None = None
    """Upper bound (every retrieval metric is better lower): measured above it is a breach."""
    min: Threshold | None = None
    """Never valid (kept so that ``min:`` gets the same clear error as for calls)."""
    orgs: Names = ()
    """Only these orgs; empty: every org."""
    retrievers: Names = ()
    """Only these retriever configurations (names as logged); empty: every one."""
    min_retrievals: Annotated[int, BeforeValidator(_no_bool), Field(ge=1)] | None = None
    """Overrides the section's ``min_retrievals`` for this objective."""

    @field_validator("metric", mode="before")
    @classmethod
    def _known_metric(cls, value: Any) -> Any:
        return _unknown_metric(value, RETRIEVAL_METRICS)

    @model_validator(mode="after")
    def _one_bound(self) -> RetrievalObjective:
        _check_bound(RETRIEVAL_METRICS[self.metric], self.min, self.max)
        _check_names(("orgs", self.orgs), ("retrievers", self.retrievers))
        return self

    @property
    def info(self) -> MetricInfo:
        """The metric's definition."""
        return RETRIEVAL_METRICS[self.metric]

    @property
    def threshold(self) -> Decimal:
        """The bound (``max``: set, or the file would not have validated)."""
        assert self.max is not None
        return self.max

    @property
    def label(self) -> str:
        """``empty_result_rate <= 0.1`` (with the org and retriever filters, if any)."""
        text = f"{self.metric} <= {self.threshold}"
        if self.orgs:
            text += f" [orgs: {', '.join(self.orgs)}]"
        if self.retrievers:
            text += f" [retrievers: {', '.join(self.retrievers)}]"
        return text

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (thresholds as exact strings)."""
        return {
            "metric": self.metric,
            "bound": "max",
            "threshold": str(self.threshold),
            "orgs": list(self.orgs),
            "retrievers": list(self.retrievers),
            "min_retrievals": self.min_retrievals,
            "label": self.label,
        }


class RetrievalObjectives(_Frozen):
    """The ``retrieval:`` section: objectives on the ``retrievals`` table, judged over the
    same window as the call objectives."""

    group_by: tuple[RetrievalDimension, ...] = ("retriever",)
    """Dimensions of a group; ``[]`` judges every retrieval as one group."""
    min_retrievals: Annotated[int, BeforeValidator(_no_bool), Field(ge=1)] = 20
    """Fewer than this in a group (the metric's denominator): insufficient_data."""
    objectives: tuple[RetrievalObjective, ...] = Field(min_length=1)

    @field_validator("group_by", mode="before")
    @classmethod
    def _dimensions(cls, value: Any) -> Any:
        return _dimensions_of(value, RETRIEVAL_DIMENSIONS, "[retriever], [org], [org, retriever]")

    @model_validator(mode="after")
    def _filters_fit_the_groups(self) -> RetrievalObjectives:
        for index, objective in enumerate(self.objectives):
            for key, dimension in (("orgs", "org"), ("retrievers", "retriever")):
                if getattr(objective, key) and dimension not in self.group_by:
                    raise _Problem(
                        f"objective {index} names {key}, but groups are not by {dimension}",
                        key=f"objectives.{index}.{key}",
                        fix=f"add {dimension} to group_by, or remove {key} from the objective",
                    )
        return self

    @property
    def group_label(self) -> str:
        """``retriever``, ``org``, ``org+retriever`` or ``all``."""
        return "+".join(self.group_by) or "all"


def _dimensions_of(value: Any, known: tuple[str, ...], choices: str) -> Any:
    """``group_by`` as a tuple in ``known``'s order (``a+b`` text or a list)."""
    if isinstance(value, str):  # `group_by: model+org` or `group_by: model`
        value = [part.strip() for part in value.split("+")]
    if isinstance(value, list | tuple):
        if len(set(value)) != len(value):
            raise _Problem("a dimension is listed twice", fix="list each dimension once")
        unknown = [v for v in value if v not in known]
        if unknown:
            raise _Problem(
                f"unknown dimension {show_value(unknown[0])}",
                fix=f"group by {choices}, or [] for the whole platform",
            )
        return tuple(d for d in known if d in value)
    return value


class SloPolicy(_Frozen):
    """The objectives file, as loaded by :func:`load_slo_policy`."""

    version: Literal[1]
    """Format version; only 1 exists."""
    window: Annotated[dt.timedelta, BeforeValidator(_window)] = dt.timedelta(hours=1)
    """Default window of ``clearance slo check`` (``1h``, ``24h``, ``7d``, ...)."""
    min_calls: Annotated[int, BeforeValidator(_no_bool), Field(ge=1)] = 20
    """Fewer than this in a group (the metric's denominator): insufficient_data."""
    group_by: tuple[Dimension, ...] = ("model",)
    """Dimensions of a group; ``[]`` judges the whole platform as one group."""
    objectives: tuple[Objective, ...] = Field(min_length=1)
    retrieval: RetrievalObjectives | None = None
    """Objectives on knowledge retrievals (``None``: none declared)."""
    path: Path | None = None
    """The file it was read from (set by the loader)."""
    source_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """SHA-256 (hex) of the file's exact bytes (set by the loader)."""

    @field_validator("group_by", mode="before")
    @classmethod
    def _dimensions(cls, value: Any) -> Any:
        return _dimensions_of(value, DIMENSIONS, "[model], [org], [model, org]")

    @model_validator(mode="after")
    def _filters_fit_the_groups(self) -> SloPolicy:
        for index, objective in enumerate(self.objectives):
            for key, dimension in (("models", "model"), ("orgs", "org")):
                if getattr(objective, key) and dimension not in self.group_by:
                    raise _Problem(
                        f"objective {index} names {key}, but groups are not by {dimension}",
                        key=f"objectives.{index}.{key}",
                        fix=f"add {dimension} to group_by, or remove {key} from the objective",
                    )
        return self

    @property
    def group_label(self) -> str:
        """``model``, ``org``, ``model+org`` or ``all``."""
        return "+".join(self.group_by) or "all"


def regroup(policy: SloPolicy, by: str, *, where: str = "--by") -> SloPolicy:
    """``policy`` with its groups by ``model``, ``org``, ``model+org`` or ``all`` instead.

    Raises:
        InputError: an unknown dimension, or an objective that filters on a dimension
            the new groups lack.
    """
    dimensions: list[str] = [] if by.strip() == "all" else [d.strip() for d in by.split("+")]
    fields = {name: getattr(policy, name) for name in type(policy).model_fields}
    try:
        return SloPolicy.model_validate({**fields, "group_by": dimensions})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        problem = error.get("ctx", {}).get("error")
        fix = getattr(problem, "fix", None) or "use model, org, model+org or all"
        message = lower_first(str(problem or error["msg"]))
        raise InputError(f"{where} {by}: {message}", fix=fix) from None


def slo_path(root: Path, gates: str = "gates") -> Path:
    """Where the objectives file lives: ``<project root>/<gate.root>/slo.yaml``."""
    return (root / gates / "slo.yaml").resolve()


def load_slo_policy(path: Path) -> SloPolicy:
    """Read and validate the objectives file.

    Raises:
        ConfigError: unreadable file, YAML syntax error, not a mapping, wrong version,
            unknown key or metric, a bound in the wrong direction or out of range, a
            bad duration, or a filter on a dimension the groups lack.
    """
    raw, data, lines = read_mapping(
        path, fix="write `version: 1`, then `objectives:` as a list of {metric: ..., max: ...}"
    )
    return validate_file(SloPolicy, data, path=path, raw=raw, lines=lines, explain=_explain)


def _section(loc: tuple[str | int, ...]) -> type[BaseModel]:
    """The model that holds the keys at ``loc``."""
    if loc[:1] == ("retrieval",):
        return RetrievalObjective if "objectives" in loc else RetrievalObjectives
    return Objective if "objectives" in loc else SloPolicy


_KEY_FIXES = {
    "version": "write `version: 1` (the only format version)",
    "min_calls": "write a whole number of at least 1, e.g. 20",
    "objectives": "write a list of objectives, e.g. [{metric: error_rate, max: 0.02}]",
    "models": "write a list of model ids, e.g. [openrouter:openai/gpt-4o]",
    "orgs": "write a list of org ids, e.g. [acme]",
    "metric": f"write one of {', '.join(METRICS)}",
    "group_by": "group by [model], [org], [model, org], or [] for the whole platform",
    "min_retrievals": "write a whole number of at least 1, e.g. 20",
    "retrievers": "write a list of retriever configuration names, e.g. [lexical]",
    "retrieval": "write a mapping: {min_retrievals: 20, objectives: [...]}",
}


def _explain(exc: ValidationError, source: str, lines: dict[Any, int]) -> ConfigError:
    """pydantic's first error as a message with the key, the value, its line and the fix."""
    errors = exc.errors(include_url=False)
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: tuple[str | int, ...] = tuple(error["loc"])
    key = ".".join(map(str, loc)) or None
    kind = error["type"]
    if kind == "extra_forbidden":
        model: type[BaseModel] = _section(loc[:-1])
        known = [name for name in model.model_fields if name not in ("path", "source_hash")]
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return ConfigError(
            f"unknown key {loc[-1]!r}" + at_line(lines, loc),
            source=source,
            key=key,
            fix=f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}",
        )
    problem = error.get("ctx", {}).get("error")
    if isinstance(problem, _Problem):
        if problem.key is not None:
            loc = (*loc, *problem.key.split(".")) if loc else tuple(problem.key.split("."))
            loc = tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in loc)
            key = ".".join(map(str, loc))
        return ConfigError(
            str(problem) + at_line(lines, loc), source=source, key=key, fix=problem.fix
        )
    leaf = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    fix = _KEY_FIXES.get(leaf, "see the comments in gates/slo.yaml for the format")
    if kind == "missing":
        return ConfigError(
            "required key is missing" + at_line(lines, loc[:-1]),
            source=source,
            key=key,
            fix=f"add {leaf}: ({fix})",
        )
    message = (
        f"got {show_value(error['input'])}" + at_line(lines, loc) + f": {lower_first(error['msg'])}"
    )
    return ConfigError(message, source=source, key=key, fix=fix)
