"""Schema migrations (Alembic), applied on first use and by ``clearance db upgrade``."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, inspect, text

from clearance.catalog.database import Catalog

__all__ = ["HEAD", "current_revision", "upgrade", "upgrade_if_needed"]

#: The newest migration; a test checks it against the migration scripts.
HEAD = "0011"
_SCRIPTS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x636C6561  # "clea": one advisory lock for every clearance migrator


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@contextlib.contextmanager
def _migration_lock(catalog: Catalog, connection: Connection) -> Iterator[None]:
    """Serialize migrators: many CI runners may open one shared catalog at once."""
    if catalog.dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            connection.commit()
        return
    database = catalog.engine.url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(catalog: Catalog, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the catalog to ``revision``; returns (before, after)."""
    from alembic import command
    from alembic.config import Config

    with catalog.connect() as connection, _migration_lock(catalog, connection):
        before = current_revision(connection)
        connection.commit()
        config = Config()
        config.set_main_option("script_location", str(_SCRIPTS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
        after = current_revision(connection)
        connection.commit()
    return before, after


def upgrade_if_needed(catalog: Catalog) -> None:
    """Upgrade only when the database is not at :data:`HEAD` (no Alembic import otherwise)."""
    with catalog.connect() as connection:
        at_head = current_revision(connection) == HEAD
    if not at_head:
        upgrade(catalog)
