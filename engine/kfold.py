"""k-fold cross-validation of a Config: k runs, each scored on the one fold it did not train on.

The pool is the config's own training data: its training and validation splits together (for
MNIST the training images, `train_subset` of them plus the held-out `val_fraction`; for a toy
set all `n_samples` points). The official test set is left out and untouched. The pool is
shuffled with a stream of its own derived from the config's seed and cut into k folds of
near-equal size (numpy's array_split), so the same (config, k) always gives the same folds.
Run i trains on every fold but fold i, with the input scaling fitted on its own training part
(as `build_dataset` does), the config's seed for its initial weights, and is scored on fold i.

The spread of the k scores is how much one validation score moves with the examples it happens
to hold (and with the training set that changes with it); `KFoldResult` gives every fold's
score, their mean and their sample standard deviation (ddof=1).

Bounded: k is 2..MAX_K, every fold must keep at least MIN_FOLD examples, and k runs together
may take at most `max_steps()` optimizer steps ($PLAYGROUND_MAX_KFOLD_STEPS, default 20,000);
the memory budget is the config's own (engine.budget), as the runs train one after another.
`KFold` trains a little at a time (for a page's progress bar); `run_kfold` trains it all.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engine import budget
from engine.data import Dataset, Split, build_dataset
from engine.data.datasets import apply_scaling, fit_scaling
from engine.registry import ConfigError

if TYPE_CHECKING:
    from engine.config import Config
    from engine.data.datasets import Points
    from engine.trainer import Trainer

Array = np.ndarray[Any, Any]
MIN_K, MAX_K = 2, 10
MIN_FOLD = 2  # examples per fold, at least
DEFAULT_MAX_STEPS = 20_000
FOLD_STREAM = 0xF01D  # the folds' own random stream (engine.seeding's way)
METRICS = ("val_acc", "val_loss")


def max_steps() -> int:
    """Optimizer steps all k runs together may take ($PLAYGROUND_MAX_KFOLD_STEPS)."""
    try:
        value = int(os.environ.get("PLAYGROUND_MAX_KFOLD_STEPS", DEFAULT_MAX_STEPS))
    except ValueError:
        return DEFAULT_MAX_STEPS
    return value if value > 0 else DEFAULT_MAX_STEPS


def fold_indices(n: int, k: int, seed: int) -> list[Array]:
    """The k folds of a pool of `n` examples: disjoint index arrays that cover 0..n-1, sizes
    differing by at most one, shuffled by a stream derived from `seed`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, FOLD_STREAM]))
    return [np.sort(f) for f in np.array_split(rng.permutation(n), k)]


@dataclass(frozen=True)
class FoldScore:
    """One run: the fold it was scored on, how many examples it trained on and was scored
    on, its status, steps, and its validation loss and accuracy (None for regression)."""

    fold: int
    n_train: int
    n_val: int
    status: str
    steps: int
    val_loss: float | None
    val_acc: float | None

    def value(self, metric: str) -> float | None:
        v = getattr(self, metric)
        return None if v is None or not math.isfinite(v) else float(v)


@dataclass(frozen=True)
class KFoldResult:
    """Every fold's score and their mean and standard deviation per metric."""

    k: int
    pool: int
    folds: tuple[FoldScore, ...]

    def scores(self, metric: str) -> list[float]:
        """The folds' finite values of `metric` (a diverged run has none)."""
        return [v for f in self.folds if (v := f.value(metric)) is not None]

    def mean(self, metric: str) -> float | None:
        s = self.scores(metric)
        return float(np.mean(s)) if s else None

    def std(self, metric: str) -> float | None:
        """Sample standard deviation (ddof=1) of the folds' values; None with fewer than 2."""
        s = self.scores(metric)
        return float(np.std(s, ddof=1)) if len(s) >= 2 else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"k": self.k, "pool": self.pool}
        out["folds"] = [asdict(f) for f in self.folds]
        for metric in METRICS:
            out[f"{metric}_mean"], out[f"{metric}_std"] = self.mean(metric), self.std(metric)
        return out


def pool_of(data: Dataset) -> tuple[Split, Array | None]:
    """The training pool (train then validation examples) with the scaling undone, and the
    raw 2-D points of a toy set (None otherwise)."""
    x = torch.cat([data.train.x, data.val.x]) * data.scale + data.shift
    y = torch.cat([data.train.y, data.val.y])
    xy = None
    if data.train_xy is not None and data.val_xy is not None:
        xy = np.concatenate([data.train_xy, data.val_xy])
    return Split(x, y), xy


def fold_dataset(data: Dataset, pool: Split, xy: Array | None, held_out: Array) -> Dataset:
    """`data` with the pool split into training (all but `held_out`) and validation
    (`held_out`), the scaling refitted on the training part, and no test set."""
    keep = np.ones(len(pool.y), dtype=bool)
    keep[held_out] = False
    train_idx = torch.from_numpy(np.flatnonzero(keep))
    val_idx = torch.from_numpy(np.asarray(held_out))
    images = len(data.input_shape) > 1
    shift, scale = fit_scaling(pool.x[train_idx], data.normalize, images=images)
    return replace(
        data,
        train=Split(apply_scaling(pool.x[train_idx], shift, scale), pool.y[train_idx]),
        val=Split(apply_scaling(pool.x[val_idx], shift, scale), pool.y[val_idx]),
        test=None,
        shift=shift,
        scale=scale,
        train_xy=xy[np.flatnonzero(keep)] if xy is not None else None,
        val_xy=xy[held_out] if xy is not None else None,
    )


