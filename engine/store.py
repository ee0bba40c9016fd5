"""The run store: finished, stopped and diverged runs kept in an embedded SQLite database.

    store = RunStore()                       # $PLAYGROUND_RUNS_DB, else the user data dir
    run_id = store.save(trainer, page="pg")  # config, summary, history, weights (and points)
    store.list(search="adam mnist")          # newest first, without history or weights
    trainer = store.load_trainer(run_id)     # the run back in a Trainer, as it was

What is stored per run (one row of `runs`, one of `weights`, one of `points` for uploaded data):

- config and summary as JSON text (`Trainer.summary()`, so MNIST runs carry test metrics);
- `io`: what the network takes and gives (input shape, outputs, task, feature names and the
  input scaling fitted on the training split), which `engine.export` needs to write a
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

Robustness: the database runs in WAL mode; every write is one `BEGIN IMMEDIATE` transaction on
a connection of its own, with a busy timeout, so two sessions (threads or processes) saving at
once both succeed, and a process killed mid-write leaves the last committed state. A file that
is not an SQLite database, is damaged, unreadable, a directory, another program's database or a
newer schema raises StoreError on opening, and is never written to.
"""

from __future__ import annotations

import io
import json
import math
import os
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
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
    "default_name",
    "thin_history",
]

ENV_VAR = "PLAYGROUND_RUNS_DB"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0  # a writer waits this long for another one instead of failing
MAX_STEP_POINTS = 5000  # per-step loss / lr points kept per run
MAX_EVALS = 2000  # evaluations kept per run
MAX_PROBE_FRAMES = 50  # probe frames kept per run
MAX_NAME_CHARS = 200
MAX_LABEL_CHARS = 60  # of a variant label put before a default name
SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file
OUR_TABLES = frozenset({"schema_version", "runs", "weights", "points"})

# Statements run once, when the database is created. `weights` and `points` live apart from
# `runs` so that listing runs never reads a weight blob; history is the last column of `runs`
# because SQLite walks a row's overflow pages to reach columns stored after a large value.
SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a stale link opens no other run
        name TEXT NOT NULL,
        created TEXT NOT NULL,                 -- ISO 8601, UTC
        page TEXT NOT NULL,                    -- pg | mnist | lab | cli | ...
        status TEXT NOT NULL,                  -- finished | early_stopped | diverged | stopped
        dataset TEXT NOT NULL,                 -- from config, for search
        arch TEXT NOT NULL,
        optimizer TEXT NOT NULL,
        steps INTEGER NOT NULL,
        seconds REAL NOT NULL,
        val_acc REAL,
        val_loss REAL,
        test_acc REAL,
        config TEXT NOT NULL,                  -- Config.to_dict() as JSON
        summary TEXT NOT NULL,                 -- Trainer.summary() as JSON
        io TEXT NOT NULL,                      -- input shape, outputs, features, scaling (JSON)
        history BLOB NOT NULL                  -- zlib-compressed JSON of the thinned History
    )""",
    """CREATE TABLE weights (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        state_dict BLOB NOT NULL               -- torch.save'd state_dict of CPU tensors
    )""",
    """CREATE TABLE points (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        data BLOB NOT NULL                     -- torch.save'd {"xy", "y", "k"}, file order
    )""",
)

_LIST_COLUMNS = (
    "r.id, r.name, r.created, r.page, r.status, r.config, r.summary, r.steps, r.seconds, "
    "r.val_acc, r.val_loss, r.test_acc, r.io, "
    "EXISTS (SELECT 1 FROM weights w WHERE w.run_id = r.id)"
)


class StoreError(Exception):
    """The run database cannot be used as asked; the message says what is wrong and what to do."""


def default_db_path() -> Path:
    """$PLAYGROUND_RUNS_DB if set, else runs.db in the user data directory (created on the
    first save, not here)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    # platformdirs comes with pooch (a requirement). Stored runs are user data, not a cache
    # that cleaners may empty, so the data dir (~/.local/share/nn-playground on Linux).
    import platformdirs

    return Path(platformdirs.user_data_dir("nn-playground", appauthor=False)) / "runs.db"


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
        f"{what} cannot be read ({type(e).__name__}: {str(e)[:200]}); the run database is "
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


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise StoreError("a run name cannot be empty; type a few words that describe the run")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise StoreError(
            f"a run name can have at most {MAX_NAME_CHARS} characters, not {len(name)}"
        )
    return name


