"""The Playground's pictures: input features, every hidden neuron and the output over the plane.

As in TensorFlow Playground, each neuron is drawn as a small heatmap of what it computes for
every point of the input plane, layer by layer from the inputs to the output, and the output
is the large decision-boundary map with the training and test points on top. The network is
evaluated here on a grid over the plane; the live view component (ui/liveview.py) draws the
result in the browser from uint8 heatmaps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.activations import ACTIVATIONS
from engine.data import Dataset
from engine.data.toy import make_features
from engine.inspection import (
    PlaneOutputs,
    evaluate_plane,
    plane_extent,
    plane_grid,
    plane_inputs,
)
from ui import i18n, liveview
from ui.live import LiveRun
from ui.widgets import FEATURE_LABELS

RESOLUTION = 64  # grid points per side for the output, drawn smoothly scaled up in the browser
UNIT_POOL = 4  # neuron thumbnails average 4x4 grid points: 16x16 values each
MAX_UNITS_SHOWN = 12
CURVE_POINTS = 150  # the small loss chart under the output
# Sizes in CSS pixels: the network's height budget, its largest neuron, the output square.
# A 1280x720 projector shows the buttons, the network and the output without scrolling.
SIZES = {"height": 290, "thumb": 46, "size": 290}
PRESENT_SIZES = {"height": 360, "thumb": 60, "size": 360}


def _plane(run: LiveRun) -> tuple[float, Any, dict[str, Any]]:
    """What never changes while a run trains (its data is fixed): the plane's extent, the
    network's inputs over its grid and the picture's input column. Made once per run."""
    cached = run.cache.get("plane")
    if cached is None:
        d = run.trainer.data
        extent = plane_extent(d)
        cached = (extent, plane_inputs(d, RESOLUTION, extent), feature_column(d, extent))
        run.cache["plane"] = cached
    return cached


def plane_of(run: LiveRun) -> PlaneOutputs:
    """The run's network over the plane."""
    extent, inputs, _ = _plane(run)
    model, data = run.trainer.model, run.trainer.data
    return evaluate_plane(model, data, RESOLUTION, extent, inputs, keep_units=MAX_UNITS_SHOWN)


def _pooled(maps: np.ndarray) -> np.ndarray:
    """(res, res, units) -> (units, res/UNIT_POOL, res/UNIT_POOL) block means."""
    r = maps.shape[0] // UNIT_POOL
    pooled = maps[: r * UNIT_POOL, : r * UNIT_POOL].reshape(r, UNIT_POOL, r, UNIT_POOL, -1)
    return pooled.mean(axis=(1, 3)).transpose(2, 0, 1)


def feature_column(dataset: Dataset, extent: float) -> dict[str, Any]:
    """Each input feature over the plane (x1, x2, x1^2, ...), normalized as the network sees
    it, as a column of the network picture."""
    xy = plane_grid(extent, RESOLUTION)
    raw = make_features(xy, dataset.feature_names)  # (res*res, F)
    x = (raw - dataset.shift.numpy()) / dataset.scale.numpy()
    limit = float(np.abs(x).max()) or 1.0
    maps = _pooled(x.reshape(RESOLUTION, RESOLUTION, -1))
    names = [FEATURE_LABELS.get(f, f) for f in dataset.feature_names]
    return _column("Inputs", maps, limit, labels=names)


def _column(
    title: str, maps: np.ndarray, limit: float, more: int = 0, labels: list[str] | None = None
) -> dict[str, Any]:
    return {
        "title": title,
        "n": int(maps.shape[0]),
        "res": int(maps.shape[1]),
        "maps": liveview.b64(liveview.signed_bytes(maps, limit)),
        "more": more,
        "labels": labels or [],
    }


def plane_width(plane: PlaneOutputs, layer: int) -> int:
    """Units of hidden layer `layer` (as the activation outputs them)."""
    return plane.widths[layer] if layer < len(plane.widths) else 1


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


