"""The Playground's pictures: input features, every hidden neuron and the output over the plane.

As in TensorFlow Playground, each neuron is drawn as a small heatmap of what it computes for
every point of the input plane, layer by layer from the inputs to the output, and the output
is the large decision-boundary map with the training and test points on top.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from engine.activations import ACTIVATIONS
from engine.data import Dataset
from engine.data.toy import make_features
from engine.inspection import PlaneOutputs, evaluate_plane, plane_grid
from ui import images
from ui.live import LiveRun
from ui.widgets import FEATURE_LABELS

RESOLUTION = 80  # grid points per side for the maps (80^2 = 6,400 forward passes: ~1 ms)
THUMB = 56  # pixels per neuron thumbnail
MAX_UNITS_SHOWN = 12


def feature_maps(dataset: Dataset, extent: float) -> list[Image.Image]:
    """Each input feature over the plane (x1, x2, x1^2, ...), normalized as the network sees it."""
    xy = plane_grid(extent, RESOLUTION)
    raw = make_features(xy, dataset.feature_names)  # (res*res, F)
    x = (raw - dataset.shift.numpy()) / dataset.scale.numpy()
    limit = float(np.abs(x).max()) or 1.0
    return [
        Image.fromarray(
            images.diverging(x[:, j].reshape(RESOLUTION, RESOLUTION), limit), "RGB"
        ).resize((THUMB, THUMB))
        for j in range(x.shape[1])
    ]


def plane_width(plane: PlaneOutputs, layer: int) -> int:
    """Units of hidden layer `layer` (as the activation outputs them)."""
    return plane.units[layer].shape[-1] if layer < len(plane.units) else 1


def _weights(run: LiveRun, plane: PlaneOutputs, shown: list[int]) -> list[np.ndarray | None]:
    """Weight matrices between neighbouring diagram columns, cut to the drawn units; None
    where a layer's weights do not map one-to-one onto the drawn units (maxout pieces)."""
    layers = [layer for _, layer in run.trainer.model.weight_layers()]
    out: list[np.ndarray | None] = []
    for i, layer in enumerate(layers):
        w = layer.weight.detach().cpu().numpy()  # (out, in)
        if w.ndim != 2:
            out.append(None)
            continue
        if i == len(layers) - 1:  # output: one map, like TF's single output neuron
            if plane.task == "classification" and w.shape[0] == 2:
                w = w[1:2] - w[0:1]  # the map shows p(class 1) - p(class 0)
            elif w.shape[0] != 1:
                out.append(None)
                continue
        n_out = shown[i + 1]
        # rows beyond the drawn units belong to hidden ones (">12 units"); maxout layers have
        # `pieces` rows per unit and cannot be drawn one line per weight
        is_maxout = layer is not layers[-1] and w.shape[0] != plane_width(plane, i)
        fits = w.shape[0] >= n_out and w.shape[1] >= shown[i] and not is_maxout
        out.append(w[:n_out, : shown[i]] if fits else None)
    return out


def network_maps(run: LiveRun, plane: PlaneOutputs, output: Image.Image) -> None:
    """The network as TF Playground draws it: input features, every hidden neuron and the
    output, each as a heatmap over the plane, joined by their weights."""
    t = run.trainer
    bounds = ACTIVATIONS.get(t.cfg.model.activation).extra.get("bounds")
    columns = [feature_maps(t.data, plane.extent)]
    titles = ["Inputs"]
    more = [0]
    for i, units in enumerate(plane.units):
        shown = units[..., :MAX_UNITS_SHOWN]
        columns.append(images.unit_maps(shown, bounds, THUMB))
        titles.append(f"Layer {i + 1}")
        more.append(units.shape[-1] - shown.shape[-1])
    columns.append([output])
    titles.append("Output")
    more.append(0)
    weights = _weights(run, plane, [len(c) for c in columns])
    img = images.network_diagram(columns, titles, weights, more, THUMB)
    names = ", ".join(FEATURE_LABELS.get(f, f) for f in t.data.feature_names)
    st.image(
        images.to_jpeg(img),
        output_format="JPEG",
        width=img.width,
        caption=f"Inputs: {names}. Lines are weights: blue positive, orange negative, "
        "thicker = larger.",
    )


def output_image(
    run: LiveRun, plane: PlaneOutputs, show_test: bool, discretize: bool
) -> Image.Image:
    """The decision boundary (or regression surface) with the data points."""
    d = run.trainer.data
    train = (d.train_xy, _labels(d, "train"))
    test = (d.val_xy, _labels(d, "val")) if show_test else None
    limit = 1.0
    if d.task == "regression":
        limit = float(np.abs(d.train.y.numpy()).max()) or 1.0
    return images.boundary_image(plane, train, test, discretize=discretize, value_limit=limit)


def output_map(img: Image.Image, run: LiveRun) -> None:
    st.image(
        images.to_jpeg(img),
        output_format="JPEG",
        caption=_legend(run.trainer.data),
        width=img.width,
    )


def _labels(d: Dataset, split: str) -> np.ndarray:
    y = (d.train if split == "train" else d.val).y.numpy()
    return y[:, 0] if y.ndim == 2 else y


def _legend(d: Dataset) -> str:
    if d.task == "regression":
        return "Output: blue high, orange low. White rings: training points; black: test."
    names = ["orange", "blue", "green", "purple"]
    classes = ", ".join(f"class {k} {names[k % 4]}" for k in range(d.n_classes))
    return f"Output: {classes}; pale = unsure. White rings: training points; black: test."


def plane_of(run: LiveRun) -> PlaneOutputs:
    return evaluate_plane(run.trainer.model, run.trainer.data, RESOLUTION)
