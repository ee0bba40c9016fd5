"""The objective: how a trial trains its config and what it records.

Each trial builds its config from the space's values, trains it epoch by epoch with the
Trainer, reports the validation metric after each epoch (for median pruning) and returns the
final one. Trials that share their data reuse one dataset.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import optuna

from engine.config import Config
from engine.data import DataError, build_dataset
from engine.registry import ConfigError
from engine.search.space import Space, trial_config

if TYPE_CHECKING:
    from engine.data import Dataset
    from engine.trainer import Trainer

MAX_CACHED_DATASETS = 2  # datasets kept for trials that vary data fields (MNIST 60k: ~190 MB)


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
    space.check_switches(base)
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
    values = space.suggest(trial, base)
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
