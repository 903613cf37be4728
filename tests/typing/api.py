"""The public API as a program uses it, checked by mypy (``make typecheck``), not run.

Each function is what a caller writes: route a call and read its result, catch the
errors it may raise, price a call, resolve a model with the policy, run an evaluation
and read its results. ``assert_type`` pins every type read, so a change to a public
signature's types (a field's type, a return type, an export that goes missing) fails
``mypy`` here before it reaches a user. Only the names a program imports from
``clearance`` and ``clearance.evaluation`` are used.

pytest never calls these functions; tests/test_public_api.py imports the module, so
every name imported here also exists at run time.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, Literal, assert_type

import clearance
from clearance import (
    Attempt,
    CallCost,
    ChatResponse,
    ClearanceConfig,
    KillSwitchActive,
    NoModelAvailable,
    PolicyRefusal,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeout,
    RateLimited,
    Rejection,
    RouteDecision,
    Router,
    RouterResult,
    ToolCall,
    Usage,
)
from clearance.evaluation import (
    AuditReport,
    EvalItem,
    Evaluation,
    ItemResult,
    ModelSummary,
    ProviderFactory,
    ResultStore,
    RunOutcome,
    RunRecord,
    SimulatorProviders,
    SuiteSet,
    Summary,
    TrialOutcome,
)

MESSAGES = [{"role": "user", "content": "What is the weather in Oslo?"}]


def route_a_call() -> None:
    """Build a router from the configuration, call it, read what it returns."""
    config = clearance.load_config()
    assert_type(config, ClearanceConfig)
    catalog = clearance.open_catalog(config.resolved_database_url())
    assert_type(catalog, clearance.Catalog)
    assert_type(config.router, clearance.RouterConfig)
    assert_type(config.router.deadline_s, float)

    with Router(config, catalog) as router:
        assert_type(router, Router)
        result = router.complete(MESSAGES, org="acme", session="s-42", tier="cheap")
        assert_type(result, RouterResult)
        assert_type(result.call_id, str)
        assert_type(result.served_model, str)
        assert_type(result.fallback_served, bool)
        assert_type(result.fallback_reason, str | None)
        assert_type(result.latency_s, float)

        cost = result.cost
        assert_type(cost, CallCost)
        assert_type(cost.cost, Decimal)
        assert_type(cost.computed, Decimal)
        assert_type(cost.reported, Decimal | None)
        assert_type(cost.pricing_source, clearance.PricingSource)

        response = result.response
        assert_type(response, ChatResponse)
        assert_type(response.content, str | None)
        assert_type(response.finish_reason, clearance.FinishReason)
        assert_type(response.usage, Usage | None)
        for call in response.tool_calls:
            assert_type(call, ToolCall)
            assert_type(call.name, str)
            assert_type(call.arguments, dict[str, Any] | None)
            assert_type(call.valid_json, bool)

        decision = result.decision
        assert_type(decision, RouteDecision)
        assert_type(decision.model_id, str)
        assert_type(decision.fallbacks, tuple[str, ...])
        for attempt in result.attempts:
            assert_type(attempt, Attempt)
            assert_type(attempt.model_id, str)
            assert_type(attempt.outcome, Literal["ok", "error", "skipped"])
            assert_type(attempt.error_kind, str | None)
            assert_type(attempt.status_code, int | None)

        flagged = router.flag_escalation(result.call_id, reason="the user asked for a person")
        assert_type(flagged, Future[clearance.EscalationOutcome])


async def route_a_call_async(router: Router) -> RouterResult:
    """``acomplete`` returns what ``complete`` returns."""
    result = await router.acomplete(MESSAGES, model="openrouter:openai/gpt-4o", deadline_s=30)
    assert_type(result, RouterResult)
    return result


def catch_what_a_call_raises(router: Router) -> str:
    """Every error ``complete`` documents, caught by its exported class and read."""
    try:
        return router.complete(MESSAGES, allow_fallback=False).served_model
    except RateLimited as error:
        assert_type(error.retry_after, float | None)
        assert_type(error.status_code, int)
        assert_type(error.retryable, bool)
        for attempt in error.attempts:
            assert_type(attempt, Attempt)
            assert_type(attempt.model_id, str)
            assert_type(attempt.retry_after_s, float | None)
        return error.kind
    except ProviderTimeout as error:
        assert_type(error.limit, str)
        assert_type(error.limit_s, float | None)
        return error.detail
    except ProviderHTTPError as error:
        assert_type(error.body, object)
        assert_type(error.code, str | None)
        return error.provider
    except ProviderError as error:
        assert_type(error.model_id, str | None)
        assert_type(error.attempts, tuple[Attempt, ...])
        return error.message
    except KillSwitchActive as error:
        assert_type(error.scope, str)
        assert_type(error.target, str)
        return error.reason
    except NoModelAvailable as error:
        for rejection in error.rejections:
            assert_type(rejection, Rejection)
            assert_type(rejection.detail, str)
        return str(error.fix)
    except PolicyRefusal as error:
        assert_type(error.fix, str | None)
        return error.message
    except clearance.InvalidIdentifier as error:
        assert_type(error.limit, int)
        return error.field
    except clearance.MissingApiKey as error:
        assert_type(error.variable, str)
        return error.provider
    except clearance.ClearanceError as error:
        return error.message


def price_a_call() -> None:
    """Price a call from its usage, best-effort and strictly."""
    usage = Usage(prompt_tokens=1_200, completion_tokens=300)
    rates = clearance.PriceRates(Decimal("0.000002"), Decimal("0.000008"))
    price = clearance.Price("openrouter:openai/gpt-4o", rates)
    assert_type(clearance.compute_cost(usage, price), Decimal)
    cost = clearance.price_call("openrouter:openai/gpt-4o", usage, None, default=price)
    assert_type(cost, CallCost)
    try:
        strict = clearance.price_call_strict("openrouter:openai/gpt-4o", usage, None)
    except clearance.MissingPrice as error:
        assert_type(error.model_id, str)
    except clearance.InvalidPrice as error:
        assert_type(error.field, str)
    else:
        assert_type(strict.cost, Decimal)


def resolve_a_model() -> None:
    """The policy, as a pure function of a request and a snapshot."""
    snapshot = clearance.PolicySnapshot(
        models={"openrouter:openai/gpt-4o": clearance.ModelState("openrouter:openai/gpt-4o", True)},
        orgs={"acme": clearance.OrgPolicy("acme", None, "openrouter:openai/gpt-4o", None)},
        pins={},
        tiers={"strong": "openrouter:openai/gpt-4o"},
        fallbacks={},
    )
    request = clearance.RouteRequest(org_id="acme", tier="strong")
    decision = clearance.resolve_model(request, snapshot)
    assert_type(decision, RouteDecision)
    assert_type(decision.request, clearance.RouteRequest)
    assert_type(decision.rejected, tuple[Rejection, ...])
    assert_type(decision.pin, str | None)
    model = clearance.parse_model_id(decision.model_id, ["openrouter"])
    assert_type(model, clearance.ModelId)
    assert_type(model.provider, str | None)


def run_an_evaluation(config: ClearanceConfig, catalog: clearance.Catalog) -> Summary:
    """Run the suites against two candidates, then read what was stored."""
    suite = clearance.load_suites(config, ["contracts", "flows"])
    assert_type(suite, SuiteSet)
    providers: ProviderFactory = SimulatorProviders(seed=7)
    evaluation = Evaluation(
        config,
        catalog,
        suite,
        ["ref:ref/steady", "openrouter:openai/gpt-4o"],
        trials=3,
        cost_cap=Decimal("2.50"),
        record_mode="none",
        providers=providers,
    )
    outcome = evaluation.run()
    assert_type(outcome, RunOutcome)
    assert_type(outcome.spend, Decimal)
    assert_type(outcome.counts, dict[str, int])
    for trial in outcome.outcomes.values():
        assert_type(trial, TrialOutcome)
        assert_type(trial.item, EvalItem)
        assert_type(trial.result, ItemResult)
        assert_type(trial.result.cost, Decimal | None)
        assert_type(trial.error, clearance.ClearanceError | None)
        assert_type(trial.explain(), str)
    assert_type(asyncio.run(evaluation.arun()), RunOutcome)

    store = ResultStore(catalog)
    record = store.run(outcome.run_id)
    assert_type(record, RunRecord | None)
    summary = clearance.evaluation.summarize(store.results(outcome.run_id), k=3)
    assert_type(summary, Summary)
    model = summary.model("ref:ref/steady")
    assert_type(model, ModelSummary)
    assert_type(model.cost_per_pass, Decimal | None)
    return summary


def audit_third_party_cassettes(directory: str) -> int:
    """The audit of recorded tool calls, from the evaluation package."""
    from pathlib import Path

    report = clearance.evaluation.audit_cassettes(Path(directory))
    assert_type(report, AuditReport)
    assert_type(report.files, int)
    return report.files


def judge_an_imported_bfcl_suite(config: ClearanceConfig) -> float | None:
    """An imported BFCL suite: its cases judged by the profile its folder names, and BFCL's
    leaderboard figures from a run's results."""
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    from clearance.flows import (
        BfclKey,
        FlowVerdict,
        ScoringProfile,
        read_scoring_profile,
        run_flow,
    )
    from clearance.reports import BfclLeaderboard, bfcl_leaderboard

    suite = clearance.load_suites(config, ["bfcl"])
    profile = read_scoring_profile(config.bfcl_root())
    assert_type(profile, ScoringProfile)
    assert_type(suite.scoring["bfcl"], ScoringProfile)
    case = suite.cases[0]
    assert_type(case.scoring, ScoringProfile)
    assert_type(case.flow.bfcl, BfclKey | None)

    def model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatResponse:
        raise NotImplementedError

    verdict = run_flow(case.flow, model, tool_schemas=case.schemas, profile=case.scoring)
    assert_type(verdict, FlowVerdict)
    board = bfcl_leaderboard(pd.DataFrame(), "ref:ref/steady", scoring=profile)
    assert_type(board, BfclLeaderboard | None)
    return None if board is None else board.summaries[0].accuracy
