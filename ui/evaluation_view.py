"""The Evaluation page's views of a classifier's report (engine.metrics, scikit-learn):
per-class table, confusion matrix, ROC and precision-recall curves, the misclassified."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from engine.data import Dataset, Split
from engine.metrics import ClassifierReport, misclassified
from ui import charts, images


def summary(report: ClassifierReport) -> None:
    cols = st.columns(5)
    cols[0].metric("Accuracy", f"{report.accuracy:.2%}", help=f"On {report.n:,} examples.")
    cols[1].metric("Macro F1", _pct(report.macro["f1"]))
    cols[2].metric("Macro precision", _pct(report.macro["precision"]))
    cols[3].metric("Macro recall", _pct(report.macro["recall"]))
    cols[4].metric("Macro ROC AUC", _num(report.macro_auc), help="One class against the rest.")


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def _num(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def per_class(report: ClassifierReport) -> None:
    rows = report.per_class_table()
    df = pd.DataFrame(rows)
    for col in df.columns:
        if col not in ("class", "label", "support"):
            df[col] = df[col].map(lambda v: _num(v) if isinstance(v, float) else v)
    st.table(df, hide_index=True)
    st.caption(
        "Precision: of the examples predicted as the class, the share that are it. Recall "
        "(sensitivity): of the class's examples, the share found. Specificity: of the other "
        "classes' examples, the share not predicted as this one, TN / (TN + FP). F1: the "
        "harmonic mean of precision and recall. Macro: the plain average over classes."
    )


def curves(report: ClassifierReport) -> None:
    cols = st.columns(2)
    for col, kind, title, x, y in (
        (cols[0], "roc", "ROC curves (one class against the rest)", "false-positive rate",
         "true-positive rate"),
        (cols[1], "pr", "Precision-recall curves", "recall", "precision"),
    ):  # fmt: skip
        df = pd.DataFrame(report.curve_table(kind))
        if not len(df):
            continue
        area = report.roc_auc if kind == "roc" else report.average_precision
        names = {lab: f"{lab} ({'AUC' if kind == 'roc' else 'AP'} {_num(a)})"
                 for lab, a in zip(report.labels, area, strict=True)}  # fmt: skip
        df["curve"] = df["label"].map(names)
        col.altair_chart(curve_chart(df, title, x, y), width="stretch")


def curve_chart(df: pd.DataFrame, title: str, x: str, y: str):
    return (
        alt.Chart(df, title=title, height=300, autosize=charts.FIT_WIDTH)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X("x:Q", title=x, scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("y:Q", title=y, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("curve:N", sort=None, legend=alt.Legend(title=None, columns=2)),
            tooltip=["curve:N", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")],
        )
    )


def wrong_examples(
    report_probs: np.ndarray, split: Split, dataset: Dataset, labels: list[str]
) -> None:
    """The misclassified examples, most confident first: digits as images, points in a table."""
    idx = misclassified(report_probs, split.y.cpu().numpy(), k=24)
    if not len(idx):
        st.success("No misclassified examples.", icon=":material/check:")
        return
    pred = report_probs.argmax(axis=1)
    conf = report_probs.max(axis=1)
    y = split.y.cpu().numpy()
    if dataset.input_shape == (1, 28, 28):
        raw = (split.x.cpu() * dataset.scale + dataset.shift).clamp(0, 255).round()
        digits = raw.to(dtype=torch.uint8).numpy()[:, 0]
        st.image(
            [images.enlarge(255 - digits[i], 2) for i in idx],
            caption=[f"{labels[y[i]]} → {labels[pred[i]]} ({conf[i]:.0%})" for i in idx],
        )
    else:
        xy = dataset.val_xy  # None for inputs that are not 2-D points (standard-normal ones)
        rows = [
            {
                **(
                    {"x1": f"{xy[i, 0]:.3g}", "x2": f"{xy[i, 1]:.3g}"}
                    if xy is not None
                    else {"example": int(i)}
                ),
                "true": labels[y[i]],
                "predicted": labels[pred[i]],
                "confidence": f"{conf[i]:.0%}",
            }
            for i in idx
        ]
        st.table(pd.DataFrame(rows), hide_index=True)
