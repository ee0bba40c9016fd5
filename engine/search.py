"""Hyperparameter search on Optuna: a search space over config fields, studies, the objective.

A `Space` says which config fields to vary and how (JSON, also built by the UI):

    {"params": [
        {"field": "train.lr", "type": "float", "low": 1e-4, "high": 0.1, "log": true},
        {"field": "train.optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
        {"field": "model.dropout_rate", "type": "float", "low": 0, "high": 0.5},
        {"field": "model.hidden", "type": "widths", "depth": [1, 4], "width": [16, 256],
         "log": true},
        {"field": "train.batch_size", "type": "int", "low": 16, "high": 256, "log": true}],
     "objective": "val_acc",
     "max_epochs": 20}

Parameter types: `float` and `int` (a range `low`..`high`, optionally `log` or a `step`),
`categorical` (`choices`), and `widths` for `model.hidden`: two Optuna parameters,
`model.hidden.depth` (hidden layers, from the `depth` range) and `model.hidden.width` (units,
from the `width` range, log-scaled with `log`), with the SAME width in every layer, so the
space stays two-dimensional however deep the network is. Every value is checked against the
config's field table (type, bounds, registry names) before anything runs.

The grid sampler tries every combination, so each parameter needs a finite list of values:
a categorical's `choices`; for float/int, a `"grid": [v1, v2, ...]` list, else the lattice
`low, low + step, ..., high` of its `step`; for widths, every depth in its range times the
`grid` (or `step` lattice) of widths. `grid` is used by the grid sampler only; tpe and random
sample the range, which defaults to the grid's smallest and largest values.

`objective` is "val_acc" (maximized) or "val_loss" (minimized): the final validation metric
of the trial's run (for an early-stopped run, that of the restored best weights).
`max_epochs` sets `train.epochs` (and `train.steps` = 0) for every trial unless the space
itself varies those fields.

A study lives in storage: in memory (`storage=None`), SQLite (`default_storage()`), or any
database URL SQLAlchemy and Optuna accept (e.g. `postgresql+psycopg2://user@host/db`), so
several processes or machines can work one study: each runs `python -m engine search ...`
with the same `--storage` and `--study`.

On a server the storage is the operator's setting, `$PLAYGROUND_SEARCH_DB` (a database URL or
a SQLite file path; `default_storage()`): the Search page lets visitors name a study, never a
storage, so a visitor cannot make the server create or write files. A storage is refused when
it is the run store's own database (Optuna would add its tables there, and the run store then
refuses the file), or a file that is not a regular file or holds another program's tables.

Limits (checked before anything is built, ConfigError naming the limit): the grid sampler's
grid has at most `MAX_GRID` combinations (`$PLAYGROUND_MAX_GRID`, default 10,000; its size is
computed, not built: Optuna's GridSampler lists every combination, and three int ranges
1..1000 took 6 GB), a search runs at most `MAX_TRIALS` trials at a time
(`$PLAYGROUND_MAX_TRIALS`), and a study name has at most `MAX_STUDY_NAME` characters.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
import sqlite3
import stat
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import sqlalchemy.exc
from optuna.trial import FrozenTrial, TrialState

from engine.config import Config, check_value, field_info, field_paths
from engine.data import DataError, build_dataset
from engine.registry import ConfigError

if TYPE_CHECKING:
    from engine.data import Dataset
    from engine.trainer import Trainer

SAMPLERS = ("tpe", "random", "grid")
OBJECTIVES = {"val_acc": "maximize", "val_loss": "minimize"}
PARAM_TYPES = ("float", "int", "categorical", "widths")
PARAM_KEYS = ("field", "type", "low", "high", "log", "step", "choices", "grid", "depth", "width")
# Keys each type reads besides field and type; any other key given is refused.
TYPE_KEYS = {
    "float": ("low", "high", "log", "step", "grid"),
    "int": ("low", "high", "log", "step", "grid"),
    "categorical": ("choices",),
    "widths": ("depth", "width", "log", "step", "grid"),
}
MAX_DEPTH = 16  # hidden layers a widths parameter may ask for
DB_ENV = "PLAYGROUND_SEARCH_DB"
TPE_STARTUP_TRIALS = 5  # random trials before TPE models the results (Optuna's default is 10)
# Median pruning (Optuna's MedianPruner): stop a trial whose validation metric at an epoch is
# worse than the median of earlier trials at that epoch, but only once 5 trials have finished
# (a median of fewer is noise) and never in the first 2 epochs (early curves cross).
PRUNE_STARTUP_TRIALS = 5
PRUNE_WARMUP_EPOCHS = 2
MAX_CACHED_DATASETS = 2  # datasets kept for trials that vary data fields (MNIST 60k: ~190 MB)
STORAGE_ATTEMPTS = 3  # workers starting together may race to create the tables


def _env_int(name: str, default: int) -> int:
    """A positive integer limit from the environment; `default` when unset or not one."""
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


# Limits, overridable per server (see the module docstring). 10,000 grid points at a few
# seconds each is already more than a day of one core; the grid sampler holds every
# combination in memory, so the grid is sized by arithmetic before Optuna sees it.
MAX_GRID = _env_int("PLAYGROUND_MAX_GRID", 10_000)
MAX_TRIALS = _env_int("PLAYGROUND_MAX_TRIALS", 1_000)  # trials one search call runs
MAX_STUDY_NAME = 100  # characters (Optuna's column holds 512; names are shown in titles)
# Every table Optuna creates (alembic_version: its schema migrations), for telling a study
# database from another program's.
OPTUNA_TABLES = frozenset(
    {"alembic_version", "version_info", "studies", "study_directions", "trials", "trial_params"}
)
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
# The run store's tables (engine/store.py): a database holding them is not a study's.
RUN_STORE_TABLES = frozenset({"schema_version", "runs", "weights", "points"})
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlong = 24
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 8


def _shown(value: Any) -> str:
    """`repr(value)` cut short: messages quote what was given, one bounded line."""
    try:
        return _SHORT.repr(value)
    except ValueError:  # an int past Python's 4300-digit limit for str()
        return "a number too long to show"


def _key(key: Any) -> str:
    """A user-given key as it may appear in a ConfigError's field path."""
    return key if isinstance(key, str) and key.isidentifier() and len(key) <= 40 else _shown(key)


