"""The simulator's provider factory on three protocols: one server, one port, each
provider of its protocol's class, recordings of each native path that replay offline."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import list_models, list_providers
from clearance.config import ClearanceConfig
from clearance.evaluation.cases import load_suites, select_cases
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import PROVIDERS, SimulatorProviders
from clearance.providers.anthropic import AnthropicProvider
from clearance.providers.base import Provider
from clearance.providers.gemini import GeminiProvider
from clearance.providers.openai import OpenAICompatibleProvider
from tests.support.evalproject import STEADY, NoNetwork, make_project

ANTHROPIC = "ref-anthropic:ref-steady"
GEMINI = "ref-gemini:ref-3-steady"
MODELS = [STEADY, ANTHROPIC, GEMINI]


class Opened:
    """The simulator factory, with what it opened written down."""

    def __init__(self) -> None:
        self.inner = SimulatorProviders(seed=0)
        self.providers: dict[str, Provider] = {}
        self.base_urls: dict[str, str] = {}

    def register_models(self, catalog: Catalog, models: Sequence[str]) -> None:
        self.inner.register_models(catalog, models)

    def serves(self, provider: str) -> bool:
        return self.inner.serves(provider)

    @contextlib.contextmanager
    def open(self, provider: str, transport: httpx.AsyncBaseTransport) -> Iterator[Provider]:
        with self.inner.open(provider, transport) as started:
            self.providers[provider] = started
            self.base_urls[provider] = started.base_url  # type: ignore[attr-defined]
            yield started


@pytest.fixture
def setup(project: Path) -> Iterator[tuple[ClearanceConfig, Catalog]]:
    config = make_project(project, f"sqlite:///{project / 'catalog.db'}")
    catalog = open_catalog(config.resolved_database_url())
    yield config, catalog
    catalog.dispose()


def run(config: ClearanceConfig, catalog: Catalog, mode: str, **options: Any) -> Any:
    suite = load_suites(config, ["contracts"])
    return Evaluation(
        config,
        catalog,
        suite,
        MODELS,
        cases=select_cases(suite.cases, ["ok"]),
        trials=1,
        record_mode=mode,  # type: ignore[arg-type]
        environ={},
        **options,
    ).run()


def test_a_recording_run_calls_each_protocol_on_one_simulator(setup: Any, project: Path) -> None:
    config, catalog = setup
    factory = Opened()
    outcome = run(config, catalog, "all", providers=factory)
    results = {o.result.model_id: o.result for o in outcome.outcomes.values()}
    assert set(results) == set(MODELS)
    for model, result in results.items():
        assert result.verdict == "pass", (model, result.evidence)
        assert result.served_model == model
    # each provider is of its protocol's class, and all three call the same port
    assert isinstance(factory.providers["ref"], OpenAICompatibleProvider)
    assert isinstance(factory.providers["ref-anthropic"], AnthropicProvider)
    assert isinstance(factory.providers["ref-gemini"], GeminiProvider)
    origins = {url.rsplit("/", 1)[0] for url in factory.base_urls.values()}
    assert len(origins) == 1
    assert factory.base_urls["ref-gemini"].endswith("/v1beta")
    # the recordings hold each native path
    cassettes = project / "evals" / "cassettes"
    paths = {}
    for model in MODELS:
        provider, name = model.split(":", 1)
        (found,) = (cassettes / provider / name).glob("ok.json")
        uri = json.loads(found.read_text())["interactions"][0]["request"]["uri"]
        paths[model] = httpx.URL(uri).path
    assert paths == {
        STEADY: "/v1/chat/completions",
        ANTHROPIC: "/v1/messages",
        GEMINI: "/v1beta/models/ref-3-steady:generateContent",
    }
    with pytest.raises(httpx.ConnectError):  # and the one simulator is stopped
        httpx.get(f"{origins.pop()}/health", timeout=2)
    # a replay of them needs no network and judges the same
    replayed = run(config, catalog, "none", providers=SimulatorProviders(), network=NoNetwork())
    assert {
        o.result.model_id: o.result.verdict for o in replayed.outcomes.values()
    } == dict.fromkeys(MODELS, "pass")


def test_each_provider_is_catalogued_with_its_protocol_and_names(setup: Any) -> None:
    _config, catalog = setup
    SimulatorProviders().register_models(catalog, [ANTHROPIC, GEMINI])
    with catalog.connect() as connection:
        providers = {p.name: p for p in list_providers(connection)}
        anthropic = {m.id for m in list_models(connection, provider="ref-anthropic")}
        gemini = {m.id for m in list_models(connection, provider="ref-gemini")}
    assert "ref" not in providers  # not named: not registered
    assert providers["ref-anthropic"].protocol == "anthropic"
    assert providers["ref-anthropic"].base_url == "http://reference.invalid/v1"
    assert providers["ref-gemini"].protocol == "gemini"
    assert providers["ref-gemini"].base_url == "http://reference.invalid/v1beta"
    assert ANTHROPIC in anthropic
    assert len(anthropic) == 12
    assert {GEMINI, "ref-gemini:ref-2.5-steady"} <= gemini
    assert len(gemini) == 24


def test_the_factory_serves_exactly_its_three_providers() -> None:
    factory = SimulatorProviders()
    assert dict(PROVIDERS) == {
        "ref": "openai",
        "ref-anthropic": "anthropic",
        "ref-gemini": "gemini",
    }
    assert all(factory.serves(name) for name in PROVIDERS)
    assert not factory.serves("openrouter")
    with (
        pytest.raises(ValueError, match="not 'openrouter'"),
        factory.open("openrouter", NoNetwork()),
    ):
        pass
