"""Losses: every entry gives a mean loss with correct gradients; values match the formulas."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from engine.losses import LOSSES, TASKS, accuracy, predictions
from engine.registry import Entry

ENTRIES = pytest.mark.parametrize("entry", list(LOSSES), ids=LOSSES.names())
N_CLASSES = 3


def batch(task: str, n: int = 5, dtype: torch.dtype = torch.float64) -> tuple[Any, Any]:
    """Seeded outputs (requiring grad) and targets for `task`."""
    g = torch.Generator().manual_seed(0)
    if task == "classification":
        out = torch.randn(n, N_CLASSES, generator=g, dtype=dtype)
        y = torch.randint(0, N_CLASSES, (n,), generator=g)
    else:
        out = torch.randn(n, 1, generator=g, dtype=dtype)
        y = torch.randn(n, generator=g, dtype=dtype)
    return out.requires_grad_(), y


def entry_tasks() -> list[tuple[Entry[Any], str]]:
    return [(e, t) for e in LOSSES for t in e.extra["tasks"]]


@ENTRIES
def test_metadata(entry: Entry[Any]) -> None:
    assert entry.label and entry.help
    assert entry.extra["tasks"] and set(entry.extra["tasks"]) <= set(TASKS)


@pytest.mark.parametrize(
    ("entry", "task"), entry_tasks(), ids=[f"{e.name}-{t}" for e, t in entry_tasks()]
)
def test_mean_loss_with_correct_gradients(entry: Entry[Any], task: str) -> None:
    loss_fn = entry.build(N_CLASSES)
    out, y = batch(task)
    loss = loss_fn(out, y)
    assert loss.dim() == 0 and torch.isfinite(loss)
    # The mean over the batch: a batch repeated twice gives the same loss.
    twice = loss_fn(torch.cat([out, out]), torch.cat([y, y]))
    torch.testing.assert_close(twice, loss)
    assert torch.autograd.gradcheck(lambda o: loss_fn(o, y), (out,))


@pytest.mark.parametrize(
    ("entry", "task"), entry_tasks(), ids=[f"{e.name}-{t}" for e, t in entry_tasks()]
)
def test_better_outputs_give_lower_loss(entry: Entry[Any], task: str) -> None:
    loss_fn = entry.build(N_CLASSES)
    out, y = batch(task)
    if task == "classification":
        good = 5.0 * F.one_hot(y, N_CLASSES).double()  # confident and right
    else:
        good = y.reshape(-1, 1).clone()  # exact
    assert loss_fn(good, y) < loss_fn(out.detach(), y)


def test_cross_entropy_equals_torch() -> None:
    out, y = batch("classification")
    torch.testing.assert_close(
        LOSSES.get("cross_entropy").build(N_CLASSES)(out, y), F.cross_entropy(out, y)
    )


def test_mse_classification_is_squared_error_of_probabilities_summed_over_classes() -> None:
    out, y = batch("classification", n=4)
    expected = 0.0
    for row, label in zip(out.detach().tolist(), y.tolist(), strict=True):
        z = [math.exp(v) for v in row]
        probs = [v / sum(z) for v in z]
        expected += sum((p - (c == label)) ** 2 for c, p in enumerate(probs))
    expected /= 4
    assert LOSSES.get("mse").build(N_CLASSES)(out, y).item() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("target_shape", [(5,), (5, 1)])
def test_mse_regression_does_not_broadcast(target_shape: tuple[int, ...]) -> None:
    out, y = batch("regression")
    y = y.reshape(target_shape)
    expected = ((out.detach()[:, 0] - y.reshape(-1)) ** 2).mean()
    torch.testing.assert_close(LOSSES.get("mse").build(1)(out, y), expected)


def test_predictions_and_accuracy() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 4.0, 0.0], [5.0, 0.0, 0.0]])
    y = torch.tensor([0, 2, 0, 0])
    assert predictions(logits, "classification").tolist() == [0, 2, 1, 0]
    assert accuracy(logits, y) == 0.75
    values = torch.tensor([[0.5], [-1.0]])
    assert predictions(values, "regression").tolist() == [0.5, -1.0]
    with pytest.raises(ValueError, match="classification, regression"):
        predictions(values, "ranking")
