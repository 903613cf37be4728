"""The router builds each provider of the class its protocol names: from the configuration
first, else from the catalog's row (its base URL, key variable and protocol)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider
from clearance.config import ClearanceConfig, load_config
from clearance.errors import ConfigError, MissingApiKey
from clearance.providers.anthropic import AnthropicProvider
from clearance.providers.gemini import GeminiProvider
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

GEMINI = "https://generativelanguage.googleapis.com/v1beta"


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(
        '[[providers]]\nname = "claude"\nprotocol = "anthropic"\n'
        'base_url = "https://api.anthropic.com/v1"\napi_key_env = "ANTHROPIC_API_KEY"\n'
        '[[providers]]\nname = "or"\nbase_url = "https://openrouter.ai/api/v1"\n'
    )
    return load_config(environ={}, cwd=tmp_path)


@pytest.fixture
def catalog_providers(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(
            connection, "gem", base_url=GEMINI, api_key_env="GEMINI_API_KEY", protocol="gemini"
        )
        ensure_provider(connection, "local", base_url="http://127.0.0.1:8000/v1")
        ensure_provider(connection, "odd", base_url="https://odd.example/v1", protocol="soap")
        # the configuration's settings win over a catalog row of the same name
        ensure_provider(connection, "claude", base_url="https://elsewhere.example/v1")
    return catalog


def test_each_provider_is_built_of_its_protocols_class(
    config: ClearanceConfig, catalog_providers: Catalog
) -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant", "GEMINI_API_KEY": "AIza"}
    with Router(config, catalog_providers, environ=environ, log_calls=False) as router:
        claude = router.provider("claude")
        assert isinstance(claude, AnthropicProvider)
        assert type(claude) is AnthropicProvider
        assert claude.base_url == "https://api.anthropic.com/v1"
        assert claude.api_key_env == "ANTHROPIC_API_KEY"
        gem = router.provider("gem")
        assert isinstance(gem, GeminiProvider)
        assert type(gem) is GeminiProvider
        assert (gem.base_url, gem.api_key_env, gem.timeout_s) == (GEMINI, "GEMINI_API_KEY", 60.0)
        assert type(router.provider("or")) is OpenAICompatibleProvider
        assert type(router.provider("local")) is OpenAICompatibleProvider
        assert router.provider("gem") is gem  # built once


def test_a_catalog_providers_key_variable_is_checked_before_it_is_built(
    config: ClearanceConfig, catalog_providers: Catalog
) -> None:
    with Router(config, catalog_providers, environ={}, log_calls=False) as router:
        with pytest.raises(MissingApiKey) as caught:
            router.provider("gem")
        assert caught.value.variable == "GEMINI_API_KEY"


def test_an_unknown_protocol_in_the_catalog_is_a_config_error_naming_it(
    config: ClearanceConfig, catalog_providers: Catalog
) -> None:
    with (
        Router(config, catalog_providers, environ={}, log_calls=False) as router,
        pytest.raises(ConfigError) as caught,
    ):
        router.provider("odd")
    error = caught.value
    assert error.source == "the catalog's providers table"
    assert error.key == "providers.odd.protocol"
    assert "'soap'" in error.message
    assert "openai, anthropic, gemini" in error.message


def test_the_state_reads_each_catalog_providers_protocol(
    config: ClearanceConfig, catalog_providers: Catalog
) -> None:
    with Router(config, catalog_providers, environ={}, log_calls=False) as router:
        state = router.state()
        assert state.provider_settings("gem") == (
            GEMINI,
            "GEMINI_API_KEY",
            "gemini",
            60.0,
            None,
        )
        assert state.provider_settings("local").protocol == "openai"
        assert state.provider_settings("nowhere") == (None, None, "openai", 60.0, None)
