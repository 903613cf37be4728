"""The README's quickstart and the CI workflow `clearance init` writes, as a new user runs them.

Nothing here imports the source tree into the user's side: the sdist and the wheel are
built (``python -m build --no-isolation``), every command of the README section "Gate
your own model in ten minutes" runs in order, as written, in an empty folder outside
this repository (its first command makes the virtualenv the wheel is installed into),
against the reference simulator serving under the provider name ``mine`` and requiring
an API key. Then the workflow's ``run:`` steps run in a clone of what the quickstart
committed (a simulated CI checkout: nothing copied by hand), offline, twice, the second
time with the first run's catalog, as the workflow's cache would restore it.

What the test puts in place of the README's user-specific values, and nothing else:
the wheel's path, the server's base URL (a free port instead of 4000) and the served
model's name (the simulator's ``ref/steady`` for ``gpt-mock``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import clearance
from tests.support.processes import child

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SECTION = "## Gate your own model in ten minutes"
README_WHEEL = f"/path/to/clearance/dist/clearance-{clearance.__version__}-py3-none-any.whl"
README_URL = "http://127.0.0.1:4000/v1"
README_MODEL = "gpt-mock"
KEY = "sk-mine-123"
SERVED_MODEL = "ref/steady"
UV = str(Path(sys.executable).parent / "uv")
"""The installer the test runs in place of the README's ``pip install`` line: the same
wheel, its same declared dependencies resolved from the same registry, into the same
virtualenv, in ~2 s where pip takes ~22 s (measured: benchmarks/RESULTS.md, issue 17).
What pip would do differently (its resolver) is pip's; what the wheel declares is ours."""

pytestmark = pytest.mark.slow


def quickstart_blocks() -> list[str]:
    """The ``sh`` blocks of the quickstart section, in order (its subsections left out)."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def _user_env(**extra: str) -> dict[str, str]:
    """A new user's environment: no CLEARANCE_* variables, no virtualenv of this repo."""
    repo_bin = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != repo_bin]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLEARANCE_", "PYTEST_", "VIRTUAL_ENV", "PYTHON", "MINE_"))
        and k not in ("CI", "GITHUB_STEP_SUMMARY", "COV_CORE_SOURCE")
    }
    env.update(
        PATH=os.pathsep.join(path),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        GIT_AUTHOR_NAME="A User",
        GIT_AUTHOR_EMAIL="user@example.com",
        GIT_COMMITTER_NAME="A User",
        GIT_COMMITTER_EMAIL="user@example.com",
        COLUMNS="200",
    )
    env.update(extra)
    return env


