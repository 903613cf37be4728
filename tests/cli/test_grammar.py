"""One CLI grammar (issue 14, point 4): switches, lists, --out, --json, metavars.

The grammar is written down in ``clearance.cli._options`` and the README's "Commands";
these tests walk every command of the real CLI, so a new option that breaks it fails here.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner, Result

from clearance.cli import app
from clearance.cli._options import split_list
from clearance.config import ClearanceConfig, load_config
from tests.conftest import OPENROUTER_MODELS

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

REPO = Path(__file__).resolve().parents[2]

# A metavar names what to type: upper case, maybe two forms (URL|FILE) or a shape (I/N);
# a list's ends in ",..." (it takes commas and repeats alike).
_METAVAR = re.compile(r"^[A-Z][A-Z_]*([|/][A-Z][A-Z_]*)?$")
_LIST_METAVAR = re.compile(r"^[A-Z][A-Z_]*,\.\.\.$")

# `--out` is the path of the command's main artifact: a folder when it writes several files
_OUT = {
    "report": "FOLDER",
    "demo": "FOLDER",
    "contracts import-bfcl": "FOLDER",
    "models export": "FILE",
    "runs export": "FILE",
    "slo report": "FILE",
    "audit": "FILE",
}
# every command that prints a result has --json; these print none worth a document
_NO_JSON = {
    "models export",  # its output is already the JSON snapshot
    "runs export",  # JSON Lines, to --out or stdout
    "reference serve",  # a server: the base URL, then nothing until Ctrl-C
    "demo",  # a narrated walk through the product
    "price",  # the hidden old name of `prices cost`, which has it
}


def _commands() -> Iterator[tuple[str, Any, typer.Context]]:
    """(path, command, context) of every command of ``clearance``, groups' callbacks too."""
    root = typer.main.get_command(app)

    def walk(command: Any, path: str, parent: typer.Context | None) -> Iterator[Any]:
        ctx = typer.Context(command, info_name=path.split(" ")[-1] or "clearance", parent=parent)
        yield path, command, ctx
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}".strip(), ctx)

    yield from walk(root, "", None)


COMMANDS = list(_commands())
LEAVES = [
    (path, command, ctx) for path, command, ctx in COMMANDS if not hasattr(command, "commands")
]


def _options(command: Any, ctx: typer.Context) -> list[TyperOption]:
    return [p for p in command.get_params(ctx) if isinstance(p, TyperOption)]


def test_the_walk_sees_the_whole_cli() -> None:
    paths = {path for path, _, _ in LEAVES}
    assert {"gate", "eval", "prices cost", "policy fallbacks set", "config show"} <= paths
    assert len(paths) > 40


@pytest.mark.parametrize(
    ("path", "command", "ctx"), COMMANDS, ids=[p or "clearance" for p, *_ in COMMANDS]
)
def test_every_option_shows_a_human_metavar_and_a_switch_none(
    path: str, command: Any, ctx: typer.Context
) -> None:
    for option in _options(command, ctx):
        name = option.opts[0]
        if option.is_flag:
            assert option.metavar == "", f"{path} {name}: a switch shows no metavar"
        elif option.multiple:
            assert _LIST_METAVAR.match(option.metavar or ""), f"{path} {name}: {option.metavar}"
        else:
            assert _METAVAR.match(option.metavar or ""), f"{path} {name}: {option.metavar}"
    for argument in command.params:
        if isinstance(argument, TyperArgument):
            assert argument.metavar, f"{path} {argument.name}: an argument names its kind"


@pytest.mark.parametrize(("path", "command", "ctx"), LEAVES, ids=[p for p, *_ in LEAVES])
def test_help_loses_no_bracketed_text_to_markup(
    path: str, command: Any, ctx: typer.Context
) -> None:
    """Rich reads ``[word]`` in help text as markup and drops it (``the [[retrievers]] to
    score`` printed ``the [] to score``): every ``[`` a help shows must be escaped."""
    shown = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": "200"}).stdout
    assert "[]" not in shown, f"{path} --help: {shown}"


@pytest.mark.parametrize("args", [["--help"], ["gate", "--help"], ["eval", "--help"]])
def test_help_shows_no_python_types(args: list[str]) -> None:
    shown = CliRunner().invoke(app, args, env={"COLUMNS": "200"}).stdout
    for python_type in ("<bool>", "<list[str]>", "<str>", "<int>", "<path>", "<float>"):
        assert python_type not in shown, args
    assert "--help" in shown


