"""clearance: evaluation and release gating for LLM-backed products.

The public API is :data:`__all__`. Names are imported on first use, so
``import clearance`` stays cheap (no SQLAlchemy, no pydantic, no network)
until a program touches what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

_EXPORTS: dict[str, str] = {
    # errors
    "CatalogError": "clearance.errors",
    "CatalogUnavailable": "clearance.errors",
    "ClearanceError": "clearance.errors",
    "ConfigError": "clearance.errors",
    "DiscoverySourceError": "clearance.errors",
    "InputError": "clearance.errors",
    "InvalidIdentifier": "clearance.errors",
    "InvalidModelId": "clearance.errors",
    "InvalidUsage": "clearance.errors",
    "MissingApiKey": "clearance.errors",
    "MissingPrice": "clearance.errors",
    "NoModelAvailable": "clearance.errors",
    "PolicyRefusal": "clearance.errors",
    "PricingError": "clearance.errors",
    # provider failures a call can end with (transport and deadline)
    "InvalidEndpoint": "clearance.errors",
    "MalformedResponse": "clearance.errors",
    "ProviderConnectionError": "clearance.errors",
    "ProviderError": "clearance.errors",
    "ProviderProtocolError": "clearance.errors",
    "ProviderTimeout": "clearance.errors",
    "SourceFormatError": "clearance.errors",
    "UnknownModel": "clearance.errors",
    "UnknownOrg": "clearance.errors",
    # configuration
    "ClearanceConfig": "clearance.config",
    "ProviderConfig": "clearance.config",
    "load_config": "clearance.config",
    # model ids
    "ModelId": "clearance.modelid",
    "parse_model_id": "clearance.modelid",
    # catalog
    "Catalog": "clearance.catalog.database",
    "ModelEntry": "clearance.catalog.modelstore",
    "open_catalog": "clearance.catalog.database",
    # catalog snapshots (clearance models export / sync --from)
    "CatalogSnapshot": "clearance.catalog_snapshot",
    "export_snapshot": "clearance.catalog_snapshot",
    "parse_snapshot": "clearance.catalog_snapshot",
    "restore_snapshot": "clearance.catalog_snapshot",
    # project scaffold (clearance init)
    "InitReport": "clearance.scaffold",
    "ProviderSpec": "clearance.scaffold",
    "init_project": "clearance.scaffold",
    # discovery
    "DiscoveredModel": "clearance.discovery",
    "ModelList": "clearance.discovery",
    "fetch_model_list": "clearance.discovery",
    "read_model_list": "clearance.discovery",
    # pricing
    "CallCost": "clearance.pricing",
    "DefaultPriceWarning": "clearance.pricing",
    "Price": "clearance.pricing",
    "PriceRates": "clearance.pricing",
    "PriceTier": "clearance.pricing",
    "Usage": "clearance.pricing",
    "compute_cost": "clearance.pricing",
    "price_call": "clearance.pricing",
    "price_call_strict": "clearance.pricing",
    # policy
    "ModelState": "clearance.modelpolicy",
    "OrgPolicy": "clearance.modelpolicy",
    "PolicySnapshot": "clearance.modelpolicy",
    "Rejection": "clearance.modelpolicy",
    "RouteDecision": "clearance.modelpolicy",
    "RouteRequest": "clearance.modelpolicy",
    "SessionPin": "clearance.modelpolicy",
    "resolve_model": "clearance.modelpolicy",
    "BrokenCassette": "clearance.errors",
    "MissingRecording": "clearance.errors",
    "RecordedProviderFailure": "clearance.errors",
    "RecordingError": "clearance.errors",
    "RecordingMismatch": "clearance.errors",
    "StaleRecording": "clearance.errors",
    "UnplayedRecording": "clearance.errors",
    "RunSpecMismatch": "clearance.errors",
    "InvalidShard": "clearance.errors",
    "UnknownRun": "clearance.errors",
    # evaluation
    "EvalCase": "clearance.evaluation.cases",
    "SuiteSet": "clearance.evaluation.cases",
    "load_suites": "clearance.evaluation.cases",
    "Evaluation": "clearance.evaluation.engine",
    "EvalItem": "clearance.evaluation.engine",
    "TrialOutcome": "clearance.evaluation.engine",
    "RunOutcome": "clearance.evaluation.engine",
    "ItemResult": "clearance.evaluation.results",
    "ResultStore": "clearance.evaluation.results",
    "RunSpec": "clearance.evaluation.results",
    "RunRecord": "clearance.evaluation.results",
    "Summary": "clearance.evaluation.metrics",
    "ModelSummary": "clearance.evaluation.metrics",
    "summarize": "clearance.evaluation.metrics",
    "pass_hat_k": "clearance.evaluation.metrics",
    "CassetteLibrary": "clearance.evaluation.recording",
    "RecordingTransport": "clearance.evaluation.recording",
    "audit_cassettes": "clearance.evaluation.audit",
    # gate, reports, SLOs, router
    "GatePolicy": "clearance.gate.policy",
    "load_policy": "clearance.gate.policy",
    "GateResult": "clearance.gate.decide",
    "decide": "clearance.gate.decide",
    "GateRun": "clearance.gate.run",
    "run_gate": "clearance.gate.run",
    "ReportData": "clearance.reports.collect",
    "collect_report": "clearance.reports.collect",
    "ReportFiles": "clearance.reports.render",
    "write_report": "clearance.reports.render",
    "SloPolicy": "clearance.slo.objectives",
    "load_slo_policy": "clearance.slo.objectives",
    "CallFilter": "clearance.slo.aggregate",
    "SloReport": "clearance.slo.check",
    "check_slos": "clearance.slo.check",
    "Router": "clearance.router",
    "flag_escalation": "clearance.calllog",
}

__all__ = [
    "BrokenCassette",
    "CallCost",
    "CallFilter",
    "CassetteLibrary",
    "Catalog",
    "CatalogError",
    "CatalogSnapshot",
    "CatalogUnavailable",
    "ClearanceConfig",
    "ClearanceError",
    "ConfigError",
    "DefaultPriceWarning",
    "DiscoveredModel",
    "DiscoverySourceError",
    "EvalCase",
    "EvalItem",
    "Evaluation",
    "GatePolicy",
    "GateResult",
    "GateRun",
    "InitReport",
    "InputError",
    "InvalidEndpoint",
    "InvalidIdentifier",
    "InvalidModelId",
    "InvalidShard",
    "InvalidUsage",
    "ItemResult",
    "MalformedResponse",
    "MissingApiKey",
    "MissingPrice",
    "MissingRecording",
    "ModelEntry",
    "ModelId",
    "ModelList",
    "ModelState",
    "ModelSummary",
    "NoModelAvailable",
    "OrgPolicy",
    "PolicyRefusal",
    "PolicySnapshot",
    "Price",
    "PriceRates",
    "PriceTier",
    "PricingError",
    "ProviderConfig",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderSpec",
    "ProviderTimeout",
    "RecordedProviderFailure",
    "RecordingError",
    "RecordingMismatch",
    "RecordingTransport",
    "Rejection",
    "ReportData",
    "ReportFiles",
    "ResultStore",
    "RouteDecision",
    "RouteRequest",
    "Router",
    "RunOutcome",
    "RunRecord",
    "RunSpec",
    "RunSpecMismatch",
    "SessionPin",
    "SloPolicy",
    "SloReport",
    "SourceFormatError",
    "StaleRecording",
    "SuiteSet",
    "Summary",
    "TrialOutcome",
    "UnknownModel",
    "UnknownOrg",
    "UnknownRun",
    "UnplayedRecording",
    "Usage",
    "audit_cassettes",
    "check_slos",
    "collect_report",
    "compute_cost",
    "decide",
    "export_snapshot",
    "fetch_model_list",
    "flag_escalation",
    "init_project",
    "load_config",
    "load_policy",
    "load_slo_policy",
    "load_suites",
    "open_catalog",
    "parse_model_id",
    "parse_snapshot",
    "pass_hat_k",
    "price_call",
    "price_call_strict",
    "read_model_list",
    "resolve_model",
    "restore_snapshot",
    "run_gate",
    "summarize",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'clearance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from clearance.calllog import flag_escalation
    from clearance.catalog.database import Catalog, open_catalog
    from clearance.catalog.modelstore import ModelEntry
    from clearance.catalog_snapshot import (
        CatalogSnapshot,
        export_snapshot,
        parse_snapshot,
        restore_snapshot,
    )
    from clearance.config import ClearanceConfig, ProviderConfig, load_config
    from clearance.discovery import DiscoveredModel, ModelList, fetch_model_list, read_model_list
    from clearance.errors import (
        BrokenCassette,
        CatalogError,
        CatalogUnavailable,
        ClearanceError,
        ConfigError,
        DiscoverySourceError,
        InputError,
        InvalidEndpoint,
        InvalidIdentifier,
        InvalidModelId,
        InvalidShard,
        InvalidUsage,
        MalformedResponse,
        MissingApiKey,
        MissingPrice,
        MissingRecording,
        NoModelAvailable,
        PolicyRefusal,
        PricingError,
        ProviderConnectionError,
        ProviderError,
        ProviderProtocolError,
        ProviderTimeout,
        RecordedProviderFailure,
        RecordingError,
        RecordingMismatch,
        RunSpecMismatch,
        SourceFormatError,
        StaleRecording,
        UnknownModel,
        UnknownOrg,
        UnknownRun,
        UnplayedRecording,
    )
    from clearance.evaluation.audit import audit_cassettes
    from clearance.evaluation.cases import EvalCase, SuiteSet, load_suites
    from clearance.evaluation.engine import EvalItem, Evaluation, RunOutcome, TrialOutcome
    from clearance.evaluation.metrics import ModelSummary, Summary, pass_hat_k, summarize
    from clearance.evaluation.recording import CassetteLibrary, RecordingTransport
    from clearance.evaluation.results import ItemResult, ResultStore, RunRecord, RunSpec
    from clearance.gate.decide import GateResult, decide
    from clearance.gate.policy import GatePolicy, load_policy
    from clearance.gate.run import GateRun, run_gate
    from clearance.modelid import ModelId, parse_model_id
    from clearance.modelpolicy import (
        ModelState,
        OrgPolicy,
        PolicySnapshot,
        Rejection,
        RouteDecision,
        RouteRequest,
        SessionPin,
        resolve_model,
    )
    from clearance.pricing import (
        CallCost,
        DefaultPriceWarning,
        Price,
        PriceRates,
        PriceTier,
        Usage,
        compute_cost,
        price_call,
        price_call_strict,
    )
    from clearance.reports.collect import ReportData, collect_report
    from clearance.reports.render import ReportFiles, write_report
    from clearance.router import Router
    from clearance.scaffold import InitReport, ProviderSpec, init_project
    from clearance.slo.aggregate import CallFilter
    from clearance.slo.check import SloReport, check_slos
    from clearance.slo.objectives import SloPolicy, load_slo_policy
