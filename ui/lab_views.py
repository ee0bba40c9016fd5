"""Views the labs draw from a side-by-side run: per-layer pictures at initialization and
during training, gradients by depth and over time, final weight histograms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from engine.activations import ACTIVATIONS
from engine.config import field_paths
from engine.inspection import accuracy_in_mode, evaluate_plane, train_vs_eval, weight_summary
from engine.probes import probe_at_init
from engine.trainer import changed_fields
from ui import charts, i18n, images
from ui.controls import label_of
from ui.live import LiveRun
from ui.panels import PARTS, latest_layers_of, shown_layers

INIT_EXAMPLES = 1000  # inputs the initialization pictures are computed on


def init_layers(run: LiveRun) -> dict[str, list[dict[str, Any]]]:
    """Each run's per-layer summaries before any training (one forward/backward pass on the
    same INIT_EXAMPLES inputs), computed once per run and kept: Play does not change them."""
    if "init" not in run.cache:
        out = {}
        for label, t in zip(run.labels, run.trainers, strict=True):
            model = t.model
            if t.step_count:  # trained already: probe a fresh copy of its starting point
                model = type(t)(t.cfg, dataset=t.data).model
            n = min(INIT_EXAMPLES, len(t.train_split.y))
            x, y = t.train_split.x[:n], t.train_split.y[:n]
            out[label] = probe_at_init(model, t.cfg.model.activation, x, y, t.loss_fn)
        run.cache["init"] = out
    return run.cache["init"]


def current_layers(run: LiveRun) -> dict[str, list[dict[str, Any]]]:
    """Each run's per-layer summaries now (on a fixed batch; see ui.panels)."""
    return {label: latest_layers_of(run, i)[0] for i, label in enumerate(run.labels)}


def layer_pictures(runs: dict[str, list[dict[str, Any]]], part: str, when: str) -> None:
    """Histograms (rows: runs, columns: layers), then std and saturated/dead by depth."""
    df = shown_layers(charts.run_histograms_table(runs, part))
    st.caption(
        i18n.t(
            "{part} of every layer, {when}. Each panel has its own x and y range (hover "
            "over a bar for its share)."
        ).format(part=i18n.t(PARTS[part]), when=when)
    )
    if len(df):
        title = i18n.t(PARTS[part]).split(" (")[0].split("（")[0]  # "Activations", "激活值"
        layers = int(df["layer"].nunique())
        charts.show(charts.histogram_grid_chart, df, title, tuple(runs), layers, width="content")
    cols = st.columns(2)
    std = shown_layers(charts.depth_table(runs, "std"))
    if len(std):
        charts.show(
            charts.depth_chart, std, "Activation std by depth", True, False, tuple(runs),
            where=cols[0],
        )  # fmt: skip
    for stat, title in (("saturated", "Saturated units by depth"), ("dead", "Dead units by depth")):
        df = shown_layers(charts.depth_table(runs, stat))
        if len(df):
            charts.show(charts.depth_chart, df, title, False, True, tuple(runs), where=cols[1])
            break


def init_view(run: LiveRun, part: str = "post") -> None:
    """The runs' layers at initialization."""
    layer_pictures(init_layers(run), part, i18n.t("at initialization, before any training"))


def now_view(run: LiveRun, part: str = "post") -> None:
    """The runs' layers now."""
    steps = i18n.t(", ").join(
        f"{i18n.t(label)} {t.step_count:,}"
        for label, t in zip(run.labels, run.trainers, strict=True)
    )
    layer_pictures(current_layers(run), part, i18n.t("now (steps: {steps})").format(steps=steps))


def gradients_view(run: LiveRun) -> None:
    """Gradient norm by depth at initialization and now, and every layer's over time."""
    cols = st.columns(2)
    titles = ("Gradient norm by depth, at init", "Gradient norm by depth, now")  # charts translate
    for col, title, layers in zip(
        cols, titles, (init_layers(run), current_layers(run)), strict=True
    ):
        df = shown_layers(charts.depth_table(layers, "grad_norm"))
        if len(df):
            charts.show(charts.depth_chart, df, title, True, False, tuple(run.labels), where=col)
    over_time = charts.grad_time_table(
        {label: t.history.probes for label, t in zip(run.labels, run.trainers, strict=True)}
    )
    if len(over_time):
        # the panels' headers are the runs' names (data, not a fixed list): shown translated
        over_time = shown_layers(over_time).assign(run=over_time["run"].map(i18n.t))
        charts.show(charts.grad_time_chart, over_time, width="content")
    st.caption(
        i18n.t(
            "A line that falls from the output (right) back to the input (left) is a vanishing "
            "gradient: the first layers barely learn. One that rises is exploding."
        )
    )


