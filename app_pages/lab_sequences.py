"""Sequences lab: vanilla RNN, LSTM and GRU, and backpropagation through time."""

from engine.presets import list_presets
from ui import i18n, lab_views, sequence_views
from ui.controls import Group
from ui.labs import Lab, comparison, experiment_views, lab_controls, lab_setup, open_lab_page
from ui.navigation import LAB_SEQUENCES
from ui.urlstate import write_url

PAGE = LAB_SEQUENCES.key
LAB = Lab(PAGE, list_presets("labs/sequences"))
VIEWS = experiment_views(LAB)
CONTROLS = lab_controls(
    LAB,
    datasets=("adding",),
    groups=(
        Group("Data", ("data.dataset", "data.seq_len", "data.n_samples",
                       "data.train_fraction", "seed")),
        Group("Network", ("model.arch", "model.hidden", "model.activation", "model.init",
                          "model.init_std", "model.recurrent_init", "model.forget_bias")),
        Group("Training", ("train.optimizer", "train.lr", "train.batch_size", "train.steps",
                           "train.eval_every", "train.grad_clip", "train.bptt")),
    ),
)  # fmt: skip

open_lab_page(
    CONTROLS,
    VIEWS,
    i18n.t("Sequences and backpropagation through time"),
    i18n.t(
        "A recurrent network reads a sequence one step at a time and carries what it needs in "
        "its hidden state; training it backpropagates through every step (BPTT). Each "
        "experiment trains the cells side by side on the same sequences."
    ),
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
