"""The Evaluation page's views of a classifier's report (engine.metrics, scikit-learn):
per-class table, confusion matrix, ROC and precision-recall curves, the misclassified; and an
ensemble of stored runs (engine.ensemble): its members' scores next to its own."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from engine.data import Dataset, Split
from engine.ensemble import Ensemble, EnsembleError, combine
from engine.metrics import ClassifierReport, ThresholdPoint, at_threshold, misclassified
from engine.registry import ConfigError
from engine.store import RunStore, StoreError
from ui import charts, i18n, images
from ui.text import plain

# Next to the ROC chart, in both languages: some course notes give its axes as X = TPR,
# Y = 1 - FPR and call FPR specificity (issue 12); the chart and the page say it right.
ROC_NOTE = (
    "ROC: true-positive rate (recall) against false-positive rate FP / (FP + TN). Some notes "
    "swap the axes or call FPR specificity; specificity is 1 − FPR = TN / (TN + FP)."
)
# The curves' axes: (data column, axis title) for x and y. ROC plots the true-positive rate
# (recall, TP / (TP + FN)) up against the false-positive rate FP / (FP + TN) across.
AXES = {
    "roc": (("FPR", "false-positive rate"), ("TPR", "true-positive rate")),
    "pr": (("recall", "recall"), ("precision", "precision")),
}


def in_context(english: str, source: str) -> str:
    """`english` as it is in English; in another language the translation of `source`, a
    longer English text of the same meaning (the short word means something else elsewhere,
    e.g. a table's "label" column holding a class)."""
    return english if i18n.lang() == i18n.DEFAULT else i18n.t(source)


def translated_chart(chart: alt.TopLevelMixin, width: str = "content") -> None:
    """Draw an Altair chart with its titles in the session's language (as `charts.show`
    does for the charts it caches)."""
    spec = chart.to_dict()
    datasets = spec.pop("datasets", None)  # the data: not text to translate
    charts.translate_spec(spec, i18n.t)
    if datasets is not None:
        spec["datasets"] = datasets
    st.vega_lite_chart(spec, width=width)


def summary(report: ClassifierReport) -> None:
    cols = st.columns(5)
    cols[0].metric(
        i18n.t("Accuracy"),
        f"{report.accuracy:.2%}",
        help=i18n.t("On {n:,} examples.").format(n=report.n),
    )
    cols[1].metric(i18n.t("Macro F1"), _pct(report.macro["f1"]))
    cols[2].metric(i18n.t("Macro precision"), _pct(report.macro["precision"]))
    cols[3].metric(i18n.t("Macro recall"), _pct(report.macro["recall"]))
    cols[4].metric(
        i18n.t("Macro ROC AUC"),
        _num(report.macro_auc),
        help=i18n.t("One class against the rest."),
    )


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
    df["label"] = df["label"].map(lambda v: i18n.t("macro avg") if v == "macro avg" else v)
    columns = {
        "label": in_context("label", "class label"),
        "precision": i18n.t("precision"),
        "recall": i18n.t("recall"),
        "f1": i18n.t("f1"),
        "specificity": i18n.t("specificity"),
        "support": i18n.t("support"),
        "roc_auc": i18n.t("roc_auc"),
        "average_precision": i18n.t("average_precision"),
    }
    st.table(df.rename(columns=columns), hide_index=True)
    st.caption(
        i18n.t(
            "Precision: of the examples predicted as the class, the share that are it. Recall "
            "(sensitivity): of the class's examples, the share found. Specificity: of the "
            "other classes' examples, the share not predicted as this one, TN / (TN + FP). "
            "F1: the harmonic mean of precision and recall. Macro: the plain average over "
            "classes."
        )
    )


def curves_table(report: ClassifierReport, kind: str) -> pd.DataFrame:
    """(label, x field, y field, curve) rows of every class's curve: for ROC the columns FPR
    and TPR, for precision-recall recall and precision (AXES); `curve` names the class with
    its area, for the legend."""
    (x, _), (y, _) = AXES[kind]
    df = pd.DataFrame(report.curve_table(kind), columns=["label", "x", "y"])
    area = report.roc_auc if kind == "roc" else report.average_precision
    templates = {"roc": i18n.t("{label} (AUC {area})"), "pr": i18n.t("{label} (AP {area})")}
    template = templates[kind]
    names = {
        lab: template.format(label=lab, area=_num(a))
        for lab, a in zip(report.labels, area, strict=True)
    }
    df["curve"] = df["label"].map(names)
    return df.rename(columns={"x": x, "y": y})


def curves(report: ClassifierReport) -> None:
    cols = st.columns(2)
    for col, kind, title in (
        (cols[0], "roc", "ROC curves (one class against the rest)"),
        (cols[1], "pr", "Precision-recall curves"),
    ):
        df = curves_table(report, kind)
        if not len(df):
            continue
        (x, x_title), (y, y_title) = AXES[kind]
        charts.show(curve_chart, df, title, x, x_title, y, y_title, where=col)
        if kind == "roc":
            col.caption(i18n.t(ROC_NOTE))


def curve_chart(df: pd.DataFrame, title: str, x: str, x_title: str, y: str, y_title: str):
    """Every class's curve of one kind: `x` and `y` are the table's columns, with their axis
    titles."""
    return (
        alt.Chart(df, title=title, height=300, autosize=charts.FIT_WIDTH)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
            # the legend under the plot: at its right it took the half-width chart's plot area
            color=alt.Color(
                "curve:N", sort=None, legend=alt.Legend(title=None, columns=2, orient="bottom")
            ),
            tooltip=[
                alt.Tooltip("curve:N", title="curve"),
                alt.Tooltip(f"{x}:Q", title=x_title, format=".3f"),
                alt.Tooltip(f"{y}:Q", title=y_title, format=".3f"),
            ],
        )
    )


