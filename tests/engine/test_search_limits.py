"""A search cannot exhaust the server or wreck the run store (issue 10, items 2 and 3): the
grid is sized before it is built and refused past the limit, trials and study names are
bounded, and a storage that is the run store's database (or no study database) is refused."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import optuna
import pytest

from engine import cli, search
from engine.config import Config
from engine.registry import ConfigError
from engine.search import Param, Space
from engine.store import RunStore
from engine.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
BASE = Config().replace(
    **{"device": "cpu", "data.n_samples": 200, "model.hidden": (4,), "train.epochs": 1}
)
SMALL = {"params": [{"field": "train.lr", "type": "float", "low": 0.01, "high": 0.1}]}
# Three int ranges 1..1000 on the grid: 10^9 combinations, which Optuna's GridSampler lists
# one by one (the probe saw 6 GB in 8 s).
CUBE = {
    "params": [
        {"field": f, "type": "int", "low": 1, "high": 1000, "step": 1}
        for f in ("train.batch_size", "train.epochs", "train.early_stopping_patience")
    ]
}

optuna.logging.set_verbosity(optuna.logging.WARNING)


def child(code: str, *argv: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run Python `code` in a child limited to 3 GB of address space, so that a regression
    that builds the grid fails with MemoryError (or the timeout) instead of taking the
    machine's memory; PLAYGROUND_MAX_GRID unset, so the default limit applies."""
    limit = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))\n"
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_MAX_GRID"}
    return subprocess.run(
        [sys.executable, "-c", limit + code, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_billion_point_grid_is_refused_at_once_without_building_it() -> None:
    code = (
        "import json, sys, tracemalloc\n"
        "from engine import search\n"
        "from engine.registry import ConfigError\n"
        "space = search.Space.from_dict(json.loads(sys.argv[1]))\n"
        "tracemalloc.start()\n"
        "print(space.grid_size())\n"
        "try:\n"
        "    search.make_study(None, 's', 'grid', space=space)\n"
        "except ConfigError as e:\n"
        "    print(e)\n"
        "fine = [{'field': f, 'type': 'float', 'low': 0, 'high': 1e6, 'step': 1e-6}\n"
        "        for f in ('train.grad_clip', 'train.max_norm')]\n"
        "try:\n"
        "    search.Space.from_dict({'params': fine}).grid()\n"
        "except ConfigError as e:\n"
        "    print(e)\n"
        "print(tracemalloc.get_traced_memory()[1])\n"
    )
    done = child(code, json.dumps(CUBE))
    assert done.returncode == 0, done.stderr[-2000:]
    size, error, fine, peak = done.stdout.splitlines()
    assert int(size) == 1000**3
    assert error == (
        "space.params: the grid has 1,000,000,000 combinations; the limit is 10,000 "
        "(PLAYGROUND_MAX_GRID): give fewer values or a larger step, or use the tpe or random "
        "sampler"
    )
    assert "the grid has about 10^24 combinations" in fine  # 10^12 + 1 values each
    assert int(peak) < 2**20  # bytes: sized by arithmetic, not listed


def test_cli_refuses_a_billion_point_grid_with_one_line(tmp_path: Path) -> None:
    config, space = tmp_path / "config.json", tmp_path / "space.json"
    config.write_text(BASE.to_json())
    space.write_text(json.dumps(CUBE))
    code = "import sys\nfrom engine import cli\nsys.exit(cli.main(sys.argv[1:]))\n"
    done = child(code, "search", str(config), "--space", str(space), "--sampler", "grid")
    assert done.returncode == 2 and done.stdout == "", done.stderr[-2000:]
    assert done.stderr.startswith("error: space.params: the grid has 1,000,000,000 combinations")
    assert done.stderr.count("\n") == 1


def test_a_fine_step_is_counted_not_listed() -> None:
    """A million and one values of a float step: counted, refused for the grid (it once
    listed them first), and the error names the parameter."""
    p = Param("train.grad_clip", "float", low=0.0, high=1e6, step=1.0)
    space = Space((p,))
    tracemalloc.start()
    try:
        assert space.grid_size() == 10**6 + 1
        with pytest.raises(ConfigError, match="the limit is 10,000") as e:
            p.grid_values("space.params[0]")
        assert e.value.field == "space.params[0].grid"
        with pytest.raises(ConfigError, match="has 1,000,001 combinations"):
            space.grid()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 2**20


def test_the_grid_limit_is_the_servers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    grid = {"params": [{"field": "train.batch_size", "type": "int", "grid": [1, 2, 3]}]}
    space = Space.from_dict(grid)
    monkeypatch.setattr(search.limits, "MAX_GRID", 3)
    assert len(space.grid()["train.batch_size"]) == 3
    monkeypatch.setattr(search.limits, "MAX_GRID", 2)
    with pytest.raises(ConfigError, match=r"has 3 combinations; the limit is 2 \("):
        search.make_sampler("grid", space=space)
    for value, read in (("50", 50), ("lots", 7), ("-3", 7), ("0", 7)):
        monkeypatch.setenv("PLAYGROUND_MAX_GRID", value)
        assert search.limits._env_int("PLAYGROUND_MAX_GRID", 7) == read


@pytest.mark.parametrize(
    ("step", "says"),
    [
        (1e-300, "too small for 0..0.5"),  # Optuna's decimal check failed with a traceback
        (0.2, "multiple of step"),
        (1e308, "multiple of step"),  # a step past the range once passed as a multiple
    ],
)
def test_a_step_optuna_cannot_use_is_refused(step: float, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as e:
        Space.from_dict(
            {
                "params": [
                    {
                        "field": "model.dropout_rate",
                        "type": "float",
                        "low": 0,
                        "high": 0.5,
                        "step": step,
                    }
                ]
            }
        )
    assert e.value.field == "space.params[0].step"


@pytest.mark.parametrize(
    ("param", "where", "says"),
    [
        ({"low": 10**400, "high": 1}, "low", "below 10^18 in size, got 1000000000"),
        ({"grid": [1, 2**70]}, "grid[1]", "below 10^18 in size"),
        ({"low": 1, "high": 8, "\n" * 3 + "x" * 5000: 1}, "'\\n\\n\\nxxx", "unknown key"),
    ],
)
def test_hostile_numbers_and_keys_give_short_one_line_errors(param, where, says) -> None:
    d = {"params": [{"field": "train.batch_size", "type": "int", **param}]}
    with pytest.raises(ConfigError) as e:
        Space.from_dict(d)
    assert e.value.field.startswith(f"space.params[0].{where}")
    assert says in str(e.value) and "\n" not in str(e.value) and len(str(e.value)) < 300


def test_trials_are_bounded_before_any_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search.limits, "MAX_TRIALS", 5)
    study = search.make_study(None, "s", "random", 0, space=Space.from_dict(SMALL))
    with pytest.raises(ConfigError, match=r"at most 5 trials at a time \(PLAYGROUND_MAX_TRIALS\)"):
        search.run_search(BASE, Space.from_dict(SMALL), study, 6)
    assert study.trials == [] and study.user_attrs == {}  # nothing ran, nothing recorded
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ConfigError, match="positive whole number"):
            search.check_trials(bad)


def test_a_study_name_is_only_a_name(tmp_path: Path) -> None:
    """'../../x' names a study inside the storage, it is no path; a 10,000-character or
    control-character name is refused."""
    folder = tmp_path / "a" / "b"
    url = f"sqlite:///{folder / 'search.db'}"
    study = search.make_study(url, "../../x", "random", 0, space=Space.from_dict(SMALL))
    assert study.study_name == "../../x"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "search.db"]
    assert optuna.study.get_all_study_names(url) == ["../../x"]
    bad_names = [
        ("x" * 10_000, "at most 100 characters, got 10,000"),
        ("a\x00b", "control characters"),
        ("   ", "give the study a name"),
    ]
    for name, says in bad_names:
        with pytest.raises(ConfigError, match=says) as e:
            search.make_study(url, name, "random", 0)
        assert e.value.field == "study" and len(str(e.value)) < 200
    assert optuna.study.get_all_study_names(url) == ["../../x"]


