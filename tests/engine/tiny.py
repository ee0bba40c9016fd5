"""The tiny network most engine tests train: 200 circle points (100 to train, 20 a batch: five
steps an epoch), two hidden layers of 8, five epochs, on the CPU; a run takes well under a
second. A test names only what it changes: `tiny(**{"model.norm": "batch"})`."""

from __future__ import annotations

from typing import Any

import torch

from engine.config import Config
from engine.trainer import Trainer

TINY: dict[str, Any] = {
    "device": "cpu",
    "data.dataset": "circle",
    "data.n_samples": 200,
    "model.hidden": [8, 8],
    "train.batch_size": 20,
    "train.epochs": 5,
}


def tiny(**changes: Any) -> Config:
    """The tiny run's config with `changes` (dotted paths) applied."""
    return Config().replace(**{**TINY, **changes})


def trained(**changes: Any) -> Trainer:
    """A tiny run with `changes`, trained to its end."""
    trainer = Trainer(tiny(**changes))
    trainer.run()
    return trainer


def outputs(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    """The network's outputs for `x` in eval mode (dropout off, BatchNorm's running stats)."""
    trainer.model.eval()
    with torch.no_grad():
        return trainer.model(x)


def measured(evals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evaluation rows without their clock ("seconds"): the only field in which two runs of
    the same config may differ."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in evals]