def _hint(e: sqlite3.Error) -> str:
    """What to do about an SQLite error met while using the database."""
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        return f"another program kept the database busy for over {BUSY_TIMEOUT_S:g} s; try again"
    if "readonly" in text or "read-only" in text:
        return f"the file or its folder is read-only; fix the permissions or set {ENV_VAR}"
    if "full" in text:
        return "the disk is full; free some space and try again"
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return f"the database is damaged; move it aside or set {ENV_VAR} to another path"
    return f"check the file, or set {ENV_VAR} to another path"


class RunStore:
    """Stored runs in an SQLite database at `path` (default: `default_db_path()`).

    Opening checks the file and raises StoreError if it is not ours (see the module docstring);
    a missing file is created, with its folder, on the first save. Every method opens its own
    connection, so one store may be shared by threads and several processes may use one file.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        chosen = Path(path).expanduser() if path is not None else default_db_path()
        self.path = chosen.absolute()  # fixed now: a later chdir must not move the database
        self._ready = self._inspect()  # True once the file holds our schema

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # Opening and checking --------------------------------------------------------------------

    def _refuse(self, reason: str) -> StoreError:
        return StoreError(
            f"{self.path} is not a playground run database ({reason}); move it aside or set "
            f"{ENV_VAR} to another path — it was not changed"
        )

    def _inspect(self) -> bool:
        """True if the file holds our schema, False if it is missing or empty (created on the
        first save); StoreError for anything else. Reads only: the file is never changed."""
        path = self.path
        if path.is_dir():
            raise StoreError(
                f"{path} is a directory, not a run database file; set {ENV_VAR} to a file path "
                f"such as {path / 'runs.db'} — it was not changed"
            )
        try:
            with path.open("rb") as f:
                header = f.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StoreError(
                f"cannot read {path} ({e.strerror}); fix its permissions (the playground reads "
                f"and writes it) or set {ENV_VAR} to another path — it was not changed"
            ) from None
        if not header:
            return False  # an empty file is an empty database: SQLite initializes it
        if header != SQLITE_MAGIC:
            raise self._refuse("file is not a database")
        try:
            return self._check_readonly()
        except sqlite3.DatabaseError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise StoreError(f"{path} is busy: {_hint(e)}") from None
            raise StoreError(
                f"{path} is damaged ({e}); move it aside (sqlite3's .recover command may rescue "
                f"its runs) or set {ENV_VAR} to another path — it was not changed"
            ) from None

    def _check_readonly(self) -> bool:
        """`_check_schema` on a read-only connection that leaves no trace.

        A plain read-only connection to a WAL-mode file creates -wal and -shm files beside it,
        litter next to a file we then refuse. So while no -wal file exists (no connection is
        using the file) read it as immutable, which creates nothing, and trust that read if the
        file did not change meanwhile; otherwise (a live or crashed writer left a WAL: its
        frames must be read or recovered) use a normal read-only connection.
        """
        path, wal = self.path, Path(f"{self.path}-wal")
        uri = f"{path.as_uri()}?mode=ro"
        if not wal.exists():
            before = _stamp(path)
            error: sqlite3.DatabaseError | None = None
            con = sqlite3.connect(f"{uri}&immutable=1", uri=True)
            try:
                result = self._check_schema(con)
            except sqlite3.DatabaseError as e:
                result, error = False, e  # damage, or a torn read during someone's checkpoint
            finally:
                con.close()
            if _stamp(path) == before and not wal.exists():  # nobody touched it: trust the read
                if error is not None:
                    raise error
                return result
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            return self._check_schema(con)
        finally:
            con.close()

    def _check_schema(self, con: sqlite3.Connection) -> bool:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tables = {n for n in names if not n.startswith("sqlite_")}
        if not tables:
            return False
        if "schema_version" not in tables or tables - OUR_TABLES:
            listed = ", ".join(sorted(tables)[:6])
            raise self._refuse(f"it is another program's SQLite database, with tables {listed}")
        (version,) = con.execute("SELECT max(version) FROM schema_version").fetchone()
        if version is None:
            raise self._refuse("its schema_version table is empty")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version of the playground (run database "
                f"schema {version}; this version reads {SCHEMA_VERSION}); update the playground "
                f"or set {ENV_VAR} to another path — it was not changed"
            )
        if tables != OUR_TABLES:
            raise self._refuse(f"tables are missing: {', '.join(sorted(OUR_TABLES - tables))}")
        # Touch the runs table: a truncated or garbled file fails here rather than later.
        con.execute("SELECT count(*), max(id) FROM runs").fetchone()
        return True

    def _create(self) -> None:
        """Create the schema (and the folder) unless another process just did."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect("create the run database", create=True) as con:
            # Both take effect only on a new, empty file: incremental auto-vacuum lets `delete`
            # give space back; WAL lets readers and one writer work at once, and a killed
            # writer's uncommitted frames are simply ignored (https://sqlite.org/wal.html).
            con.execute("PRAGMA auto_vacuum = INCREMENTAL")
            if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("BEGIN IMMEDIATE")
            try:
                if not self._check_schema(con):
                    for statement in SCHEMA:
                        con.execute(statement)
                    con.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    @contextmanager
    def _connect(self, action: str, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A fresh connection (autocommit; transactions are explicit); SQLite errors become
        StoreError saying what failed and what to do. Only `create` may make a new file, so a
        database deleted while the app runs is never silently replaced by an empty one."""
        uri = f"{self.path.as_uri()}?mode={'rwc' if create else 'rw'}"
        try:
            con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"could not {action} in {self.path}: {e}; {_hint(e)}") from None
        try:
            con.execute("PRAGMA foreign_keys = ON")
            yield con
        except sqlite3.Error as e:
            raise StoreError(f"could not {action} in {self.path}: {e}; {_hint(e)}") from None
        finally:
            con.close()

    def _has_schema(self, create: bool) -> bool:
        """Whether the file holds our schema now (checked again if it was missing, or has
        gone since: another process may have created it, a person may have deleted it);
        with `create`, a missing or empty file gets the schema."""
        if not self._ready or not self.path.exists():
            self._ready = self._inspect()
            if not self._ready and create:
                self._create()
                self._ready = True
        return self._ready

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection | None]:
        """A connection for reading, or None while the database does not exist yet."""
        if not self._has_schema(create=False):
            yield None
            return
        with self._connect(action) as con:
            yield con

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction: it takes the write lock up front (waiting up to
        BUSY_TIMEOUT_S for another writer), so it never fails half-way on a lock upgrade."""
        self._has_schema(create=True)
        with self._connect(action) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

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
        with self._write("save the run") as con:
            values = {**row.values, "name": row.values["name"] or ""}
            columns = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            cur = con.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", values)
            assert cur.lastrowid is not None  # an INSERT into a rowid table always sets it
            run_id = cur.lastrowid
            if name is None:
                named = default_name(json.loads(row.values["config"]), run_id)
                if label:
                    named = f"{label.strip()[:MAX_LABEL_CHARS]} · {named}"[:MAX_NAME_CHARS]
                con.execute("UPDATE runs SET name = ? WHERE id = ?", (named, run_id))
            self._insert_blobs(con, run_id, row)
        return run_id

    def _insert_blobs(self, con: sqlite3.Connection, run_id: int, row: _Row) -> None:
        """The weights (and points) of a run, inside `save`'s transaction."""
        con.execute("INSERT INTO weights (run_id, state_dict) VALUES (?, ?)", (run_id, row.weights))
        if row.points is not None:
            con.execute("INSERT INTO points (run_id, data) VALUES (?, ?)", (run_id, row.points))

    def rename(self, run_id: int, name: str) -> None:
        """Give run `run_id` a new name (1 to MAX_NAME_CHARS characters)."""
        name = _check_name(name)
        with self._write("rename the run") as con:
            if con.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id)).rowcount == 0:
                raise self._missing(run_id)

    def delete(self, run_id: int) -> None:
        """Delete run `run_id` with its weights and points, and give the space back."""
        with self._write("delete the run") as con:
            if con.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount == 0:
                raise self._missing(run_id)
        self._give_back_space()

    def delete_many(self, run_ids: Sequence[int]) -> int:
        """Delete these runs (ids no longer there are skipped) in one transaction, and give
        the space back; returns how many were deleted."""
        ids = [int(i) for i in run_ids]
        with self._write("delete the runs") as con:
            deleted = sum(con.execute("DELETE FROM runs WHERE id = ?", (i,)).rowcount for i in ids)
        self._give_back_space()
        return deleted

    def _give_back_space(self) -> None:
        # Give the freed pages back (auto_vacuum is incremental), so deleting big runs shrinks
        # the file. executescript, because `execute` steps this pragma once: one page.
        try:
            with self._connect("give back free space") as con:
                con.executescript("PRAGMA incremental_vacuum;")
        except StoreError:
            pass  # the run is gone either way; later saves reuse the free pages

    # Reading ---------------------------------------------------------------------------------

    def _missing(self, run_id: int) -> StoreError:
        return StoreError(f"no run {run_id}; it may have been deleted")

    def count(self) -> int:
        """Number of stored runs."""
        with self._read("count the runs") as con:
            return 0 if con is None else int(con.execute("SELECT count(*) FROM runs").fetchone()[0])

    def pages(self) -> list[str]:
        """The `page`s runs were saved from (where they were trained), sorted."""
        with self._read("list where runs came from") as con:
            if con is None:
                return []
            return [r[0] for r in con.execute("SELECT DISTINCT page FROM runs ORDER BY page")]

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
        where, args = "", []
        if pages is not None:
            where += f" AND r.page IN ({', '.join('?' for _ in pages)})" if pages else " AND 0"
            args += list(pages)
        for word in (search or "").split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where += (
                " AND ("
                + " OR ".join(
                    f"r.{col} LIKE ? ESCAPE '\\'"
                    for col in ("name", "dataset", "arch", "optimizer")
                )
                + ")"
            )
            args += [pattern] * 4
        columns = _LIST_COLUMNS + (", r.history" if with_history else "")
        sql = f"SELECT {columns} FROM runs r WHERE 1 {where} ORDER BY r.id DESC LIMIT ?"
        with self._read("list the runs") as con:
            if con is None:
                return []
            rows = con.execute(sql, [*args, -1 if limit is None else limit]).fetchall()
        return [_record(r) for r in rows]

    def get(self, run_id: int) -> RunRecord:
        """One run with its history (not its weights: see `weights`)."""
        with self._read("read the run") as con:
            row = None
            if con is not None:
                sql = f"SELECT {_LIST_COLUMNS}, r.history FROM runs r WHERE r.id = ?"
                row = con.execute(sql, (run_id,)).fetchone()
        if row is None:
            raise self._missing(run_id)
        return _record(row)

    def weights_blob(self, run_id: int) -> bytes:
        """The stored weights as they are: a `torch.save`d state_dict of CPU tensors."""
        with self._read("read the weights") as con:
            row = None
            if con is not None:
                sql = "SELECT state_dict FROM weights WHERE run_id = ?"
                row = con.execute(sql, (run_id,)).fetchone()
        if row is None:
            self.get(run_id)  # raises "no run N" if the run itself is gone
            raise StoreError(f"run {run_id} has no stored weights")
        return bytes(row[0])

    def weights(self, run_id: int) -> dict[str, Tensor]:
        """The run's final state_dict (CPU tensors), loaded with weights_only=True."""
        return dict(_load_tensors(self.weights_blob(run_id), f"the weights of run {run_id}"))

    def points(self, run_id: int) -> UploadedPoints | None:
        """The uploaded points of an `uploaded` run (file order), else None."""
        from engine.data.uploads import UploadedPoints

        with self._read("read the points") as con:
            row = None
            if con is not None:
                row = con.execute("SELECT data FROM points WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            self.get(run_id)  # raises "no run N" if the run itself is gone
            return None
        p = _load_tensors(bytes(row[0]), f"the points of run {run_id}")
        k = int(p["k"])
        return UploadedPoints(p["xy"].numpy(), p["y"].numpy(), k, tuple(str(i) for i in range(k)))

    def load_trainer(self, run_id: int, *, device: str | None = None, **kwargs: Any) -> Trainer:
        """A Trainer rebuilt from the stored config (and points), with the stored weights,
        history, step count, time, status and message, so a page shows the run as it was.

        The optimizer's state is not stored: training on restarts momentum and adaptive
        averages (the learning-rate schedule resumes at the stored step). `device` overrides
        the stored one; a stored device this machine lacks (a run saved on a GPU) becomes
        "auto". `kwargs` go to `Trainer` (probe_every, max_probes, ...).
        """
        from engine.config import Config
        from engine.data import build_dataset
        from engine.device import available_devices
        from engine.schedules import resume_schedule
        from engine.seeding import generator
        from engine.trainer import STATUSES, History, Trainer

        record = self.get(run_id)
        cfg = Config.from_dict(record.config)
        if device is not None:
            cfg = cfg.replace(device=device)
        elif cfg.device != "auto" and cfg.device not in available_devices():
            cfg = cfg.replace(device="auto")
        pts = self.points(run_id)
        dataset = build_dataset(cfg.data, cfg.seed, pts) if pts is not None else None
        trainer = Trainer(cfg, dataset=dataset, **kwargs)
        trainer.model.load_state_dict(self.weights(run_id))
        trainer.history = History(**record.history)
        trainer.step_count = record.steps
        trainer.seconds = record.seconds
        status = record.summary.get("status")
        trainer.status = status if status in STATUSES else "ready"
        trainer.message = str(record.summary.get("message", ""))
        trainer.scheduler = resume_schedule(
            trainer.optimizer,
            cfg.train,
            trainer.total_steps,
            trainer.step_count,
            generator=generator(cfg.seed, "noise"),
        )
        return trainer

    def integrity_check(self) -> str:
        """SQLite's `PRAGMA integrity_check`: "ok", or the problems found (one per line)."""
        with self._read("check the database") as con:
            if con is None:
                return "ok"
            return "\n".join(r[0] for r in con.execute("PRAGMA integrity_check").fetchall())


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
