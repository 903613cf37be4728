"""One exit-code table (README, "Exit codes"), walked through every command's error paths.

0 ok; 1 what the command checked failed (a refusal, a gate, a contract check); 2 the
caller's input (an unknown model, run, org or policy, a bad flag, file or key);
3 infrastructure unavailable (the catalog, or a provider that cannot be reached).
Every error says what is wrong and how to fix it, in words a person uses: no Python
``None``, no pydantic phrasing, no traceback.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.cli import app
from clearance.scaffold import init_project
from tests.conftest import OPENROUTER_MODELS


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLOSED = _closed_port()


@pytest.fixture
def team(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`clearance init`'s project, a real catalog (OpenRouter's list), a provider that is down."""
    init_project(project)
    with (project / "clearance.toml").open("a") as toml:
        toml.write(f'\n[[providers]]\nname = "down"\nbase_url = "http://127.0.0.1:{CLOSED}/v1"\n')
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    result = CliRunner().invoke(
        app, ["models", "sync", "--from", str(OPENROUTER_MODELS), "--as", "openrouter"]
    )
    assert result.exit_code == 0, result.stderr
    return project


USAGE: list[tuple[list[str], str]] = [
    (["models", "enable", "openai/gpt-4oo", "--reason", "r"], "did you mean"),
    (["models", "disable", "no-such-model", "--reason", "r"], "not in the catalog"),
    (["decisions", "show", "openai/gpt-4oo"], "did you mean"),
    (["prices", "cost", "openai/gpt-4oo", "--prompt-tokens", "1", "--completion-tokens", "1"],
     "did you"),
    (["prices", "set", "openai/gpt-4oo", "--prompt", "1", "--completion", "1"], "did you mean"),
    (["prices", "set", "openai/gpt-4o", "--prompt", "-1", "--completion", "1"], "--prompt"),
    (["orgs", "set", "acme", "--enable", "openai/gpt-4oo"], "did you mean"),
    (["call", "--model", "openai/gpt-4oo", "--message", "hi"], "did you mean"),
    (["call", "--tier", "huge", "--message", "hi"], "--tier"),
    (["killswitch", "on", "--scope", "model", "--target", "openai/gpt-4oo", "--reason", "r"],
     "did you mean"),
    (["killswitch", "on", "--scope", "provider", "--target", "openroutr", "--reason", "r"],
     "did you mean 'openrouter'"),
    (["killswitch", "on", "--scope", "planet", "--reason", "r"], "--scope"),
    (["runs", "show", "no-such-run"], "no eval run"),
    (["report", "--run", "no-such-run"], "no eval run"),
    (["gate", "--policy", "no-such-policy"], "no-such-policy"),
    (["slo", "check", "--window", "7x"], "7x"),
    (["eval", "--models", "openai/gpt-4oo"], "did you mean"),
    (["models", "sync", "--provider", "dwn"], "did you mean 'down'"),
    (["init", "elsewhere", "--provider", "Bad Name", "--base-url", "http://x/v1"], "--provider"),
]  # fmt: skip

UNAVAILABLE: list[tuple[list[str], str]] = [
    (["models", "sync", "--provider", "down"], "is the server running?"),
    (["models", "sync", "--from", f"http://127.0.0.1:{CLOSED}/v1"], "is the server running?"),
    (["call", "--base-url", f"http://127.0.0.1:{CLOSED}/v1", "--model", "x", "--message", "hi"],
     "is the server running?"),
]  # fmt: skip


def _plain(stderr: str) -> None:
    """An error a person can act on: what, and a fix; none of Python's or pydantic's words."""
    assert "error:" in stderr
    assert "fix:" in stderr, stderr
    for leak in ("None", "Traceback", "Value error", "Input should", "String should"):
        assert leak not in stderr, stderr


@pytest.mark.parametrize(("args", "says"), USAGE, ids=[" ".join(a[:2]) for a, _ in USAGE])
def test_the_callers_mistakes_exit_2(team: Path, args: list[str], says: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert says in result.stderr
    _plain(result.stderr)


@pytest.mark.parametrize(
    ("args", "says"), UNAVAILABLE, ids=[" ".join(a[:2]) for a, _ in UNAVAILABLE]
)
def test_unreachable_infrastructure_exits_3(
    team: Path, args: list[str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARANCE_GATE_REQUIRE_DECISION", "false")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, (result.stdout, result.stderr)
    assert says in result.stderr
    _plain(result.stderr)


@pytest.mark.parametrize(
    "args", [["models", "list"], ["killswitch", "status"], ["decisions", "list"]]
)
def test_a_catalog_that_is_down_exits_3_with_its_password_hidden(
    team: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://u:hunter2@127.0.0.1:{CLOSED}/c"
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", url)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, (result.stdout, result.stderr)
    assert "hunter2" not in result.stdout + result.stderr
    _plain(result.stderr)


def test_a_refusal_exits_1(team: Path) -> None:
    on = CliRunner().invoke(app, ["killswitch", "on", "--reason", "incident 42"])
    assert on.exit_code == 0, on.stderr
    result = CliRunner().invoke(app, ["call", "--model", "openai/gpt-4o", "--message", "hi"])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "kill switch on (global): incident 42" in result.stderr
    _plain(result.stderr)


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("[router]\nmax_attempts = 0\n", "router.max_attempts: must be at least 1 (got 0)"),
        ('[evals]\nrecord_mode = "sometimes"\n', "is not one of 'none', 'once', 'new' or 'all'"),
        ('[[providers]]\nname = "Mine"\nbase_url = "http://x"\n', "is not in the expected form"),
        ('[catalog]\ndatabse_url = "x"\n', "did you mean 'database_url'?"),
    ],
)
def test_a_bad_configuration_exits_2_in_plain_words(
    project: Path, monkeypatch: pytest.MonkeyPatch, toml: str, says: str
) -> None:
    (project / "clearance.toml").write_text(toml)
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert says in result.stderr
    _plain(result.stderr)


def test_a_key_written_where_its_variable_name_goes_is_never_echoed(project: Path) -> None:
    (project / "clearance.toml").write_text(
        '[[providers]]\nname = "mine"\nbase_url = "http://x"\napi_key_env = "sk-live-abc123"\n'
    )
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 2
    assert "sk-live-abc123" not in result.stderr
    assert "an environment variable's NAME" in result.stderr


def test_a_path_that_cannot_be_written_exits_2_without_a_traceback(team: Path) -> None:
    blocked = team / "a-file"
    blocked.write_text("not a folder")
    for args in (
        ["models", "export", "--out", str(blocked / "models.json")],
        ["init", str(blocked / "project")],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert str(blocked) in result.stderr
        _plain(result.stderr)