def test_gate_help_names_what_each_option_takes() -> None:
    shown = CliRunner().invoke(app, ["gate", "--help"], env={"COLUMNS": "200"}).stdout
    assert re.search(r"--models\s+MODEL_ID,\.\.\.", shown)
    assert re.search(r"--run\s+RUN_ID,\.\.\.", shown)
    assert re.search(r"--junit\s+FILE", shown)
    assert re.search(r"--dry-run\s+Decide", shown)  # a switch: its help follows its name


def test_json_is_a_switch_in_every_command_with_output() -> None:
    missing = []
    for path, command, ctx in LEAVES:
        options = {option.opts[0]: option for option in _options(command, ctx)}
        if "--json" in options:
            assert options["--json"].is_flag, f"{path} --json takes no value"
        elif path not in _NO_JSON:
            missing.append(path)
    assert missing == []


def test_out_is_a_folder_or_a_file_as_the_grammar_says() -> None:
    outs = {}
    for path, command, ctx in LEAVES:
        for option in _options(command, ctx):
            if "--out" in option.opts:
                outs[path] = option.metavar
    assert outs == _OUT


def test_split_list_takes_commas_and_repeats_alike() -> None:
    assert split_list(["a,b", " c ", "a", "", "d, ,e"]) == ["a", "b", "c", "d", "e"]
    assert split_list(None) == []
    assert split_list(["a", "b"]) == split_list(["a,b"])


# ---------------------------------------------------------------- against a catalog


