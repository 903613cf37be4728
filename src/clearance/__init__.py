"""clearance: evaluation and release gating for LLM-backed products.

The public API is :data:`__all__`: every function and class a program calls, every type
those calls take or return, and every error they raise (all of :mod:`clearance.errors`).
Names are imported on first use, so ``import clearance`` stays cheap (no SQLAlchemy, no
pydantic, no network) until a program touches what it needs.

Families with many members of their own are exported by their subpackage:
:mod:`clearance.evaluation` (the eval engine), :mod:`clearance.gate`,
:mod:`clearance.slo`, :mod:`clearance.reports`, :mod:`clearance.flows`,
:mod:`clearance.contracts`, :mod:`clearance.providers` and
:mod:`clearance.catalog_snapshot`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearance._lazy import homes, lazy_exports

__version__ = "0.1.0.dev0"

# The one list of exports: module -> the names it gives the package. ``__all__`` and the
# lazy ``__getattr__`` below are derived from it. Each module is the name's public home
# (it lists the name in its own ``__all__``), not necessarily where it is defined.
_EXPORTS: dict[str, tuple[str, ...]] = {
    # every error a caller may catch (all of clearance.errors.__all__)
    "clearance.errors": (
        "AuthenticationFailed",
        "BadRequest",
        "BrokenCassette",
        "CatalogError",
        "CatalogUnavailable",
        "ClearanceError",
        "ConfigError",
        "ContentPolicyViolation",
        "ContextLengthExceeded",
        "ContractError",
        "DiscoverySourceError",
        "InputError",
        "InvalidEndpoint",
        "InvalidIdentifier",
        "InvalidModelId",
        "InvalidPrice",
        "InvalidShard",
        "InvalidUsage",
        "KillSwitchActive",
        "KnowledgeOrgMismatch",
        "MalformedResponse",
        "MissingApiKey",
        "MissingPrice",
        "MissingRecording",
        "ModelNotFound",
        "NoModelAvailable",
        "PaymentRequired",
        "PolicyRefusal",
        "PricingError",
        "ProviderConnectionError",
        "ProviderError",
        "ProviderHTTPError",
        "ProviderProtocolError",
        "ProviderServerError",
        "ProviderTimeout",
        "RateLimited",
        "RecordedProviderFailure",
        "RecordingError",
        "RecordingMismatch",
        "RetrievalFailed",
        "RetrieverNotCleared",
        "RunSpecMismatch",
        "SourceFormatError",
        "StaleRecording",
        "UnknownModel",
        "UnknownOrg",
        "UnknownRun",
        "UnplayedRecording",
    ),
    # configuration, and the sections a ClearanceConfig holds
    "clearance.config": (
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
        "Tier",
        "load_config",
    ),
    # model ids
    "clearance.modelid": ("ModelId", "parse_model_id"),
    # the catalog: the database, its models and what reading it returns
    "clearance.catalog.database": ("Catalog", "open_catalog"),
    "clearance.catalog.modelstore": ("ModelEntry", "SyncReport"),
    "clearance.catalog.pricestore": ("PriceVersion",),
    "clearance.catalog.gatestore": ("DecisionRow", "GateState", "StaleMark"),
    # catalog snapshots (clearance models export / sync --from)
    "clearance.catalog_snapshot": (
        "CatalogSnapshot",
        "export_snapshot",
        "parse_snapshot",
        "restore_snapshot",
    ),
    # project scaffold (clearance init)
    "clearance.scaffold": ("InitReport", "ProviderSpec", "init_project"),
    # discovery
    "clearance.discovery": ("DiscoveredModel", "ModelList", "fetch_model_list", "read_model_list"),
    # pricing
    "clearance.pricing": (
        "CallCost",
        "DefaultPriceWarning",
        "Price",
        "PriceRates",
        "PriceTier",
        "PricingSource",
        "Usage",
        "compute_cost",
        "price_call",
        "price_call_strict",
    ),
    # the model policy
    "clearance.modelpolicy": (
        "ModelState",
        "OrgPolicy",
        "PolicySnapshot",
        "Rejection",
        "RouteDecision",
        "RouteRequest",
        "SessionPin",
        "resolve_model",
    ),
    # the router: what it takes, returns and checks first
    "clearance.router": ("Router", "RouterResult"),
    "clearance.retryplan": ("Attempt",),
    "clearance.providers.types": ("ChatResponse", "FinishReason", "NativeTurn", "ToolCall"),
    "clearance.killswitch": ("KillSwitch",),
    "clearance.calllog": ("CallLog", "CallRecord", "EscalationOutcome", "flag_escalation"),
    # a call's knowledge: what it asks for and what retrieval injected (Router.complete)
    "clearance.knowledge": (
        "BudgetedContext",
        "Chunk",
        "Hit",
        "Knowledge",
        "Retrieval",
        "Retriever",
    ),
    # evaluation (clearance.evaluation exports the whole engine)
    "clearance.evaluation.cases": ("EvalCase", "SuiteSet", "load_suites"),
    "clearance.evaluation.engine": ("EvalItem", "Evaluation", "RunOutcome", "TrialOutcome"),
    "clearance.evaluation.results": ("ItemResult", "ResultStore", "RunRecord", "RunSpec"),
    "clearance.evaluation.metrics": ("ModelSummary", "Summary", "pass_hat_k", "summarize"),
    "clearance.evaluation.recording": ("CassetteLibrary", "RecordingTransport"),
    "clearance.evaluation.audit": ("audit_cassettes",),
    # the gate, reports, SLOs
    "clearance.gate.policy": ("GatePolicy", "load_policy"),
    "clearance.gate.decide": ("GateResult", "decide"),
    "clearance.gate.run": ("GateRun", "ModelVerdict", "run_gate"),
    "clearance.reports.collect": ("ReportData", "collect_report"),
    "clearance.reports.render": ("ReportFiles", "write_report"),
    "clearance.slo.objectives": ("SloPolicy", "load_slo_policy"),
    "clearance.slo.aggregate": ("CallFilter",),
    "clearance.slo.check": ("SloReport", "check_slos"),
}

# Hidden from type checkers, which read the imports at the end instead: the ``Any`` its
# ``__getattr__`` returns would let a misspelt or missing name through unnoticed.
_HOME = homes(_EXPORTS)

__all__ = sorted(_HOME)

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports("clearance", _HOME, globals())


# For type checkers and IDEs, which follow only static imports: the same names, from the
# same modules, as ``_EXPORTS``. The one list written twice, on purpose: a type checker
# cannot see through ``__getattr__`` and reads an ``__all__`` only when it is a literal
# list, so no form of the mapping reaches it, and importing the names for real would make
# ``import clearance`` load everything. ``X as X`` marks each name as re-exported to a
# strict checker (a user's ``--strict`` included). tests/test_public_api.py fails when
# this block and ``_EXPORTS`` differ, and prints the block to paste.
if TYPE_CHECKING:  # pragma: no cover
    from clearance.calllog import CallLog as CallLog
    from clearance.calllog import CallRecord as CallRecord
    from clearance.calllog import EscalationOutcome as EscalationOutcome
    from clearance.calllog import flag_escalation as flag_escalation
    from clearance.catalog.database import Catalog as Catalog
    from clearance.catalog.database import open_catalog as open_catalog
    from clearance.catalog.gatestore import DecisionRow as DecisionRow
    from clearance.catalog.gatestore import GateState as GateState
    from clearance.catalog.gatestore import StaleMark as StaleMark
    from clearance.catalog.modelstore import ModelEntry as ModelEntry
    from clearance.catalog.modelstore import SyncReport as SyncReport
    from clearance.catalog.pricestore import PriceVersion as PriceVersion
    from clearance.catalog_snapshot import CatalogSnapshot as CatalogSnapshot
    from clearance.catalog_snapshot import export_snapshot as export_snapshot
    from clearance.catalog_snapshot import parse_snapshot as parse_snapshot
    from clearance.catalog_snapshot import restore_snapshot as restore_snapshot
    from clearance.config import CallLogConfig as CallLogConfig
    from clearance.config import CatalogConfig as CatalogConfig
    from clearance.config import ClearanceConfig as ClearanceConfig
    from clearance.config import ContractsConfig as ContractsConfig
    from clearance.config import EvalsConfig as EvalsConfig
    from clearance.config import GateConfig as GateConfig
    from clearance.config import KillSwitchConfig as KillSwitchConfig
    from clearance.config import KnowledgeConfig as KnowledgeConfig
    from clearance.config import PolicyConfig as PolicyConfig
    from clearance.config import PricingConfig as PricingConfig
    from clearance.config import ProviderConfig as ProviderConfig
    from clearance.config import RetrievalSetConfig as RetrievalSetConfig
    from clearance.config import RetrieverConfig as RetrieverConfig
    from clearance.config import RouterConfig as RouterConfig
    from clearance.config import Tier as Tier
    from clearance.config import load_config as load_config
    from clearance.discovery import DiscoveredModel as DiscoveredModel
    from clearance.discovery import ModelList as ModelList
    from clearance.discovery import fetch_model_list as fetch_model_list
    from clearance.discovery import read_model_list as read_model_list
    from clearance.errors import AuthenticationFailed as AuthenticationFailed
    from clearance.errors import BadRequest as BadRequest
    from clearance.errors import BrokenCassette as BrokenCassette
    from clearance.errors import CatalogError as CatalogError
    from clearance.errors import CatalogUnavailable as CatalogUnavailable
    from clearance.errors import ClearanceError as ClearanceError
    from clearance.errors import ConfigError as ConfigError
    from clearance.errors import ContentPolicyViolation as ContentPolicyViolation
    from clearance.errors import ContextLengthExceeded as ContextLengthExceeded
    from clearance.errors import ContractError as ContractError
    from clearance.errors import DiscoverySourceError as DiscoverySourceError
    from clearance.errors import InputError as InputError
    from clearance.errors import InvalidEndpoint as InvalidEndpoint
    from clearance.errors import InvalidIdentifier as InvalidIdentifier
    from clearance.errors import InvalidModelId as InvalidModelId
    from clearance.errors import InvalidPrice as InvalidPrice
    from clearance.errors import InvalidShard as InvalidShard
    from clearance.errors import InvalidUsage as InvalidUsage
    from clearance.errors import KillSwitchActive as KillSwitchActive
    from clearance.errors import KnowledgeOrgMismatch as KnowledgeOrgMismatch
    from clearance.errors import MalformedResponse as MalformedResponse
    from clearance.errors import MissingApiKey as MissingApiKey
    from clearance.errors import MissingPrice as MissingPrice
    from clearance.errors import MissingRecording as MissingRecording
    from clearance.errors import ModelNotFound as ModelNotFound
    from clearance.errors import NoModelAvailable as NoModelAvailable
    from clearance.errors import PaymentRequired as PaymentRequired
    from clearance.errors import PolicyRefusal as PolicyRefusal
    from clearance.errors import PricingError as PricingError
    from clearance.errors import ProviderConnectionError as ProviderConnectionError
    from clearance.errors import ProviderError as ProviderError
    from clearance.errors import ProviderHTTPError as ProviderHTTPError
    from clearance.errors import ProviderProtocolError as ProviderProtocolError
    from clearance.errors import ProviderServerError as ProviderServerError
    from clearance.errors import ProviderTimeout as ProviderTimeout
    from clearance.errors import RateLimited as RateLimited
    from clearance.errors import RecordedProviderFailure as RecordedProviderFailure
    from clearance.errors import RecordingError as RecordingError
    from clearance.errors import RecordingMismatch as RecordingMismatch
    from clearance.errors import RetrievalFailed as RetrievalFailed
    from clearance.errors import RetrieverNotCleared as RetrieverNotCleared
    from clearance.errors import RunSpecMismatch as RunSpecMismatch
    from clearance.errors import SourceFormatError as SourceFormatError
    from clearance.errors import StaleRecording as StaleRecording
    from clearance.errors import UnknownModel as UnknownModel
    from clearance.errors import UnknownOrg as UnknownOrg
    from clearance.errors import UnknownRun as UnknownRun
    from clearance.errors import UnplayedRecording as UnplayedRecording
    from clearance.evaluation.audit import audit_cassettes as audit_cassettes
    from clearance.evaluation.cases import EvalCase as EvalCase
    from clearance.evaluation.cases import SuiteSet as SuiteSet
    from clearance.evaluation.cases import load_suites as load_suites
    from clearance.evaluation.engine import EvalItem as EvalItem
    from clearance.evaluation.engine import Evaluation as Evaluation
    from clearance.evaluation.engine import RunOutcome as RunOutcome
    from clearance.evaluation.engine import TrialOutcome as TrialOutcome
    from clearance.evaluation.metrics import ModelSummary as ModelSummary
    from clearance.evaluation.metrics import Summary as Summary
    from clearance.evaluation.metrics import pass_hat_k as pass_hat_k
    from clearance.evaluation.metrics import summarize as summarize
    from clearance.evaluation.recording import CassetteLibrary as CassetteLibrary
    from clearance.evaluation.recording import RecordingTransport as RecordingTransport
    from clearance.evaluation.results import ItemResult as ItemResult
    from clearance.evaluation.results import ResultStore as ResultStore
    from clearance.evaluation.results import RunRecord as RunRecord
    from clearance.evaluation.results import RunSpec as RunSpec
    from clearance.gate.decide import GateResult as GateResult
    from clearance.gate.decide import decide as decide
    from clearance.gate.policy import GatePolicy as GatePolicy
    from clearance.gate.policy import load_policy as load_policy
    from clearance.gate.run import GateRun as GateRun
    from clearance.gate.run import ModelVerdict as ModelVerdict
    from clearance.gate.run import run_gate as run_gate
    from clearance.killswitch import KillSwitch as KillSwitch
    from clearance.knowledge import BudgetedContext as BudgetedContext
    from clearance.knowledge import Chunk as Chunk
    from clearance.knowledge import Hit as Hit
    from clearance.knowledge import Knowledge as Knowledge
    from clearance.knowledge import Retrieval as Retrieval
    from clearance.knowledge import Retriever as Retriever
    from clearance.modelid import ModelId as ModelId
    from clearance.modelid import parse_model_id as parse_model_id
    from clearance.modelpolicy import ModelState as ModelState
    from clearance.modelpolicy import OrgPolicy as OrgPolicy
    from clearance.modelpolicy import PolicySnapshot as PolicySnapshot
    from clearance.modelpolicy import Rejection as Rejection
    from clearance.modelpolicy import RouteDecision as RouteDecision
    from clearance.modelpolicy import RouteRequest as RouteRequest
    from clearance.modelpolicy import SessionPin as SessionPin
    from clearance.modelpolicy import resolve_model as resolve_model
    from clearance.pricing import CallCost as CallCost
    from clearance.pricing import DefaultPriceWarning as DefaultPriceWarning
    from clearance.pricing import Price as Price
    from clearance.pricing import PriceRates as PriceRates
    from clearance.pricing import PriceTier as PriceTier
    from clearance.pricing import PricingSource as PricingSource
    from clearance.pricing import Usage as Usage
    from clearance.pricing import compute_cost as compute_cost
    from clearance.pricing import price_call as price_call
    from clearance.pricing import price_call_strict as price_call_strict
    from clearance.providers.types import ChatResponse as ChatResponse
    from clearance.providers.types import FinishReason as FinishReason
    from clearance.providers.types import NativeTurn as NativeTurn
    from clearance.providers.types import ToolCall as ToolCall
    from clearance.reports.collect import ReportData as ReportData
    from clearance.reports.collect import collect_report as collect_report
    from clearance.reports.render import ReportFiles as ReportFiles
    from clearance.reports.render import write_report as write_report
    from clearance.retryplan import Attempt as Attempt
    from clearance.router import Router as Router
    from clearance.router import RouterResult as RouterResult
    from clearance.scaffold import InitReport as InitReport
    from clearance.scaffold import ProviderSpec as ProviderSpec
    from clearance.scaffold import init_project as init_project
    from clearance.slo.aggregate import CallFilter as CallFilter
    from clearance.slo.check import SloReport as SloReport
    from clearance.slo.check import check_slos as check_slos
    from clearance.slo.objectives import SloPolicy as SloPolicy
    from clearance.slo.objectives import load_slo_policy as load_slo_policy
