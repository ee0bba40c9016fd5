"""The run store: finished, stopped and diverged runs kept in a database, by default an embedded
SQLite file.

    store = RunStore()                       # $PLAYGROUND_RUNS_DB, else the user data dir
    run_id = store.save(trainer, page="pg")  # config, summary, history, weights (and points)
    store.list(search="adam mnist")          # newest first, without history or weights
    trainer = store.load_trainer(run_id)     # the run back in a Trainer, as it was

Where: `RunStore(location)` takes a file path (embedded SQLite, the default) or a SQLAlchemy
database URL: `postgresql+psycopg2://user:password@host/database` for app replicas on several
machines sharing their runs, `sqlite:///path/to/runs.db` (the same as the path). Without one,
the environment variable PLAYGROUND_RUNS_DB (a path or a URL), else `runs.db` in the user data
folder (~/.local/share/nn-playground on Linux). Every query goes through SQLAlchemy Core, so one
code path serves both; passwords never appear in messages (`hide_password`).

What is stored per run (one row of `runs`, one of `weights`, one of `points` for uploaded data):

- config and summary as JSON text (`Trainer.summary()`, so MNIST runs carry test metrics);
- `io`: what the network takes and gives (input shape, outputs, task, feature names and the
  input scaling fitted on the training split), which `engine.codegen` needs to write a
  standalone script without loading the data;
- the history as zlib-compressed JSON, thinned so that a run of any length stays small, each
  list to evenly spaced items with the first and the last kept: per-step loss and learning rate
  to MAX_STEP_POINTS points, evaluations to MAX_EVALS, probe frames to MAX_PROBE_FRAMES (the
  last frame is what the pages' histograms show). A probe frame is 5-10 kB of JSON (a tenth of
  that compressed), so a live run's 400 frames would cost up to 0.4 MB per run; as stored, a
  toy run takes 5-30 kB and an MNIST run up to about 100 kB besides its weights;
- the final weights: the model's state_dict on the CPU, `torch.save`d to bytes and read back
  with `weights_only=True` (no code is unpickled), in their own table so that listing runs never
  pages through them;
- for `data.dataset == 'uploaded'` runs, the user's points in their original order (as
  `Trainer.save` keeps them), so the run can be rebuilt with the identical split.

The optimizer's state (momentum, Adam's moments) is not stored: a reopened run shows what it
was, and training it further restarts the optimizer's running averages.

Robustness, SQLite: the database runs in WAL mode; every write is one `BEGIN IMMEDIATE`
transaction on a connection of its own, with a busy timeout, so two sessions (threads or
processes) saving at once both succeed, and a process killed mid-write leaves the last committed
state. The path is checked before anything opens it: a directory, FIFO, device or socket is
refused (reading a FIFO would block forever). A file that is not an SQLite database, is
damaged (`PRAGMA quick_check`, the first time a process opens the file and again whenever
another program changed it), unreadable, another program's database or a newer schema raises
StoreError on opening, and is never written to.

Robustness, PostgreSQL: every operation is one transaction (READ COMMITTED), so concurrent saves
all succeed, each with its own identity id, and a client killed mid-write is rolled back by the
server. The tables are created on the first save, under an advisory lock so that replicas
starting together create them once. Other tables in the same database (the search's Optuna
studies, say) are left alone, but tables named like ours that are not ours, or a newer schema,
are refused. Weights and points are BYTEA.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sqlite3
import stat
import threading
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    event,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from torch import Tensor

if TYPE_CHECKING:
    from engine.config import Config
    from engine.data.uploads import UploadedPoints
    from engine.trainer import Trainer

__all__ = [
    "ENV_VAR",
    "RunRecord",
    "RunStore",
    "StoreError",
    "default_db_path",
    "default_location",
    "default_name",
    "hide_password",
    "thin_history",
]

ENV_VAR = "PLAYGROUND_RUNS_DB"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0  # a writer waits this long for another one instead of failing
CONNECT_TIMEOUT_S = 10  # a database server that does not answer is reported, not waited for
MAX_STEP_POINTS = 5000  # per-step loss / lr points kept per run
MAX_EVALS = 2000  # evaluations kept per run
MAX_PROBE_FRAMES = 50  # probe frames kept per run
MAX_NAME_CHARS = 200
MAX_LABEL_CHARS = 60  # of a variant label put before a default name
SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file
OUR_TABLES = frozenset({"schema_version", "runs", "weights", "points"})
# pg_advisory_xact_lock key ("runs" in ASCII) held while creating the tables on a server.
CREATE_LOCK_KEY = 0x72756E73
_URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

# The schema. `weights` and `points` live apart from `runs` so that listing runs never reads a
# weight blob; history is the last column of `runs` because SQLite walks a row's overflow pages
# to reach columns stored after a large value. Ids are SQLite's rowid (INTEGER PRIMARY KEY
# AUTOINCREMENT: never reused, so a stale link opens no other run) or a PostgreSQL identity
# (a sequence: never reused either).
_ID = BigInteger().with_variant(Integer(), "sqlite")
_META = MetaData()
SCHEMA_VERSIONS = Table("schema_version", _META, Column("version", Integer, nullable=False))
RUNS = Table(
    "runs",
    _META,
    Column("id", _ID, Identity(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created", Text, nullable=False),  # ISO 8601, UTC
    Column("page", Text, nullable=False),  # pg | mnist | lab | cli | ...
    Column("status", Text, nullable=False),  # finished | early_stopped | diverged | stopped
    Column("dataset", Text, nullable=False),  # from config, for search
    Column("arch", Text, nullable=False),
    Column("optimizer", Text, nullable=False),
    Column("steps", BigInteger, nullable=False),
    Column("seconds", Float, nullable=False),  # FLOAT: double precision on PostgreSQL too
    Column("val_acc", Float),
    Column("val_loss", Float),
    Column("test_acc", Float),
    Column("config", Text, nullable=False),  # Config.to_dict() as JSON
    Column("summary", Text, nullable=False),  # Trainer.summary() as JSON
    Column("io", Text, nullable=False),  # input shape, outputs, features, scaling (JSON)
    Column("history", LargeBinary, nullable=False),  # zlib-compressed JSON of the History
    sqlite_autoincrement=True,
)


def _run_id() -> Column:
    """The key of a table that holds one blob per run (a column belongs to one table)."""
    return Column(
        "run_id", _ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False,
    )  # fmt: skip


WEIGHTS = Table(
    "weights",
    _META,
    _run_id(),
    Column("state_dict", LargeBinary, nullable=False),  # torch.save'd state_dict, CPU tensors
)
POINTS = Table(
    "points",
    _META,
    _run_id(),
    Column("data", LargeBinary, nullable=False),  # torch.save'd {"xy", "y", "k"}, file order
)

# What `list` and `get` read, in the order `_record` expects (history last, when asked).
_LIST_COLUMNS = (
    RUNS.c.id,
    RUNS.c.name,
    RUNS.c.created,
    RUNS.c.page,
    RUNS.c.status,
    RUNS.c.config,
    RUNS.c.summary,
    RUNS.c.steps,
    RUNS.c.seconds,
    RUNS.c.val_acc,
    RUNS.c.val_loss,
    RUNS.c.test_acc,
    RUNS.c.io,
    exists().where(WEIGHTS.c.run_id == RUNS.c.id).label("has_weights"),
)


class StoreError(Exception):
    """The run database cannot be used as asked; the message says what is wrong and what to do."""


def is_url(location: str) -> bool:
    """Whether `location` is a database URL (scheme://...) rather than a file path."""
    return bool(_URL_PATTERN.match(location))


def hide_password(url: str | URL) -> str:
    """The URL with any password replaced by ***, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: show only its scheme
        return str(url).split("://", 1)[0] + "://..."


def default_location() -> Path | str:
    """$PLAYGROUND_RUNS_DB if set (a path, or a database URL as a string), else runs.db in the
    user data directory (created on the first save, not here)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return env if is_url(env) else Path(env).expanduser()
    # platformdirs comes with pooch (a requirement). Stored runs are user data, not a cache
    # that cleaners may empty, so the data dir (~/.local/share/nn-playground on Linux).
    import platformdirs

    return Path(platformdirs.user_data_dir("nn-playground", appauthor=False)) / "runs.db"


def default_db_path() -> Path:
    """The default database file: `default_location()` when that is a path or an sqlite URL;
    StoreError when $PLAYGROUND_RUNS_DB names a database server."""
    where = default_location()
    if isinstance(where, Path):
        return where
    path = _sqlite_file(make_url(where)) if where.startswith("sqlite") else None
    if path is None:
        raise StoreError(
            f"{ENV_VAR} is a database server's URL ({hide_password(where)}), not a file"
        )
    return path


@dataclass
class RunRecord:
    """One stored run. The metric columns repeat summary values, for sorting and listing.

    `history` is `History.to_dict()` (thinned, see the module docstring) in records from `get`;
    `list` leaves it empty ({}) unless asked, to stay fast with hundreds of runs.
    `io` describes the network's inputs and outputs: input_shape, n_outputs, task,
    feature_names, normalize, shift, scale.
    """

    id: int
    name: str
    created: str
    page: str
    status: str
    config: dict[str, Any]
    summary: dict[str, Any]
    history: dict[str, Any]
    steps: int
    seconds: float
    val_acc: float | None
    val_loss: float | None
    test_acc: float | None
    has_weights: bool
    io: dict[str, Any] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return str(self.config.get("data", {}).get("dataset", ""))

    @property
    def arch(self) -> str:
        return str(self.config.get("model", {}).get("arch", ""))

    @property
    def optimizer(self) -> str:
        return str(self.config.get("train", {}).get("optimizer", ""))

    def cfg(self) -> Config:
        """The run's Config (validated again, so a config edited by hand fails loudly)."""
        from engine.config import Config

        return Config.from_dict(self.config)


def default_name(config: dict[str, Any], run_id: int | None = None) -> str:
    """A readable name such as 'mlp 100-100 relu adam 0.001 · mnist #12'."""
    m, t, d = config["model"], config["train"], config["data"]
    parts = [m["arch"], "-".join(str(w) for w in m["hidden"]), m["activation"]]
    if m.get("norm", "none") != "none":
        parts.append(f"{m['norm']}-norm")
    if m.get("dropout", "none") != "none":
        parts.append(f"{m['dropout']} {m['dropout_rate']:g}")
    parts += [t["optimizer"], f"{t['lr']:g}"]
    name = " ".join(parts) + f" · {d['dataset']}"
    return name if run_id is None else f"{name} #{run_id}"


def _thin(items: Sequence[Any], limit: int) -> list[Any]:
    """At most `limit` items, evenly spaced, always the first and the last."""
    n = len(items)
    if n <= limit:
        return list(items)
    if limit == 1:
        return [items[-1]]
    keep = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    return [items[i] for i in keep]


def thin_history(history: dict[str, Any]) -> dict[str, Any]:
    """The history as stored: per-step points, evaluations and probe frames thinned to at most
    MAX_STEP_POINTS, MAX_EVALS and MAX_PROBE_FRAMES (evenly spaced, first and last kept)."""
    n = len(history.get("step", []))
    keep = _thin(range(n), MAX_STEP_POINTS)
    out = {key: [history[key][i] for i in keep] for key in ("step", "loss", "lr")}
    out["evals"] = _thin(history.get("evals", []), MAX_EVALS)
    out["probes"] = _thin(history.get("probes", []), MAX_PROBE_FRAMES)
    return out


def _finite(value: Any) -> float | None:
    """A metric for a REAL column: None for missing or non-finite values (SQLite has no NaN)."""
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _tensor_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _load_tensors(blob: bytes, what: str) -> Any:
    """torch.load with weights_only=True; a damaged blob is a StoreError naming `what`."""
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, ... for bad bytes
        raise _damaged(what, e) from None


def _damaged(what: str, e: Exception) -> StoreError:
    return StoreError(
        # torch's own text for a refused pickle goes on to advise weights_only=False: not here
        f"{what} cannot be read ({type(e).__name__}: {str(e).split('. ')[0][:200]}); the run "
        "database is "
        f"damaged: delete that run, or move the file aside or set {ENV_VAR} to another path"
    )


def _model_io(trainer: Trainer) -> dict[str, Any]:
    d = trainer.data
    return {
        "input_shape": list(d.input_shape),
        "n_outputs": d.n_classes if d.task == "classification" else 1,
        "task": d.task,
        "feature_names": list(d.feature_names),
        "normalize": d.normalize,
        "shift": d.shift.detach().cpu().tolist(),
        "scale": d.scale.detach().cpu().tolist(),
    }


@dataclass
class _Row:
    """Everything `save` writes, computed before the write transaction so the lock is short."""

    values: dict[str, Any]
    weights: bytes
    points: bytes | None


def _row(trainer: Trainer, page: str, name: str | None) -> _Row:
    summary = trainer.summary()
    config = trainer.cfg.to_dict()
    # A run saved while paused is "stopped" for people; load_trainer reads the trainer's own
    # status back from the summary.
    status = "stopped" if trainer.status == "running" else trainer.status
    history = thin_history(trainer.history.to_dict())
    state = {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}
    points = trainer._points_for_checkpoint()
    return _Row(
        values={
            "name": name,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "page": page,
            "status": status,
            "dataset": config["data"]["dataset"],
            "arch": config["model"]["arch"],
            "optimizer": config["train"]["optimizer"],
            "steps": trainer.step_count,
            "seconds": float(trainer.seconds),
            "val_acc": _finite(summary.get("val_acc")),
            "val_loss": _finite(summary.get("val_loss")),
            "test_acc": _finite(summary.get("test_acc")),
            "config": json.dumps(config),
            "summary": json.dumps(summary),
            "io": json.dumps(_model_io(trainer)),
            "history": zlib.compress(json.dumps(history).encode()),
        },
        weights=_tensor_bytes(state),
        points=_tensor_bytes(points) if points is not None else None,
    )


def _stamp(path: Path) -> tuple[int, int, int]:
    """What changes when a file is written: inode, size, modification time."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _state(path: Path) -> tuple[Any, ...]:
    """What changes when an SQLite database is written: its file's and its WAL's stamps."""
    wal = Path(f"{path}-wal")
    return path.stat().st_dev, _stamp(path), _stamp(wal) if wal.exists() else None


# Database files this process has checked (quick_check) or written, with their state then: a
# file is checked again only when someone else changed it since. Key: the absolute path.
_CHECKED: dict[str, tuple[Any, ...]] = {}


def _control_char(text: str) -> int | None:
    """The index of the first control character (NUL, tab, line break, escape, ...), line or
    paragraph separator or unpaired surrogate in `text`, else None."""
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            return i
    return None


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise StoreError("a run name cannot be empty; type a few words that describe the run")
    name = name.strip()
    bad = _control_char(name)
    if bad is not None:
        raise StoreError(
            f"a run name cannot contain control characters such as NUL, tabs or line breaks "
            f"(found {name[bad]!r} at character {bad + 1}); type it on one line without them"
        )
    if len(name) > MAX_NAME_CHARS:
        raise StoreError(
            f"a run name can have at most {MAX_NAME_CHARS} characters, not {len(name)}"
        )
    return name


def _as_id(run_id: Any) -> int | None:
    """A run id as the database holds it, or None for one no run can have (0, negative, or
    past 64 bits, which SQLite and PostgreSQL would reject with an error of their own)."""
    try:
        value = int(run_id)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 < value < 2**63 else None


def _hint(text: str) -> str:
    """What to do about a database error (its message in `text`) met while using it."""
    text = text.lower()
    if "locked" in text or "busy" in text:
        return f"another program kept the database busy for over {BUSY_TIMEOUT_S:g} s; try again"
    if "readonly" in text or "read-only" in text:
        return f"the file or its folder is read-only; fix the permissions or set {ENV_VAR}"
    if "full" in text or "no space" in text:
        return "the disk is full; free some space and try again"
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return f"the database is damaged; move it aside or set {ENV_VAR} to another path"
    if "authentication" in text or "password" in text:
        return f"check the user name and password in {ENV_VAR}"
    if "database" in text and "does not exist" in text:
        return f"create that database on the server, or fix its name in {ENV_VAR}"
    if any(
        s in text
        for s in ("could not connect", "connection refused", "translate host", "timeout", "closed")
    ):
        return f"the database server cannot be reached; check that it runs, and {ENV_VAR}"
    if "permission denied" in text:
        return f"the database user may not use these tables; grant it the rights or set {ENV_VAR}"
    return f"check the database, or set {ENV_VAR} to another location"


def _error_text(e: BaseException, secret: str | None = None) -> str:
    """A database error in one line: the driver's own message (SQLAlchemy's adds the SQL and
    its parameters, blobs included), without any password."""
    inner = getattr(e, "orig", None) or e
    lines = [line.strip() for line in str(inner).strip().splitlines() if line.strip()]
    text = " ".join(lines)[:300] or type(inner).__name__
    return text.replace(secret, "***") if secret else text


# Engines, one per database (and SQLite open mode) and process: a server's pooled connections
# are reused across RunStore instances (a page makes one per script run).
_ENGINES: dict[tuple[int, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()
MAX_ENGINES = 64  # tests open many databases; the oldest engine is disposed past this


def _cached_engine(key: str, make: Callable[[], Engine]) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get((os.getpid(), key))
        if engine is None:
            if len(_ENGINES) >= MAX_ENGINES:
                _ENGINES.pop(next(iter(_ENGINES))).dispose()
            engine = _ENGINES[(os.getpid(), key)] = make()
    return engine


def _forget_engines_in_child() -> None:
    """A forked child must neither use nor close its parent's pooled connections (their
    sockets are shared): drop the engines without closing anything."""
    global _ENGINES_LOCK
    _ENGINES_LOCK = threading.Lock()  # another thread may have held it at the fork
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


def _sqlite_engine(path: Path, mode: str) -> Engine:
    """An engine on an SQLite file opened with `mode` (rw, rwc, ro, ro&immutable=1): a fresh
    connection per use (NullPool), so the last one to close checkpoints the WAL and a
    database deleted meanwhile is noticed, never kept open."""
    uri = f"{path.as_uri()}?mode={mode}"

    def connect() -> sqlite3.Connection:
        # isolation_level=None: the sqlite3 module starts no transaction of its own;
        # `_begin_sqlite` does, as each use asks.
        con = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        con.execute("PRAGMA foreign_keys = ON")
        return con

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _begin_sqlite(conn: Connection) -> None:
    """Start SQLite's transaction: BEGIN IMMEDIATE for a write, so it takes the write lock up
    front (waiting up to BUSY_TIMEOUT_S for another writer) and never fails half-way on a lock
    upgrade; BEGIN for a read (one snapshot); nothing where PRAGMAs must run outside one."""
    begin = conn.get_execution_options().get("sqlite_begin", "BEGIN")
    if begin:
        conn.exec_driver_sql(begin)


def _switch_to_wal(conn: Connection) -> None:
    """Put a new SQLite file in WAL mode. SQLite answers "database is locked" at once, without
    its busy wait, when another process is setting up the same new file (one race in twenty
    with three processes): wait and retry here instead, up to BUSY_TIMEOUT_S."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while conn.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
        try:
            conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        except OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _server_engine(url: URL) -> Engine:
    """A pooled engine on a database server; dead connections are replaced (pre-ping), and an
    unreachable server is reported after CONNECT_TIMEOUT_S."""
    args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg2", "psycopg"):
        args["connect_timeout"] = CONNECT_TIMEOUT_S
    return create_engine(url, pool_pre_ping=True, connect_args=args)


