"""The MNIST page's own views: the full-set download, predictions on validation digits, test
results at the end (accuracy, confusion matrix, confident mistakes) and "try your own digit"."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
import torch

from engine.data import DataError, Split
from engine.data.digits import DigitSteps, preprocess_digit, preprocess_ink, to_model_input
from engine.data.mnist import download_full, load_embedded, load_full
from engine.inspection import Predictions, confusion_matrix, most_confident_wrong, predict
from engine.trainer import Trainer
from ui import charts, i18n, images, liveview
from ui.live import LiveRun
from ui.state import skey
from ui.text import plain

DIGITS = [str(d) for d in range(10)]
GRID_N = 50  # validation digits shown live
HAN = re.compile(r"[\u4e00-\u9fff]")  # a Chinese character: the text was translated
# The charts' axis and tooltip titles (the data's column names in ui/charts.py) as this page
# words them in another language: "true" alone would read as a yes/no value.
CHART_TITLES = {
    "true": "true digit",
    "predicted": "read as",
    "class": "digit",
    "count": "number of images",
}


def full_set_ready() -> bool:
    """Whether the 60,000-image training set is downloaded and readable."""
    try:
        load_full()
    except DataError:
        return False
    return True


def download_panel(page: str) -> None:
    """Download button with a progress bar; errors say what to do and change nothing else."""
    st.info(
        i18n.t(
            "The full training set (60,000 images, about 10 MB) is not on this machine yet. "
            "Download it once; it is checked against the official checksums and cached."
        ),
        icon=":material/cloud_download:",
    )
    label = i18n.t("Download the full MNIST set")
    if not st.button(label, key=skey(page, "btn.download"), type="primary"):
        return
    bar = st.progress(0.0, text=i18n.t("Starting download..."))
    downloading = i18n.t("Downloading MNIST: {mb:.1f} MB")  # the callback runs off the script

    def progress(done: int, total: int) -> None:
        frac = done / total if total else 0.0
        bar.progress(min(frac, 1.0), text=downloading.format(mb=done / 1e6))

    try:
        download_full(progress=progress)
    except DataError as e:
        bar.empty()
        st.error(
            i18n.t("Download failed: {error}. The built-in 5,000-image set still works.").format(
                error=i18n.message(str(e))
            ),
            icon=":material/error:",
        )
        return
    bar.progress(1.0, text=i18n.t("Downloaded and verified."))
    st.rerun()


def validation_data(
    run: LiveRun,
    metrics: list[dict[str, str]],
    present: bool = False,
    static: bool = True,
    lang: str = i18n.DEFAULT,
) -> dict[str, Any]:
    """The first validation digits for the live view, framed green when the network is right
    and red when wrong, each with its prediction and confidence; the images themselves only
    if `static` (the browser keeps them while the run plays); the caption in `lang`. Calls
    no Streamlit: the training service builds frames with it."""
    t = run.trainer
    n = min(GRID_N, len(t.val_split.y))
    data: dict[str, Any] = {"kind": "digits", "frame": t.step_count, "metrics": metrics}
    if n == 0:
        caption = i18n.text_in(lang, "No validation images (validation fraction is 0).")
        return {**data, "caption": caption}
    p = predict(t.model, Split(t.val_split.x[:n], t.val_split.y[:n]))
    right = int(p.correct.sum())
    return {
        **data,
        "present": present,
        "images": liveview.b64(_raw_images(t)[:n]) if static else "",
        "labels": liveview.b64(p.target.astype(np.uint8)),
        "pred": liveview.b64(p.pred.astype(np.uint8)),
        "conf": liveview.b64(np.rint(p.confidence * 100).astype(np.uint8)),
        "cols": 10,
        "scale": 3 if present else 2,
        "caption": i18n.text_in(
            lang,
            "{right} of {n} validation digits right. Green frame: right; red: wrong, with what "
            "the network read (→ digit) and how sure it was.",
        ).format(right=right, n=n),
    }


def _raw_images(t: Trainer) -> np.ndarray:
    """uint8 images of the validation split, recovered from the normalized tensors."""
    x = t.val_split.x.cpu() * t.data.scale + t.data.shift  # (N, 1, 28, 28)
    return x.clamp(0, 255).round().to(torch.uint8).numpy()[:, 0]


@dataclass
class TestResults:
    step: int
    preds: Predictions


def test_results(run: LiveRun, force: bool) -> None:
    """Test-set accuracy, confusion matrix and the most confident mistakes (at the end, or on
    request), computed once per training step count."""
    t = run.trainer
    if t.test_split is None:
        return
    cached: TestResults | None = run.cache.get("test_results")
    if cached is None or cached.step != t.step_count:
        if not (t.done or force):
            st.caption(
                i18n.t(
                    "The test set is scored when training ends, or press *Score the test set now*."
                )
            )
            return
        with st.spinner(i18n.t("Scoring the 10,000 test images...")):
            cached = TestResults(t.step_count, predict(t.model, t.test_split))
        run.cache["test_results"] = cached
    p = cached.preds
    st.metric(
        i18n.t("Test accuracy"),
        f"{p.accuracy:.2%}",
        help=i18n.t("On {n:,} official test images.").format(n=len(p.target)),
    )
    st.markdown(i18n.t("**Confusion matrix**: how often each true digit (row) was read as each "
                       "digit (column); the diagonal is right."))  # fmt: skip
    matrix = confusion_matrix(p.target, p.pred, 10)
    st.vega_lite_chart(_shown_spec(charts.confusion_chart(matrix, DIGITS)), width="content")
    st.markdown(
        i18n.t("**Most confidently wrong**: true digit → what the network read (how sure).")
    )
    idx = most_confident_wrong(p, 15)
    test_x = load_embedded().test_x
    st.image(
        [images.enlarge(255 - test_x[i], 2) for i in idx],
        caption=[f"{p.target[i]} → {p.pred[i]} ({p.confidence[i]:.0%})" for i in idx],
    )


def _shown_spec(chart: Any) -> dict[str, Any]:
    """An Altair chart's spec (its data included) for st.vega_lite_chart, with its titles in
    the session's language: in English as built; else axes and tooltips named (Vega-Lite
    would show the data's column names) and every title translated."""
    spec: dict[str, Any] = chart.to_dict(validate=False)
    spec.pop("config", None)  # Altair's default view size, which st.altair_chart leaves out too
    if i18n.lang() != i18n.DEFAULT:
        _name_fields(spec)
        charts.translate_spec(spec, lambda text: i18n.t(CHART_TITLES.get(text, text)))
    return spec


