"""``clearance killswitch``, ``clearance call`` and ``clearance calls``: the runtime core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import (
    EXIT_USAGE,
    console,
    emit_json,
    exit_code,
    fail,
    handle_errors,
    load,
)
from clearance.cli._options import App
from clearance.errors import ClearanceError, InputError, PolicyRefusal

killswitch_app = App(
    help="The kill switch: stop calls everywhere within a second.", no_args_is_help=True
)
calls_app = App(help="The call log.", no_args_is_help=True)


def _switch(on: bool, scope: str, target: str, reason: str, as_json: bool) -> None:
    from clearance.killswitch import SCOPES, set_switch

    if scope not in SCOPES:
        fail(f"--scope {scope!r} is not one of {', '.join(SCOPES)}", code=EXIT_USAGE)
    config, catalog = load()
    target = _switch_target(config, catalog, scope, target, on=on)
    state = set_switch(catalog, scope, active=on, reason=reason, target=target)
    if as_json:
        emit_json(_switch_document(state))
        return
    where = scope if not target else f"{scope} {target}"
    console.print(
        f"kill switch {'ON' if on else 'off'} for {escape(where)} "
        f"(by {escape(state.changed_by)}: {escape(reason)}); every process sharing "
        "this catalog obeys within its cache time (at most 1 s)"
    )


def _switch_target(config: Any, catalog: Any, scope: str, target: str, *, on: bool) -> str:
    """The switch's target as the router matches it: a catalog model id, a known provider.

    A typo would throw a switch that stops nothing, so throwing one on an unknown model
    or provider is refused with the close names; releasing one takes the text as given
    (a switch thrown before a model left the catalog can still be released).
    """
    import difflib

    from clearance.catalog.modelstore import list_providers, resolve_model_id
    from clearance.errors import InputError, UnknownModel

    if scope == "model":
        with catalog.connect() as connection:
            try:
                return str(resolve_model_id(connection, target, config.provider_names))
            except UnknownModel:
                if on:
                    raise
                return target
    if scope == "provider" and on:
        with catalog.connect() as connection:
            known = sorted(
                {p.name for p in list_providers(connection)} | set(config.provider_names)
            )
        if target not in known:
            close = difflib.get_close_matches(target, known, n=3)
            raise InputError(
                f"no provider {target!r} in the configuration or the catalog "
                f"(known: {', '.join(known) or 'none'})",
                fix=f"did you mean {', '.join(map(repr, close))}?"
                if close
                else "name a provider that `clearance models list` shows",
            )
    return target


_SWITCH_REASON = typer.Option("--reason", metavar="TEXT", help="Why; recorded in the audit trail.")
_SCOPE = typer.Option("--scope", metavar="SCOPE", help="global, provider, model or org.")
_TARGET = typer.Option("--target", metavar="NAME", help="The provider, model id or org.")
_SWITCH_JSON = typer.Option("--json", help="Print the switch's new state as JSON.")


def _switch_document(state: Any) -> dict[str, Any]:
    return {
        "scope": state.scope,
        "target": state.target,
        "active": state.active,
        "reason": state.reason,
        "changed_by": state.changed_by,
        "changed_at": state.changed_at,
    }


@killswitch_app.command("on")
@handle_errors
def switch_on(
    reason: Annotated[str, _SWITCH_REASON],
    scope: Annotated[str, _SCOPE] = "global",
    target: Annotated[str, _TARGET] = "",
    as_json: Annotated[bool, _SWITCH_JSON] = False,
) -> None:
    """Stop calls: everywhere (global) or for one provider, model or org."""
    _switch(True, scope, target, reason, as_json)


@killswitch_app.command("off")
@handle_errors
def switch_off(
    reason: Annotated[str, _SWITCH_REASON],
    scope: Annotated[str, _SCOPE] = "global",
    target: Annotated[str, _TARGET] = "",
    as_json: Annotated[bool, _SWITCH_JSON] = False,
) -> None:
    """Allow calls again."""
    _switch(False, scope, target, reason, as_json)


@killswitch_app.command("status")
@handle_errors
def switch_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show every switch and whether it is on."""
    from clearance.killswitch import list_switches

    _, catalog = load()
    states = list_switches(catalog)
    if as_json:
        emit_json([_switch_document(s) for s in states])
        return
    active = [s for s in states if s.active]
    console.print(f"{len(active)} switch(es) on" if active else "no switch is on: calls flow")
    if states:
        table = Table()
        for column in ("scope", "target", "state", "reason", "by", "at"):
            table.add_column(column)
        for s in states:
            table.add_row(
                *(
                    escape(str(c))
                    for c in (
                        s.scope,
                        s.target or "-",
                        "ON" if s.active else "off",
                        s.reason,
                        s.changed_by,
                        s.changed_at.isoformat(timespec="seconds"),
                    )
                )
            )
        console.print(table)


