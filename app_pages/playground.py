"""Playground: train a small network live on toy 2-D data and watch every neuron learn."""

import streamlit as st

from engine.data import DATASETS, DataError, build_dataset
from engine.presets import list_presets
from engine.registry import ConfigError
from ui import i18n, panels, toy_view
from ui.controls import Group, PageControls, pop_notices, render_controls
from ui.lifecycle import ensure_run
from ui.live import LiveRun, panels_area
from ui.navigation import PLAYGROUND
from ui.presenter import intro, presenting
from ui.presets import preset_picker
from ui.service import charts_every, live_view
from ui.text import plain
from ui.transport import status_banner, transport
from ui.uploads import get_points, upload_box
from ui.urlstate import init_page_state, view_toggle, view_values, write_url

PAGE = PLAYGROUND.key
PRESETS = list_presets("playground")
# The page opens on its first preset: TensorFlow Playground's own opening state (circle, tanh
# layers of 4 and 2, plain SGD at 0.03, batch 10).
BASE = PRESETS[0].config
DATASETS_OFFERED = tuple(e.name for e in DATASETS if e.extra["points2d"])
VIEWS = {"test_points": False, "discretize": False, "log_loss": False}
CONTROLS = PageControls(
    page=PAGE,
    base=BASE,
    datasets=DATASETS_OFFERED,
    groups=(
        Group("Data", ("data.dataset", "data.n_samples", "data.noise", "data.train_fraction",
                       "data.features", "data.normalize", "seed")),
        Group("Network", ("model.hidden", "model.activation", "model.maxout_pieces", "model.init",
                          "model.init_std", "model.norm", "model.norm_position",
                          "model.norm_groups", "model.residual", "model.bias")),
        Group("Regularization", ("train.l1", "train.l2", "model.dropout", "model.dropout_rate",
                                 "train.max_norm", "train.early_stopping_patience")),
        Group("Optimizer", ("train.optimizer", "train.lr", "train.momentum", "train.betas",
                            "train.rho", "train.eps", "train.weight_decay", "train.batch_size",
                            "train.schedule", "train.decay_steps", "train.decay_rate",
                            "train.power", "train.lr_end", "train.warmup_steps",
                            "train.grad_clip")),
        Group("Run", ("train.loss", "train.epochs", "device"), expanded=False),
    ),
)  # fmt: skip

init_page_state(CONTROLS, VIEWS)
intro(
    "Playground",
    "Pick a dataset and a network in the sidebar, press Play, and watch it learn. Each small "
    "square is one neuron: what it outputs for every point of the plane.",
)
cfg, error = render_controls(CONTROLS)
for notice in pop_notices(PAGE):
    st.warning(plain(notice), icon=":material/info:")

run = None
if error:
    st.error(
        i18n.t("This combination cannot train: {error}").format(error=plain(error)),
        icon=":material/block:",
    )
else:
    try:
        run, _ = ensure_run(PAGE, cfg, lambda c: build_dataset(c.data, c.seed, get_points(PAGE)))
    except (DataError, ConfigError) as e:  # e.g. BatchNorm with a one-example split
        st.error(str(e), icon=":material/error:")

transport(PAGE, run, blocked=run is None, new_data=True, more=lambda: preset_picker(PAGE, PRESETS))
views = view_values(PAGE)
present = presenting()
lang = i18n.lang()  # read here: `view` also runs in the training service, outside the script


def view(live: LiveRun, static: bool) -> dict:
    """The numbers, the network and the output (also built by the training service)."""
    data = toy_view.network_data(
        live, views["test_points"], views["discretize"], present, static, lang
    )
    data["metrics"] = panels.metric_items(live, held_out="test", lang=lang)
    return data


def charts(live: LiveRun) -> None:
    """Curves, histograms and gradients, redrawn every few seconds while playing."""
    panels.live_tabs(PAGE, live, held_out="test", log_loss=views["log_loss"])


if run is not None:
    status_banner(run)
live_view(PAGE, view)
with st.container(horizontal=True, gap="large"):
    view_toggle(PAGE, "test_points", i18n.t("Show test data"))
    view_toggle(PAGE, "discretize", i18n.t("Discretize output"))
    view_toggle(PAGE, "log_loss", i18n.t("Log-scale loss"))
panels_area(PAGE, charts, every=charts_every)
with st.expander(i18n.t("Use your own points")):
    upload_box(PAGE, run.trainer.data if run else None)
write_url(CONTROLS, cfg, VIEWS)
