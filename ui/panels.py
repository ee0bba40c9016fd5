"""Panels both trainer pages draw from a live run: numbers, curves, inside-the-network views.

Each panel reads the trainer's history (small summaries from the engine's probes) and draws
Altair charts; none of them trains or evaluates anything expensive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from engine.probes import Probes
from ui import charts, i18n
from ui.live import LiveRun
from ui.state import skey

PROBE_EXAMPLES = 256  # fixed batch the inside views are computed on
PARTS = {
    "post": "Activations (after the non-linearity)",
    "pre": "Pre-activations (before it)",
    "weight": "Weights",
}


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def metric_items(run: LiveRun, held_out: str, lang: str = i18n.DEFAULT) -> list[dict[str, str]]:
    """Epoch, steps and the latest training / held-out loss and accuracy, for the live view
    component to show above its pictures (one element a tick instead of five), in `lang`
    (given, not asked: the training service builds frames outside the page's script)."""
    t = run.trainer
    last: dict[str, Any] = t.history.evals[-1] if t.history.evals else {}
    speed = t.step_count / t.seconds if t.seconds > 0 else 0.0
    acc = last.get("val_acc")
    items = [
        ("Epoch", f"{t.epoch:,.0f}" if t.epoch >= 10 else f"{t.epoch:.2f}", ""),
        ("Steps", f"{t.step_count:,}", "{speed:,.0f} steps per second"),
        ("Training loss", _fmt(last.get("train_loss")), ""),
        (f"{held_out.capitalize()} loss", _fmt(last.get("val_loss")), ""),
        (
            f"{held_out.capitalize()} accuracy",
            "–" if acc is None else f"{acc:.1%}",
            "Share of held-out examples classified correctly.",
        ),
    ]
    return [
        {
            "label": i18n.text_in(lang, label),
            "value": value,
            "help": i18n.text_in(lang, tip).format(speed=speed) if tip else "",
        }
        for label, value, tip in items
    ]


def curves_panel(run: LiveRun, held_out: str, log_loss: bool = False) -> None:
    """Loss and accuracy over epochs, training vs held-out."""
    t = run.trainer
    if not t.history.step:
        st.caption(i18n.t("Press Play or Step to start training; the curves appear here."))
        return
    loss = charts.curves_table(t.history, t.steps_per_epoch, "loss", held_out)
    cols = st.columns(2)
    charts.show(
        charts.curves_chart, loss, "Loss", log_loss, charts.splits_present(loss), where=cols[0]
    )
    if t.task == "classification":
        acc = charts.curves_table(t.history, t.steps_per_epoch, "acc", held_out)
        present = charts.splits_present(acc)
        charts.show(charts.curves_chart, acc, "Accuracy", False, present, where=cols[1])
    else:
        charts.show(charts.lr_chart, charts.lr_table(t.history, t.steps_per_epoch), where=cols[1])


def latest_layers(run: LiveRun) -> tuple[list[dict[str, Any]], str]:
    """`latest_layers_of` the run's (only) trainer."""
    return latest_layers_of(run, 0)


def latest_layers_of(run: LiveRun, index: int) -> tuple[list[dict[str, Any]], str]:
    """Per-layer summaries of trainer `index` now, on a fixed batch of training examples, and
    a caption saying when. Computed once per training step count and shared by the panels.

    A fixed batch (rather than the last minibatch) makes frames comparable over time and
    gives enough values for a smooth histogram even with a batch size of 10. The histogram
    ranges are fixed at the first frame, so a shrinking distribution visibly shrinks.
    """
    t = run.trainers[index]
    n = min(PROBE_EXAMPLES, len(t.train_split.y))
    # the caption is worded per call: the language may change between two steps
    when = (
        i18n.t("on {n} training examples, after {steps:,} steps")
        if t.step_count
        else i18n.t("on {n} training examples, at initialization (before any training)")
    ).format(n=n, steps=t.step_count)
    cached = run.cache.get(("layers", index))
    if cached is not None and cached[0] == t.step_count:
        return cached[1], when
    probes = run.cache.get(("snapshot_probes", index))
    if probes is None:
        probes = run.cache[("snapshot_probes", index)] = Probes(t.model, t.cfg.model.activation)
    layers = probes.snapshot(t.train_split.x[:n], t.train_split.y[:n], t.loss_fn)
    if t.history.probes:  # how much the last probed step moved the weights
        for row, frame_row in zip(layers, t.history.probes[-1]["layers"], strict=False):
            row["update_ratio"] = frame_row.get("update_ratio")
    run.cache[("layers", index)] = (t.step_count, layers)
    return layers, when


def live_tabs(
    page: str,
    run: LiveRun,
    held_out: str,
    log_loss: bool,
    extra: Mapping[str, Callable[[LiveRun], None]] | None = None,
) -> None:
    """Curves, inside-the-network and gradient views as tabs of which only the open one is
    computed and sent: charts in hidden tabs would cost as much as visible ones. `extra`
    adds a page's own tabs after these (English label -> view)."""
    views: dict[str, Callable[[LiveRun], None]] = {
        "Curves": lambda r: curves_panel(r, held_out, log_loss),
        "Inside the network": lambda r: inside_panel(r, page),
        "Gradients": gradients_panel,
        **(extra or {}),
    }
    # The tab's state is its shown label, so a language switch reopens the first tab.
    tabs = st.tabs([i18n.t(v) for v in views], key=skey(page, "tab"), on_change="rerun")
    for view, tab in zip(views.values(), tabs, strict=True):
        if tab.open is False:  # None: the open tab is not known, so draw them all
            continue
        with tab:
            view(run)


def part_picker(page: str, label: str = "Histograms show") -> str:
    """Which part of each layer the histograms show (a key of PARTS), as a row of radios."""
    shown = {part: i18n.t(text) for part, text in PARTS.items()}
    return st.radio(
        i18n.t(label),
        list(PARTS),
        format_func=shown.__getitem__,
        key=skey(page, "part"),
        horizontal=True,
    )


def inside_panel(run: LiveRun, page: str) -> None:
    """Per-layer histograms of activations / pre-activations / weights, and layer statistics."""
    part = part_picker(page)
    layers, when = latest_layers(run)
    hidden = layers if part == "weight" else [la for la in layers if la.get(part)]
    df = shown_layers(charts.histogram_table(hidden, part))
    st.caption(i18n.t("{part} of each layer, {when}.").format(part=i18n.t(PARTS[part]), when=when))
    if len(df):
        x_title = i18n.t(PARTS[part]).split(" (")[0].split("（")[0]  # "Activations", "激活值"
        charts.show(charts.histogram_chart, df, x_title, width="content")
    stats = charts.layer_stats_table(layers).dropna(axis=1, how="all")
    # A static table: Streamlit's interactive dataframe loads a grid library that more than
    # doubled the time to the page's first picture.
    table = shown_layers(charts.format_stats(stats))
    st.table(table.rename(columns=i18n.t), hide_index=True)
    st.caption(
        i18n.t(
            "Saturated: share of sigmoid/tanh outputs near their bounds, where the gradient "
            "vanishes. Dead: share of ReLU-like units that output 0 for every example of the "
            "batch, so they pass no gradient. Update / weight: how much one step changed the "
            "weights (around 1e-3 is healthy)."
        )
    )


def gradients_panel(run: LiveRun) -> None:
    """Per-layer gradient norms by depth (now) and over time."""
    layers, when = latest_layers(run)
    cols = st.columns(2)
    depth = shown_layers(charts.grad_depth_table(layers))
    if len(depth):
        charts.show(charts.grad_depth_chart, depth, where=cols[0])
    else:
        cols[0].caption(i18n.t("No finite gradients to show (has the run diverged?)."))
    df = shown_layers(charts.grad_norms_table(run.trainer.history.probes))
    if len(df):
        charts.show(charts.grad_norms_chart, df, where=cols[1])
    else:
        cols[1].caption(i18n.t("Gradient norms over time appear once training starts."))
    st.caption(
        i18n.t(
            "Gradient norms {when}. Bars far shorter near the input than near the output mean "
            "vanishing gradients: the first layers barely learn."
        ).format(when=when)
    )


def shown_layers(df: pd.DataFrame) -> pd.DataFrame:
    """A table's `layer` column ("hidden 1", "output") in the session's language: the
    histograms' headers, the gradient charts' axis and legend, the statistics' rows."""
    if "layer" not in df.columns or i18n.lang() == i18n.DEFAULT:
        return df
    lang = i18n.lang()
    return df.assign(layer=[i18n.layer_name(lang, str(name)) for name in df["layer"]])