def _name_fields(node: Any) -> None:
    """Give the x, y and tooltip encodings of a spec an explicit title (their field's name)."""
    if isinstance(node, list):
        for item in node:
            _name_fields(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "encoding" and isinstance(value, dict):
                for channel in ("x", "y", "tooltip"):
                    encs = value.get(channel)
                    for enc in encs if isinstance(encs, list) else [encs]:
                        if isinstance(enc, dict) and "field" in enc:
                            enc.setdefault("title", enc["field"])
            else:
                _name_fields(value)


def _sentence(text: str) -> str:
    """A message (an engine error's clause) as a sentence of its own, in its own script."""
    if HAN.search(text):
        return text.rstrip("。") + "。"
    return f"{text[:1].upper()}{text[1:]}."


PAD_SIDE = 112  # the drawing pad sends its ink at this resolution (assets/components)
MAX_INK_CHARS = 4 * (256 * 256 // 3 + 1)  # base64 of a 256x256 drawing: bigger is refused


def decode_ink(ink: Any) -> np.ndarray | None:
    """The pad's drawing as a square uint8 array, None when cleared; a DataError for
    anything else (the browser's message is visitor input: its size is checked first)."""
    pixels = ink.get("pixels") if isinstance(ink, dict) else None
    if not isinstance(pixels, str):
        raise DataError("the drawing pad sent no drawing")
    if not pixels:
        return None
    if len(pixels) > MAX_INK_CHARS:
        raise DataError("the drawing is too large (at most 256x256 pixels)")
    try:
        raw = np.frombuffer(base64.b64decode(pixels, validate=True), dtype=np.uint8)
    except ValueError as e:
        raise DataError(f"the drawing could not be read ({e})") from None
    side = math.isqrt(len(raw))
    if side * side != len(raw) or side < 8:
        raise DataError(f"the drawing is not square ({len(raw)} pixels)")
    return raw.reshape(side, side)


def _pad_result(page: str, key: str) -> None:
    """on-change of the pad: preprocess the new drawing and predict it with the page's
    current network (under the run's lock: never in the middle of a training slice)."""
    from ui.live import get_run

    run = get_run(page)
    state = st.session_state.get(key) or {}
    out: dict[str, Any] = {"steps": [], "probs": [], "message": "", "error": False}
    out["lang"] = i18n.lang()  # worded in it: a switch of language words it again
    try:
        ink = decode_ink(state.get("ink"))
        if ink is None:
            out["message"] = i18n.t("Draw a digit: large, in the middle of the pad.")
        elif run is not None:
            steps = preprocess_ink(ink)
            with run.lock:
                probs = _probabilities(run.trainer, steps.centred)
            best = int(probs.argmax())
            out.update(
                steps=_steps_data(steps),
                probs=[round(float(p), 4) for p in probs],
                message=i18n.t("The network reads {digit} ({sure:.0%} sure).").format(
                    digit=best, sure=probs[best]
                ),
            )
    except DataError as e:
        out.update(message=_sentence(i18n.message(str(e))), error=True)
    st.session_state[skey(page, "pad.result")] = out


def _probabilities(t: Trainer, centred: np.ndarray) -> np.ndarray:
    x = to_model_input(centred, t.data.shift, t.data.scale).to(t.device)
    return predict(t.model, Split(x, torch.zeros(1, dtype=torch.long))).probs[0]


def _steps_data(steps: DigitSteps) -> list[dict[str, Any]]:
    """The preprocessing steps as small square images for the component (ink bright)."""
    shown = [
        (i18n.t("ink cropped"), steps.cropped),
        (i18n.t("fit in 20×20"), steps.resized),
        (i18n.t("centred in 28×28"), steps.centred),
    ]
    out = []
    for label, img in shown:
        side = max(img.shape)
        square = np.zeros((side, side), dtype=np.uint8)
        top, left = (side - img.shape[0]) // 2, (side - img.shape[1]) // 2
        square[top : top + img.shape[0], left : left + img.shape[1]] = img  # centred
        out.append({"label": label, "side": side, "pixels": liveview.b64(square)})
    return out


def your_digit(page: str, run: LiveRun) -> None:
    """Draw a digit (or upload a picture of one): the preprocessing steps and the predicted
    probabilities, updated as you draw."""
    st.caption(
        i18n.t(
            "Draw one digit with the mouse (or a finger): while you draw, it is cropped, scaled "
            "to 20×20 and centred in 28×28 like the MNIST digits, and the network reads it."
        )
    )
    _drawing_pad(page)
    with st.expander(i18n.t("Or upload a photo or drawing of a digit"), icon=":material/upload:"):
        _upload(page, run)


@st.fragment
def _drawing_pad(page: str) -> None:
    """The pad in its own fragment: a stroke reruns this, not the page (nor the live view)."""
    key = skey(page, "pad")
    if st.session_state.get(skey(page, "pad.result"), {}).get("lang", i18n.lang()) != i18n.lang():
        _pad_result(page, key)  # the last drawing's result, in the language just switched to
    result = st.session_state.get(skey(page, "pad.result")) or {
        "message": i18n.t("Draw a digit: large, in the middle of the pad.")
    }
    liveview.pad(key, result, on_change=lambda: _pad_result(page, key), tr=i18n.t)


def _upload(page: str, run: LiveRun) -> None:
    """Upload a photo or drawing of a digit: the preprocessing steps and the prediction."""
    file = st.file_uploader(
        i18n.t("A PNG or JPEG of one handwritten digit"),
        type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
        key=skey(page, "digit"),
        help=i18n.t(
            "Dark ink on light paper or light on dark both work; the image is cropped, "
            "scaled to 20x20 and centred in 28x28 like the MNIST digits."
        ),
    )
    if file is None:
        return
    try:
        steps = preprocess_digit(file.getvalue())
    except DataError as e:
        st.error(
            i18n.t("Could not read {name}: {error}").format(
                name=plain(file.name), error=plain(i18n.message(str(e)))
            ),
            icon=":material/error:",
        )
        return
    t = run.trainer
    shown = [
        (i18n.t("original"), steps.original),
        (i18n.t("inverted") if steps.inverted_applied else i18n.t("not inverted"), steps.inverted),
        (i18n.t("ink cropped"), steps.cropped),
        (i18n.t("fit in 20×20"), steps.resized),
        (i18n.t("centred in 28×28"), steps.centred),
    ]
    cols = st.columns(len(shown) + 1)
    for col, (label, img) in zip(cols, shown, strict=False):
        scale = max(1, 112 // max(img.shape))
        col.image(images.enlarge(img, scale), caption=label)
    with run.lock:
        probs = _probabilities(t, steps.centred)
    with cols[-1]:
        sure = i18n.t("{sure:.0%} sure").format(sure=probs.max())
        st.metric(i18n.t("Prediction"), DIGITS[int(probs.argmax())], sure)
    st.vega_lite_chart(_shown_spec(charts.probabilities_chart(probs, DIGITS)), width="stretch")
