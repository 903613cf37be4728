"""``clearance demo``: the main job, end to end, on the embedded defaults."""

from __future__ import annotations

import socket
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import EXIT_USAGE, console, fail, handle_errors, load
from clearance.cli.prices import default_price

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig
    from clearance.slo import SloReport

_DATA = Path("tests/data/realdata/catalogs")
GATE_BASELINE = "ref:ref/steady"
"""The regression baseline the demo gates against: the simulated incumbent (the model the
router's fallbacks land on), not the demo configuration's default model. That one is a
real model with no shipped recordings, so every regression check against it would be
inconclusive for lack of paired cases, and no model could be enabled under
gates/default.yaml."""
MODELS_FILE = _DATA / "openrouter/roo-code/openrouter-models.response-body.decoded.json"
LITELLM_FILE = _DATA / "litellm/model_prices_and_context_window_backup.json"
_ENABLE = (
    "openai/gpt-4o-mini",
    "openai/gpt-4.1-mini",
    "openai/gpt-4.1",
    "anthropic/claude-sonnet-4",
)


def _override(catalog: Catalog, config: ClearanceConfig, model_ids: list[str], why: str) -> None:
    """Enable models by a person's audited override (the demo's stand-in for that person)."""
    from clearance.catalog.gatestore import record_override

    with catalog.begin() as connection:
        for model_id in model_ids:
            record_override(
                connection,
                model_id=model_id,
                action="enable",
                reason=why,
                decided_by="demo",
                host=socket.gethostname(),
                require_decision=config.gate.require_decision,
            )


