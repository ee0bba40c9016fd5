"""The MNIST page's "Filters" tab for a CNN: the first conv layer's kernels, and one validation
digit's feature maps after each conv and pooling layer, drawn as crisp pixel images.

Colours are the app's diverging map (ui/images.diverging): blue for positive values, orange
for negative, white at 0. Each picture is one image (a grid of small maps) so a redraw while
training plays sends a handful of PNGs, not a hundred.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
import torch
from PIL import Image

from engine.data import Split
from engine.filters import Stage, feature_maps, first_kernels
from engine.inspection import predict
from engine.trainer import Trainer
from ui import i18n, images
from ui.live import LiveRun
from ui.state import skey

Array = np.ndarray[Any, Any]
ROW_PX = 720  # widest picture: fits the page's main column beside nothing
GAP = 2  # pixels between two maps, in a grey that tells a white (zero) map from the page
GAP_GREY = 205
KERNEL_PX = 54  # a kernel's side on screen (a 3x3 kernel: 18 screen pixels a weight)
KERNEL_COLS = 8
MAP_SCALE = 3  # a 28x28 map is drawn 84 pixels wide
MIN_MAP_PX = 28  # the smallest maps (7x7 after two poolings) still drawn this wide


@dataclass(frozen=True)
class Pictures:
    """What the tab draws for one digit at one training step."""

    step: int
    index: int
    digit: bytes  # PNG
    kernels: bytes
    n_kernels: int
    kernel_side: int
    stages: list[tuple[Stage, bytes]]
    label: int
    pred: int
    confidence: float


def mosaic(
    maps: Array, cell: int, limit: float | None = None, cols: int = 0, gap: int = GAP
) -> Image.Image:
    """Maps (n, h, w) as one grid of cells `cell` pixels wide (upscaled by whole pixels with
    nearest-neighbour, so each value stays a crisp square), `cols` a row (0: as many as fit
    in ROW_PX), on one colour scale: +-`limit`, by default the largest magnitude among them,
    so the maps can be compared."""
    n, h, w = maps.shape
    if limit is None:
        finite = np.abs(maps[np.isfinite(maps)])
        limit = float(finite.max()) if finite.size else 1.0
    scale = max(1, cell // max(h, w))
    cols = max(1, min(n, cols or ROW_PX // (w * scale + gap)))
    rows = math.ceil(n / cols)
    # one colour pass over every map, upscaled by repeating pixels (nearest), all in numpy:
    # a PIL image per tile cost more than the network's forward pass
    tiles = images.diverging(maps, limit).repeat(scale, axis=1).repeat(scale, axis=2)
    th, tw = h * scale, w * scale
    grid = np.full((rows * (th + gap) + gap, cols * (tw + gap) + gap, 3), GAP_GREY, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = gap + r * (th + gap), gap + c * (tw + gap)
        grid[y : y + th, x : x + tw] = tiles[i]
    return Image.fromarray(grid, "RGB")


def png(img: Image.Image) -> bytes:
    """PNG bytes (lossless: JPEG would blur the squares' edges) at a light compression, half
    the time of Streamlit's default level for these blocky pictures."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def map_cell(side: int) -> int:
    """Screen pixels of a map `side` values wide: each halving by pooling shows as a smaller
    picture, down to MIN_MAP_PX, with each value a whole number of pixels."""
    return side * max(MAP_SCALE, math.ceil(MIN_MAP_PX / side))


def shown_stages(stages: list[Stage]) -> list[Stage]:
    """Each block's conv output, and after it what the next block reads: the pooled maps, or
    the activation's where the block does not pool."""
    pooled = {s.block for s in stages if s.kind == "pool"}
    return [
        s
        for s in stages
        if s.kind == "conv"
        or s.kind == "pool"
        or (s.kind == "activation" and s.block not in pooled)
    ]


def pictures(t: Trainer, index: int) -> Pictures:
    """The kernels and validation digit `index`'s maps, drawn (no Streamlit: pure pictures)."""
    x = t.val_split.x[index : index + 1]
    raw = (x.cpu()[0, 0] * t.data.scale + t.data.shift).clamp(0, 255).round()
    digit = images.enlarge(255 - raw.to(torch.uint8).numpy(), 4)  # dark ink, as on paper
    kernels = first_kernels(t.model)[:, 0]  # MNIST has one input channel
    k = kernels.shape[-1]
    p = predict(t.model, Split(x, t.val_split.y[index : index + 1]))
    stages = shown_stages(feature_maps(t.model, x))
    return Pictures(
        step=t.step_count,
        index=index,
        digit=png(digit),
        # a wider gap than the maps': a kernel's squares touch, so kernels need the space
        kernels=png(mosaic(kernels, max(KERNEL_PX // k, 4) * k, cols=KERNEL_COLS, gap=8)),
        n_kernels=len(kernels),
        kernel_side=k,
        stages=[(s, png(mosaic(s.maps, map_cell(s.shape[-1])))) for s in stages],
        label=int(p.target[0]),
        pred=int(p.pred[0]),
        confidence=float(p.confidence[0]),
    )


def stage_caption(stage: Stage) -> str:
    """ "Convolution 1: 16 maps of 28×28", in the session's language."""
    c, h, w = stage.shape
    title = {
        "conv": i18n.t("Convolution {n}"),
        "activation": i18n.t("Activation {n}"),
        "pool": i18n.t("Activation and pooling {n}"),
    }[stage.kind].format(n=stage.block)
    size = i18n.t("{c} maps of {h}×{w}").format(c=c, h=h, w=w)
    if len(stage.maps) < c:
        size += i18n.t(" (the first {k} shown)").format(k=len(stage.maps))
    return f"{title}: {size}"


def filters_panel(page: str, run: LiveRun) -> None:
    """The tab: a digit chooser, the first layer's kernels, the chosen digit's feature maps
    layer by layer, and what to look for."""
    t = run.trainer
    n = len(t.val_split.y)
    if n == 0:
        st.caption(i18n.t("No validation images (validation fraction is 0)."))
        return
    key = skey(page, "filters.digit")
    if st.session_state.get(key, 0) > n - 1:  # chosen before the validation split shrank
        st.session_state[key] = n - 1
    left, right = st.columns([1, 3])
    with left:
        index = int(
            st.number_input(
                i18n.t("Validation digit"),
                min_value=0,
                max_value=n - 1,
                value=0,
                step=1,
                key=key,
                help=i18n.t("Which validation image the feature maps are computed for."),
            )
        )
    cached: Pictures | None = run.cache.get("filters")
    if cached is None or (cached.step, cached.index) != (t.step_count, index):
        cached = run.cache["filters"] = pictures(t, index)
    with left:
        read = i18n.t("A {label}, read as {pred} ({sure:.0%} sure)")
        if not math.isfinite(cached.confidence):  # a diverged network reads nothing
            read = i18n.t("A {label}")
        label = read.format(label=cached.label, pred=cached.pred, sure=cached.confidence)
        st.image(cached.digit, caption=label)
    with right:
        st.markdown(i18n.t("**Kernels of the first convolution layer**"))
        st.image(cached.kernels)
        st.caption(
            i18n.t(
                "The {n} kernels ({k}×{k} weights each), on one shared scale: blue weights are "
                "positive, orange negative, white near 0. Each kernel is slid over the whole "
                "digit and responds where the digit has its pattern: a blue line beside an "
                "orange one finds an edge in that direction. Small kernels move only a little "
                "from their random start (in the CNN preset, by about a tenth over 8 "
                "epochs), yet they already detect strokes and edges: see their maps below."
            ).format(n=cached.n_kernels, k=cached.kernel_side)
        )
    st.markdown(i18n.t("**Feature maps of this digit, layer by layer**"))
    for stage, picture in cached.stages:
        st.image(picture, caption=stage_caption(stage))
    pooled = any(stage.kind == "pool" for stage, _ in cached.stages)
    st.caption(
        i18n.t(
            "Each map of convolution 1 is one kernel above slid over the digit: blue where "
            "the digit has the kernel's pattern, orange where it has the opposite. The "
            "activation reshapes each map (a ReLU sets its negative parts to 0) and each 2×2 "
            "pooling keeps one value of every patch (max pooling: the strongest response), so "
            "the maps halve in size: deeper maps say less about the digit's exact shape and "
            "more about which features are where. Each picture has its own colour scale."
            if pooled
            else "Each map of convolution 1 is one kernel above slid over the digit: blue "
            "where the digit has the kernel's pattern, orange where it has the opposite. "
            "Without pooling the maps keep the digit's size; each deeper layer combines the "
            "maps before it into more abstract features. Each picture has its own colour scale."
        )
    )
