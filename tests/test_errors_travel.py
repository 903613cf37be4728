"""Every error survives pickling (so it can cross a process pool) with all its fields.

One example per class in ``clearance.errors.__all__``: a new error class fails the
coverage check below until it has one.
"""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import pytest

import clearance.errors as errors
from clearance.modelpolicy import Rejection
from clearance.router import Attempt

HTTP = {"provider": "openrouter", "model_id": "openrouter:a/b", "status_code": 400}
RECORDING = {"model_id": "ref:steady", "case_id": "lookup/1", "path": "evals/c.yaml", "trial": 2}

EXAMPLES: dict[str, Any] = {
    "ClearanceError": errors.ClearanceError("root", fix="do this"),
    "InputError": errors.InputError("bad input", fix="fix it"),
    "ConfigError": errors.ConfigError("not a number", source="clearance.toml", key="router.x"),
    "SourceFormatError": errors.SourceFormatError("no data", source="models.json", pointer="/0"),
    "ContractError": errors.ContractError("bad", path="contracts/a.yaml", line=3, pointer="/x"),
    "MissingApiKey": errors.MissingApiKey("groq", "GROQ_API_KEY", models=("groq:llama",)),
    "InvalidModelId": errors.InvalidModelId("::", "empty"),
    "InvalidIdentifier": errors.InvalidIdentifier(
        "org", reason="too_long", length=300, limit=200, preview="'aaaa…'"
    ),
    "InvalidUsage": errors.InvalidUsage("cached_tokens", 12, "more than prompt_tokens"),
    "InvalidPrice": errors.InvalidPrice(
        "completion", Decimal("-1"), "is negative", fix="give a rate >= 0 in USD per token"
    ),
    "RunSpecMismatch": errors.RunSpecMismatch("run-1", {"trials": (3, 5)}),
    "InvalidShard": errors.InvalidShard("run-1", 4, "out of range", fix="use 0..3"),
    "CatalogError": errors.CatalogError("broken"),
    "CatalogUnavailable": errors.CatalogUnavailable("sqlite:///x.db", "disk I/O error"),
    "UnknownModel": errors.UnknownModel("a/b", ("openrouter:a/b", "groq:a/b"), ambiguous=True),
    "UnknownRun": errors.UnknownRun("run-9"),
    "RecordingError": errors.RecordingError("cannot serve", **RECORDING),
    "MissingRecording": errors.MissingRecording("nothing recorded", **RECORDING),
    "RecordingMismatch": errors.RecordingMismatch("body differs", **RECORDING),
    "StaleRecording": errors.StaleRecording("old", **RECORDING),
    "UnplayedRecording": errors.UnplayedRecording("2 left", **RECORDING),
    "BrokenCassette": errors.BrokenCassette("not YAML", **RECORDING),
    "RecordedProviderFailure": errors.RecordedProviderFailure(
        "recorded a 503", failure_kind="server_error", status_code=503, detail="down", **RECORDING
    ),
    "DiscoverySourceError": errors.DiscoverySourceError("https://x/models", "503", status_code=503),
    "PricingError": errors.PricingError("negative rate"),
    "MissingPrice": errors.MissingPrice("openrouter:a/b", "no_price"),
    "PolicyRefusal": errors.PolicyRefusal("refused"),
    "UnknownOrg": errors.UnknownOrg("acme"),
    "NoModelAvailable": errors.NoModelAvailable(
        [Rejection("openrouter:a/b", "default", "disabled", "disabled by the gate")], org_id="acme"
    ),
    "KillSwitchActive": errors.KillSwitchActive("model", "openrouter:a/b", "bad output"),
    "KnowledgeOrgMismatch": errors.KnowledgeOrgMismatch("acme", "globex"),
    "RetrieverNotCleared": errors.RetrieverNotCleared("acme", "lexical-k5", "inconclusive"),
    "RetrievalFailed": errors.RetrievalFailed(
        "acme", "LexicalRetriever", "CatalogUnavailable: down"
    ),
    "ProviderError": errors.ProviderError("boom", provider="p", model_id=None),
    "ProviderHTTPError": errors.ProviderHTTPError("418", body={"error": {"x": 1}}, **HTTP),
    "RateLimited": errors.RateLimited("slow down", retry_after=2.5, **HTTP),
    "AuthenticationFailed": errors.AuthenticationFailed(
        "bad key", api_key_env="OPENROUTER_API_KEY", **HTTP
    ),
    "PaymentRequired": errors.PaymentRequired("no credits", **HTTP),
    "ModelNotFound": errors.ModelNotFound("no such model", code="model_not_found", **HTTP),
    "ContextLengthExceeded": errors.ContextLengthExceeded("too long", **HTTP),
    "ContentPolicyViolation": errors.ContentPolicyViolation("refused", **HTTP),
    "BadRequest": errors.BadRequest("tool_use_failed", code="tool_use_failed", **HTTP),
    "ProviderServerError": errors.ProviderServerError("upstream", **HTTP),
    "ProviderTimeout": errors.ProviderTimeout(
        "late", provider="p", model_id="p:m", limit="deadline_s", limit_s=1.5
    ),
    "ProviderConnectionError": errors.ProviderConnectionError(
        "refused", provider="p", model_id=None
    ),
    "ProviderProtocolError": errors.ProviderProtocolError("cut short", provider="p", model_id=None),
    "InvalidEndpoint": errors.InvalidEndpoint("not a URL", provider="p", model_id=None),
    "MalformedResponse": errors.MalformedResponse(
        "not JSON", provider="p", model_id="p:m", body="{"
    ),
}


def test_every_error_class_has_an_example() -> None:
    assert set(EXAMPLES) == set(errors.__all__)
    for name, error in EXAMPLES.items():
        assert type(error) is getattr(errors, name)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_an_error_pickles_with_its_fields(name: str) -> None:
    error = EXAMPLES[name]
    error.attempts = (Attempt("p:m", "p", "error", "server_error", 503, 0.25, None, "down"),)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.args == error.args
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
    assert (copy.message, copy.fix, copy.attempts) == (error.message, error.fix, error.attempts)


def test_fields_survive_a_process_pool() -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1) as pool:
        error = pool.submit(_raise_rate_limited).exception(timeout=60)
    assert isinstance(error, errors.RateLimited)
    assert (error.retry_after, error.status_code, error.provider) == (7.0, 429, "groq")
    assert error.cost == Decimal("0.5")


def _raise_rate_limited() -> None:
    error = errors.RateLimited(
        "slow down", provider="groq", model_id="groq:m", status_code=429, retry_after=7.0
    )
    error.cost = Decimal("0.5")  # type: ignore[attr-defined]  # any state travels
    raise error
