"""API keys: read in one place, a missing one named before any request, a 401 naming its
variable, and the key itself never in a message."""

from __future__ import annotations

import pickle

import httpx
import pytest

from clearance.cli._common import EXIT_USAGE, handle_errors
from clearance.discovery import fetch_model_list
from clearance.errors import (
    AuthenticationFailed,
    DiscoverySourceError,
    InputError,
    MissingApiKey,
)
from clearance.providers.base import ChatRequest
from clearance.providers.keys import environment_secret, read_api_key
from clearance.providers.openai import OpenAICompatibleProvider

SECRET = "sk-test-keys-0123456789abcdef"


def test_a_named_variable_that_is_set_gives_the_key() -> None:
    assert read_api_key("mock", "MOCK_API_KEY", environ={"MOCK_API_KEY": SECRET}) == SECRET


def test_a_provider_without_a_variable_needs_no_key() -> None:
    assert read_api_key("local", None, environ={}) is None


@pytest.mark.parametrize("environ", [{}, {"MOCK_API_KEY": ""}, {"MOCK_API_KEY": "  \n"}])
def test_an_unset_or_empty_variable_is_named_with_its_provider(environ: dict[str, str]) -> None:
    with pytest.raises(MissingApiKey) as raised:
        read_api_key("mock", "MOCK_API_KEY", environ=environ, source="/p/clearance.toml")
    error = raised.value
    assert (error.provider, error.variable, error.source) == (
        "mock",
        "MOCK_API_KEY",
        "/p/clearance.toml",
    )
    assert error.message == (
        "provider 'mock' needs the environment variable MOCK_API_KEY, which is not set"
    )
    assert error.fix is not None
    assert "export MOCK_API_KEY=<key>" in error.fix
    assert "remove api_key_env from provider 'mock' in /p/clearance.toml" in error.fix
    assert isinstance(error, InputError)  # the caller's configuration: exit 2 in the CLI
    assert environment_secret("MOCK_API_KEY", environ) is None


def test_a_missing_key_may_be_tolerated_when_nothing_will_be_sent() -> None:
    assert read_api_key("mock", "MOCK_API_KEY", environ={}, required=False) is None


def test_the_error_names_the_models_and_a_catalog_only_declaration() -> None:
    error = MissingApiKey("mock", "MOCK_API_KEY", models=["mock:a", "mock:b"])
    assert error.message.startswith(
        "provider 'mock' needs the environment variable MOCK_API_KEY, which is not set"
    )
    assert "mock:a, mock:b cannot be recorded without it" in error.message
    assert error.fix is not None
    assert "[[providers]]" in error.fix


def test_the_error_pickles_with_its_fields() -> None:
    error = MissingApiKey("mock", "MOCK_API_KEY", source="clearance.toml", models=["mock:a"])
    error.attempts = ("an attempt",)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is MissingApiKey
    assert (copy.provider, copy.variable, copy.source, copy.models) == (
        "mock",
        "MOCK_API_KEY",
        "clearance.toml",
        ("mock:a",),
    )
    assert (copy.message, copy.fix, str(copy)) == (error.message, error.fix, str(error))
    assert copy.attempts == ("an attempt",)


def test_the_cli_exits_2_on_a_missing_key() -> None:
    @handle_errors
    def command() -> None:
        read_api_key("mock", "MOCK_API_KEY", environ={})

    with pytest.raises(SystemExit) as exited:
        command()
    assert exited.value.code == EXIT_USAGE


def _refusing(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            401,
            json={"error": {"message": f"incorrect API key provided: {SECRET}", "code": 401}},
        )

    return httpx.MockTransport(handle)


def test_a_401_names_the_variable_the_key_came_from_never_the_key() -> None:
    seen: list[httpx.Request] = []
    provider = OpenAICompatibleProvider(
        "mock",
        "https://mock.example/v1",
        api_key=SECRET,
        api_key_env="MOCK_API_KEY",
        transport=_refusing(seen),
    )
    with pytest.raises(AuthenticationFailed) as raised:
        provider.complete("m", ChatRequest([{"role": "user", "content": "hi"}]), model_id="mock:m")
    error = raised.value
    assert error.api_key_env == "MOCK_API_KEY"
    assert str(error).startswith("mock (mock:m): HTTP 401 (key from MOCK_API_KEY): ")
    assert SECRET not in str(error) + repr(error.body)
    assert seen[0].headers["authorization"] == f"Bearer {SECRET}"


def test_a_401_without_a_configured_variable_says_nothing_of_one() -> None:
    provider = OpenAICompatibleProvider(
        "mock", "https://mock.example/v1", api_key=SECRET, transport=_refusing([])
    )
    with pytest.raises(AuthenticationFailed) as raised:
        provider.complete("m", ChatRequest([{"role": "user", "content": "hi"}]))
    assert raised.value.api_key_env is None
    assert "key from" not in str(raised.value)


def test_a_401_from_a_models_list_names_the_variable() -> None:
    with pytest.raises(DiscoverySourceError) as raised:
        fetch_model_list(
            "https://mock.example/v1",
            api_key=SECRET,
            api_key_env="MOCK_API_KEY",
            transport=_refusing([]),
        )
    assert "HTTP 401 (key from MOCK_API_KEY): " in str(raised.value)
    assert SECRET not in str(raised.value)
