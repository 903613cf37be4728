"""The `clearance` command, end to end, in-process (typer's runner) against a real catalog."""

from __future__ import annotations

import getpass
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

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect


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
            "prices",
            "cost",
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
            "prices",
            "cost",
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
        "prices",
        "cost",
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
        "prices",
        "cost",
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
        "prices",
        "cost",
        "openai/gpt-4oo",
        "--prompt-tokens",
        "1",
        "--completion-tokens",
        "1",
        code=2,
    )
    assert "not in the catalog" in result.stderr
    assert "openrouter:openai/gpt-4o" in result.stderr


def test_import_litellm(cli: Any) -> None:
    synced(cli)
    document = json.loads(cli("prices", "import-litellm", str(LITELLM_TABLE), "--json").stdout)
    assert document["matched"] > 20
    assert document["prices_added"] == document["matched"]
    assert document["matches"]["openrouter:openai/gpt-4o"] == "gpt-4o"


# The only test to set an org's enabled models and default at once on PostgreSQL.
@pytest.mark.each_dialect
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
    result = cli("models", "sync", "--from", f"http://127.0.0.1:{port}/v1", code=3)
    assert "cannot read models" in result.stderr
    assert "nothing was changed" in result.stderr


# `clearance db upgrade` and `db current` against a PostgreSQL URL, as an operator runs them.
@pytest.mark.each_dialect
def test_db_and_config_commands(cli: Any) -> None:
    assert f"revision {HEAD}" in cli("db", "upgrade").stdout
    assert f"already at revision {HEAD}" in cli("db", "upgrade").stdout
    assert f"revision {HEAD}" in cli("db", "current").stdout
    shown = json.loads(cli("config", "show", "--json").stdout)
    assert shown["catalog"]["auto_enable_discovered"] is False
    assert "CLEARANCE_DATABASE_URL" in cli("config", "env").stdout


def test_database_down_is_exit_3_with_password_hidden(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(
        "CLEARANCE_DATABASE_URL", f"postgresql+psycopg://u:hunter2@127.0.0.1:{port}/c"
    )
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 3  # infrastructure unavailable
    assert "unavailable" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_bad_configuration_is_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "clearance.toml").write_text("[catalogue]\n")
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 2
    assert "unknown key 'catalogue'" in result.stderr
    assert "did you mean 'catalog'" in result.stderr


def test_prices_set_records_an_audited_manual_price_and_says_what_is_in_force(
    cli: Any, project: Path
) -> None:
    synced(cli)
    cli("models", "sync", "--from", str(_vllm_models(project)), "--as", "vllm")
    # a self-hosted model has no price: the conservative default, with a warning
    before = cli(
        "prices", "cost", "vllm:llama3", "--prompt-tokens", "1000000", "--completion-tokens", "0"
    )
    assert "pricing source: default" in before.stdout
    document = json.loads(
        cli(
            "prices", "set", "llama3", "--prompt", "0.20", "--completion", "0.60",
            "--cached-prompt", "0.05", "--unit", "million", "--reason", "our GPU cost", "--json",
        ).stdout
    )  # fmt: skip
    assert document["changed"] is True
    assert document["in_force"] == "manual"
    assert document["note"] is None
    manual = document["manual"]
    # per million in, per token stored: exact, no float on the way
    assert Decimal(manual["rates_usd_per_token"]["prompt"]) == Decimal("0.0000002")
    assert Decimal(manual["rates_usd_per_token"]["completion"]) == Decimal("0.0000006")
    assert Decimal(manual["rates_usd_per_token"]["cache_read"]) == Decimal("0.00000005")
    assert manual["source"] == "manual"
    assert manual["reason"] == "our GPU cost"
    assert manual["set_by"] == getpass.getuser()
    assert manual["host"] == socket.gethostname()
    # the same price again (per token this time) adds no version
    again = cli("prices", "set", "vllm:llama3", "--prompt", "0.0000002", "--completion",
                "0.0000006", "--cached-prompt", "0.00000005")  # fmt: skip
    assert "unchanged" in again.stdout
    listed = json.loads(cli("prices", "list", "vllm:llama3", "--json").stdout)
    assert listed == [{"model": "vllm:llama3", "in_force": "manual", "prices": {"manual": manual}}]
    # 1M prompt tokens × 0.0000002 = 0.2 USD, priced from the catalog's manual price
    cost = json.loads(
        cli("prices", "cost", "llama3", "--prompt-tokens", "1000000", "--completion-tokens", "0",
            "--json").stdout
    )  # fmt: skip
    assert Decimal(cost["cost_usd"]) == Decimal("0.2")
    assert cost["pricing_source"] == "catalog"
    assert cost["price"]["source"] == "manual"
    assert (
        "manual price"
        in cli(
            "prices", "cost", "llama3", "--prompt-tokens", "1", "--completion-tokens", "1"
        ).stdout
    )
    models = {m["id"]: m for m in json.loads(cli("models", "list", "--json").stdout)}
    assert models["vllm:llama3"]["price"]["source"] == "manual"
    assert "(manual)" in cli("models", "list", "--provider", "vllm").stdout


