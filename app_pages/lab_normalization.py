"""Normalization lab: BatchNorm, LayerNorm and GroupNorm against bad scales and tiny batches."""

import streamlit as st

from engine.presets import list_presets
from ui import i18n, lab_views
from ui.controls import Group
from ui.labs import Lab, comparison, experiment_views, lab_controls, lab_setup, open_lab_page
from ui.navigation import LAB_NORMALIZATION
from ui.state import skey
from ui.urlstate import write_url

PAGE = LAB_NORMALIZATION.key
LAB = Lab(PAGE, list_presets("labs/normalization"))
VIEWS = experiment_views(LAB)
CONTROLS = lab_controls(
    LAB,
    datasets=("mnist", "normal_noise"),
    groups=(
        Group("Data", ("data.dataset", "data.train_subset", "seed")),
        Group("Network", ("model.hidden", "model.activation", "model.init", "model.init_std",
                          "model.norm", "model.norm_position", "model.norm_groups")),
        Group("Training", ("train.optimizer", "train.lr", "train.momentum", "train.batch_size",
                           "train.epochs", "train.steps", "train.eval_every")),
    ),
)  # fmt: skip

open_lab_page(
    CONTROLS,
    VIEWS,
    i18n.t("Normalization"),
    i18n.t(
        "Normalizing each layer's inputs keeps their scale in check whatever the weights do. "
        "Each experiment trains the same network side by side with and without it."
    ),
)
preset, cfg, runs = lab_setup(LAB, CONTROLS)

comparison(
    LAB,
    "main",
    runs,
    extra={
        "Grid": lab_views.grid_view,
        "Layers now": lab_views.now_view,
        "Gradients": lab_views.gradients_view,
    },
)

st.subheader(i18n.t("Train mode versus eval mode"))
run = st.session_state.get(skey(PAGE, "cmp.main"))
if run is not None:
    lab_views.modes_view(run)
write_url(CONTROLS, cfg, VIEWS)
