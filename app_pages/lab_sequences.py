"""Sequences lab: vanilla RNN, LSTM and GRU, and backpropagation through time."""

import streamlit as st

from engine.presets import list_presets
from ui import i18n, lab_views, sequence_views
from ui.controls import Group, PageControls
from ui.labs import Lab, comparison, lab_setup, with_experiment_base
from ui.navigation import LAB_SEQUENCES
from ui.urlstate import init_page_state, write_url

PAGE = LAB_SEQUENCES.key
LAB = Lab(PAGE, list_presets("labs/sequences"))
VIEWS = {"experiment": LAB.presets[0].name}
CONTROLS = with_experiment_base(
    LAB,
    PageControls(
        page=PAGE,
        base=LAB.presets[0].config,
        datasets=("adding",),
        groups=(
            Group("Data", ("data.dataset", "data.seq_len", "data.n_samples",
                           "data.train_fraction", "seed")),
            Group("Network", ("model.arch", "model.hidden", "model.activation", "model.init",
                              "model.init_std", "model.recurrent_init", "model.forget_bias")),
            Group("Training", ("train.optimizer", "train.lr", "train.batch_size", "train.steps",
                               "train.eval_every", "train.grad_clip", "train.bptt")),
        ),
    ),
)  # fmt: skip

init_page_state(CONTROLS, VIEWS)
st.title(i18n.t("Sequences and backpropagation through time"))
st.caption(
    i18n.t(
        "A recurrent network reads a sequence one step at a time and carries what it needs in "
        "its hidden state; training it backpropagates through every step (BPTT). Each "
        "experiment trains the cells side by side on the same sequences."
    )
)
preset, cfg, runs = lab_setup(LAB, CONTROLS)

comparison(
    LAB,
    "main",
    runs,
    extra={
        "Memory by length": sequence_views.length_view,
        "Gradient through time": sequence_views.bptt_view,
        "Gates": sequence_views.gates_view,
        "Gradients": lab_views.gradients_view,
    },
)
write_url(CONTROLS, cfg, VIEWS)
