"""The sequences lab's views: the validation loss against sequence length for each cell, the
gradient that reaches every step of a sequence (BPTT), and the LSTM's or GRU's gates over one
sequence. Computed from the live runs under their lock (ui.live.panels_area holds it)."""

from __future__ import annotations

import time
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from engine.bptt import gate_trace, recurrent_blocks, state_gradients
from engine.data.sequences import ADDING_BASELINE
from ui import charts, i18n
from ui.live import LiveRun
from ui.navigation import LAB_SEQUENCES
from ui.state import skey

GRAD_EXAMPLES = 256  # validation sequences the gradient through time is averaged over
BPTT_REFRESH_S = 5.0  # while the runs play, the gradient through time is recomputed this often
FLOOR = 1e-12  # where an exactly-zero gradient (cut by truncated BPTT) is drawn on a log axis
GATE_UNITS = 16  # units of the first layer the gate pictures show
CELLS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "mlp": "MLP"}


def length_table(run: LiveRun) -> pd.DataFrame:
    """(run, cell, length, loss, step): each run's latest validation loss."""
    rows = []
    for label, t in zip(run.labels, run.trainers, strict=True):
        evals = [e for e in t.history.evals if "val_loss" in e]
        if not evals:
            continue
        rows.append(
            {
                "run": i18n.t(label),
                "cell": CELLS.get(t.cfg.model.arch, t.cfg.model.arch),
                "length": t.cfg.data.seq_len,
                "loss": float(evals[-1]["val_loss"]),
                "step": int(evals[-1]["step"]),
            }
        )
    return pd.DataFrame(rows, columns=["run", "cell", "length", "loss", "step"])


def length_chart(df: pd.DataFrame, baseline_label: str, cells: tuple[str, ...]):
    """Validation loss (log) against sequence length, one line per cell, with the loss of
    always answering the mean as a dashed line."""
    lines = (
        alt.Chart(df)
        .mark_line(point=alt.OverlayMarkDef(size=70))
        .encode(
            x=alt.X("length:Q", title="sequence length (steps)", scale=alt.Scale(zero=False)),
            y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="validation loss (MSE)"),
            color=alt.Color(
                "cell:N",
                legend=charts.TOP_LEGEND,
                sort=list(CELLS.values()),
                scale=alt.Scale(domain=list(CELLS.values()), range=charts.RUN_PALETTE[:4]),
            ),
            tooltip=["run:N", "cell:N", "length:Q", alt.Tooltip("loss:Q", format=".4f"), "step:Q"],
        )
    )
    # datum and value encodings, not a second table: charts.show sends one table per chart
    rule = (
        alt.Chart(df)
        .mark_rule(strokeDash=[6, 4], color="#888")
        .encode(y=alt.datum(ADDING_BASELINE))
    )
    text = (
        alt.Chart(df)
        .mark_text(align="left", dx=4, dy=-6, color="#666")
        .encode(x=alt.value(0), y=alt.datum(ADDING_BASELINE), text=alt.value(baseline_label))
    )
    return alt.layer(lines, rule, text).properties(height=260, autosize=charts.FIT_WIDTH)


def length_view(run: LiveRun) -> None:
    """How well each cell has learnt at each sequence length, now."""
    df = length_table(run)
    if not len(df):
        st.caption(i18n.t("Train the runs (Step or Play) to fill this chart."))
        return
    label = i18n.t("always answering 1: {mse:.3f}").format(mse=ADDING_BASELINE)
    cells = tuple(c for c in CELLS.values() if c in set(df["cell"]))  # a colour each, in order
    charts.show(length_chart, df, label, cells)
    st.caption(
        i18n.t(
            "Each run's latest validation loss (mean squared error of the predicted sum). Below "
            "the dashed line a network has learnt something; near 0.001 it adds the two marked "
            "values almost exactly. A cell that stays on the line at one length but not at a "
            "shorter one cannot carry the first marked value that far."
        )
    )


