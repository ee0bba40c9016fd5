"""Side-by-side runs: overlaid curves and a table of final numbers for a multi-trainer run.

Every run of a comparison shares the seed, so the data, the initial weights (where the
architecture allows) and the batch order are the same: only the compared knob differs.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from ui import charts, i18n
from ui.live import LiveRun
from ui.text import plain

SPLIT_DASH = {"training": [1, 0], "validation": [5, 3], "test": [5, 3]}


def curves(run: LiveRun, metric: str, held_out: str = "validation") -> pd.DataFrame:
    """(epoch, step, value, split, run) of every trainer's evaluations (no minibatch loss:
    with several runs on one chart it would hide the rest)."""
    frames = []
    for label, t in zip(run.labels, run.trainers, strict=True):
        df = charts.curves_table(t.history, t.steps_per_epoch, metric, held_out)
        df = df[df.split != "minibatch"]
        # each evaluation's clock, by its epoch (rows from before the clock was kept: none)
        clock = {e["epoch"]: e.get("seconds") for e in t.history.evals}
        frames.append(
            df.assign(
                run=label,
                step=(df.epoch * t.steps_per_epoch).round(),
                seconds=df.epoch.map(clock).astype(float),
            )
        )
    if not frames:
        return pd.DataFrame(columns=["epoch", "step", "seconds", "value", "split", "run"])
    return pd.concat(frames, ignore_index=True)


# What curves can be drawn against, with the label of each choice.
X_AXES = {"epoch": "epochs", "step": "steps", "seconds": "seconds"}


def x_measure(run: LiveRun) -> str:
    """What the runs' curves are drawn against: epochs, unless the runs take different
    numbers of steps per epoch (batch sizes differ), where the same epoch is a different amount
    of training: then steps, the measure they share (a batch-2 run's 0.7 epochs and a
    batch-64 run's 21 epochs are both 1,500 steps)."""
    return "step" if len({t.steps_per_epoch for t in run.trainers}) > 1 else "epoch"


def curves_chart(
    df: pd.DataFrame,
    title: str,
    log_y: bool = False,
    splits: tuple[str, ...] = tuple(SPLIT_DASH),
    runs: tuple[str, ...] = (),
    height: int = 240,
    x: str = "epoch",
):
    """One colour per run (in `runs` order); solid training, dashed held-out; `splits` in
    the dash legend; against `x`, one of `X_AXES` (by default `x_measure`)."""
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    return (
        alt.Chart(df, title=title, height=height, autosize=charts.FIT_WIDTH)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X(f"{x}:Q", title=x, axis=alt.Axis(format="~g")),
            y=alt.Y("value:Q", title=None, scale=scale),
            # runs in rows of up to three: in one row, a half-width chart cut off the fourth
            color=charts.run_color(
                runs,
                alt.Legend(orient="top", title=None, columns=3, labelLimit=160),
            ),
            strokeDash=alt.StrokeDash(
                "split:N",
                scale=alt.Scale(domain=list(splits), range=[SPLIT_DASH[s] for s in splits]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            tooltip=["run:N", "split:N", alt.Tooltip(f"{x}:Q", format=".2f"), "value:Q"],
        )
    )


def x_choice(run: LiveRun, key: str) -> str:
    """The student's choice of what to draw the curves against (epochs, steps or seconds of
    training), starting from `x_measure`. Batch sizes teach the difference: a small batch
    wins per epoch and loses per second."""
    shown = {x: i18n.t(label) for x, label in X_AXES.items()}
    chosen = st.segmented_control(
        i18n.t("Draw against"),
        list(X_AXES),
        default=x_measure(run),
        format_func=shown.__getitem__,
        key=key,
        help=i18n.t(
            "Epochs count passes over the training set, steps count weight updates, seconds "
            "count this run's own training time (evaluations included)."
        ),
    )
    return chosen or x_measure(run)


def show_curves(
    run: LiveRun, held_out: str = "validation", log_loss: bool = False, x_key: str = ""
) -> None:
    """Loss and (for classification) accuracy of every run, overlaid; with `x_key`, the
    student chooses what they are drawn against (`x_choice`)."""
    if not any(t.history.evals for t in run.trainers):
        st.caption(i18n.t("Press Play or Step: every run's curves appear here, overlaid."))
        return
    x = x_choice(run, x_key) if x_key else x_measure(run)
    cols = st.columns(2)
    runs = tuple(run.labels)  # English keys; the chart's legend shows them translated
    loss = curves(run, "loss", held_out)
    if x == "seconds":
        loss = loss.dropna(subset=["seconds"])
    splits = charts.splits_present(loss)
    charts.show(curves_chart, loss, "Loss", log_loss, splits, runs, 240, x, where=cols[0])
    if run.trainer.task == "classification":
        acc = curves(run, "acc", held_out)
        if x == "seconds":
            acc = acc.dropna(subset=["seconds"])
        splits = charts.splits_present(acc)
        charts.show(curves_chart, acc, "Accuracy", False, splits, runs, 240, x, where=cols[1])
    if x == "step" and x_measure(run) == "step":
        st.caption(
            i18n.t(
                "These runs differ in batch size, so an epoch is a different number of steps "
                "for each: the curves are drawn against training steps, which they share."
            )
        )


def percent(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.1%}"


def number(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.3g}"


# What the summary's status column shows for each trainer status (the engine's words).
STATUS_WORDS = {
    "ready": "ready",
    "running": "running",
    "finished": "finished",
    "early_stopped": "stopped early",
    "diverged": "diverged",
}

# The held-out split's column names (as literals, so that the translation check sees them).
HELD_OUT_COLUMNS = {
    "validation": ("validation loss", "validation accuracy"),
    "test": ("test loss", "test accuracy"),
}


def summary_table(
    run: LiveRun, held_out: str = "validation", lang: str = i18n.DEFAULT
) -> pd.DataFrame:
    """One row per run: where it is and its latest numbers, with the train-minus-held-out
    accuracy gap (overfitting) when there is one; its words in `lang` (it is also drawn in
    the training service's thread, which has no session to ask)."""

    def tr(text: str) -> str:
        return i18n.text_in(lang, text)

    held_loss, held_acc = HELD_OUT_COLUMNS.get(
        held_out, (f"{held_out} loss", f"{held_out} accuracy")
    )
    points = tr("{gap} points")
    # The test set, where there is one besides the validation set: scored once a run ends, it
    # is the honest yardstick when the runs' best epochs were picked on validation.
    has_test = held_out == "validation" and any(t.test_split is not None for t in run.trainers)
    classifying = any(t.task == "classification" for t in run.trainers)
    rows: list[dict[str, Any]] = []
    for label, t in zip(run.labels, run.trainers, strict=True):
        last = t.history.evals[-1] if t.history.evals else {}
        train_acc, val_acc = last.get("train_acc"), last.get("val_acc")
        gap = train_acc - val_acc if train_acc is not None and val_acc is not None else None
        # English keeps the engine's status word itself ("early_stopped"), as it always has
        status = t.status if lang == i18n.DEFAULT else tr(STATUS_WORDS.get(t.status, t.status))
        row = {
            tr("run"): tr(label),
            tr("epoch"): f"{t.epoch:.1f}",
            tr("status"): status,
            tr("training loss"): number(last.get("train_loss")),
            tr(held_loss): number(last.get("val_loss")),
        }
        if classifying:  # regression runs (the adding problem) have no accuracy to show
            row[tr("training accuracy")] = percent(train_acc)
            row[tr(held_acc)] = percent(val_acc)
            row[tr("gap")] = "" if gap is None else points.format(gap=f"{gap * 100:+.1f}")
        rows.append(row)
        if has_test:
            ended = t.status in ("finished", "early_stopped")
            rows[-1][tr("test accuracy")] = percent(t.test_metrics()["acc"]) if ended else ""
    return pd.DataFrame(rows)


def summary_view(
    run: LiveRun, held_out: str = "validation", lang: str = i18n.DEFAULT
) -> dict[str, Any]:
    """The summary table as live view data (the training service redraws it every turn)."""
    table = summary_table(run, held_out, lang)
    return {
        "kind": "table",
        "frame": run.steps,
        "columns": list(table.columns),
        "rows": table.astype(str).values.tolist(),
    }


def diverged_warning(run: LiveRun) -> None:
    """Which runs diverged (the others go on)."""
    diverged = [
        lab for lab, t in zip(run.labels, run.trainers, strict=True) if t.status == "diverged"
    ]
    if diverged:
        # a sweep's run names hold what the visitor typed: shown as text, never Markdown
        names = i18n.t(", ").join(plain(i18n.t(label)) for label in diverged)
        st.warning(
            i18n.t(
                "Diverged: {runs}. The loss became infinite or NaN; the other runs go on."
            ).format(runs=names),
            icon=":material/warning:",
        )
