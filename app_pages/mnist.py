"""MNIST: train an MLP or CNN on handwritten digits live, then look at what it gets wrong."""

import streamlit as st

from engine.data import DataError
from engine.presets import list_presets
from engine.registry import ConfigError
from ui import filters_view, i18n, mnist_view, panels
from ui.controls import Group, PageControls, pop_notices, render_controls
from ui.lifecycle import ensure_run
from ui.live import LiveRun, panels_area
from ui.navigation import MNIST
from ui.presenter import intro, presenting
from ui.presets import preset_picker
from ui.service import charts_every, live_view
from ui.state import skey
from ui.text import plain
from ui.transport import IMAGE_SPEEDS, status_banner, transport
from ui.urlstate import init_page_state, view_toggle, view_values, write_url

PAGE = MNIST.key
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
        Group("Augmentation", ("train.augment_shift", "train.augment_rotation",
                               "train.augment_scale", "train.augment_elastic"), expanded=False),
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
intro(
    "MNIST digits",
    "Handwritten digits 0-9, 28×28 pixels. Choose an MLP or a CNN in the sidebar and press "
    "Play; the test set is scored when training ends.",
)
cfg, error = render_controls(CONTROLS)
for notice in pop_notices(PAGE):
    st.warning(plain(notice), icon=":material/info:")  # pop_notices translated it

run = None
if error:
    st.error(
        i18n.t("This combination cannot train: {error}").format(error=plain(i18n.message(error))),
        icon=":material/block:",
    )
elif cfg.data.dataset == "mnist_full" and not mnist_view.full_set_ready():
    mnist_view.download_panel(PAGE)
else:
    try:
        run, _ = ensure_run(PAGE, cfg)
    except (DataError, ConfigError) as e:  # e.g. BatchNorm with a one-example split
        st.error(i18n.message(str(e)), icon=":material/error:")

transport(
    PAGE, run, blocked=run is None, speeds=IMAGE_SPEEDS, more=lambda: preset_picker(PAGE, PRESETS)
)
views = view_values(PAGE)
present = presenting()
lang = i18n.lang()  # read here: `view` also runs in the training service, outside the script


def view(live: LiveRun, static: bool) -> dict:
    """The numbers and the validation digits with what the network reads (also built by the
    training service)."""
    metrics = panels.metric_items(live, held_out="validation", lang=lang)
    return mnist_view.validation_data(live, metrics, present, static, lang)


def charts(live: LiveRun) -> None:
    """Curves, histograms and gradients (and a CNN's filters), redrawn every few seconds while
    playing."""
    extra = None
    if live.trainer.cfg.model.arch == "cnn":
        extra = {"Filters": lambda r: filters_view.filters_panel(PAGE, r)}
    panels.live_tabs(PAGE, live, held_out="validation", log_loss=views["log_loss"], extra=extra)


if run is not None:
    status_banner(run)
live_view(PAGE, view)
view_toggle(PAGE, "log_loss", i18n.t("Log-scale loss"))
panels_area(PAGE, charts, every=charts_every)
if run is not None:
    st.subheader(i18n.t("Results on the test set"))
    force = st.button(
        i18n.t("Score the test set now"), key=skey(PAGE, "btn.score"), disabled=run.playing
    )
    mnist_view.test_results(run, force)
    st.subheader(i18n.t("Try your own digit"))
    mnist_view.your_digit(PAGE, run)
write_url(CONTROLS, cfg, VIEWS)