def threshold(report: ClassifierReport, probs: np.ndarray, target: np.ndarray, key: str) -> None:
    """A two-class problem's decision threshold: a slider, the counts and rates it gives, and
    where it sits on the positive class's ROC and precision-recall curves."""
    positive = report.labels[1]
    st.subheader(i18n.t("Decision threshold"))
    st.caption(
        i18n.t(
            "The network calls an example class {positive} when its probability of {positive} "
            "is at least the threshold; 0.5 is what the accuracy above uses. Each threshold is "
            "one point on the curves: lower, and more positives are found (recall up) at the "
            "price of more false alarms (false-positive rate up, precision down)."
        ).format(positive=positive)
    )
    value = st.slider(
        i18n.t("Threshold"), min_value=0.01, max_value=0.99, value=0.5, step=0.01, key=key
    )
    point = at_threshold(probs, target, float(value), positive=1)
    cols = st.columns(7)
    for col, (label, shown) in zip(cols, _threshold_numbers(point), strict=True):
        col.metric(i18n.t(label), shown)
    charts_row = st.columns(2)
    roc_x, roc_y = report.roc[1].x, report.roc[1].y
    pr_x, pr_y = report.pr[1].x, report.pr[1].y
    for col, (x, y), (px, py), kind in (
        (charts_row[0], (roc_x, roc_y), (point.fpr, point.recall), "roc"),
        (charts_row[1], (pr_x, pr_y), (point.recall, point.precision), "pr"),
    ):
        (_, x_title), (_, y_title) = AXES[kind]
        with col:
            translated_chart(_point_chart(x, y, px, py, x_title, y_title), width="stretch")


def _threshold_numbers(point: ThresholdPoint) -> list[tuple[str, str]]:
    return [
        ("TP", f"{point.tp:,}"),
        ("FP", f"{point.fp:,}"),
        ("FN", f"{point.fn:,}"),
        ("TN", f"{point.tn:,}"),
        ("Precision", _num(point.precision)),
        ("Recall", _num(point.recall)),
        ("F1", _num(point.f1)),
    ]


