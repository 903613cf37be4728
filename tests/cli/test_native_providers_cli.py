"""`clearance models sync` and `models providers` for Anthropic and Gemini providers, end to
end against a local server answering their (hand-written) paginated model lists."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner, Result

from clearance.cli import app
from tests.conftest import DATA, LITELLM_TABLE

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

HANDWRITTEN = DATA / "handwritten"


@pytest.fixture
def cli(project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


class _Lists(http.server.BaseHTTPRequestHandler):
    """Anthropic's list at /v1/models, Gemini's at /v1beta/models, two pages each."""

    seen: ClassVar[list[tuple[str, dict[str, list[str]], str | None, str | None]]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        type(self).seen.append(
            (url.path, query, self.headers.get("x-api-key"), self.headers.get("x-goog-api-key"))
        )
        if url.path == "/v1/models":
            name = "anthropic-models-page2" if "after_id" in query else "anthropic-models-page1"
        elif url.path == "/v1beta/models":
            name = "gemini-models-page2" if "pageToken" in query else "gemini-models-page1"
        else:
            self.send_error(404)
            return
        body = (HANDWRITTEN / f"{name}.json").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Lists.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Lists)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def declared(project: Path, server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    (project / "clearance.toml").write_text(
        f'[[providers]]\nname = "claude"\nprotocol = "anthropic"\nbase_url = "{server}/v1"\n'
        'api_key_env = "ANTHROPIC_API_KEY"\n'
        f'[[providers]]\nname = "google"\nprotocol = "gemini"\nbase_url = "{server}/v1beta"\n'
        'api_key_env = "GEMINI_API_KEY"\n'
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-cli")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-cli")
    return server


def test_syncing_an_anthropic_provider_reads_every_page_and_prices_from_litellm(
    cli: Any, declared: str
) -> None:
    report = json.loads(
        cli(
            "models", "sync", "--provider", "claude", "--litellm", str(LITELLM_TABLE), "--json"
        ).stdout
    )
    assert (report["format"], report["protocol"], report["added"]) == ("anthropic", "anthropic", 5)
    assert report["litellm"]["matches"] == {
        "claude:claude-opus-4-5-20251101": "claude-opus-4-5-20251101",
        "claude:claude-haiku-4-5-20251001": "claude-haiku-4-5-20251001",
        "claude:claude-sonnet-4-5-20250929": "claude-sonnet-4-5-20250929",
    }
    assert report["unpriced"] == 2  # claude-opus-4-1 and claude-3-haiku: not in this table
    assert [(path, key) for path, _, key, _ in _Lists.seen] == [("/v1/models", "sk-ant-cli")] * 2
    assert "sk-ant-cli" not in json.dumps(report)
    listed = {m["id"]: m for m in json.loads(cli("models", "list", "--json").stdout)}
    sonnet = listed["claude:claude-sonnet-4-5-20250929"]
    assert sonnet["price"]["source"] == "litellm"
    assert sonnet["price"]["prompt_per_token"] == "0.000003"
    assert listed["claude:claude-opus-4-1-20250805"]["price"] is None


def test_syncing_a_gemini_provider_leaves_out_what_cannot_generate_content(
    cli: Any, declared: str
) -> None:
    out = cli("models", "sync", "--provider", "google", "--litellm", str(LITELLM_TABLE)).stdout
    assert "synced google (gemini protocol)" in out
    assert "4 new" in out
    assert "2 models left out: they cannot generate content" in out
    assert "3 models priced from LiteLLM's table" in out
    assert "1 models have no price in this list or LiteLLM's table" in out
    assert "google:gemini-2.0-flash" in out
    assert [key for _, _, _, key in _Lists.seen] == ["AIza-cli", "AIza-cli"]
    ids = {m["id"] for m in json.loads(cli("models", "list", "--json").stdout)}
    assert "google:gemini-embedding-001" not in ids
    assert "google:gemini-2.5-pro" in ids


def test_providers_lists_each_with_its_protocol(cli: Any, declared: str) -> None:
    cli("models", "sync", "--provider", "claude")
    cli("models", "sync", "--from", str(HANDWRITTEN / "gemini-models-page2.json"), "--as", "gem")
    rows = {row["name"]: row for row in json.loads(cli("models", "providers", "--json").stdout)}
    assert rows["claude"] == {
        "name": "claude",
        "protocol": "anthropic",
        "base_url": f"{declared}/v1",
        "api_key_env": "ANTHROPIC_API_KEY",
        "models_format": "anthropic",
        "declared_in": "configuration and catalog",
    }
    google = rows["google"]
    assert (google["protocol"], google["declared_in"]) == ("gemini", "configuration")
    # a provider first met through a file takes the protocol its list's format shows
    assert (rows["gem"]["protocol"], rows["gem"]["declared_in"]) == ("gemini", "catalog")
    table = cli("models", "providers").stdout
    assert "anthropic" in table
    assert "gemini" in table


def test_a_saved_first_page_is_refused_and_changes_nothing(cli: Any) -> None:
    refused = cli(
        "models", "sync", "--from", str(HANDWRITTEN / "anthropic-models-page1.json"), code=2
    )
    assert "one page of a longer list" in refused.stderr
    assert json.loads(cli("models", "list", "--json").stdout) == []


def test_call_takes_a_protocol_for_base_url_only(cli: Any) -> None:
    alone = cli("call", "--protocol", "anthropic", "--model", "m", "--message", "hi", code=2)
    assert "--protocol goes with --base-url" in alone.stderr
    bad = cli(
        "call", "--base-url", "http://127.0.0.1:9/v1", "--protocol", "claude",
        "--model", "m", "--message", "hi", code=2,
    )  # fmt: skip
    assert "--protocol 'claude' is not one of openai, anthropic, gemini" in bad.stderr
