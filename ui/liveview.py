"""The live view component: pictures that change every tick, drawn in the browser.

One Streamlit components v2 component (`st.components.v2.component`) whose JavaScript and CSS
live in assets/components/ and are read from disk here (no CDN: the app works offline). It
keeps its DOM between ticks and redraws canvases from the compact data built by the pages'
view modules (ui/toy_view.py, ui/mnist_view.py): uint8 heatmaps and a few weights, a few
kilobytes a tick, where server-drawn images cost a PNG/JPEG encode and a reload per tick and
flickered while the browser fetched them. See assets/components/liveview.js for the kinds of
view it draws.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "components"
NAME = "nn_playground.liveview"

_mount = st.components.v2.component(
    NAME,
    js=(ASSETS / "liveview.js").read_text(encoding="utf-8"),
    css=(ASSETS / "liveview.css").read_text(encoding="utf-8"),
)


def b64(a: np.ndarray) -> str:
    """A uint8 array as base64 text (JSON carries no bytes)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def signed_bytes(values: np.ndarray, limit: float) -> np.ndarray:
    """Values in [-limit, limit] as uint8 0..255 (127.5 is 0): the component's diverging
    colours. NaN (a diverged network) maps to 0, drawn white."""
    t = np.clip(np.nan_to_num(values / max(limit, 1e-12)), -1.0, 1.0)
    return np.rint((t + 1.0) * 127.5).astype(np.uint8)


def finite(obj: Any) -> Any:
    """`obj` with every NaN or infinity replaced by None: JSON has no such numbers, and the
    browser refuses a message with one (a diverged run's losses are NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def to_json(data: dict[str, Any]) -> bytes:
    """`data` as compact JSON, NaN and infinities as null (see `finite`; walking the data
    for them is skipped unless the strict encoding finds one: most frames have none)."""
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(finite(data), separators=(",", ":"), allow_nan=False)
    return text.encode()


def show(data: dict[str, Any], key: str, **callbacks: Callable[[], None]) -> Any:
    """Mount (or update) the component under `key` with `data` (its `kind` picks the view);
    `callbacks` are `on_<state>_change` handlers of the component's state and triggers."""
    return _mount(key=key, data=finite(data), **callbacks)


def ticker(key: str, every: float, on_tick: Callable[[], None]) -> None:
    """An invisible timer: `every` seconds after this run it sends a trigger, which reruns
    the fragment it is in. (A fragment's own run_every is fixed when the page runs; this one
    follows the server's load from one run to the next.)"""
    _mount(key=key, data={"kind": "ticker", "every": every}, on_tick_change=on_tick)


COPY_TEXT = {
    "copy": "Copy link",
    "copied": "Link copied",
    "failed": "Copy failed: use the address bar",
    "title": "Copy this page's link: it opens the same data, network and settings.",
}


def copy_link(key: str, tr: Callable[[str], str] = str) -> None:
    """A button that copies the page's link, with every setting in it, to the clipboard; its
    texts put through `tr` (the session's language)."""
    text = {name: tr(english) for name, english in COPY_TEXT.items()}
    _mount(key=key, data={"kind": "copy", "text": text}, width="content")


PAD_TEXT = {
    "clear": "Clear",
    "pad": "Drawing pad: draw one digit with the mouse or a finger",
}


def pad(
    key: str, data: dict[str, Any], on_change: Callable[[], None], tr: Callable[[str], str] = str
) -> None:
    """The drawing pad with `data` (the preprocessing steps and probabilities of the last
    drawing), its own words put through `tr`. Each stroke sends the drawing as state "ink"
    ({"n": count, "pixels": base64 ink values, "" when cleared}), read in `on_change` from
    st.session_state[key]["ink"]."""
    text = {name: tr(english) for name, english in PAD_TEXT.items()}
    _mount(key=key, data={"kind": "pad", "text": text, **data}, on_ink_change=on_change)