def _router_demo(config: ClearanceConfig, catalog: Catalog, base_url: str) -> None:
    """Route calls through the gate, kill switch, policy, fallback, pricing and the call log."""

    from clearance.catalog.callstore import count_by_status
    from clearance.catalog.orgstore import set_fallback_chain
    from clearance.errors import KillSwitchActive
    from clearance.killswitch import set_switch
    from clearance.modelpolicy import RouteRequest
    from clearance.router import Router

    weather = {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    tools = [{"type": "function", "function": weather}]
    ask = [{"role": "user", "content": 'What is the weather in "Oslo"?'}]
    console.print(f"reference provider (a SIMULATOR, not a model) at {base_url}")
    _override(
        catalog,
        config,
        ["ref:ref/status-500"],
        "demo: a simulator that always answers 500, enabled to show the fallback chain",
    )
    with catalog.begin() as connection:
        set_fallback_chain(connection, "ref:ref/status-500", ["ref:ref/steady"])
    router = Router(config, catalog, sleep=lambda _: None)
    try:
        decision = router.decide(RouteRequest(model="ref:ref/sloppy"))
        for rejection in decision.rejected:
            console.print(
                f"ref/sloppy requested: [red]refused[/] ({rejection.reason}): "
                f"{escape(rejection.detail)}"
            )
        console.print(
            f"    the policy would serve {escape(decision.model_id)} ({decision.reason}) instead"
        )
        served = router.complete(ask, tools, model="ref:ref/steady")
        call = served.response.tool_calls[0]
        console.print(
            f"ref/steady (gate: enable) called {call.name}({call.arguments}) for "
            f"{served.cost.cost:f} USD ({served.cost.pricing_source} price); clearance's own "
            f"time {served.overhead_s * 1e6:.0f} µs of {served.latency_s * 1000:.1f} ms"
        )
        _native_demo(router, ask, tools)
        hop = router.complete(ask, tools, model="ref:ref/status-500")
        console.print(
            f"ref/status-500 failed {len(hop.attempts) - 1} times ({hop.fallback_reason}); "
            f"served by {hop.served_model} from its fallback chain"
        )
        _traffic(router, ask, tools)
        set_switch(catalog, "global", active=True, reason="demo incident", actor="demo")
        router.refresh()
        try:
            router.complete(ask, tools, model="ref:ref/steady")
        except KillSwitchActive as error:
            console.print(
                f"global kill switch on: refused before any network I/O ({escape(error.message)})"
            )
        set_switch(catalog, "global", active=False, reason="demo over", actor="demo")
    finally:
        router.close()
    console.print(
        "call log: "
        + ", ".join(
            f"{count} {'live' if live else 'eval'} {status}"
            for live, status, count in count_by_status(catalog)
        )
        + " (eval traffic is the replayed evals' calls, never counted by the SLOs)"
    )


NATIVE_MODELS = (
    ("ref-anthropic:ref-steady", "Anthropic Messages"),
    ("ref-gemini:ref-3-steady", "Gemini"),
)
"""The simulated models the demo gates and then calls on each native protocol."""


def _native_demo(router: Any, ask: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
    """A tool call and its answer on each native protocol, through the same router: the
    model's own turn (its thinking or thought signature) goes back to it unchanged."""
    from clearance.flows.scoring import assistant_message

    for model_id, protocol in NATIVE_MODELS:
        first = router.complete(ask, tools, model=model_id)
        call = first.response.tool_calls[0]
        result = {
            "role": "tool",
            "tool_call_id": call.id,
            "content": '{"temp_c": -3, "sky": "snow"}',
        }
        final = router.complete(
            [*ask, assistant_message(first.response), result], tools, model=model_id
        )
        console.print(
            f"{model_id} ({protocol}; gate: enable) called {call.name}({call.arguments}), "
            f"then answered {escape(repr(final.response.content))} "
            f"(snapshot {escape(str(final.response.snapshot))})"
        )


def _traffic(router: Any, ask: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
    """Live traffic for the SLOs: two orgs, one of them on a model that always fails over."""
    served = [router.complete(ask, tools, model="ref:ref/steady", org="shop") for _ in range(30)]
    for _ in range(20):
        router.complete(ask, tools, model="ref:ref/status-500", org="clinic")
    # a person took over one conversation after the answer: flagged after the fact
    router.flag_escalation(served[0].call_id, reason="customer asked for a person")
    console.print(
        "live traffic: 30 calls for org shop on ref/steady, 20 for org clinic on ref/status-500 "
        "(each served by its fallback), one flagged for human hand-off afterwards"
    )


def _protocol(model_id: str) -> str:
    """The wire protocol a simulated model is called over (its provider's)."""
    from clearance.evaluation.simulator import PROVIDERS

    return PROVIDERS.get(model_id.partition(":")[0], "openai")


def _short(model_id: str) -> str:
    return model_id.removeprefix("openrouter:")


@handle_errors
def demo(
    models_file: Annotated[
        Path,
        typer.Option("--models-file", metavar="FILE", help="A saved OpenRouter /models answer."),
    ] = MODELS_FILE,
    litellm_file: Annotated[
        Path, typer.Option("--litellm-file", metavar="FILE", help="LiteLLM's price table.")
    ] = LITELLM_FILE,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="FOLDER",
            help="The folder of the gate's Markdown summary and JUnit XML, and of the HTML "
            "report (in html/).",
        ),
    ] = Path("reports"),
    reports: Annotated[
        Path | None, typer.Option("--reports", metavar="FOLDER", hidden=True)
    ] = None,  # the old name of --out
) -> None:
    """Run the main job end to end, offline, on the embedded defaults and simulators.

    The steps: 1. a catalog from a real OpenRouter /models answer, priced with LiteLLM's
    table; 2. real models enabled by a person's audited override, two orgs set up;
    3. the model policy's answers for those orgs; 4. the exact cost of a call;
    5. the tool contracts checked; 6. the reference simulator's models synced; 7. the
    eval suite replaying its shipped recordings; 8. the gate's decisions, with a Markdown
    summary and JUnit XML; 9. the router obeying the gate: a refused model, a fallback
    chain, live traffic, the kill switch, the call log; 10. the example knowledge base
    ingested, two retriever configurations scored on its labelled queries and gated, and
    a routed call with the cleared one beside a call whose retriever is not cleared;
    11. the SLOs on that traffic, and the HTML reliability report with its retrieval
    page. A summary line ends it.

    The simulator serves one port on three wire protocols: the same flows gate its
    models over OpenAI chat completions, Anthropic Messages and Gemini in one run and
    one report, and the router then calls each protocol over that port.
    """
    if reports is not None:
        typer.echo("note: --reports is now --out (the old name will be removed)", err=True)
        out = reports
    from clearance.catalog.modelstore import ensure_provider, list_models, sync_models
    from clearance.catalog.orgstore import read_policy_state, set_org
    from clearance.catalog.pricestore import load_prices
    from clearance.discovery import read_model_list
    from clearance.litellm_table import import_litellm, read_litellm_table
    from clearance.modelpolicy import RouteRequest, resolve_model
    from clearance.pricing import DefaultPriceWarning, Usage, price_call

    missing = [str(path) for path in (models_file, litellm_file) if not path.is_file()]
    if missing:
        # checked before the catalog is opened: a team's catalog is never touched
        fail(
            f"clearance demo runs in a clearance checkout (`make demo`); {missing[0]} is not here",
            fix="in your own project, follow the README's 'Gate your own model in ten "
            "minutes' (clearance init); or pass --models-file and --litellm-file",
            code=EXIT_USAGE,
        )
    started = time.perf_counter()
    config, catalog = load()
    console.rule("1. catalog")
    console.print(f"catalog: {catalog.display_url} (migrated)")
    model_list = read_model_list(models_file)
    table = read_litellm_table(litellm_file)
    with catalog.begin() as connection:
        ensure_provider(
            connection,
            "openrouter",
            base_url="https://openrouter.ai/api/v1",
            api_key_env="OPENROUTER_API_KEY",
            models_format="openrouter",
        )
        report = sync_models(connection, "openrouter", model_list, enable_new=False)
        litellm = import_litellm(connection, table, aliases=config.pricing.litellm_keys)
    console.print(
        f"synced {len(report.added) + len(report.updated)} models from {escape(str(models_file))}"
        f" ({report.prices_added} price versions; dynamic pricing: {', '.join(report.dynamic)})"
    )
    console.print(
        f"LiteLLM price table: {litellm.entries} priced entries, "
        f"{len(litellm.matched)} matched catalog models"
    )

    console.rule("2. enable models by hand (overrides) and set up an org")
    # No recordings of these real models ship, so the gate has no evidence on them: a
    # person enables them, and the catalog keeps that as an audited override.
    _override(
        catalog,
        config,
        [f"openrouter:{name}" for name in _ENABLE],
        "demo: enabled by hand; no eval evidence on real models ships with clearance",
    )
    with catalog.begin() as connection:
        set_org(
            connection,
            "acme",
            enabled_models=[f"openrouter:{n}" for n in _ENABLE[:3]],
            default_model_id="openrouter:openai/gpt-4.1-mini",
        )
        set_org(connection, "legacy-co", legacy_model="openrouter:openai/gpt-4o-mini")
    console.print("enabled on the platform by a person's override: " + ", ".join(_ENABLE))
    console.print(
        "org acme: enabled = first three, default = openai/gpt-4.1-mini; "
        "org legacy-co: only the legacy single-model field"
    )

    console.rule("3. the model policy")
    requests = [
        RouteRequest(org_id="acme"),
        RouteRequest(org_id="acme", model="openrouter:openai/gpt-4.1"),
        RouteRequest(org_id="acme", model="openrouter:anthropic/claude-sonnet-4"),
        RouteRequest(org_id="acme", model="openrouter:openai/o3"),
        RouteRequest(org_id="acme", tier="strong"),
        RouteRequest(org_id="legacy-co", model="openrouter:openai/gpt-4.1"),
        RouteRequest(org_id="nobody-knows"),
    ]
    with catalog.connect() as connection:
        snapshot = read_policy_state(connection, config, org_ids=["acme", "legacy-co"]).snapshot
    for request in requests:
        decision = resolve_model(request, snapshot)
        asked = (
            _short(request.model)
            if request.model
            else (f"tier {request.tier}" if request.tier else "its default")
        )
        console.print(
            f"org {escape(str(request.org_id))} asks for {escape(asked)} -> "
            f"[bold]{escape(_short(decision.model_id))}[/] ({decision.reason})"
        )
        for rejection in decision.rejected:
            console.print(
                f"    rejected {escape(_short(rejection.model_id))} ({rejection.role}): "
                f"{rejection.reason}"
            )

    console.rule("4. the cost of a call")
    usage = Usage(
        prompt_tokens=12_000, completion_tokens=800, cached_tokens=8_000, reasoning_tokens=0
    )
    with catalog.connect() as connection:
        prices = load_prices(connection, config.pricing.source_priority)
        models = list_models(connection)
    costs = Table()
    for column in ("model", "cost (USD)", "source"):
        costs.add_column(column)
    for model_id in (
        "openrouter:anthropic/claude-sonnet-4",
        "openrouter:openai/gpt-4o-mini",
        "openrouter:openrouter/auto",
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DefaultPriceWarning)
            cost = price_call(
                model_id, usage, prices.get(model_id), default=default_price(config, model_id)
            )
        costs.add_row(escape(model_id), f"{cost.cost:f}", cost.pricing_source)
    console.print("12,000 prompt tokens (8,000 of them cached) and 800 completion tokens:")
    console.print(costs)

    console.rule("5. tool contracts")
    from clearance.contracts.check import check_contracts

    checked = check_contracts(
        config.contracts_root(), probe=False, lint_profiles=config.contracts.lint_profiles
    )
    errors = [f for f in checked.findings if f.severity == "error"]
    console.print(
        f"{checked.contracts} contract versions and {checked.flows} flows in "
        f"{escape(str(config.contracts_root()))}: "
        + ("[green]check passes[/]" if checked.ok else f"[red]{len(errors)} errors[/]")
        + f" ({len(checked.findings) - len(errors)} provider-lint warnings)"
    )

    from clearance.discovery import fetch_model_list, parse_model_list
    from clearance.evaluation.simulator import PROVIDERS
    from clearance.reference import ReferenceServer, models_document

    with ReferenceServer(seed=0) as server:
        console.rule("6. the reference provider's models into the catalog, on three protocols")
        with catalog.begin() as connection:
            ensure_provider(connection, "ref", base_url=server.base_url)
            ref = sync_models(
                connection, "ref", fetch_model_list(server.base_url), enable_new=False
            )
        console.print(
            f"synced {len(ref.added)} SIMULATED models from the reference provider's /models; "
            "none is served until the gate (or a person) enables it"
        )
        for provider, protocol in PROVIDERS.items():
            if protocol == "openai":
                continue
            base_url = server.base_url_for(protocol)
            listed = fetch_model_list(base_url, protocol=protocol, provider=provider)
            document = parse_model_list(models_document(protocol), source=f"simulator ({protocol})")
            with catalog.begin() as connection:
                ensure_provider(connection, provider, base_url=base_url, protocol=protocol)
                sync_models(connection, provider, document, enable_new=False)
            console.print(
                f"{provider}: the same simulator on the same port, speaking {protocol} at "
                f"{base_url}; its native model list names {len(listed.models)} models "
                f"(unpriced, as the real API's is), catalogued at the simulator's prices"
            )

        console.rule("7. the eval suite, replaying the shipped recordings (simulators, offline)")
        run_id = _eval_demo(_gating(config), catalog)

        console.rule("8. the gate: decisions written into the catalog")
        summary = _gate_demo(_gating(config), catalog, run_id, out)

        console.rule("9. the router obeys the gate")
        _router_demo(config, catalog, server.base_url)
        served = server.requests()
        console.print(
            "the simulator's one port served "
            + ", ".join(f"{count} {escape(route)}" for route, count in sorted(served.items()))
            + " (the eval replayed its recordings without it)"
        )

        console.rule("10. knowledge retrieval, gated like a model")
        _knowledge_demo(config, catalog)
        _knowledge_calls(config, catalog)

    console.rule("11. SLOs on live traffic, and the reliability report")
    index = _report_demo(config, catalog, run_id, out / "html")

    console.rule("summary")
    with catalog.connect() as connection:
        models = list_models(connection)
    enabled = sum(1 for m in models if m.enabled)
    priced = len(prices)
    total = Decimal(len(models))
    console.print(
        f"{len(models)} models, {enabled} enabled, {priced} priced "
        f"({Decimal(priced) / total:.1%}); catalog at {catalog.display_url}; "
        f"done in {time.perf_counter() - started:.1f} s"
    )
    console.print(f"gate summary: {escape(str(summary))} (Markdown, with JUnit XML beside it)")
    console.print(f"reliability report: {escape(str(index))}")


def _report_demo(config: ClearanceConfig, catalog: Catalog, run_id: str, out: Path) -> Path:
    """Judge the SLOs, then write the HTML reliability report of the replayed run with
    the SLO page beside it; returns its index.html."""
    from clearance.reports import collect_report, write_report
    from clearance.reports.retrievalpage import RETRIEVAL_PAGE, retrieval_pages
    from clearance.reports.slopage import configured_slo_report, slo_pages

    slo = configured_slo_report(config, catalog)
    if slo is not None:
        _print_slo(slo)
    data = collect_report(config, catalog, run_id=run_id)
    pages = {**slo_pages(slo, catalog=catalog), **retrieval_pages(config, catalog)}
    files = write_report(data, out.resolve(), catalog=catalog, extra_pages=pages)
    failing = sum(len(model.failing) + len(model.flaky_failing) for model in data.models)
    console.print(
        f"{len(data.models)} models (SIMULATORS), {failing} failing cases drilled down, "
        f"{len(files.pages)} files, {files.bytes:,} bytes, self-contained (no network, no scripts)"
    )
    if RETRIEVAL_PAGE in pages:
        console.print(f"retrieval page: {escape(str(files.index.with_name(RETRIEVAL_PAGE)))}")
    return files.index


KNOWLEDGE_ORG = "ourco"
KNOWLEDGE_POLICY = "../knowledge/gate.yaml"
"""The retrieval gate's policy, from examples/demo (the configuration's folder)."""


def _knowledge_demo(config: ClearanceConfig, catalog: Catalog) -> None:
    """Ingest the example knowledge base, score the two configured retrievers on its
    labelled queries, and gate them."""
    from clearance.cli.retrievaleval import eval_retrieval
    from clearance.cli.retrievalgate import retrieval_gate
    from clearance.gate.run import find_policy
    from clearance.knowledge import ingest_text
    from clearance.knowledge.chunking import format_for

    root = (config.root / "../knowledge/docs").resolve()
    statuses: dict[str, int] = {}
    for file in sorted(root.rglob("*")):
        known = format_for(file.suffix)
        if not file.is_file() or known is None:
            continue
        relative = file.relative_to(root)  # ids as the labels name them: billing/refunds.md
        result = ingest_text(
            catalog,
            KNOWLEDGE_ORG,
            relative.as_posix(),
            file.read_bytes(),
            document_format=known,
            source=str(file),
            tags=[relative.parts[0]],  # its top folder: billing, help, admin, api, security
            by="demo",
        )
        statuses[result.status] = statuses.get(result.status, 0) + 1
    console.print(
        f"org {KNOWLEDGE_ORG}: {sum(statuses.values())} help-centre documents from "
        f"examples/knowledge/docs ("
        + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        + "), tagged by their top folder"
    )
    eval_retrieval(config, catalog, (), as_json=False)
    code = retrieval_gate(
        config,
        catalog,
        find_policy(config, KNOWLEDGE_POLICY),
        retrievers=(),
        run_ids=(),
        write=True,
        as_json=False,
    )
    console.print(
        f"retrieval gate exit code {code}; the router searches org {KNOWLEDGE_ORG}'s "
        "knowledge with its default retriever (lexical-k5) only while it is enabled"
    )


KNOWLEDGE_QUESTION = "My card was charged twice this month"
KNOWLEDGE_BUDGET = 300
"""Tokens of context a demo call may take: less than its five hits, so the budget cuts."""
UNCLEARED_ORG = "ourco-eu"
"""The org whose configured retriever (examples/demo/clearance.toml, ``org_retrievers``)
the gate did not clear."""


def _knowledge_calls(config: ClearanceConfig, catalog: Catalog) -> None:
    """Two routed calls with knowledge: one for the org whose retriever the gate enabled
    (context retrieved, cut to the budget, injected), one for an org whose retriever it
    did not (the call goes without context, the refusal in its retrievals row)."""
    from clearance.catalog.retrievalstore import read_retrievals
    from clearance.knowledge import Knowledge
    from clearance.router import Router

    ask = [{"role": "user", "content": KNOWLEDGE_QUESTION}]
    router = Router(config, catalog, sleep=lambda _: None)
    try:
        calls = [
            router.complete(
                ask,
                model="ref:ref/steady",
                org=org,
                knowledge=Knowledge(
                    org_id=org, query=KNOWLEDGE_QUESTION, budget_tokens=KNOWLEDGE_BUDGET
                ),
            )
            for org in (KNOWLEDGE_ORG, UNCLEARED_ORG)
        ]
    finally:
        router.close()  # the call log is written: the retrievals rows can be read
    for call in calls:
        retrieval = call.retrieval
        assert retrieval is not None  # every call above asked for knowledge
        (row,) = read_retrievals(catalog, call_id=call.call_id)
        org = escape(retrieval.org_id)
        if row.error is None:
            documents = ", ".join(sorted({hit.chunk.document_id for hit in retrieval.context.kept}))
            cut = (
                f"the budget cut {row.cut_chunks} of {len(retrieval.hits)} chunk(s), "
                f"~{row.tokens_cut} tokens"
                if row.truncated
                else "nothing cut"
            )
            console.print(
                f"org {org}: retriever [bold]{escape(row.retriever)}[/] (cleared) injected "
                f"{row.chunks} chunk(s) of {row.documents} document(s) ({escape(documents)}), "
                f"{row.tokens} of {KNOWLEDGE_BUDGET} budget tokens; {cut}; "
                f"{escape(call.served_model)} (a SIMULATOR) answered"
            )
        else:
            console.print(
                f"org {org}: retriever [bold]{escape(row.retriever)}[/] is not cleared: "
                f"{escape(row.error)} recorded, answered by {escape(call.served_model)} "
                f"without context ({row.chunks} chunks injected)"
            )
    console.print(
        "each call's retrievals row is linked to its ai_calls row (call "
        f"{escape(calls[0].call_id)}); the query's text is never stored, only its sha256"
    )


def _print_slo(report: SloReport) -> None:
    """What `clearance slo check` says of the live traffic just made."""
    from clearance.slo import format_duration

    counts = report.status_counts()
    window = format_duration(report.window)
    console.print(
        f"SLOs on the last {window} of live traffic ({report.calls} calls): "
        f"{counts['breach']} breached, {counts['ok']} met, "
        f"{counts['insufficient_data']} with too few calls; "
        f"`clearance slo check` exits {report.exit_code}"
    )
    for result in report.breaches:
        reasons = ", ".join(f"{name} {count}" for name, count in result.evidence.reasons)
        console.print(
            f"    breach {escape(result.group.label)} {result.objective.metric}: "
            f"{escape(result.evidence.detail)}" + (f" (why: {escape(reasons)})" if reasons else "")
        )


def _gating(config: ClearanceConfig) -> ClearanceConfig:
    """The configuration the demo's gate looks judge with: the policy's ``org_default``
    baseline resolves to :data:`GATE_BASELINE`.

    Only the eval's rounds and the gate step see it (the rounds judge through the same
    baseline resolution as ``clearance gate``, so both decide alike); the router's steps
    keep the configured default model, which the simulator's models, catalogued later,
    could not stand in for.
    """
    policy = config.policy.model_copy(update={"default_model": GATE_BASELINE})
    return config.model_copy(update={"policy": policy})


def _gate_demo(config: ClearanceConfig, catalog: Catalog, run_id: str, reports: Path) -> Path:
    """Gate the replayed run with the configured policy; returns the summary's path."""
    from clearance.gate.ci import write_ci_outputs
    from clearance.gate.run import find_policy, run_gate

    policy = find_policy(config)
    outcome = run_gate(config, catalog, policy=policy, run_ids=[run_id], decided_by="demo")
    table = Table()
    for column in ("model (a SIMULATOR)", "protocol", "decision", "why"):
        table.add_column(column)
    for verdict in outcome.verdicts:
        result = verdict.result
        why = "; ".join(c.name for c in result.checks if c.verdict in ("fail", "inconclusive"))
        table.add_row(
            escape(result.model_id),
            _protocol(result.model_id),
            result.decision,
            escape(why) or "every check passed",
        )
    expiry = "never" if outcome.expires_at is None else f"{outcome.expires_at:%Y-%m-%d}"
    console.print(
        f"policy {escape(policy.name)} ({escape(str(policy.path and policy.path.resolve()))}, "
        f"sha256 {(policy.source_hash or '')[:12]}); the decisions expire {expiry}"
    )
    console.print(table)
    summary = reports.resolve() / "gate-summary.md"
    write_ci_outputs(
        outcome, junit_path=summary.with_name("gate-junit.xml"), summary_path=summary, environ={}
    )
    # default.yaml requires every judged model, so ref/sloppy's disable is the exit code
    refused = ", ".join(verdict.model_id for verdict in outcome.failed)
    console.print(
        f"gate exit code {outcome.exit_code}"
        + (f" (not enabled: {escape(refused)})" if refused else "")
        + "; every decision: "
        f"CLEARANCE_CONFIG={escape(config.source)} clearance decisions list"
    )
    return summary


def _eval_demo(config: ClearanceConfig, catalog: Catalog) -> str:
    """Replay the starter suite's recordings of the reference models and summarize."""
    from clearance.catalog.runstore import ResultStore
    from clearance.evaluation.cases import load_suites
    from clearance.evaluation.engine import Evaluation
    from clearance.evaluation.metrics import summarize
    from clearance.evaluation.simulator import SimulatorProviders
    from clearance.gate.adaptive import GateRounds, StoppingRule
    from clearance.gate.run import find_policy

    suite = load_suites(config, config.evals.suites)
    policy = find_policy(config)
    # until decided: trials in rounds, stopping on the configured policy's decision
    # (gates/README.md, "Adaptive trials")
    rule = StoppingRule(config.evals.trials, policy.min_trials_per_case)
    evaluation = Evaluation(
        config,
        catalog,
        suite,
        list(config.evals.models),
        record_mode="none",
        providers=SimulatorProviders(),
        rounds=GateRounds(config, catalog, policy, (), rule),
    )
    run = evaluation.run()
    counts = run.counts
    played = len(run.outcomes)
    console.print(
        f"run {run.run_id}: until decided under the {escape(policy.name)} policy, "
        f"{evaluation.looks} rounds replayed in {run.elapsed_s:.1f} s: {played} trials where "
        f"a fixed run makes {run.planned} ({len(suite.cases)} cases x "
        f"{len(config.evals.models)} models x {config.evals.trials} trials), "
        f"{run.planned - played} calls saved; {counts['pass']} passed, {counts['fail']} "
        f"failed, {counts['infra_error']} infrastructure errors"
    )
    summary = summarize(ResultStore(catalog).results(run.run_id))
    table = Table()
    for column in ("model (a SIMULATOR)", "protocol", "pass@1", "pass^3", "top failure codes"):
        table.add_column(column)
    for model in summary.models:
        hat = model.pass_hat_k.get(config.evals.trials)
        codes = sorted(model.failure_codes.items(), key=lambda kv: -kv[1])[:3]
        table.add_row(
            escape(model.model_id),
            _protocol(model.model_id),
            f"{model.pass_at_1:.2f}" if model.pass_at_1 is not None else "-",
            f"{hat.value:.2f}" if hat is not None and hat.value is not None else "-",
            escape(", ".join(f"{code} {n}" for code, n in codes)) or "-",
        )
    console.print(table)
    console.print(
        f"details: CLEARANCE_CONFIG={escape(config.source)} clearance runs show {run.run_id}"
    )
    return run.run_id
