"""Tests of the PostgreSQL test harness itself (they start real servers)."""

from __future__ import annotations

import os
import pwd
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from . import postgres as pg
from .postgres import (
    ENV_REQUIRE,
    ENV_URL,
    INSTALL_HINT,
    PostgresStartError,
    PostgresUnavailable,
    ThrowawayPostgres,
    create_database,
    drop_database,
    find_pg_bindir,
    postgres_for_tests,
    skip_or_fail,
    to_conninfo,
)

pytestmark = pytest.mark.postgres


# ---------------------------------------------------------------- helpers


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (e.g. a server folder)."""
    found = []
    needle = text.encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _scalar(url: str, query: str) -> object:
    with psycopg.connect(to_conninfo(url), autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def bindir() -> Path:
    found = find_pg_bindir()
    if found is None:
        skip_or_fail(
            "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under "
            f"/usr/lib/postgresql/*/bin: {INSTALL_HINT}"
        )
    return found


@pytest.fixture(scope="module")
def admin_url() -> str:
    return pg.admin_url_or_skip()


@pytest.fixture
def database(admin_url: str) -> Iterator[tuple[str, str]]:
    """(name, url) of a fresh database, dropped afterwards."""
    name = _unique("harness")
    url = create_database(admin_url, name)
    try:
        yield name, url
    finally:
        drop_database(admin_url, name)


# ---------------------------------------------------------- finding binaries


def test_find_pg_bindir_returns_a_complete_server_bin_folder(bindir: Path) -> None:
    for exe in ("initdb", "pg_ctl", "postgres"):
        assert os.access(bindir / exe, os.X_OK), f"{bindir / exe} is not executable"


def _fake_bin(root: Path, version: str, exes: tuple[str, ...] = ("initdb", "pg_ctl")) -> Path:
    folder = root / version / "bin"
    folder.mkdir(parents=True)
    for exe in exes:
        (folder / exe).write_text("#!/bin/sh\n")
        (folder / exe).chmod(0o755)
    return folder


def test_find_pg_bindir_falls_back_to_the_highest_versioned_lib_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pg, "_PG_LIB_ROOT", tmp_path)
    assert find_pg_bindir() is None

    _fake_bin(tmp_path, "9.6")
    _fake_bin(tmp_path, "13")
    want = _fake_bin(tmp_path, "15")
    _fake_bin(tmp_path, "16", exes=("initdb",))  # no pg_ctl: not a server install
    assert find_pg_bindir() == want

    # PATH wins over the lib folders.
    on_path = _fake_bin(tmp_path / "path", "1")
    monkeypatch.setenv("PATH", str(on_path))
    assert find_pg_bindir() == on_path


def test_no_binaries_gives_an_actionable_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg, "_PG_LIB_ROOT", tmp_path)
    monkeypatch.setattr(pg, "_SHARED", None)
    monkeypatch.setattr(pg, "_SHARED_FAILURE", None)

    with pytest.raises(PostgresUnavailable, match="apt-get install postgresql"):
        ThrowawayPostgres().start()
    url, reason = postgres_for_tests()
    assert url is None
    assert INSTALL_HINT in reason
    assert ENV_URL in reason


def test_root_without_postgres_user_gives_a_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("only meaningful when the tests run as root")
    monkeypatch.setattr(pg, "_SERVER_USER", "no-such-user-clearance")
    with pytest.raises(PostgresUnavailable, match="no 'no-such-user-clearance' system user"):
        ThrowawayPostgres(Path("/nonexistent")).start()


def test_skip_or_fail_fails_only_when_postgres_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="because"):
        skip_or_fail("because")
    monkeypatch.setenv(ENV_REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="because"):
        skip_or_fail("because")


# ------------------------------------------------------------- server lifecycle


def test_start_and_stop_leave_no_process_and_no_folder(bindir: Path) -> None:
    server = ThrowawayPostgres(bindir)
    with server:
        assert server.root is not None
        root, pid = server.root, server.pid
        assert pid is not None
        assert root.is_dir()
        assert server.url == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres"
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            settings: dict[str, str] = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                    (["listen_addresses", "fsync", "server_encoding", "lc_collate"],),
                ).fetchall()
            )
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        assert settings == {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "server_encoding": "UTF8",
            "lc_collate": "C",
        }
        # The server runs as the postgres user when we are root, else as us.
        owner = Path(f"/proc/{pid}").stat().st_uid
        expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
        assert owner == expected
        assert _processes_mentioning(str(root)), "no server process found while running"
        assert server.startup_seconds is not None
        assert 0 < server.startup_seconds < 60

    assert not root.exists()
    assert not pg._pid_alive(pid)
    assert _processes_mentioning(str(root)) == []  # no backend, no watchdog
    with pytest.raises(pg.PostgresHarnessError, match="not running"):
        _ = server.url
    server.stop()  # idempotent


def test_failed_start_cleans_up_and_reports_command_and_log(bindir: Path) -> None:
    server = ThrowawayPostgres(bindir, server_options=["max_connections=-5"])
    with pytest.raises(PostgresStartError) as excinfo:
        server.start()
    message = str(excinfo.value)
    assert "pg_ctl" in message  # the command ...
    assert " start " in message
    assert "max_connections" in message  # the server log tail says why
    assert server.root is not None
    assert not server.root.exists()
    assert _processes_mentioning(str(server.root)) == []
    assert not server.running


# ------------------------------------------------------------------- databases


def test_two_databases_are_independent(admin_url: str) -> None:
    a, b = _unique("indep_a"), _unique("indep_b")
    url_a = create_database(admin_url, a)
    url_b = create_database(admin_url, b)
    try:
        assert url_a.startswith("postgresql+psycopg://")
        assert url_a.endswith(f"/{a}")
        assert _scalar(url_a, "SELECT current_database()") == a
        assert _scalar(url_b, "SELECT current_database()") == b
        with psycopg.connect(to_conninfo(url_a), autocommit=True) as conn:
            conn.execute("CREATE TABLE models (name text PRIMARY KEY)")
            conn.execute("INSERT INTO models VALUES ('gpt-x')")
        assert _scalar(url_a, "SELECT count(*) FROM models") == 1
        assert _scalar(url_b, "SELECT to_regclass('public.models') IS NULL") is True
    finally:
        drop_database(admin_url, a)
        drop_database(admin_url, b)
    names = _scalar(admin_url, f"SELECT count(*) FROM pg_database WHERE datname IN ('{a}', '{b}')")
    assert names == 0


def test_template_copy_carries_a_table_over(admin_url: str) -> None:
    template, copy = _unique("tmpl"), _unique("copy")
    template_url = create_database(admin_url, template)
    try:
        with psycopg.connect(to_conninfo(template_url), autocommit=True) as conn:
            conn.execute("CREATE TABLE prices (model text, usd numeric)")
            conn.execute("INSERT INTO prices VALUES ('m1', 1.5), ('m2', 2.25)")
        copy_url = create_database(admin_url, copy, template=template)
        try:
            with psycopg.connect(to_conninfo(copy_url), autocommit=True) as conn:
                rows = conn.execute("SELECT model, usd::text FROM prices ORDER BY model")
                assert rows.fetchall() == [("m1", "1.5"), ("m2", "2.25")]
                conn.execute("DELETE FROM prices")
            # The copy is a copy: emptying it leaves the template alone.
            assert _scalar(template_url, "SELECT count(*) FROM prices") == 2
        finally:
            drop_database(admin_url, copy)
    finally:
        drop_database(admin_url, template)


def test_drop_database_disconnects_open_sessions(database: tuple[str, str], admin_url: str) -> None:
    name, url = database
    conn = psycopg.connect(to_conninfo(url), autocommit=True)
    try:
        drop_database(admin_url, name)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()
    assert _scalar(admin_url, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == 0
    drop_database(admin_url, name)  # dropping a missing database is fine


# ------------------------------------------------------------ postgres_for_tests


@pytest.mark.parametrize("scheme", ["postgresql://", "postgres://", "postgresql+psycopg://"])
def test_postgres_for_tests_honours_the_env_url(
    admin_url: str, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    rest = admin_url.split("://", 1)[1]
    monkeypatch.setenv(ENV_URL, scheme + rest)
    url, reason = postgres_for_tests()
    assert (url, reason) == ("postgresql+psycopg://" + rest, "")
    assert url is not None
    # ... and the converted URL really reaches that server.
    name = _unique("envurl")
    db_url = create_database(url, name)
    try:
        parts, db_parts = urlsplit(url), urlsplit(db_url)
        assert (db_parts.scheme, db_parts.netloc) == ("postgresql+psycopg", parts.netloc)
        assert db_parts.path == f"/{name}"
        assert _scalar(db_url, "SELECT current_database()") == name
    finally:
        drop_database(url, name)


def test_postgres_for_tests_starts_one_throwaway_server_per_process(
    bindir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    first, reason = postgres_for_tests()
    assert reason == ""
    assert first is not None
    second, _ = postgres_for_tests()
    assert second == first
    assert first.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert _scalar(first, "SELECT host(inet_server_addr())") == "127.0.0.1"
    shared = pg._SHARED
    assert shared is not None
    assert shared.root is not None
    # A private throwaway folder, owned by the user that runs the server.
    st = shared.root.stat()
    assert stat.S_IMODE(st.st_mode) == 0o700
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert st.st_uid == expected
