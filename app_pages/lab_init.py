"""Initialization and activations lab: what the starting weights do to a deep network."""

import streamlit as st

from engine.data import DATASETS
from engine.presets import list_presets
from ui import i18n, lab_views
from ui.controls import Group
from ui.labs import (
    Lab,
    comparison,
    experiment_views,
    lab_controls,
    lab_setup,
    open_lab_page,
    start_comparison,
)
from ui.navigation import LAB_INIT
from ui.panels import part_picker
from ui.state import skey
from ui.urlstate import write_url

PAGE = LAB_INIT.key
LAB = Lab(PAGE, list_presets("labs/init"))
VIEWS = experiment_views(LAB)
CONTROLS = lab_controls(
    LAB,
    datasets=("normal_noise", "mnist", *(e.name for e in DATASETS if e.extra["points2d"])),
    groups=(
        Group("Data", ("data.dataset", "data.n_samples", "data.input_dim", "data.noise",
                       "data.train_subset", "seed")),
        Group("Network", ("model.hidden", "model.activation", "model.maxout_pieces",
                          "model.init", "model.init_std", "model.norm", "model.norm_position",
                          "model.norm_groups", "model.residual")),
        Group("Training", ("train.optimizer", "train.lr", "train.momentum", "train.betas",
                           "train.batch_size", "train.epochs", "train.grad_clip"),
              expanded=False),
        Group("Transfer learning", ("data.classes", "train.pretrain_classes",
                                    "train.pretrain_epochs", "train.pretrain_new_head",
                                    "train.freeze", "train.body_lr_scale"),
              expanded=False),
    ),
)  # fmt: skip

open_lab_page(
    CONTROLS,
    VIEWS,
    i18n.t("Initialization and activations"),
    i18n.t(
        "How the first weights are drawn decides whether a deep network's signals and gradients "
        "survive its depth. Pick an experiment; the sidebar holds its network, which every run "
        "shares except for the one thing it changes."
    ),
)
preset, cfg, runs = lab_setup(LAB, CONTROLS)

st.subheader(i18n.t("1. At initialization, before any training"))
run = start_comparison(skey(PAGE, "cmp.main"), runs, PAGE) if runs else None
if run is not None:
    part = part_picker(PAGE, "Show")
    lab_views.init_view(run, part)

st.subheader(i18n.t("2. Train them side by side"))
comparison(
    LAB,
    "main",
    runs,
    extra={"Layers now": lab_views.now_view, "Gradients": lab_views.gradients_view},
)
write_url(CONTROLS, cfg, VIEWS)