# --------------------------------------------------------------------------------------------
# The storage is never the run store's database


def saved_run_store() -> tuple[Path, bytes]:
    """The run store of this test (PLAYGROUND_RUNS_DB, set by conftest) with one run in it."""
    trainer = Trainer(BASE)
    trainer.run()
    RunStore().save(trainer, page="cli")
    path = Path(os.environ["PLAYGROUND_RUNS_DB"])
    return path, path.read_bytes()


def cli_search(tmp_path: Path, storage: str, capsys) -> tuple[int, str]:
    config, space = tmp_path / "config.json", tmp_path / "space.json"
    config.write_text(BASE.to_json())
    space.write_text(json.dumps(SMALL))
    argv = ["search", str(config), "--space", str(space), "--storage", storage, "--trials", "1"]
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, (out, err)
    return status, err


def test_cli_refuses_the_run_stores_own_database(tmp_path: Path, capsys, monkeypatch) -> None:
    """`search --storage sqlite:///<runs.db>` once exited 0 after adding Optuna's tables, and
    the run store then refused its own file."""
    runs, before = saved_run_store()
    monkeypatch.chdir(tmp_path)  # a relative spelling of the same file
    (tmp_path / "link.db").symlink_to(runs)
    for url in (f"sqlite:///{runs}", "sqlite:///runs.db", f"sqlite:///{tmp_path}/link.db"):
        status, err = cli_search(tmp_path, url, capsys)
        assert status == 2
        assert err.startswith(f"error: --storage: {url} is the run store's database")
    assert runs.read_bytes() == before
    assert RunStore().count() == 1  # the store still opens its file


