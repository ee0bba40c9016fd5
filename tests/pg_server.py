"""A throwaway PostgreSQL server for tests: one per test session, a fresh database per test.

    def test_x(postgres_url: str) -> None: ...      # a new, empty database's SQLAlchemy URL
    def test_y(postgres_server: PostgresServer): ... # the server itself (new_database, admin)

The server is started with the installed binaries (initdb, pg_ctl: on PATH or in Debian's
/usr/lib/postgresql/<version>/bin), on a free port, with trust authentication and fsync off,
and stopped at the end of the session. Tests skip when PostgreSQL or psycopg2 is missing, and
fail instead where PLAYGROUND_TEST_POSTGRES=required (CI installs PostgreSQL, so a broken setup
there is not a silent skip). As root the server runs as the 'postgres' user: initdb and
postgres refuse to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

REQUIRED_ENV = "PLAYGROUND_TEST_POSTGRES"


def postgres_bin() -> Path | None:
    """The folder of initdb/pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(versions[-1]).parent if versions else None


def _version(path: str) -> tuple[int, ...]:
    part = Path(path).parts[-3]
    return tuple(int(x) for x in part.split(".") if x.isdigit())


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail where PLAYGROUND_TEST_POSTGRES=required."""
    if os.environ.get(REQUIRED_ENV) == "required":
        pytest.fail(f"PostgreSQL test required but unavailable: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A running server of our own; `new_database` gives each test an empty database."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on this server (user postgres, no password)."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement on the `postgres` database outside a transaction (CREATE and
        DROP DATABASE cannot run inside one)."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres")
        conn.autocommit = True
        with contextlib.closing(conn), conn.cursor() as cur:
            cur.execute(sql)

    def new_database(self, prefix: str = "test") -> str:
        """Create an empty database and return its URL."""
        name = f"{prefix}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `new_database`, closing whatever still uses it."""
        self.admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of our own on a free port, for the whole test session."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        unavailable("psycopg2-binary is not installed")
    bindir = postgres_bin()
    if bindir is None:
        unavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' user to run the server as")
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    # Not pytest's tmp_path: its parents are private to root, and the server user needs its
    # own folder.
    base = Path(tempfile.mkdtemp(prefix="pg-test-"))
    if run_as:
        os.chown(base, run_as["user"], run_as["group"])
    data, port = base / "data", _free_port()

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=base, capture_output=True, text=True, timeout=60, check=False, **run_as
        )

    try:
        initdb = ["-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]
        r = pg(str(bindir / "initdb"), *initdb, "--no-sync")
        if r.returncode != 0:
            unavailable(f"initdb failed: {r.stderr.strip()[-300:]}")
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = base / "log"
        start = ["-D", str(data), "-l", str(log), "-w", "-t", "30", "-o", options, "start"]
        r = pg(str(bindir / "pg_ctl"), *start)
        if r.returncode != 0:
            why = log.read_text() if log.exists() else r.stderr
            unavailable(f"the PostgreSQL server did not start: {why.strip()[-300:]}")
        yield PostgresServer(port)
    finally:
        if (data / "postmaster.pid").exists():
            pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server; its SQLAlchemy URL. Dropped after the
    test (with any connection still open to it)."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)
