"""The engine's provider factory: the simulator is started by whoever wires it in, only
when a run records through the real network, and stopped after; the engine names none."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.modelstore import ensure_provider, list_models
from clearance.config import ClearanceConfig
from clearance.evaluation.cases import load_suites, select_cases
from clearance.evaluation.engine import Evaluation, ProviderFactory
from clearance.evaluation.simulator import SimulatorProviders
from clearance.providers.base import Provider
from tests.support.evalproject import STEADY, NoNetwork, ScriptedNetwork, make_project

UNREACHABLE = "http://127.0.0.1:9/v1"


class Tracking:
    """The simulator factory, with every call to it written down."""

    def __init__(self, *, may_open: bool = True) -> None:
        self.inner = SimulatorProviders(seed=0)
        self.may_open = may_open
        self.events: list[Any] = []
        self.base_urls: list[str] = []

    def register_models(self, catalog: Catalog, models: Sequence[str]) -> None:
        self.events.append(("register", tuple(models)))
        self.inner.register_models(catalog, models)

    def serves(self, provider: str) -> bool:
        return self.inner.serves(provider)

    @contextlib.contextmanager
    def open(self, provider: str, transport: httpx.AsyncBaseTransport) -> Iterator[Provider]:
        assert self.may_open, f"the run started {provider} although it must not"
        self.events.append(("open", provider))
        with self.inner.open(provider, transport) as started:
            self.base_urls.append(started.base_url)  # type: ignore[attr-defined]
            yield started
        self.events.append(("stopped", provider))


def _typed(factory: Tracking) -> ProviderFactory:
    return factory  # mypy checks that the fake (and so the simulator) fits the protocol


@pytest.fixture
def setup(project: Path) -> Iterator[tuple[ClearanceConfig, Catalog]]:
    config = make_project(project, f"sqlite:///{project / 'catalog.db'}")
    catalog = open_catalog(config.resolved_database_url())
    yield config, catalog
    catalog.dispose()


def run(
    config: ClearanceConfig, catalog: Catalog, factory: Tracking, mode: str, **options: Any
) -> Any:
    suite = load_suites(config, ["contracts"])
    return Evaluation(
        config,
        catalog,
        suite,
        [STEADY],
        cases=select_cases(suite.cases, ["ok"]),
        trials=1,
        record_mode=mode,  # type: ignore[arg-type]
        environ={},
        providers=_typed(factory),
        **options,
    ).run()


def test_a_recording_run_starts_the_simulator_and_stops_it_after(setup: Any, project: Path) -> None:
    config, catalog = setup
    with catalog.begin() as connection:  # the simulator's key variable is not set...
        ensure_provider(connection, "ref", base_url=UNREACHABLE, api_key_env="REF_API_KEY")
    factory = Tracking()
    outcome = run(config, catalog, factory, "all")
    # ...and not needed: the run serves the provider itself
    assert factory.events == [("register", (STEADY,)), ("open", "ref"), ("stopped", "ref")]
    (result,) = [o.result for o in outcome.outcomes.values()]
    assert result.verdict != "infra_error", result.evidence  # the simulator answered
    assert result.served_model == STEADY
    assert list((project / "evals" / "cassettes").rglob("ok.json"))
    with pytest.raises(httpx.ConnectError):  # and is stopped
        httpx.get(f"{factory.base_urls[0]}/models", timeout=2)


def test_the_simulator_is_registered_but_not_started_unless_it_is_called(setup: Any) -> None:
    config, catalog = setup
    factory = Tracking(may_open=False)
    # a network given in its place (tests) answers instead
    recorded = run(config, catalog, factory, "all", network=ScriptedNetwork().transport)
    # a replay calls nobody
    replayed = run(config, catalog, factory, "none", network=NoNetwork())
    assert replayed.outcomes.keys() == recorded.outcomes.keys()
    assert {o.result.verdict for o in replayed.outcomes.values()} == {"pass"}
    assert [event for event, _ in factory.events] == ["register", "register"]
    with catalog.connect() as connection:
        registered = list_models(connection, provider="ref")
    assert STEADY in {model.id for model in registered}
    assert not any(model.enabled for model in registered)  # registered, never enabled


def test_a_configured_provider_is_never_started_by_the_run(project: Path) -> None:
    config = make_project(
        project,
        f"sqlite:///{project / 'catalog.db'}",
        extra=f'[[providers]]\nname = "ref"\nbase_url = "{UNREACHABLE}"',
    )
    assert "ref" in config.provider_names
    catalog = open_catalog(config.resolved_database_url())
    try:
        factory = Tracking(may_open=False)
        outcome = run(config, catalog, factory, "all")
    finally:
        catalog.dispose()
    # the configured (here unreachable) provider was called, not a simulator of the run's
    (result,) = [o.result for o in outcome.outcomes.values()]
    assert result.verdict == "infra_error"
    assert factory.events == [("register", (STEADY,))]


def test_without_a_factory_the_simulators_models_are_unknown(setup: Any) -> None:
    config, catalog = setup
    from clearance.errors import UnknownModel

    with pytest.raises(UnknownModel):
        Evaluation(config, catalog, load_suites(config, ["contracts"]), [STEADY])


def test_the_engine_and_the_stores_import_nothing_above_them() -> None:
    code = (
        "import sys\n"
        "import clearance.evaluation.engine, clearance.catalog.runstore\n"
        "print(sorted(m for m in sys.modules if m.startswith('clearance.reference')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    code = (
        "import sys\n"
        "import clearance.catalog.runstore, clearance.catalog.runrecords\n"
        "above = ('clearance.evaluation', 'clearance.contracts', 'clearance.modelpolicy')\n"
        "print(sorted(m for m in sys.modules if m.startswith(above)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
