"""Shared fixtures: a clean environment, and catalogs on SQLite and on PostgreSQL.

Which database a test runs on
    ``catalog`` (an open catalog) and ``catalog_url`` (its URL) run a test once per
    dialect: SQLite, then PostgreSQL (marked ``postgres``). That is what a test of SQL
    needs: a store in ``clearance/catalog/``, a migration, the call log's writer, the
    kill switch, the run and result stores, the router end to end.

    A test above the stores, whose SQL the store tests already run on both, says so
    with ``@pytest.mark.any_dialect`` (on the test, or ``pytestmark`` for a module):
    it then runs on SQLite only. It is a choice the author makes, not the default:
    before marking a module, check that every statement its tests send is run on
    PostgreSQL by a test that keeps both dialects. ``@pytest.mark.each_dialect`` on a
    test in such a module takes it back to both (the marker nearest the test wins);
    use it for the test that is the only one to reach some SQL.

The PostgreSQL server
    The one ``CLEARANCE_TEST_POSTGRES_URL`` names, else a throwaway server that
    ``tests/support/postgres.py`` starts on first use, one per test process: under
    pytest-xdist each worker has its own (a few seconds of ``initdb``, in parallel),
    so no worker waits on another's lock or outlives the server it uses. Each worker
    migrates one template database and copies it for every test (a new name each
    time), so tests never share a database. ``CLEARANCE_REQUIRE_POSTGRES=1`` (CI)
    turns a missing server into a failure instead of a skip.

In parallel
    ``pytest`` runs these tests on every core: this file makes ``-n auto --dist
    loadfile`` the default, and the command line wins (``-n 0`` or ``--pdb`` for one
    process, ``-n 4``, ``--dist load``, ``-p no:xdist``). It is not in pyproject.toml's
    addopts because those apply to ``pytest evals`` as well, and the eval plugin is not
    made for xdist (two workers write the simulator's models into one catalog at once).
    ``loadfile`` hands a worker whole test files, so a module fixture (the quickstart's
    built wheel and installed virtualenv, a reference server) is made once; the files
    with ``slow`` tests go first, so that the longest one does not start last. A test
    must not share a port, a file outside its ``tmp_path``, or a process-wide setting
    with another test: servers bind port 0, files go under ``tmp_path``, environment
    changes go through ``monkeypatch``.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest

from clearance.catalog.database import Catalog, open_catalog
from tests.support.postgres import (
    ENV_REQUIRE,
    ENV_URL,
    admin_url_or_skip,
    create_database,
    drop_database,
)

DATA = Path(__file__).parent / "data"
REALDATA = DATA / "realdata"
OPENROUTER_MODELS = (
    REALDATA / "catalogs/openrouter/roo-code/openrouter-models.response-body.decoded.json"
)
OPENROUTER_MODELS_2026 = REALDATA / "catalogs/openrouter/llm-openrouter/test_llm_models.yaml"
LITELLM_TABLE = REALDATA / "catalogs/litellm/model_prices_and_context_window_backup.json"

_KEEP = {ENV_URL, ENV_REQUIRE}

# Hypothesis draws new examples on every run on a developer's machine, which is how it
# finds new failures; CI names its built-in "ci" profile here (derandomized, no example
# database), so a run that lands is the run anyone can repeat with the same variable.
if os.environ.get("CLEARANCE_HYPOTHESIS_PROFILE"):
    hypothesis.settings.load_profile(os.environ["CLEARANCE_HYPOTHESIS_PROFILE"])

# No test runs in a terminal. pytest imports readline, which writes the terminal's size
# (80 x 24 off a terminal) into the C environment; xdist's workers start with it, and the
# CLI sizes its tables from COLUMNS when it is imported: in a worker they came out 80
# wide, in one process 120. Taken out here, before any test module imports the CLI.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``-n auto`` and ``--dist loadfile`` where the command line chose neither (see above).

    Runs before xdist's own hook (a conftest registers after the plugin), which turns
    ``auto`` into a number of workers. Not in a worker, and not under mutmut (``make
    mutate``), which runs pytest in its own process and counts there which tests reach
    each mutant: tests in workers would reach none.
    """
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return
    if "MUTANT_UNDER_TEST" in os.environ:
        return
    if config.option.numprocesses is None and not config.option.tx:
        config.option.numprocesses = "auto"
    if config.option.dist == "no":
        config.option.dist = "loadfile"
        config.option.loadscopereorder = False  # the order is ours (below)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's CLEARANCE_* settings (the PostgreSQL test ones excepted)."""
    for name in list(os.environ):
        if name.startswith("CLEARANCE_") and name not in _KEEP:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    """(admin URL, template database name): a database migrated once, copied per test."""
    admin = admin_url_or_skip()
    name = f"clearance_tmpl_{uuid.uuid4().hex[:8]}"
    url = create_database(admin, name)
    catalog = open_catalog(url)
    catalog.dispose()
    yield admin, name
    drop_database(admin, name)


def _dialects(definition: pytest.Function) -> tuple[str, ...]:
    """The dialects a test's catalog runs on: its nearest dialect marker decides."""
    for marker in definition.iter_markers():
        if marker.name == "any_dialect":
            return ("sqlite",)
        if marker.name == "each_dialect":
            break
    return ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``catalog_url`` (and so ``catalog``) over the test's dialects."""
    if "catalog_url" not in metafunc.fixturenames:
        return
    dialects = _dialects(metafunc.definition)
    params = [
        pytest.param(d, marks=pytest.mark.postgres) if d == "postgresql" else d for d in dialects
    ]
    metafunc.parametrize("catalog_url", params, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the files with ``slow`` tests first, then the files with more tests.

    loadfile hands out files in this order, so the longest file (the quickstart) starts
    at once and small files fill the end. Every worker sorts alike (a stable sort keeps
    each file's own order), as xdist requires.
    """
    # An id made from an object's repr holds its address, different in each xdist worker,
    # which then refuses the run ("Different tests were collected"): caught here, in one
    # process too, naming the test.
    unstable = [item.nodeid for item in items if re.search(r" at 0x[0-9a-f]+", item.nodeid)]
    if unstable:
        raise pytest.UsageError(
            f"test ids hold an object's address, which differs between processes: "
            f"{unstable[0]} (and {len(unstable) - 1} more); give the parametrization ids="
        )
    if not hasattr(config, "workerinput"):
        return
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    sizes = Counter(item.path for item in items)
    items.sort(key=lambda item: (item.path not in slow, -sizes[item.path]))


@pytest.fixture
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated catalog URL on each dialect the test runs on (see above)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    admin, template = request.getfixturevalue("postgres_template")
    name = f"clearance_t_{uuid.uuid4().hex[:12]}"
    url = create_database(admin, name, template=template)
    yield url
    drop_database(admin, name)


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """An open, migrated catalog on each dialect the test runs on (see above)."""
    handle = open_catalog(catalog_url)
    yield handle
    handle.dispose()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder as the working directory, with the real catalogs beside it."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def copy_data(relative: str, destination: Path) -> Path:
    """Copy a file from tests/data into a test's folder (tests never write to tests/data)."""
    target = destination / Path(relative).name
    shutil.copyfile(DATA / relative, target)
    return target
