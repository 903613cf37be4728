"""``clearance init``: the files a team's repository needs to gate its own models.

The files are package data under ``files/`` (so they ship in the wheel) and are
written by :func:`init_project`:

- ``clearance.toml``: the catalog, a ``[[providers]]`` entry (filled in from the
  arguments, else a commented example; only ``api_key_env``, never a key), the
  candidate models, the gate policy;
- ``contracts/``: one example tool contract and one two-turn flow, and their lock;
- ``evals/test_evals.py``: the one test the pytest plugin expands into the suite;
- ``gates/default.yaml`` (the shipped bar), ``gates/starter.yaml`` (what a few cases
  can show), ``gates/slo.yaml`` (objectives on live traffic); none names a model;
- ``.github/workflows/clearance.yml``: the pull-request gate, pinned to this version;
- ``.gitignore`` lines for the catalog and the generated reports.

It is idempotent: a file that exists is left alone (reported ``unchanged`` when it
already has the scaffold's content, ``kept`` when it differs), unless ``force`` is
set, and then each replaced file is listed. ``.gitignore`` is never replaced: the
missing lines are appended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from clearance.errors import ConfigError, InputError

__all__ = [
    "GITIGNORE_LINES",
    "SCAFFOLD_FILES",
    "InitReport",
    "ProviderSpec",
    "default_requirement",
    "init_project",
    "render_config",
    "render_workflow",
]

#: target path in the project -> path of its template under ``files/``.
SCAFFOLD_FILES: dict[str, str] = {
    "clearance.toml": "clearance.toml",
    "contracts/tools/lookup_order/1.0.0.yaml": "contracts/tools/lookup_order/1.0.0.yaml",
    "contracts/flows/order_status.yaml": "contracts/flows/order_status.yaml",
    "evals/test_evals.py": "evals/test_evals.py",
    "gates/default.yaml": "gates/default.yaml",
    "gates/starter.yaml": "gates/starter.yaml",
    "gates/slo.yaml": "gates/slo.yaml",
    ".github/workflows/clearance.yml": "github/workflows/clearance.yml",
}

#: What git must not keep: the local catalog (and its spill folder) and the reports.
GITIGNORE_LINES: tuple[str, ...] = (".clearance/", "reports/")

_COMMENTED_PROVIDER = """\
# [[providers]]
# name = "mine"                            # lower case: the prefix of its model ids
# base_url = "http://127.0.0.1:4000/v1"    # LiteLLM's proxy; vLLM: http://127.0.0.1:8000/v1
# api_key_env = "MINE_API_KEY"             # the variable's NAME (omit if no key is needed)
# protocol = "openai"                      # or "anthropic" (base_url
#                                          # https://api.anthropic.com/v1), or "gemini"
#                                          # (https://generativelanguage.googleapis.com/v1beta)"""