# --------------------------------------------------------------------------------------------
# The search space


@dataclass(frozen=True)
class Param:
    """One searched config field. See the module docstring for the types and keys."""

    field: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None
    grid: tuple[float, ...] | None = None
    depth: tuple[int, int] | None = None
    width: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        # Lists from JSON or a UI become tuples, so a Param is hashable and compares by value.
        for name in ("choices", "grid", "depth", "width"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    @property
    def names(self) -> tuple[str, ...]:
        """The Optuna parameter name(s): the field path; `<field>.depth`/`.width` for widths."""
        if self.type == "widths":
            return (f"{self.field}.depth", f"{self.field}.width")
        return (self.field,)

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) of a float/int range; low/high default to the grid's min/max."""
        low = self.low if self.low is not None else min(self.grid or (math.nan,))
        high = self.high if self.high is not None else max(self.grid or (math.nan,))
        return low, high

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Ask the trial for this parameter's value(s), by Optuna parameter name."""
        if self.type == "categorical":
            return {self.field: trial.suggest_categorical(self.field, list(self.choices or ()))}
        if self.type == "widths":
            (dlo, dhi), (wlo, whi) = self.depth or (1, 1), self.width or (1, 1)
            depth, width = self.names
            return {
                depth: trial.suggest_int(depth, dlo, dhi),
                width: trial.suggest_int(width, wlo, whi, log=self.log, step=int(self.step or 1)),
            }
        low, high = self.bounds
        if self.type == "int":
            step = int(self.step or 1)
            value = trial.suggest_int(self.field, int(low), int(high), log=self.log, step=step)
        else:
            value = trial.suggest_float(self.field, low, high, log=self.log, step=self.step)
        return {self.field: value}

    def changes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Config changes {field path: value} for this parameter's Optuna values."""
        if self.type == "widths":
            depth, width = self.names
            return {self.field: (int(values[width]),) * int(values[depth])}
        value = values[self.field]
        if self.type == "int":
            value = int(value)
        elif self.type == "float":
            value = float(value)
        return {self.field: value}

    def grid_count(self, where: str = "param") -> int:
        """How many values `grid_values` gives (widths: depths times widths), computed
        without listing them; ConfigError as `grid_values` when there are none to list."""
        if self.type == "categorical":
            return len(self.choices or ())
        if self.grid:
            integer = self.type != "float"
            count = len({int(v) if integer else float(v) for v in self.grid})
        elif self.step:
            low, high = self.width if self.type == "widths" else self.bounds  # type: ignore[misc]
            count = round((high - low) / self.step) + 1
        else:
            what = "widths" if self.type == "widths" else "values"
            raise ConfigError(
                f"{where}.grid",
                f'the grid sampler needs a finite list of {what} for {self.field}: give "grid": '
                f'[v1, v2, ...] or a "step" (or use the tpe or random sampler)',
            )
        if self.type == "widths":
            dlo, dhi = self.depth or (1, 1)
            count *= dhi - dlo + 1
        return count

    def grid_values(self, where: str = "param") -> dict[str, list[Any]]:
        """{Optuna name: the values the grid sampler tries}; ConfigError (naming `where`) if
        a float/int/widths parameter has neither a grid list nor a step, or its values would
        be more than `MAX_GRID`."""
        count = self.grid_count(where)  # sized before a step lattice is listed
        if count > MAX_GRID:
            raise ConfigError(f"{where}.grid", _too_big(count))
        if self.type == "categorical":
            return {self.field: list(self.choices or ())}
        if self.grid:
            integer = self.type != "float"  # 16.0 in a JSON grid is the width 16
            values: list[Any] = sorted({int(v) if integer else float(v) for v in self.grid})
        else:
            low, high = self.width if self.type == "widths" else self.bounds  # type: ignore[misc]
            values = _lattice(low, high, self.step or 1, integer=self.type != "float")
        if self.type == "widths":
            dlo, dhi = self.depth or (1, 1)
            depth, width = self.names
            return {depth: list(range(dlo, dhi + 1)), width: values}
        return {self.field: values}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: field, type and only the keys that were given."""
        out: dict[str, Any] = {"field": self.field, "type": self.type}
        for key in PARAM_KEYS[2:]:
            value = getattr(self, key)
            if key == "log":
                if value:
                    out[key] = True
            elif value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "param") -> Param:
        """Strict: unknown keys and wrongly typed values raise ConfigError naming `where.key`.
        Values are checked against the config field table by `Space`."""
        if not isinstance(d, Mapping):
            raise ConfigError(where, f"must be a JSON object, got {type(d).__name__}")
        for key in d:
            if key not in PARAM_KEYS:
                raise ConfigError(
                    f"{where}.{_key(key)}", f"unknown key; valid keys: {', '.join(PARAM_KEYS)}"
                )
        for key in ("field", "type"):
            if not isinstance(d.get(key), str):
                example = "train.lr" if key == "field" else " | ".join(PARAM_TYPES)
                raise ConfigError(f"{where}.{key}", f"give a string, e.g. {example}")
        kw: dict[str, Any] = {"field": d["field"], "type": d["type"]}
        for key in ("low", "high", "step"):
            if d.get(key) is not None:
                kw[key] = _number(f"{where}.{key}", d[key])
        if "log" in d:
            if not isinstance(d["log"], bool):
                raise ConfigError(f"{where}.log", f"must be true or false, got {d['log']!r}")
            kw["log"] = d["log"]
        if d.get("choices") is not None:
            kw["choices"] = _list(f"{where}.choices", d["choices"])
        if d.get("grid") is not None:
            grid = _list(f"{where}.grid", d["grid"])
            kw["grid"] = tuple(_number(f"{where}.grid[{j}]", v) for j, v in enumerate(grid))
        for key in ("depth", "width"):
            if d.get(key) is not None:
                kw[key] = _int_range(f"{where}.{key}", d[key])
        return cls(**kw)


@dataclass(frozen=True)
class Space:
    """The searched parameters, the objective and an optional epoch budget; validated on
    construction against the config field table (ConfigError naming `space.params[i]...`)."""

    params: tuple[Param, ...]
    objective: str = "val_acc"
    max_epochs: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.params, list):
            object.__setattr__(self, "params", tuple(self.params))
        if not self.params:
            raise ConfigError("space.params", "give at least one parameter to search")
        if not isinstance(self.objective, str) or self.objective not in OBJECTIVES:
            raise ConfigError(
                "space.objective",
                f"{_shown(self.objective)} is not an objective; choose one of: "
                f"{', '.join(OBJECTIVES)}",
            )
        if self.max_epochs is not None:
            epochs = field_info("train.epochs")
            if isinstance(self.max_epochs, bool) or not isinstance(self.max_epochs, int):
                raise ConfigError(
                    "space.max_epochs", f"must be an integer, got {_shown(self.max_epochs)}"
                )
            if not epochs["lo"] <= self.max_epochs <= epochs["hi"]:
                raise ConfigError(
                    "space.max_epochs",
                    f"must be between {epochs['lo']} and {epochs['hi']}, "
                    f"got {_shown(self.max_epochs)}",
                )
        seen: dict[str, int] = {}
        for i, p in enumerate(self.params):
            where = f"space.params[{i}]"
            if not isinstance(p, Param):
                raise ConfigError(where, f"must be a Param, got {type(p).__name__}")
            _check_param(p, where)
            if p.field in seen:
                raise ConfigError(
                    f"{where}.field",
                    f"{p.field} is already searched by space.params[{seen[p.field]}]",
                )
            seen[p.field] = i

    @property
    def direction(self) -> str:
        """The study direction: "maximize" for val_acc, "minimize" for val_loss."""
        return OBJECTIVES[self.objective]

    @property
    def names(self) -> list[str]:
        """Every Optuna parameter name, in order (widths give two)."""
        return [name for p in self.params for name in p.names]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Every parameter's value for this trial, by Optuna parameter name."""
        values: dict[str, Any] = {}
        for p in self.params:
            values.update(p.suggest(trial))
        return values

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space; ConfigError naming the first parameter without
        finite values, or the limit when the grid has more than `MAX_GRID` combinations."""
        size = self.grid_size()  # refused before any list is built
        if size > MAX_GRID:
            raise ConfigError("space.params", _too_big(size))
        out: dict[str, list[Any]] = {}
        for i, p in enumerate(self.params):
            out.update(p.grid_values(f"space.params[{i}]"))
        return out

    def grid_size(self) -> int:
        """Number of combinations the grid sampler would run, computed without building the
        grid (ConfigError for a parameter without finite values, as `grid`)."""
        return math.prod(p.grid_count(f"space.params[{i}]") for i, p in enumerate(self.params))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what `from_dict` reads; max_epochs only when set)."""
        out: dict[str, Any] = {
            "params": [p.to_dict() for p in self.params],
            "objective": self.objective,
        }
        if self.max_epochs is not None:
            out["max_epochs"] = self.max_epochs
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """`to_dict` as JSON text (the --space file)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Space:
        """Strict: unknown keys and bad values raise ConfigError naming the place."""
        if not isinstance(d, Mapping):
            raise ConfigError("space", f"must be a JSON object, got {type(d).__name__}")
        for key in d:
            if key not in ("params", "objective", "max_epochs"):
                raise ConfigError(
                    f"space.{_key(key)}",
                    "unknown key; valid keys here: params, objective, max_epochs",
                )
        params = _list("space.params", d.get("params"))
        parsed = tuple(Param.from_dict(p, f"space.params[{i}]") for i, p in enumerate(params))
        objective = d.get("objective", "val_acc")
        max_epochs = d.get("max_epochs")
        if isinstance(max_epochs, float) and max_epochs.is_integer():
            max_epochs = int(max_epochs)
        return cls(parsed, objective, max_epochs)

    @classmethod
    def from_json(cls, text: str | bytes) -> Space:
        """Parse and validate a --space file's text or UTF-8 bytes (ConfigError on bad JSON or
        values; encoding, nesting and numbers as for configs: see engine.textfiles)."""
        from engine.textfiles import decode_json

        return cls.from_dict(decode_json(text, "space", root="space"))


def trial_config(base: Config, space: Space, values: Mapping[str, Any]) -> Config:
    """`base` with the space's epoch budget and a trial's values (by Optuna parameter name)
    applied; ConfigError when the combination is invalid (e.g. BatchNorm with batch size 1)."""
    changes: dict[str, Any] = {}
    if space.max_epochs is not None:
        changes.update({"train.epochs": space.max_epochs, "train.steps": 0})
    for p in space.params:
        changes.update(p.changes(values))
    return base.replace(**changes)


# --------------------------------------------------------------------------------------------
# Studies


def default_storage() -> str:
    """$PLAYGROUND_SEARCH_DB (a database URL, or a file path for SQLite), else
    sqlite:///<user cache>/search.db (the cache of $PLAYGROUND_CACHE_DIR, as for MNIST)."""
    env = os.environ.get(DB_ENV)
    if env:
        return env if "://" in env else f"sqlite:///{Path(env).expanduser().resolve()}"
    from engine.data.mnist import default_cache_dir

    return f"sqlite:///{default_cache_dir().parent / 'search.db'}"


