"""``clearance policy`` and ``clearance orgs``: the model policy and the org settings it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import EXIT_USAGE, console, emit_json, fail, handle_errors, load
from clearance.cli._options import App, split_list

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from clearance.config import ClearanceConfig
    from clearance.modelpolicy import OrgPolicy

app = App(help="Ask the model policy which model serves a request.", no_args_is_help=True)
orgs_app = App(help="Org settings: enabled models and default model.", no_args_is_help=True)
fallbacks_app = App(help="Fallback chains stored in the catalog.", no_args_is_help=True)
app.add_typer(fallbacks_app, name="fallbacks")


def _model(connection: Connection, config: ClearanceConfig, text: str) -> str:
    from clearance.catalog.modelstore import resolve_model_id

    return resolve_model_id(connection, text, config.provider_names)


@app.command("resolve")
@handle_errors
def resolve(
    org: Annotated[str | None, typer.Option("--org", metavar="ORG", help="The org asking.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", metavar="MODEL_ID", help="A requested model.")
    ] = None,
    tier: Annotated[
        str | None, typer.Option("--tier", metavar="TIER", help="strong, mid or cheap.")
    ] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", metavar="SESSION_ID", help="The session (for pinning)."),
    ] = None,
    write_pin_: Annotated[
        bool, typer.Option("--write-pin", help="Store the session pin the decision asks for.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Show which model serves a request, why, and what was rejected."""
    from clearance.catalog.orgstore import read_policy_state, write_pin
    from clearance.config import TIERS
    from clearance.modelpolicy import RouteRequest, resolve_model

    if tier is not None and tier not in TIERS:
        fail(f"--tier {tier!r} is not one of {', '.join(TIERS)}", code=EXIT_USAGE)
    config, catalog = load()
    with catalog.begin() as connection:
        # the read the router decides on, so the answer is the router's
        state = read_policy_state(
            connection,
            config,
            org_ids=[org] if org else [],
            session_ids=[session] if session else [],
        )
        # an unknown model stays as written: the decision reports it as unknown_model
        requested = None if model is None else state.canonical(model)
        decision = resolve_model(
            RouteRequest(org_id=org, model=requested, tier=tier, session_id=session),
            state.snapshot,
        )
        if write_pin_ and decision.pin is not None and session is not None:
            write_pin(connection, session, decision.pin, org)
    if as_json:
        emit_json(decision.to_dict())
        return
    console.print(f"[bold]{escape(decision.model_id)}[/] ({decision.reason})")
    for rejection in decision.rejected:
        console.print(
            f"  rejected {escape(rejection.model_id or '-')} as {rejection.role}: "
            f"{rejection.reason} - {escape(rejection.detail)}"
        )
    if decision.fallbacks:
        console.print("  fallbacks: " + " -> ".join(escape(m) for m in decision.fallbacks))
    if decision.pin:
        console.print(
            f"  session pin: {escape(decision.pin)}"
            + ("" if write_pin_ else " (not written; --write-pin stores it)")
        )


def _org_document(org: OrgPolicy) -> dict[str, object]:
    return {
        "org_id": org.org_id,
        "enabled_models": None if org.enabled_models is None else list(org.enabled_models),
        "default_model_id": org.default_model_id,
        "legacy_model": org.legacy_model,
    }


