"""Looking at a trained network: its outputs over the input plane, per-unit maps, predictions.

These are what the trainer pages draw besides the curves: the decision boundary of a 2-D toy
network (its output on a grid of points), a small map of every hidden unit over the same grid
(TensorFlow Playground's neuron thumbnails), and, for image sets, the predicted class and
confidence of each example, the confusion matrix and the most confidently wrong examples.
Everything runs in eval mode under `torch.no_grad()` and returns NumPy arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engine.data import Dataset, Split
from engine.models import Network, unchanged

Array = np.ndarray[Any, Any]
EVAL_CHUNK = 4096  # examples per forward pass for a network without its own (engine.budget)


@dataclass(frozen=True)
class PlaneOutputs:
    """A network evaluated on a `resolution` x `resolution` grid over [-extent, extent]^2.

    `output`: (res, res, C) class probabilities (classification) or (res, res, 1) predicted
    values (regression). `units`: one (res, res, kept) array of post-activation values per
    hidden layer, the first `kept` of its `widths[i]` units (all of them unless the caller
    asked for fewer). Row 0 is the top of the plane (largest x2), as images are drawn.
    """

    extent: float
    output: Array
    units: list[Array]
    task: str
    widths: tuple[int, ...] = ()


def plane_extent(dataset: Dataset, margin: float = 1.05) -> float:
    """Half-width of a square that holds every raw 2-D point of a toy set, rounded up."""
    if dataset.train_xy is None:
        raise ValueError(f"{dataset.name} has no 2-D points to draw")
    pts = [dataset.train_xy] + ([dataset.val_xy] if dataset.val_xy is not None else [])
    peak = float(max(np.abs(p).max() for p in pts if len(p)))
    return float(math.ceil(peak * margin)) if peak > 0 else 1.0


def plane_grid(extent: float, resolution: int) -> Array:
    """Raw points (res*res, 2) of the grid in image order: x1 left to right, x2 top to bottom."""
    xs = np.linspace(-extent, extent, resolution)
    x1, x2 = np.meshgrid(xs, xs[::-1])  # image rows go from top (large x2) to bottom
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


def plane_inputs(dataset: Dataset, resolution: int, extent: float) -> Tensor:
    """The network's inputs (res*res, F) for the grid over the plane: features made and
    normalized as for the data. The same for every redraw of a run, so callers may keep it."""
    return dataset.prepare_points(plane_grid(extent, resolution))


@torch.no_grad()
def evaluate_plane(
    model: Network,
    dataset: Dataset,
    resolution: int = 80,
    extent: float | None = None,
    inputs: Tensor | None = None,
    keep_units: int | None = None,
) -> PlaneOutputs:
    """The network's output and every hidden unit's activation over the input plane.
    `inputs` are `plane_inputs(dataset, resolution, extent)`, if the caller kept them.
    `keep_units`: keep only each layer's first units (a view draws a dozen; keeping all of a
    32-layer network's would be res^2 x every unit, hundreds of MB per frame)."""
    extent = plane_extent(dataset) if extent is None else extent
    device = next(model.parameters()).device
    x = plane_inputs(dataset, resolution, extent) if inputs is None else inputs
    x = x.to(device)  # (res*res, F)
    captured: dict[int, Tensor] = {}
    widths: dict[int, int] = {}

    def hook(index: int):
        def save(module: torch.nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            widths[index] = output.shape[1]
            kept = output.detach()
            if keep_units is not None and kept.shape[1] > keep_units:
                kept = kept[:, :keep_units].clone()  # a slice alone would keep all units alive
            captured[index] = kept  # (res*res, kept)

        return save

    handles = [b.act.register_forward_hook(hook(i)) for i, b in enumerate(model.hidden_blocks())]
    was_training = model.training
    model.eval()
    try:
        out = model(x)  # (res*res, C)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if dataset.task == "classification":
        out = torch.softmax(out, dim=1)
    shape = (resolution, resolution, -1)
    units = [captured[i].reshape(shape).cpu().numpy() for i in sorted(captured)]
    kept = tuple(widths[i] for i in sorted(widths))
    return PlaneOutputs(extent, out.reshape(shape).cpu().numpy(), units, dataset.task, kept)


@dataclass(frozen=True)
class Predictions:
    """Per-example results on one split: `probs` (N, C), `pred` (N,), `target` (N,)."""

    probs: Array
    pred: Array
    target: Array

    @property
    def correct(self) -> Array:
        return self.pred == self.target

    @property
    def confidence(self) -> Array:
        """Probability the network gave its own answer."""
        return self.probs.max(axis=1)

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self.target) else math.nan