def make_pruner(
    n_startup_trials: int = PRUNE_STARTUP_TRIALS, n_warmup_steps: int = PRUNE_WARMUP_EPOCHS
) -> optuna.pruners.MedianPruner:
    """The default median pruner; steps are epochs (1-based)."""
    return optuna.pruners.MedianPruner(
        n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps, interval_steps=1
    )


def make_sampler(name: str, seed: int | None = None, space: Space | None = None) -> Any:
    """An Optuna sampler by name: tpe (Bayesian, `TPE_STARTUP_TRIALS` random trials first),
    random, or grid (needs `space`, whose every parameter has finite values)."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=TPE_STARTUP_TRIALS)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        if space is None:
            raise ConfigError("sampler", "the grid sampler needs the space: pass space=...")
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise ConfigError("sampler", f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}")


def make_study(
    storage: str | None,
    name: str,
    sampler: str = "tpe",
    seed: int | None = None,
    direction: str | None = None,
    *,
    space: Space | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    """Create or load (load_if_exists) the study `name` in `storage`.

    `storage`: None keeps the study in memory; otherwise a database URL (see
    `default_storage`). `direction` defaults to the space's ("maximize" for val_acc). The
    grid sampler needs `space`. `pruner` defaults to `make_pruner()`; pass
    `optuna.pruners.NopPruner()` to turn pruning off. Workers sharing a study should use
    different seeds (or None): with one seed they would propose the same random trials.
    ConfigError for a bad sampler, direction or storage, or a study that exists with the
    other direction.
    """
    if direction is None:
        direction = space.direction if space is not None else "maximize"
    if direction not in ("maximize", "minimize"):
        raise ConfigError("direction", f"must be maximize or minimize, got {direction!r}")
    if space is not None and direction != space.direction:
        raise ConfigError(
            "direction", f"{space.objective} is to be {space.direction}d, not {direction}d"
        )
    check_study_name(name)
    samp = make_sampler(sampler, seed, space)
    store = open_storage(storage) if storage else None
    study = optuna.create_study(
        storage=store,
        sampler=samp,
        pruner=pruner if pruner is not None else make_pruner(),
        study_name=name,
        direction=direction,  # type: ignore[arg-type]
        load_if_exists=True,
    )
    existing = study.direction.name.lower()
    if existing != direction:
        raise ConfigError(
            "study",
            f"study {name!r} already exists and is {existing}d, not {direction}d: choose "
            "another study name",
        )
    return study


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


def check_study_name(name: Any) -> None:
    """ConfigError (naming `study`) unless `name` is 1..MAX_STUDY_NAME printable characters.
    A name is a value in the storage's tables, never a path, so '../x' is just a name."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("study", "give the study a name")
    if len(name) > MAX_STUDY_NAME:
        raise ConfigError(
            "study", f"a study name has at most {MAX_STUDY_NAME} characters, got {len(name):,}"
        )
    if not name.isprintable():
        raise ConfigError(
            "study", f"a study name cannot hold control characters, got {_shown(name)}"
        )


