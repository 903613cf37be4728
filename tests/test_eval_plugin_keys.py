"""``pytest evals`` and API keys: a run that must record with an unset key variable stops
before any item, as a usage error naming the provider, the variable and the models; a
replay runs without any key (as CI does)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas  # noqa: F401  (see below)
import pytest

import clearance.evaluation.engine  # noqa: F401  (see below)
from clearance.catalog.database import open_catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.discovery import parse_model_list
from clearance.reference import models_document
from tests.support.evalproject import make_project
from tests.support.keyserver import SECRET, CountingServer, counting_server

pytest_plugins = ["pytester"]
# pytester's in-process runs drop the modules first imported inside them: numpy refuses to
# load twice, and the contract loader's YAML constructors must outlive one run. Importing
# both here keeps them out of the snapshot's reach.

EVALS_TEST = Path(__file__).resolve().parents[1] / "evals" / "test_evals.py"
MODEL = "mock:ref/steady"
OPTIONS = ["evals", f"--clearance-models={MODEL}", "--clearance-cases=ok"]


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with counting_server() as running:
        yield running


@pytest.fixture
def mock_project(
    pytester: pytest.Pytester, server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    root = pytester.path
    config = make_project(root, f"sqlite:///{root / 'catalog.db'}")
    with (root / "clearance.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            f'[[providers]]\nname = "mock"\nbase_url = "{server.base_url}"\n'
            'api_key_env = "MOCK_API_KEY"\n'
        )
    catalog = open_catalog(config.resolved_database_url())
    try:
        with catalog.begin() as connection:
            ensure_provider(
                connection, "mock", base_url=server.base_url, api_key_env="MOCK_API_KEY"
            )
            document = parse_model_list(models_document(), source="reference")
            sync_models(connection, "mock", document, enable_new=True)
    finally:
        catalog.dispose()
    (root / "evals").mkdir(exist_ok=True)
    shutil.copyfile(EVALS_TEST, root / "evals" / "test_evals.py")
    monkeypatch.setenv("CLEARANCE_CONFIG", str(root / "clearance.toml"))
    monkeypatch.delenv("MOCK_API_KEY", raising=False)
    server.requests.clear()
    return root


def test_recording_without_the_key_is_a_usage_error_before_any_item(
    pytester: pytest.Pytester, mock_project: Path, server: CountingServer
) -> None:
    result = pytester.runpytest(*OPTIONS, "--clearance-record-mode=new")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str()
    assert "provider 'mock' needs the environment variable MOCK_API_KEY, which is not set" in text
    assert f"{MODEL} cannot be recorded without it" in text
    assert "passed" not in result.parseoutcomes()
    assert server.requests == []


def test_a_replay_runs_without_any_key(
    pytester: pytest.Pytester,
    mock_project: Path,
    server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOCK_API_KEY", SECRET)
    recorded = pytester.runpytest(*OPTIONS, "--clearance-record-mode=once")
    assert sum(recorded.parseoutcomes().values()) == 2, recorded.stdout.str()
    assert server.chats == 2
    monkeypatch.delenv("MOCK_API_KEY")
    server.requests.clear()
    for mode in ("none", "once"):
        replayed = pytester.runpytest(*OPTIONS, f"--clearance-record-mode={mode}")
        assert replayed.ret != pytest.ExitCode.USAGE_ERROR
        assert replayed.parseoutcomes() == recorded.parseoutcomes()
    assert server.requests == []
