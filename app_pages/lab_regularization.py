"""Regularization lab: overfitting, and what penalties, dropout and early stopping do to it."""

import streamlit as st

from engine.data import DATASETS
from engine.presets import list_presets
from ui import augment_view, i18n, lab_views
from ui.controls import Group
from ui.labs import Lab, comparison, experiment_views, lab_controls, lab_setup, open_lab_page
from ui.navigation import LAB_REGULARIZATION
from ui.state import skey
from ui.urlstate import write_url

PAGE = LAB_REGULARIZATION.key
LAB = Lab(PAGE, list_presets("labs/regularization"))
VIEWS = experiment_views(LAB)
TOY_SETS = tuple(e.name for e in DATASETS if e.extra["points2d"] and e.name != "uploaded")
CONTROLS = lab_controls(
    LAB,
    datasets=("mnist", *TOY_SETS),
    groups=(
        Group("Data", ("data.dataset", "data.train_subset", "data.val_fraction",
                       "data.n_samples", "data.noise", "data.train_fraction", "seed")),
        Group("Network", ("model.hidden", "model.activation", "model.init", "model.norm")),
        Group("Regularization (all runs)", ("train.l1", "train.l2", "model.dropout",
                                            "model.dropout_rate", "model.block_size",
                                            "model.cutout_size", "train.max_norm",
                                            "train.early_stopping_patience")),
        Group("Augmentation (all runs)", ("train.augment_shift", "train.augment_rotation",
                                          "train.augment_scale", "train.augment_elastic"),
              expanded=False),
        Group("Training", ("train.optimizer", "train.lr", "train.weight_decay",
                           "train.batch_size", "train.epochs"), expanded=False),
    ),
)  # fmt: skip

open_lab_page(
    CONTROLS,
    VIEWS,
    i18n.t("Regularization"),
    i18n.t(
        "A network with more weights than examples can memorize its training set. Each "
        "experiment trains the same network side by side, with and without a regularizer; "
        "the table's gap is training minus held-out accuracy."
    ),
)
preset, cfg, runs = lab_setup(LAB, CONTROLS)
held_out = (
    "test" if cfg is not None and DATASETS.get(cfg.data.dataset).extra["toy"] else "validation"
)

comparison(
    LAB,
    "main",
    runs,
    held_out=held_out,
    extra={"Weights": lab_views.weights_view, "Boundaries": lab_views.boundaries_view},
)

st.subheader(i18n.t("Dropout and BatchNorm: training mode versus evaluation mode"))
run = st.session_state.get(skey(PAGE, "cmp.main"))
if run is not None:
    st.caption(
        i18n.t(
            "The same inputs through each run's network in both modes (no weights change). "
            "Press Step or Play above first to see a trained network."
        )
    )
    lab_views.mode_shift_view(run)
if cfg is not None and augment_view.is_images(cfg):
    st.subheader(i18n.t("Data augmentation: what the network trains on"))
    augment_view.augment_view(PAGE, runs)
write_url(CONTROLS, cfg, VIEWS)
