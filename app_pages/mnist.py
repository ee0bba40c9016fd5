"""MNIST: train an MLP or CNN on handwritten digits live, then look at what it gets wrong."""

import streamlit as st

from engine.data import DataError
from engine.presets import list_presets
from ui import mnist_view, panels
from ui.controls import Group, PageControls, pop_notices, render_controls
from ui.live import ensure_run, live_area
from ui.presets import preset_picker
from ui.state import skey
from ui.transport import status_banner, transport
from ui.urlstate import init_page_state, view_toggle, write_url

PAGE = "mnist"
PRESETS = list_presets("mnist")
# The page opens on its first preset: a 784-100-100-10 ReLU MLP with Adam, about 93% test
# accuracy on the built-in 5,000 images in 10 epochs.
BASE = PRESETS[0].config
VIEWS = {"log_loss": False}
CONTROLS = PageControls(
    page=PAGE,
    base=BASE,
    datasets=("mnist", "mnist_full"),
    groups=(
        Group("Data", ("data.dataset", "data.train_subset", "data.val_fraction",
                       "data.normalize", "seed")),
        Group("Network", ("model.arch", "model.hidden", "model.kernel_size", "model.pool",
                          "model.head", "model.activation", "model.maxout_pieces", "model.init",
                          "model.init_std", "model.norm", "model.norm_position",
                          "model.norm_groups", "model.residual", "model.bias")),
        Group("Regularization", ("train.l1", "train.l2", "model.dropout", "model.dropout_rate",
                                 "model.block_size", "model.cutout_size", "train.max_norm",
                                 "train.early_stopping_patience")),
        Group("Optimizer", ("train.optimizer", "train.lr", "train.momentum", "train.betas",
                            "train.rho", "train.eps", "train.weight_decay", "train.batch_size",
                            "train.schedule", "train.decay_steps", "train.decay_rate",
                            "train.power", "train.lr_end", "train.warmup_steps",
                            "train.grad_clip")),
        Group("Run", ("train.loss", "train.epochs", "train.eval_every", "device"),
              expanded=False),
    ),
)  # fmt: skip

init_page_state(CONTROLS, VIEWS)
st.title("MNIST digits")
st.caption(
    "Handwritten digits 0-9, 28×28 pixels. Choose an MLP or a CNN in the sidebar and press "
    "Play; the test set is scored when training ends."
)
preset_picker(PAGE, PRESETS)
cfg, error = render_controls(CONTROLS)
for notice in pop_notices(PAGE):
    st.warning(notice, icon=":material/info:")

run = None
if error:
    st.error(f"This combination cannot train: {error}", icon=":material/block:")
elif cfg.data.dataset == "mnist_full" and not mnist_view.full_set_ready():
    mnist_view.download_panel(PAGE)
else:
    try:
        run, _ = ensure_run(PAGE, cfg)
    except DataError as e:
        st.error(str(e), icon=":material/error:")

transport(PAGE, run, blocked=run is None)
log_loss = view_toggle(PAGE, "log_loss", "Log-scale loss")


def draw(live) -> None:
    """One redraw: numbers, curves, the inside views and live predictions."""
    status_banner(live)
    panels.metrics_row(live, held_out="validation")
    extra = {"Validation digits": mnist_view.validation_grid}
    panels.live_tabs(PAGE, live, held_out="validation", log_loss=log_loss, extra=extra)


live_area(PAGE, draw)
if run is not None:
    st.subheader("Results on the test set")
    force = st.button("Score the test set now", key=skey(PAGE, "btn.score"), disabled=run.playing)
    mnist_view.test_results(run, force)
    st.subheader("Try your own digit")
    mnist_view.your_digit(PAGE, run)
write_url(CONTROLS, cfg, VIEWS)