def _weight_data(w: np.ndarray | None) -> dict[str, Any] | None:
    """A weight matrix scaled to [-1, 1] by its largest magnitude (line widths), rounded."""
    if w is None:
        return None
    w = np.nan_to_num(w)  # a diverged network has NaN weights: draw no lines for them
    scale = float(np.abs(w).max()) or 1.0
    return {"rows": int(w.shape[0]), "cols": int(w.shape[1]),
            "values": np.round(w / scale, 3).ravel().tolist()}  # fmt: skip


def output_values(plane: PlaneOutputs, discretize: bool, value_limit: float) -> dict[str, Any]:
    """The output map: two classes as p(1) - p(0) and regression as the value (diverging
    colours), three or more as (winning class, confidence) pairs."""
    out = plane.output
    res = out.shape[0]
    if plane.task == "regression" or out.shape[-1] == 2:
        values = out[..., 0] if plane.task == "regression" else out[..., 1] - out[..., 0]
        limit = value_limit if plane.task == "regression" else 1.0
        values = np.sign(values) * limit if discretize else values
        return {
            "res": res,
            "mode": "values",
            "values": liveview.b64(liveview.signed_bytes(values, limit)),
        }
    k = out.shape[-1]
    winner = out.argmax(axis=-1)
    # confidence 0 at a uniform guess, 1 at certainty
    conf = np.ones(winner.shape) if discretize else (out.max(axis=-1) - 1 / k) / (1 - 1 / k)
    pairs = np.stack([winner, np.rint(np.clip(conf, 0, 1) * 255)], axis=-1)
    return {"res": res, "mode": "classes", "values": liveview.b64(pairs.astype(np.uint8))}


def _points(xy: np.ndarray | None, labels: np.ndarray, extent: float, task: str,
            value_limit: float) -> dict[str, Any] | None:  # fmt: skip
    """Points as uint16 image coordinates (x right, y down) and uint8 labels (class ids, or
    regression targets on the diverging scale)."""
    if xy is None or not len(xy):
        return None
    px = np.clip((xy[:, 0] + extent) / (2 * extent), 0, 1) * 65535
    py = np.clip((extent - xy[:, 1]) / (2 * extent), 0, 1) * 65535
    coords = np.stack([px, py], axis=1).round().astype("<u2")  # (n, 2) little-endian
    if task == "regression":
        tags = liveview.signed_bytes(labels.astype(np.float64), value_limit)
    else:
        tags = labels.astype(np.uint8)
    return {"xy": liveview.b64(coords.view(np.uint8)), "labels": liveview.b64(tags)}


def _points_data(d: Dataset, extent: float, value_limit: float, show_test: bool) -> dict[str, Any]:
    """The data points for the output map."""
    return {
        "points_sent": True,
        "train": _points(d.train_xy, _labels(d, "train"), extent, d.task, value_limit),
        "test": _points(d.val_xy, _labels(d, "val"), extent, d.task, value_limit)
        if show_test
        else None,
    }


def _labels(d: Dataset, split: str) -> np.ndarray:
    y = (d.train if split == "train" else d.val).y.numpy()
    return y[:, 0] if y.ndim == 2 else y


def legend(d: Dataset, lang: str = i18n.DEFAULT) -> str:
    """What the output map's colours and rings mean (class names from the data), in `lang`."""
    if d.task == "regression":
        return i18n.text_in(
            lang, "Output: blue high, orange low. White rings: training points; black: test."
        )
    colours = ["orange", "blue", "green", "purple"]
    each = i18n.text_in(lang, "class {k} {colour}")
    # an uploaded file's own class names, as typed (the live view shows text as text)
    named = i18n.text_in(lang, "{name} ({colour})")
    classes = i18n.text_in(lang, ", ").join(
        named.format(name=d.class_names[k], colour=i18n.text_in(lang, colours[k % 4]))
        if len(d.class_names) == d.n_classes
        else each.format(k=k, colour=i18n.text_in(lang, colours[k % 4]))
        for k in range(d.n_classes)
    )
    return i18n.text_in(
        lang, "Output: {classes}; pale = unsure. White rings: training points; black: test."
    ).format(classes=classes)