FileState = Literal["written", "replaced", "unchanged", "kept"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """The provider ``init`` declares: its endpoint, its key's variable and its protocol."""

    name: str
    base_url: str
    api_key_env: str | None = None
    protocol: str = "openai"
    """The wire protocol it speaks: ``openai``, ``anthropic`` or ``gemini`` (checked when
    the configuration is rendered)."""


@dataclass(slots=True)
class InitReport:
    """What :func:`init_project` did, file by file."""

    root: Path
    files: dict[str, FileState] = field(default_factory=dict)
    """Project-relative path -> what happened to it."""
    gitignore: Literal["created", "updated", "unchanged"] = "unchanged"
    lock: Literal["written", "kept", "invalid"] = "kept"
    """``contracts/contracts.lock``: written when missing, else left to ``contracts lock``."""
    lock_problem: str | None = None

    def paths(self, *states: FileState) -> list[str]:
        """The files in one of ``states``, in scaffold order."""
        return [path for path, state in self.files.items() if state in states]


def _template(name: str) -> str:
    return resources.files(__package__).joinpath("files", name).read_text(encoding="utf-8")


def _toml_string(value: str) -> str:
    """``value`` as a TOML string, escaped by tomli-w (the writer ``config show`` uses).

    JSON's escapes are not TOML's: ``json.dumps`` writes an emoji as a surrogate pair,
    which TOML refuses, and leaves DEL unescaped, which TOML forbids.
    """
    import tomli_w

    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _validated_provider(provider: ProviderSpec) -> str:
    from clearance.config import ProviderConfig

    try:
        checked = ProviderConfig.model_validate(
            {
                "name": provider.name,
                "base_url": provider.base_url,
                "api_key_env": provider.api_key_env,
                "protocol": provider.protocol,
            }
        )
    except ValidationError as error:
        from clearance.config import plain_validation_error

        first = error.errors(include_url=False)[0]
        option = {
            "name": "--provider",
            "base_url": "--base-url",
            "api_key_env": "--api-key-env",
            "protocol": "--protocol",
        }
        where = option.get(str(first["loc"][0]) if first["loc"] else "", "--provider")
        message, _ = plain_validation_error(first)
        raise InputError(
            f"{where}: {message}",
            fix="a provider name is lower case (letters, digits, _.-); a base URL starts "
            "with http:// or https://; api_key_env is a variable NAME such as MINE_API_KEY; "
            "a protocol is openai, anthropic or gemini",
        ) from None
    lines = [
        "[[providers]]",
        f"name = {_toml_string(checked.name)}",
        f"base_url = {_toml_string(checked.base_url)}",
    ]
    if checked.protocol != "openai":
        lines.append(f"protocol = {_toml_string(checked.protocol)}")
    if checked.api_key_env:
        lines.append(f"api_key_env = {_toml_string(checked.api_key_env)}")
    return "\n".join(lines)


def _validated_models(models: Sequence[str], provider: ProviderSpec | None) -> list[str]:
    from clearance.modelid import parse_model_id

    out: list[str] = []
    declared = () if provider is None else (provider.name,)
    for text in models:
        parsed = parse_model_id(text, declared)
        if parsed.qualified:
            model = str(parsed)
        elif provider is not None:
            # a name of the declared provider's, which may hold colons (Ollama's llama3:8b)
            model = f"{provider.name}:{parsed.name}"
        elif ":" in text:
            model = text  # PROVIDER:NAME of a provider declared later
        else:
            raise InputError(
                f"--model {text!r} names no provider",
                fix="write it as PROVIDER:NAME (e.g. mine:gpt-4o-mini), or give --provider",
            )
        if model not in out:
            out.append(model)
    return out


def render_config(provider: ProviderSpec | None, models: Sequence[str]) -> str:
    """The scaffold's ``clearance.toml`` for this provider and these candidate models."""
    block = _COMMENTED_PROVIDER if provider is None else _validated_provider(provider)
    checked = _validated_models(models, provider)
    listed = "[" + ", ".join(_toml_string(m) for m in checked) + "]"
    if not checked:
        listed += '   # e.g. ["mine:gpt-4o-mini"]; or pass --models to each run'
    default = (
        f"default_model = {_toml_string(checked[0])}"
        if checked
        else '# default_model = "mine:gpt-4o-mini"'
    )
    return (
        _template("clearance.toml")
        .replace("@PROVIDERS@", block)
        .replace("@MODELS@", listed)
        .replace("@DEFAULT_MODEL@", default)
    )


def default_requirement() -> str:
    """What the workflow installs by default: this very version of clearance."""
    from clearance import __version__

    return f"clearance=={__version__}"


def render_workflow(install_from: str | None = None) -> str:
    """The workflow, installing ``install_from`` (a pip requirement, wheel path or URL)."""
    from clearance import __version__

    requirement = install_from or default_requirement()
    if not requirement.strip() or any(c in requirement for c in '"\n\r`$'):
        raise InputError(
            f"--install-from {requirement!r} cannot be written into the workflow",
            fix="give one pip requirement, wheel path or URL, without quotes or $",
        )
    text = _template(SCAFFOLD_FILES[".github/workflows/clearance.yml"])
    text = text.replace(
        'python -m pip install "clearance==@CLEARANCE_VERSION@"',
        f'python -m pip install "{requirement}"',
    )
    return text.replace("@CLEARANCE_VERSION@", __version__)


def _content(
    target: str, provider: ProviderSpec | None, models: Sequence[str], install_from: str | None
) -> str:
    if target == "clearance.toml":
        return render_config(provider, models)
    if target == ".github/workflows/clearance.yml":
        return render_workflow(install_from)
    return _template(SCAFFOLD_FILES[target])


def _update_gitignore(root: Path) -> Literal["created", "updated", "unchanged"]:
    path = root / ".gitignore"
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    have = {line.strip() for line in (existing or "").splitlines()}
    # "/.clearance/" and ".clearance" ignore the same folder here
    missing = [
        line
        for line in GITIGNORE_LINES
        if not {line, line.rstrip("/"), "/" + line, "/" + line.rstrip("/")} & have
    ]
    if not missing:
        return "unchanged"
    block = "# clearance: the local catalog and the generated reports\n" + "\n".join(missing)
    if existing is None:
        path.write_text(block + "\n", encoding="utf-8")
        return "created"
    separator = "" if existing.endswith("\n") or not existing else "\n"
    path.write_text(existing + separator + block + "\n", encoding="utf-8")
    return "updated"


def init_project(
    root: Path,
    *,
    provider: ProviderSpec | None = None,
    models: Sequence[str] = (),
    install_from: str | None = None,
    force: bool = False,
) -> InitReport:
    """Write the scaffold into ``root`` (created when missing) and report each file.

    Args:
        root: the project folder (a repository's root).
        provider: the provider to declare; ``None`` writes a commented example.
        models: candidate model ids (``PROVIDER:NAME``; a bare name takes ``provider``'s).
        install_from: what the workflow's install step gives pip (default: this
            version of clearance from the package index).
        force: replace files that differ from the scaffold.

    Raises:
        InputError: an invalid provider or model id (nothing is written then), or a
            path in the way (a folder where a file goes).
    """
    contents = {
        target: _content(target, provider, models, install_from) for target in SCAFFOLD_FILES
    }
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} is a file, not a folder", fix="name a folder for the project")
    for target in contents:
        if (root / target).is_dir():
            raise InputError(
                f"{root / target} is a folder where clearance init writes a file",
                fix="move it away, or run clearance init in another folder",
            )
    root.mkdir(parents=True, exist_ok=True)
    report = InitReport(root=root.resolve())
    lock_existed = (root / "contracts" / "contracts.lock").exists()
    for target, text in contents.items():
        path = root / target
        if path.exists():
            if path.read_text(encoding="utf-8") == text:
                report.files[target] = "unchanged"
                continue
            if not force:
                report.files[target] = "kept"
                continue
            report.files[target] = "replaced"
        else:
            report.files[target] = "written"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    report.gitignore = _update_gitignore(root)
    if not lock_existed:
        report.lock, report.lock_problem = _write_lock(root / "contracts")
    return report


def _write_lock(contracts: Path) -> tuple[Literal["written", "invalid"], str | None]:
    from clearance.contracts.check import build_lock
    from clearance.contracts.lock import write_lock
    from clearance.errors import ContractError

    try:
        write_lock(contracts, build_lock(contracts))
    except (ContractError, ConfigError) as error:
        return "invalid", error.message
    return "written", None