@calls_app.command("replay-spill")
@handle_errors
def replay(
    keep: Annotated[
        bool, typer.Option(help="Keep the spill and journal files after loading.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Load call-log rows spilled while the database was down, and the journals of
    processes that ended without writing theirs (killed, crashed).

    Loading twice inserts nothing twice. A row the database refuses is set aside (see
    `clearance calls dead-letters`) and the others are loaded.
    """
    import dataclasses

    from clearance.calllog import replay_spill

    config, catalog = load()
    report = replay_spill(catalog, config.spill_dir(), keep=keep)
    if as_json:
        emit_json(dataclasses.asdict(report))
        return
    console.print(
        f"{report.files} spill file(s), {report.journals} journal file(s) of ended "
        f"processes, {report.rows} rows: {report.inserted} inserted, "
        f"{report.already_present} already present"
        + (
            f", {report.dead_letters} refused by the database and set aside "
            "(`clearance calls dead-letters`)"
            if report.dead_letters
            else ""
        )
        + (f", {report.escalations} escalation flag(s) applied" if report.escalations else "")
        + (
            f", {report.bad_lines} lines kept in .bad files (unreadable, or flags for calls "
            "that are nowhere)"
            if report.bad_lines
            else ""
        )
    )
    if report.journals_live:
        console.print(
            f"{report.journals_live} journal file(s) left alone: their process is running "
            "and writes its own rows"
        )
    if report.journals_foreign:
        console.print(
            f"{report.journals_foreign} journal file(s) left alone: written for another "
            f"catalog than {escape(catalog.display_url)} (their first line names it; run "
            "replay-spill with that database, or delete them)"
        )


@calls_app.command("dead-letters")
@handle_errors
def dead_letters(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print every dead letter, with its row, as JSON.")
    ] = False,
) -> None:
    """List call-log rows the database refused, set aside so the others were written.

    Each is kept with the database's error in the spill folder's dead-letters-*.jsonl
    files; a row fixed by hand and put in a file named ai_calls-NAME.jsonl there is
    loaded by `clearance calls replay-spill`.
    """
    import dataclasses

    from clearance.config import load_config
    from clearance.deadletters import read_dead_letters

    folder = load_config().spill_dir()
    letters = read_dead_letters(folder)
    if as_json:
        emit_json([dataclasses.asdict(letter) for letter in letters])
        return
    if not letters:
        console.print(f"no dead letters in {escape(str(folder))}: the database took every row")
        return
    console.print(
        f"{len(letters)} row(s) the database refused, kept in {escape(str(folder))} "
        "(the rows beside them were written):"
    )
    for letter in letters:
        org = letter.row.get("org_id")
        if isinstance(org, str) and len(org) > 40:
            org = f"{org[:40]}… ({len(org)} characters)"
        console.print(
            escape(
                f"- {letter.at} call {letter.call_id} (from the {letter.source}, org {org}): "
                f"{letter.error}"
            )
        )


@calls_app.command("escalate")
@handle_errors
def escalate(
    call_id: Annotated[
        str, typer.Argument(metavar="CALL_ID", help="The call's id (`clearance call --json`).")
    ],
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", metavar="TEXT", help="Why it goes to a person; kept with the call."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the flag as JSON.")] = False,
) -> None:
    """Flag a logged call for human hand-off (it counts in the escalation_rate SLO).

    Exit 2 when no call has this id (an unknown id is the caller's input).
    """
    from clearance.calllog import flag_escalation

    _, catalog = load()
    if not flag_escalation(catalog, call_id, reason=reason):
        fail(
            f"no call with id {call_id!r} in the call log of {catalog.display_url}",
            fix="check the id; a call's row is written within calllog.flush_interval_s of "
            "its end, and rows spilled during an outage need `clearance calls replay-spill`",
            code=EXIT_USAGE,
        )
    if as_json:
        emit_json({"call_id": call_id, "escalated": True, "reason": reason})
        return
    console.print(
        f"call {escape(call_id)} flagged for human hand-off"
        + (f": {escape(reason)}" if reason else "")
    )


def _tools(path: Path | None) -> list[dict[str, Any]] | None:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(
            f"{path}: cannot read tools: {error}", fix="give a JSON list of OpenAI function tools"
        ) from None
    if isinstance(document, dict) and "tools" in document:
        document = document["tools"]
    if not isinstance(document, list):
        raise InputError(f"{path}: expected a JSON list of tools")
    return [t if "type" in t else {"type": "function", "function": t} for t in document]


@handle_errors
def call(
    message: Annotated[str, typer.Option("--message", metavar="TEXT", help="The user message.")],
    model: Annotated[
        str | None, typer.Option("--model", metavar="MODEL_ID", help="The model to ask for.")
    ] = None,
    tools: Annotated[
        Path | None, typer.Option("--tools", metavar="FILE", help="A JSON file of tools.")
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", metavar="TEXT", help="A system message.")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            metavar="PROVIDER",
            help="Send --model to this configured provider. A model the catalog lacks is "
            "called ad hoc (for this call only); a catalog model keeps its gate state, so one "
            "the gate has not enabled is refused.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="Send --model to this URL (an ad-hoc provider for this call only, speaking "
            "--protocol). Kill switches and the org policy still apply.",
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            metavar="PROTOCOL",
            help="The wire protocol --base-url speaks: openai (default), anthropic or gemini.",
        ),
    ] = None,
    org: Annotated[str | None, typer.Option("--org", metavar="ORG", help="The org asking.")] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", metavar="SESSION_ID", help="The session (pinning)."),
    ] = None,
    tier: Annotated[
        str | None, typer.Option("--tier", metavar="TIER", help="strong, mid or cheap.")
    ] = None,
    stream: Annotated[bool, typer.Option(help="Ask for a streamed answer.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Seconds per attempt, from the request to the last byte.",
        ),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline",
            metavar="SECONDS",
            help="Seconds for the whole call, retries and fallbacks included "
            "(default: router.deadline_s).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Send one call through the router (kill switch, policy, retries, fallbacks, log).

    --provider and --base-url choose where --model is sent; they skip no check: the
    kill switch, the org policy and, for a model in the catalog, the gate still decide.
    """
    from clearance.config import TIERS
    from clearance.providers.types import PROTOCOLS
    from clearance.router import Router

    if tier is not None and tier not in TIERS:
        fail(f"--tier {tier!r} is not one of {', '.join(TIERS)}", code=EXIT_USAGE)
    if provider and base_url:
        fail("give --provider or --base-url, not both", code=EXIT_USAGE)
    if protocol is not None and not base_url:
        fail(
            "--protocol goes with --base-url",
            fix="a configured provider's protocol is its `protocol` key under [[providers]]",
            code=EXIT_USAGE,
        )
    if protocol is not None and protocol not in PROTOCOLS:
        fail(f"--protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}", code=EXIT_USAGE)
    config, catalog = load()
    messages: list[dict[str, Any]] = [{"role": "user", "content": message}]
    if system:
        messages.insert(0, {"role": "system", "content": system})
    router = Router(config, catalog)
    try:
        if base_url or provider:
            model = _direct_model(router, model, provider, base_url, protocol or "openai")
        elif model is not None:
            # a typo must not be served by the default model: an unknown id is an error
            # (with the catalog's close names), where the router would fall back quietly
            from clearance.catalog.modelstore import resolve_model_id

            with catalog.connect() as connection:
                model = resolve_model_id(connection, model, config.provider_names)
        result = router.complete(
            messages,
            _tools(tools),
            org=org,
            session=session,
            tier=tier,
            model=model,
            stream=stream,
            timeout_s=timeout,
            deadline_s=deadline,
        )
    except ClearanceError as error:
        router.close()
        if as_json:
            emit_json(
                {
                    "ok": False,
                    "error": type(error).__name__,
                    "kind": getattr(error, "kind", None),
                    "message": error.message,
                    "fix": error.fix,
                    "refused": isinstance(error, PolicyRefusal),
                    "attempts": [_attempt(a) for a in error.attempts],
                }
            )
            raise SystemExit(exit_code(error)) from None  # the same code as without --json
        raise
    router.close()
    response = result.response
    if as_json:
        emit_json(
            {
                "ok": True,
                "call_id": result.call_id,
                "served_model": result.served_model,
                "fallback_served": result.fallback_served,
                "decision": result.decision.to_dict(),
                "attempts": [_attempt(a) for a in result.attempts],
                "content": response.content,
                "tool_calls": [
                    {
                        "id": c.id,
                        "name": c.name,
                        "arguments": c.arguments,
                        "raw_arguments": c.raw_arguments,
                        "quirks": list(c.quirks),
                    }
                    for c in response.tool_calls
                ],
                "finish_reason": response.finish_reason,
                "finish_reason_raw": response.finish_reason_raw,
                "cost_usd": result.cost.cost,
                "pricing_source": result.cost.pricing_source,
                "price_source": _price_source(result.cost),
                "latency_ms": round(result.latency_s * 1000, 3),
                "overhead_us": round(result.overhead_s * 1e6, 1),
            }
        )
        return
    console.print(
        f"[bold]{escape(result.served_model)}[/] ({result.decision.reason}"
        + (", fallback" if result.fallback_served else "")
        + ")"
    )
    if response.content:
        console.print(escape(response.content))
    for tool_call in response.tool_calls:
        console.print(f"tool call {escape(tool_call.name)}({escape(str(tool_call.raw_arguments))})")
    source: str = result.cost.pricing_source
    if result.cost.price is not None and source == "catalog":
        source = f"catalog, {result.cost.price.source} price"
    console.print(
        f"{result.cost.cost:f} USD ({source}), "
        f"{result.latency_s * 1000:.1f} ms, {len(result.attempts)} attempt(s)"
    )


def _price_source(cost: Any) -> str | None:
    """Which stored price (provider, litellm, manual) the cost came from; None for none."""
    return None if cost.price is None else str(cost.price.source)


def _attempt(attempt: Any) -> dict[str, Any]:
    from clearance.calllog import attempt_json

    return attempt_json(attempt)


def _direct_model(
    router: Any, model: str | None, provider: str | None, base_url: str | None, protocol: str
) -> str:
    """The model id for a call to one provider; a model the catalog lacks is ad hoc.

    An ad-hoc model is known to this one router only: nothing is written to the catalog,
    so a smoke test never enables a model for anyone else. A model the catalog has keeps
    its catalog state (a disabled one is refused).
    """
    from clearance.providers.factory import make_provider

    if model is None:
        fail("--model is needed with --provider or --base-url", code=EXIT_USAGE)
    name = provider or "direct"
    if base_url:
        router.add_provider(make_provider(protocol, name, base_url), owned=True)
    model_name = model.removeprefix(f"{name}:")
    model_id = f"{name}:{model_name}"
    if model_id not in router.state().models:
        router.add_adhoc_model(model_id, name, model_name)
    return model_id
