"""engine.search: space validation, samplers, pruning, failures, and studies shared by workers
(two processes on one SQLite file, and on a throwaway PostgreSQL server where one exists)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest

from engine import cli, search
from engine.config import Config
from engine.registry import ConfigError
from engine.search import Param, Space

ROOT = Path(__file__).resolve().parents[2]
# A tiny circle run: 100 training points, 10 steps per epoch, a few ms per epoch.
BASE = Config().replace(
    **{
        "device": "cpu",
        "data.n_samples": 200,
        "model.hidden": (4,),
        "train.batch_size": 10,
        "train.epochs": 3,
    }
)
SPACE = {
    "params": [
        {"field": "train.lr", "type": "float", "low": 1e-3, "high": 0.3, "log": True},
        {"field": "train.optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
        {"field": "model.hidden", "type": "widths", "depth": [1, 2], "width": [2, 8], "log": True},
    ],
    "objective": "val_acc",
    "max_epochs": 2,
}

optuna.logging.set_verbosity(optuna.logging.WARNING)


def no_pruning() -> optuna.pruners.BasePruner:
    return optuna.pruners.NopPruner()


# --------------------------------------------------------------------------------------------
# The space


def one(field: str, type: str, **keys: Any) -> dict[str, Any]:
    """A space of one parameter."""
    return {"params": [{"field": field, "type": type, **keys}]}


LR = SPACE["params"][0]
# (space, where the error points, words of its message); "space.params[0]." is implied
# unless the place starts with "space".
BAD_SPACES = [
    (one("train.lrr", "float", low=0.1, high=1), "field", "unknown config field"),
    (one("train.optimizer", "float", low=0.1, high=1), "type", "categorical"),
    (one("train.batch_size", "float", low=1, high=8), "type", "use type int"),
    (one("model.hidden", "int", low=1, high=8), "type", "widths"),
    (one("train.betas", "categorical", choices=[1]), "type", "cannot be searched"),
    (one("train.lr", "number", low=0.1, high=1), "type", "unknown type"),
    (one("train.lr", "float", low=0.5, high=0.1), "low", "greater than high"),
    (one("train.weight_decay", "float", low=0, high=0.1, log=True), "low", "needs low > 0"),
    (one("train.lr", "float", low=0, high=0.1), "low", "must be > 0"),
    (one("train.lr", "float", low="0.1", high=1), "low", "finite number"),
    (one("model.dropout_rate", "float", low=0, high=0.99), "high", "<= 0.95"),
    (one("train.batch_size", "int", low=8, high=64.5), "high", "integers"),
    (one("train.optimizer", "categorical", choices=["sgd", "lion"]), "choices", "'lion'"),
    (
        one("model.arch", "categorical", choices=["mlp", "transformer"]),
        "choices",
        "from: mlp, cnn, rnn, lstm, gru",
    ),
    (one("train.batch_size", "categorical", choices=[16, 0.5]), "choices", "integer"),
    (one("train.optimizer", "categorical", choices=[]), "choices", "non-empty"),
    (one("train.lr", "float", low=0.1, high=1, choices=["a"]), "choices", "does not use"),
    (one("train.lr", "float", low=0.1, high=1, log=True, step=0.1), "step", "cannot be combined"),
    (one("train.lr", "float", low=0.01, high=0.1, step=0.04), "step", "multiple of step"),
    (one("model.hidden", "widths", depth=[0, 3], width=[4, 8]), "depth", "1 <= min"),
    (one("model.hidden", "widths", depth=[1, 3], width=[4, 5000]), "width", "<= 4096"),
    (one("model.hidden", "widths", depth=[1, 3]), "width", "give width"),
    (one("train.lr", "float", lows=1), "lows", "unknown key"),
    ({"params": [LR, LR]}, "space.params[1].field", "already searched"),
    ({"params": [LR, {"field": "x"}]}, "space.params[1].type", "give a string"),
    ({"params": []}, "space.params", "at least one"),
    ({"params": [LR], "objective": "accuracy"}, "space.objective", "val_acc, val_loss"),
    ({"params": [LR], "max_epochs": 0}, "space.max_epochs", "between 1 and"),
    ({"params": [LR], "budget": 3}, "space.budget", "unknown key"),
]


@pytest.mark.parametrize(("space", "where", "says"), BAD_SPACES)
def test_space_errors_name_the_place(space: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(ConfigError) as e:
        Space.from_dict(space)
    assert e.value.field == (where if where.startswith("space") else f"space.params[0].{where}")
    assert says in str(e.value)


def test_space_round_trips_through_dict_and_json() -> None:
    space = Space.from_dict(SPACE)
    assert Space.from_dict(space.to_dict()) == space
    assert Space.from_json(space.to_json()) == space
    assert space.to_dict() == SPACE
    assert space.direction == "maximize"
    assert Space.from_dict({**SPACE, "objective": "val_loss"}).direction == "minimize"
    assert space.names == [
        "train.lr",
        "train.optimizer",
        "model.hidden.depth",
        "model.hidden.width",
    ]
    with pytest.raises(ConfigError, match="space: not valid JSON"):
        Space.from_json("{params")
    # Built in code (as the UI does), lists become tuples and the same checks run.
    p = Param("train.batch_size", "int", low=16, high=64, step=16)
    assert Space([p]).params == (p,)
    with pytest.raises(ConfigError, match=r"space.params\[0\].low"):
        Space((Param("train.lr", "float", low=-1, high=1),))


def test_trial_config_applies_budget_and_same_width_in_every_layer() -> None:
    space = Space.from_dict(SPACE)
    values = {"train.lr": 0.05, "train.optimizer": "sgd"}
    values.update({"model.hidden.depth": 3, "model.hidden.width": 6})
    cfg = search.trial_config(BASE.replace(**{"train.steps": 500}), space, values)
    assert cfg.model.hidden == (6, 6, 6)
    assert (cfg.train.lr, cfg.train.optimizer) == (0.05, "sgd")
    assert (cfg.train.epochs, cfg.train.steps) == (2, 0)  # max_epochs replaces a step budget


def test_grid_values_from_lists_steps_and_choices() -> None:
    params = [
        one("train.lr", "float", low=1e-4, high=1, log=True, grid=[1e-3, 1e-2, 1e-1]),
        one("train.batch_size", "int", low=16, high=64, step=16),
        one("model.dropout_rate", "float", low=0, high=0.5, step=0.25),
        one("train.optimizer", "categorical", choices=["sgd", "adam"]),
        one("model.hidden", "widths", depth=[1, 2], width=[4, 64], grid=[8, 32]),
        one("model.bias", "categorical", choices=[True, False]),
    ]
    space = Space.from_dict({"params": [p["params"][0] for p in params]})
    assert space.grid() == {
        "train.lr": [1e-3, 1e-2, 1e-1],
        "train.batch_size": [16, 32, 48, 64],
        "model.dropout_rate": [0.0, 0.25, 0.5],
        "train.optimizer": ["sgd", "adam"],
        "model.hidden.depth": [1, 2],
        "model.hidden.width": [8, 32],
        "model.bias": [True, False],
    }
    assert space.grid_size() == 3 * 4 * 3 * 2 * 2 * 2 * 2
    # A grid list alone gives the range that tpe and random sample.
    only_grid = Param("train.lr", "float", grid=[0.1, 0.01])
    assert only_grid.bounds == (0.01, 0.1)


def test_grid_sampler_refuses_a_range_without_values() -> None:
    space = Space.from_dict(SPACE)  # train.lr is a log range with no grid list
    with pytest.raises(ConfigError) as e:
        search.make_study(None, "g", "grid", 0, space=space)
    assert e.value.field == "space.params[0].grid"
    assert 'give "grid": [v1, v2, ...] or a "step"' in str(e.value)
    with pytest.raises(ConfigError, match="needs the space"):
        search.make_study(None, "g", "grid", 0, "maximize")
    with pytest.raises(ConfigError, match="unknown sampler"):
        search.make_study(None, "g", "cmaes", 0, space=space)


# --------------------------------------------------------------------------------------------
# Running searches in this process


def test_tpe_search_records_trials_with_user_attrs() -> None:
    space = Space.from_dict(SPACE)
    study = search.make_study(None, "tpe", "tpe", seed=0, space=space, pruner=no_pruning())
    seen = []
    search.run_search(BASE, space, study, n_trials=4, callback=lambda s, t: seen.append(t.number))
    assert seen == [0, 1, 2, 3]
    rows = search.trials_table(study)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 4
    for r, t in zip(rows, study.trials, strict=True):
        cfg = Config.from_dict(t.user_attrs["config"])
        assert cfg.train.lr == r["params"]["train.lr"] == r["train.lr"]  # flattened column too
        assert cfg.model.hidden == (r["model.hidden.width"],) * r["model.hidden.depth"]
        assert cfg.train.epochs == 2 and r["epochs"] == 2 and r["steps"] == 20
        assert r["value"] == r["val_acc"] and 0 <= r["val_acc"] <= 1 and r["val_loss"] > 0
        assert r["status"] == "finished" and r["seconds"] > 0 and r["error"] is None
        assert list(r["intermediate"]) == [1, 2] and r["intermediate"][2] == r["val_acc"]
    best = search.best_config(study)
    assert best.train.lr == study.best_params["train.lr"]
    assert best.train.epochs == 2 and best.data == BASE.data  # ready to open in the trainer
    curve = search.best_so_far(study)
    assert [c["best"] for c in curve] == list(itertools.accumulate([r["value"] for r in rows], max))
    assert search.study_setup(study) == (BASE, space)


def test_grid_sampler_runs_exactly_the_grid() -> None:
    params = [
        one("train.lr", "float", low=1e-3, high=1, log=True, grid=[0.01, 0.1]),
        one("train.optimizer", "categorical", choices=["sgd", "adam"]),
        one("model.hidden", "widths", depth=[1, 2], width=[2, 8], grid=[4]),
    ]
    space = Space.from_dict({"params": [p["params"][0] for p in params], "max_epochs": 1})
    study = search.make_study(None, "grid", "grid", seed=0, space=space, pruner=no_pruning())
    search.run_search(BASE, space, study, n_trials=None)  # None: until the grid is done
    combos = [tuple(t.params[n] for n in space.names) for t in study.trials]
    assert sorted(combos) == sorted(itertools.product([0.01, 0.1], ["sgd", "adam"], [1, 2], [4]))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_median_pruning_stops_a_bad_trial() -> None:
    space = Space.from_dict(
        {
            "params": [
                {"field": "train.lr", "type": "float", "low": 1e-5, "high": 1, "log": True},
                {"field": "train.optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
            ]
        }
    )
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    study = search.make_study(None, "prune", "tpe", 0, space=space, pruner=pruner)
    study.enqueue_trial({"train.lr": 0.1, "train.optimizer": "adam"})  # learns
    study.enqueue_trial({"train.lr": 1e-5, "train.optimizer": "sgd"})  # barely moves
    search.run_search(BASE, space, study, n_trials=2)
    good, bad = search.trials_table(study)
    assert good["state"] == "COMPLETE" and good["epochs"] == 3
    # Same seed, so the same initial network: after one epoch the tiny step is still at the
    # initial accuracy, below the first trial's median at epoch 1, and is stopped there.
    assert bad["intermediate"][1] < good["intermediate"][1]
    assert bad["state"] == "PRUNED" and bad["status"] == "pruned"
    assert bad["epochs"] == 1 and bad["steps"] == 10 and bad["value"] is None
    assert bad["val_acc"] == bad["intermediate"][1]


def test_invalid_combination_and_divergence_do_not_stop_the_study() -> None:
    space = Space.from_dict(
        {
            "params": [
                {"field": "model.norm", "type": "categorical", "choices": ["none", "batch"]},
                {"field": "train.batch_size", "type": "categorical", "choices": [1, 10]},
                {"field": "train.lr", "type": "float", "low": 1e-3, "high": 100, "log": True},
                {"field": "model.activation", "type": "categorical", "choices": ["tanh", "linear"]},
                {"field": "train.optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
            ],
            "objective": "val_loss",
        }
    )
    study = search.make_study(None, "bad", "random", 0, space=space, pruner=no_pruning())
    # BatchNorm with batch size 1 is refused by the config; SGD at lr 100 on a linear
    # network diverges (the loss overflows at step 13); the last trial is an ordinary one.
    names = ["model.norm", "train.batch_size", "train.lr", "model.activation", "train.optimizer"]
    for values in (
        ["batch", 1, 0.01, "tanh", "adam"],
        ["none", 10, 100, "linear", "sgd"],
        ["none", 10, 0.05, "tanh", "adam"],
    ):
        study.enqueue_trial(dict(zip(names, values, strict=True)))
    search.run_search(BASE, space, study, n_trials=3)
    invalid, diverged, fine = search.trials_table(study)
    assert invalid["state"] == "FAIL" and invalid["status"] == "invalid"
    assert "batch_size" in invalid["error"] and invalid["value"] is None
    assert diverged["state"] == "COMPLETE" and diverged["status"] == "diverged"
    assert study.trials[1].value == math.inf  # the worst loss, so samplers avoid the region
    assert diverged["value"] is None and diverged["val_loss"] is None  # no inf in tables
    assert "diverged" in diverged["error"]
    assert fine["state"] == "COMPLETE" and fine["value"] == fine["val_loss"] < 1
    assert search.best_trial(study).number == 2


def test_trials_share_one_dataset_when_the_data_config_is_the_same(monkeypatch) -> None:
    builds: list[Any] = []
    real = search.trials.build_dataset

    def counting(cfg: Any, seed: int, *args: Any) -> Any:
        builds.append((cfg.noise, seed))
        return real(cfg, seed, *args)

    monkeypatch.setattr(search.trials, "build_dataset", counting)
    space = Space.from_dict(
        {**one("data.noise", "categorical", choices=[0.1, 0.2]), "max_epochs": 1}
    )
    study = search.make_study(None, "data", "random", 0, space=space, pruner=no_pruning())
    for noise in (0.1, 0.2, 0.1, 0.2):
        study.enqueue_trial({"data.noise": noise})
    search.run_search(BASE, space, study, n_trials=4)
    assert builds == [(0.1, 0), (0.2, 0)]  # built once per data config, then reused
    builds.clear()
    dataset = real(BASE.data, BASE.seed)  # e.g. a user's uploaded points
    study2 = search.make_study(None, "data2", "random", 0, space=space, pruner=no_pruning())
    study2.enqueue_trial({"data.noise": 0.1})
    search.run_search(BASE, space, study2, n_trials=1, dataset=dataset)
    assert builds == []  # the given dataset serves the base data config


def test_regression_data_refuses_val_acc() -> None:
    base = BASE.replace(**{"data.dataset": "reg_plane", "train.loss": "mse"})
    with pytest.raises(ConfigError, match="use val_loss") as e:
        search.objective(base, Space.from_dict(SPACE))
    assert e.value.field == "space.objective"


def test_storage_defaults_and_errors(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(search.DB_ENV, raising=False)
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path / "cache"))
    assert search.default_storage() == f"sqlite:///{tmp_path / 'cache' / 'search.db'}"
    monkeypatch.setenv(search.DB_ENV, str(tmp_path / "my.db"))
    assert search.default_storage() == f"sqlite:///{tmp_path / 'my.db'}"
    monkeypatch.setenv(search.DB_ENV, "postgresql+psycopg2://u:pw@db/x")
    assert search.default_storage() == "postgresql+psycopg2://u:pw@db/x"
    shown = search.hide_password("postgresql+psycopg2://u:pw@db/x")
    assert shown == "postgresql+psycopg2://u:***@db/x"
    with pytest.raises(ConfigError, match="cannot open nosuch://x") as e:
        search.make_study("nosuch://x", "s", "tpe", 0, "maximize")
    assert e.value.field == "storage"
    # A study keeps its direction: reopening it for the other objective is refused.
    url = f"sqlite:///{tmp_path / 'sub' / 'd.db'}"  # missing folders are created
    search.make_study(url, "acc", "tpe", 0, space=Space.from_dict(SPACE))
    assert search.make_study(url, "acc", "random", 1, "maximize").direction.name == "MAXIMIZE"
    loss = Space.from_dict({**SPACE, "objective": "val_loss"})
    with pytest.raises(ConfigError, match="another study name") as e:
        search.make_study(url, "acc", "tpe", 0, space=loss)
    assert e.value.field == "study"


# --------------------------------------------------------------------------------------------
# The command line


def test_cli_sampler_choices_match_the_engine() -> None:
    for name in search.SAMPLERS:
        argv = ["search", "c.json", "--space", "s.json", "--sampler", name]
        assert cli._parser().parse_args(argv).sampler == name


BAD_RUNS = [
    ([], one("train.lrr", "float", low=1, high=2), "space.params[0].field: unknown config"),
    (["--sampler", "grid"], SPACE, "space.params[0].grid: the grid sampler needs"),
    (["--storage", "nosuch://db"], SPACE, "--storage: cannot open nosuch://db"),
    (["--trials", "0"], SPACE, "--trials: must be a positive number"),
]


@pytest.mark.parametrize(("extra", "space", "says"), BAD_RUNS)
def test_cli_search_errors_exit_2_with_one_line(tmp_path, capsys, extra, space, says) -> None:
    config, space_file = write_inputs(tmp_path, space)
    status = cli.main(["search", str(config), "--space", str(space_file), *extra])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith(f"error: {says}") and err.count("\n") == 1, err


def write_inputs(tmp_path: Path, space: dict[str, Any]) -> tuple[Path, Path]:
    config, space_file = tmp_path / "config.json", tmp_path / "space.json"
    config.write_text(BASE.to_json())
    space_file.write_text(json.dumps(space))
    return config, space_file


def run_two_workers(tmp_path: Path, storage: str, study: str) -> list[list[dict[str, Any]]]:
    """`python -m engine search ... --trials 3` twice at once on one study; each worker's
    JSON lines (asserting both exit 0 and print only JSON)."""
    config, space_file = write_inputs(tmp_path, SPACE)
    cmd = [sys.executable, "-m", "engine", "search", str(config), "--space", str(space_file)]
    cmd += ["--storage", storage, "--study", study, "--trials", "3"]
    workers = [
        subprocess.Popen(
            [*cmd, "--seed", str(seed)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)  # different seeds, as the README advises, so their samples differ
    ]
    outputs = []
    for w in workers:
        out, err = w.communicate(timeout=240)
        assert w.returncode == 0, err
        outputs.append([json.loads(line) for line in out.splitlines()])
    return outputs


def check_shared_study(outputs: list[list[dict[str, Any]]], storage: str, name: str) -> None:
    numbers = []
    for lines in outputs:
        *trials, summary = lines
        assert len(trials) == 3 and summary["summary"] is True
        assert all(t["state"] == "COMPLETE" for t in trials)
        numbers += [t["number"] for t in trials]
    assert sorted(numbers) == list(range(6))  # one numbering across both workers
    # The worker that finished last counted both workers' trials.
    assert max(lines[-1]["trials"] for lines in outputs) == 6
    study = optuna.load_study(study_name=name, storage=storage)
    rows = search.trials_table(study)
    assert [r["number"] for r in rows] == list(range(6))
    assert all(r["state"] == "COMPLETE" and r["val_acc"] is not None for r in rows)
    assert search.best_config(study).train.epochs == 2


def test_two_workers_share_one_sqlite_study(tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    outputs = run_two_workers(tmp_path, storage, "s")
    check_shared_study(outputs, storage, "s")


# PostgreSQL: the throwaway server of tests/pg_server.py (fixture `postgres_url`)


def test_two_workers_share_one_postgresql_study(tmp_path, postgres_url) -> None:
    outputs = run_two_workers(tmp_path, postgres_url, "pg")
    check_shared_study(outputs, postgres_url, "pg")
    assert all(lines[-1]["storage"] == postgres_url for lines in outputs)