def check_trials(n_trials: Any, where: str = "trials") -> None:
    """ConfigError (naming `where`) unless `n_trials` is None or 1..MAX_TRIALS."""
    if n_trials is None:
        return
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(where, f"must be a positive whole number, got {_shown(n_trials)}")
    if n_trials > MAX_TRIALS:
        raise ConfigError(
            where,
            f"at most {MAX_TRIALS:,} trials at a time (PLAYGROUND_MAX_TRIALS), got {n_trials:,}",
        )


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


# --------------------------------------------------------------------------------------------
# The objective


class _DatasetCache:
    """Datasets by (data config, seed), so trials that share their data (most searches vary
    only model and training knobs) reuse one instead of rebuilding MNIST each trial."""

    def __init__(self, base: Config, dataset: Dataset | None) -> None:
        self._pinned: dict[tuple[Any, int], Dataset] = {}
        if dataset is not None:
            self._pinned[(base.data, base.seed)] = dataset
        self._recent: OrderedDict[tuple[Any, int], Dataset] = OrderedDict()

    def get(self, cfg: Config) -> Dataset:
        key = (cfg.data, cfg.seed)
        if key in self._pinned:
            return self._pinned[key]
        if key in self._recent:
            self._recent.move_to_end(key)
            return self._recent[key]
        data = build_dataset(cfg.data, cfg.seed)
        self._recent[key] = data
        while len(self._recent) > MAX_CACHED_DATASETS:
            self._recent.popitem(last=False)
        return data


