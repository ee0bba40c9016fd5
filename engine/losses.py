"""Training losses by name, plus prediction and accuracy helpers.

Every entry's build has the signature `build(n_classes: int) -> loss_fn`, where
`loss_fn(output, target) -> Tensor` is the mean loss over the batch (a 0-d tensor).
Classification targets are int64 class indices (batch,) and outputs are logits
(batch, n_classes); regression targets are floats (batch,) or (batch, 1) and outputs (batch, 1).
Entry extra `tasks` lists the dataset tasks the loss fits; engine.config refuses other pairings.
Entry extra `value_and_grad` (for the tasks in `manual_tasks`) returns the loss and its gradient
with respect to the output through the same ATen kernels autograd runs, for
engine/manual_backward.py.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.registry import Registry

LossFn = Callable[[Tensor, Tensor], Tensor]
TASKS = ("classification", "regression")

LOSSES: Registry[Callable[[int], LossFn]] = Registry("loss", "train.loss")
aten = torch.ops.aten
MEAN = 1  # ATen's code for reduction="mean"


def cross_entropy_value_and_grad(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of `logits` (batch, classes) and its gradient (batch, classes)."""
    log_p = aten._log_softmax(logits, 1, False)
    loss, total_weight = aten.nll_loss_forward(log_p, y, None, MEAN, -100)
    grad = aten.nll_loss_backward(torch.ones_like(loss), log_p, y, None, MEAN, -100, total_weight)
    return loss, aten._log_softmax_backward_data(grad, log_p, 1, log_p.dtype)


def mse_value_and_grad(output: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean squared error of a regression output (batch, 1) and its gradient."""
    target = y.reshape(output.shape)
    loss = aten.mse_loss(output, target, MEAN)
    return loss, aten.mse_loss_backward(torch.ones_like(loss), output, target, MEAN)


@LOSSES.register(
    "cross_entropy",
    label="Cross-entropy",
    help="Negative log of the softmax probability given to the true class; the standard "
    "classification loss, with strong gradients even when the net is confidently wrong.",
    tasks=("classification",),
    value_and_grad=cross_entropy_value_and_grad,
    manual_tasks=("classification",),
)
def _cross_entropy(n_classes: int) -> LossFn:
    return F.cross_entropy  # logits (batch, n_classes), int64 targets (batch,) -> mean


def brier(logits: Tensor, y: Tensor, n_classes: int) -> Tensor:
    """Squared error between softmax probabilities and one-hot targets (Brier 1950).

    Summed over classes and averaged over the batch, so it is the squared distance between the
    predicted and the true probability vector (in [0, 2]) whatever the number of classes;
    F.mse_loss would also divide by n_classes.
    """
    probs = logits.softmax(dim=1)  # (batch, n_classes)
    onehot = F.one_hot(y, n_classes).to(probs.dtype)  # (batch, n_classes)
    return (probs - onehot).pow(2).sum(dim=1).mean()


@LOSSES.register(
    "mse",
    label="Mean squared error",
    help="Regression: mean of (output - target)^2. Classification: squared distance between the "
    "softmax probabilities and the one-hot true class; its gradient fades when the net is "
    "confidently wrong, so it learns more slowly than cross-entropy.",
    tasks=("classification", "regression"),
    value_and_grad=mse_value_and_grad,
    manual_tasks=("regression",),  # the Brier score of classification goes through autograd
)
def _mse(n_classes: int) -> LossFn:
    def loss(output: Tensor, y: Tensor) -> Tensor:
        # The target's dtype tells the task: class indices are integers, regression targets float.
        if y.is_floating_point():
            # reshape, so (batch,) targets never broadcast against (batch, 1) into (batch, batch)
            return F.mse_loss(output, y.reshape(output.shape))
        return brier(output, y, n_classes)

    return loss


def predictions(output: Tensor, task: str) -> Tensor:
    """Predicted class indices (batch,) for classification; predicted values (batch,) else."""
    if task == "classification":
        return output.argmax(dim=1)
    if task == "regression":
        return output[:, 0]
    raise ValueError(f"unknown task '{task}'; use one of: {', '.join(TASKS)}")


def accuracy(logits: Tensor, y: Tensor) -> float:
    """Fraction of examples whose highest logit is the true class."""
    return (logits.argmax(dim=1) == y).float().mean().item()