@orgs_app.command("set")
@handle_errors
def org_set(
    org: Annotated[str, typer.Argument(metavar="ORG", help="The org id.")],
    enable: Annotated[
        list[str] | None,
        typer.Option(
            "--enable",
            metavar="MODEL_ID,...",
            help="Add models to the org's enabled list; repeat or separate with commas.",
        ),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option(
            "--remove",
            metavar="MODEL_ID,...",
            help="Take models off the enabled list; repeat or separate with commas.",
        ),
    ] = None,
    default: Annotated[
        str | None,
        typer.Option("--default", metavar="MODEL_ID", help="The org's default model."),
    ] = None,
    legacy_model: Annotated[
        str | None,
        typer.Option("--legacy-model", metavar="MODEL_ID", help="The legacy single-model field."),
    ] = None,
    clear_enabled: Annotated[
        bool, typer.Option("--clear-enabled", help="Empty the enabled list first.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> None:
    """Create or change an org's settings."""
    from clearance.catalog.orgstore import get_org, set_org

    config, catalog = load()
    with catalog.begin() as connection:
        current = get_org(connection, org)
        enabled = list(current.enabled_models or ()) if current else []
        if clear_enabled:
            enabled = []
        for text in split_list(enable):
            model_id = _model(connection, config, text)
            if model_id not in enabled:
                enabled.append(model_id)
        for text in split_list(remove):
            model_id = _model(connection, config, text)
            enabled = [m for m in enabled if m != model_id]
        changes: dict[str, object] = {}
        if enable or remove or clear_enabled:
            changes["enabled_models"] = enabled
        if default is not None:
            changes["default_model_id"] = _model(connection, config, default)
        if legacy_model is not None:
            changes["legacy_model"] = _model(connection, config, legacy_model)
        result = set_org(connection, org, **changes)  # type: ignore[arg-type]
    if as_json:
        emit_json(_org_document(result))
        return
    enabled_text = (
        "not set (every enabled model)"
        if result.enabled_models is None
        else ", ".join(result.enabled_models) or "none"
    )
    console.print(f"org [bold]{escape(result.org_id)}[/]")
    console.print(f"  enabled models: {escape(enabled_text)}")
    console.print(f"  default model: {escape(result.default_model_id or '-')}")
    if result.legacy_model:
        console.print(f"  legacy model: {escape(result.legacy_model)}")


@orgs_app.command("list")
@handle_errors
def org_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show every org's settings."""
    from clearance.catalog.orgstore import list_orgs

    _, catalog = load()
    with catalog.connect() as connection:
        orgs = list_orgs(connection)
    if as_json:
        emit_json([_org_document(org) for org in orgs])
        return
    table = Table(title=f"{len(orgs)} orgs")
    for column in ("org", "default", "legacy model", "enabled models"):
        table.add_column(column)
    for org in orgs:
        enabled = "(not set)" if org.enabled_models is None else ", ".join(org.enabled_models)
        table.add_row(
            *(
                escape(c or "-")
                for c in (org.org_id, org.default_model_id, org.legacy_model, enabled)
            )
        )
    console.print(table)


@fallbacks_app.command("set")
@handle_errors
def fallbacks_set(
    model: Annotated[
        str, typer.Argument(metavar="MODEL_ID", help="The model whose chain this is.")
    ],
    chain: Annotated[
        list[str],
        typer.Argument(
            metavar="FALLBACK_ID...", help="Fallback models, in order (spaces or commas)."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored chain as JSON.")
    ] = False,
) -> None:
    """Store a model's fallback chain in the catalog (replaces the old one)."""
    from clearance.catalog.orgstore import set_fallback_chain

    config, catalog = load()
    with catalog.begin() as connection:
        model_id = _model(connection, config, model)
        resolved = [_model(connection, config, m) for m in split_list(chain)]
        set_fallback_chain(connection, model_id, resolved)
    if as_json:
        emit_json({"model_id": model_id, "fallbacks": resolved})
        return
    console.print(f"{escape(model_id)} -> " + " -> ".join(escape(m) for m in resolved))


@fallbacks_app.command("list")
@handle_errors
def fallbacks_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the fallback chains stored in the catalog and declared in the configuration."""
    from clearance.catalog.orgstore import fallback_chains

    config, catalog = load()
    with catalog.connect() as connection:
        stored = fallback_chains(connection)
    declared = {m: tuple(c) for m, c in config.policy.fallbacks.items()}
    if as_json:
        emit_json({"catalog": stored, "configuration": declared})
        return
    for origin, chains in (("catalog", stored), ("configuration", declared)):
        for model_id, fallbacks in sorted(chains.items()):
            console.print(f"{escape(model_id)} -> {' -> '.join(map(escape, fallbacks))} ({origin})")
