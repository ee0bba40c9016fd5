"""Training losses by name, plus prediction and accuracy helpers.

Every entry's build has the signature `build(n_classes: int) -> loss_fn`, where
`loss_fn(output, target) -> Tensor` is the mean loss over the batch (a 0-d tensor).
Classification targets are int64 class indices (batch,) and outputs are logits
(batch, n_classes); regression targets are floats (batch,) or (batch, 1) and outputs (batch, 1).
Entry extra `tasks` lists the dataset tasks the loss fits; engine.config refuses other pairings.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from engine.registry import Registry

LossFn = Callable[[Tensor, Tensor], Tensor]
TASKS = ("classification", "regression")

LOSSES: Registry[Callable[[int], LossFn]] = Registry("loss", "train.loss")


@LOSSES.register(
    "cross_entropy",
    label="Cross-entropy",
    help="Negative log of the softmax probability given to the true class; the standard "
    "classification loss, with strong gradients even when the net is confidently wrong.",
    tasks=("classification",),
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
