"""Ensembles of trained runs (engine/ensemble.py): the ensemble's probabilities are the
members' average, its log loss is at most their mean (the loss is convex), stored runs can be
combined, and runs scored on other examples or classes are refused with a message that says
which runs differ."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.ensemble import (
    EPS,
    MAX_MEMBERS,
    EnsembleError,
    accuracy,
    average,
    combine,
    log_loss,
)
from engine.inspection import predict
from engine.store import RunStore
from tests.engine.tiny import trained


@pytest.fixture(scope="module")
def two_runs():
    """Two different networks on the same points: other widths and learning rates."""
    return trained(), trained(**{"model.hidden": [12], "train.lr": 0.3})


def test_the_ensemble_is_the_average_and_no_worse_in_log_loss_than_its_members(two_runs):
    a, b = two_runs
    e = combine([("#1", a), ("#2", b)])
    pa, pb = (predict(t.model, t.val_split).probs.astype(np.float64) for t in (a, b))
    assert not np.allclose(pa, pb)  # two different runs
    assert np.allclose(e.probs, (pa + pb) / 2, atol=1e-12)
    assert np.allclose(e.probs.sum(axis=1), 1.0, atol=1e-6)
    target = a.val_split.y.numpy()
    assert np.array_equal(e.target, target)
    # the numbers, computed here by hand
    losses = [float(-np.log(p[np.arange(len(target)), target]).mean()) for p in (pa, pb)]
    assert [m.log_loss for m in e.members] == pytest.approx(losses, rel=1e-9)
    assert e.log_loss == pytest.approx(
        float(-np.log(e.probs[np.arange(len(target)), target]).mean()), rel=1e-9
    )
    assert e.log_loss <= np.mean(losses) + 1e-12  # Jensen: -log is convex
    assert e.accuracy == pytest.approx(float((e.probs.argmax(1) == target).mean()))
    assert [m.accuracy for m in e.members] == pytest.approx(
        [float((p.argmax(1) == target).mean()) for p in (pa, pb)]
    )
    assert not e.on_test and len(e.split.y) == len(target)


def test_average_log_loss_and_accuracy_on_known_numbers():
    p1 = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    p2 = np.array([[0.5, 0.5], [0.6, 0.4], [0.2, 0.8]])
    target = np.array([0, 1, 1])
    avg = average([p1, p2])
    assert np.allclose(avg, [[0.7, 0.3], [0.4, 0.6], [0.4, 0.6]])
    assert log_loss(avg, target) == pytest.approx(-(np.log(0.7) + 2 * np.log(0.6)) / 3)
    assert accuracy(avg, target) == 1.0  # each member alone gets 2 of 3 right
    assert accuracy(p1, target) == accuracy(p2, target) == pytest.approx(2 / 3)


def test_stored_runs_make_an_ensemble(two_runs):
    store = RunStore()
    ids = [store.save(t, page="pg") for t in two_runs]
    e = combine((f"#{i}", store.load_trainer(i)) for i in ids)
    direct = combine([("a", two_runs[0]), ("b", two_runs[1])])
    assert np.allclose(e.probs, direct.probs, atol=1e-6)
    assert [m.name for m in e.members] == [f"#{i}" for i in ids]


def test_runs_of_other_points_are_refused(two_runs):
    a, _ = two_runs
    for change in ({"seed": 1}, {"data.n_samples": 300}, {"data.noise": 0.3},
                   {"data.dataset": "xor"}):  # fmt: skip
        with pytest.raises(EnsembleError, match=r"^#1 and #2 are scored on different examples"):
            combine([("#1", a), ("#2", trained(**change))])


def test_other_features_and_scaling_of_the_same_points_are_accepted(two_runs):
    a, _ = two_runs
    b = trained(**{"data.features": ["x1", "x2", "x1^2", "x2^2"], "data.normalize": "minmax"})
    e = combine([("#1", a), ("#2", b)])
    assert len(e.members) == 2


def test_other_classes_regression_and_too_few_runs_are_refused(two_runs):
    a, _ = two_runs
    three = trained(**{"data.dataset": "spiral3"})
    with pytest.raises(EnsembleError, match=r"predict different classes \(2 and 3 classes\)"):
        combine([("#1", a), ("#2", three)])
    reg = trained(**{"data.dataset": "reg_plane", "train.loss": "mse"})
    with pytest.raises(EnsembleError, match="#2 is a regression run"):
        combine([("#1", a), ("#2", reg)])
    with pytest.raises(EnsembleError, match="at least 2 runs, got 1"):
        combine([("#1", a)])
    with pytest.raises(EnsembleError, match=f"at most {MAX_MEMBERS} runs"):
        combine([(f"#{i}", a) for i in range(MAX_MEMBERS + 1)])


class Fixed(torch.nn.Module):
    """A two-class network with fixed answers: for each example of `target`, the wrong
    class's logit is ahead of the true class's by `gap`."""

    def __init__(self, target: np.ndarray, gap: float) -> None:
        super().__init__()
        self.logits = torch.zeros(len(target), 2)
        self.logits[np.arange(len(target)), 1 - target] = gap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits[: len(x)]


def test_a_zero_probability_keeps_the_ensemble_no_worse_than_its_members_mean():
    """A float32 softmax can give the true class 0: clipped at EPS, the ensemble's loss is
    still at most the members' mean (clipping the average instead would break that: one
    member at 0 and one at 2 EPS average to EPS, worse than their clipped mean)."""
    a, b = trained(), trained()
    target = a.val_split.y.numpy()
    a.model = Fixed(target, 200.0)  # probability of the true class: 0 in float32
    b.model = Fixed(target, float(np.log(1 / (2 * EPS))))  # about 2 EPS
    pa = predict(a.model, a.val_split).probs
    pb = predict(b.model, b.val_split).probs
    rows = np.arange(len(target))
    assert (pa[rows, target] == 0).all()
    assert np.allclose(pb[rows, target], 2 * EPS, rtol=1e-3)
    e = combine([("#1", a), ("#2", b)])
    assert e.log_loss <= e.mean_member_log_loss
    assert log_loss(e.probs, target) > e.mean_member_log_loss  # what clipping the average gives