def _sqlite_file(url: URL) -> Path | None:
    """The file of an sqlite:/// URL, None for an in-memory database."""
    database = url.database or ""
    return None if database in ("", ":memory:") else Path(database)


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _file_kind(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "a special file")


class RunStore:
    """Stored runs in an SQLite file or a database server (see the module docstring).

    Opening checks the database and raises StoreError if it is not ours or cannot be trusted; a
    missing file (or a server database without our tables) gets the schema on the first save.
    Every method uses a connection of its own, so one store may be shared by threads, and
    several processes (or machines, on a server) may use one database.

    `path` is the SQLite file (None on a server); `location` says where, for people (the path,
    or the URL with its password hidden).
    """

    def __init__(self, location: Path | str | None = None) -> None:
        where = default_location() if location is None else location
        self.path: Path | None = None
        self._url: URL | None = None
        self._secret: str | None = None
        if isinstance(where, str) and is_url(where):
            url = _parse_url(where)
            if url.get_backend_name() == "sqlite":
                file = _sqlite_file(url)
                if file is None:
                    raise StoreError(
                        f"{where} is an in-memory database, which keeps no runs; give a file, "
                        f"such as sqlite:////absolute/path/runs.db, or a path"
                    )
                where = file
            else:
                self._url, self._secret = url, url.password or None
        if self._url is None:
            # Fixed now: a later chdir must not move the database.
            self.path = Path(where).expanduser().absolute()
        self.location = str(self.path) if self._url is None else hide_password(self._url)
        if self._url is not None:
            self._engine()  # a dialect or driver that is not installed fails here, clearly
        self._ready = self._inspect()  # True once the database holds our schema

    def __repr__(self) -> str:
        return f"RunStore({self.location!r})"

    # Connections -----------------------------------------------------------------------------

    def _engine(self) -> Engine:
        if self.path is not None:
            path = self.path
            return _cached_engine(f"sqlite:rw:{path}", lambda: _sqlite_engine(path, "rw"))
        url = self._url
        assert url is not None
        try:
            return _cached_engine(
                f"url:{url.render_as_string(hide_password=False)}", lambda: _server_engine(url)
            )
        except (SQLAlchemyError, ImportError) as e:  # no such dialect, driver not installed
            raise StoreError(
                f"cannot use {self.location} as the run database ({_error_text(e, self._secret)}); "
                f"set {ENV_VAR} to a file path or to a URL such as "
                f"postgresql+psycopg2://user:password@host/database"
            ) from None

    @contextmanager
    def _connect(
        self,
        action: str,
        *,
        write: bool = False,
        begin: bool = True,
        engine: Engine | None = None,
    ) -> Iterator[Connection]:
        """A connection in one transaction, committed at the end (rolled back on an error);
        database errors become StoreError saying what failed and what to do. On SQLite a
        `write` begins IMMEDIATE; without `begin` statements run outside a transaction (for
        PRAGMAs that cannot run inside one). Only the rwc engine of `_create` may make a new
        file, so a database deleted while the app runs is never silently replaced."""
        try:
            with (engine or self._engine()).connect() as conn:
                if self.path is not None:
                    mode = ("BEGIN IMMEDIATE" if write else "BEGIN") if begin else None
                    conn.execution_options(sqlite_begin=mode)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as e:
            raise self._failed(action, e) from None

    def _failed(self, action: str, e: BaseException) -> StoreError:
        reason = _error_text(e, self._secret)
        return StoreError(f"could not {action} in {self.location}: {reason}; {_hint(reason)}")

    # Opening and checking --------------------------------------------------------------------

    def _refuse(self, reason: str) -> StoreError:
        return StoreError(
            f"{self.location} is not a playground run database ({reason}); move it aside or set "
            f"{ENV_VAR} to another path — it was not changed"
        )

    def _damaged_file(self, reason: str) -> StoreError:
        return StoreError(
            f"{self.path} is damaged ({reason}); move it aside (sqlite3's .recover command may "
            f"rescue its runs) or set {ENV_VAR} to another path — it was not changed"
        )

    def _inspect(self) -> bool:
        """True if the database holds our schema, False if it is missing or empty (created on
        the first save); StoreError for anything else. Reads only: nothing is changed."""
        if self.path is None:
            with self._connect("open the run database") as conn:
                return self._check_schema(conn)
        return self._inspect_file()

    def _inspect_file(self) -> bool:
        path = self.path
        assert path is not None
        # stat before opening: opening a FIFO to read blocks until someone writes to it, and a
        # device such as /dev/zero never ends.
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return False
        except OSError as e:  # a parent folder that is a file or may not be entered, ...
            raise self._unreadable(e) from None
        if stat.S_ISDIR(mode):
            raise StoreError(
                f"{path} is a directory, not a run database file; set {ENV_VAR} to a file path "
                f"such as {path / 'runs.db'} — it was not changed"
            )
        if not stat.S_ISREG(mode):
            raise StoreError(
                f"{path} is {_file_kind(mode)}, not a regular file; set {ENV_VAR} to the path of "
                f"a database file (or of one to create) — it was not changed"
            )
        try:
            with path.open("rb") as f:
                header = f.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            return False
        except OSError as e:
            raise self._unreadable(e) from None
        if not header:
            return False  # an empty file is an empty database: SQLite initializes it
        if header != SQLITE_MAGIC:
            raise self._refuse("file is not a database")
        try:
            return self._check_readonly()
        except SQLAlchemyError as e:
            reason = _error_text(e)
            if "locked" in reason or "busy" in reason:
                raise StoreError(f"{path} is busy: {_hint(reason)}") from None
            raise self._damaged_file(reason) from None

    def _unreadable(self, e: OSError) -> StoreError:
        return StoreError(
            f"cannot read {self.path} ({e.strerror}); fix its permissions (the playground reads "
            f"and writes it) or set {ENV_VAR} to another path — it was not changed"
        )

    def _check_readonly(self) -> bool:
        """`_check_file` on a read-only connection that leaves no trace.

        A plain read-only connection to a WAL-mode file creates -wal and -shm files beside it,
        litter next to a file we then refuse. So while no -wal file exists (no connection is
        using the file) read it as immutable, which creates nothing, and trust that read if the
        file did not change meanwhile; otherwise (a live or crashed writer left a WAL: its
        frames must be read or recovered) use a normal read-only connection.
        """
        path, wal = self.path, Path(f"{self.path}-wal")
        assert path is not None
        if not wal.exists():
            before = _state(path)
            error: SQLAlchemyError | None = None
            engine = _cached_engine(
                f"sqlite:immutable:{path}", lambda: _sqlite_engine(path, "ro&immutable=1")
            )
            try:
                with engine.connect() as conn:
                    result = self._check_file(conn, before)
            except SQLAlchemyError as e:
                result, error = False, e  # damage, or a torn read during someone's checkpoint
            if _state(path) == before:  # nobody touched it: trust the read
                if error is not None:
                    raise error
                if result:
                    _CHECKED[str(path)] = before
                return result
        engine = _cached_engine(f"sqlite:ro:{path}", lambda: _sqlite_engine(path, "ro"))
        with engine.connect() as conn:
            return self._check_file(conn, None)

    def _check_file(self, conn: Connection, state: tuple[Any, ...] | None) -> bool:
        """`_check_schema`, then SQLite's quick_check of every page unless this process
        checked or wrote the file as it is now (`state`). quick_check rather than
        integrity_check: the same ~40 ms on a 55 MB store of 200 runs (there is no index for
        integrity_check's extra cross-checks), and linear where the other is not."""
        if not self._check_schema(conn):
            return False
        if state is None or _CHECKED.get(str(self.path)) != state:
            problems = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise self._damaged_file("quick_check found: " + "; ".join(problems[:3]))
        return True

    def _check_schema(self, conn: Connection) -> bool:
        """True if our tables are there, False if none is; StoreError if the database is
        another program's (SQLite: any table not ours; a server: ours incomplete or foreign),
        or of a newer schema."""
        names = set(sa_inspect(conn).get_table_names())
        tables = names & OUR_TABLES
        if self.path is not None and names - OUR_TABLES:
            listed = ", ".join(sorted(names)[:6])
            raise self._refuse(f"it is another program's SQLite database, with tables {listed}")
        if not tables:
            return False
        if "schema_version" not in tables:
            listed = ", ".join(sorted(tables))
            raise self._refuse(f"it has tables named like ours ({listed}) but no schema_version")
        version = conn.execute(select(func.max(SCHEMA_VERSIONS.c.version))).scalar()
        if version is None:
            raise self._refuse("its schema_version table is empty")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.location} was written by a newer version of the playground (run "
                f"database schema {version}; this version reads {SCHEMA_VERSION}); update the "
                f"playground or set {ENV_VAR} to another path — it was not changed"
            )
        if tables != OUR_TABLES:
            raise self._refuse(f"tables are missing: {', '.join(sorted(OUR_TABLES - tables))}")
        # Touch the runs table: a truncated or garbled file fails here rather than later.
        conn.execute(select(func.count(), func.max(RUNS.c.id)).select_from(RUNS)).one()
        return True

    def _create(self) -> None:
        """Create the schema (and the folder) unless another process just did."""
        engine = None
        if self.path is not None:
            path = self.path
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(
                    f"cannot create the folder {path.parent} ({e.strerror}); create it, or set "
                    f"{ENV_VAR} to a path in a folder the playground may write"
                ) from None
            engine = _cached_engine(f"sqlite:rwc:{path}", lambda: _sqlite_engine(path, "rwc"))
        # One connection for the PRAGMAs and the schema, as few opens and closes as possible
        # while other processes may be setting up the same new file.
        with self._connect(
            "create the run database", write=True, begin=engine is None, engine=engine
        ) as conn:
            if engine is not None:
                # Both take effect only on a new, empty file: incremental auto-vacuum lets
                # `delete` give space back; WAL lets readers and one writer work at once, and a
                # killed writer's uncommitted frames are simply ignored (sqlite.org/wal.html).
                # Then the write lock, by hand: PRAGMAs cannot run inside a transaction.
                conn.exec_driver_sql("PRAGMA auto_vacuum = INCREMENTAL")
                _switch_to_wal(conn)
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # committed when the block ends
            elif conn.dialect.name == "postgresql":  # replicas starting together create it once
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CREATE_LOCK_KEY})
            if not self._check_schema(conn):
                _META.create_all(conn)
                conn.execute(insert(SCHEMA_VERSIONS).values(version=SCHEMA_VERSION))
        self._trust_own_write()

    def _trust_own_write(self) -> None:
        """Remember the file as this process left it, so the next store opened on it in this
        process does not check all its pages again."""
        if self.path is not None:
            try:
                _CHECKED[str(self.path)] = _state(self.path)
            except OSError:
                _CHECKED.pop(str(self.path), None)

    def _has_schema(self, create: bool) -> bool:
        """Whether the database holds our schema now (checked again if it was missing, or the
        file has gone since: another process may have created it, a person may have deleted
        it); with `create`, a missing or empty database gets the schema."""
        if not self._ready or (self.path is not None and not self.path.exists()):
            self._ready = self._inspect()
            if not self._ready and create:
                self._create()
                self._ready = True
        return self._ready

    @contextmanager
    def _read(self, action: str) -> Iterator[Connection | None]:
        """A connection for reading, or None while the database does not exist yet."""
        if not self._has_schema(create=False):
            yield None
            return
        with self._connect(action) as conn:
            yield conn

    @contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        """One write transaction (on SQLite BEGIN IMMEDIATE; see `_begin_sqlite`)."""
        self._has_schema(create=True)
        with self._connect(action, write=True) as conn:
            yield conn
        self._trust_own_write()

    # Writing ---------------------------------------------------------------------------------

    def save(
        self,
        trainer: Trainer,
        name: str | None = None,
        page: str = "cli",
        label: str | None = None,
    ) -> int:
        """Store the run (config, summary, thinned history, final weights, uploaded points) in
        one transaction and return its id. Without a name it gets `default_name(...) #id`,
        after `label` (a lab's or a sweep's name for the variant, e.g. 'He') if given."""
        if name is not None:
            name = _check_name(name)
        row = _row(trainer, page, name)
        with self._write("save the run") as conn:
            values = {**row.values, "name": row.values["name"] or ""}
            key = conn.execute(insert(RUNS).values(values)).inserted_primary_key
            assert key is not None, "an insert returns its row's key"
            run_id = int(key[0])
            if name is None:
                named = default_name(json.loads(row.values["config"]), run_id)
                if label:
                    clean = "".join(c for c in label if _control_char(c) is None).strip()
                    named = f"{clean[:MAX_LABEL_CHARS]} · {named}"[:MAX_NAME_CHARS]
                conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(name=named))
            self._insert_blobs(conn, run_id, row)
        return run_id

    def _insert_blobs(self, conn: Connection, run_id: int, row: _Row) -> None:
        """The weights (and points) of a run, inside `save`'s transaction."""
        conn.execute(insert(WEIGHTS).values(run_id=run_id, state_dict=row.weights))
        if row.points is not None:
            conn.execute(insert(POINTS).values(run_id=run_id, data=row.points))

    def rename(self, run_id: int, name: str) -> None:
        """Give run `run_id` a new name (1 to MAX_NAME_CHARS characters)."""
        name = _check_name(name)
        key = _as_id(run_id)
        if key is None:
            raise self._missing(run_id)
        with self._write("rename the run") as conn:
            renamed = conn.execute(update(RUNS).where(RUNS.c.id == key).values(name=name))
            if renamed.rowcount == 0:
                raise self._missing(run_id)

    def delete(self, run_id: int) -> None:
        """Delete run `run_id` with its weights and points, and give the space back."""
        key = _as_id(run_id)
        if key is None:
            raise self._missing(run_id)
        with self._write("delete the run") as conn:
            if conn.execute(delete(RUNS).where(RUNS.c.id == key)).rowcount == 0:
                raise self._missing(run_id)
        self._give_back_space()

    def delete_many(self, run_ids: Sequence[int]) -> int:
        """Delete these runs (ids no longer there are skipped) in one transaction, and give
        the space back; returns how many were deleted."""
        ids = sorted({i for i in map(_as_id, run_ids) if i is not None})
        deleted = 0
        with self._write("delete the runs") as conn:
            for start in range(0, len(ids), 500):  # under every database's parameter limit
                chunk = ids[start : start + 500]
                deleted += conn.execute(delete(RUNS).where(RUNS.c.id.in_(chunk))).rowcount
        self._give_back_space()
        return deleted

    def _give_back_space(self) -> None:
        # SQLite: give the freed pages back (auto_vacuum is incremental), so deleting big runs
        # shrinks the file. executescript, because `execute` steps this pragma once: one page.
        # A server reclaims space itself (autovacuum).
        if self.path is None:
            return
        try:
            with self._connect("give back free space", begin=False) as conn:
                conn.connection.driver_connection.executescript(  # type: ignore[union-attr]
                    "PRAGMA incremental_vacuum;"
                )
        except (StoreError, sqlite3.Error):
            pass  # the run is gone either way; later saves reuse the free pages
        self._trust_own_write()

    # Reading ---------------------------------------------------------------------------------

    def _missing(self, run_id: int) -> StoreError:
        return StoreError(f"no run {run_id}; it may have been deleted")

    def count(self) -> int:
        """Number of stored runs."""
        with self._read("count the runs") as conn:
            if conn is None:
                return 0
            return int(conn.execute(select(func.count()).select_from(RUNS)).scalar_one())

    def pages(self) -> list[str]:
        """The `page`s runs were saved from (where they were trained), sorted."""
        with self._read("list where runs came from") as conn:
            if conn is None:
                return []
            query = select(RUNS.c.page).distinct().order_by(RUNS.c.page)
            return [str(p) for p in conn.execute(query).scalars()]

    def list(
        self,
        limit: int | None = 200,
        search: str | None = None,
        *,
        pages: Sequence[str] | None = None,
        with_history: bool = False,
    ) -> list[RunRecord]:
        """Runs newest first, at most `limit` (None: all), without weights. `search` keeps runs
        whose name, dataset, architecture or optimizer contains every word of it (any case);
        `pages` keeps runs saved from those pages. Records carry an empty history unless
        `with_history` (use `get` for one run)."""
        columns = [*_LIST_COLUMNS, RUNS.c.history] if with_history else _LIST_COLUMNS
        query = select(*columns).order_by(RUNS.c.id.desc())
        if pages is not None:
            query = query.where(RUNS.c.page.in_(list(pages)) if pages else false())
        for word in (search or "").split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            searched = (RUNS.c.name, RUNS.c.dataset, RUNS.c.arch, RUNS.c.optimizer)
            query = query.where(or_(*(c.ilike(pattern, escape="\\") for c in searched)))
        if limit is not None:
            query = query.limit(max(int(limit), 0))
        with self._read("list the runs") as conn:
            if conn is None:
                return []
            rows = conn.execute(query).all()
        return [_record(r) for r in rows]

    def get(self, run_id: int) -> RunRecord:
        """One run with its history (not its weights: see `weights`)."""
        key = _as_id(run_id)
        with self._read("read the run") as conn:
            row = None
            if conn is not None and key is not None:
                query = select(*_LIST_COLUMNS, RUNS.c.history).where(RUNS.c.id == key)
                row = conn.execute(query).first()
        if row is None:
            raise self._missing(run_id)
        return _record(row)

    def _blob(self, column: Column[Any], run_id: int, action: str) -> bytes | None:
        """The blob in `column` (of `weights` or `points`) for run `run_id`, None if none."""
        key = _as_id(run_id)
        with self._read(action) as conn:
            if conn is None or key is None:
                return None
            blob = conn.execute(select(column).where(column.table.c.run_id == key)).scalar()
        return None if blob is None else bytes(blob)

    def weights_blob(self, run_id: int) -> bytes:
        """The stored weights as they are: a `torch.save`d state_dict of CPU tensors."""
        blob = self._blob(WEIGHTS.c.state_dict, run_id, "read the weights")
        if blob is None:
            self.get(run_id)  # raises "no run N" if the run itself is gone
            raise StoreError(f"run {run_id} has no stored weights")
        return blob

    def weights(self, run_id: int) -> dict[str, Tensor]:
        """The run's final state_dict (CPU tensors), loaded with weights_only=True."""
        return dict(_load_tensors(self.weights_blob(run_id), f"the weights of run {run_id}"))

    def points(self, run_id: int) -> UploadedPoints | None:
        """The uploaded points of an `uploaded` run (file order), else None."""
        from engine.trainer import points_from_saved

        blob = self._blob(POINTS.c.data, run_id, "read the points")
        if blob is None:
            self.get(run_id)  # raises "no run N" if the run itself is gone
            return None
        return points_from_saved(_load_tensors(blob, f"the points of run {run_id}"))

    def load_trainer(self, run_id: int, *, device: str | None = None, **kwargs: Any) -> Trainer:
        """A Trainer rebuilt from the stored config (and points), with the stored weights,
        history, step count, time, status and message, so a page shows the run as it was.

        The optimizer's state is not stored: training on restarts momentum and adaptive
        averages (the learning-rate schedule resumes at the stored step). `device` overrides
        the stored one; a stored device this machine lacks (a run saved on a GPU) becomes
        "auto". `kwargs` go to `Trainer` (probe_every, max_probes, ...).
        """
        from engine.device import available_devices
        from engine.trainer import SavedRun, Trainer

        record = self.get(run_id)
        stored = record.config.get("device", "auto")
        if device is None and stored != "auto" and stored not in available_devices():
            device = "auto"
        saved = SavedRun(
            config=record.config,
            weights=self.weights(run_id),
            history=record.history,
            step=record.steps,
            status=str(record.summary.get("status", "")),  # "" (none stored): "ready"
            message=str(record.summary.get("message", "")),
            seconds=record.seconds,
            points=self.points(run_id),
        )
        return Trainer.restore(saved, device=device, **kwargs)

    def integrity_check(self) -> str:
        """SQLite's `PRAGMA integrity_check`: "ok", or the problems found (one per line). A
        server keeps its own pages' integrity: there, "ok" once every table has been read."""
        with self._read("check the database") as conn:
            if conn is None:
                return "ok"
            if conn.dialect.name == "sqlite":
                return "\n".join(str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check"))
            for table in (RUNS, WEIGHTS, POINTS):
                conn.execute(select(func.count()).select_from(table)).scalar_one()
            return "ok"


def _parse_url(location: str) -> URL:
    try:
        return make_url(location)
    except (SQLAlchemyError, ValueError) as e:  # ValueError: a port that is not a number
        raise StoreError(
            f"{hide_password(location)} is not a database URL ({_error_text(e)}); give a file "
            f"path or a URL such as postgresql+psycopg2://user:password@host/database"
        ) from None


def _record(row: Sequence[Any]) -> RunRecord:
    """A RunRecord from a row of `_LIST_COLUMNS` (and the history blob, if selected)."""
    try:
        history = json.loads(zlib.decompress(row[14])) if len(row) > 14 else {}
        config, summary, model_io = json.loads(row[5]), json.loads(row[6]), json.loads(row[12])
    except (zlib.error, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError included
        raise _damaged(f"run {row[0]}", e) from None
    return RunRecord(
        id=int(row[0]),
        name=row[1],
        created=row[2],
        page=row[3],
        status=row[4],
        config=config,
        summary=summary,
        history=history,
        steps=int(row[7]),
        seconds=float(row[8]),
        val_acc=row[9],
        val_loss=row[10],
        test_acc=row[11],
        has_weights=bool(row[13]),
        io=model_io,
    )