def check(cfg: Config, k: int, pool: int, pool_bytes: int = 0) -> None:
    """ConfigError (field "kfold.k") unless k folds of a pool of `pool` examples are allowed
    and k runs of `cfg` fit in max_steps(); ("data") unless the pool, `pool_bytes` of
    inputs held twice (the pool and one fold's split of it), fits in the run budget."""
    if isinstance(k, bool) or not isinstance(k, int) or not MIN_K <= k <= MAX_K:
        raise ConfigError("kfold.k", f"must be a whole number from {MIN_K} to {MAX_K}, got {k!r}")
    if pool < k * MIN_FOLD:
        raise ConfigError(
            "kfold.k",
            f"{k} folds need at least {k * MIN_FOLD} examples and the data has {pool}: use "
            "fewer folds or more data",
        )
    held, limit_mb = 2 * pool_bytes / budget.MB, budget.max_run_mb()
    if held > limit_mb:
        raise ConfigError(
            "data",
            f"cross-validation holds the {pool:,} examples twice, {held:,.0f} MB; this server "
            f"allows {limit_mb:,.0f} MB per run (PLAYGROUND_MAX_RUN_MB): use fewer examples "
            "(data.train_subset or data.n_samples)",
        )
    per_fold = []  # each run's steps: its training part is the pool less its fold
    for held_out in np.array_split(np.arange(pool), k):
        n_train = pool - len(held_out)
        batch = min(cfg.train.batch_size, n_train)
        per_fold.append(cfg.train.steps or cfg.train.epochs * max(1, n_train // batch))
    per_run, total, limit = max(per_fold), sum(per_fold), max_steps()
    if total > limit:
        raise ConfigError(
            "kfold.k",
            f"{k} runs of up to {per_run:,} steps are {total:,} steps; this server allows "
            f"{limit:,} for one cross-validation (PLAYGROUND_MAX_KFOLD_STEPS): use fewer folds, "
            "fewer epochs or a larger batch",
        )


@dataclass
class KFold:
    """A cross-validation in progress: trains fold after fold, a slice at a time."""

    cfg: Config
    k: int
    data: Dataset
    folds: list[Array]
    examples: Split  # the pool, scaling undone (pool_of)
    xy: Array | None  # its raw 2-D points, for a toy set
    scores: list[FoldScore] = field(default_factory=list)
    trainer: Trainer | None = None  # the run of fold len(scores), once started
    seconds: float = 0.0

    @classmethod
    def start(cls, cfg: Config, k: int, *, points: Points | None = None) -> KFold:
        """Build the data (`points` for an `uploaded` config) and the folds; ConfigError if
        k, the pool or the total training is out of bounds (see `check`)."""
        data = build_dataset(cfg.data, cfg.seed, points)
        n = len(data.train.y) + len(data.val.y)
        check(cfg, k, n, (data.train.x.nbytes + data.val.x.nbytes))
        examples, xy = pool_of(data)
        # only the data's description is needed from here on (fold_dataset), not its tensors
        empty = Split(data.train.x[:0], data.train.y[:0])
        data = replace(data, train=empty, val=empty, test=None)
        return cls(cfg, k, data, fold_indices(n, k, cfg.seed), examples, xy)

    @property
    def pool(self) -> int:
        return sum(len(f) for f in self.folds)

    @property
    def done(self) -> bool:
        return len(self.scores) >= self.k

    @property
    def progress(self) -> float:
        """0..1: folds finished, plus the share of the current fold's steps taken."""
        part = 0.0
        if self.trainer is not None and self.trainer.total_steps:
            part = min(self.trainer.step_count / self.trainer.total_steps, 1.0)
        return min((len(self.scores) + part) / self.k, 1.0)

    def step(self, seconds: float) -> None:
        """Train the current fold's run for about `seconds` (at least one step); score it
        and move to the next fold when it ends."""
        from engine.trainer import Trainer

        if self.done:
            return
        if self.trainer is None:
            held_out = self.folds[len(self.scores)]
            fold = fold_dataset(self.data, self.examples, self.xy, held_out)
            self.trainer = Trainer(self.cfg, dataset=fold)
        t = self.trainer
        before = t.seconds
        t.run_for(seconds)
        self.seconds += t.seconds - before
        if t.done:
            m = t.metrics(t.val_split) if t.status != "diverged" else {}
            self.scores.append(
                FoldScore(
                    fold=len(self.scores),
                    n_train=len(t.train_split.y),
                    n_val=len(t.val_split.y),
                    status=t.status,
                    steps=t.step_count,
                    val_loss=m.get("loss"),
                    val_acc=m.get("acc"),
                )
            )
            self.trainer = None

    def result(self) -> KFoldResult:
        return KFoldResult(self.k, self.pool, tuple(self.scores))


def run_kfold(
    cfg: Config,
    k: int,
    *,
    points: Points | None = None,
    on_fold: Callable[[FoldScore], None] | None = None,
) -> KFoldResult:
    """Cross-validate `cfg` with k folds, all at once; `on_fold` is called as each ends."""
    run = KFold.start(cfg, k, points=points)
    while not run.done:
        n = len(run.scores)
        run.step(3600.0)
        if on_fold is not None and len(run.scores) > n:
            on_fold(run.scores[-1])
    return run.result()