@pytest.fixture
def cli(project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `clearance ARGS` in an empty project whose catalog is ``catalog_url``."""
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    run("models", "sync", "--from", str(OPENROUTER_MODELS), "--as", "openrouter")
    return run


def test_list_options_take_commas_and_repeats_alike(cli: Any) -> None:
    first = json.loads(
        cli("orgs", "set", "acme", "--enable", "openai/gpt-4o,openai/gpt-4.1", "--json").stdout
    )
    second = json.loads(
        cli(
            "orgs", "set", "acme2", "--enable", "openai/gpt-4o", "--enable", "openai/gpt-4.1",
            "--json",
        ).stdout
    )  # fmt: skip
    assert (
        first["enabled_models"]
        == second["enabled_models"]
        == [
            "openrouter:openai/gpt-4o",
            "openrouter:openai/gpt-4.1",
        ]
    )
    removed = json.loads(
        cli("orgs", "set", "acme", "--remove", "openai/gpt-4o, openai/gpt-4.1", "--json").stdout
    )
    assert removed["enabled_models"] == []
    chain = json.loads(
        cli(
            "policy", "fallbacks", "set", "openai/gpt-4o", "openai/gpt-4.1,openai/gpt-4o-mini",
            "--json",
        ).stdout
    )  # fmt: skip
    assert chain["fallbacks"] == ["openrouter:openai/gpt-4.1", "openrouter:openai/gpt-4o-mini"]
    both = ["--provider", "openrouter,nowhere"]
    assert "'nowhere' is not in the catalog" in cli("models", "export", *both, code=2).stderr


def test_orgs_set_prints_settings_not_a_python_dict(cli: Any) -> None:
    shown = cli("orgs", "set", "acme", "--enable", "openai/gpt-4o", "--default", "openai/gpt-4o")
    assert "{" not in shown.stdout
    assert "enabled models: openrouter:openai/gpt-4o" in shown.stdout
    assert "default model: openrouter:openai/gpt-4o" in shown.stdout


def test_prices_cost_is_the_cost_and_price_its_hidden_old_name(cli: Any) -> None:
    args = ["openai/gpt-4o", "--prompt-tokens", "1000", "--completion-tokens", "500", "--json"]
    new = cli("prices", "cost", *args)
    old = cli("price", *args)
    assert json.loads(new.stdout) == json.loads(old.stdout)
    assert Decimal(json.loads(new.stdout)["cost_usd"]) == Decimal("0.0075")
    assert new.stderr == ""
    assert "`clearance price` is now `clearance prices cost`" in old.stderr
    listed = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    assert re.search(r"^\W*prices\s", listed, re.M)
    assert not re.search(r"^\W*price\s", listed, re.M)


def test_call_with_provider_still_obeys_the_gate(cli: Any) -> None:
    """The help says what --provider does: it picks the provider, it skips no check."""
    shown = CliRunner().invoke(app, ["call", "--help"], env={"COLUMNS": "200"}).stdout
    assert "directly" not in shown
    assert "keeps its gate state" in " ".join(shown.split())
    # a catalog model nobody enabled: refused before any request, --provider or not
    refused = cli(
        "call", "--provider", "openrouter", "--model", "openai/gpt-4o", "--message", "hi",
        code=1,
    )  # fmt: skip
    assert "gate_refused" in refused.stderr


def test_new_json_switches_print_json(cli: Any) -> None:
    assert json.loads(cli("db", "current", "--json").stdout)["revision"]
    assert "CLEARANCE_DATABASE_URL" in json.loads(cli("config", "env", "--json").stdout)
    thrown = json.loads(cli("killswitch", "on", "--reason", "drill", "--json").stdout)
    assert (thrown["scope"], thrown["active"], thrown["reason"]) == ("global", True, "drill")
    released = json.loads(cli("killswitch", "off", "--reason", "over", "--json").stdout)
    assert released["active"] is False
    assert json.loads(cli("calls", "replay-spill", "--json").stdout)["rows"] == 0
    pinned = cli("models", "enable", "openai/gpt-4o", "--reason", "t", "--override", "--json")
    assert json.loads(pinned.stdout)["after"] == "override:enable"
    cleared = cli("models", "clear-override", "openai/gpt-4o", "--reason", "t", "--json")
    assert json.loads(cleared.stdout)["changed"] is True
    again = cli("models", "clear-override", "openai/gpt-4o", "--reason", "t", "--json")
    assert json.loads(again.stdout)["changed"] is False


# ---------------------------------------------------------------- config show


def test_config_show_prints_toml_that_loads_back_to_the_same_configuration(
    project: Path,
) -> None:
    (project / "clearance.toml").write_text(
        """
[pricing]
default_prompt_per_token = "0.00002"
source_priority = ["manual", "provider"]

[policy]
tiers = { strong = "mine:big" }
fallbacks = { "mine:big" = ["mine:small"] }

[evals]
cost_cap = 2.5
models = ["mine:big"]

[[providers]]
name = "mine"
base_url = "http://127.0.0.1:4000/v1"
api_key_env = "MINE_API_KEY"

[[providers]]
name = "other"
base_url = "http://127.0.0.1:4001/v1"
""",
        encoding="utf-8",
    )
    shown = CliRunner().invoke(app, ["config", "show"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    tomllib.loads(text)  # TOML, not a Python dict
    # no null in TOML: an unset key is left out and named in a comment
    assert "# not set: policy.default_model" in text
    assert "providers[1].api_key_env" in text
    assert 'default_prompt_per_token = "0.00002"' in text  # a Decimal, exactly
    copy = project / "copy"
    copy.mkdir()
    (copy / "clearance.toml").write_text(text, encoding="utf-8")
    original = load_config(project / "clearance.toml")
    again = load_config(copy / "clearance.toml")
    assert again.model_dump() == original.model_dump()
    assert again.evals.cost_cap == original.evals.cost_cap
    as_json = json.loads(CliRunner().invoke(app, ["config", "show", "--json"]).stdout)
    assert as_json["pricing"]["default_prompt_per_token"] == "0.00002"


def test_config_show_of_the_defaults_loads_back(project: Path) -> None:
    text = CliRunner().invoke(app, ["config", "show"], catch_exceptions=False).stdout
    assert "no file, the defaults" in text
    (project / "clearance.toml").write_text(text, encoding="utf-8")
    assert load_config().model_dump() == ClearanceConfig().model_dump()


# ---------------------------------------------------------------- demo


def test_demo_help_lists_every_step_the_demo_runs() -> None:
    source = (REPO / "src/clearance/cli/demo.py").read_text(encoding="utf-8")
    steps = re.findall(r'console\.rule\("(\d+)\. ', source)
    assert steps == [str(n) for n in range(1, len(steps) + 1)]
    assert len(steps) >= 10
    shown = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).stdout
    words = " ".join(shown.split())
    for step in steps:
        assert f"{step}. " in words
    assert "reliability report" in words
    assert re.search(r"--out\s+FOLDER", shown)
    assert "--reports" not in shown  # the old name still works, unlisted


def test_demo_reports_is_a_hidden_old_name_of_out(project: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--reports", str(project / "r")])
    assert result.exit_code == 2  # outside a clearance checkout, as without it
    assert "--reports is now --out" in result.stderr
