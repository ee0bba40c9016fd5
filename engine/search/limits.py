"""The server's limits on a search, checked before anything is built (ConfigError naming the
limit).

The grid sampler's grid has at most `MAX_GRID` combinations (`$PLAYGROUND_MAX_GRID`, default
10,000; its size is computed, not built: Optuna's GridSampler lists every combination, and
three int ranges 1..1000 took 6 GB), a search runs at most `MAX_TRIALS` trials at a time
(`$PLAYGROUND_MAX_TRIALS`), and a study name has at most `MAX_STUDY_NAME` characters.

The checks read the limits from this module when they run, so a test (or a page) sets them
here.
"""

from __future__ import annotations

import os
from typing import Any

from engine.registry import ConfigError
from engine.search.values import shown


def _env_int(name: str, default: int) -> int:
    """A positive integer limit from the environment; `default` when unset or not one."""
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


# 10,000 grid points at a few seconds each is already more than a day of one core; the grid
# sampler holds every combination in memory, so the grid is sized by arithmetic before Optuna
# sees it.
MAX_GRID = _env_int("PLAYGROUND_MAX_GRID", 10_000)
MAX_TRIALS = _env_int("PLAYGROUND_MAX_TRIALS", 1_000)  # trials one search call runs
MAX_STUDY_NAME = 100  # characters (Optuna's column holds 512; names are shown in titles)


def check_grid_size(size: int, where: str) -> None:
    """ConfigError (naming `where`) when a grid of `size` combinations is over `MAX_GRID`
    (a size past 10^15 shown by its digits)."""
    if size <= MAX_GRID:
        return
    text = f"{size:,}" if size < 10**15 else f"about 10^{len(str(size)) - 1}"
    raise ConfigError(
        where,
        f"the grid has {text} combinations; the limit is {MAX_GRID:,} (PLAYGROUND_MAX_GRID): "
        "give fewer values or a larger step, or use the tpe or random sampler",
    )


def check_trials(n_trials: Any, where: str = "trials") -> None:
    """ConfigError (naming `where`) unless `n_trials` is None or 1..MAX_TRIALS."""
    if n_trials is None:
        return
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(where, f"must be a positive whole number, got {shown(n_trials)}")
    if n_trials > MAX_TRIALS:
        raise ConfigError(
            where,
            f"at most {MAX_TRIALS:,} trials at a time (PLAYGROUND_MAX_TRIALS), got {n_trials:,}",
        )


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
            "study", f"a study name cannot hold control characters, got {shown(name)}"
        )