def objective(
    base: Config,
    space: Space,
    dataset: Dataset | None = None,
    on_trained: Callable[[optuna.Trial, Trainer], None] | None = None,
) -> Callable[[optuna.Trial], float]:
    """The function Optuna calls per trial: build the trial's config, train it epoch by epoch
    with the Trainer, report the validation metric after each epoch (median pruning may stop
    it: TrialPruned), and return the final metric.

    User attrs of each trial: `config` (the trial's run config as a JSON dict), `val_acc`,
    `val_loss`, `steps`, `epochs`, `seconds` (wall time), `status` (the trainer's finished /
    early_stopped / diverged, or pruned / invalid) and `error` (why it failed or diverged).
    An invalid combination or a training error fails only that trial (it returns NaN, which
    Optuna records as FAIL) and the study goes on. A diverged run is a complete trial with the
    worst value (0 accuracy, infinite loss) so the samplers learn to avoid its region.
    `dataset` (e.g. the user's uploaded points) serves every trial whose data config and seed
    equal `base`'s; ConfigError now if the objective cannot be measured on this data.
    `on_trained(trial, trainer)` is called with every trial that trained to its end (finished,
    early stopped or diverged; not pruned), e.g. to keep it in the run store.
    """
    from engine.data.datasets import DATASETS

    task = DATASETS.get(base.data.dataset).extra.get("task", "classification")
    varies_data = any(p.field.startswith("data.") for p in space.params)
    if space.objective == "val_acc" and task != "classification" and not varies_data:
        raise ConfigError(
            "space.objective",
            f"{base.data.dataset} is a regression dataset: accuracy is undefined, use val_loss",
        )
    cache = _DatasetCache(base, dataset)

    def run(trial: optuna.Trial) -> float:
        return _run_trial(trial, base, space, cache, on_trained)

    return run


def _run_trial(
    trial: optuna.Trial,
    base: Config,
    space: Space,
    cache: _DatasetCache,
    on_trained: Callable[[optuna.Trial, Trainer], None] | None = None,
) -> float:
    from engine.trainer import Trainer

    start = time.perf_counter()
    values = space.suggest(trial)
    try:
        cfg = trial_config(base, space, values)
        trainer = Trainer(cfg, dataset=cache.get(cfg))
    except (ConfigError, DataError, ValueError, RuntimeError) as e:
        return _fail(trial, f"invalid combination: {e}", start)
    trial.set_user_attr("config", cfg.to_dict())
    epoch = 0
    try:
        while not trainer.done:
            trainer.step(trainer.steps_per_epoch)
            epoch += 1
            if trainer.status == "diverged":
                break
            metric = _epoch_metrics(trainer)[space.objective]
            if metric is None:
                return _fail(trial, "no validation examples to score the trial on", start)
            trial.report(metric, epoch)
            if trial.should_prune():
                _finish(trial, trainer, "pruned", start, epoch)
                raise optuna.TrialPruned(f"pruned at epoch {epoch}: {space.objective} {metric:.4g}")
    except RuntimeError as e:  # e.g. a shape that does not fit, out of memory
        return _fail(trial, f"training failed: {e}", start)
    if on_trained is not None:
        on_trained(trial, trainer)
    if trainer.status == "diverged":
        _finish(trial, trainer, "diverged", start, epoch, error=trainer.message)
        return 0.0 if space.direction == "maximize" else math.inf
    final = _final_metrics(trainer)
    _finish(trial, trainer, trainer.status, start, epoch, final)
    value = final[space.objective]
    if value is None:
        return _fail(trial, "no validation examples to score the trial on", start)
    return float(value)