@torch.no_grad()
def predict(model: Network, split: Split) -> Predictions:
    """Class probabilities of every example of a classification split, in eval mode."""
    was_training = model.training
    model.eval()
    chunk = getattr(model, "eval_chunk", EVAL_CHUNK)  # a Trainer's network carries its own
    try:
        chunks = [
            torch.softmax(model(split.x[i : i + chunk]), dim=1).cpu()
            for i in range(0, len(split.y), chunk)
        ]
    finally:
        model.train(was_training)
    probs = torch.cat(chunks).numpy() if chunks else np.zeros((0, 0), dtype=np.float32)
    pred = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)
    return Predictions(probs, pred, split.y.cpu().numpy())


def confusion_matrix(target: Array, pred: Array, n_classes: int) -> Array:
    """(n_classes, n_classes) counts: row = true class, column = predicted class."""
    flat = target.astype(np.int64) * n_classes + pred.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def most_confident_wrong(p: Predictions, k: int = 12) -> Array:
    """Indices of up to `k` misclassified examples, the most confident mistakes first."""
    wrong = np.flatnonzero(~p.correct)
    order = np.argsort(-p.confidence[wrong], kind="stable")
    return wrong[order[:k]]


@dataclass(frozen=True)
class ModeStats:
    """One hidden layer's outputs on the same inputs in train mode and in eval mode.

    `train`/`eval`: the block's outputs (after activation, normalization and dropout) as
    float arrays (N, units), flattened over positions for conv layers; `pre_*`: mean and
    variance of the NEXT layer's input in each mode, the quantity Li et al. 2019 ("Understanding
    the disharmony between dropout and batch normalization") call the variance shift.
    """

    layer: str
    train: Array
    eval: Array
    train_mean: float
    eval_mean: float
    train_var: float
    eval_var: float


@torch.no_grad()
def train_vs_eval(model: Network, x: Tensor) -> list[ModeStats]:
    """Every hidden block's output on `x` in train mode (dropout active, batch statistics) and
    in eval mode (no dropout, running statistics), without changing the model: BatchNorm's
    running statistics and the dropout generator are restored afterwards."""
    outputs: dict[str, dict[int, Tensor]] = {"train": {}, "eval": {}}

    def hook(mode: str, index: int):
        def save(module: torch.nn.Module, inputs: tuple[Tensor, ...], out: Tensor) -> None:
            outputs[mode][index] = out.detach()

        return save

    with unchanged(model):
        for mode in ("train", "eval"):
            model.train(mode == "train")
            handles = [
                b.register_forward_hook(hook(mode, i)) for i, b in enumerate(model.hidden_blocks())
            ]
            try:
                model(x)
            finally:
                for h in handles:
                    h.remove()
    out = []
    for i in sorted(outputs["train"]):
        tr, ev = outputs["train"][i], outputs["eval"][i]  # (N, units) or (N, C, H, W)
        if tr.dim() > 2:  # channels as units: (N*H*W, C)
            tr = tr.movedim(1, -1).reshape(-1, tr.shape[1])
            ev = ev.movedim(1, -1).reshape(-1, ev.shape[1])
        out.append(
            ModeStats(
                layer=f"hidden {i + 1}",
                train=tr.cpu().numpy(),
                eval=ev.cpu().numpy(),
                train_mean=float(tr.mean()),
                eval_mean=float(ev.mean()),
                train_var=float(tr.var()),
                eval_var=float(ev.var()),
            )
        )
    return out


def weight_summary(model: Network, tiny: float = 1e-3) -> list[dict[str, Any]]:
    """Per weight layer: the weights as a flat array, the share with |w| < `tiny` (L1 drives
    weights to exactly zero; L2 only shrinks them) and the L2 norm."""
    rows = []
    for name, layer in model.weight_layers():
        w = layer.weight.detach().flatten().cpu().numpy()
        rows.append(
            {
                "layer": name,
                "weights": w,
                "near_zero": float((np.abs(w) < tiny).mean()),
                "norm": float(np.linalg.norm(w)),
            }
        )
    return rows


@torch.no_grad()
def accuracy_in_mode(model: Network, split: Split, batch_size: int, train_mode: bool) -> float:
    """Accuracy on `split` scored in batches of `batch_size`, in train mode (BatchNorm uses
    each batch's own statistics) or eval mode (its running statistics). The model is left as
    it was: running statistics and the dropout generator are restored."""
    correct, n = 0, len(split.y)
    with unchanged(model):
        model.train(train_mode)
        for i in range(0, n - batch_size + 1, batch_size):  # full batches only
            out = model(split.x[i : i + batch_size])
            correct += int((out.argmax(dim=1) == split.y[i : i + batch_size]).sum())
    scored = (n // batch_size) * batch_size
    return correct / scored if scored else math.nan