@dataclass
class Quickstart:
    """What running the quickstart left behind."""

    home: Path
    """The empty folder the user started in."""
    project: Path
    """The folder `clearance init` made."""
    venv: Path
    """The virtualenv the quickstart made and installed the wheel into."""
    wheel: Path
    sdist: Path
    log: str
    """Every command (bash -x) and what it printed."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel, built from a copy of the files git tracks."""
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        origin = REPO / name.decode()
        if origin.is_file():
            target = source / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The reference simulator on a free port, wanting ``Authorization: Bearer KEY``.

    Started from this repository's install (the server side is not under test); stopped
    by :func:`quickstart` once the user's commands are done, so CI's steps run offline.
    """
    command = [str(Path(sys.executable).parent / "clearance"), "reference", "serve"]
    command += ["--port", "0", "--api-key-env", "MINE_API_KEY"]
    with child(command, env={**os.environ, "MINE_API_KEY": KEY}, stderr=False) as server:
        base_url = server.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), base_url
        yield {"base_url": base_url, "process": server.process}


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def quickstart(
    built: tuple[Path, Path], simulator: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Quickstart:
    wheel, sdist = built
    home = tmp_path_factory.mktemp("user")
    blocks = quickstart_blocks()
    script = "\n".join(blocks)
    assert README_WHEEL in script, f"the README's install line names {README_WHEEL}"
    assert README_URL in script
    assert README_MODEL in script
    assert f"export MINE_API_KEY={KEY}" in script
    install = f"\npip install {README_WHEEL}\n"
    assert install in f"\n{script}\n", f"the README installs the wheel with {install.strip()!r}"
    script = (
        script.replace(install.strip(), f"{UV} pip install {wheel}")
        .replace(README_WHEEL, str(wheel))
        .replace(README_URL, simulator["base_url"])
        .replace(f":{README_MODEL}", f":{SERVED_MODEL}")
    )
    done = subprocess.run(
        ["bash", "-euxo", "pipefail", "-c", script],
        cwd=home,
        env=_user_env(UV_CACHE_DIR=str(home / ".uv-cache"), UV_NO_PROGRESS="1"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = done.stdout + done.stderr
    (home / "quickstart.log").write_text(log)
    _stop(simulator["process"])
    lines = [line for line in log.splitlines() if "is ignored: it is neither" not in line]
    assert done.returncode == 0, "\n".join(lines[-60:])
    return Quickstart(home, home / "my-gate", home / ".venv", wheel, sdist, log)


def test_the_wheel_carries_everything_a_project_outside_the_repository_needs(
    built: tuple[Path, Path],
) -> None:
    wheel, sdist = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "clearance/py.typed",
        "clearance/reports/templates/index.html",
        "clearance/catalog/migrations/env.py",
        "clearance/catalog/migrations/versions/0001_initial_schema.py",
        "clearance/scaffold/files/gates/default.yaml",
        "clearance/scaffold/files/gates/slo.yaml",
        "clearance/scaffold/files/github/workflows/clearance.yml",
        "clearance/scaffold/files/evals/test_evals.py",
        "clearance/reference/catalog.py",
    ):
        assert needed in names, needed
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "clearance = clearance.cli:main" in text
    assert "clearance = clearance.evaluation.pytest_plugin" in text  # `pytest evals`
    assert sdist.name == f"clearance-{clearance.__version__}.tar.gz"


def test_the_quickstart_runs_as_written_from_the_installed_wheel(quickstart: Quickstart) -> None:
    log = quickstart.log
    assert f"clearance {clearance.__version__}" in log  # clearance --version
    # the user's clearance is the wheel's, in the user's virtualenv
    where = subprocess.run(
        [
            str(quickstart.venv / "bin" / "python"),
            "-c",
            "import clearance; print(clearance.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=quickstart.home,
        env=_user_env(),
    ).stdout.strip()
    assert where.startswith(str(quickstart.venv)), where
    assert not where.startswith(str(REPO))
    project = quickstart.project
    cassette = project / "evals" / "cassettes" / "mine" / "ref" / "steady" / "order_status.json"
    assert cassette.is_file()
    assert "3 passed" in log  # pytest evals replayed the three trials
    assert re.search(r"mine:ref/steady\s.*enable", log), log[-3000:]
    assert (project / "reports" / "html" / "index.html").is_file()
    snapshot = (project / "clearance-models.json").read_text()
    assert "mine:ref/steady" in snapshot or '"ref/steady"' in snapshot
    committed = subprocess.run(
        ["git", "ls-files"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.split()
    for path in (
        "clearance.toml",
        "clearance-models.json",
        ".github/workflows/clearance.yml",
        "contracts/contracts.lock",
        "evals/test_evals.py",
        "gates/starter.yaml",
        "evals/cassettes/mine/ref/steady/order_status.json",
    ):
        assert path in committed, path
    assert not any(p.startswith((".clearance/", "reports/")) for p in committed)
    for path in committed:  # the key never reaches a committed file
        assert KEY not in (project / path).read_text(errors="replace"), path
    for page in (project / "reports").rglob("*"):
        if page.is_file():
            assert KEY not in page.read_text(errors="replace"), page


def _expand(text: str, context: dict[str, str]) -> str:
    """GitHub's ``${{ expr }}`` for the few expressions the workflow uses."""

    def one(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        assert expression in context, f"the test knows no value for ${{{{ {expression} }}}}"
        return context[expression]

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def _run_ci(quickstart: Quickstart, checkout: Path, run: int) -> list[tuple[str, str]]:
    """The gate job's steps, as GitHub runs them; returns (step, output) of each run step."""
    workflow = yaml.safe_load((checkout / ".github" / "workflows" / "clearance.yml").read_text())
    job = workflow["jobs"]["gate"]
    context = {
        "github.workspace": str(checkout),
        "github.run_id": str(1000 + run),
        "github.run_attempt": "1",
        "github.ref": "refs/pull/7/merge",
    }
    summary = checkout.parent / f"step-summary-{run}.md"
    env = _user_env(
        PATH=f"{quickstart.venv / 'bin'}{os.pathsep}{_user_env()['PATH']}",
        VIRTUAL_ENV=str(quickstart.venv),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    env.update({k: _expand(str(v), context) for k, v in job["env"].items()})
    outputs: list[tuple[str, str]] = []
    for step in job["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/"), step  # GitHub's own actions only
            continue
        command = step["run"]
        if step.get("id") == "install":
            # the one line init's comment says to change for a wheel: clearance is not on
            # PyPI yet, so CI installs the wheel the quickstart installed
            pinned = f'"clearance=={clearance.__version__}"'
            assert pinned in command, command
            command = command.replace(pinned, f'"{quickstart.wheel}"')
        done = subprocess.run(
            ["bash", "-e", "-c", command],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"step {step.get('name', command)!r} failed:\n{output}"
        outputs.append((step.get("name", command), output))
    assert summary.is_file()
    return outputs


def test_the_workflow_init_wrote_passes_in_a_simulated_ci_checkout(
    quickstart: Quickstart, tmp_path: Path
) -> None:
    """A clone of what the quickstart committed, offline (the simulator is stopped, no key)."""
    workflow_file = quickstart.project / ".github" / "workflows" / "clearance.yml"
    workflow = yaml.safe_load(workflow_file.read_text())
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the bare key `on` as true
    steps = workflow["jobs"]["gate"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    assert all("uses" in step or "run" in step for step in steps)
    assert any(r.startswith("clearance models sync --from clearance-models.json") for r in runs)
    assert any("--clearance-record-mode=none" in r for r in runs)
    assert any(r.startswith("clearance gate --ci") for r in runs)
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(quickstart.project), str(checkout)], check=True)
    first = dict(_run_ci(quickstart, checkout, run=1))
    assert "1 run(s)" in (checkout / "reports" / "html" / "index.html").read_text()
    assert "mine:ref/steady" in first["Gate"]
    assert (checkout / "reports" / "gate-junit.xml").is_file()
    assert (checkout / "reports" / "evals-junit.xml").is_file()
    # the next run restores the catalog the first one left (actions/cache): history
    _run_ci(quickstart, checkout, run=2)
    index = (checkout / "reports" / "html" / "index.html").read_text()
    assert "2 run(s)" in index
    assert "ci-1001-1" in index or "ci-1001" in index  # the previous decision's run


# Issue 22's knowledge commands in a project of their own, from this module's wheel and
# the quickstart's virtualenv (imported so it shares them: the wheel is built once)
from tests.quickstart_knowledge import test_knowledge_from_the_installed_wheel  # noqa: E402, F401
