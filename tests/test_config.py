"""Configuration: file discovery, validation with named errors, environment overrides."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from clearance.config import ENVIRONMENT, load_config
from clearance.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(environ={}, cwd=tmp_path)
    assert config.source == "(defaults)"
    assert config.catalog.auto_enable_discovered is False
    assert config.resolved_database_url() == f"sqlite:///{tmp_path.resolve()}/.clearance/catalog.db"
    assert config.pricing.default_prompt_per_token > 0


def test_clearance_toml_found_in_a_parent_folder(tmp_path: Path) -> None:
    write(tmp_path / "clearance.toml", '[policy]\ndefault_model = "openrouter:x/y"\n')
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    config = load_config(environ={}, cwd=nested)
    assert config.policy.default_model == "openrouter:x/y"
    assert config.root == tmp_path.resolve()


def test_tool_clearance_in_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname="x"\n[tool.clearance.catalog]\nauto_enable_discovered = true\n',
    )
    config = load_config(environ={}, cwd=tmp_path)
    assert config.catalog.auto_enable_discovered is True
    assert "[tool.clearance]" in config.source


def test_prices_in_toml_stay_exact_even_when_written_as_floats(tmp_path: Path) -> None:
    write(tmp_path / "clearance.toml", "[pricing]\ndefault_prompt_per_token = 0.0000001\n")
    config = load_config(environ={}, cwd=tmp_path)
    assert config.pricing.default_prompt_per_token == Decimal("0.0000001")


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    file = write(tmp_path / "clearance.toml", "[catalog]\ndatabse_url = 'sqlite://'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, cwd=tmp_path)
    error = caught.value
    assert error.source == str(file)
    assert error.key == "catalog.databse_url"
    assert "unknown key 'databse_url'" in str(error)
    assert "did you mean 'database_url'" in str(error)


def test_unknown_key_inside_a_provider(tmp_path: Path) -> None:
    write(
        tmp_path / "clearance.toml",
        '[[providers]]\nname = "or"\nbase_url = "https://x"\ntimeout = 3\n',
    )
    with pytest.raises(ConfigError, match=r"(?s)providers\.0\.timeout.*did you mean 'timeout_s'"):
        load_config(environ={}, cwd=tmp_path)


def test_unknown_top_level_section(tmp_path: Path) -> None:
    write(tmp_path / "clearance.toml", "[polcy]\n")
    with pytest.raises(ConfigError, match="did you mean 'policy'"):
        load_config(environ={}, cwd=tmp_path)


def test_an_api_key_in_the_file_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path / "clearance.toml",
        '[[providers]]\nname = "or"\nbase_url = "https://x"\napi_key = "sk-secret"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, cwd=tmp_path)
    assert "api_key_env" in str(caught.value)
    assert "sk-secret" not in str(caught.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    file = write(tmp_path / "clearance.toml", "[catalog\n")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(environ={}, cwd=tmp_path)
    assert caught.value.source == str(file)


def test_bad_values_are_explained(tmp_path: Path) -> None:
    write(tmp_path / "clearance.toml", '[pricing]\ndefault_prompt_per_token = "0"\n')
    with pytest.raises(ConfigError, match=r"pricing\.default_prompt_per_token"):
        load_config(environ={}, cwd=tmp_path)
    write(
        tmp_path / "clearance.toml", '[[providers]]\nname = "Open Router"\nbase_url = "https://x"\n'
    )
    with pytest.raises(ConfigError, match=r"providers\.0\.name"):
        load_config(environ={}, cwd=tmp_path)
    write(tmp_path / "clearance.toml", '[[providers]]\nname = "a"\nbase_url = "ftp://x"\n')
    with pytest.raises(ConfigError, match="http"):
        load_config(environ={}, cwd=tmp_path)


def test_a_provider_speaks_openai_unless_it_declares_another_protocol(tmp_path: Path) -> None:
    write(
        tmp_path / "clearance.toml",
        '[[providers]]\nname = "or"\nbase_url = "https://openrouter.ai/api/v1"\n'
        '[[providers]]\nname = "anthropic"\nbase_url = "https://api.anthropic.com/v1"\n'
        'protocol = "anthropic"\nmodels_format = "anthropic"\n'
        '[[providers]]\nname = "google"\n'
        'base_url = "https://generativelanguage.googleapis.com/v1beta"\nprotocol = "gemini"\n',
    )
    config = load_config(environ={}, cwd=tmp_path)
    assert [p.protocol for p in config.providers] == ["openai", "anthropic", "gemini"]
    assert config.provider("anthropic").models_format == "anthropic"
    assert config.provider("google").models_format == "auto"


def test_an_unknown_protocol_names_the_file_the_field_and_the_three_values(
    tmp_path: Path,
) -> None:
    file = write(
        tmp_path / "clearance.toml",
        '[[providers]]\nname = "claude"\nbase_url = "https://api.anthropic.com/v1"\n'
        'protocol = "messages"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, cwd=tmp_path)
    error = caught.value
    assert error.source == str(file)
    assert error.key == "providers.0.protocol"
    assert "'openai', 'anthropic' or 'gemini'" in str(error)
    assert "'messages'" in str(error)
    assert error.fix == "set providers.0.protocol to one of them"


def test_duplicate_providers(tmp_path: Path) -> None:
    write(
        tmp_path / "clearance.toml",
        '[[providers]]\nname = "a"\nbase_url = "https://x"\n'
        '[[providers]]\nname = "a"\nbase_url = "https://y"\n',
    )
    with pytest.raises(ConfigError, match="declared twice"):
        load_config(environ={}, cwd=tmp_path)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    write(
        tmp_path / "clearance.toml",
        '[policy]\ntiers = { strong = "a:x" }\n[catalog]\nauto_enable_discovered = true\n',
    )
    config = load_config(
        environ={
            "CLEARANCE_MODEL_STRONG": "a:y",
            "CLEARANCE_MODEL_CHEAP": "a:z",
            "CLEARANCE_DATABASE_URL": "postgresql+psycopg://u:p@h/db",
            "CLEARANCE_AUTO_ENABLE_DISCOVERED": "false",
        },
        cwd=tmp_path,
    )
    assert config.policy.tiers == {"strong": "a:y", "cheap": "a:z"}
    assert config.resolved_database_url() == "postgresql+psycopg://u:p@h/db"
    assert config.catalog.auto_enable_discovered is False


def test_an_unknown_clearance_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean CLEARANCE_DATABASE_URL"):
        load_config(environ={"CLEARANCE_DATABSE_URL": "x"}, cwd=tmp_path)


def test_bad_environment_value_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"catalog\.auto_enable_discovered"):
        load_config(environ={"CLEARANCE_AUTO_ENABLE_DISCOVERED": "maybe"}, cwd=tmp_path)


def test_clearance_config_variable_and_missing_file(tmp_path: Path) -> None:
    file = write(tmp_path / "elsewhere.toml", '[policy]\nunknown_org = "refuse"\n')
    config = load_config(environ={"CLEARANCE_CONFIG": str(file)}, cwd=Path("/"))
    assert config.policy.unknown_org == "refuse"
    with pytest.raises(ConfigError, match="no such file"):
        load_config(environ={"CLEARANCE_CONFIG": str(tmp_path / "nope.toml")}, cwd=tmp_path)


def test_reserved_keys_cannot_be_set(tmp_path: Path) -> None:
    write(tmp_path / "clearance.toml", 'root = "/etc"\n')
    with pytest.raises(ConfigError, match="unknown key 'root'"):
        load_config(environ={}, cwd=tmp_path)


def test_relative_sqlite_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    write(
        tmp_path / "conf" / "clearance.toml", '[catalog]\ndatabase_url = "sqlite:///../data/c.db"\n'
    )
    config = load_config(environ={}, cwd=tmp_path / "conf")
    assert config.resolved_database_url() == f"sqlite:///{(tmp_path / 'data/c.db').resolve()}"


def test_provider_lookup_suggests_a_close_name(tmp_path: Path) -> None:
    write(
        tmp_path / "clearance.toml", '[[providers]]\nname = "openrouter"\nbase_url = "https://x"\n'
    )
    config = load_config(environ={}, cwd=tmp_path)
    assert config.provider("openrouter").base_url == "https://x"
    with pytest.raises(ConfigError, match="did you mean 'openrouter'"):
        config.provider("openruter")


def test_every_documented_variable_is_prefixed() -> None:
    assert all(name.startswith("CLEARANCE_") for name in ENVIRONMENT)
