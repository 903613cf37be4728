"""``clearance models``: discover, list, enable and disable models."""

from __future__ import annotations

import datetime as dt
import difflib
import getpass
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlparse

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import EXIT_USAGE, console, emit_json, fail, handle_errors, load
from clearance.cli._options import App, split_list

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.catalog.gatestore import OverrideAction
    from clearance.catalog.modelstore import ModelEntry
    from clearance.catalog_snapshot import CatalogSnapshot
    from clearance.config import ClearanceConfig
    from clearance.discovery import ModelList
    from clearance.litellm_table import LiteLLMTable
    from clearance.providers.types import Protocol

app = App(help="Discover, list, enable and disable models.", no_args_is_help=True)

Format = Literal["auto", "openai", "openrouter", "anthropic", "gemini"]
FORMATS: tuple[Format, ...] = ("auto", "openai", "openrouter", "anthropic", "gemini")


def _name_for_source(source: str, model_list: ModelList | None) -> str:
    """A provider name for ``--from`` without ``--as``: the URL's host, or the file's format."""
    if source.startswith(("http://", "https://")):
        host = urlparse(source).hostname or "remote"
        for known in ("openrouter", "openai", "anthropic", "groq", "together", "mistral"):
            if known in host:
                return known
        if "deepseek" in host:
            return "deepseek"
        if host.endswith("generativelanguage.googleapis.com"):
            return "gemini"
        return "local" if host in ("127.0.0.1", "localhost", "::1") else host.split(".")[-2]
    return model_list.format if model_list is not None else "imported"


