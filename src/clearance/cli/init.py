"""``clearance init``: scaffold a repository that gates its own models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from clearance.cli._common import console, emit_json, handle_errors
from clearance.cli._options import split_list

__all__ = ["init_command"]


@handle_errors
def init_command(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="The project folder (created when missing).")
    ] = Path("."),
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider", metavar="PROVIDER", help="Declare this provider (its model ids' prefix)."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", metavar="URL", help="Its base URL, version included: http://host/v1."
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            metavar="PROTOCOL",
            help="The wire protocol it speaks: openai (default: any OpenAI-compatible API), "
            "anthropic or gemini.",
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env", metavar="VAR", help="The name of the variable holding its API key."
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            metavar="MODEL_ID,...",
            help="Candidate models, PROVIDER:NAME or NAME; repeat or separate with commas.",
        ),
    ] = None,
    install_from: Annotated[
        str | None,
        typer.Option(
            "--install-from",
            metavar="SOURCE",
            help="What the CI workflow pip-installs: a wheel path or URL, a git URL "
            "(default: clearance==this version).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files that differ (each one is listed).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Scaffold clearance.toml, contracts, evals, gates and a CI workflow; never overwrites."""
    from clearance.cli._common import EXIT_USAGE, fail
    from clearance.scaffold import ProviderSpec, init_project

    models = split_list(model)
    spec = None
    if provider is not None or base_url is not None or api_key_env is not None or protocol:
        if provider is None or base_url is None:
            fail(
                "--provider and --base-url go together (--api-key-env and --protocol are optional)",
                fix="clearance init --provider mine --base-url http://127.0.0.1:4000/v1 "
                "--api-key-env MINE_API_KEY",
                code=EXIT_USAGE,
            )
        spec = ProviderSpec(provider, base_url, api_key_env, protocol or "openai")
    report = init_project(
        folder, provider=spec, models=models, install_from=install_from, force=force
    )
    if as_json:
        emit_json(
            {
                "root": str(report.root),
                "files": report.files,
                "gitignore": report.gitignore,
                "lock": report.lock,
                "lock_problem": report.lock_problem,
            }
        )
        return
    labels = {
        "written": "[green]wrote[/]",
        "replaced": "[yellow]replaced[/]",
        "unchanged": "unchanged",
        "kept": "[yellow]kept[/] (differs from the scaffold; --force replaces it)",
    }
    console.print(f"clearance init in {escape(str(report.root))}")
    for path, state in report.files.items():
        console.print(f"  {labels[state]} {escape(path)}")
    if report.gitignore != "unchanged":
        console.print(f"  {report.gitignore} .gitignore (the catalog and the reports)")
    if report.lock == "written":
        console.print("  [green]wrote[/] contracts/contracts.lock")
    elif report.lock == "invalid":
        console.print(
            f"  [yellow]no lock written[/]: {escape(report.lock_problem or '')} "
            "(fix it, then `clearance contracts lock`)"
        )
    elif "written" in report.files.values() or "replaced" in report.files.values():
        console.print("  contracts/contracts.lock kept: `clearance contracts lock` updates it")
    replaced = report.paths("replaced")
    if replaced:
        console.print(f"replaced {len(replaced)} file(s): {escape(', '.join(replaced))}")
    _next_steps(folder, provider, models_given=bool(models))


def _next_steps(folder: Path, provider: str | None, *, models_given: bool) -> None:
    """The next three commands (after a cd, and an edit when no provider was given)."""
    if folder.resolve() != Path.cwd().resolve():
        console.print(f"then: cd {escape(str(folder))}")
    if provider is None:
        console.print("then: uncomment [[providers]] in clearance.toml for your endpoint")
    name = provider or "NAME"
    record = "clearance eval --record-mode new"
    if not models_given:
        record = f"clearance eval --models {name}:MODEL --record-mode new"
    console.print("next:")
    for step in (
        f"clearance models sync --provider {name}   # your models and prices into the catalog",
        f"{record}   # a first run, recorded",
        "clearance gate   # the decision; then `clearance report`",
    ):
        console.print(f"  {escape(step)}")
