"""Shared fixtures: clean environment, and a catalog on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated catalog URL on each back end."""
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
    """An open, migrated catalog on each back end."""
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
