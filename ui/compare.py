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

from ui import charts
from ui.live import LiveRun

SPLIT_DASH = {"training": [1, 0], "validation": [5, 3], "test": [5, 3]}


def curves(run: LiveRun, metric: str, held_out: str = "validation") -> pd.DataFrame:
    """(epoch, value, split, run) of every trainer's evaluations (no minibatch loss: with
    several runs on one chart it would hide the rest)."""
    frames = []
    for label, t in zip(run.labels, run.trainers, strict=True):
        df = charts.curves_table(t.history, t.steps_per_epoch, metric, held_out)
        df = df[df.split != "minibatch"]
        frames.append(df.assign(run=label))
    if not frames:
        return pd.DataFrame(columns=["epoch", "value", "split", "run"])
    return pd.concat(frames, ignore_index=True)


def curves_chart(
    df: pd.DataFrame,
    title: str,
    log_y: bool = False,
    splits: tuple[str, ...] = tuple(SPLIT_DASH),
    runs: tuple[str, ...] = (),
    height: int = 240,
):
    """One colour per run (in `runs` order); solid training, dashed held-out; `splits` in
    the dash legend."""
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    return (
        alt.Chart(df, title=title, height=height, autosize=charts.FIT_WIDTH)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("epoch:Q", axis=alt.Axis(format="~g")),
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
            tooltip=["run:N", "split:N", alt.Tooltip("epoch:Q", format=".2f"), "value:Q"],
        )
    )


def show_curves(run: LiveRun, held_out: str = "validation", log_loss: bool = False) -> None:
    """Loss and (for classification) accuracy of every run, overlaid."""
    if not any(t.history.evals for t in run.trainers):
        st.caption("Press Play or Step: every run's curves appear here, overlaid.")
        return
    cols = st.columns(2)
    runs = tuple(run.labels)
    loss = curves(run, "loss", held_out)
    splits = charts.splits_present(loss)
    charts.show(curves_chart, loss, "Loss", log_loss, splits, runs, where=cols[0])
    if run.trainer.task == "classification":
        acc = curves(run, "acc", held_out)
        splits = charts.splits_present(acc)
        charts.show(curves_chart, acc, "Accuracy", False, splits, runs, where=cols[1])


def percent(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.1%}"


def number(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.3g}"


def summary_table(run: LiveRun, held_out: str = "validation") -> pd.DataFrame:
    """One row per run: where it is and its latest numbers, with the train-minus-held-out
    accuracy gap (overfitting) when there is one."""
    rows: list[dict[str, Any]] = []
    for label, t in zip(run.labels, run.trainers, strict=True):
        last = t.history.evals[-1] if t.history.evals else {}
        tr, va = last.get("train_acc"), last.get("val_acc")
        gap = tr - va if tr is not None and va is not None else None
        rows.append(
            {
                "run": label,
                "epoch": f"{t.epoch:.1f}",
                "status": t.status,
                "training loss": number(last.get("train_loss")),
                f"{held_out} loss": number(last.get("val_loss")),
                "training accuracy": percent(tr),
                f"{held_out} accuracy": percent(va),
                "gap": "" if gap is None else f"{gap * 100:+.1f} points",
            }
        )
    return pd.DataFrame(rows)


def summary_view(run: LiveRun, held_out: str = "validation") -> dict[str, Any]:
    """The summary table as live view data (the training service redraws it every turn)."""
    table = summary_table(run, held_out)
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
        st.warning(
            f"Diverged: {', '.join(diverged)}. The loss became infinite or NaN; the other "
            "runs go on.",
            icon=":material/warning:",
        )
