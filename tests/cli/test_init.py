"""`clearance init`: what it writes, that it never overwrites, and that what it writes works."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

import clearance
from clearance.cli import app
from clearance.config import load_config
from clearance.contracts.check import check_contracts
from clearance.gate.policy import load_policies
from clearance.scaffold import SCAFFOLD_FILES, ProviderSpec, init_project, render_workflow

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_init_writes_a_project_whose_configuration_contracts_and_gates_load(
    project: Path,
) -> None:
    out = run(
        "init",
        "team",
        "--provider",
        "mine",
        "--base-url",
        "http://127.0.0.1:4000/v1/",
        "--api-key-env",
        "MINE_API_KEY",
        "--model",
        "gpt-mock",
        "--model",
        "mine:gpt-mock",
    ).stdout
    root = project / "team"
    for target in SCAFFOLD_FILES:
        assert (root / target).is_file(), target
        assert f"wrote {target}" in out
    config = load_config(cwd=root, environ={})
    (provider,) = config.providers
    assert (provider.name, provider.base_url, provider.api_key_env) == (
        "mine",
        "http://127.0.0.1:4000/v1",
        "MINE_API_KEY",
    )
    assert config.evals.models == ("mine:gpt-mock",)  # a bare name takes --provider's
    assert config.policy.default_model == "mine:gpt-mock"
    assert config.gate.policy == "starter"
    assert config.pricing.source_priority[0] == "manual"
    # the contracts are valid and locked; the lock is current
    report = check_contracts(root / "contracts", probe=False)
    assert report.ok, report.findings
    assert (report.contracts, report.flows) == (1, 1)
    assert (root / "contracts" / "contracts.lock").is_file()
    # the gate policies load, and none names a simulator model
    policies = load_policies(root / "gates")
    assert {"default", "starter"} <= set(policies)
    for name in ("default.yaml", "starter.yaml", "slo.yaml"):
        assert "ref/" not in (root / "gates" / name).read_text()
    assert all(not policy.required_models for policy in policies.values())
    assert (root / ".gitignore").read_text().splitlines()[1:] == [".clearance/", "reports/"]
    # the next three commands, with the provider filled in
    tail = out.split("next:", 1)[1].strip().splitlines()
    assert len(tail) == 3
    assert tail[0].strip().startswith("clearance models sync --provider mine")
    assert "cd team" in out


def test_a_model_name_with_colons_belongs_to_the_declared_provider(project: Path) -> None:
    run(
        "init",
        "--provider",
        "ollama",
        "--base-url",
        "http://127.0.0.1:11434/v1",
        "--model",
        "llama3:8b",
        "--model",
        "ollama:qwen2.5:7b",
    )
    config = load_config(cwd=project, environ={})
    # as everywhere in clearance, a prefix that is no declared provider is part of the name
    assert config.evals.models == ("ollama:llama3:8b", "ollama:qwen2.5:7b")
    assert config.providers[0].api_key_env is None  # Ollama needs no key


def test_a_native_provider_is_declared_with_its_protocol(project: Path) -> None:
    run(
        "init",
        "--provider",
        "claude",
        "--base-url",
        "https://api.anthropic.com/v1",
        "--api-key-env",
        "ANTHROPIC_API_KEY",
        "--protocol",
        "anthropic",
        "--model",
        "claude-sonnet-4-5-20250929",
    )
    text = (project / "clearance.toml").read_text()
    assert tomllib.loads(text)["providers"][0]["protocol"] == "anthropic"
    config = load_config(cwd=project, environ={})
    (provider,) = config.providers
    assert (provider.name, provider.protocol) == ("claude", "anthropic")
    assert config.evals.models == ("claude:claude-sonnet-4-5-20250929",)
    # an OpenAI-compatible provider is the default: its block names no protocol
    openai = init_project(project / "o", provider=ProviderSpec("mine", "http://127.0.0.1:4000/v1"))
    assert openai.files["clearance.toml"] == "written"
    written = tomllib.loads((project / "o" / "clearance.toml").read_text())
    assert "protocol" not in written["providers"][0]
    assert load_config(cwd=project / "o", environ={}).providers[0].protocol == "openai"


def test_the_toml_never_holds_a_key_and_without_a_provider_shows_a_commented_one(
    project: Path,
) -> None:
    run("init")
    text = (project / "clearance.toml").read_text()
    assert "# [[providers]]" in text
    assert '# protocol = "openai"' in text  # the commented example names the choice
    assert "api_key =" not in text.replace("# api_key_env", "")
    assert tomllib.loads(text)["evals"]["models"] == []
    assert "default_model" not in tomllib.loads(text)["policy"]
    assert load_config(cwd=project, environ={}).providers == ()


def test_init_is_idempotent_and_never_overwrites_without_force(project: Path) -> None:
    run("init")
    contract = project / "contracts" / "tools" / "lookup_order" / "1.0.0.yaml"
    mine = contract.read_text().replace("critical", "standard")
    contract.write_text(mine)
    (project / ".gitignore").write_text("node_modules/\n/.clearance\n")
    again = json.loads(run("init", "--json").stdout)
    assert again["files"]["contracts/tools/lookup_order/1.0.0.yaml"] == "kept"
    assert again["files"]["evals/test_evals.py"] == "unchanged"
    assert contract.read_text() == mine  # the team's edit survives
    assert (project / ".gitignore").read_text() == (
        "node_modules/\n/.clearance\n# clearance: the local catalog and the generated reports\n"
        "reports/\n"
    )
    assert json.loads(run("init", "--json").stdout)["gitignore"] == "unchanged"
    forced = run("init", "--force").stdout
    assert "replaced contracts/tools/lookup_order/1.0.0.yaml" in forced
    assert "replaced 1 file(s): contracts/tools/lookup_order/1.0.0.yaml" in forced
    assert contract.read_text() != mine


def test_an_existing_lock_is_kept_and_the_team_is_told_to_relock(project: Path) -> None:
    (project / "contracts").mkdir()
    (project / "contracts" / "contracts.lock").write_text(
        '{"format": 1, "tools": {}, "flows": {}}\n'
    )
    out = run("init").stdout
    assert "contracts/contracts.lock kept: `clearance contracts lock` updates it" in out
    assert json.loads((project / "contracts" / "contracts.lock").read_text())["tools"] == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "Mine", "--base-url", "http://x/v1"], "--provider"),
        (["--provider", "mine", "--base-url", "ftp://x"], "--base-url"),
        (
            ["--provider", "mine", "--base-url", "http://x/v1", "--api-key-env", "sk-123"],
            "--api-key-env",
        ),
        (["--provider", "mine"], "--provider and --base-url go together"),
        (["--protocol", "anthropic"], "--provider and --base-url go together"),
        (
            ["--provider", "mine", "--base-url", "http://x/v1", "--protocol", "claude"],
            "--protocol: is not one of 'openai', 'anthropic' or 'gemini'",
        ),
        (["--model", "gpt-mock"], "--model 'gpt-mock' names no provider"),
        (["--install-from", 'x" && curl evil'], "--install-from"),
    ],
)
def test_bad_arguments_are_refused_by_name_and_nothing_is_written(
    project: Path, args: list[str], message: str
) -> None:
    result = run("init", *args, code=2)
    assert message in result.stderr
    assert "fix:" in result.stderr
    assert list(project.iterdir()) == []


def test_the_workflow_pins_this_version_or_installs_what_it_is_told(project: Path) -> None:
    pinned = yaml.safe_load(render_workflow())
    install = next(s for s in pinned["jobs"]["gate"]["steps"] if s.get("id") == "install")
    assert install["run"] == f'python -m pip install "clearance=={clearance.__version__}"'
    wheel = yaml.safe_load(render_workflow("./wheels/clearance-1.0-py3-none-any.whl"))
    install = next(s for s in wheel["jobs"]["gate"]["steps"] if s.get("id") == "install")
    assert install["run"] == 'python -m pip install "./wheels/clearance-1.0-py3-none-any.whl"'


def test_the_shipped_gate_and_slo_defaults_are_the_repository_s_own(project: Path) -> None:
    init_project(project)
    for name in ("default.yaml", "slo.yaml"):
        assert (project / "gates" / name).read_bytes() == (REPO / "gates" / name).read_bytes()


def test_a_file_in_the_way_is_an_error_naming_it(project: Path) -> None:
    (project / "evals" / "test_evals.py").mkdir(parents=True)
    result = run("init", code=2)
    assert "test_evals.py is a folder" in result.stderr


def _steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["jobs"]["gate"]["steps"])


def test_every_workflow_step_is_a_github_action_or_a_real_command(project: Path) -> None:
    init_project(project)
    document = yaml.safe_load((project / ".github/workflows/clearance.yml").read_text())
    commands = {
        "models": ["sync"],
        "contracts": ["check"],
        "gate": [],
        "report": [],
    }
    for step in _steps(document):
        if "uses" in step:
            assert step["uses"].split("@")[0] in {
                "actions/checkout",
                "actions/setup-python",
                "actions/cache/restore",
                "actions/cache/save",
                "actions/upload-artifact",
            }
            continue
        words = step["run"].split()
        if words[0] == "python":
            assert words[1:3] in (["-m", "pip"], ["-m", "pytest"])
            continue
        assert words[0] == "clearance"
        assert words[1] in commands
        # the subcommand exists and its options parse (--help of the exact command)
        sub = [words[1], *commands[words[1]][:1]]
        run(*sub, "--help")


def test_the_toml_holds_any_text_a_model_id_may_have(project: Path) -> None:
    """JSON's escapes are not TOML's: an astral character or DEL must still load back."""
    model = 'mine:qwen😀/x"y\x7f'
    init_project(project, provider=ProviderSpec("mine", "http://127.0.0.1:4000/v1"), models=[model])
    assert tomllib.loads((project / "clearance.toml").read_text())["evals"]["models"] == [model]
