"""``clearance prices``: price sources (set, list, import-litellm) and the cost of a call."""

from __future__ import annotations

import datetime as dt
import decimal
import getpass
import socket
import warnings
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import EXIT_USAGE, console, emit_json, errors, fail, handle_errors, load
from clearance.cli._options import App

if TYPE_CHECKING:
    from clearance.catalog.modelstore import ModelEntry
    from clearance.catalog.pricestore import PriceVersion
    from clearance.config import ClearanceConfig
    from clearance.pricing import CallCost, Price, Usage

app = App(help="Price sources and the cost of a call.", no_args_is_help=True)


@app.command("import-litellm")
@handle_errors
def import_litellm_command(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="LiteLLM's model_prices_and_context_window.json"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Add LiteLLM's prices for the catalog's models as a second price source."""
    from clearance.litellm_table import import_litellm, read_litellm_table

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
    from clearance.pricing import Price, PriceRates

    return Price(
        model_id=model_id,
        rates=PriceRates(
            config.pricing.default_prompt_per_token, config.pricing.default_completion_per_token
        ),
        source="default",
    )


def cost_document(model_id: str, usage: Usage, cost: CallCost) -> dict[str, object]:
    """The JSON answer of ``clearance prices cost``."""
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


_MODEL = typer.Argument(metavar="MODEL_ID", help="PROVIDER:NAME, or a NAME unique in the catalog.")


def _tokens(name: str, help: str) -> Any:
    return typer.Option(name, metavar="N", help=help)


@app.command("cost")
@handle_errors
def cost_command(
    ctx: typer.Context,
    model: Annotated[str, _MODEL],
    prompt_tokens: Annotated[
        int, _tokens("--prompt-tokens", "All input tokens, cached ones included.")
    ],
    completion_tokens: Annotated[
        int, _tokens("--completion-tokens", "All output tokens, reasoning included.")
    ],
    cached_tokens: Annotated[int, _tokens("--cached-tokens", "Input tokens read from cache.")] = 0,
    cache_write_tokens: Annotated[
        int, _tokens("--cache-write-tokens", "Input tokens written to cache.")
    ] = 0,
    reasoning_tokens: Annotated[
        int, _tokens("--reasoning-tokens", "Output tokens spent reasoning.")
    ] = 0,
    reported_cost: Annotated[
        str | None,
        typer.Option(
            "--reported-cost", metavar="USD", help="The provider's own cost figure, if any."
        ),
    ] = None,
    strict: Annotated[
        bool | None, typer.Option("--strict/--best-effort", help="Fail when there is no price.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the cost of a call (USD, exact) and where the price came from."""
    if ctx.info_name == "price":  # the old name, kept as a hidden alias
        errors.print(
            "note: `clearance price` is now `clearance prices cost` (same options); "
            "the old name will be removed",
            soft_wrap=True,
        )
    from clearance.catalog.modelstore import get_model, resolve_model_id
    from clearance.catalog.pricestore import load_price
    from clearance.pricing import DefaultPriceWarning, Usage, price_call, price_call_strict

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
    price_source = cost.price.source if cost.price is not None else "default"
    console.print(
        f"{escape(model_id)}: [bold]{cost.cost:f} USD[/] (pricing source: {cost.pricing_source}"
        + (f", {price_source} price" if cost.computed_from == "catalog" else "")
        + (f", computed {cost.computed:f} from {cost.computed_from}" if cost.reported else "")
        + ")"
    )


_UNITS = {"token": 0, "million": -6}
"""--unit: the power of ten that turns the given figure into USD per token."""
_SCALE = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


def _amount(option: str, text: str | None, *, unit: str | None) -> Decimal | None:
    """A price option as an exact USD amount (per token once ``unit`` is applied)."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        fail(
            f"{option} {text!r} is not a decimal number",
            fix=f"write it like {option} 0.15 (USD{'' if unit is None else ' per ' + unit})",
            code=EXIT_USAGE,
        )
    if not value.is_finite() or value < 0:
        what = "is negative" if value.is_finite() else "is not a finite number"
        fail(f"{option} {text!r} {what}", fix="a price is a USD amount >= 0", code=EXIT_USAGE)
    # normalized: "0.20" per million is stored as 0.0000002, as "0.0000002" per token is
    return value.scaleb(_UNITS[unit] if unit else 0, context=_SCALE).normalize(context=_SCALE)


def _per_million(value: Decimal | None) -> str:
    return "-" if value is None else f"{(value * 1_000_000).normalize():f}"


def _version_document(version: PriceVersion) -> dict[str, Any]:
    price = version.price
    return {
        "source": price.source,
        "price_id": price.price_id,
        "rates_usd_per_token": price.rates.as_strings(),
        "per_request_usd": price.per_request,
        "per_image_usd": price.per_image,
        "per_web_search_usd": price.per_web_search,
        "tiers": [
            {"min_prompt_tokens": tier.min_prompt_tokens, **tier.rates.as_strings()}
            for tier in price.tiers
        ],
        "effective_at": version.effective_at,
        "reason": version.reason,
        "set_by": version.set_by,
        "host": version.host,
    }


def _in_force_note(
    entry: ModelEntry, in_force: Price | None, priority: Sequence[str]
) -> str | None:
    """Why the manual price is not the one in force, and how to change that (None: it is)."""
    order = ", ".join(priority)
    if entry.pricing_status == "dynamic":
        return (
            f"{entry.id} is priced per request by its provider (dynamic): no stored price is "
            "used, its calls are priced at the default price"
        )
    if "manual" not in priority:
        return (
            f"pricing.source_priority ({order}) does not list manual, so manual prices are "
            'never used; add it, e.g. source_priority = ["manual", "provider", "litellm"] '
            "under [pricing] in clearance.toml"
        )
    if in_force is not None and in_force.source != "manual":
        first = ["manual", *(source for source in priority if source != "manual")]
        return (
            f"the {in_force.source} price is in force, not the manual one: "
            f"pricing.source_priority ({order}) puts {in_force.source} first; to let manual "
            f"prices win, set source_priority = {first!r} under [pricing] in clearance.toml"
        ).replace("'", '"')
    return None


@app.command("set")
@handle_errors
def set_price(
    model: Annotated[str, _MODEL],
    prompt: Annotated[
        str, typer.Option("--prompt", metavar="USD", help="USD per prompt token (see --unit).")
    ],
    completion: Annotated[
        str,
        typer.Option("--completion", metavar="USD", help="USD per completion token (see --unit)."),
    ],
    cached_prompt: Annotated[
        str | None,
        typer.Option(
            "--cached-prompt",
            metavar="USD",
            help="USD per prompt token read from cache (default: --prompt).",
        ),
    ] = None,
    cache_write: Annotated[
        str | None,
        typer.Option(
            "--cache-write",
            metavar="USD",
            help="USD per prompt token written to cache (default: --prompt).",
        ),
    ] = None,
    reasoning: Annotated[
        str | None,
        typer.Option(
            "--reasoning", metavar="USD", help="USD per reasoning token (default: --completion)."
        ),
    ] = None,
    per_request: Annotated[
        str | None,
        typer.Option(
            "--per-request", metavar="USD", help="USD per request (--unit does not apply)."
        ),
    ] = None,
    unit: Annotated[
        str,
        typer.Option(
            "--unit",
            metavar="UNIT",
            help="token: the rates are USD per token; million: USD per million tokens.",
        ),
    ] = "token",
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", metavar="TEXT", help="Why; recorded with your user name and host."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Set a model's manual price (a new audited version; the same price again adds none).

    For models whose /models answer has no price (vLLM, Ollama, a LiteLLM proxy).
    Which source is in force follows pricing.source_priority; the command says which.
    """
    from clearance.catalog.modelstore import get_model, resolve_model_id
    from clearance.catalog.pricestore import (
        PriceVersion,
        latest_versions,
        load_price,
        store_price_versions,
    )
    from clearance.pricing import Price, PriceRates

    if unit not in _UNITS:
        fail(f"--unit {unit!r} is not token or million", code=EXIT_USAGE)
    rates = {
        option: _amount(option, text, unit=unit)
        for option, text in (
            ("--prompt", prompt),
            ("--completion", completion),
            ("--cached-prompt", cached_prompt),
            ("--cache-write", cache_write),
            ("--reasoning", reasoning),
        )
    }
    fee = _amount("--per-request", per_request, unit=None)
    config, catalog = load()
    priority = config.pricing.source_priority
    now = dt.datetime.now(dt.UTC)
    with catalog.begin() as connection:
        model_id = resolve_model_id(connection, model, config.provider_names)
        entry = get_model(connection, model_id)
        prompt_rate, completion_rate = rates["--prompt"], rates["--completion"]
        assert prompt_rate is not None
        assert completion_rate is not None
        price = Price(
            model_id=model_id,
            rates=PriceRates(
                prompt_rate,
                completion_rate,
                rates["--cached-prompt"],
                rates["--cache-write"],
                rates["--reasoning"],
            ),
            source="manual",
            per_request=fee or Decimal(0),
        )
        version = PriceVersion(
            price, now, reason=reason, set_by=getpass.getuser(), host=socket.gethostname()
        )
        added, _ = store_price_versions(connection, [version], now=now)
        manual = latest_versions(connection, [model_id])[model_id]["manual"]
        in_force = load_price(connection, model_id, priority)
    note = _in_force_note(entry, in_force, priority)
    if as_json:
        emit_json(
            {
                "model": model_id,
                "changed": bool(added),
                "manual": _version_document(manual),
                "in_force": None if in_force is None else in_force.source,
                "source_priority": list(priority),
                "note": note,
            }
        )
        return
    rates_text = (
        f"{_per_million(manual.price.rates.prompt)} / "
        f"{_per_million(manual.price.rates.completion)} USD per 1M prompt / completion tokens"
    )
    if added:
        console.print(f"{escape(model_id)}: manual price set: {rates_text}")
    else:
        console.print(
            f"{escape(model_id)}: unchanged: the manual price already charges {rates_text} "
            f"(set by {escape(manual.set_by or '?')} on {manual.effective_at:%Y-%m-%d %H:%M} UTC)"
        )
    if in_force is None:
        console.print(f"in force: no stored price ({escape(note or '')})")
        return
    console.print(
        f"in force: the [bold]{in_force.source}[/] price "
        f"({_per_million(in_force.rates.prompt)} / {_per_million(in_force.rates.completion)} "
        "USD per 1M tokens)"
    )
    if note:
        console.print(f"[yellow]note:[/] {escape(note)}")


@app.command("list")
@handle_errors
def list_prices(
    model: Annotated[
        str | None,
        typer.Argument(
            metavar="MODEL_ID", help="Only this model (PROVIDER:NAME or a unique NAME)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every source's newest price per model, and which one is in force."""
    from clearance.catalog.modelstore import resolve_model_id
    from clearance.catalog.pricestore import latest_versions, load_prices

    config, catalog = load()
    priority = config.pricing.source_priority
    with catalog.connect() as connection:
        ids = (
            None if model is None else [resolve_model_id(connection, model, config.provider_names)]
        )
        versions = latest_versions(connection, ids)
        in_force = load_prices(connection, priority, ids)
    order = {source: index for index, source in enumerate(priority)}
    if as_json:
        emit_json(
            [
                {
                    "model": model_id,
                    "in_force": in_force[model_id].source if model_id in in_force else None,
                    "prices": {
                        source: _version_document(version)
                        for source, version in sorted(versions[model_id].items())
                    },
                }
                for model_id in sorted(versions)
            ]
        )
        return
    if not versions:
        what = "this model" if model is not None else "the catalog"
        console.print(f"no stored price for {what}: calls are priced at the default price")
        return
    table = Table(title=f"prices (pricing.source_priority: {', '.join(priority)})")
    for column in ("model", "source", "USD per 1M in / out", "since", "in force", "set by / why"):
        table.add_column(column)
    for model_id in sorted(versions):
        chosen = in_force.get(model_id)
        by_source = versions[model_id]
        for source in sorted(by_source, key=lambda s: (order.get(s, len(order)), s)):
            version = by_source[source]
            rates = version.price.rates
            who = ", ".join(part for part in (version.set_by, version.host, version.reason) if part)
            table.add_row(
                escape(model_id),
                source,
                f"{_per_million(rates.prompt)} / {_per_million(rates.completion)}",
                f"{version.effective_at:%Y-%m-%d}",
                "yes" if chosen is not None and chosen.source == source else "",
                escape(who),
            )
    console.print(table)
