"""Where studies live: Optuna's database storage, checked before it is opened.

A study lives in storage: in memory (`storage=None` to `make_study`), SQLite
(`default_storage()`), or any database URL SQLAlchemy and Optuna accept (e.g.
`postgresql+psycopg2://user@host/db`), so several processes or machines can work one study:
each runs `python -m engine search ...` with the same `--storage` and `--study`.

On a server the storage is the operator's setting, `$PLAYGROUND_SEARCH_DB` (a database URL or
a SQLite file path; `default_storage()`): the Search page lets visitors name a study, never a
storage, so a visitor cannot make the server create or write files. A storage is refused when
it is the run store's own database (Optuna would add its tables there, and the run store then
refuses the file), or a file that is not a regular file or holds another program's tables.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
import urllib.parse
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc

from engine.registry import ConfigError

DB_ENV = "PLAYGROUND_SEARCH_DB"
STORAGE_ATTEMPTS = 3  # workers starting together may race to create the tables
# Every table Optuna creates (alembic_version: its schema migrations), for telling a study
# database from another program's.
OPTUNA_TABLES = frozenset(
    {"alembic_version", "version_info", "studies", "study_directions", "trials", "trial_params"}
)
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
# The run store's tables (engine/store.py): a database holding them is not a study's.
RUN_STORE_TABLES = frozenset({"schema_version", "runs", "weights", "points"})


def default_storage() -> str:
    """$PLAYGROUND_SEARCH_DB (a database URL, or a file path for SQLite), else
    sqlite:///<user cache>/search.db (the cache of $PLAYGROUND_CACHE_DIR, as for MNIST)."""
    env = os.environ.get(DB_ENV)
    if env:
        return env if "://" in env else f"sqlite:///{Path(env).expanduser().resolve()}"
    from engine.data.mnist import default_cache_dir

    return f"sqlite:///{default_cache_dir().parent / 'search.db'}"


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's database storage for `url`, with the tables created; ConfigError (naming
    `storage`, password hidden) when the URL is malformed, its driver is missing or the
    database cannot be reached."""
    check_storage(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:"):
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Workers on one SQLite file wait for each other's writes instead of failing with
        # "database is locked" after SQLite's default 5 s.
        kwargs = {"connect_args": {"timeout": 60}}
    last: Exception | None = None
    for attempt in range(STORAGE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except (ImportError, ValueError, sqlalchemy.exc.ArgumentError) as e:
            # a malformed URL, an unknown dialect or a missing driver: retrying won't help
            raise ConfigError("storage", _storage_problem(url, e)) from None
        except Exception as e:  # sqlalchemy errors: unreachable server, concurrent CREATE TABLE
            last = e
            time.sleep(0.5 * (attempt + 1))
    raise ConfigError("storage", _storage_problem(url, last)) from None


def check_storage(url: str) -> None:
    """ConfigError (naming `storage`) for a storage that must not receive Optuna's tables: the
    run store's own database (the run store then refuses the file), or an existing SQLite
    path that is not a regular file (a FIFO would block forever), not a SQLite database, or
    a database of another program's tables. Nothing is created or written here."""
    shown = hide_password(url)
    path = _sqlite_path(url)
    store_path, store_url = _run_store_location()
    if path is None:
        if store_url is not None and _same_database(url, store_url):
            raise ConfigError("storage", _is_run_store(shown))
        return
    if store_path is not None and _same_file(path, store_path):
        raise ConfigError("storage", _is_run_store(shown))
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # not there yet: Optuna creates it
    if not stat.S_ISREG(mode):
        raise ConfigError("storage", f"{shown} is not a regular file; give a SQLite file path")
    try:
        tables = _sqlite_tables(path)
    except sqlite3.Error as e:
        raise ConfigError(
            "storage", f"{shown} is not a usable SQLite database ({e}); give another file"
        ) from None
    if tables & RUN_STORE_TABLES or (tables and not tables & OPTUNA_TABLES):
        names = ", ".join(sorted(tables)[:5])
        raise ConfigError(
            "storage",
            f"{shown} holds another program's tables ({names}); keep studies in a file of "
            "their own, e.g. sqlite:///search.db",
        )


def _is_run_store(shown: str) -> str:
    return (
        f"{shown} is the run store's database (PLAYGROUND_RUNS_DB); keep studies in a file of "
        "their own, e.g. sqlite:///search.db"
    )


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or SQLite in memory)."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
        if u.get_backend_name() != "sqlite":
            return None
    except Exception:  # malformed: open_storage reports it
        return None
    db = u.database or ""
    if db.startswith("file:"):  # a SQLite URI filename (sqlite:///file:x.db?uri=true)
        db = urllib.parse.unquote(urllib.parse.urlsplit(db).path)
    if not db or db == ":memory:":
        return None
    return Path(db).expanduser()


def _run_store_location() -> tuple[Path | None, str | None]:
    """(the run store's SQLite file, its database URL), either None where not known. Its
    variable holds a file path or a database URL."""
    from engine import store

    where = os.environ.get(store.ENV_VAR, "").strip()
    if "://" not in where:
        try:
            where = str(store.default_db_path())
        except Exception:  # a broken setting: nothing to compare with
            return None, None
    if "://" in where:
        return _sqlite_path(where), where
    return Path(where).expanduser(), None


def _same_file(a: Path, b: Path) -> bool:
    """One file under two names (links, relative paths), whether or not it exists yet."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _same_database(a: str, b: str) -> bool:
    """Two server URLs naming one database (drivers, users and passwords aside)."""
    from sqlalchemy.engine import make_url

    try:
        ua, ub = make_url(a), make_url(b)
    except Exception:
        return a == b

    def key(u: Any) -> tuple[Any, ...]:
        backend = u.get_backend_name()
        port = u.port or DEFAULT_PORTS.get(backend)
        return (backend, (u.host or "localhost").lower(), port, u.database)

    return key(ua) == key(ub)


def _sqlite_tables(path: Path) -> set[str]:
    """Table names of an existing SQLite file, opened read-only."""
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def _storage_problem(url: str, e: Exception | None) -> str:
    shown = hide_password(url)
    reason = str(e).strip().splitlines()[0] if e is not None and str(e).strip() else repr(e)
    if isinstance(e, ModuleNotFoundError):
        reason = f"the database driver is not installed ({e.name}); pip install it"
    return f"cannot open {shown}: {reason}"


def hide_password(url: str) -> str:
    """The URL with any password replaced by ***, for messages and summaries."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