def bounded(activation: str) -> bool:
    return ACTIVATIONS.get(activation).extra.get("bounds") is not None


def weights_view(run: LiveRun) -> None:
    """Every run's weights now: histograms of all hidden-layer weights and the share that
    is practically zero (what L1 does and L2 does not)."""

    hists, rows = [], []
    for label, t in zip(run.labels, run.trainers, strict=True):
        summary = weight_summary(t.model)
        hidden = [r for r in summary if r["layer"] != "output"]
        w = np.concatenate([r["weights"] for r in hidden])
        lim = float(np.quantile(np.abs(w), 0.995)) or 1.0
        counts, edges = np.histogram(np.clip(w, -lim, lim), bins=41, range=(-lim, lim))
        for c, lo, hi in zip(counts, edges[:-1], edges[1:], strict=True):
            hists.append({"run": label, "lo": lo, "hi": hi, "fraction": c / len(w)})
        rows.append(
            {
                i18n.t("run"): i18n.t(label),
                "|w| < 0.001": f"{float((np.abs(w) < 1e-3).mean()):.1%}",
                i18n.t("weight norm (hidden layers)"): f"{float(np.linalg.norm(w)):.3g}",
            }
        )
    charts.show(charts.weights_chart, pd.DataFrame(hists), tuple(run.labels), width="content")
    st.table(pd.DataFrame(rows), hide_index=True)


def boundaries_view(run: LiveRun) -> None:
    """Every run's decision boundary with its training points (2-D data only)."""

    t0 = run.trainer
    if t0.data.train_xy is None:
        st.caption(i18n.t("Decision boundaries are drawn for 2-D datasets; this one is not."))
        return
    cols = st.columns(min(4, len(run.trainers)))
    for i, (label, t) in enumerate(zip(run.labels, run.trainers, strict=True)):
        plane = evaluate_plane(t.model, t.data, 60)
        train = (t.data.train_xy, t.data.train.y.numpy())
        test = (t.data.val_xy, t.data.val.y.numpy())
        img = images.boundary_image(plane, train, test, size=220)
        with cols[i % len(cols)]:
            st.image(images.to_jpeg(img), output_format="JPEG", caption=i18n.t(label), width=220)
    st.caption(i18n.t("White rings: training points; black rings: held-out points."))


def mode_shift_view(run: LiveRun, examples: int = 500) -> None:
    """Train mode vs eval mode on the same inputs, for every run that has dropout or
    BatchNorm: a layer's outputs side by side, and the mean and variance of each layer."""

    shown = False
    for label, t in zip(run.labels, run.trainers, strict=True):
        m = t.cfg.model
        if m.dropout == "none" and m.norm == "none":
            continue
        shown = True
        n = min(examples, len(t.train_split.y))
        stats = train_vs_eval(t.model, t.train_split.x[:n])
        st.markdown(f"**{i18n.t(label)}**")
        table = pd.DataFrame(
            [
                {
                    "layer": i18n.layer_name(i18n.lang(), s.layer),
                    "mean (train mode)": f"{s.train_mean:.3g}",
                    "mean (eval mode)": f"{s.eval_mean:.3g}",
                    "variance (train mode)": f"{s.train_var:.3g}",
                    "variance (eval mode)": f"{s.eval_var:.3g}",
                    "variance ratio": f"{s.train_var / s.eval_var:.2f}" if s.eval_var else "",
                    "zeros in train mode": f"{float((s.train == 0).mean()):.0%}",
                }
                for s in stats
            ]
        )
        st.table(table.rename(columns=i18n.t), hide_index=True)
        first = stats[0]
        units = min(8, first.train.shape[1])
        frame = pd.DataFrame(
            [
                {"mode": mode, "example": e, "unit": u, "value": float(arr[e, u])}
                for mode, arr in (("train mode", first.train), ("eval mode", first.eval))
                for e in range(min(6, len(arr)))
                for u in range(units)
            ]
        )
        charts.show(charts.mode_grid_chart, frame, width="content")
    if not shown:
        st.caption(i18n.t("None of these runs uses dropout or normalization."))
    else:
        st.caption(
            i18n.t(
                "Inverted dropout zeroes units in train mode and multiplies the rest by "
                "1/(1 − p), so the mean matches eval mode, where nothing is dropped; the "
                "variance does not, which is the shift a BatchNorm after dropout then "
                "mis-estimates."
            )
        )


