"""The run store: round trip, concurrent saves, a writer killed mid-transaction, bad files."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from engine.config import Config
from engine.data import build_dataset, toy
from engine.data.uploads import parse_points_csv, points_to_csv
from engine.store import (
    ENV_VAR,
    MAX_EVALS,
    MAX_PROBE_FRAMES,
    MAX_STEP_POINTS,
    RunStore,
    StoreError,
    default_db_path,
    default_location,
    thin_history,
)
from engine.trainer import Trainer
from tests.engine.tiny import outputs
from tests.engine.tiny import tiny as tiny_run
from tests.pg_server import PostgresServer


def tiny(**changes: object) -> Config:
    """The tiny run for four epochs."""
    return tiny_run(**{"train.epochs": 4, **changes})


@pytest.fixture(scope="module")
def trained() -> Trainer:
    """A finished tiny run with probes and batch norm (buffers, not only parameters)."""
    t = Trainer(tiny(**{"model.norm": "batch"}), probe_every=5)
    t.run()
    return t


def predictions(t: Trainer) -> torch.Tensor:
    return outputs(t, t.val_split.x)


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's store lives: a new SQLite file (a path), or a new, empty database on the
    session's throwaway PostgreSQL server (a URL; see tests/pg_server.py)."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.db")
    return str(request.getfixturevalue("postgres_url"))


def query(where: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Rows of `sql` read straight from the database at `where`, past the store."""
    engine = create_engine(where if "://" in where else f"sqlite:///{where}", poolclass=NullPool)
    try:
        with engine.begin() as con:
            result = con.execute(text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# Round trip


def test_round_trip_survives_reopening(trained: Trainer, where: str) -> None:
    run_id = RunStore(where).save(trained, page="pg")

    store = RunStore(where)  # a new store on the same file, as after an app restart
    rec = store.get(run_id)
    assert rec.id == run_id and rec.page == "pg" and rec.status == "finished"
    assert rec.name == f"mlp 8-8 tanh batch-norm adam 0.01 · circle #{run_id}"
    assert datetime.fromisoformat(rec.created).tzinfo == UTC
    assert rec.config == trained.cfg.to_dict()
    assert rec.summary == trained.summary()
    assert rec.steps == trained.step_count == 20
    assert rec.seconds == pytest.approx(trained.seconds)
    assert rec.val_acc == trained.summary()["val_acc"] and rec.test_acc is None
    assert rec.history["evals"] == trained.history.evals
    assert rec.history["loss"] == trained.history.loss
    assert rec.history["probes"] == trained.history.probes  # 4 frames: under the cap
    assert rec.has_weights and rec.io["input_shape"] == [2] and rec.io["n_outputs"] == 2

    weights = store.weights(run_id)
    state = trained.model.state_dict()
    assert weights.keys() == state.keys()
    assert all(torch.equal(weights[k], state[k]) for k in state)

    again = store.load_trainer(run_id)
    assert torch.equal(predictions(again), predictions(trained))
    assert again.status == "finished" and again.done and again.message == trained.message
    assert again.step_count == trained.step_count
    assert again.history.evals == trained.history.evals
    assert again.summary()["val_acc"] == trained.summary()["val_acc"]

    listed = store.list()
    assert [r.id for r in listed] == [run_id]
    assert listed[0].history == {} and listed[0].has_weights
    assert store.list(with_history=True)[0].history == rec.history


def test_a_variant_label_leads_the_default_name_and_searches(trained: Trainer, where: str) -> None:
    store = RunStore(where)
    run_id = store.save(trained, page="lab_init", label=" He (he_normal) ")
    rec = store.get(run_id)
    assert rec.page == "lab_init"
    assert rec.name == f"He (he_normal) · mlp 8-8 tanh batch-norm adam 0.01 · circle #{run_id}"
    assert [r.id for r in store.list(search="he_normal")] == [run_id]
    assert store.save(trained, name="mine", label="ignored") == run_id + 1
    assert store.get(run_id + 1).name == "mine"  # a given name wins over the label


def test_runs_filter_by_page_and_delete_many(trained: Trainer, where: str) -> None:
    store = RunStore(where)
    ids = {page: [store.save(trained, page=page) for _ in range(2)] for page in ("pg", "lab_reg")}
    ids["cli"] = [store.save(trained)]
    assert store.pages() == ["cli", "lab_reg", "pg"]
    assert [r.id for r in store.list(pages=["lab_reg"])] == ids["lab_reg"][::-1]
    assert {r.page for r in store.list(pages=["pg", "cli"])} == {"pg", "cli"}
    assert store.list(pages=[]) == []  # nothing picked out of a filter: nothing listed
    gone = ids["lab_reg"]
    assert store.delete_many([*gone, 999]) == 2  # an id no longer there is skipped
    assert store.pages() == ["cli", "pg"] and store.count() == 3
    with pytest.raises(StoreError, match="no run"):
        store.get(gone[0])
    assert store.delete_many([]) == 0 and store.count() == 3


def test_a_paused_run_reopens_and_trains_on(where: str) -> None:
    cfg = tiny(**{"train.schedule": "exponential", "train.decay_steps": 5})
    t = Trainer(cfg)
    t.step(7)
    store = RunStore(where)
    rec = store.get(store.save(t, name="paused"))
    assert rec.status == "stopped" and rec.summary["status"] == "running"

    again = store.load_trainer(rec.id)
    assert again.status == "running" and again.step_count == 7 and not again.done
    # The schedule resumes at step 7 (the optimizer's moments restart: they are not stored).
    assert again.optimizer.param_groups[0]["lr"] == pytest.approx(t.optimizer.param_groups[0]["lr"])
    again.run()
    assert again.status == "finished" and again.step_count == again.total_steps == 20
    assert len(again.history.loss) == 20


@pytest.mark.parametrize("uploaded", [False, True])
def test_a_checkpoint_and_a_stored_run_restore_the_same_trainer(
    uploaded: bool, tmp_path: Path
) -> None:
    """Trainer.load and RunStore.load_trainer share one restore path (Trainer.restore): the
    same config, data, weights, history, step, status and learning rate come back. Only what
    a checkpoint alone keeps differs: optimizer moments and random generator states."""
    cfg = tiny(**{"train.schedule": "exponential", "train.decay_steps": 5})
    dataset = None
    if uploaded:
        xy, y = toy.xor(80, 0.0, np.random.default_rng(3))
        cfg = cfg.replace(**{"data.dataset": "uploaded"})
        dataset = build_dataset(cfg.data, cfg.seed, parse_points_csv(points_to_csv(xy, y)))
    t = Trainer(cfg, dataset=dataset)
    t.step(7)
    from_file = Trainer.load(t.save(tmp_path / "run.pt"))
    store = RunStore(str(tmp_path / "runs.db"))
    from_store = store.load_trainer(store.save(t))
    for again in (from_file, from_store):
        assert again.cfg == t.cfg and again.status == t.status == "running"
        assert again.step_count == 7 and again.total_steps == t.total_steps
        assert again.history.to_dict() == t.history.to_dict()
        assert torch.equal(again.train_split.x, t.train_split.x)
        assert torch.equal(again.val_split.y, t.val_split.y)
        assert torch.equal(predictions(again), predictions(t))
        assert again.optimizer.param_groups[0]["lr"] == pytest.approx(
            t.optimizer.param_groups[0]["lr"]
        )
    assert from_file.optimizer.state_dict()["state"]  # Adam's moments: only the file has them
    assert not from_store.optimizer.state_dict()["state"]


def test_rename_delete_search_count(trained: Trainer, where: str) -> None:
    store = RunStore(where)
    sgd = Trainer(tiny(**{"train.optimizer": "sgd", "train.lr": 0.1, "train.epochs": 1}))
    sgd.run()
    a = store.save(trained, name="first try")
    b = store.save(sgd)
    c = store.save(trained, name="100% sure_thing")
    assert store.count() == 3
    assert [r.id for r in store.list()] == [c, b, a]  # newest first
    assert [r.id for r in store.list(limit=2)] == [c, b]
    assert [r.id for r in store.list(search="SGD")] == [b]  # optimizer, any case
    assert [r.id for r in store.list(search="circle adam")] == [c, a]  # every word matches
    assert [r.id for r in store.list(search="try")] == [a]  # name
    assert [r.id for r in store.list(search="100%")] == [c]  # LIKE wildcards are literal
    assert [r.id for r in store.list(search="s_re")] == []  # would match "sure" as a wildcard
    assert store.list(search="mnist") == []

    store.rename(a, "  better name ")
    assert store.get(a).name == "better name"
    with pytest.raises(StoreError, match="cannot be empty"):
        store.rename(a, "   ")
    store.delete(b)
    assert store.count() == 2 and [r.id for r in store.list()] == [c, a]
    with pytest.raises(StoreError, match=f"no run {b}; it may have been deleted"):
        store.get(b)
    with pytest.raises(StoreError, match=f"no run {b}"):
        store.weights(b)
    with pytest.raises(StoreError, match=f"no run {b}"):
        store.rename(b, "x")
    with pytest.raises(StoreError, match=f"no run {b}"):
        store.delete(b)
    assert query(where, "SELECT count(*) FROM weights WHERE run_id = :b", b=b) == [(0,)]
    d = store.save(trained)
    assert d > c  # ids are never reused: a stale link cannot open another run


def test_uploaded_points_run_rebuilds(where: str) -> None:
    xy, y = toy.xor(80, 0.0, np.random.default_rng(3))
    pts = parse_points_csv(points_to_csv(xy, y))
    cfg = tiny(**{"data.dataset": "uploaded", "data.features": ["x1", "x2", "x1x2"]})
    t = Trainer(cfg, dataset=build_dataset(cfg.data, cfg.seed, pts))
    t.run()
    store = RunStore(where)
    run_id = store.save(t, page="pg")

    stored = store.points(run_id)
    assert stored is not None and stored.n_classes == 2
    assert np.array_equal(stored.xy, pts.xy) and np.array_equal(stored.y, pts.y)  # file order
    again = RunStore(where).load_trainer(run_id)
    assert torch.equal(again.val_split.x, t.val_split.x)
    assert torch.equal(again.val_split.y, t.val_split.y)
    assert torch.equal(predictions(again), predictions(t))
    assert store.points(store.save(Trainer(tiny()))) is None  # a generated dataset has none


def test_a_diverged_run_is_kept_with_its_message(where: str) -> None:
    cfg = {"data.dataset": "reg_plane", "train.loss": "mse", "model.activation": "linear"}
    t = Trainer(tiny(**cfg, **{"train.optimizer": "sgd", "train.lr": 5.0, "train.epochs": 50}))
    t.run()
    assert t.status == "diverged"
    store = RunStore(where)
    rec = store.get(store.save(t))
    assert rec.status == "diverged" and "diverged" in rec.summary["message"]
    assert not np.isfinite(rec.history["loss"][-1])
    again = store.load_trainer(rec.id)
    assert again.status == "diverged" and again.done and again.message == t.message


def test_long_histories_are_thinned_keeping_both_ends() -> None:
    n = 12_345
    history = {
        "step": list(range(1, n + 1)),
        "loss": [1.0 / i for i in range(1, n + 1)],
        "lr": [0.1] * n,
        "evals": [{"step": i} for i in range(1, 3001)],
        "probes": [{"step": i, "layers": []} for i in range(1, 121)],
    }
    out = thin_history(history)
    assert len(out["step"]) == len(out["loss"]) == len(out["lr"]) == MAX_STEP_POINTS
    assert out["step"][0] == 1 and out["step"][-1] == n
    assert all(out["loss"][i] == 1.0 / s for i, s in enumerate(out["step"]))
    assert out["step"] == sorted(set(out["step"]))
    assert len(out["evals"]) == MAX_EVALS and out["evals"][-1] == {"step": 3000}
    assert len(out["probes"]) == MAX_PROBE_FRAMES and out["probes"][-1]["step"] == 120
    assert thin_history(out) == out  # short histories are kept as they are


def test_a_missing_database_is_created_on_the_first_save(
    trained: Trainer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "not" / "yet" / "runs.db"
    monkeypatch.setenv(ENV_VAR, str(path))
    assert default_db_path() == path
    store = RunStore()
    assert store.list() == [] and store.count() == 0 and store.integrity_check() == "ok"
    with pytest.raises(StoreError, match="no run 1"):
        store.get(1)
    assert not path.parent.exists()  # reading creates nothing
    store.save(trained)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    monkeypatch.delenv(ENV_VAR)
    assert default_db_path().name == "runs.db"


# ---------------------------------------------------------------------------------------------
# Two writers at once


def assert_all_saved(where: str, tags: list[str], per_writer: int) -> None:
    store = RunStore(where)
    runs = store.list(limit=None)
    assert len(runs) == len(tags) * per_writer
    assert len({r.id for r in runs}) == len(runs)
    assert sorted(r.name for r in runs) == sorted(
        f"{t} {i}" for t in tags for i in range(per_writer)
    )
    assert all(r.has_weights for r in runs)
    assert store.integrity_check() == "ok"
    if store.path is not None:
        assert query(where, "PRAGMA integrity_check") == [("ok",)]


def test_two_threads_saving_at_once_lose_nothing(where: str) -> None:
    t = Trainer(tiny(**{"train.epochs": 1}))
    t.run()
    path = where  # no database yet: both threads race to create it
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            store = RunStore(path)
            start.wait()
            for i in range(20):
                store.save(t, name=f"{tag} {i}", page="pg")
        except BaseException as e:  # surfaced below: a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in ("a", "b")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert_all_saved(path, ["a", "b"], 20)


# Forked children inherit the imported torch and the trainer, so they start in milliseconds (as
# DataLoader workers do on Linux); they are separate processes with their own SQLite locks or
# PostgreSQL connections.
FORK = multiprocessing.get_context("fork")


def save_twenty(path: str, tag: str, trainer: Trainer, go: Synchronized) -> None:
    """A child process: wait for the start signal, then save 20 runs."""
    store = RunStore(path)
    while not go.value:
        time.sleep(0.0005)
    for i in range(20):
        store.save(trainer, name=f"{tag} {i}", page="cli")


def test_two_processes_saving_at_once_lose_nothing(where: str) -> None:
    t = Trainer(tiny(**{"train.epochs": 1}))
    t.run()
    path = where  # created by whichever process saves first
    go = FORK.Value("b", 0)
    procs = [FORK.Process(target=save_twenty, args=(path, tag, t, go)) for tag in ("p", "q")]
    for p in procs:
        p.start()
    go.value = 1  # both start saving at once
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert_all_saved(path, ["p", "q"], 20)


# ---------------------------------------------------------------------------------------------
# A writer killed in the middle of a transaction


def save_and_stall(path: str, trainer: Trainer, inside: EventType) -> None:
    """A child process: save a run, but stop for good inside the open transaction."""
    original = RunStore._insert_blobs

    def stall(self: RunStore, con: Connection, run_id: int, row: object) -> None:
        # A tiny page cache makes SQLite spill the open transaction's pages into the WAL file,
        # so the kill lands with part of the run on disk but no commit record.
        if con.dialect.name == "sqlite":
            con.exec_driver_sql("PRAGMA cache_size = 8")
        original(self, con, run_id, row)  # type: ignore[arg-type]
        inside.set()
        time.sleep(120)

    RunStore._insert_blobs = stall  # type: ignore[method-assign]
    RunStore(path).save(trainer, name="partial")


def test_a_writer_killed_mid_transaction_leaves_earlier_runs_intact(
    trained: Trainer, where: str
) -> None:
    path = where
    store = RunStore(path)
    earlier = [store.save(trained, name=f"earlier {i}") for i in range(3)]
    before = {i: store.weights(i) for i in earlier}
    big = Trainer(tiny(**{"model.hidden": [512, 512], "train.steps": 1}))  # ~1 MB of weights
    inside = FORK.Event()
    proc = FORK.Process(target=save_and_stall, args=(path, big, inside))
    proc.start()
    try:
        assert inside.wait(60), "the child never reached the middle of its transaction"
        if store.path is not None:  # the partial run reached the disk
            assert Path(f"{path}-wal").stat().st_size > 500_000
        else:  # the server holds the open transaction, with the partial run
            sql = "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
            assert query(where, sql) == [(1,)]
    finally:
        proc.kill()  # SIGKILL: no cleanup, no rollback
        proc.join(30)
    assert proc.exitcode == -signal.SIGKILL

    store = RunStore(path)
    assert store.integrity_check() == "ok"
    assert [r.name for r in store.list()] == ["earlier 2", "earlier 1", "earlier 0"]
    for i in earlier:
        assert store.get(i).history["evals"] == trained.history.evals
        w = store.weights(i)
        assert all(torch.equal(w[k], before[i][k]) for k in before[i])
    assert query(where, "SELECT count(*) FROM weights") == [(3,)]
    assert store.save(trained, name="after") > max(earlier)  # and it takes new runs


# ---------------------------------------------------------------------------------------------
# Files that are not a run database are refused and left as they are


def real_db(path: Path, trained: Trainer, n: int = 3) -> Path:
    store = RunStore(path)
    for i in range(n):
        store.save(trained, name=f"run {i}")
    return path


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry of `folder` with its bytes (None for directories)."""
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in sorted(folder.iterdir())}


def make_random(path: Path, trained: Trainer) -> None:
    path.write_bytes(random.Random(0).randbytes(8192))


def make_truncated(path: Path, trained: Trainer) -> None:
    big = Trainer(tiny(**{"model.hidden": [256, 256], "train.steps": 1}))
    src = real_db(path.parent / "src" / "runs.db", big, n=4)
    data = src.read_bytes()
    assert len(data) > 1_000_000
    path.write_bytes(data[: len(data) // 2])


def make_foreign(path: Path, trained: Trainer) -> None:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        con.execute("INSERT INTO notes (text) VALUES ('shopping list')")
    con.close()


def make_ours_plus_a_foreign_table(path: Path, trained: Trainer) -> None:
    real_db(path, trained, n=1)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    con.close()


def make_newer(path: Path, trained: Trainer) -> None:
    real_db(path, trained, n=1)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE schema_version SET version = 99")
    con.close()


def make_directory(path: Path, trained: Trainer) -> None:
    path.mkdir()
    (path / "keep.txt").write_text("mine")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (make_random, "is not a playground run database (file is not a database)"),
        (make_truncated, "database disk image is malformed"),
        (make_foreign, "another program's SQLite database, with tables notes"),
        (make_ours_plus_a_foreign_table, "another program's SQLite database"),
        (make_newer, "newer version of the playground"),
        (make_directory, "is a directory, not a run database file"),
    ],
)
def test_a_file_that_is_not_a_run_database_is_refused_and_unchanged(
    make: object, message: str, trained: Trainer, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "runs.db"
    make(path, trained)  # type: ignore[operator]
    before = snapshot(folder)
    for _ in range(2):  # refused every time, not only the first
        with pytest.raises(StoreError) as info:
            RunStore(path)
        text = str(info.value)
        assert message in text
        assert str(path) in text and ENV_VAR in text
        assert "not changed" in text
    assert snapshot(folder) == before  # same files, same bytes: no -wal or -shm left behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file_is_refused_and_unchanged(trained: Trainer, tmp_path: Path) -> None:
    path = real_db(tmp_path / "runs.db", trained, n=1)
    data = path.read_bytes()
    path.chmod(0)
    try:
        with pytest.raises(StoreError, match=r"cannot read .*Permission denied.*not changed"):
            RunStore(path)
    finally:
        path.chmod(0o600)
    assert path.read_bytes() == data


def test_an_unreadable_file_gives_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same check as above where the tests run as root (permissions do not apply)."""
    path = tmp_path / "runs.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(100))

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(StoreError, match=r"cannot read .*runs.db \(Permission denied\); fix its"):
        RunStore(path)


def test_an_empty_file_becomes_a_database(trained: Trainer, tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.touch()  # e.g. made by `touch`: no content that anyone could lose
    store = RunStore(path)
    assert store.list() == []
    run_id = store.save(trained)
    assert RunStore(path).get(run_id).name.endswith(f"#{run_id}")


def test_damage_past_the_first_page_is_a_store_error(trained: Trainer, tmp_path: Path) -> None:
    path = real_db(tmp_path / "runs.db", trained, n=5)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = random.Random(1).randbytes(len(data) - page)  # all but the schema page
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=f"is damaged .*malformed.*{ENV_VAR}"):
        RunStore(path)
    assert path.read_bytes() == bytes(data)


def test_a_damaged_weight_blob_is_a_store_error(trained: Trainer, tmp_path: Path) -> None:
    """SQLite has no checksums: bytes garbled inside a blob surface only when it is read."""
    path = tmp_path / "runs.db"
    store = RunStore(path)
    for t in (trained, Trainer(tiny(seed=1)), trained):  # run 2's weights differ from the others
        store.save(t)
    blob = store.weights_blob(2)
    data = path.read_bytes()
    tail = blob[-200:]  # the zip's central directory, with the CRCs of run 2's own tensors
    assert data.count(tail) == 1
    end = data.index(tail) + len(tail)
    path.write_bytes(data[: end - 64] + b"\0" * 64 + data[end:])  # garble the directory
    with pytest.raises(StoreError, match="the weights of run 2 cannot be read"):
        store.weights(2)
    with pytest.raises(StoreError, match="the weights of run 2 cannot be read"):
        store.load_trainer(2)
    assert store.weights(1).keys() == store.weights(3).keys() == trained.model.state_dict().keys()
    assert store.integrity_check() == "ok"  # the file structure itself is fine


def test_record_config_is_plain_json(trained: Trainer, where: str) -> None:
    store = RunStore(where)
    rec = store.get(store.save(trained))
    assert Config.from_dict(json.loads(json.dumps(rec.config))) == trained.cfg
    assert rec.cfg() == trained.cfg and rec.dataset == "circle" and rec.optimizer == "adam"


def test_a_copied_database_opens_elsewhere(trained: Trainer, tmp_path: Path) -> None:
    path = real_db(tmp_path / "a" / "runs.db", trained, n=2)
    copy = tmp_path / "b" / "runs.db"
    copy.parent.mkdir()
    shutil.copy(path, copy)  # every connection closed: the WAL was checkpointed into the file
    assert [r.name for r in RunStore(copy).list()] == ["run 1", "run 0"]


def test_deleting_big_runs_gives_the_space_back(tmp_path: Path) -> None:
    big = Trainer(tiny(**{"model.hidden": [256, 256], "train.steps": 1}))  # ~270 kB of weights
    store = RunStore(tmp_path / "runs.db")
    ids = [store.save(big) for _ in range(5)]
    full = store.path.stat().st_size
    for run_id in ids[:4]:
        store.delete(run_id)
    assert store.path.stat().st_size < full / 3
    assert store.integrity_check() == "ok" and [r.id for r in store.list()] == ids[4:]


def test_a_database_deleted_while_in_use_is_not_replaced_by_an_empty_one(
    trained: Trainer, tmp_path: Path
) -> None:
    store = RunStore(tmp_path / "runs.db")
    store.save(trained)
    store.path.unlink()  # a person cleaned up while the app runs
    assert store.list() == [] and store.count() == 0
    assert not store.path.exists()  # reading did not make an empty file
    run_id = store.save(trained, name="fresh")  # saving makes a new database
    assert [r.name for r in RunStore(store.path).list()] == ["fresh"] and run_id == 1


def test_a_run_saved_on_a_missing_device_opens_on_this_one(
    trained: Trainer, tmp_path: Path
) -> None:
    store = RunStore(tmp_path / "runs.db")
    run_id = store.save(trained)
    with sqlite3.connect(store.path) as con:  # as if saved on a Mac: mps is never on Linux
        config = json.loads(con.execute("SELECT config FROM runs").fetchone()[0])
        con.execute("UPDATE runs SET config = ?", (json.dumps({**config, "device": "mps"}),))
    con.close()
    if sys.platform != "darwin":
        assert store.load_trainer(run_id).cfg.device == "auto"
    again = store.load_trainer(run_id, device="cpu")
    assert again.cfg.device == "cpu" and torch.equal(predictions(again), predictions(trained))


# ---------------------------------------------------------------------------------------------
# A damaged file, and paths that are not regular files, are refused before anything is written


def garble_a_weight_page(path: Path, store: RunStore, run_id: int) -> None:
    """Overwrite one whole page in the middle of run `run_id`'s weight blob with random bytes:
    the file's header, schema and `runs` table stay readable, but the blob's overflow chain
    (each overflow page starts with the number of the next) now points at garbage."""
    blob = store.weights_blob(run_id)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    middle = data.index(blob[len(blob) // 2 : len(blob) // 2 + 64])
    start = middle - middle % page_size
    data[start : start + page_size] = random.Random(2).randbytes(page_size)
    path.write_bytes(bytes(data))


def test_a_database_damaged_in_the_middle_is_refused_and_not_written(tmp_path: Path) -> None:
    big = Trainer(tiny(**{"model.hidden": [256, 256], "train.steps": 1}))  # ~270 kB of weights
    path = tmp_path / "runs.db"
    store = RunStore(path)
    ids = [store.save(big, name=f"run {i}") for i in range(6)]
    garble_a_weight_page(path, store, ids[3])
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() != ("ok",)  # SQLite agrees
    con.close()
    before = snapshot(tmp_path)
    for _ in range(2):  # refused every time, not only the first
        with pytest.raises(StoreError) as info:
            RunStore(path).save(big, name="must not go in")
        text = str(info.value)
        assert f"{path} is damaged" in text and "not changed" in text
        assert "move it aside" in text and ".recover" in text and ENV_VAR in text
    assert snapshot(tmp_path) == before  # no run went in, no -wal or -shm was left


def run_in_child(target: object, *args: object, timeout: float = 30.0) -> str:
    """Run `target(*args)` in a forked child and return what it returned (a string), or fail
    if the child does not finish within `timeout` seconds (a hang, not a slow run)."""
    parent, child = FORK.Pipe(duplex=False)

    def main() -> None:
        try:
            child.send(str(target(*args)))  # type: ignore[operator]
        except BaseException as e:
            child.send(f"{type(e).__name__}: {e}")

    proc = FORK.Process(target=main, daemon=True)
    proc.start()
    try:
        if not parent.poll(timeout):
            pytest.fail(f"{target} did not return within {timeout:g} s: it hangs")
        return str(parent.recv())
    finally:
        proc.kill()
        proc.join(10)


def open_store(path: str) -> str:
    RunStore(path)
    return "opened"


def test_a_fifo_at_the_database_path_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    os.mkfifo(path)
    said = run_in_child(open_store, str(path))
    assert said.startswith("StoreError: ") and f"{path} is a FIFO, not a regular file" in said
    assert ENV_VAR in said


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_at_the_database_path_is_refused(device: str) -> None:
    with pytest.raises(StoreError, match=f"{device} is a character device, not a regular file"):
        RunStore(device)


def test_a_socket_at_the_database_path_is_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "runs.db"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(StoreError, match="is a socket, not a regular file"):
            RunStore(path)


@pytest.mark.parametrize("name", ["bad\x00name", "two\nlines", "tab\there", "bell\x07", "\x1b[31m"])
def test_a_run_name_with_control_characters_is_refused(
    name: str, trained: Trainer, where: str
) -> None:
    store = RunStore(where)
    with pytest.raises(StoreError, match="control characters"):
        store.save(trained, name=name)
    run_id = store.save(trained, name="fine")
    with pytest.raises(StoreError, match="control characters"):
        store.rename(run_id, name)
    assert [r.name for r in store.list()] == ["fine"]


# ---------------------------------------------------------------------------------------------
# Where the store lives: a path, an sqlite URL or a database server's URL


def with_password(url: str, password: str) -> str:
    """`url` (user postgres, no password) with a password: the test server trusts any."""
    return url.replace("postgres@", f"postgres:{password}@", 1)


def test_the_env_var_takes_a_server_url_and_never_shows_its_password(
    trained: Trainer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = with_password(postgres_url, "s3cret-pw")
    monkeypatch.setenv(ENV_VAR, url)
    assert default_location() == url
    store = RunStore()
    assert store.path is None and "s3cret-pw" not in store.location + repr(store)
    assert store.location == url.replace("s3cret-pw", "***")
    run_id = store.save(trained, name="on the server", page="pg")
    assert [r.name for r in RunStore(postgres_url).list()] == ["on the server"]
    assert torch.equal(predictions(store.load_trainer(run_id)), predictions(trained))
    with pytest.raises(StoreError, match=f"{ENV_VAR} is a database server's URL"):
        default_db_path()


def test_an_sqlite_url_is_the_same_as_its_path(
    trained: Trainer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "runs.db"
    store = RunStore(f"sqlite:///{path}")
    assert store.path == path and store.location == str(path)
    store.save(trained, name="via url")
    assert [r.name for r in RunStore(path).list()] == ["via url"]
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{path}")
    assert default_db_path() == path and RunStore().count() == 1
    for memory in ("sqlite://", "sqlite:///:memory:"):
        with pytest.raises(StoreError, match="in-memory database, which keeps no runs"):
            RunStore(memory)


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nobody listens


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            f"postgresql+psycopg2://u:s3cret-pw@127.0.0.1:{closed_port()}/runs",
            "the database server cannot be reached",
        ),
        ("nosuch://u:s3cret-pw@host/runs", "set PLAYGROUND_RUNS_DB to a file path or to a URL"),
        ("postgresql+psycopg2://u:s3cret-pw@host:port/x", "is not a database URL"),
    ],
    # fixed ids: the closed port differs per process, and pytest-xdist's workers must collect
    # the same test names
    ids=["unreachable", "unknown-scheme", "bad-port"],
)
def test_a_server_that_cannot_be_used_is_one_line_without_the_password(url: str, says: str) -> None:
    with pytest.raises(StoreError) as info:
        RunStore(url)
    text = str(info.value)
    assert says in text and "s3cret-pw" not in text and "\n" not in text


def test_a_server_database_keeps_other_tables_and_refuses_look_alikes(
    trained: Trainer, postgres_server: PostgresServer
) -> None:
    shared = postgres_server.new_database("shared")  # e.g. the search's Optuna studies
    query(shared, "CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
    query(shared, "INSERT INTO studies VALUES (1, 'mine')")
    RunStore(shared).save(trained, name="beside")
    assert query(shared, "SELECT study_name FROM studies") == [("mine",)]
    assert [r.name for r in RunStore(shared).list()] == ["beside"]

    other = postgres_server.new_database("other")  # another program's `runs`
    query(other, "CREATE TABLE runs (id INTEGER, title TEXT)")
    for _ in range(2):
        with pytest.raises(StoreError, match=r"tables named like ours \(runs\).*not changed"):
            RunStore(other).save(trained)
    assert query(other, "SELECT count(*) FROM runs") == [(0,)]

    newer = postgres_server.new_database("newer")
    RunStore(newer).save(trained)
    query(newer, "UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer version of the playground"):
        RunStore(newer)
    for url in (shared, other, newer):
        postgres_server.drop_database(url)


# The schema as the SQLite-only store (before SQLAlchemy) wrote it: users' files have it.
OLD_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created TEXT "
    "NOT NULL, page TEXT NOT NULL, status TEXT NOT NULL, dataset TEXT NOT NULL, arch TEXT NOT "
    "NULL, optimizer TEXT NOT NULL, steps INTEGER NOT NULL, seconds REAL NOT NULL, val_acc REAL, "
    "val_loss REAL, test_acc REAL, config TEXT NOT NULL, summary TEXT NOT NULL, io TEXT NOT "
    "NULL, history BLOB NOT NULL)",
    "CREATE TABLE weights (run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE, "
    "state_dict BLOB NOT NULL)",
    "CREATE TABLE points (run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE, "
    "data BLOB NOT NULL)",
    "INSERT INTO schema_version VALUES (1)",
)


def test_a_database_written_by_the_sqlite_only_store_still_works(
    trained: Trainer, tmp_path: Path
) -> None:
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA journal_mode = WAL")
        for statement in OLD_SCHEMA:
            con.execute(statement)
    con.close()
    store = RunStore(path)
    a, b = store.save(trained, name="a"), store.save(trained)
    assert [r.id for r in RunStore(path).list()] == [b, a] and store.get(b).name.endswith(f"#{b}")
    store.delete(a)
    assert query(str(path), "SELECT run_id FROM weights") == [(b,)]  # cascaded
    assert store.integrity_check() == "ok"