def curve(run: LiveRun) -> dict[str, list[float]]:
    """Training and held-out loss of every evaluation, thinned for the small chart."""
    evals = run.trainer.history.evals
    idx = (
        np.unique(np.linspace(0, len(evals) - 1, CURVE_POINTS).round().astype(int)) if evals else []
    )
    pick = [evals[i] for i in idx]

    def series(name: str) -> list[float]:
        return [round(float(e[name]), 5) if e.get(name) is not None else None for e in pick]

    return {"training": series("train_loss"), "held_out": series("val_loss")}


def network_data(
    run: LiveRun,
    show_test: bool,
    discretize: bool,
    present: bool,
    static: bool = True,
    lang: str = i18n.DEFAULT,
) -> dict[str, Any]:
    """Everything the component needs to draw the network, the output and the loss chart;
    without the data points unless `static` (they do not change while the run plays, and
    the browser keeps them); its text in `lang`. Calls no Streamlit: the training service
    builds frames with it."""

    def tr(text: str) -> str:
        return i18n.text_in(lang, text)

    t = run.trainer
    d = t.data
    plane = plane_of(run)
    bounds = ACTIVATIONS.get(t.cfg.model.activation).extra.get("bounds")
    columns = [{**_plane(run)[2], "title": tr("Inputs")}]  # the input column
    for i, units in enumerate(plane.units):
        shown = units[..., :MAX_UNITS_SHOWN]
        if bounds is not None:
            lo, hi = bounds
            centre, limit = (lo + hi) / 2, (hi - lo) / 2
        else:
            centre, limit = 0.0, float(np.abs(np.nan_to_num(shown)).max()) if shown.size else 1.0
        maps = _pooled(shown - centre)
        more = plane.widths[i] - shown.shape[-1]
        columns.append(_column(tr("Layer {n}").format(n=i + 1), maps, limit or 1.0, more))
    value_limit = 1.0
    if d.task == "regression":
        value_limit = float(np.abs(d.train.y.numpy()).max()) or 1.0
    output = output_values(plane, discretize, value_limit)
    out_map = _output_thumb(plane, value_limit)
    columns.append(_column(tr("Output"), out_map, 1.0))
    weights = _weights(run, plane, [c["n"] for c in columns])
    names = ", ".join(FEATURE_LABELS.get(f, f) for f in d.feature_names)
    points = _points_data(d, plane.extent, value_limit, show_test) if static else {}
    return {
        **points,
        "kind": "network",
        "frame": t.step_count,
        "present": present,
        **(PRESENT_SIZES if present else SIZES),
        "task": d.task,
        "columns": columns,
        "weights": [_weight_data(w) for w in weights],
        "output": output,
        "output_title": tr("Output (decision boundary)")
        if d.task == "classification"
        else tr("Output"),
        "curve": curve(run),
        "curve_legend": tr("Loss: training (blue), test (orange)"),
        "more_text": tr("+{n} more"),  # under a column with hidden units
        "legend": legend(d, lang),
        "caption": tr(
            "Inputs: {names}. Each square is one neuron over the plane. Lines are weights: "
            "blue positive, orange negative, thicker = larger."
        ).format(names=names),
    }


def _output_thumb(plane: PlaneOutputs, value_limit: float) -> np.ndarray:
    """The output as one small map for the diagram's last column, on [-1, 1]."""
    out = plane.output
    if plane.task == "regression":
        values = out[..., 0] / value_limit
    elif out.shape[-1] == 2:
        values = out[..., 1] - out[..., 0]
    else:
        values = out.max(axis=-1) * 2 - 1  # confidence of the winner
    return _pooled(values[..., None])
