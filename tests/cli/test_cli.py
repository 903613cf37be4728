"""The `clearance` command, end to end, in-process (typer's runner) against a real catalog."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner, Result

from clearance.catalog.migrate import HEAD
from clearance.cli import app
from tests.conftest import LITELLM_TABLE, OPENROUTER_MODELS


@pytest.fixture
def cli(project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `clearance ARGS` in an empty project whose catalog is ``catalog_url``."""
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def synced(cli: Any) -> None:
    cli("models", "sync", "--from", str(OPENROUTER_MODELS), "--as", "openrouter")


def test_sync_list_and_price_from_a_real_models_file(cli: Any) -> None:
    report = json.loads(cli("models", "sync", "--from", str(OPENROUTER_MODELS), "--json").stdout)
    assert report["provider"] == "openrouter"  # guessed from the file's format
    assert report["added"] == 321
    assert report["dynamic_pricing"] == ["openrouter:openrouter/auto"]
    models = json.loads(cli("models", "list", "--json").stdout)
    assert len(models) == 321
    gpt4o = next(m for m in models if m["id"] == "openrouter:openai/gpt-4o")
    assert gpt4o["price"]["prompt_per_token"] == "0.0000025"
    assert gpt4o["enabled"] is False
    # 1000 × 0.0000025 + 500 × 0.00001 = 0.0025 + 0.005 = 0.0075
    cost = json.loads(
        cli(
            "price",
            "openai/gpt-4o",
            "--prompt-tokens",
            "1000",
            "--completion-tokens",
            "500",
            "--json",
        ).stdout
    )
    assert Decimal(cost["cost_usd"]) == Decimal("0.0075")
    assert cost["pricing_source"] == "catalog"
    table = cli("models", "list").stdout
    assert "openrouter:openai/gpt-4o" in table


def test_price_with_cached_and_reasoning_tokens_and_reported_cost(cli: Any) -> None:
    synced(cli)
    # claude-opus-4: prompt 0.000015, completion 0.000075, cache read 0.0000015
    # (1000-400) × 0.000015 + 400 × 0.0000015 + 200 × 0.000075 = 0.009 + 0.0006 + 0.015
    document = json.loads(
        cli(
            "price",
            "openrouter:anthropic/claude-opus-4",
            "--prompt-tokens",
            "1000",
            "--completion-tokens",
            "200",
            "--cached-tokens",
            "400",
            "--reasoning-tokens",
            "50",
            "--reported-cost",
            "0.0247",
            "--json",
        ).stdout
    )
    assert Decimal(document["computed_usd"]) == Decimal("0.0246")
    assert Decimal(document["cost_usd"]) == Decimal("0.0247")
    assert document["pricing_source"] == "provider"


def test_price_of_a_dynamically_priced_model_uses_the_default_and_says_so(cli: Any) -> None:
    synced(cli)
    result = cli(
        "price",
        "openrouter/auto",
        "--prompt-tokens",
        "1000",
        "--completion-tokens",
        "1000",
        "--json",
    )
    document = json.loads(result.stdout)
    assert document["pricing_source"] == "default"
    assert Decimal(document["cost_usd"]) > 0
    assert "default" in result.stderr
    assert "dynamic" in result.stderr
    strict = cli(
        "price",
        "openrouter/auto",
        "--prompt-tokens",
        "1",
        "--completion-tokens",
        "1",
        "--strict",
        code=1,
    )
    assert "no price for model 'openrouter:openrouter/auto'" in strict.stderr


def test_unknown_model_suggests_close_ones(cli: Any) -> None:
    synced(cli)
    result = cli(
        "price", "openai/gpt-4oo", "--prompt-tokens", "1", "--completion-tokens", "1", code=1
    )
    assert "not in the catalog" in result.stderr
    assert "openrouter:openai/gpt-4o" in result.stderr


def test_import_litellm(cli: Any) -> None:
    synced(cli)
    document = json.loads(cli("prices", "import-litellm", str(LITELLM_TABLE), "--json").stdout)
    assert document["matched"] > 20
    assert document["prices_added"] == document["matched"]
    assert document["matches"]["openrouter:openai/gpt-4o"] == "gpt-4o"