def test_the_run_stores_url_is_refused_too(tmp_path: Path, monkeypatch) -> None:
    """The run store's variable may hold a database URL: the same file, or the same server
    database under another driver or user, is refused."""
    runs = tmp_path / "runs.db"
    monkeypatch.setenv("PLAYGROUND_RUNS_DB", f"sqlite:///{runs}")
    with pytest.raises(ConfigError, match="run store's database") as e:
        search.open_storage(f"sqlite:///{runs}")
    assert e.value.field == "storage" and not runs.exists()
    monkeypatch.setenv("PLAYGROUND_RUNS_DB", "postgresql://u:pw@DB.example/runs")
    with pytest.raises(ConfigError, match=r"://other:\*\*\*@db.example:5432/runs is the run"):
        search.check_storage("postgresql+psycopg2://other:secret@db.example:5432/runs")
    search.check_storage("postgresql+psycopg2://u:pw@db.example/studies")  # another database


def test_a_database_of_other_tables_or_no_database_is_refused(tmp_path: Path) -> None:
    import sqlite3

    notes = tmp_path / "notes.db"
    with sqlite3.connect(notes) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    before = notes.read_bytes()
    refused = [
        (notes, "holds another program's tables (notes)"),
        (text, "is not a usable SQLite database"),
        (tmp_path, "is not a regular file"),
    ]
    for path, says in refused:
        with pytest.raises(ConfigError, match=re.escape(says)) as e:
            search.make_study(f"sqlite:///{path}", "s", "random", 0)
        assert e.value.field == "storage" and "\n" not in str(e.value)
    assert notes.read_bytes() == before and text.read_text() == "not a database\n" * 100
    ok = f"sqlite:///{tmp_path / 'studies.db'}"
    search.make_study(ok, "s", "random", 0)
    search.make_study(ok, "s", "random", 0)  # a study database opens again


def test_a_fifo_as_storage_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    code = (
        "import sys\n"
        "from engine import search\n"
        "from engine.registry import ConfigError\n"
        "try:\n"
        "    search.make_study(sys.argv[1], 's', 'random', 0)\n"
        "except ConfigError as e:\n"
        "    print(e)\n"
    )
    done = child(code, f"sqlite:///{fifo}", timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        done.stdout == f"storage: sqlite:///{fifo} is not a regular file; give a SQLite file path\n"
    )


def test_search_spaces_keep_working(tmp_path: Path) -> None:
    """Limits aside, a grid within them runs exactly its points on a fresh study file."""
    space = Space.from_dict(
        {
            "params": [
                {"field": "train.lr", "type": "float", "grid": [0.01, 0.1]},
                {
                    "field": "model.hidden",
                    "type": "widths",
                    "depth": [1, 2],
                    "width": [2, 4],
                    "step": 2,
                },
            ],
            "max_epochs": 1,
        }
    )
    assert space.grid_size() == 2 * 2 * 2
    url = f"sqlite:///{tmp_path / 'grid.db'}"
    study = search.make_study(url, "g", "grid", 0, space=space)
    search.run_search(BASE, space, study, None)
    seen = {
        (t.params["train.lr"], t.params["model.hidden.depth"], t.params["model.hidden.width"])
        for t in study.trials
    }
    assert len(seen) == 8


def test_cli_bounds_the_trials(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(search.limits, "MAX_TRIALS", 3)
    config, space = tmp_path / "config.json", tmp_path / "space.json"
    config.write_text(BASE.to_json())
    space.write_text(json.dumps(SMALL))
    status = cli.main(["search", str(config), "--space", str(space), "--trials", "4"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err == "error: --trials: at most 3 trials at a time (PLAYGROUND_MAX_TRIALS), got 4\n"
    # refused before a study was made: none exists in the storage
    assert optuna.get_all_study_names(search.default_storage()) == []