def _vllm_models(folder: Path) -> Path:
    file = folder / "vllm-models.json"
    file.write_text(json.dumps({"object": "list", "data": [{"id": "llama3", "object": "model"}]}))
    return file


def test_prices_set_says_when_another_source_wins_and_how_to_change_it(
    cli: Any, project: Path
) -> None:
    synced(cli)
    result = cli(
        "prices", "set", "openai/gpt-4o", "--prompt", "2", "--completion", "8", "--unit", "million"
    )
    assert "the provider price is in force, not the manual one" in result.stdout
    assert 'source_priority = ["manual", "provider", "litellm"]' in result.stdout
    cost = json.loads(
        cli("prices", "cost", "openai/gpt-4o", "--prompt-tokens", "1000",
            "--completion-tokens", "0", "--json").stdout
    )  # fmt: skip
    assert cost["price"]["source"] == "provider"
    assert Decimal(cost["cost_usd"]) == Decimal("0.0025")  # 1000 × 0.0000025
    (project / "clearance.toml").write_text(
        '[pricing]\nsource_priority = ["manual", "provider", "litellm"]\n'
    )
    cost = json.loads(
        cli("prices", "cost", "openai/gpt-4o", "--prompt-tokens", "1000",
            "--completion-tokens", "0", "--json").stdout
    )  # fmt: skip
    assert cost["price"]["source"] == "manual"
    assert Decimal(cost["cost_usd"]) == Decimal("0.002")  # 1000 × 0.000002
    listed = json.loads(cli("prices", "list", "openai/gpt-4o", "--json").stdout)
    assert listed[0]["in_force"] == "manual"
    assert set(listed[0]["prices"]) == {"manual", "provider"}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--prompt", "-1", "--prompt '-1' is negative"),
        ("--completion", "NaN", "--completion 'NaN' is not a finite number"),
        ("--cached-prompt", "cheap", "--cached-prompt 'cheap' is not a decimal number"),
        ("--per-request", "Infinity", "--per-request 'Infinity' is not a finite number"),
        ("--unit", "thousand", "--unit 'thousand' is not token or million"),
    ],
)
def test_prices_set_refuses_a_bad_amount_naming_the_option(
    cli: Any, option: str, value: str, message: str
) -> None:
    synced(cli)
    args = {"--prompt": "1", "--completion": "1", option: value}
    result = cli("prices", "set", "openai/gpt-4o", *(x for kv in args.items() for x in kv), code=2)
    assert message in result.stderr
    listed = json.loads(cli("prices", "list", "openai/gpt-4o", "--json").stdout)
    assert "manual" not in listed[0]["prices"]


def test_prices_set_on_an_unknown_model_names_the_close_ones(cli: Any) -> None:
    synced(cli)
    result = cli("prices", "set", "openai/gpt-4oo", "--prompt", "1", "--completion", "1", code=2)
    assert "not in the catalog" in result.stderr
    assert "openrouter:openai/gpt-4o" in result.stderr