def test_orgs_and_policy_resolve(cli: Any) -> None:
    synced(cli)
    for name in ("openai/gpt-4o", "openai/gpt-4o-mini"):
        cli("models", "enable", name, "--reason", "test", "--override")
    org = json.loads(
        cli(
            "orgs",
            "set",
            "acme",
            "--enable",
            "openai/gpt-4o",
            "--default",
            "openai/gpt-4o-mini",
            "--json",
        ).stdout
    )
    assert org == {
        "org_id": "acme",
        "enabled_models": ["openrouter:openai/gpt-4o"],
        "default_model_id": "openrouter:openai/gpt-4o-mini",
        "legacy_model": None,
    }
    allowed = json.loads(
        cli("policy", "resolve", "--org", "acme", "--model", "openai/gpt-4o", "--json").stdout
    )
    assert allowed["model_id"] == "openrouter:openai/gpt-4o"
    assert allowed["reason"] == "requested"
    refused = json.loads(
        cli(
            "policy", "resolve", "--org", "acme", "--model", "anthropic/claude-opus-4", "--json"
        ).stdout
    )
    assert refused["model_id"] == "openrouter:openai/gpt-4o-mini"
    assert refused["reason"] == "org_default"
    # never gated nor enabled, under gate.require_decision: the gate is why it is refused
    assert refused["rejected"][0]["reason"] in ("gate_refused", "not_enabled_for_org")
    unknown = json.loads(
        cli("policy", "resolve", "--org", "acme", "--model", "no/such", "--json").stdout
    )
    assert unknown["rejected"][0]["reason"] == "unknown_model"
    pinned = cli("policy", "resolve", "--org", "acme", "--session", "s1", "--write-pin")
    assert "session pin" in pinned.stdout
    cli("models", "disable", "openai/gpt-4o-mini", "--reason", "incident", "--override")
    nothing = cli("policy", "resolve", "--org", "acme", "--session", "s1", code=1)
    assert "no model can serve org 'acme'" in nothing.stderr
    cli("policy", "fallbacks", "set", "openai/gpt-4o", "openai/gpt-4o-mini")
    chains = json.loads(cli("policy", "fallbacks", "list", "--json").stdout)
    assert chains["catalog"] == {"openrouter:openai/gpt-4o": ["openrouter:openai/gpt-4o-mini"]}


def test_usage_errors_exit_2(cli: Any, tmp_path: Path) -> None:
    assert "exactly one of" in cli("models", "sync", code=2).stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"id": "a", "pricing": {"prompt": "x", "completion": "1"}}]}')
    result = cli("models", "sync", "--from", str(broken), code=2)
    assert str(broken) in result.stderr
    assert "/data/0/pricing/prompt" in result.stderr
    models = json.loads(cli("models", "list", "--json").stdout)
    assert models == []  # the failed sync wrote nothing
    assert "--tier" in cli("policy", "resolve", "--tier", "huge", code=2).stderr


class _ModelsHandler(http.server.BaseHTTPRequestHandler):
    body = b""
    seen_auth: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen_auth.append(self.headers.get("Authorization"))
        if self.path != "/api/v1/models":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def models_server() -> Iterator[str]:
    _ModelsHandler.body = OPENROUTER_MODELS.read_bytes()
    _ModelsHandler.seen_auth = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ModelsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    server.shutdown()
    server.server_close()
    thread.join()


def test_sync_a_declared_provider_over_http(
    cli: Any, project: Path, models_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "clearance.toml").write_text(
        f'[[providers]]\nname = "local-or"\nbase_url = "{models_server}"\n'
        'api_key_env = "LOCAL_OR_KEY"\n'
    )
    monkeypatch.setenv("LOCAL_OR_KEY", "sk-local-secret")
    report = json.loads(cli("models", "sync", "--provider", "local-or", "--json").stdout)
    assert report["added"] == 321
    assert _ModelsHandler.seen_auth == ["Bearer sk-local-secret"]
    assert "sk-local-secret" not in json.dumps(report)
    again = json.loads(cli("models", "sync", "--from", models_server, "--json").stdout)
    assert again["provider"] == "local"
    wrong = cli("models", "sync", "--provider", "local-orr", code=2)
    assert "did you mean 'local-or'" in wrong.stderr


def test_sync_from_an_unreachable_url_changes_nothing(cli: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli("models", "sync", "--from", f"http://127.0.0.1:{port}/v1", code=1)
    assert "cannot read models" in result.stderr
    assert "nothing was changed" in result.stderr


def test_db_and_config_commands(cli: Any) -> None:
    assert f"revision {HEAD}" in cli("db", "upgrade").stdout
    assert f"already at revision {HEAD}" in cli("db", "upgrade").stdout
    assert f"revision {HEAD}" in cli("db", "current").stdout
    shown = json.loads(cli("config", "show", "--json").stdout)
    assert shown["catalog"]["auto_enable_discovered"] is False
    assert "CLEARANCE_DATABASE_URL" in cli("config", "env").stdout


def test_database_down_is_exit_1_with_password_hidden(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(
        "CLEARANCE_DATABASE_URL", f"postgresql+psycopg://u:hunter2@127.0.0.1:{port}/c"
    )
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 1
    assert "unavailable" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_bad_configuration_is_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "clearance.toml").write_text("[catalogue]\n")
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 2
    assert "unknown key 'catalogue'" in result.stderr
    assert "did you mean 'catalog'" in result.stderr
