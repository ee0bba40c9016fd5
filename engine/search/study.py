"""Studies: the samplers, the pruner, creating or loading a study, and running its trials.

A study is created or loaded by name in a storage (`engine.search.storage`); `run_search`
runs trials of it in this process, so several processes or machines can work one study.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial

from engine.config import Config
from engine.registry import ConfigError
from engine.search.limits import check_study_name, check_trials
from engine.search.space import Space
from engine.search.storage import open_storage
from engine.search.trials import objective

if TYPE_CHECKING:
    from engine.data import Dataset
    from engine.trainer import Trainer

SAMPLERS = ("tpe", "random", "grid")
TPE_STARTUP_TRIALS = 5  # random trials before TPE models the results (Optuna's default is 10)
# Median pruning (Optuna's MedianPruner): stop a trial whose validation metric at an epoch is
# worse than the median of earlier trials at that epoch, but only once 5 trials have finished
# (a median of fewer is noise) and never in the first 2 epochs (early curves cross).
PRUNE_STARTUP_TRIALS = 5
PRUNE_WARMUP_EPOCHS = 2


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
