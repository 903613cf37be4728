"""Connecting to the catalog database, and turning driver failures into clear errors."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from clearance.errors import CatalogError, CatalogUnavailable

__all__ = ["Catalog", "open_catalog", "redact_url"]


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Catalog:
    """A handle on the catalog database: an engine plus error translation.

    Use :func:`open_catalog` to get one with the schema migrated.
    """

    def __init__(self, url: str, *, engine_options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.display_url = redact_url(url)
        try:
            parsed = make_url(url)
        except exc.ArgumentError as error:
            raise CatalogUnavailable(
                self.display_url, str(error), fix="write CLEARANCE_DATABASE_URL as a SQLAlchemy URL"
            ) from None
        options: dict[str, Any] = {"future": True}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise CatalogUnavailable(
                        self.display_url,
                        f"cannot create the folder {Path(database).parent}: {error.strerror}",
                        fix="point CLEARANCE_DATABASE_URL (or catalog.database_url) at a "
                        "writable place",
                    ) from None
            else:
                options["poolclass"] = NullPool if not database else None
        else:
            options["pool_pre_ping"] = True
            options["connect_args"] = {"connect_timeout": 10}
        options = {k: v for k, v in options.items() if v is not None}
        options.update(engine_options or {})
        try:
            self.engine: Engine = create_engine(parsed, **options)
        except (exc.ArgumentError, ImportError) as error:
            raise CatalogUnavailable(self.display_url, str(error)) from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrated = False
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction; driver errors become :class:`CatalogUnavailable`."""
        with self.translate_errors(), self.engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection without an outer transaction (for reads and migrations)."""
        with self.translate_errors(), self.engine.connect() as connection:
            yield connection

    @contextlib.contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Turn SQLAlchemy/driver errors into :class:`CatalogUnavailable` naming this URL."""
        try:
            yield
        except exc.IntegrityError as error:
            cause = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise CatalogError(
                f"catalog database {self.display_url} refused a write: {cause}",
                fix="a row with the same key exists already, or a referenced row is missing",
            ) from error
        except exc.DataError as error:  # the database is up; one value does not fit
            cause = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise CatalogError(
                f"catalog database {self.display_url} refused a value: {cause}",
                fix="a value is too long or of the wrong type for its column; shorten or "
                "correct it (the column sizes are in clearance/catalog/tables.py)",
            ) from error
        except exc.DBAPIError as error:
            cause = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise CatalogUnavailable(self.display_url, cause) from error
        except exc.SQLAlchemyError as error:
            raise CatalogUnavailable(self.display_url, str(error).splitlines()[0]) from error

    def ensure_schema(self) -> None:
        """Apply pending migrations once per process (cheap when already at head)."""
        if self._migrated:
            return
        with self._lock:
            if not self._migrated:
                from clearance.catalog.migrate import upgrade_if_needed

                upgrade_if_needed(self)
                self._migrated = True

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Catalog({self.display_url!r})"


def open_catalog(url: str, *, migrate: bool = True) -> Catalog:
    """Open the catalog at ``url``, applying migrations on first use.

    Raises:
        CatalogUnavailable: the database cannot be reached or migrated.
    """
    catalog = Catalog(url)
    if migrate:
        catalog.ensure_schema()
    return catalog