@app.command("sync")
@handle_errors
def sync(
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider", metavar="PROVIDER", help="A provider declared in the configuration."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="URL|FILE",
            help="A base URL (GET URL/models), a saved /models answer, a cassette, or a "
            "snapshot written by `clearance models export` (restored as it is).",
        ),
    ] = None,
    as_name: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="NAME",
            help="Provider name for --from (default: guessed). For a snapshot: the new name "
            "of its one provider (refused for a snapshot of several providers).",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="auto (the provider's protocol's, else the answer's shape), openai, "
            "openrouter, anthropic or gemini.",
        ),
    ] = "auto",
    litellm: Annotated[
        Path | None,
        typer.Option(
            "--litellm",
            metavar="FILE",
            help="Also price the provider's models from LiteLLM's "
            "model_prices_and_context_window.json (Anthropic's and Gemini's lists carry "
            "no prices), in the same transaction.",
        ),
    ] = None,
    enable_new: Annotated[
        bool | None,
        typer.Option(
            "--enable-new/--no-enable-new",
            help="Enable newly found models for traffic (default: catalog.auto_enable_discovered).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read a provider's model list into the catalog; a failed sync changes nothing."""
    from clearance.catalog.modelstore import ensure_provider, sync_models
    from clearance.catalog_snapshot import CatalogSnapshot
    from clearance.discovery import fetch_model_list, read_models_file
    from clearance.modelid import is_valid_provider_name
    from clearance.providers.keys import read_api_key

    if (provider is None) == (source is None):
        fail("give exactly one of --provider NAME or --from URL|FILE", code=EXIT_USAGE)
    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}", code=EXIT_USAGE)
    models_format: Format = fmt
    config, catalog = load()
    table = None if litellm is None else _litellm_table(litellm)  # a bad file fails first
    base_url: str | None
    api_key_env: str | None = None
    protocol: Protocol | None = None  # None: the catalog's, else the list's format's
    if provider is not None:
        declared = config.provider(provider)
        name, base_url, api_key_env = declared.name, declared.base_url, declared.api_key_env
        protocol = declared.protocol
        if models_format == "auto":
            models_format = declared.models_format
        api_key = read_api_key(name, api_key_env, source=config.source)  # before any I/O
        model_list = fetch_model_list(
            base_url,
            api_key=api_key,
            api_key_env=api_key_env,
            fmt=models_format,
            protocol=protocol,
            provider=name,
            timeout_s=declared.timeout_s,
        )
    else:
        assert source is not None
        if source.startswith(("http://", "https://")):
            base_url = source.rstrip("/")
            model_list = fetch_model_list(base_url, fmt=models_format)
        else:
            base_url = None
            found = read_models_file(Path(source), fmt=models_format)
            if isinstance(found, CatalogSnapshot):
                if table is not None:
                    fail(
                        "--litellm prices a /models answer; a snapshot restores its own prices",
                        fix="leave --litellm out, or run `clearance prices import-litellm FILE`",
                        code=EXIT_USAGE,
                    )
                _restore(found, as_name, fmt, enable_new, as_json, config, catalog)
                return
            model_list = found
        name = as_name or _name_for_source(source, model_list)
        if as_name is None and name in config.provider_names:
            declared = config.provider(name)
            base_url, api_key_env = declared.base_url, declared.api_key_env
            protocol = declared.protocol
    if protocol is None:
        protocol = _protocol_of(model_list.format)
    if not is_valid_provider_name(name):
        fail(
            f"provider name {name!r} is not valid",
            fix="use lower case, digits and _.- (--as)",
            code=EXIT_USAGE,
        )
    enable = config.catalog.auto_enable_discovered if enable_new is None else enable_new
    with catalog.begin() as connection:
        ensure_provider(
            connection,
            name,
            base_url=base_url,
            api_key_env=api_key_env,
            models_format=model_list.format,
            protocol=protocol,
        )
        report = sync_models(connection, name, model_list, enable_new=enable)
        priced = None
        if table is not None:
            from clearance.litellm_table import import_litellm

            priced = import_litellm(
                connection, table, aliases=config.pricing.litellm_keys, providers=[name]
            )
    from_litellm = {} if priced is None else dict(priced.matched)
    unpriced = [model_id for model_id in report.unpriced if model_id not in from_litellm]
    if as_json:
        document: dict[str, Any] = {
            **report.to_dict(),
            "protocol": protocol,
            "skipped": list(model_list.skipped),
        }
        if priced is not None:
            document["litellm"] = {**priced.to_dict(), "matches": from_litellm}
            document["unpriced"] = len(unpriced)
        emit_json(document)
        return
    console.print(
        f"synced [bold]{escape(name)}[/] ({protocol} protocol) from "
        f"{escape(model_list.source)} ({model_list.format}): "
        f"{len(report.added)} new, {len(report.updated)} updated, {len(report.removed)} removed; "
        f"{report.prices_added} new price versions, {report.prices_unchanged} unchanged"
    )
    if model_list.skipped:
        console.print(
            f"{len(model_list.skipped)} models left out: they cannot generate content "
            "(embeddings, image and video models)"
        )
    if report.dynamic:
        console.print(
            "dynamic pricing (priced per request, so calls use the default price): "
            + ", ".join(escape(m) for m in report.dynamic)
        )
    if priced is not None:
        console.print(
            f"{len(from_litellm)} models priced from LiteLLM's table {escape(str(litellm))} "
            f"({priced.prices_added} new price versions, {priced.prices_unchanged} unchanged)"
        )
    if unpriced:
        where = "in this list" if priced is None else "in this list or LiteLLM's table"
        console.print(
            f"{len(unpriced)} models have no price {where} (calls to them are priced at the "
            "default): "
            + ", ".join(escape(m) for m in unpriced[:10])
            + (", ..." if len(unpriced) > 10 else "")
        )
    if report.added:
        state = "enabled" if enable else "not enabled (a gate or a person enables them)"
        console.print(f"new models are {state}")


def _litellm_table(path: Path) -> LiteLLMTable:
    from clearance.litellm_table import read_litellm_table

    return read_litellm_table(path)


def _protocol_of(fmt: str) -> Protocol:
    """The protocol of a provider first met through a list of this format."""
    return "anthropic" if fmt == "anthropic" else "gemini" if fmt == "gemini" else "openai"


def _row(model: ModelEntry, prices: dict[str, str]) -> list[str]:
    state = "removed" if model.removed_at else ("enabled" if model.enabled else "disabled")
    tools = {True: "yes", False: "no", None: "?"}[model.supports_tools]
    return [
        model.id,
        state,
        model.gate_status,
        tools,
        f"{model.context_length:,}" if model.context_length else "?",
        prices.get(model.id, model.pricing_status),
    ]


@app.command("list")
@handle_errors
def list_(
    provider: Annotated[
        str | None,
        typer.Option("--provider", metavar="PROVIDER", help="Only this provider's models."),
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Only enabled or disabled ones.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show the catalog."""
    from clearance.catalog.modelstore import list_models
    from clearance.catalog.pricestore import load_prices

    config, catalog = load()
    with catalog.connect() as connection:
        models = list_models(connection, provider=provider, enabled=enabled)
        prices = load_prices(connection, config.pricing.source_priority)
    if as_json:
        emit_json(
            [
                {
                    "id": m.id,
                    "provider": m.provider,
                    "name": m.name,
                    "display_name": m.display_name,
                    "enabled": m.enabled,
                    "gate_status": m.gate_status,
                    "removed": m.removed_at is not None,
                    "context_length": m.context_length,
                    "max_completion_tokens": m.max_completion_tokens,
                    "capabilities": m.capabilities,
                    "pricing_status": m.pricing_status,
                    "price": None
                    if m.id not in prices
                    else {
                        "source": prices[m.id].source,
                        "prompt_per_token": prices[m.id].rates.prompt,
                        "completion_per_token": prices[m.id].rates.completion,
                        "cache_read_per_token": prices[m.id].rates.cache_read,
                        "price_id": prices[m.id].price_id,
                    },
                }
                for m in models
            ]
        )
        return
    per_million = {
        model_id: f"{price.rates.prompt * 1_000_000:f} / {price.rates.completion * 1_000_000:f}"
        f" ({price.source})"
        for model_id, price in prices.items()
    }
    table = Table(title=f"{len(models)} models in {catalog.display_url}")
    for column in ("model", "state", "gate", "tools", "context", "USD per 1M in / out"):
        table.add_column(column)
    for model in models:
        table.add_row(*(escape(cell) for cell in _row(model, per_million)))
    console.print(table)


@app.command("providers")
@handle_errors
def providers_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show the providers: declared in the configuration or kept in the catalog.

    Each with the settings the router calls it with (the configuration's win over the
    catalog's): its wire protocol, base URL and the variable holding its key.
    """
    from clearance.catalog.modelstore import list_providers

    config, catalog = load()
    with catalog.connect() as connection:
        stored = {entry.name: entry for entry in list_providers(connection)}
    rows: list[dict[str, Any]] = []
    for name in sorted(stored.keys() | config.provider_names):
        entry = stored.get(name)
        if name in config.provider_names:
            declared = config.provider(name)
            settings: tuple[str, str | None, str | None] = (
                declared.protocol,
                declared.base_url,
                declared.api_key_env,
            )
            where = "configuration and catalog" if entry is not None else "configuration"
        else:
            assert entry is not None
            settings = (entry.protocol, entry.base_url, entry.api_key_env)
            where = "catalog"
        rows.append(
            {
                "name": name,
                "protocol": settings[0],
                "base_url": settings[1],
                "api_key_env": settings[2],
                "models_format": None if entry is None else entry.models_format,
                "declared_in": where,
            }
        )
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} providers")
    for column in ("provider", "protocol", "base URL", "key variable", "declared in"):
        table.add_column(column)
    for row in rows:
        cells = (row["name"], row["protocol"], row["base_url"] or "?", row["api_key_env"] or "-")
        table.add_row(*(escape(cell) for cell in (*cells, row["declared_in"])))
    console.print(table)


def _set(
    model: str,
    action: OverrideAction,
    reason: str,
    override: bool,
    days: int | None,
    as_json: bool = False,
) -> None:
    from clearance.catalog.gatestore import gate_states, record_override, state_of
    from clearance.catalog.modelstore import get_model, resolve_model_id

    config, catalog = load()
    require = config.gate.require_decision
    now = dt.datetime.now(dt.UTC)
    expires = None if days is None else now + dt.timedelta(days=days)
    with catalog.begin() as connection:
        model_id = resolve_model_id(connection, model, config.provider_names)
        current = state_of(
            gate_states(connection, require_decision=require, now=now, model_ids=[model_id]),
            model_id,
            require_decision=require,
        )
        # a gated model's flag follows its gate state; only an ungated one's is its own
        flag = get_model(connection, model_id).enabled
        served = current.allows and (flag or current.label != "ungated")
        if action == "clear":
            if current.override is None:
                if as_json:
                    emit_json(_unchanged(model_id, current))
                    return
                console.print(
                    f"{escape(model_id)}: no override in force ({escape(current.detail)})"
                )
                return
        elif current.label == "ungated" and not require:
            pass  # no gate decision to go against: a person's flag is the only control
        elif (action == "enable") == served:
            if not override:
                if as_json:
                    emit_json(_unchanged(model_id, current))
                    return
                state = "served" if served else "not served"
                console.print(
                    f"{escape(model_id)} is already {state}: {escape(current.detail)} "
                    "(pass --override to pin it whatever later gate runs decide)"
                )
                return
        elif not override:
            fail(
                f"{model_id}: the gate's state disagrees: {current.detail}",
                fix=f"pass --override to {action} it anyway (recorded with your reason and name)",
                code=EXIT_USAGE,
            )
        before, after = record_override(
            connection,
            model_id=model_id,
            action=action,
            reason=reason,
            decided_by=getpass.getuser(),
            host=socket.gethostname(),
            decided_at=now,
            expires_at=expires,
            require_decision=require,
        )
    if as_json:
        emit_json(
            {
                "model_id": model_id,
                "changed": True,
                "before": before.label,
                "after": after.label,
                "served": after.allows,
                "detail": after.detail,
                "reason": reason,
                "expires_at": expires,
            }
        )
        return
    until = "" if expires is None else f", until {expires:%Y-%m-%d %H:%M} UTC"
    console.print(
        f"{escape(model_id)}: {before.label} -> {after.label} "
        f"(override recorded{until}: {escape(reason)})"
    )
    console.print(f"now: {escape(after.detail)}")


def _unchanged(model_id: str, state: Any) -> dict[str, Any]:
    """``models enable|disable|clear-override --json`` when nothing was recorded."""
    return {
        "model_id": model_id,
        "changed": False,
        "before": state.label,
        "after": state.label,
        "served": state.allows,
        "detail": state.detail,
    }


_JSON = typer.Option("--json", help="Print the model's state before and after as JSON.")
_REASON = typer.Option(
    "--reason", metavar="TEXT", help="Why; recorded with your user name and host."
)
_OVERRIDE = typer.Option(
    "--override", help="Go against the gate's decision (audited; later gate runs do not undo it)."
)
_DAYS = typer.Option(
    "--expires-in-days", metavar="N", min=1, help="The override lapses after this many days."
)
_MODEL = typer.Argument(metavar="MODEL_ID", help="PROVIDER:NAME, or a NAME unique in the catalog.")


@app.command("enable")
@handle_errors
def enable(
    model: Annotated[str, _MODEL],
    reason: Annotated[str, _REASON],
    override: Annotated[bool, _OVERRIDE] = False,
    expires_in_days: Annotated[int | None, _DAYS] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Enable a model for traffic by hand (recorded as an override)."""
    _set(model, "enable", reason, override, expires_in_days, as_json)


@app.command("disable")
@handle_errors
def disable(
    model: Annotated[str, _MODEL],
    reason: Annotated[str, _REASON],
    override: Annotated[bool, _OVERRIDE] = False,
    expires_in_days: Annotated[int | None, _DAYS] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Disable a model for traffic by hand (recorded as an override)."""
    _set(model, "disable", reason, override, expires_in_days, as_json)


@app.command("clear-override")
@handle_errors
def clear_override(
    model: Annotated[str, _MODEL],
    reason: Annotated[str, _REASON],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Hand a model back to the gate: its latest gate decision counts again."""
    _set(model, "clear", reason, True, None, as_json)


def _restore(
    snapshot: CatalogSnapshot,
    as_name: str | None,
    fmt: str,
    enable_new: bool | None,
    as_json: bool,
    config: ClearanceConfig,
    catalog: Catalog,
) -> None:
    """``models sync --from SNAPSHOT``: restore providers, models and prices in one transaction."""
    from clearance.catalog_snapshot import FORMAT, restore_snapshot
    from clearance.modelid import is_valid_provider_name

    if fmt != "auto":
        fail(
            f"--format {fmt} applies to /models answers; {snapshot.source} is a catalog snapshot",
            fix="leave --format out",
            code=EXIT_USAGE,
        )
    if as_name is not None:
        names = [provider.name for provider in snapshot.providers]
        if len(names) != 1:
            fail(
                f"--as renames the one provider of a snapshot; {snapshot.source} holds "
                f"{len(names)} ({', '.join(names) or 'none'})",
                fix="leave --as out to restore each provider under its own name, or export "
                "one provider (`clearance models export --provider NAME`)",
                code=EXIT_USAGE,
            )
        if not is_valid_provider_name(as_name):
            fail(
                f"provider name {as_name!r} is not valid",
                fix="use lower case, digits and _.- (--as)",
                code=EXIT_USAGE,
            )
        snapshot = snapshot.renamed(as_name)
    enable = config.catalog.auto_enable_discovered if enable_new is None else enable_new
    with catalog.begin() as connection:
        reports = restore_snapshot(connection, snapshot, enable_new=enable)
    if as_json:
        emit_json(
            {
                "source": snapshot.source,
                "format": FORMAT,
                "providers": [report.to_dict() for report in reports],
            }
        )
        return
    if not reports:
        console.print(f"{escape(snapshot.source)} holds no providers; nothing to restore")
    for report in reports:
        console.print(
            f"restored [bold]{escape(report.provider)}[/] from {escape(snapshot.source)} "
            f"(snapshot): {len(report.added)} new, {len(report.updated)} updated, "
            f"{len(report.removed)} removed; {report.prices_added} new price versions, "
            f"{report.prices_unchanged} unchanged"
        )
    if any(report.added for report in reports):
        state = "enabled" if enable else "not enabled (a gate or a person enables them)"
        console.print(f"new models are {state}")


@app.command("export")
@handle_errors
def export(
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            metavar="PROVIDER,...",
            help="Only these providers' models; repeat or separate with commas (default: all).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="The snapshot's file ('-' or none: stdout)."),
    ] = None,
    include_removed: Annotated[
        bool,
        typer.Option("--include-removed", help="Also models gone from their provider's list."),
    ] = False,
) -> None:
    """Write providers, models and prices as a JSON snapshot to commit.

    `clearance models sync --from FILE` restores it exactly (idempotently). Prices are
    exact decimal strings, keys and models are sorted: a re-export diffs cleanly.
    """
    from clearance.catalog.modelstore import list_providers
    from clearance.catalog_snapshot import dumps_snapshot, export_snapshot

    providers = split_list(provider)
    _, catalog = load()
    with catalog.connect() as connection:
        known = [entry.name for entry in list_providers(connection)]
        for name in providers:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                listed = ", ".join(known) or "none (run `clearance models sync`)"
                fail(
                    f"provider {name!r} is not in the catalog",
                    fix=f"did you mean {close[0]!r}?" if close else f"known providers: {listed}",
                    code=EXIT_USAGE,
                )
        snapshot = export_snapshot(
            connection, providers=providers or None, include_removed=include_removed
        )
    text = dumps_snapshot(snapshot)
    if out is None or str(out) == "-":
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    models = sum(len(entry.models) for entry in snapshot.providers)
    console.print(
        f"wrote {models} models of {len(snapshot.providers)} providers to {escape(str(out))}"
    )