def gradients_of(run: LiveRun, index: int) -> np.ndarray | None:
    """Trainer `index`'s ||dL/d state_t|| per step of its first recurrent layer, on the same
    validation sequences every time (None: not a recurrent run). Cached per step count, and
    while the runs play kept for BPTT_REFRESH_S: a backward pass over GRAD_EXAMPLES sequences
    (32 ms for an LSTM over 50 steps, 80 ms for the memory experiment's six runs) under the
    session's lock at every redraw of the charts would hold up its training."""
    t = run.trainers[index]
    if not recurrent_blocks(t.model):
        return None
    cached = run.cache.get(("bptt", index))
    now = time.monotonic()
    if cached is not None and (
        cached[0] == t.step_count or (run.playing and now - cached[1] < BPTT_REFRESH_S)
    ):
        return cached[2]
    n = min(GRAD_EXAMPLES, len(t.val_split.y))
    grads = state_gradients(t.model, t.val_split.x[:n], t.val_split.y[:n], t.loss_fn)[0]
    run.cache[("bptt", index)] = (t.step_count, now, grads)
    return grads


def bptt_table(run: LiveRun) -> pd.DataFrame:
    """(run, t, relative): every recurrent run's gradient per step over the last step's."""
    frames = []
    for i, label in enumerate(run.labels):
        g = gradients_of(run, i)
        if g is None or not np.isfinite(g).all():
            continue
        last = g[-1] if g[-1] > 0 else 1.0
        rel = np.maximum(g / last, FLOOR)
        frames.append(
            pd.DataFrame({"run": i18n.t(label), "t": np.arange(1, len(g) + 1), "relative": rel})
        )
    if not frames:
        return pd.DataFrame(columns=["run", "t", "relative"])
    return pd.concat(frames, ignore_index=True)


def bptt_chart(df: pd.DataFrame, runs: tuple[str, ...]):
    """Gradient reaching each step, relative to the last step, on a log axis."""
    return (
        alt.Chart(df, height=280, autosize=charts.FIT_WIDTH)
        .mark_line()
        .encode(
            x=alt.X("t:Q", title="time step t (the answer comes after the last)"),
            y=alt.Y("relative:Q", scale=alt.Scale(type="log"), title="‖∂L/∂state_t‖ / last step"),
            color=charts.run_color(runs),
            tooltip=["run:N", "t:Q", alt.Tooltip("relative:Q", format=".2e")],
        )
    )


def bptt_view(run: LiveRun) -> None:
    """The BPTT picture: how much gradient reaches each step of the sequence, now."""
    df = bptt_table(run)
    if not len(df):
        st.caption(i18n.t("None of these runs is a recurrent network."))
        return
    runs = tuple(i18n.t(label) for label in run.labels)
    charts.show(bptt_chart, df, runs)
    st.caption(
        i18n.t(
            "The gradient of the loss on {n} validation sequences with respect to the state "
            "of the first layer at every step, divided by the one at the last step: the RNN's "
            "net input z_t, the LSTM's cell state c_t, the GRU's hidden state h_t. A line that "
            "falls steeply to the left is a vanishing gradient: the first marked value, in the "
            "first half of the sequence, sends almost no learning signal. With truncated BPTT "
            "the steps beyond the cut get exactly none (drawn at 10⁻¹²). While the runs play, "
            "it is recomputed every {s:.0f} seconds."
        ).format(n=GRAD_EXAMPLES, s=BPTT_REFRESH_S)
    )


