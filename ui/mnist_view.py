"""The MNIST page's own views: the full-set download, predictions on validation digits, test
results at the end (accuracy, confusion matrix, confident mistakes) and "try your own digit"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from engine.data import DataError, Split
from engine.data.digits import preprocess_digit, to_model_input
from engine.data.mnist import download_full, load_embedded, load_full
from engine.inspection import Predictions, confusion_matrix, most_confident_wrong, predict
from engine.trainer import Trainer
from ui import charts, images
from ui.live import LiveRun
from ui.state import skey

DIGITS = [str(d) for d in range(10)]
GRID_N = 50  # validation digits shown live


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
        "The full training set (60,000 images, about 10 MB) is not on this machine yet. "
        "Download it once; it is checked against the official checksums and cached.",
        icon=":material/cloud_download:",
    )
    if not st.button("Download the full MNIST set", key=skey(page, "btn.download"), type="primary"):
        return
    bar = st.progress(0.0, text="Starting download...")

    def progress(done: int, total: int) -> None:
        frac = done / total if total else 0.0
        bar.progress(min(frac, 1.0), text=f"Downloading MNIST: {done / 1e6:.1f} MB")

    try:
        download_full(progress=progress)
    except DataError as e:
        bar.empty()
        st.error(
            f"Download failed: {e}. The built-in 5,000-image set still works.",
            icon=":material/error:",
        )
        return
    bar.progress(1.0, text="Downloaded and verified.")
    st.rerun()


def validation_grid(run: LiveRun) -> None:
    """The first validation digits, framed green when the network is right, red when wrong."""
    t = run.trainer
    n = min(GRID_N, len(t.val_split.y))
    if n == 0:
        st.caption("No validation images (validation fraction is 0).")
        return
    p = predict(t.model, Split(t.val_split.x[:n], t.val_split.y[:n]))
    raw = _raw_images(t)[:n]
    st.image(
        images.digit_grid(raw, p.correct, cols=10, scale=2),
        caption=f"{int(p.correct.sum())} of {n} right. Green frame: right; red: wrong.",
    )


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
                "The test set is scored when training ends, or press *Score the test set now*."
            )
            return
        with st.spinner("Scoring the 10,000 test images..."):
            cached = TestResults(t.step_count, predict(t.model, t.test_split))
        run.cache["test_results"] = cached
    p = cached.preds
    st.metric(
        "Test accuracy", f"{p.accuracy:.2%}", help=f"On {len(p.target):,} official test images."
    )
    cols = st.columns([1, 1])
    with cols[0]:
        st.markdown("**Confusion matrix** (rows: true digit, columns: predicted)")
        matrix = confusion_matrix(p.target, p.pred, 10)
        st.altair_chart(charts.confusion_chart(matrix, DIGITS), width="content")
    with cols[1]:
        st.markdown("**Most confidently wrong**")
        idx = most_confident_wrong(p, 15)
        test_x = load_embedded().test_x
        st.image(
            [images.enlarge(255 - test_x[i], 2) for i in idx],
            caption=[f"{p.target[i]} → {p.pred[i]} ({p.confidence[i]:.0%})" for i in idx],
        )


def your_digit(page: str, run: LiveRun) -> None:
    """Upload a photo or drawing of a digit: the preprocessing steps and the prediction."""
    file = st.file_uploader(
        "A PNG or JPEG of one handwritten digit",
        type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
        key=skey(page, "digit"),
        help="Dark ink on light paper or light on dark both work; the image is cropped, "
        "scaled to 20x20 and centred in 28x28 like the MNIST digits.",
    )
    if file is None:
        return
    try:
        steps = preprocess_digit(file.getvalue())
    except DataError as e:
        st.error(f"Could not read {file.name}: {e}", icon=":material/error:")
        return
    t = run.trainer
    shown = [
        ("original", steps.original),
        ("inverted" if steps.inverted_applied else "not inverted", steps.inverted),
        ("ink cropped", steps.cropped),
        ("fit in 20×20", steps.resized),
        ("centred in 28×28", steps.centred),
    ]
    cols = st.columns(len(shown) + 1)
    for col, (label, img) in zip(cols, shown, strict=False):
        scale = max(1, 112 // max(img.shape))
        col.image(images.enlarge(img, scale), caption=label)
    x = to_model_input(steps.centred, t.data.shift, t.data.scale).to(t.device)
    probs = predict(t.model, Split(x, torch.zeros(1, dtype=torch.long))).probs[0]
    with cols[-1]:
        st.metric("Prediction", DIGITS[int(probs.argmax())], f"{probs.max():.0%} sure")
    st.altair_chart(charts.probabilities_chart(probs, DIGITS), width="stretch")