def test_export_and_sync_from_the_snapshot_restore_the_catalog(
    cli: Any, project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced(cli)
    cli("prices", "import-litellm", str(LITELLM_TABLE))
    cli("models", "sync", "--from", str(_vllm_models(project)), "--as", "vllm")
    cli("prices", "set", "llama3", "--prompt", "0.2", "--completion", "0.6", "--unit", "million")
    snapshot = project / "models.snapshot.json"
    written = cli("models", "export", "--out", str(snapshot))
    assert "322 models of 2 providers" in written.stdout
    first = json.loads(snapshot.read_text())
    assert (first["format"], first["version"]) == ("clearance-models", 1)
    assert json.loads(cli("models", "export").stdout)["providers"] == first["providers"]
    # restoring into the catalog it came from adds nothing
    report = json.loads(cli("models", "sync", "--from", str(snapshot), "--json").stdout)
    assert [p["prices_added"] for p in report["providers"]] == [0, 0]
    # a fresh catalog: the same models, the same prices, the same cost
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{project / 'fresh.db'}")
    restored = cli("models", "sync", "--from", str(snapshot))
    assert "restored openrouter" in restored.stdout
    assert "restored vllm" in restored.stdout
    again = json.loads(cli("models", "export").stdout)
    assert again["providers"] == first["providers"]
    assert again["exported_at"] >= first["exported_at"]
    cost = json.loads(
        cli("prices", "cost", "llama3", "--prompt-tokens", "1000000", "--completion-tokens", "0",
            "--json").stdout
    )  # fmt: skip
    assert Decimal(cost["cost_usd"]) == Decimal("0.2")
    assert cost["price"]["source"] == "manual"
    second = json.loads(cli("models", "sync", "--from", str(snapshot), "--json").stdout)
    assert [p["prices_added"] for p in second["providers"]] == [0, 0]


def test_a_malformed_snapshot_names_file_pointer_and_fix_and_changes_nothing(
    cli: Any, project: Path
) -> None:
    cli("models", "sync", "--from", str(_vllm_models(project)), "--as", "vllm")
    cli("prices", "set", "llama3", "--prompt", "0.2", "--completion", "0.6", "--unit", "million")
    document = json.loads(cli("models", "export").stdout)
    document["providers"][0]["models"][0]["prices"]["manual"]["completion_per_token"] = "-0.1"
    document["providers"][0]["models"][0]["display_name"] = "changed"
    broken = project / "broken.snapshot.json"
    broken.write_text(json.dumps(document))
    before = cli("models", "export").stdout
    result = cli("models", "sync", "--from", str(broken), code=2)
    assert str(broken) in result.stderr
    assert "/providers/0/models/0/prices/manual/completion_per_token" in result.stderr
    assert "fix:" in result.stderr
    after = cli("models", "export").stdout
    assert json.loads(after)["providers"] == json.loads(before)["providers"]


def test_sync_as_renames_a_one_provider_snapshot_and_refuses_several(
    cli: Any, project: Path
) -> None:
    synced(cli)
    cli("models", "sync", "--from", str(_vllm_models(project)), "--as", "vllm")
    both = project / "both.json"
    cli("models", "export", "--out", str(both))
    refused = cli("models", "sync", "--from", str(both), "--as", "gpu", code=2)
    assert "holds 2 (openrouter, vllm)" in refused.stderr
    one = project / "one.json"
    cli("models", "export", "--provider", "vllm", "--out", str(one))
    cli("models", "sync", "--from", str(one), "--as", "gpu")
    ids = [m["id"] for m in json.loads(cli("models", "list", "--provider", "gpu", "--json").stdout)]
    assert ids == ["gpu:llama3"]
    unknown = cli("models", "export", "--provider", "vlm", code=2)
    assert "did you mean 'vllm'" in unknown.stderr


def test_prices_set_says_when_no_stored_price_can_be_in_force(cli: Any, project: Path) -> None:
    synced(cli)
    dynamic = json.loads(
        cli("prices", "set", "openrouter/auto", "--prompt", "1", "--completion", "1",
            "--json").stdout
    )  # fmt: skip
    assert dynamic["in_force"] is None
    assert "priced per request by its provider (dynamic)" in dynamic["note"]
    (project / "clearance.toml").write_text('[pricing]\nsource_priority = ["provider"]\n')
    cli("models", "sync", "--from", str(_vllm_models(project)), "--as", "vllm")
    result = cli("prices", "set", "llama3", "--prompt", "1", "--completion", "1")
    assert "in force: no stored price" in result.stdout
    assert "does not list manual, so manual prices are never used" in result.stdout
