"""Hyperparameter search on Optuna: a search space over config fields, studies, the objective.

The parts, each a module of this package:

- `params`: the kinds of searched parameter (FloatRange, IntRange, Choice, Widths), each
  checking its own rules against the config's field table;
- `space`: a Space of parameters, its objective and epoch budget, its JSON form and grid;
- `limits`: the server's limits (grid size, trials at a time, study names);
- `storage`: where studies live (a database URL), refused when it is the run store's;
- `study`: samplers, the pruner, creating a study and running its trials;
- `trials`: the objective, how one trial trains and what it records;
- `results`: a study's trials as rows, the best so far, the best config.

The names below are the package's public ones: import them from `engine.search`.
"""

from engine.search.limits import (
    MAX_GRID,
    MAX_STUDY_NAME,
    MAX_TRIALS,
    check_grid_size,
    check_study_name,
    check_trials,
)
from engine.search.params import (
    PARAM_KEYS,
    PARAM_TYPES,
    Choice,
    FloatRange,
    IntRange,
    Param,
    Widths,
)
from engine.search.results import (
    best_config,
    best_so_far,
    best_trial,
    narrowed,
    trial_row,
    trials_table,
)
from engine.search.space import OBJECTIVES, Space, trial_config
from engine.search.storage import (
    DB_ENV,
    check_storage,
    default_storage,
    hide_password,
    open_storage,
)
from engine.search.study import (
    SAMPLERS,
    make_pruner,
    make_sampler,
    make_study,
    run_search,
    study_setup,
)
from engine.search.trials import objective

__all__ = [
    "DB_ENV",
    "MAX_GRID",
    "MAX_STUDY_NAME",
    "MAX_TRIALS",
    "OBJECTIVES",
    "PARAM_KEYS",
    "PARAM_TYPES",
    "SAMPLERS",
    "Choice",
    "FloatRange",
    "IntRange",
    "Param",
    "Space",
    "Widths",
    "best_config",
    "best_so_far",
    "best_trial",
    "check_grid_size",
    "check_storage",
    "check_study_name",
    "check_trials",
    "default_storage",
    "hide_password",
    "make_pruner",
    "make_sampler",
    "make_study",
    "narrowed",
    "objective",
    "open_storage",
    "run_search",
    "study_setup",
    "trial_config",
    "trial_row",
    "trials_table",
]
