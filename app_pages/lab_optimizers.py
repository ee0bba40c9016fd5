"""Optimizers lab: races on classic surfaces and on MNIST, and the loss landscape."""

import streamlit as st

from engine.presets import list_presets
from ui import i18n, lab_views, landscape_view, surfaces_view
from ui.controls import Group
from ui.labs import (
    Lab,
    comparison,
    experiment_picker,
    experiment_views,
    lab_controls,
    lab_setup,
    open_lab_page,
)
from ui.navigation import LAB_OPTIMIZERS
from ui.state import skey
from ui.urlstate import write_url

PAGE = LAB_OPTIMIZERS.key
SURFACE_LAB = Lab(PAGE, list_presets("labs/surfaces"), slot="surface", loads_config=False)
MNIST_LAB = Lab(PAGE, list_presets("labs/optimizers"))
VIEWS = experiment_views(MNIST_LAB, SURFACE_LAB)
CONTROLS = lab_controls(
    MNIST_LAB,
    datasets=("mnist", "circle", "spiral", "xor", "moons"),
    groups=(
        Group("Data", ("data.dataset", "data.train_subset", "seed")),
        Group("Network", ("model.hidden", "model.activation", "model.init", "model.norm")),
        Group("Training (all runs)", ("train.optimizer", "train.lr", "train.momentum",
                                      "train.betas", "train.rho", "train.batch_size",
                                      "train.epochs", "train.schedule", "train.decay_steps",
                                      "train.decay_rate", "train.lr_end", "train.warmup_steps",
                                      "train.eval_every")),
    ),
)  # fmt: skip

open_lab_page(
    CONTROLS,
    VIEWS,
    i18n.t("Optimizers and loss surfaces"),
    i18n.t(
        "How an update rule finds its way downhill: first on two-dimensional surfaces you can see "
        "whole, then on a real network, then on a map of that network's own loss landscape."
    ),
)

st.header(i18n.t("1. Races on classic surfaces"))
surface_preset = experiment_picker(SURFACE_LAB, label="Surface experiment")
surfaces_view.race_section(PAGE, surface_preset)

st.header(i18n.t("2. A race on MNIST"))
preset, cfg, runs = lab_setup(MNIST_LAB, CONTROLS)
run = comparison(MNIST_LAB, "main", runs, extra={"Learning rate": lab_views.lr_view})
if run is not None:
    landscape_view.keep_snapshots(run)

st.header(i18n.t("3. The loss landscape of a trained network"))
st.caption(
    i18n.t(
        'After Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets". Pick one of the '
        "race's networks (pause it first), then compute."
    )
)
landscape_view.landscape_section(PAGE, st.session_state.get(skey(PAGE, "cmp.main")))
write_url(CONTROLS, cfg, VIEWS)
