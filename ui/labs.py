"""What every lab page shares: the experiment picker with its guided walkthrough, the choice
of runs to compare, and the live side-by-side comparison.

An experiment is a lab preset (assets/presets/labs/<lab>/*.json): a base config, the
question it asks, what to look for, what to try next, and variants that each change a few
fields. The base config lives in the sidebar (the shared controls, so the student can change
depth, activation, data...), and every variant applies its changes on top of it: all runs
share the seed, hence the same data, initial weights and batches, and differ only by the knob.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from engine.config import Config
from engine.data import DataError
from engine.presets import Preset, Variant
from engine.registry import ConfigError
from ui import compare, i18n
from ui.controls import Group, PageControls, pop_notices, render_controls, set_values
from ui.lifecycle import ensure_comparison
from ui.live import LiveRun, panels_area
from ui.service import charts_every, live_view
from ui.state import forget, skey
from ui.text import plain
from ui.transport import status_banner, transport
from ui.urlstate import VIEW_PREFIX, init_page_state, view_values

MAX_RUNS = 9  # runs compared at once (a 3x3 grid): each gets 1/N of a tick


@dataclass(frozen=True)
class Lab:
    """A lab page's set of experiments (presets; the first is the default).

    `slot` names the choice in the page's state and link (a page may hold two sets, say the
    surface races and the MNIST races); `loads_config` says whether choosing an experiment
    loads its base config into the sidebar."""

    page: str
    presets: Sequence[Preset]
    slot: str = "experiment"
    loads_config: bool = True

    def preset(self, name: str) -> Preset:
        by_name = {p.name: p for p in self.presets}
        return by_name.get(name, self.presets[0])


def lab_controls(lab: Lab, datasets: tuple[str, ...], groups: tuple[Group, ...]) -> PageControls:
    """A lab page's sidebar: `groups` of controls offering `datasets`, over the chosen
    experiment's base config (the session's choice, else the link's `view.<slot>`, else the
    first), so a link names the experiment and only what differs from its setup: a
    hand-written link to an experiment opens its settings, not the first one's."""
    chosen = st.session_state.get(skey(lab.page, "view"), {}).get(lab.slot)
    name = chosen or str(st.query_params.get(f"{VIEW_PREFIX}{lab.slot}", ""))
    base = lab.preset(name).config
    return PageControls(page=lab.page, base=base, datasets=datasets, groups=groups)


def experiment_views(*labs: Lab) -> dict[str, str]:
    """A lab page's view state for its link: each set of experiments' choice (its `slot`),
    the first experiment by default."""
    return {lab.slot: lab.presets[0].name for lab in labs}


def open_lab_page(
    controls: PageControls, views: Mapping[str, str], title: str, caption: str
) -> None:
    """A lab page's start: its settings and views from the link on its first run in the
    session, then its title and caption (the caller translates them)."""
    init_page_state(controls, views)
    st.title(title)
    st.caption(caption)


def _load_experiment(lab: Lab) -> None:
    name = st.session_state[skey(lab.page, lab.slot)]
    preset = lab.preset(name)
    view_values(lab.page)[lab.slot] = preset.name
    if not lab.loads_config:
        return
    set_values(lab.page, preset.config.to_flat())
    st.session_state.pop(skey(lab.page, "variants"), None)
    forget(lab.page, "cmp.")  # the old runs: a new experiment starts fresh


def experiment_picker(lab: Lab, label: str = "Experiment") -> Preset:
    """The experiment select box and its walkthrough; returns the chosen experiment.

    Choosing one loads its base config into the sidebar (one click = the classic setup)."""
    current = lab.preset(view_values(lab.page).get(lab.slot, ""))
    key = skey(lab.page, lab.slot)
    if st.session_state.get(key) != current.name:
        st.session_state[key] = current.name
    titles = {p.name: i18n.t(p.title) for p in lab.presets}
    st.selectbox(
        i18n.t(label),
        list(titles),
        format_func=titles.__getitem__,
        key=key,
        on_change=_load_experiment,
        args=(lab,),
        help=i18n.t("Each experiment loads its settings into the sidebar; change them freely."),
    )
    walkthrough(current)
    return current


def walkthrough(preset: Preset) -> None:
    """The guided part: the question, what to look for, what to try next."""
    st.markdown(f"**{i18n.t('The question.')}** {i18n.t(preset.summary)}")
    cols = st.columns(2)
    if preset.look_for:
        cols[0].info(
            f"**{i18n.t('What to look for.')}** {i18n.t(preset.look_for)}",
            icon=":material/visibility:",
        )
    if preset.try_next:
        cols[1].success(
            f"**{i18n.t('Try this next.')}** {i18n.t(preset.try_next)}",
            icon=":material/arrow_forward:",
        )


