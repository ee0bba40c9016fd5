"""What data augmentation does to a training image: one digit under several random draws.

Each run that augments (train.augment_*) gets a row: the digit as it is, then the copies its
settings make, drawn by the engine's own transform (engine/data/augment.py) on the raw pixels,
so what the student sees is what the network trains on (before the input scaling).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st
import torch

from engine.config import Config
from engine.data import DATASETS
from engine.data.augment import Augment, samples
from engine.data.mnist import load_embedded
from ui import i18n
from ui.images import digit_grid
from ui.state import skey

DRAWS = 9  # copies per row, after the original
MAX_ROWS = 4  # runs shown at most (a lab compares up to nine)


def is_images(cfg: Config) -> bool:
    return bool(DATASETS.get(cfg.data.dataset).extra["images"])


def example_digit(label: int) -> np.ndarray:
    """The first built-in training image of digit `label` (28, 28) uint8."""
    arrays = load_embedded()
    index = int(np.flatnonzero(arrays.train_y == label)[0])
    return np.asarray(arrays.train_x[index])


def draws(image: np.ndarray, aug: Augment, seed: int, n: int = DRAWS) -> np.ndarray:
    """`n` augmented copies of a raw digit (28, 28) uint8, as uint8 (n, 28, 28)."""
    x = torch.from_numpy(image.astype(np.float32))[None]  # (1, 28, 28), blank paper is 0
    out = samples(x, aug, seed, n, fill=0.0)[:, 0]
    return out.round().clamp(0, 255).to(torch.uint8).numpy()


def augment_view(page: str, runs: Sequence[tuple[str, Config]]) -> None:
    """A row of augmented copies of one digit for each run (label, config) that augments; a
    caption saying how to turn augmentation on when none does."""
    shown = [(label, cfg) for label, cfg in runs if is_images(cfg) and Augment.of(cfg.train).active]
    if not shown:
        st.caption(
            i18n.t(
                "None of these runs augments its training images. Tick the data augmentation "
                "run, or set a shift, rotation, zoom or elastic warp under Augmentation in the "
                "sidebar."
            )
        )
        return
    cols = st.columns([1, 1, 3])
    digit = cols[0].selectbox(i18n.t("Digit"), list(range(10)), key=skey(page, "aug.digit"))
    draw = int(cols[1].number_input(i18n.t("Draw"), 0, 999, 0, key=skey(page, "aug.draw")))
    image = example_digit(int(digit))
    for label, cfg in shown[:MAX_ROWS]:
        aug = Augment.of(cfg.train)
        row = np.concatenate([image[None], draws(image, aug, cfg.seed * 1000 + draw)])
        st.image(
            digit_grid(row, cols=len(row), scale=3),
            caption=i18n.t("{run}: the digit as it is, then {n} random draws").format(
                run=i18n.t(label), n=DRAWS
            ),
        )
    st.caption(
        i18n.t(
            "Every training step draws new moves for every image in the batch, so the network "
            "rarely sees the same picture twice; validation and test images are never moved."
        )
    )