def grid_view(run: LiveRun) -> None:
    """Training accuracy over epochs in small multiples: one panel per value of the first
    field the runs vary (a weight scale, say), one colour per value of the second (the
    normalization): where does the second rescue the first?"""
    fields = varied_fields(run)
    if not fields:
        st.caption(i18n.t("The runs do not differ in any setting."))
        return
    panel, colour = fields[0], (fields[1] if len(fields) > 1 else fields[0])
    frames = []
    for t in run.trainers:
        df = charts.curves_table(t.history, t.steps_per_epoch, "acc", "validation")
        df = df[df.split == "training"].drop(columns="split")  # one split: no legend
        frames.append(
            df.assign(panel=_fmt(panel, t.cfg.get(panel)), colour=_fmt(colour, t.cfg.get(colour)))
        )
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not len(df):
        st.caption(i18n.t("Press Play: one small chart per setting fills in as the runs train."))
        return
    # English names a field by its path's end ("init_std"), Chinese by its sidebar label
    titles = [i18n.field_label(path, path.split(".")[-1]) for path in (panel, colour)]
    charts.show(charts.grid_chart, df, *titles, width="content")


def varied_fields(run: LiveRun) -> list[str]:
    """Config fields whose values differ between the runs, in field-table order."""
    out: list[str] = []
    first = run.trainers[0].cfg
    for t in run.trainers[1:]:
        out += [f for f in changed_fields(first, t.cfg) if f not in out]
    order = field_paths()
    return sorted(out, key=order.index)


def _fmt(path: str, value: Any) -> str:
    return label_of(path, value) if isinstance(value, str) else str(value)


def modes_view(run: LiveRun) -> None:
    """For every BatchNorm run: accuracy scored with batch statistics (train mode) at
    several batch sizes, against the running statistics (eval mode)."""
    rows = []
    for label, t in zip(run.labels, run.trainers, strict=True):
        if t.cfg.model.norm != "batch" or t.task != "classification":
            continue
        split = t.val_split
        row = {
            i18n.t("run"): i18n.t(label),
            i18n.t("eval mode (running statistics)"): accuracy_in_mode(t.model, split, 500, False),
        }
        for bs in (2, 8, 64):
            column = i18n.t("train mode, batches of {bs}").format(bs=bs)
            row[column] = accuracy_in_mode(t.model, split, bs, True)
        rows.append(row)
    if not rows:
        st.caption(i18n.t("None of these runs uses BatchNorm."))
        return
    table = pd.DataFrame(rows)
    for col in table.columns[1:]:
        table[col] = table[col].map(lambda v: f"{v:.1%}")
    st.table(table, hide_index=True)
    st.caption(
        i18n.t(
            "The same trained network scored on the validation images. In eval mode each "
            "BatchNorm uses the running averages it collected during training; in train mode "
            "it uses the statistics of whatever batch it is given, which are noisy for small "
            "batches: the prediction for an image then depends on the other images in its "
            "batch."
        )
    )


def lr_view(run: LiveRun) -> None:
    """Every run's learning rate over training (what a schedule does)."""
    frames = [
        charts.lr_table(t.history, t.steps_per_epoch).assign(run=label)
        for label, t in zip(run.labels, run.trainers, strict=True)
        if t.history.step
    ]
    if not frames:
        st.caption(i18n.t("Press Play: each run's learning rate over time appears here."))
        return
    charts.show(charts.runs_lr_chart, pd.concat(frames, ignore_index=True), tuple(run.labels))
