"""The ``clearance`` command."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from clearance.cli import (
    audit,
    contracts,
    evals,
    gate,
    kb,
    models,
    policy,
    prices,
    reference,
    report,
    runtime,
    slo,
)
from clearance.cli._common import console, emit_json, handle_errors, load
from clearance.cli._options import App
from clearance.cli.demo import demo
from clearance.cli.init import init_command

if TYPE_CHECKING:
    from clearance.config import ClearanceConfig

__all__ = ["app", "main"]

app = App(
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
# the old name of `prices cost`, hidden; it says so on stderr
app.command("price", hidden=True)(prices.cost_command)
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
app.add_typer(kb.app, name="kb")
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


db_app = App(help="The catalog database.", no_args_is_help=True)
config_app = App(help="The configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


@db_app.command("upgrade")
@handle_errors
def db_upgrade(
    as_json: Annotated[bool, typer.Option("--json", help="Print the revisions as JSON.")] = False,
) -> None:
    """Apply pending migrations to the catalog database."""
    from clearance.catalog.migrate import upgrade

    _, catalog = load(migrate=False)
    before, after = upgrade(catalog)
    if as_json:
        emit_json({"database": catalog.display_url, "before": before, "after": after})
        return
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    console.print(f"{escape(catalog.display_url)}: {state} revision {after}")


@db_app.command("current")
@handle_errors
def db_current(
    as_json: Annotated[bool, typer.Option("--json", help="Print the revision as JSON.")] = False,
) -> None:
    """Print the catalog's schema revision."""
    from clearance.catalog.migrate import HEAD, current_revision

    _, catalog = load(migrate=False)
    with catalog.connect() as connection:
        revision = current_revision(connection)
    if as_json:
        emit_json({"database": catalog.display_url, "revision": revision, "newest": HEAD})
        return
    note = "" if revision == HEAD else f" (newest is {HEAD}: run `clearance db upgrade`)"
    console.print(f"{escape(catalog.display_url)}: revision {revision or 'none'}{note}")


@config_app.command("show")
@handle_errors
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the configuration in force (file plus environment) as clearance.toml text.

    Unset keys are left out (TOML has no null) and named in a comment; decimals are
    written as exact strings. Saved as clearance.toml, it gives the same configuration.
    """
    from clearance.config import load_config

    config = load_config()
    if as_json:
        document = {"source": config.source, **config.model_dump(mode="json")}
        document["catalog"]["database_url"] = config.resolved_database_url()
        emit_json(document)
    else:
        sys.stdout.write(_config_toml(config))


def _config_toml(config: ClearanceConfig) -> str:
    """The configuration as TOML that :func:`~clearance.config.load_config` reads back."""
    import tomli_w

    unset: list[str] = []
    document = _without_none(config.model_dump(mode="json"), "", unset)
    source = "no file, the defaults" if config.source == "(defaults)" else config.source
    header = [
        f"# the configuration in force: {source}, with CLEARANCE_* variables applied",
        f"# catalog.database_url resolves to {config.resolved_database_url()}",
    ]
    if unset:
        header.append(f"# not set: {', '.join(unset)}")
    return "\n".join(header) + "\n\n" + tomli_w.dumps(document)


def _without_none(value: Any, path: str, unset: list[str]) -> Any:
    """``value`` without its None entries (each one's dotted key added to ``unset``)."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if item is None:
                unset.append(where)
            else:
                kept[key] = _without_none(item, where, unset)
        return kept
    if isinstance(value, list):
        return [_without_none(item, f"{path}[{index}]", unset) for index, item in enumerate(value)]
    return value


@config_app.command("env")
def config_env(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the environment variables clearance reads."""
    from clearance.config import ENVIRONMENT

    if as_json:
        emit_json(dict(ENVIRONMENT))
        return
    for name, meaning in ENVIRONMENT.items():
        console.print(f"[bold]{name}[/]: {escape(meaning)}")


def main() -> None:
    """Entry point of the ``clearance`` console script."""
    app()