def variant_configs(lab: Lab, preset: Preset, base: Config) -> list[tuple[str, Config]]:
    """The runs to compare: the experiment's variants the student keeps ticked, each applied
    to the sidebar's base config. A variant that cannot apply to the current base says why."""
    labels = [v.label for v in preset.variants]
    key = skey(lab.page, "variants")
    if key not in st.session_state:
        st.session_state[key] = labels
    # the values stay the English labels (the runs' keys); only what is shown is translated
    shown = {label: i18n.t(label) for label in labels}
    chosen = st.multiselect(
        i18n.t("Runs to compare"),
        labels,
        format_func=shown.__getitem__,
        key=key,
        max_selections=MAX_RUNS,
        help=i18n.t(
            "Every run starts from the sidebar's settings and changes only what its name says."
        ),
    )
    runs = []
    for variant in preset.variants:
        if variant.label not in chosen:
            continue
        try:
            runs.append((variant.label, base.replace(**dict(variant.changes))))
        except ConfigError as e:
            st.warning(
                i18n.t("{run}: cannot apply to these settings: {error}").format(
                    run=shown[variant.label], error=i18n.message(str(e))
                )
            )
    return runs


def start_comparison(key: str, runs: list[tuple[str, Config]], page: str) -> LiveRun | None:
    """`ensure_comparison`, or None after an error box when a run cannot be built from these
    settings (the Trainer refuses what only its data shows, e.g. BatchNorm on one example)."""
    try:
        return ensure_comparison(key, runs, page)[0]
    except (ConfigError, DataError) as e:
        text = i18n.t("These runs cannot train: {error}").format(error=i18n.message(str(e)))
        st.error(plain(text), icon=":material/error:")
        return None


def comparison(
    lab: Lab,
    name: str,
    runs: list[tuple[str, Config]],
    held_out: str = "validation",
    extra: dict[str, Callable[[LiveRun], None]] | None = None,
    store_page: str | None = None,
) -> LiveRun | None:
    """A live side-by-side training of `runs`: buttons, then a table of where each run is
    (kept current while playing), overlaid curves and the page's `extra` views as tabs. Runs
    that end (or are replaced after training) are saved in the run store under `store_page`,
    by default the lab's page name, each named after its variant label."""
    key = skey(lab.page, f"cmp.{name}")
    if not runs:
        st.caption(i18n.t("Tick at least one run to compare."))
        return None
    run = start_comparison(key, runs, store_page or lab.page)
    if run is None:
        return None
    # transport translates step_help
    transport(lab.page, run, blocked=False, key=key, step_help="Train every run one epoch.")

    status_banner(run)
    compare.diverged_warning(run)

    def panels(live: LiveRun) -> None:
        views: dict[str, Callable[[LiveRun], None]] = {
            "Curves": lambda r: compare.show_curves(r, held_out, x_key=f"{key}.x"),
            **(extra or {}),
        }
        # The tab's state is its shown label, so a language switch reopens the first tab.
        tabs = st.tabs([i18n.t(v) for v in views], key=f"{key}.tab", on_change="rerun")
        for view, tab in zip(views.values(), tabs, strict=True):
            if tab.open is False:
                continue
            with tab:
                view(live)

    lang = i18n.lang()  # the view is also drawn in the service's thread, without a session
    live_view(lab.page, lambda live, static: compare.summary_view(live, held_out, lang), key=key)
    panels_area(lab.page, panels, key=key, every=charts_every)
    return run


def variant_by_label(preset: Preset, label: str) -> Variant | None:
    return next((v for v in preset.variants if v.label == label), None)


def lab_setting(preset: Preset, name: str, default: Any) -> Any:
    """A setting of the lab page itself from the experiment's `lab` block."""
    return preset.lab.get(name, default)


def lab_setup(lab: Lab, controls: PageControls) -> tuple[Preset, Config | None, list]:
    """The part every lab page starts with, after its title: the experiment and its
    walkthrough, the sidebar (the experiment's base config, editable), notices and errors,
    and the runs to compare. Returns (experiment, config or None, runs)."""
    preset = experiment_picker(lab)
    cfg, error = render_controls(controls)
    for notice in pop_notices(lab.page):
        st.warning(plain(notice), icon=":material/info:")  # pop_notices translated it
    if error:
        st.error(
            i18n.t("These settings cannot train: {error}").format(error=plain(i18n.message(error))),
            icon=":material/block:",
        )
    runs = variant_configs(lab, preset, cfg) if cfg else []
    return preset, cfg, runs