def _epoch_metrics(trainer: Trainer) -> dict[str, Any]:
    """The evaluation at the current step (the trainer evaluates once per epoch by default;
    with another train.eval_every, evaluate now so every trial reports at each epoch)."""
    evals = trainer.history.evals
    if evals and evals[-1]["step"] == trainer.step_count:
        return evals[-1]
    return trainer.evaluate()


def _final_metrics(trainer: Trainer) -> dict[str, Any]:
    """val_acc/val_loss of the final model: an early-stopped trainer restored its best
    weights, which its last evaluation row does not describe, so score it again."""
    if trainer.status == "early_stopped":
        m = trainer.metrics(trainer.val_split)
        return {"val_acc": m["acc"], "val_loss": m["loss"]}
    return _epoch_metrics(trainer)


def _finish(
    trial: optuna.Trial,
    trainer: Trainer,
    status: str,
    start: float,
    epochs: int,
    metrics: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    if metrics is None and status != "diverged":
        metrics = _epoch_metrics(trainer)
    attrs = {
        "status": status,
        "val_acc": (metrics or {}).get("val_acc"),
        "val_loss": (metrics or {}).get("val_loss"),
        "steps": trainer.step_count,
        "epochs": epochs,
        "seconds": round(time.perf_counter() - start, 3),
    }
    if error:
        attrs["error"] = error
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


def _fail(trial: optuna.Trial, reason: str, start: float) -> float:
    trial.set_user_attr("status", "invalid")
    trial.set_user_attr("error", reason)
    trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
    return math.nan  # Optuna marks the trial FAIL and goes on with the next one


def run_search(
    base: Config,
    space: Space,
    study: optuna.Study,
    n_trials: int | None,
    timeout: float | None = None,
    callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    *,
    dataset: Dataset | None = None,
    on_trained: Callable[[optuna.Trial, Trainer], None] | None = None,
) -> optuna.Study:
    """Run `n_trials` more trials in this process (None: until `timeout`, or until a grid is
    done). `callback(study, trial)` runs after each finished trial (it may call
    `study.stop()`). The base config and space are recorded on the study (user attrs `space`,
    `base_config`) the first time, for whoever opens it later."""
    check_trials(n_trials)
    _record_setup(study, base, space)
    study.optimize(
        objective(base, space, dataset, on_trained),
        n_trials=n_trials,
        timeout=timeout,
        n_jobs=1,
        callbacks=[callback] if callback is not None else None,
    )
    return study


def _record_setup(study: optuna.Study, base: Config, space: Space) -> None:
    attrs = study.user_attrs
    if "space" not in attrs:
        study.set_user_attr("space", space.to_dict())
    if "base_config" not in attrs:
        study.set_user_attr("base_config", base.to_dict())


def study_setup(study: optuna.Study) -> tuple[Config | None, Space | None]:
    """The base config and space a study was started with (None where not recorded)."""
    attrs = study.user_attrs
    base = Config.from_dict(attrs["base_config"]) if "base_config" in attrs else None
    space = Space.from_dict(attrs["space"]) if "space" in attrs else None
    return base, space


# --------------------------------------------------------------------------------------------
# Results


def trial_row(t: FrozenTrial) -> dict[str, Any]:
    """One trial as a flat dict: number, state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING),
    status, value (None unless finite), params {Optuna name: value}, val_acc, val_loss,
    steps, epochs, seconds, error, run_id and `intermediate` {epoch: reported metric}."""
    attrs = t.user_attrs
    value = t.value if t.state == TrialState.COMPLETE else None
    return {
        "number": t.number,
        "state": t.state.name,
        "status": attrs.get("status", "running" if t.state == TrialState.RUNNING else None),
        "value": value if value is not None and math.isfinite(value) else None,
        "params": dict(t.params),
        "val_acc": attrs.get("val_acc"),
        "val_loss": attrs.get("val_loss"),
        "steps": attrs.get("steps"),
        "epochs": attrs.get("epochs"),
        "seconds": attrs.get("seconds"),
        "error": attrs.get("error"),
        "run_id": attrs.get("run_id"),  # set by whoever kept the trial's run (the UI's store)
        "intermediate": {int(k): v for k, v in t.intermediate_values.items()},
    }


def trials_table(study: optuna.Study) -> list[dict[str, Any]]:
    """Every trial of the study (all workers'), by number: `trial_row` plus each parameter
    flattened into its own column named by its field (e.g. row["train.lr"]), for charts."""
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        row = trial_row(t)
        row.update(row["params"])
        rows.append(row)
    return rows


def best_so_far(study: optuna.Study) -> list[dict[str, Any]]:
    """{number, value, best} for each complete trial in order: the best value up to it."""
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best: float | None = None
    out = []
    for row in trials_table(study):
        v = row["value"]
        if row["state"] != "COMPLETE":
            continue
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        out.append({"number": row["number"], "value": v, "best": best})
    return out


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial (None before one completes)."""
    try:
        return study.best_trial
    except ValueError:
        return None


def best_config(study: optuna.Study) -> Config:
    """The run config of the best complete trial, ready for the trainer pages; ValueError
    before any trial completes."""
    t = best_trial(study)
    if t is None:
        raise ValueError(f"study {study.study_name!r} has no complete trial yet")
    return Config.from_dict(t.user_attrs["config"])


# --------------------------------------------------------------------------------------------
# Validation helpers


def _check_param(p: Param, where: str) -> None:
    """Type, keys and values of one parameter against the config field table."""
    if p.field not in field_paths():
        raise ConfigError(
            f"{where}.field",
            f"unknown config field {_shown(p.field)}; valid fields: {', '.join(field_paths())}",
        )
    if p.type not in PARAM_TYPES:
        raise ConfigError(
            f"{where}.type",
            f"unknown type {_shown(p.type)}; choose one of: {', '.join(PARAM_TYPES)}",
        )
    info = field_info(p.field)
    fits = _fitting_types(info["type"])
    if p.type not in fits:
        hint = f"use type {' or '.join(fits)}" if fits else "it cannot be searched"
        raise ConfigError(f"{where}.type", f"{p.field} does not take a {p.type} range: {hint}")
    for key in PARAM_KEYS[2:]:
        given = getattr(p, key)
        if key not in TYPE_KEYS[p.type] and (given is True if key == "log" else given is not None):
            takes = ", ".join(TYPE_KEYS[p.type])
            raise ConfigError(
                f"{where}.{key}", f"a {p.type} parameter does not use {key}; it takes: {takes}"
            )
    if p.type == "categorical":
        _check_choices(p, where)
    elif p.type == "widths":
        _check_widths(p, where, info)
    else:
        _check_range(p, where)


def _fitting_types(tp: Any) -> tuple[str, ...]:
    if tp is float:
        return ("float", "categorical")
    if tp is int:
        return ("int", "categorical")
    if tp in (str, bool):
        return ("categorical",)
    if tp == tuple[int, ...]:
        return ("widths",)
    return ()  # lists of strings or floats (data.features, train.betas)


def _check_choices(p: Param, where: str) -> None:
    if not p.choices:
        raise ConfigError(f"{where}.choices", f"give a non-empty list of values for {p.field}")
    for j, v in enumerate(p.choices):
        if not isinstance(v, (str, int, float, bool)):
            raise ConfigError(
                f"{where}.choices", f"choice {j} ({_shown(v)}) must be a string, number or boolean"
            )
        _check_value(p.field, v, f"{where}.choices", f"choice {_shown(v)} is not allowed")
    if len(set(map(repr, p.choices))) != len(p.choices):
        raise ConfigError(f"{where}.choices", f"choices repeat: {_shown(list(p.choices))}")


def _check_range(p: Param, where: str) -> None:
    integer = p.type == "int"
    if p.grid is not None and not p.grid:
        raise ConfigError(f"{where}.grid", "give at least one value")
    for key in ("low", "high"):
        if getattr(p, key) is None and not p.grid:
            raise ConfigError(f"{where}.{key}", f"give {key} (or a grid list) for {p.field}")
    low, high = p.bounds
    for key, v in (("low", low), ("high", high), ("step", p.step)):
        if v is not None and integer and not float(v).is_integer():
            raise ConfigError(f"{where}.{key}", f"{p.field} takes integers, got {v}")
    if low > high:
        raise ConfigError(f"{where}.low", f"low ({low}) is greater than high ({high})")
    for key, v in (("low", low), ("high", high)):
        _check_value(
            p.field, int(v) if integer else v, f"{where}.{key}", f"{key} {v} is out of range"
        )
    if p.log and low <= 0:
        raise ConfigError(f"{where}.low", f"a log range needs low > 0, got {low}")
    _check_step(p, where, low, high)
    for j, v in enumerate(p.grid or ()):
        if integer and not float(v).is_integer():
            raise ConfigError(f"{where}.grid", f"{p.field} takes integers, got grid[{j}] = {v}")
        if not low <= v <= high:
            raise ConfigError(
                f"{where}.grid", f"grid[{j}] = {v} is outside low..high ({low}..{high})"
            )
        if p.step and not _on_lattice(v, low, p.step):
            raise ConfigError(f"{where}.grid", f"grid[{j}] = {v} is not low + k * step")


def _check_widths(p: Param, where: str, info: Mapping[str, Any]) -> None:
    if p.depth is None or p.width is None:
        key = "depth" if p.depth is None else "width"
        raise ConfigError(f"{where}.{key}", f"give {key} as [min, max] for {p.field}")
    (dlo, dhi), (wlo, whi) = p.depth, p.width
    if not 1 <= dlo <= dhi <= MAX_DEPTH:
        raise ConfigError(
            f"{where}.depth",
            f"need 1 <= min <= max <= {MAX_DEPTH} hidden layers, got {_shown([dlo, dhi])}",
        )
    if wlo > whi:
        raise ConfigError(f"{where}.width", f"min ({wlo}) is greater than max ({whi})")
    for v in (wlo, whi):
        _check_value(p.field, (v,), f"{where}.width", f"width {v} is out of range")
    _check_step(p, where, wlo, whi)
    for j, v in enumerate(p.grid or ()):
        if not float(v).is_integer() or not wlo <= v <= whi:
            raise ConfigError(f"{where}.grid", f"grid[{j}] = {v} is not a width in {wlo}..{whi}")


def _check_step(p: Param, where: str, low: float, high: float) -> None:
    if p.step is None:
        return
    if p.step <= 0:
        raise ConfigError(f"{where}.step", f"must be > 0, got {p.step}")
    if p.log:
        raise ConfigError(
            f"{where}.step",
            "step and log cannot be combined (Optuna samples log ranges continuously); "
            "give grid values instead",
        )
    if not (high - low) / p.step <= MAX_STEPS_IN_RANGE:  # also NaN and inf
        raise ConfigError(
            f"{where}.step",
            f"{p.step:g} is too small for {low:g}..{high:g} (more than 10^12 steps); give a "
            "larger step",
        )
    if not _divides(p.step, low, high) or not _on_lattice(high, low, p.step):
        raise ConfigError(
            f"{where}.step", f"high - low ({high - low:g}) must be a multiple of step ({p.step:g})"
        )


def _check_value(path: str, value: Any, where: str, what: str) -> None:
    """The config's own type, bounds and choices check for one value of field `path`."""
    try:
        check_value(path, value)
    except ConfigError as e:
        raise ConfigError(where, f"{what}: {e}") from None


def _divides(step: float, low: float, high: float) -> bool:
    """Whether high - low is a whole number of steps as Optuna checks it (in decimals of the
    numbers' shortest forms): otherwise it warns and samples a range short of high, while the
    grid would still try high."""
    try:
        return (Decimal(str(high)) - Decimal(str(low))) % Decimal(str(step)) == 0
    except (ArithmeticError, ValueError):  # decimal's InvalidOperation, past its precision
        return False


def _on_lattice(v: float, low: float, step: float) -> bool:
    """v = low + k * step for a whole k >= 0 (within rounding); a step larger than the
    range leaves only low itself."""
    k = (v - low) / step
    if not math.isfinite(k):
        return False
    return abs(k - round(k)) < 1e-8 and (round(k) != 0 or v == low)


def _too_big(size: int) -> str:
    """The message for a grid over the limit (a size past 10^15 shown by its digits)."""
    shown = f"{size:,}" if size < 10**15 else f"about 10^{len(str(size)) - 1}"
    return (
        f"the grid has {shown} combinations; the limit is {MAX_GRID:,} (PLAYGROUND_MAX_GRID): "
        "give fewer values or a larger step, or use the tpe or random sampler"
    )


def _lattice(low: float, high: float, step: float, integer: bool) -> list[Any]:
    n = round((high - low) / step)
    values = [low + k * step for k in range(n + 1)]
    return [round(v) for v in values] if integer else [round(v, 12) for v in values]


# Optuna checks a step with 28-digit decimals, which fail past ~10^27 steps; 10^12 is already
# far finer than any search needs.
MAX_STEPS_IN_RANGE = 10**12
MAX_NUMBER = 10**18  # no searched field comes near; bigger ints would not even fit int64


def _number(where: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(where, f"must be a finite number, got {_shown(v)}")
    if isinstance(v, int) and abs(v) > MAX_NUMBER:  # math.isfinite would overflow on it
        raise ConfigError(where, f"must be a number below 10^18 in size, got {_shown(v)}")
    if not math.isfinite(v):
        raise ConfigError(where, f"must be a finite number, got {_shown(v)}")
    return v


def _list(where: str, v: Any) -> list[Any]:
    if not isinstance(v, (list, tuple)):
        raise ConfigError(where, f"must be a JSON list, got {_shown(v)}")
    return list(v)


def _whole(x: Any) -> bool:
    """An integer, or a float with an integer value, of a size `_number` accepts."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    if isinstance(x, int):
        return abs(x) <= MAX_NUMBER
    return math.isfinite(x) and x.is_integer() and abs(x) <= MAX_NUMBER


def _int_range(where: str, v: Any) -> tuple[int, int]:
    items = _list(where, v)
    if len(items) != 2 or not all(_whole(x) for x in items):
        raise ConfigError(where, f"give [min, max] as two integers, got {_shown(v)}")
    return int(items[0]), int(items[1])
