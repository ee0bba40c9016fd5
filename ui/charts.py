"""Altair charts from small tidy tables: curves, histograms, gradient norms, confusion matrix.

Tables are built here from the trainer's history and kept small (a few hundred rows): long
curves are averaged into at most MAX_POINTS buckets, histograms arrive pre-binned from the
engine's probes. Colours: training blue, validation orange (as in TF Playground).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from engine.trainer import History
from ui.images import PATH_COLORS

MAX_POINTS = 300
SPLIT_COLORS = {
    "training": "#0877bd",
    "validation": "#f59322",
    "test": "#f59322",
    "minibatch": "#b9cfe0",
}
# Legends above the plot, wrapping in rows of up to three entries (a half-width chart has
# room for three), never cut short (Vega-Lite cuts labels at 160 px and a one-row legend at
# the chart's edge: "hidd...").
TOP_LEGEND = alt.Legend(orient="top", title=None, columns=3, labelLimit=0)
# Ten distinct hues (Tableau 10) for runs. Streamlit's own categorical colours come in pairs
# (blue and light blue, red and pink), which made compared runs look alike.
RUN_PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2",
               "#b279a2", "#eeca3b", "#9d755d", "#ff9da6", "#79706e"]  # fmt: skip


def run_color(runs: Sequence[str], legend: alt.Legend = TOP_LEGEND) -> alt.Color:
    """Colour by the `run` column: run i of `runs` gets RUN_PALETTE[i] in every chart of a
    page, whichever runs a chart shows (a diverged run left out of one chart no longer shifts
    the others' colours, as a data-derived domain did)."""
    if not runs:
        return alt.Color("run:N", legend=legend, scale=alt.Scale(range=RUN_PALETTE))
    palette = [RUN_PALETTE[i % len(RUN_PALETTE)] for i in range(len(runs))]
    return alt.Color(
        "run:N", sort=list(runs), legend=legend, scale=alt.Scale(domain=list(runs), range=palette)
    )


# Stretch to the column's width but give the plot itself the chart's height: with Streamlit's
# default autosize ("fit"), title, legend and axis labels eat into the height and a 220 px
# chart kept a 50 px plot.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec without its data, built without Altair's validation.

    Altair's default theme sets a 300 px view size that Streamlit's own rendering replaces,
    so `config` is dropped too.
    """
    out = chart.to_dict(validate=False)
    for key in ("config", "data", "datasets"):
        out.pop(key, None)
    return out


def translate_spec(
    node: Any, tr: Callable[[str], str], field_title: Callable[[str], str] | None = None
) -> None:
    """Put a spec's shown text through `tr`, in place: every title (chart, axis, legend,
    facet header) and, where a legend colours a fixed domain (the curves' splits, the runs)
    or a facet's panels follow a fixed order (the runs, "train mode" and "eval mode"), its
    labels. The builders keep writing English; the language is applied here, once per
    cached template."""
    if isinstance(node, list):
        for item in node:
            translate_spec(item, tr, field_title)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            node[key] = tr(value)
        elif key == "tooltip" and field_title is not None:
            # a tooltip names each field by its column name unless given a title: "value"
            # means different things in different tables, so these have a table of their own
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and "field" in item and "title" not in item:
                    item["title"] = field_title(item["field"])
            translate_spec(value, tr, field_title)  # the titles a builder gave
        else:
            translate_spec(value, tr, field_title)
        if key in ("row", "column", "facet") and isinstance(value, dict):
            # a facet's headers show data values, and Vega-Lite draws them without a header's
            # labelExpr: the values a fixed sort order lists are translated in the data
            # instead (`translate_facets`, per draw), so the sort order is translated here
            sort = value.get("sort")
            if isinstance(sort, list) and isinstance(value.get("field"), str):
                value["sort"] = [tr(v) if isinstance(v, str) else v for v in sort]
                value.setdefault("translated", sort)  # removed again by translate_facets
    _legend_labels(node, tr)


def _legend_labels(node: dict, tr: Callable[[str], str]) -> None:
    """Give a legend that colours a fixed domain a labelExpr showing each value translated
    (legends, unlike facet headers, draw a labelExpr)."""
    legend, domain = node.get("legend"), node.get("scale", {}).get("domain")
    if not isinstance(legend, dict) or not isinstance(domain, list):
        return
    labels = [(v, tr(v)) for v in domain if isinstance(v, str) and tr(v) != v]
    if labels:
        cases = "".join(f"datum.label == {_quoted(v)} ? {_quoted(shown)} : " for v, shown in labels)
        legend["labelExpr"] = cases + "datum.label"


def _quoted(text: str) -> str:
    """`text` as a string literal of a Vega expression."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@lru_cache(maxsize=128)
def _template(
    build: Callable[..., Any], columns: tuple[str, ...], params: tuple, lang: str = "en"
) -> str:
    """JSON of the spec `build(empty table, *params)` makes, its text in `lang` (part of the
    cache key: one session's language never shows in another's); the data is added per draw."""
    from ui import i18n

    empty = pd.DataFrame({c: [] for c in columns})
    out = spec(build(empty, *params))
    if lang != i18n.DEFAULT:
        translate_spec(
            out,
            lambda text: i18n.text_in(lang, text),
            lambda field: i18n.tooltip_title(lang, field),
        )
    return json.dumps(out)


def show(
    build: Callable[..., Any],
    df: pd.DataFrame,
    *params: Any,
    where: Any = None,
    width: str = "stretch",
) -> None:
    """Draw `build(df, *params)` fast in `where` (default: the current container).

    A live tick redraws five charts three times a second. Building an Altair chart and
    converting it (`st.altair_chart` validates it against the schema) costs 30-40 ms per
    chart, the whole redraw budget, so the spec is built once per (chart, columns, params)
    and only the table changes per draw. The chart builders are validated by the tests.
    """
    import streamlit as st

    from ui import i18n

    lang = i18n.lang()
    template = json.loads(_template(build, tuple(df.columns), tuple(params), lang))
    if lang != i18n.DEFAULT:  # only a translated template marks facets to translate
        df = translate_facets(template, df, lambda text: i18n.text_in(lang, text))
    (where or st).vega_lite_chart(df, template, width=width)


def translate_facets(spec: Any, df: pd.DataFrame, tr: Callable[[str], str]) -> pd.DataFrame:
    """`df` with the values of each facet field whose panels follow a translated fixed order
    (marked by `translate_spec`) shown translated; the mark is taken out of `spec`."""
    found: list[tuple[str, list[Any]]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            english = node.pop("translated", None)
            if isinstance(english, list) and isinstance(node.get("field"), str):
                found.append((node["field"], english))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    for field, english in found:
        if field in df.columns:
            names = {v: tr(v) for v in english if isinstance(v, str)}
            df = df.assign(**{field: df[field].map(lambda v, n=names: n.get(v, v))})
    return df


def downsample(x: Sequence[float], y: Sequence[float], max_points: int = MAX_POINTS) -> tuple:
    """Bucket means of (x, y) down to at most `max_points` points; non-finite y values are
    left out of their bucket's mean (a bucket of only NaN gives NaN)."""
    n = len(x)
    if n <= max_points:
        return list(x), list(y)
    starts = np.unique(np.linspace(0, n, max_points, endpoint=False).astype(int))
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    ok = np.isfinite(ys)
    lengths = np.diff(np.append(starts, n))
    bx = np.add.reduceat(xs, starts) / lengths
    counts = np.add.reduceat(ok.astype(float), starts)
    sums = np.add.reduceat(np.where(ok, ys, 0.0), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        by = np.where(counts > 0, sums / counts, np.nan)
    return bx.tolist(), by.tolist()


def thin(items: Sequence[Any], max_points: int = MAX_POINTS) -> list[Any]:
    """At most `max_points` evenly spaced items, always keeping the last one."""
    n = len(items)
    if n <= max_points:
        return list(items)
    idx = np.linspace(0, n - 1, max_points).round().astype(int)
    return [items[i] for i in idx]


def curves_table(
    history: History, steps_per_epoch: int, metric: str, held_out: str = "validation"
) -> pd.DataFrame:
    """Long table (epoch, value, split) of training and held-out `metric` ("loss" or "acc"),
    plus the per-step minibatch loss (averaged) when metric is "loss". `held_out` names the
    held-out split ("test" on the toy page, as in TF Playground; "validation" for MNIST)."""
    epochs: list[float] = []
    vals: list[float] = []
    splits: list[str] = []

    def add(x: float, v: float | None, split: str) -> None:
        if v is not None and math.isfinite(v):
            epochs.append(x)
            vals.append(v)
            splits.append(split)

    if metric == "loss" and history.loss:  # first, so the faint line is drawn underneath
        xs, ys = downsample([s / steps_per_epoch for s in history.step], history.loss)
        for x, y in zip(xs, ys, strict=True):
            add(x, y, "minibatch")
    for e in thin(history.evals):
        add(e["epoch"], e.get(f"train_{metric}"), "training")
        add(e["epoch"], e.get(f"val_{metric}"), held_out)
    return pd.DataFrame({"epoch": epochs, "value": vals, "split": splits})


def splits_present(df: pd.DataFrame) -> tuple[str, ...]:
    """The splits of a curves table, in legend order."""
    have = set(df["split"])
    return tuple(s for s in SPLIT_COLORS if s in have)


def curves_chart(
    df: pd.DataFrame,
    title: str,
    log_y: bool = False,
    present: tuple[str, ...] = ("training", "validation"),
    height: int = 200,
):
    """Line chart of a curves table (x = epoch); `present` are the splits given colours."""
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    present = list(present)
    colors = alt.Scale(domain=present, range=[SPLIT_COLORS[s] for s in present])
    return (
        alt.Chart(df, title=title, height=height, autosize=FIT_WIDTH)
        .mark_line(point=False, strokeWidth=2)
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("value:Q", title=None, scale=scale),
            color=alt.Color("split:N", scale=colors, sort=present, legend=TOP_LEGEND),
            tooltip=["split:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("value:Q")],
        )
    )


def histogram_table(layers: list[dict[str, Any]], part: str) -> pd.DataFrame:
    """Pre-binned histograms of `part` ("pre", "post" or "weight") of each layer, as rows
    (layer, lo, hi, fraction); fractions so that layers of different sizes compare."""
    rows = []
    for layer in layers:
        hist = layer.get(part)
        if not hist:
            continue
        total = sum(hist["counts"]) or 1
        edges = hist["edges"]
        for i, c in enumerate(hist["counts"]):
            rows.append(
                {"layer": layer["layer"], "lo": edges[i], "hi": edges[i + 1], "fraction": c / total}
            )
    return pd.DataFrame(rows, columns=["layer", "lo", "hi", "fraction"])


def histogram_chart(df: pd.DataFrame, x_title: str, columns: int = 4):
    """Small multiples: one histogram per layer, each with its own x range."""
    base = (
        alt.Chart(df, height=110, width=150)
        .mark_bar(color="#0877bd", opacity=0.85)
        .encode(
            x=alt.X("lo:Q", bin="binned", title=x_title),
            x2="hi:Q",
            y=alt.Y("fraction:Q", title="fraction", axis=alt.Axis(format="%")),
            tooltip=[alt.Tooltip("lo:Q", format=".3g"), alt.Tooltip("fraction:Q", format=".1%")],
        )
    )
    return base.facet(
        facet=alt.Facet("layer:N", sort=None, title=None), columns=columns
    ).resolve_scale(x="independent")


def layer_stats_table(layers: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per layer: activation mean/std, saturated and dead fractions, norms."""
    rows = []
    for layer in layers:
        post = layer.get("post") or {}
        rows.append(
            {
                "layer": layer["layer"],
                "activation mean": post.get("mean"),
                "activation std": post.get("std"),
                "saturated": layer.get("saturated"),
                "dead": layer.get("dead"),
                "weight norm": layer.get("weight_norm"),
                "gradient norm": layer.get("grad_norm"),
                "update / weight": layer.get("update_ratio"),
            }
        )
    return pd.DataFrame(rows)


def format_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Layer statistics as short text: fractions as percentages, others to 3 significant
    digits, blanks where a statistic does not apply."""

    def cell(column: str, v: Any) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return ""
        if not isinstance(v, (int, float)):
            return str(v)
        return f"{v:.1%}" if column in ("saturated", "dead") else f"{v:.3g}"

    return pd.DataFrame({c: [cell(c, v) for v in df[c]] for c in df.columns})


def grad_norms_table(probes: list[dict[str, Any]]) -> pd.DataFrame:
    """(step, layer, norm) of each layer's weight-gradient norm at each probe frame."""
    frames = probes[:: max(1, len(probes) // MAX_POINTS)]
    rows = [
        {"step": p["step"], "layer": layer["layer"], "norm": layer["grad_norm"]}
        for p in frames
        for layer in p["layers"]
        if layer.get("grad_norm") is not None
        and math.isfinite(layer["grad_norm"])
        and layer["grad_norm"] > 0
    ]
    return pd.DataFrame(rows, columns=["step", "layer", "norm"])


def grad_norms_chart(df: pd.DataFrame, height: int = 200):
    """Gradient norm per layer over training (log scale: vanishing gradients span decades)."""
    return (
        alt.Chart(df, title="Gradient norm per layer over time", height=height, autosize=FIT_WIDTH)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("norm:Q", scale=alt.Scale(type="log"), title="‖∂loss/∂W‖"),
            color=alt.Color("layer:N", sort=None, legend=TOP_LEGEND),
            tooltip=["layer:N", "step:Q", alt.Tooltip("norm:Q", format=".3g")],
        )
    )


def grad_depth_table(layers: list[dict[str, Any]]) -> pd.DataFrame:
    """(layer, norm) of each layer's positive, finite gradient norm, input to output."""
    return pd.DataFrame(
        [
            {"layer": layer["layer"], "norm": layer["grad_norm"]}
            for layer in layers
            if layer.get("grad_norm") is not None
            and math.isfinite(layer["grad_norm"])
            and layer["grad_norm"] > 0
        ],
        columns=["layer", "norm"],
    )


def grad_depth_chart(df: pd.DataFrame, height: int = 200):
    """Gradient norm of each layer now, input to output: the vanishing-gradient picture.

    Points joined by a line on a log scale: norms span decades, and a bar (which starts at
    0) cannot be drawn on a log scale at all (the chart stayed empty)."""
    return (
        alt.Chart(df, title="Gradient norm by depth", height=height, autosize=FIT_WIDTH)
        .mark_line(color="#0877bd", point=alt.OverlayMarkDef(size=60, filled=True))
        .encode(
            x=alt.X("layer:N", sort=None, title="layer (input → output)"),
            y=alt.Y("norm:Q", scale=alt.Scale(type="log"), title="‖∂loss/∂W‖"),
            tooltip=["layer:N", alt.Tooltip("norm:Q", format=".3g")],
        )
    )


def lr_table(history: History, steps_per_epoch: int) -> pd.DataFrame:
    """(epoch, lr): the learning rate actually used at each step, averaged into buckets."""
    xs, ys = downsample([s / steps_per_epoch for s in history.step], history.lr)
    return pd.DataFrame({"epoch": xs, "lr": ys})


def lr_chart(df: pd.DataFrame, height: int = 200):
    """The learning rate over training."""
    return (
        alt.Chart(df, title="Learning rate", height=height, autosize=FIT_WIDTH)
        .mark_line(color="#0877bd")
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("lr:Q", title=None),
            tooltip=["epoch:Q", "lr:Q"],
        )
    )


def confusion_chart(matrix: np.ndarray, labels: Sequence[str], size: int = 440):
    """Confusion matrix heatmap with the count in every cell: rows true class, columns
    predicted. Zero cells are white, so the few mistakes stand out from the empty cells."""
    n = len(labels)
    df = pd.DataFrame(
        [
            {"true": labels[i], "predicted": labels[j], "count": int(matrix[i, j])}
            for i in range(n)
            for j in range(n)
        ]
    )
    peak = max(1, int(matrix.max()))
    base = alt.Chart(df, width=size, height=size).encode(
        x=alt.X("predicted:O", sort=list(labels), title="predicted", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:O", sort=list(labels), title="true"),
    )
    cells = base.mark_rect(stroke="#e6e6e6").encode(
        # sqrt: a diagonal of hundreds and off-diagonal counts of 1-10 both stay visible
        color=alt.Color(
            "count:Q",
            scale=alt.Scale(type="sqrt", domain=[0, peak], range=["#ffffff", "#08519c"]),
            legend=None,
        ),
        tooltip=["true:O", "predicted:O", "count:Q"],
    )
    text = base.mark_text(fontSize=13).encode(
        text="count:Q",
        color=alt.condition(alt.datum.count > peak / 3, alt.value("white"), alt.value("black")),
    )
    return cells + text


def probabilities_chart(probs: np.ndarray, labels: Sequence[str], height: int = 200):
    """Bar chart of the predicted probability of each class."""
    df = pd.DataFrame({"class": list(labels), "probability": probs.astype(float)})
    return (
        alt.Chart(df, height=height, autosize=FIT_WIDTH)
        .mark_bar(color="#0877bd")
        .encode(
            x=alt.X("class:O", sort=list(labels)),
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=["class:O", alt.Tooltip("probability:Q", format=".1%")],
        )
    )


def run_histograms_table(runs: dict[str, list[dict[str, Any]]], part: str) -> pd.DataFrame:
    """Histograms of `part` for several runs: (run, layer, lo, hi, fraction)."""
    frames = [histogram_table(layers, part).assign(run=label) for label, layers in runs.items()]
    if not frames:
        return pd.DataFrame(columns=["layer", "lo", "hi", "fraction", "run"])
    return pd.concat(frames, ignore_index=True)


GRID_WIDTH = 640  # px for all the layer panels of a row (the run names take ~150 more)


def histogram_grid_chart(
    df: pd.DataFrame, x_title: str, order: tuple[str, ...] = (), layers: int = 5
):
    """Rows of runs (in `order`), columns of layers: how a distribution changes with depth,
    per run (the deeplearning.ai initialization picture). Each panel keeps its own x and y
    ranges, so a narrow or flat distribution still shows its shape. The panels of a row share
    GRID_WIDTH, so eight layers fit where five did (instead of running off the page); the
    y axes carry no labels (the tooltip has each bar's share) to leave the room to the bars."""
    width = max(50, min(110, GRID_WIDTH // max(1, layers) - 14))
    base = (
        alt.Chart(df, height=70, width=width)
        .mark_bar(color="#0877bd", opacity=0.85)
        .encode(
            x=alt.X("lo:Q", bin="binned", title=x_title, axis=alt.Axis(labelOverlap=True)),
            x2="hi:Q",
            y=alt.Y("fraction:Q", title=None, axis=alt.Axis(labels=False, ticks=False)),
            tooltip=[alt.Tooltip("lo:Q", format=".3g"), alt.Tooltip("fraction:Q", format=".1%")],
        )
    )
    return base.facet(
        row=alt.Row(
            "run:N",
            sort=list(order) or None,
            title=None,
            header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=0),
        ),
        column=alt.Column("layer:N", sort=None, title=None, header=alt.Header(labelLimit=0)),
    ).resolve_scale(x="independent", y="independent")


def depth_table(runs: dict[str, list[dict[str, Any]]], stat: str) -> pd.DataFrame:
    """(run, layer, depth, value) of one per-layer statistic: "std" (post-activation std),
    "saturated", "dead", "grad_norm" or "weight_norm"; non-finite values are left out."""
    rows = []
    for label, layers in runs.items():
        for depth, layer in enumerate(layers, start=1):
            value = (layer.get("post") or {}).get("std") if stat == "std" else layer.get(stat)
            if value is not None and math.isfinite(value):
                rows.append({"run": label, "layer": layer["layer"], "depth": depth, "value": value})
    return pd.DataFrame(rows, columns=["run", "layer", "depth", "value"])


def depth_chart(
    df: pd.DataFrame,
    title: str,
    log_y: bool = False,
    percent: bool = False,
    runs: tuple[str, ...] = (),
):
    """A per-layer statistic against depth, one line per run (coloured in `runs` order)."""
    axis = alt.Axis(format="%") if percent else alt.Axis()
    scale = alt.Scale(type="log") if log_y else alt.Scale()
    return (
        alt.Chart(df, title=title, height=200, autosize=FIT_WIDTH)
        .mark_line(point=True)
        .encode(
            x=alt.X("depth:O", title="layer (input → output)"),
            y=alt.Y("value:Q", title=None, scale=scale, axis=axis),
            color=run_color(runs),
            tooltip=["run:N", "layer:N", alt.Tooltip("value:Q", format=".3g")],
        )
    )


def grad_time_table(runs: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """(run, step, layer, norm) over time, from each run's probe frames (thinned)."""
    frames = [grad_norms_table(probes).assign(run=label) for label, probes in runs.items()]
    if not frames:
        return pd.DataFrame(columns=["step", "layer", "norm", "run"])
    return pd.concat(frames, ignore_index=True)


def grad_time_chart(df: pd.DataFrame):
    """Gradient norm of every layer over training, one small panel per run."""
    return (
        alt.Chart(df, height=150, width=220)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("norm:Q", scale=alt.Scale(type="log"), title="‖∂loss/∂W‖"),
            color=alt.Color("layer:N", sort=None, legend=TOP_LEGEND),
            tooltip=["layer:N", "step:Q", alt.Tooltip("norm:Q", format=".3g")],
        )
        .facet(facet=alt.Facet("run:N", sort=None, title=None), columns=3)
    )


def weights_chart(df: pd.DataFrame, order: tuple[str, ...] = ()):
    """Histogram of all hidden-layer weights, one panel per run (own x range each)."""
    return (
        alt.Chart(df, height=120, width=170)
        .mark_bar(color="#0877bd")
        .encode(
            x=alt.X("lo:Q", bin="binned", title="weight"),
            x2="hi:Q",
            y=alt.Y("fraction:Q", title=None, axis=alt.Axis(format="%")),
        )
        .facet(
            facet=alt.Facet(
                "run:N", sort=list(order) or None, title=None, header=alt.Header(labelLimit=0)
            ),
            columns=4,
        )
        .resolve_scale(x="independent", y="independent")
    )


def mode_grid_chart(df: pd.DataFrame):
    """The first layer's outputs for a few examples and units, train mode next to eval mode:
    dropped units show as 0 in train mode, the kept ones scaled up."""
    return (
        alt.Chart(df, height=130, width=200)
        .mark_rect()
        .encode(
            x=alt.X("unit:O", title="unit"),
            y=alt.Y("example:O", title="example"),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="blues"), title="output value"),
            tooltip=["mode:N", "example:O", "unit:O", alt.Tooltip("value:Q", format=".3g")],
        )
        .facet(column=alt.Column("mode:N", title=None, sort=["train mode", "eval mode"]))
    )


def grid_chart(df: pd.DataFrame, panel_title: str, colour_title: str):
    """Training accuracy small multiples: one panel per `panel` value, colour by `colour`."""
    return (
        alt.Chart(df, height=160, width=170)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("value:Q", title="training accuracy", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "colour:N",
                title=colour_title,
                legend=alt.Legend(orient="top", labelLimit=0),
                scale=alt.Scale(range=RUN_PALETTE),
            ),
            tooltip=["panel:N", "colour:N", alt.Tooltip("epoch:Q", format=".2f"), "value:Q"],
        )
        .facet(
            facet=alt.Facet("panel:N", title=panel_title, sort=None),
            columns=4,
        )
    )


def race_loss_chart(df: pd.DataFrame, log_y: bool = True, names: tuple[str, ...] = ()):
    """Loss against step for every racer, coloured like its path (`names` in race order)."""
    names = list(names)
    palette = [f"rgb{PATH_COLORS[k % len(PATH_COLORS)]}" for k in range(len(names))]
    scale = alt.Scale(type="symlog") if log_y else alt.Scale(zero=False)
    return (
        alt.Chart(df, title="Loss against step", height=220, autosize=FIT_WIDTH)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("loss:Q", scale=scale, title=None),
            color=alt.Color(
                "optimizer:N", scale=alt.Scale(domain=names, range=palette), legend=TOP_LEGEND
            ),
            tooltip=["optimizer:N", "step:Q", alt.Tooltip("loss:Q", format=".4g")],
        )
    )


def line_landscape_chart(df: pd.DataFrame):
    """Loss along the line from the initial (α = 0) to the trained (α = 1) weights."""
    return (
        alt.Chart(
            df, title="From initial (α=0) to trained (α=1) weights", height=220, autosize=FIT_WIDTH
        )
        .mark_line(color="#0877bd", strokeWidth=2, point=True)
        .encode(
            x=alt.X("alpha:Q", title="α"),
            y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="loss"),
            tooltip=[alt.Tooltip("alpha:Q", format=".2f"), alt.Tooltip("loss:Q", format=".4g")],
        )
    )


def runs_lr_chart(df: pd.DataFrame, runs: tuple[str, ...] = ()):
    """The learning rate of several runs over training (coloured in `runs` order)."""
    return (
        alt.Chart(df, title="Learning rate", height=220, autosize=FIT_WIDTH)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("lr:Q", title=None),
            color=run_color(runs),
            tooltip=[
                "run:N",
                alt.Tooltip("epoch:Q", format=".2f"),
                alt.Tooltip("lr:Q", format=".3g"),
            ],
        )
    )
