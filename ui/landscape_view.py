"""The loss landscape around a trained network (Li et al. 2018, "Visualizing the Loss
Landscape of Neural Nets"): the loss along the straight line from the initial to the trained
weights, and on a 2-D slice through the trained weights, along two filter-normalized random
directions or along the first two PCA directions of the training trajectory (drawn on it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from engine import landscape
from engine.landscape import LineResult, SliceResult
from engine.seeding import generator
from engine.trainer import Trainer
from ui import charts, i18n, images
from ui.live import LiveRun
from ui.state import skey

MAP_SIZE = 420
SNAPSHOTS_KEPT = 40  # weight snapshots per run for the trajectory (MNIST MLP: ~0.4 MB each)


def keep_snapshots(run: LiveRun) -> None:
    """Make the run's trainers record their weights twice per epoch (for the trajectory)."""
    for t in run.trainers:
        if not t.snapshot_every:
            t.snapshot_every = max(1, t.steps_per_epoch // 2)
            t.max_snapshots = SNAPSHOTS_KEPT


def landscape_section(page: str, run: LiveRun | None) -> None:
    """Controls, then (on request, with a progress bar) the line and the slice."""
    if run is None:
        st.caption(i18n.t("Start a race above first: its runs are the networks to map."))
        return
    cols = st.columns([2, 1, 1, 1, 1])
    names = {label: i18n.t(label) for label in run.labels}  # values stay the English labels
    label = cols[0].selectbox(
        i18n.t("Network"), run.labels, format_func=names.__getitem__, key=skey(page, "ls.run")
    )
    t = run.trainers[run.labels.index(label)]
    kinds = {
        "pca": i18n.t("PCA of the trajectory"),
        "random": i18n.t("random (filter-normalized)"),
    }
    directions = cols[1].selectbox(
        i18n.t("Directions"), list(kinds), format_func=kinds.__getitem__, key=skey(page, "ls.dirs")
    )
    grid = int(
        cols[2].select_slider(i18n.t("Grid"), [11, 21, 31, 41], 21, key=skey(page, "ls.grid"))
    )
    span = float(
        cols[3].select_slider(i18n.t("Span"), [0.25, 0.5, 1.0, 2.0], 1.0, key=skey(page, "ls.span"))
    )
    samples = int(
        cols[4].select_slider(
            i18n.t("Examples"), [200, 500, 1000, 2000], 500, key=skey(page, "ls.n")
        )
    )
    if t.cfg.model.arch == "cnn":
        st.caption(
            i18n.t(
                "A CNN costs about 0.2 s per point on 1,000 images on one CPU core: a 21x21 "
                "grid on 200 images takes about 20 s."
            )
        )
    if t.step_count == 0:
        st.info(
            i18n.t("This network has not trained yet: press Play or Step above."),
            icon=":material/info:",
        )
        return
    key = ("landscape", label, t.step_count, directions, grid, span, samples)
    if st.button(
        i18n.t("Compute the landscape"),
        key=skey(page, "ls.go"),
        type="primary",
        disabled=run.playing,
    ):
        try:
            run.cache[key] = compute(t, directions, grid, span, samples)
        except ValueError as e:  # too few snapshots for a PCA, say: the message says what to do
            st.warning(i18n.message(str(e)), icon=":material/info:")
    if run.playing:
        st.caption(i18n.t("Pause the training to compute a landscape of the weights as they are."))
    result = run.cache.get(key)
    if result is not None:
        draw(result, directions)


def compute(t: Trainer, directions: str, grid: int, span: float, samples: int) -> dict[str, object]:
    """The line from initial to final weights and the 2-D slice, with a progress bar."""
    n = min(samples, len(t.train_split.y))
    x, y = t.train_split.x[:n], t.train_split.y[:n]
    final = landscape.snapshot(t.model)
    bar = st.progress(0.0, text=i18n.t("Computing the loss landscape..."))
    line_share = 41 / (41 + grid * grid)  # of the work: the line, then the slice

    each = i18n.t("{phase}: {done} of {total} points")

    def progress(phase: str, start: float, width: float):
        def report(done: int, total: int) -> None:
            frac = start + width * done / max(total, 1)
            bar.progress(min(frac, 1.0), text=each.format(phase=phase, done=done, total=total))

        return report

    line_progress = progress(i18n.t("The line from initial to trained weights"), 0.0, line_share)
    line = landscape.line(
        t.model, t.initial_params, final, x, y, t.loss_fn, 41, progress=line_progress
    )
    trajectory, explained = None, None
    if directions == "pca":
        snaps = [p for _, p in t.snapshots]
        pca = landscape.pca_directions([t.initial_params, *snaps], final)
        d1, d2, trajectory, explained = pca.d1, pca.d2, pca.coords, pca.explained
        reach = float(np.abs(trajectory).max()) * 1.15 or 1.0
        span = max(span, reach)  # the whole path fits on the map
    else:
        g = generator(t.cfg.seed, "noise")
        d1 = landscape.random_direction(t.model, g, center=final)
        d2 = landscape.random_direction(t.model, g, center=final)
    slice_progress = progress(i18n.t("The 2-D slice"), line_share, 1 - line_share)
    sl = landscape.slice_2d(t.model, final, d1, d2, x, y, t.loss_fn, grid, span, slice_progress)
    bar.empty()
    return {"line": line, "slice": sl, "trajectory": trajectory, "explained": explained, "n": n}


def draw(result: dict, directions: str) -> None:
    """The 2-D map (with the trajectory for PCA directions) and the 1-D line."""
    sl: SliceResult = result["slice"]
    line: LineResult = result["line"]
    cols = st.columns([3, 2])
    with cols[0]:
        z = np.log10(np.maximum(sl.losses, 1e-8))
        img = images.contour_image(z, (MAP_SIZE, MAP_SIZE), levels=20)
        s = float(sl.alphas[-1])
        paths = []
        if result["trajectory"] is not None:
            paths = [np.asarray(result["trajectory"])]
        img = images.draw_paths(img, paths, (-s, s, -s, s), marks=[(0.0, 0.0)])
        if directions == "pca":
            e1, e2 = result["explained"]
            caption = i18n.t(
                "Loss (log-scaled contours, dark is low) on the plane of the trajectory's first "
                "two PCA directions, which explain {e1:.0%} and {e2:.0%} of its variance. Red: "
                "the path from the initial weights (square) to the trained ones (cross)."
            ).format(e1=e1, e2=e2)
        else:
            caption = i18n.t(
                "Loss (log-scaled contours, dark is low) on a plane through the trained weights "
                "(cross) along two random filter-normalized directions; biases and "
                "normalization parameters are not moved."
            )
        st.image(images.to_jpeg(img), output_format="JPEG", width=MAP_SIZE, caption=caption)
        st.caption(
            i18n.t("{rows}x{cols} points on {n} training examples in {seconds:.1f} s.").format(
                rows=len(sl.alphas), cols=len(sl.betas), n=result["n"], seconds=sl.seconds
            )
        )
    with cols[1]:
        df = pd.DataFrame({"alpha": line.alphas, "loss": line.losses})
        charts.show(charts.line_landscape_chart, df)
        st.caption(
            i18n.t(
                "Loss along the straight line from the initial weights (α = 0) to the trained "
                "ones (α = 1) and beyond (Goodfellow et al. 2015): typically a smooth descent."
            )
        )
