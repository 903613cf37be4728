"""``clearance reference serve`` and the load check, run for real (no timing assertions)."""

from __future__ import annotations

import os
import signal
import sys

import httpx
import pytest
from typer.testing import CliRunner

from clearance.cli.reference import app
from clearance.reference.loadcheck import measure
from tests.support.processes import child

_SERVE = "from clearance.cli.reference import app; app(prog_name='clearance reference')"


def test_serve_prints_the_base_url_serves_and_stops_on_ctrl_c() -> None:
    environment = {**os.environ, "REFERENCE_TEST_KEY": "k3y"}
    command = [sys.executable, "-c", _SERVE, "serve", "--seed", "5", "--sloppy-rate", "0.5"]
    command += ["--api-key-env", "REFERENCE_TEST_KEY"]
    with child(command, env=environment) as server:
        base_url = server.readline().strip()
        banner = server.readline()  # written with the URL, before any request
        assert "SIMULATOR" in banner
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        with httpx.Client(base_url=base_url, timeout=5) as http:
            assert http.get("/models").status_code == 401
            document = http.get("/models", headers={"Authorization": "Bearer k3y"}).json()
            assert document["simulator"] is True
            # the same port and key serve the native protocols, as their clients send it
            messages = {"model": "ref-steady", "max_tokens": 64, "messages": []}
            messages["messages"] = [{"role": "user", "content": "hi"}]
            anthropic = {"x-api-key": "k3y", "anthropic-version": "2023-06-01"}
            assert http.post("/messages", json=messages, headers=anthropic).status_code == 200
        assert "Gemini at " + base_url.removesuffix("/v1") + "/v1beta" in banner
        with httpx.Client(base_url=base_url.removesuffix("/v1"), timeout=5) as http:
            contents = {"contents": [{"parts": [{"text": "hi"}]}]}
            gemini = http.post(
                "/v1beta/models/ref-3-steady:generateContent",
                json=contents,
                headers={"x-goog-api-key": "k3y"},
            )
            assert gemini.status_code == 200
        server.process.send_signal(signal.SIGINT)
        code = server.wait(timeout=10)
        assert code == 0, server.stderr()
        assert "stopped" in server.readline(timeout=10)


def test_serve_refuses_an_unset_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFERENCE_TEST_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve", "--api-key-env", "REFERENCE_TEST_KEY"])
    assert result.exit_code == 2
    assert "REFERENCE_TEST_KEY" in result.stderr


def test_serve_refuses_a_rate_out_of_range() -> None:
    result = CliRunner().invoke(app, ["serve", "--sloppy-rate", "2"])
    assert result.exit_code == 2
    assert "--sloppy-rate" in result.stderr


@pytest.mark.parametrize("client", ["httpx", "raw"])
def test_the_load_check_counts_answers_in_process(client: str) -> None:
    result = measure(seconds=0.2, workers=2, client=client, in_process=True)  # type: ignore[arg-type]
    assert result.requests > 0
    assert result.errors == 0
    assert result.per_second > 0


def test_the_load_check_runs_the_server_in_a_child_process() -> None:
    result = measure(seconds=0.2, workers=2, client="raw", distinct=True)
    assert result.requests > 0
    assert result.errors == 0
