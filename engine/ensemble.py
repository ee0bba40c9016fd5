"""Ensembles of trained classifiers: the average of their predicted class probabilities.

`combine([(name, trainer), ...])` scores every run on its evaluation split (the test set when
the data has one, as the Evaluation page does: MNIST's official test set; else the validation
points) and averages the softmax outputs, example by example. The runs must have been scored
on the same examples with the same classes: a run of other data, another seed of a toy set
(other points), another sample count or split is refused with an `EnsembleError` that says
which two runs differ and how. Networks, input features and input scaling may differ: each
member sees the examples as its own run prepared them.

Why averaging helps: the log loss -log p(true class) is convex in p, so the loss of the
averaged probabilities is at most the mean of the members' losses (Jensen's inequality), and
usually lower than the best member's when the members make different mistakes.

Members are taken one at a time from an iterable, so a caller can load stored runs lazily and
only one run's network and data are held at once (plus the first run's evaluation split,
which the views of the ensemble draw from).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data import Dataset, Split
from engine.inspection import predict

if TYPE_CHECKING:
    from engine.trainer import Trainer

Array = np.ndarray[Any, Any]
MIN_MEMBERS = 2
MAX_MEMBERS = 10  # runs in one ensemble (each is loaded and scored on the whole split)
EPS = 1e-12  # probabilities are clipped here before the log (a float32 softmax can give 0)
RAW_TOLERANCE = 1e-3  # raw inputs of the same examples agree to float32 rounding, not better


class EnsembleError(ValueError):
    """Runs that cannot be averaged together; the message says which and why."""


@dataclass(frozen=True)
class Member:
    """One run of the ensemble: its name and scores (its probabilities are averaged in and
    not kept: ten MNIST runs' would be 8 MB)."""

    name: str
    accuracy: float
    log_loss: float


@dataclass(frozen=True)
class Ensemble:
    """The members and their average. `probs` (N, C) is the mean of the members' `probs`;
    `target` (N,) the true classes; `split` and `data` are the first member's evaluation
    split and data set (the examples as that run saw them, for pictures of the mistakes; its
    training split emptied, as nothing here needs it);
    `on_test` says whether the split is a test set (else validation points)."""

    members: tuple[Member, ...]
    probs: Array
    target: Array
    accuracy: float
    log_loss: float
    split: Split
    data: Dataset
    on_test: bool

    @property
    def mean_member_log_loss(self) -> float:
        return float(np.mean([m.log_loss for m in self.members]))

    @property
    def best_member_accuracy(self) -> float:
        return max(m.accuracy for m in self.members)


def eval_split(trainer: Trainer) -> Split:
    """The split a run is evaluated on: its test set if the data has one, else validation."""
    return trainer.test_split if trainer.test_split is not None else trainer.val_split


def raw_inputs(trainer: Trainer) -> Array:
    """The evaluation examples before the run's own features and scaling: the raw 2-D points
    of a toy set, else the inputs with the normalization undone (pixels 0..255 for MNIST)."""
    data = trainer.data
    if trainer.test_split is None and data.val_xy is not None:
        return np.asarray(data.val_xy, dtype=np.float64)
    x = eval_split(trainer).x.detach().cpu()
    return (x * data.scale.cpu() + data.shift.cpu()).reshape(len(x), -1).numpy()


def average(probs: Iterable[Array]) -> Array:
    """The example-by-example mean of several (N, C) probability arrays, in float64."""
    stacked = [np.asarray(p, dtype=np.float64) for p in probs]
    if not stacked:
        raise EnsembleError("nothing to average")
    return np.mean(stacked, axis=0)


def _true_class(probs: Array, target: Array) -> Array:
    """Each example's probability of its true class, clipped to [EPS, 1]."""
    p = np.asarray(probs, dtype=np.float64)[np.arange(len(target)), np.asarray(target)]
    return np.clip(p, EPS, 1.0)


def log_loss(probs: Array, target: Array) -> float:
    """Mean -log p(true class) (natural log), the probability clipped at EPS."""
    return float(-np.log(_true_class(probs, target)).mean())


def accuracy(probs: Array, target: Array) -> float:
    return float((np.asarray(probs).argmax(axis=1) == np.asarray(target)).mean())


def combine(runs: Iterable[tuple[str, Trainer]]) -> Ensemble:
    """Score each (name, trainer) on its evaluation split and average their probabilities.

    Raises EnsembleError for fewer than MIN_MEMBERS or more than MAX_MEMBERS runs, a
    regression run, or runs scored on different examples or classes."""
    members: list[Member] = []
    total: Array | None = None  # the sum of the members' probabilities
    true_total: Array | None = None  # ... of the true class, clipped as log_loss clips
    first: tuple[str, Trainer, Array, Array] | None = None  # name, trainer, raw, target
    for name, trainer in runs:
        if len(members) >= MAX_MEMBERS:
            raise EnsembleError(f"an ensemble takes at most {MAX_MEMBERS} runs; pick fewer runs")
        if trainer.task != "classification":
            raise EnsembleError(
                f"{name} is a regression run: an ensemble averages class probabilities, so "
                "it needs classification runs"
            )
        split = eval_split(trainer)
        target = split.y.detach().cpu().numpy()
        if first is None:
            first = (name, trainer, raw_inputs(trainer), target)
        else:
            _check_same(first, name, trainer, target)
        p = predict(trainer.model, split).probs.astype(np.float64)
        members.append(Member(name, accuracy(p, target), log_loss(p, target)))
        total = p if total is None else total + p
        true_p = _true_class(p, target)
        true_total = true_p if true_total is None else true_total + true_p
    if first is None or total is None or true_total is None or len(members) < MIN_MEMBERS:
        raise EnsembleError(
            f"an ensemble needs at least {MIN_MEMBERS} runs, got {len(members)}; pick more runs"
        )
    _, trainer, _, target = first
    probs = total / len(members)
    data = trainer.data
    empty = Split(data.train.x[:0], data.train.y[:0])
    return Ensemble(
        members=tuple(members),
        probs=probs,
        target=target,
        accuracy=accuracy(probs, target),
        # the mean of the members' clipped probabilities: the same as log_loss(probs, target)
        # unless a member gave the true class less than EPS, and then still at most the
        # members' mean loss (Jensen), which clipping the average could break
        log_loss=float(-np.log(true_total / len(members)).mean()),
        split=eval_split(trainer),
        data=replace(data, train=empty),
        on_test=trainer.test_split is not None,
    )


def _check_same(
    first: tuple[str, Trainer, Array, Array], name: str, trainer: Trainer, target: Array
) -> None:
    """EnsembleError unless `trainer` is scored on the first run's examples and classes."""
    first_name, first_trainer, first_raw, first_target = first
    a, b = first_trainer.data, trainer.data
    if a.n_classes != b.n_classes or a.class_names != b.class_names:
        raise EnsembleError(
            f"{first_name} and {name} predict different classes ({a.n_classes} and "
            f"{b.n_classes} classes): an ensemble averages the probabilities of the same "
            "classes"
        )
    raw = raw_inputs(trainer)
    same = (
        (first_trainer.test_split is None) == (trainer.test_split is None)
        and raw.shape == first_raw.shape
        and np.array_equal(target, first_target)
        and np.allclose(raw, first_raw, rtol=RAW_TOLERANCE, atol=RAW_TOLERANCE)
    )
    if not same:
        raise EnsembleError(
            f"{first_name} and {name} are scored on different examples (other data, seed, "
            "number of points, noise or split): an ensemble averages predictions on the same "
            "examples; pick runs of the same data"
        )