def gates_table(x: Any, trace: Any) -> pd.DataFrame:
    """One table for the gates picture: the sequence read (g = -1: t, value, marked) and, for
    each gate g = 0, 1, ..., (t, unit, value) for the first GATE_UNITS units."""
    values = x[:, 0].cpu().numpy()
    rows = [
        pd.DataFrame(
            {
                "g": -1,
                "t": np.arange(1, len(values) + 1),
                "value": values,
                "marked": (x[:, 1].cpu().numpy() > 0.5).astype(int),  # the two marked steps
            }
        )
    ]
    for g, name in enumerate(trace.names):
        gate = trace.values[name][:, :GATE_UNITS]  # (T, units)
        steps, units = gate.shape
        rows.append(
            pd.DataFrame(
                {
                    "g": g,
                    "gate": i18n.t(f"{name} gate"),
                    "t": np.repeat(np.arange(1, steps + 1), units),
                    "unit": np.tile(np.arange(1, units + 1), steps),
                    "value": gate.reshape(-1),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


GATES_WIDTH = 520  # every row of the gates picture: the same steps at the same x
AXIS_EXTENT = 36  # every row's y axis as wide, so that the plots start at the same x


def gates_chart(df: pd.DataFrame, names: tuple[str, ...]):
    """The sequence as bars (marked steps in red) over one heat map per gate (units down,
    steps across, closed dark to open bright), stacked so that each step is one column."""

    def y_axis(**kw: Any) -> alt.Axis:
        return alt.Axis(minExtent=AXIS_EXTENT, maxExtent=AXIS_EXTENT, **kw)

    sequence = (
        alt.Chart(height=70, width=GATES_WIDTH)
        .transform_filter("datum.g < 0")
        .mark_bar()
        .encode(
            x=alt.X("t:O", title=None, axis=None),
            y=alt.Y("value:Q", title="input", scale=alt.Scale(domain=[0, 1]),
                    axis=y_axis(tickCount=2)),
            color=alt.condition("datum.marked > 0", alt.value("#e45756"), alt.value("#b0b0b0")),
            tooltip=["t:O", alt.Tooltip("value:Q", format=".2f"), "marked:N"],
        )
    )  # fmt: skip
    rows = [sequence]
    for g, name in enumerate(names):
        last = g == len(names) - 1  # the step numbers under the last heat map only
        x_axis = alt.Axis(labelAngle=0, labelOverlap=True, labels=last, ticks=last)
        rows.append(
            alt.Chart(height=110, width=GATES_WIDTH)
            .transform_filter(f"datum.g == {g}")
            .mark_rect()
            .encode(
                x=alt.X("t:O", title="time step t" if last else None, axis=x_axis),
                y=alt.Y("unit:O", title=f"{name} gate", axis=y_axis(values=[1, 5, 9, 13])),
                color=alt.Color(
                    "value:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title="open"
                ),
                tooltip=["gate:N", "t:O", "unit:O", alt.Tooltip("value:Q", format=".2f")],
            )
        )
    return alt.vconcat(*rows, data=df, spacing=6).resolve_scale(x="shared", color="shared")


def gates_view(run: LiveRun) -> None:
    """The gates of a chosen LSTM or GRU run while it reads one validation sequence."""
    gated = [i for i, t in enumerate(run.trainers) if t.cfg.model.arch in ("lstm", "gru")]
    if not gated:
        st.caption(i18n.t("None of these runs is an LSTM or a GRU: a vanilla RNN has no gates."))
        return
    cols = st.columns(2)
    # the runs' names as shown (translated): a name, not a format_func, is the option, so a
    # language switch offers the other language's names and falls back to the first run
    shown = [i18n.t(run.labels[i]) for i in gated]
    choice = cols[0].selectbox(i18n.t("Run"), shown, key=skey(LAB_SEQUENCES.key, "gates.run"))
    index = gated[shown.index(choice)] if choice in shown else gated[0]
    t = run.trainers[index]
    n_val = len(t.val_split.y)
    which = int(
        cols[1].number_input(
            i18n.t("Validation sequence"), 0, n_val - 1, 0, key=skey(LAB_SEQUENCES.key, "gates.seq")
        )
    )
    x = t.val_split.x[min(which, n_val - 1)]  # (T, 2): value, marker
    trace = gate_trace(t.model, x)
    if trace is None:
        return
    charts.show(gates_chart, gates_table(x, trace), tuple(trace.names), width="content")
    st.caption(
        i18n.t(
            "The sequence on top (the two marked values in red), and below, for the first {k} "
            "units of the first layer, how open each gate is at every step: dark is closed (0), "
            "bright is open (1). An LSTM's input gate decides what is written into the cell, "
            "its forget gate what the cell keeps, its output gate what it shows; a GRU's update "
            "gate keeps the old state where it is open and its reset gate decides how much of "
            "it the new candidate reads. Compare the columns of the marked steps with the rest."
        ).format(k=GATE_UNITS)
    )
