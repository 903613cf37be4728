"""The provider factory: a protocol's name picks its class, imported only when asked for."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from clearance.errors import ConfigError, ProviderServerError
from clearance.providers.anthropic import AnthropicProvider
from clearance.providers.base import ChatRequest
from clearance.providers.factory import make_provider, provider_class
from clearance.providers.gemini import GeminiProvider
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.providers.types import PROTOCOLS


def test_each_protocol_names_its_class() -> None:
    assert provider_class("openai") is OpenAICompatibleProvider
    assert provider_class("anthropic") is AnthropicProvider
    assert provider_class("gemini") is GeminiProvider
    for protocol in PROTOCOLS:
        assert provider_class(protocol).protocol == protocol


@pytest.mark.parametrize(
    ("protocol", "base_url", "url", "auth"),
    [
        (
            "openai",
            "https://openrouter.ai/api/v1",
            "https://openrouter.ai/api/v1/chat/completions",
            ("authorization", "Bearer sk-k"),
        ),
        (
            "anthropic",
            "https://api.anthropic.com/v1",
            "https://api.anthropic.com/v1/messages",
            ("x-api-key", "sk-k"),
        ),
        (
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta",
            "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent",
            ("x-goog-api-key", "sk-k"),
        ),
    ],
)
def test_the_provider_is_built_with_every_setting_passed_through(
    protocol: str, base_url: str, url: str, auth: tuple[str, str]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500, json={"error": {"message": "stop here"}})

    provider = make_provider(
        protocol,
        "p",
        base_url,
        api_key="sk-k",
        api_key_env="P_KEY",
        timeout_s=7.5,
        headers={"X-Title": "clearance-test"},
        transport=httpx.MockTransport(handler),
    )
    assert type(provider) is provider_class(protocol)
    assert (provider.name, provider.base_url, provider.timeout_s) == ("p", base_url, 7.5)
    assert provider.api_key_env == "P_KEY"
    assert "sk-k" not in repr(provider)
    with pytest.raises(ProviderServerError):
        provider.complete("m", ChatRequest([{"role": "user", "content": "hi"}], max_tokens=8))
    request = seen[0]
    assert str(request.url) == url
    assert request.headers[auth[0]] == auth[1]
    assert request.headers["x-title"] == "clearance-test"
    provider.close()


def test_an_unknown_protocol_names_the_provider_the_file_and_the_three_values() -> None:
    with pytest.raises(ConfigError) as caught:
        make_provider("grpc", "mine", "https://x.example/v1", source="/p/clearance.toml")
    error = caught.value
    assert error.source == "/p/clearance.toml"
    assert error.key == "providers.mine.protocol"
    assert "'grpc'" in error.message
    assert "openai, anthropic, gemini" in error.message
    assert error.fix is not None
    assert "openai, anthropic, gemini" in error.fix


def test_an_unknown_protocol_read_from_the_catalog_says_so() -> None:
    with pytest.raises(ConfigError, match="the catalog's providers table") as caught:
        provider_class("soap", name="old")
    assert caught.value.key == "providers.old.protocol"


def test_only_the_asked_for_protocol_class_is_imported() -> None:
    code = (
        "import json, sys\n"
        "from clearance.providers.factory import make_provider\n"
        "before = [m for m in ('clearance.providers.anthropic', 'clearance.providers.gemini',"
        " 'clearance.providers.openai') if m in sys.modules]\n"
        "make_provider('openai', 'p', 'https://x.example/v1')\n"
        "after = [m for m in ('clearance.providers.anthropic', 'clearance.providers.gemini')"
        " if m in sys.modules]\n"
        "print(json.dumps([before, after]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = json.loads(done.stdout)
    assert before == []
    assert after == []


def test_a_protocol_without_its_hooks_cannot_be_built() -> None:
    """HttpProvider's protocol hooks are abstract: a subclass missing one fails at once,
    naming it, instead of at its first call."""
    from clearance.providers.http import HttpProvider

    class Partial(HttpProvider):
        protocol = "openai"

        def _auth_headers(self, api_key: str) -> dict[str, str]:
            return {}

    with pytest.raises(TypeError, match="_parse"):
        Partial("p", "https://p.example/v1")  # type: ignore[abstract]
