"""``clearance reference``: the reference provider, a SIMULATOR on three wire protocols.

Its ``ref/*`` models are deterministic programs, not language models; they
exist for demos, tests and load tests of the router and the eval suite. One port
serves them on OpenAI chat completions, Anthropic Messages and Gemini.
"""

from __future__ import annotations

from typing import Annotated

import typer

from clearance.cli._common import EXIT_USAGE, console, fail
from clearance.cli._options import App

__all__ = ["app", "serve"]

app = App(
    help="The reference provider: a simulator of model behaviour (OpenAI, Anthropic and "
    "Gemini protocols on one port).",
    no_args_is_help=True,
)


@app.callback()
def reference() -> None:
    """The reference provider: a SIMULATOR on three protocols (never a real model)."""


@app.command("serve")
def serve(
    port: Annotated[
        int, typer.Option("--port", metavar="N", help="Port on 127.0.0.1 (0: a free one).")
    ] = 0,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Every answer is a function of it.")
    ] = 0,
    sloppy_rate: Annotated[
        float,
        typer.Option(
            "--sloppy-rate",
            metavar="RATE",
            help="Share of ref/sloppy tool calls with a fault (0-1).",
        ),
    ] = 0.3,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            metavar="VAR",
            help="Require this variable's value as each protocol sends a key "
            "(Authorization: Bearer, x-api-key, x-goog-api-key).",
        ),
    ] = None,
) -> None:
    """Serve the reference simulator on 127.0.0.1 and print its base URL; Ctrl-C stops it.

    The first line is the OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``),
    which is also an Anthropic client's; a Gemini client's is ``.../v1beta``.
    """
    from clearance.providers.keys import environment_secret
    from clearance.reference import ReferenceServer

    api_key = None
    if api_key_env is not None:
        api_key = environment_secret(api_key_env)  # the key the simulator will expect
        if api_key is None:
            fail(
                f"--api-key-env names {api_key_env}, which is not set or empty",
                fix=f"export {api_key_env}=<a key>, or leave out --api-key-env",
                code=EXIT_USAGE,
            )
    if not 0 <= sloppy_rate <= 1:
        fail(f"--sloppy-rate {sloppy_rate} is not between 0 and 1", code=EXIT_USAGE)
    if not 0 <= port <= 65_535:
        fail(f"--port {port} is not a port number", fix="use 0 for a free port", code=EXIT_USAGE)
    server = ReferenceServer(port=port, seed=seed, sloppy_rate=sloppy_rate, api_key=api_key)
    try:
        server.start()
    except OSError as error:
        fail(
            f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}",
            fix="pick another --port, or 0 for a free one",
        )
    auth = f"; wants the key in ${api_key_env}" if api_key_env else ""
    # The base URL first (scripts read that line), then what it is, in one write: the
    # server already answers, so a Ctrl-C may come at once and must not cut the notice.
    typer.echo(
        f"{server.base_url}\n"
        f"reference provider: a SIMULATOR of model behaviour, not a real model "
        f"(seed {seed}, sloppy rate {sloppy_rate}{auth}). "
        f"OpenAI chat completions and Anthropic Messages at {server.base_url} "
        f"(models ref/steady, ref-steady), Gemini at {server.base_url_for('gemini')} "
        f"(ref-2.5-steady, ref-3-steady). "
        f"Models: GET {server.base_url}/models. Ctrl-C stops it."
    )
    server.serve_forever()
    console.print("stopped")
