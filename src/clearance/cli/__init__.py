"""The ``clearance`` command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from clearance.cli import (
    audit,
    contracts,
    evals,
    gate,
    models,
    policy,
    prices,
    reference,
    report,
    runtime,
    slo,
)
from clearance.cli._common import console, emit_json, handle_errors, load
from clearance.cli.demo import demo
from clearance.cli.init import init_command

__all__ = ["app", "main"]

app = typer.Typer(
    name="clearance",
    help="Evaluate, gate and route LLM models: catalog, policy, pricing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init")(init_command)
app.add_typer(models.app, name="models")
app.add_typer(prices.app, name="prices")
app.add_typer(policy.app, name="policy")
app.add_typer(policy.orgs_app, name="orgs")
app.command("price")(prices.price)
app.command("call")(runtime.call)
app.add_typer(runtime.killswitch_app, name="killswitch")
app.add_typer(runtime.calls_app, name="calls")
app.add_typer(reference.app, name="reference")
app.add_typer(contracts.app, name="contracts")
app.command("audit")(audit.audit)
app.command("eval")(evals.eval_command)
app.add_typer(evals.runs_app, name="runs")
app.command("gate")(gate.gate_command)
app.add_typer(gate.decisions_app, name="decisions")
app.add_typer(slo.app, name="slo")
app.command("report")(report.report_command)
app.command("demo")(demo)


def _print_version(value: bool) -> None:
    if value:
        from clearance import __version__

        typer.echo(f"clearance {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Evaluate, gate and route LLM models: catalog, policy, pricing."""


db_app = typer.Typer(help="The catalog database.", no_args_is_help=True)
config_app = typer.Typer(help="The configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply pending migrations to the catalog database."""
    from clearance.catalog.migrate import upgrade

    _, catalog = load(migrate=False)
    before, after = upgrade(catalog)
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    console.print(f"{escape(catalog.display_url)}: {state} revision {after}")


@db_app.command("current")
@handle_errors
def db_current() -> None:
    """Print the catalog's schema revision."""
    from clearance.catalog.migrate import HEAD, current_revision

    _, catalog = load(migrate=False)
    with catalog.connect() as connection:
        revision = current_revision(connection)
    note = "" if revision == HEAD else f" (newest is {HEAD}: run `clearance db upgrade`)"
    console.print(f"{escape(catalog.display_url)}: revision {revision or 'none'}{note}")


@config_app.command("show")
@handle_errors
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the configuration in force (file plus environment)."""
    from clearance.config import load_config

    config = load_config()
    document = {"source": config.source, **config.model_dump(mode="json")}
    document["catalog"]["database_url"] = config.resolved_database_url()
    if as_json:
        emit_json(document)
    else:
        console.print(document)


@config_app.command("env")
def config_env() -> None:
    """List the environment variables clearance reads."""
    from clearance.config import ENVIRONMENT

    for name, meaning in ENVIRONMENT.items():
        console.print(f"[bold]{name}[/]: {escape(meaning)}")


def main() -> None:
    """Entry point of the ``clearance`` console script."""
    app()
