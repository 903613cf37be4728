"""A real PostgreSQL server for the test suite, without any system-wide service.

The catalog tests run against a real PostgreSQL server:

* the one ``CLEARANCE_TEST_POSTGRES_URL`` names, if it is set; else
* a throwaway server started from the PostgreSQL binaries on the machine
  (``initdb`` + ``pg_ctl`` in a temporary folder, listening on 127.0.0.1 only),
  one per test process, stopped and deleted at interpreter exit.

PostgreSQL refuses to run as root, so when the tests run as root the server is
initialised and run as the ``postgres`` system user (which the Debian package
creates) in a folder that user owns.

A small watchdog process is started alongside every throwaway server: if the
test process dies without cleaning up (even ``kill -9``), the watchdog stops the
server and deletes its folder.

Only the standard library and psycopg are used here (pytest is imported lazily by
:func:`skip_or_fail`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

__all__ = [
    "ENV_REQUIRE",
    "ENV_URL",
    "PostgresHarnessError",
    "PostgresStartError",
    "PostgresUnavailable",
    "ThrowawayPostgres",
    "admin_url_or_skip",
    "create_database",
    "drop_database",
    "find_pg_bindir",
    "postgres_for_tests",
    "postgres_required",
    "skip_or_fail",
    "to_conninfo",
    "to_sqlalchemy_url",
]

ENV_URL = "CLEARANCE_TEST_POSTGRES_URL"
ENV_REQUIRE = "CLEARANCE_REQUIRE_POSTGRES"

INSTALL_HINT = (
    f"install the PostgreSQL server package (apt-get install postgresql) or set {ENV_URL}"
)

_SERVER_USER = "postgres"
_PG_LIB_ROOT = Path("/usr/lib/postgresql")  # Debian/Ubuntu: <root>/<version>/bin
_STARTUP_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0
_LOG_TAIL_LINES = 30
# Longest base folder we accept: the socket path ("<base>/clearance-pg-XXXXXXXX/
# sock/.s.PGSQL.NNNNN.lock") must fit into sun_path (107 bytes).
_MAX_BASE_LEN = 60


class PostgresHarnessError(RuntimeError):
    """Base class of the harness's own errors."""


class PostgresUnavailable(PostgresHarnessError):
    """No throwaway server can be started here (no binaries, no user to run it as)."""


class PostgresStartError(PostgresHarnessError):
    """A command that sets up or starts the throwaway server failed."""


# --------------------------------------------------------------------------- URLs


def to_sqlalchemy_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs become ``postgresql+psycopg://``.

    URLs that already name a driver are returned unchanged.
    """
    url = url.strip()
    return re.sub(r"^postgres(?:ql)?://", "postgresql+psycopg://", url, count=1)


def to_conninfo(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://...``) as a libpq connection URI."""
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url.strip(), count=1)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(to_sqlalchemy_url(url))
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


# ------------------------------------------------------------------- binaries/user


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / exe, os.X_OK) for exe in ("initdb", "pg_ctl"))


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<ver>/bin; <ver> is "15", "9.6", ...
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (-1,)


def find_pg_bindir() -> Path | None:
    """The folder holding the PostgreSQL server binaries (``initdb``, ``pg_ctl``).

    PATH is searched first (symlinks such as /usr/local/bin/initdb are followed to
    the real bin folder, so that ``pg_ctl`` finds the matching ``postgres``), then
    /usr/lib/postgresql/*/bin, highest version first. None when there are none.
    """
    initdb = shutil.which("initdb")
    pg_ctl = shutil.which("pg_ctl")
    if initdb and pg_ctl:
        real = Path(initdb).resolve().parent
        if _has_server_binaries(real) and os.access(real / "postgres", os.X_OK):
            return real
        return Path(pg_ctl).parent
    candidates = sorted(
        (p for p in _PG_LIB_ROOT.glob("*/bin") if _has_server_binaries(p)),
        key=_version_key,
        reverse=True,
    )
    return candidates[0] if candidates else None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _server_account() -> tuple[int, int] | None:
    """(uid, gid) to run initdb/postgres as: None means "as the current user"."""
    if not _is_root():
        return None
    try:
        entry = pwd.getpwnam(_SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"the tests run as root, and PostgreSQL refuses to run as root, but there is "
            f"no '{_SERVER_USER}' system user to run the throwaway server as (the Debian "
            f"postgresql package creates it); create that user or set {ENV_URL}"
        ) from None
    if entry.pw_uid == 0:
        raise PostgresUnavailable(f"the '{_SERVER_USER}' user has uid 0; set {ENV_URL}")
    return entry.pw_uid, entry.pw_gid