def _point_chart(
    x: np.ndarray, y: np.ndarray, px: float, py: float, x_title: str, y_title: str
) -> alt.LayerChart:
    """One curve and the threshold's point on it (no point where a rate is undefined)."""
    xs, ys = charts.thin(list(x)), charts.thin(list(y))
    curve = pd.DataFrame({"x": xs, "y": ys})
    line = (
        alt.Chart(curve, height=260)
        .mark_line(strokeWidth=1.5, color="#0877bd")
        .encode(
            x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        )
    )
    finite = math.isfinite(px) and math.isfinite(py)
    dot = pd.DataFrame({"x": [px] if finite else [], "y": [py] if finite else []})
    marker = (
        alt.Chart(dot).mark_point(size=140, filled=True, color="#e8710a").encode(x="x:Q", y="y:Q")
    )
    return alt.layer(line, marker)


def wrong_examples(
    report_probs: np.ndarray, split: Split, dataset: Dataset, labels: list[str]
) -> None:
    """The misclassified examples, most confident first: digits as images, points in a table."""
    idx = misclassified(report_probs, split.y.cpu().numpy(), k=24)
    if not len(idx):
        st.success(i18n.t("No misclassified examples."), icon=":material/check:")
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
        columns = {
            "example": i18n.t("example"),
            "true": i18n.t("true"),
            "predicted": i18n.t("predicted"),
            "confidence": i18n.t("confidence"),
        }
        st.table(pd.DataFrame(rows).rename(columns=columns), hide_index=True)


def ensemble_of(store: RunStore, ids: list[int], key: str) -> Ensemble | None:
    """The ensemble of stored runs `ids` (kept under session key `key` while the same runs
    are picked: the threshold slider must not reload them all), or None after showing why
    it cannot be made."""
    kept = st.session_state.get(key)
    if kept is not None and kept[0] == tuple(ids):
        return kept[1]
    with st.spinner(i18n.t("Scoring {n} runs ...").format(n=len(ids))):
        try:
            # one run loaded at a time: combine keeps its scores, not its network and data
            ens = combine((f"#{i}", store.load_trainer(i)) for i in ids)
        except (EnsembleError, StoreError, ConfigError) as e:
            st.session_state.pop(key, None)
            st.error(plain(i18n.message(str(e))), icon=":material/error:")
            return None
    st.session_state[key] = (tuple(ids), ens)
    return ens


def ensemble_members(ens: Ensemble, names: dict[int, str]) -> None:
    """Each member's accuracy and log loss, then the ensemble's, and a sentence comparing."""
    shown = {f"#{i}": name for i, name in names.items()}  # members are named "#id"
    rows = [
        {
            "run": plain(shown.get(m.name, m.name)),
            "accuracy": f"{m.accuracy:.2%}",
            "log loss": f"{m.log_loss:.4f}",
        }
        for m in ens.members
    ]
    rows.append(
        {
            "run": i18n.t("ensemble (average of {n} runs)").format(n=len(ens.members)),
            "accuracy": f"{ens.accuracy:.2%}",
            "log loss": f"{ens.log_loss:.4f}",
        }
    )
    df = pd.DataFrame(rows)
    st.table(df.rename(columns={c: i18n.t(c) for c in df.columns}), hide_index=True)
    accs = [m.accuracy for m in ens.members]
    st.caption(
        i18n.t(
            "The ensemble's accuracy is {acc}; its members' range from {low} to {high}. Its log "
            "loss is {loss}, against the members' mean of {mean}: averaging probabilities "
            "never does worse than that mean, as the log loss is convex. Below: the ensemble's "
            "own per-class numbers, curves and mistakes."
        ).format(
            acc=f"{ens.accuracy:.2%}",
            low=f"{min(accs):.2%}",
            high=f"{max(accs):.2%}",
            loss=f"{ens.log_loss:.4f}",
            mean=f"{ens.mean_member_log_loss:.4f}",
        )
    )
