"""A provider whose API-key variable is unset: `models sync`, `call` and `eval` name the
provider and the variable and exit 2 before any request; a replay needs no key.

Against the reference server wanting a key, counting every request that reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.cli import app
from tests.support.evalproject import make_project
from tests.support.keyserver import SECRET, CountingServer, counting_server

MODEL = "mock:ref/steady"
MISSING = "provider 'mock' needs the environment variable MOCK_API_KEY, which is not set"


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with counting_server() as running:
        yield running


@pytest.fixture
def mock_project(project: Path, server: CountingServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An eval project declaring provider ``mock`` (key from MOCK_API_KEY), which is unset."""
    make_project(project, f"sqlite:///{project / 'catalog.db'}")
    with (project / "clearance.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            f'[[providers]]\nname = "mock"\nbase_url = "{server.base_url}"\n'
            'api_key_env = "MOCK_API_KEY"\n'
        )
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    monkeypatch.delenv("MOCK_API_KEY", raising=False)
    server.requests.clear()
    return project


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def synced(monkeypatch: pytest.MonkeyPatch, server: CountingServer) -> None:
    """Sync mock's models with the key, then unset it again."""
    monkeypatch.setenv("MOCK_API_KEY", SECRET)
    code, _, err = invoke("models", "sync", "--provider", "mock", "--enable-new")
    assert code == 0, err
    monkeypatch.delenv("MOCK_API_KEY")
    server.requests.clear()


def assert_names_the_variable(err: str, project: Path) -> None:
    assert MISSING in err
    assert "fix: export MOCK_API_KEY=<key>" in err
    assert f"remove api_key_env from provider 'mock' in {project / 'clearance.toml'}" in err


@pytest.mark.parametrize("value", [None, ""])
def test_sync_names_the_variable_before_any_request(
    mock_project: Path,
    server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
    value: str | None,
) -> None:
    if value is not None:
        monkeypatch.setenv("MOCK_API_KEY", value)  # empty counts as not set
    code, _, err = invoke("models", "sync", "--provider", "mock")
    assert code == 2
    assert_names_the_variable(err, mock_project)
    assert server.requests == []


def test_call_names_the_variable_before_any_request(
    mock_project: Path, server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced(monkeypatch, server)
    code, _, err = invoke("call", "--model", MODEL, "--message", "hi")
    assert code == 2
    assert_names_the_variable(err, mock_project)
    code, out, _ = invoke("call", "--model", MODEL, "--message", "hi", "--json")
    assert code == 2
    document = json.loads(out)
    assert (document["error"], document["kind"], document["message"]) == (
        "MissingApiKey",
        "missing_api_key",
        MISSING,
    )
    assert server.requests == []


def test_a_refused_key_names_the_variable_it_came_from(
    mock_project: Path, server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced(monkeypatch, server)
    monkeypatch.setenv("MOCK_API_KEY", "sk-wrong-0123456789")
    code, out, err = invoke("call", "--model", MODEL, "--message", "hi")
    assert code == 2  # a refused key is the caller's to fix (README, "Exit codes")
    assert "HTTP 401 (key from MOCK_API_KEY)" in err
    assert "fix: check the key in MOCK_API_KEY" in err
    assert "sk-wrong-0123456789" not in out + err
    code, _, err = invoke("models", "sync", "--provider", "mock")
    assert code == 2
    assert "HTTP 401 (key from MOCK_API_KEY)" in err
    assert "sk-wrong-0123456789" not in err


@pytest.mark.parametrize("mode", ["new", "once", "all"])
def test_an_eval_that_must_record_fails_up_front(
    mock_project: Path, server: CountingServer, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    synced(monkeypatch, server)
    code, _, err = invoke("eval", "--models", MODEL, "--cases", "ok", "--record-mode", mode)
    assert code == 2
    assert_names_the_variable(err, mock_project)
    assert f"{MODEL} cannot be recorded without it" in err
    assert server.requests == []
    assert not (mock_project / "evals" / "cassettes").exists()
    code, out, _ = invoke("runs", "list", "--json")
    assert (code, json.loads(out)) == (0, [])  # no run was started


def test_a_replay_needs_no_key(
    mock_project: Path, server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced(monkeypatch, server)
    monkeypatch.setenv("MOCK_API_KEY", SECRET)
    code, _, err = invoke("eval", "--models", MODEL, "--cases", "ok", "--record-mode", "once")
    assert code == 0, err
    assert server.chats == 2  # two trials, recorded with the key
    cassettes = list((mock_project / "evals" / "cassettes").rglob("*.json"))
    assert len(cassettes) == 1
    assert SECRET not in cassettes[0].read_text()
    monkeypatch.delenv("MOCK_API_KEY")
    server.requests.clear()
    for mode in ("none", "once"):
        code, out, err = invoke(
            "eval", "--models", MODEL, "--cases", "ok", "--record-mode", mode, "--json"
        )
        assert code == 0, err
        counts = json.loads(out)["counts"]
        assert counts["infra_error"] == 0
        assert counts["pass"] + counts["fail"] == 2
    assert server.requests == []


def test_a_call_says_which_stored_price_it_was_costed_with(
    mock_project: Path, server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (mock_project / "clearance.toml").open("a", encoding="utf-8") as toml:
        toml.write('[pricing]\nsource_priority = ["manual", "provider"]\n')
    synced(monkeypatch, server)
    code, out, err = invoke(
        "prices",
        "set",
        MODEL,
        "--prompt",
        "1",
        "--completion",
        "2",
        "--unit",
        "million",
        "--reason",
        "self-hosted",
        "--json",
    )
    assert code == 0, err
    monkeypatch.setenv("CLEARANCE_GATE_REQUIRE_DECISION", "false")
    monkeypatch.setenv("MOCK_API_KEY", SECRET)
    code, out, err = invoke("call", "--model", MODEL, "--message", "hi", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["pricing_source"], document["price_source"]) == ("catalog", "manual")
    code, out, err = invoke("call", "--model", MODEL, "--message", "hi")
    assert code == 0, err
    assert "(catalog, manual price)" in out
