"""``clearance prices`` and ``clearance price``: price sources and the cost of a call."""

from __future__ import annotations

import warnings
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from clearance.catalog.modelstore import get_model, resolve_model_id
from clearance.catalog.pricestore import import_litellm, load_price
from clearance.cli._common import EXIT_USAGE, console, emit_json, errors, fail, handle_errors, load
from clearance.config import ClearanceConfig
from clearance.litellm_table import read_litellm_table
from clearance.pricing import (
    CallCost,
    DefaultPriceWarning,
    Price,
    PriceRates,
    Usage,
    price_call,
    price_call_strict,
)

app = typer.Typer(help="Price sources.", no_args_is_help=True)


@app.command("import-litellm")
@handle_errors
def import_litellm_command(
    file: Annotated[Path, typer.Argument(help="LiteLLM's model_prices_and_context_window.json")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Add LiteLLM's prices for the catalog's models as a second price source."""
    config, catalog = load()
    table = read_litellm_table(file)
    with catalog.begin() as connection:
        report = import_litellm(connection, table, aliases=config.pricing.litellm_keys)
    if as_json:
        emit_json({**report.to_dict(), "matches": dict(report.matched)})
        return
    console.print(
        f"read {report.entries} priced entries from {escape(str(file))}; "
        f"{len(report.matched)} catalog models matched ({report.prices_added} new price "
        f"versions, {report.prices_unchanged} unchanged); {report.unmatched_models} catalog "
        "models have no LiteLLM entry (map them with pricing.litellm_keys)"
    )


def default_price(config: ClearanceConfig, model_id: str) -> Price:
    """The configured stand-in price for a model with none."""
    return Price(
        model_id=model_id,
        rates=PriceRates(
            config.pricing.default_prompt_per_token, config.pricing.default_completion_per_token
        ),
        source="default",
    )


def cost_document(model_id: str, usage: Usage, cost: CallCost) -> dict[str, object]:
    """The JSON answer of ``clearance price``."""
    price = cost.price
    return {
        "model": model_id,
        "cost_usd": cost.cost,
        "pricing_source": cost.pricing_source,
        "computed_usd": cost.computed,
        "computed_from": cost.computed_from,
        "reported_usd": cost.reported,
        "price": None
        if price is None
        else {
            "source": price.source,
            "price_id": price.price_id,
            "rates_usd_per_token": price.rates_for(usage.prompt_tokens).as_strings(),
            "per_request_usd": price.per_request,
        },
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
        },
    }


@handle_errors
def price(
    model: Annotated[str, typer.Argument(help="PROVIDER:NAME, or a NAME unique in the catalog.")],
    prompt_tokens: Annotated[int, typer.Option(help="All input tokens, cached ones included.")],
    completion_tokens: Annotated[int, typer.Option(help="All output tokens, reasoning included.")],
    cached_tokens: Annotated[int, typer.Option(help="Input tokens read from cache.")] = 0,
    cache_write_tokens: Annotated[int, typer.Option(help="Input tokens written to cache.")] = 0,
    reasoning_tokens: Annotated[int, typer.Option(help="Output tokens spent reasoning.")] = 0,
    reported_cost: Annotated[
        str | None, typer.Option(help="The provider's own cost figure (USD), if any.")
    ] = None,
    strict: Annotated[
        bool | None, typer.Option("--strict/--best-effort", help="Fail when there is no price.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the cost of a call (USD, exact) and where the price came from."""
    reported: Decimal | None = None
    if reported_cost is not None:
        try:
            reported = Decimal(reported_cost)
        except InvalidOperation:
            fail(f"--reported-cost {reported_cost!r} is not a decimal number", code=EXIT_USAGE)
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_tokens=cached_tokens,
        cache_write_tokens=cache_write_tokens,
        reasoning_tokens=reasoning_tokens,
        reported_cost=reported,
    )
    config, catalog = load()
    with catalog.connect() as connection:
        model_id = resolve_model_id(connection, model, config.provider_names)
        entry = get_model(connection, model_id)
        found = load_price(connection, model_id, config.pricing.source_priority)
    if config.pricing.strict if strict is None else strict:
        cost = price_call_strict(model_id, usage, found)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DefaultPriceWarning)
            cost = price_call(model_id, usage, found, default=default_price(config, model_id))
        for warning in caught:
            reason = " (its pricing is dynamic)" if entry.pricing_status == "dynamic" else ""
            errors.print(f"[yellow]warning:[/] {escape(str(warning.message))}{reason}")
    if as_json:
        emit_json(cost_document(model_id, usage, cost))
        return
    console.print(
        f"{escape(model_id)}: [bold]{cost.cost:f} USD[/] (pricing source: {cost.pricing_source}"
        + (f", computed {cost.computed:f} from {cost.computed_from}" if cost.reported else "")
        + ")"
    )