def _traversable_by(path: Path, account: tuple[int, int] | None) -> bool:
    if account is None:
        return True
    uid, gid = account
    for folder in [path, *path.parents]:
        st = folder.stat()
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _base_dir(account: tuple[int, int] | None) -> Path:
    for candidate in (tempfile.gettempdir(), "/tmp"):
        base = Path(candidate).resolve()
        if base.is_dir() and len(str(base)) <= _MAX_BASE_LEN and _traversable_by(base, account):
            return base
    raise PostgresUnavailable(
        "no temporary folder is short enough and reachable by the "
        f"'{_SERVER_USER}' user (tried $TMPDIR and /tmp)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_env() -> dict[str, str]:
    # Nothing from the caller's libpq environment may redirect initdb/pg_ctl.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    return env


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours would still "exist"; postgres is never our child
    # (pg_ctl daemonises it), but check /proc to be exact where we can.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# The watchdog: waits for EOF on stdin (the test process closed the pipe or died),
# then stops the server if it still runs and deletes the folder. Its environment
# is the one initdb/pg_ctl get; its argument holds paths and ids only.
_WATCHDOG = r"""
import json, os, shutil, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
cfg = json.loads(sys.argv[1])
sys.stdin.buffer.read()
if os.path.exists(os.path.join(cfg["datadir"], "postmaster.pid")):
    kw = {}
    if cfg["account"] is not None:
        kw = dict(user=cfg["account"][0], group=cfg["account"][1], extra_groups=[])
    try:
        subprocess.run(cfg["stop"], cwd=cfg["root"], timeout=60,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, **kw)
    except Exception:
        pass
shutil.rmtree(cfg["root"], ignore_errors=True)
"""


# ------------------------------------------------------------------ the server


_LIVE: set[ThrowawayPostgres] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for server in live:
        server.stop()


atexit.register(_stop_all_at_exit)


class ThrowawayPostgres:
    """A private PostgreSQL server in a temporary folder, on 127.0.0.1 only.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. The
    folder and the server are removed on :meth:`stop`, when :meth:`start` fails
    half way, at interpreter exit, and (through a watchdog process) even when the
    test process is killed.
    """

    def __init__(
        self,
        bindir: Path | None = None,
        *,
        startup_timeout: float = _STARTUP_TIMEOUT,
        server_options: Sequence[str] = (),
    ) -> None:
        """``server_options`` are extra ``name=value`` settings (passed as ``-c``)."""
        self._bindir = bindir
        self.startup_timeout = startup_timeout
        self.server_options = tuple(server_options)
        self.port: int | None = None
        self.root: Path | None = None
        self.pid: int | None = None
        self.startup_seconds: float | None = None
        self._account: tuple[int, int] | None = None
        self._env = _server_env()
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # -- paths and URLs -------------------------------------------------------

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            found = find_pg_bindir()
            if found is None:
                raise PostgresUnavailable(
                    f"no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under "
                    f"{_PG_LIB_ROOT}/*/bin: {INSTALL_HINT}"
                )
            self._bindir = found
        return self._bindir

    @property
    def datadir(self) -> Path:
        return self._root() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._root() / "sock"

    @property
    def log_path(self) -> Path:
        return self._root() / "server.log"

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database as the ``postgres`` superuser."""
        return f"postgresql+psycopg://{_SERVER_USER}@127.0.0.1:{self._port()}/postgres"

    @property
    def dsn(self) -> str:
        """libpq connection string of the same database (for psycopg)."""
        return f"host=127.0.0.1 port={self._port()} user={_SERVER_USER} dbname=postgres"

    def _root(self) -> Path:
        if self.root is None:
            raise PostgresHarnessError("the throwaway server has not been started")
        return self.root

    def _port(self) -> int:
        if self.port is None or self.pid is None:
            raise PostgresHarnessError("the throwaway server is not running")
        return self.port

    # -- lifecycle --------------------------------------------------------------

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> ThrowawayPostgres:
        """initdb into a fresh folder, start the server, wait until it accepts connections."""
        with self._lock:
            if self.root is not None:
                raise PostgresHarnessError("this throwaway server was already started")
            began = time.monotonic()
            bindir = self.bindir
            self._account = _server_account()
            base = _base_dir(self._account)
            with _LIVE_LOCK:
                _LIVE.add(self)
            try:
                self.root = Path(tempfile.mkdtemp(prefix="clearance-pg-", dir=base))
                self._start_watchdog(bindir)
                self.socket_dir.mkdir(mode=0o700)
                if self._account is not None:
                    uid, gid = self._account
                    for path in (self.root, self.socket_dir):
                        os.chown(path, uid, gid)
                self._initdb(bindir)
                self._start_server(bindir)
                self._wait_until_accepting()
            except BaseException:
                self._cleanup()
                raise
            self.startup_seconds = time.monotonic() - began
            return self

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its folder. Idempotent."""
        with self._lock:
            self._cleanup()

    # -- steps ------------------------------------------------------------------

    def _run(self, cmd: list[str], *, timeout: float, what: str) -> None:
        kwargs: dict[str, Any] = {}
        if self._account is not None:
            uid, gid = self._account
            kwargs = {"user": uid, "group": gid, "extra_groups": []}
        try:
            proc = subprocess.run(
                cmd,
                cwd=self._root(),
                env=self._env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                **kwargs,
            )
        except subprocess.TimeoutExpired as e:
            raise PostgresStartError(
                self._failure(what, cmd, f"timed out after {timeout:.0f} s", _text(e.stderr))
            ) from None
        except OSError as e:
            raise PostgresStartError(self._failure(what, cmd, str(e), "")) from None
        if proc.returncode != 0:
            raise PostgresStartError(
                self._failure(what, cmd, f"exit status {proc.returncode}", proc.stderr)
            )

    def _failure(self, what: str, cmd: Sequence[str], why: str, stderr: str) -> str:
        as_user = f" (as user '{_SERVER_USER}')" if self._account is not None else ""
        msg = f"{what} failed{as_user}: {why}\ncommand: {shlex.join(cmd)}"
        if stderr.strip():
            msg += f"\nstderr:\n{stderr.strip()}"
        if self.root is not None:
            log = _tail(self.log_path)
            if log:
                msg += f"\nserver log ({self.log_path}, last lines):\n{log}"
        return msg

    def _initdb(self, bindir: Path) -> None:
        for locale in ("C", "C.UTF-8"):
            cmd = [
                str(bindir / "initdb"),
                "-D", str(self.datadir),
                "-A", "trust",
                "-U", _SERVER_USER,
                "--encoding=UTF8",
                f"--locale={locale}",
                "--no-sync",
            ]  # fmt: skip
            try:
                self._run(cmd, timeout=120, what="initdb")
            except PostgresStartError as e:
                if locale == "C" and "locale" in str(e).lower():
                    shutil.rmtree(self.datadir, ignore_errors=True)
                    continue
                raise
            return

    def _start_server(self, bindir: Path) -> None:
        for attempt in range(3):
            self.port = _free_port()
            options = [
                "-h", "127.0.0.1",
                "-p", str(self.port),
                "-k", str(self.socket_dir),
                "-F",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
            ]  # fmt: skip
            for setting in self.server_options:
                options += ["-c", setting]
            cmd = [
                str(bindir / "pg_ctl"),
                "start",
                "-D", str(self.datadir),
                "-l", str(self.log_path),
                "-w",
                "-t", str(int(self.startup_timeout)),
                "-o", shlex.join(options),
            ]  # fmt: skip
            try:
                self._run(cmd, timeout=self.startup_timeout + 15, what="starting the server")
            except PostgresStartError as e:
                # Another process took the port between our probe and the bind.
                port_taken = "could not bind" in str(e) or "already in use" in str(e)
                if port_taken and attempt < 2 and not self._pidfile().exists():
                    continue
                raise
            self.pid = self._read_pid()
            return

    def _pidfile(self) -> Path:
        return self.datadir / "postmaster.pid"

    def _read_pid(self) -> int | None:
        try:
            first = self._pidfile().read_text().split("\n", 1)[0].strip()
        except OSError:
            return None
        return int(first) if first.isdigit() else None

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.dsn, connect_timeout=5, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as e:
                last = e
                time.sleep(0.1)
        raise PostgresStartError(
            self._failure("waiting for the server", ["psycopg.connect", self.dsn], str(last), "")
        )

    def _start_watchdog(self, bindir: Path) -> None:
        cfg = {
            "root": str(self.root),
            "datadir": str(self.datadir),
            "account": list(self._account) if self._account is not None else None,
            "stop": self._stop_cmd(bindir),
        }
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
            env=self._env,  # not on the command line: others can read that
        )

    def _stop_cmd(self, bindir: Path) -> list[str]:
        return [
            str(bindir / "pg_ctl"),
            "stop",
            "-D", str(self.datadir),
            "-m", "immediate",
            "-w",
            "-t", str(int(_STOP_TIMEOUT)),
        ]  # fmt: skip

    def _cleanup(self) -> None:
        try:
            if self.root is not None:
                pid = self._read_pid() or self.pid
                if self._pidfile().exists():
                    # On failure, fall through to killing the postmaster.
                    with contextlib.suppress(PostgresHarnessError):
                        self._run(
                            self._stop_cmd(self.bindir),
                            timeout=_STOP_TIMEOUT + 10,
                            what="stopping the server",
                        )
                if pid is not None and _pid_alive(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    deadline = time.monotonic() + 10
                    while _pid_alive(pid) and time.monotonic() < deadline:
                        time.sleep(0.05)
                shutil.rmtree(self.root, ignore_errors=True)
        finally:
            self.pid = None
            self._stop_watchdog()
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is None:
            return
        try:
            if watchdog.stdin is not None:
                watchdog.stdin.close()
            watchdog.wait(timeout=60)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


# ---------------------------------------------------------------- databases


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` (a copy of ``template`` if given); return its URL.

    ``admin_url`` is a SQLAlchemy (or libpq) URL of a superuser connection. The
    template must have no other open connections (PostgreSQL waits ~5 s for them).
    """
    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
    with psycopg.connect(to_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(stmt)
    return _with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting anyone still connected."""
    with psycopg.connect(to_conninfo(admin_url), autocommit=True) as conn:
        ident = sql.Identifier(name)
        if conn.info.server_version >= 130000:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            return
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))


# ------------------------------------------------------------ for the tests


_SHARED: ThrowawayPostgres | None = None
_SHARED_FAILURE: str | None = None
_SHARED_LOCK = threading.Lock()


def postgres_for_tests() -> tuple[str | None, str]:
    """(admin URL, "") of the server the tests should use, or (None, why not).

    ``CLEARANCE_TEST_POSTGRES_URL`` wins (``postgresql://``/``postgres://`` become
    ``postgresql+psycopg://``). Otherwise one throwaway server is started for the
    whole process (on first call; stopped at exit) and its URL returned.
    """
    global _SHARED, _SHARED_FAILURE
    external = os.environ.get(ENV_URL, "").strip()
    if external:
        return to_sqlalchemy_url(external), ""
    with _SHARED_LOCK:
        if _SHARED is not None and _SHARED.running:
            return _SHARED.url, ""
        if _SHARED_FAILURE is not None:
            return None, _SHARED_FAILURE
        server = ThrowawayPostgres()
        try:
            server.start()
        except PostgresUnavailable as e:
            _SHARED_FAILURE = str(e)
            return None, _SHARED_FAILURE
        except PostgresHarnessError as e:
            _SHARED_FAILURE = f"could not start a throwaway PostgreSQL server: {e}"
            return None, _SHARED_FAILURE
        _SHARED = server
        return server.url, ""


def postgres_required() -> bool:
    """True under ``CLEARANCE_REQUIRE_POSTGRES=1``: missing PostgreSQL is a failure."""
    return os.environ.get(ENV_REQUIRE, "").strip().lower() in {"1", "true", "yes", "on"}


def skip_or_fail(reason: str) -> NoReturn:
    """pytest.skip(reason), or pytest.fail(reason) under ``CLEARANCE_REQUIRE_POSTGRES=1``."""
    import pytest

    if postgres_required():
        pytest.fail(f"{reason} ({ENV_REQUIRE}=1)", pytrace=False)
    pytest.skip(reason)


def admin_url_or_skip() -> str:
    """The admin URL from :func:`postgres_for_tests`, else skip (or fail) the test."""
    url, reason = postgres_for_tests()
    if url is None:
        skip_or_fail(reason)
    return url
