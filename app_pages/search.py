"""Hyperparameter search: an Optuna study over a search space, trial by trial, live.

Visitors choose a study (a name), never a storage: studies live in the server's study
database, which the server's operator sets with $PLAYGROUND_SEARCH_DB (a database URL such as
postgresql+psycopg2://user:pw@host/db, or a SQLite file path; default: search.db in the user
cache, see engine.search.default_storage). A URL or path typed on a public page would let any
visitor create files wherever the server can write. The grid's size and the number of trials
are capped by the server's limits (engine.search.MAX_GRID, MAX_TRIALS).
"""

import contextlib

import pandas as pd
import streamlit as st

from engine.config import Config, field_paths
from engine.presets import Preset, list_presets
from engine.registry import ConfigError
from engine.search import SAMPLERS, default_storage, make_study
from engine.search.limits import MAX_STUDY_NAME, MAX_TRIALS
from ui import i18n, search_view
from ui.controls import values_key
from ui.navigation import MNIST, PLAYGROUND, SEARCH, TRAINERS, page
from ui.runstore import open_config_in_page, open_in_compare, open_store, trainer_page
from ui.state import skey
from ui.text import plain

PAGE = SEARCH.key
st.title(i18n.page_title(PAGE, "Hyperparameter search"))
st.caption(
    i18n.t(
        "Optuna proposes settings (random, grid, or TPE, which models the results so far), "
        "trains each for a few epochs, and stops hopeless trials early (median pruning). "
        "Several machines can work one study from the command line; see the README."
    )
)

st.header(i18n.t("1. What to tune"))
# Keyed by the English label (the widget's value and the search-space table's key stay the
# same in both languages); `shown` is what the session's language says.
sources: dict[str, Config] = {}
shown: dict[str, str] = {}
for entry in TRAINERS:
    values = st.session_state.get(values_key(entry.key))
    if values:
        with contextlib.suppress(ConfigError):
            name = f"The {entry.title} page's current settings"
            sources[name] = Config.from_flat(values)
            title = i18n.page_title(entry.key, entry.title)
            shown[name] = i18n.t("The {page} page's current settings").format(page=title)
# Search presets (assets/presets/search/) bring their own space and sampler settings.
searches: dict[str, Preset] = {}
for folder, where in (("search", "Search"), ("mnist", "MNIST"), ("playground", "Playground")):
    for p in list_presets(folder):
        name = f"{where} preset: {p.title}"
        sources[name] = p.config
        shown[name] = i18n.t("{where} preset: {title}").format(
            where=i18n.t(where), title=i18n.t(p.title)
        )
        if "space" in p.lab:
            searches[name] = p
store = open_store()
if store is not None:
    for r in store.list(limit=30):
        name = f"Stored run #{r.id}: {r.name}"
        sources[name] = Config.from_dict(r.config)
        shown[name] = i18n.t("Stored run #{id}: {name}").format(id=r.id, name=r.name)
names = list(sources)
default = next((i for i, n in enumerate(names) if n.startswith("MNIST preset")), 0)
source = st.selectbox(
    i18n.t("Start from"),
    names,
    index=default,
    format_func=shown.__getitem__,
    key=skey(PAGE, "source"),
    on_change=search_view.apply_search_preset,
    args=(PAGE, searches),
)
base = sources[source]
if source in searches:
    st.markdown(i18n.t(searches[source].summary))
st.caption(search_view.describe(base))

st.header(i18n.t("2. The search space"))
st.caption(
    i18n.t(
        "One row per setting. float/int: a range (log for rates); categorical: comma-separated "
        "choices; widths: hidden layers, with the width range in low/high and the depth range "
        "in choices (e.g. 1, 3). Grid values (for the grid sampler) are comma-separated."
    )
)
space_key = skey(PAGE, f"space.{source}")
table = st.data_editor(
    search_view.space_to_edit(space_key, base, searches.get(source)),
    key=space_key,
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    # the cells keep the engine's names (field paths, types); the editor shows them translated
    column_config={
        "field": st.column_config.SelectboxColumn(
            i18n.t("setting"),
            options=field_paths(),
            required=True,
            format_func={p: search_view.knob_label(p) for p in field_paths()}.__getitem__,
        ),
        "type": st.column_config.SelectboxColumn(
            i18n.t("type"),
            options=list(search_view.TYPES),
            required=True,
            format_func=search_view.type_labels().__getitem__,
        ),
        "low": st.column_config.NumberColumn(i18n.t("low"), format="%g"),
        "high": st.column_config.NumberColumn(i18n.t("high"), format="%g"),
        "log": st.column_config.CheckboxColumn(i18n.t("log scale")),
        "choices": st.column_config.TextColumn(i18n.t("choices / depth")),
        "grid": st.column_config.TextColumn(i18n.t("grid values")),
    },
)
cols = st.columns(5)
objectives = {
    "val_acc": i18n.t("validation accuracy (max)"),
    "val_loss": i18n.t("validation loss (min)"),
}
objective = cols[0].selectbox(
    i18n.t("Objective"), list(objectives), key=skey(PAGE, "objective"),
    format_func=objectives.__getitem__,
)  # fmt: skip
samplers = {"tpe": i18n.t("tpe"), "random": i18n.t("random"), "grid": i18n.t("grid")}
sampler = cols[1].selectbox(
    i18n.t("Sampler"),
    list(SAMPLERS),
    format_func={s: samplers.get(s, s) for s in SAMPLERS}.__getitem__,
    key=skey(PAGE, "sampler"),
)
most = min(500, MAX_TRIALS)
trials = int(cols[2].number_input(i18n.t("Trials"), 1, most, min(12, most),
                                  key=skey(PAGE, "trials")))  # fmt: skip
epochs = int(cols[3].number_input(i18n.t("Epochs per trial"), 1, 200, min(base.train.epochs, 5),
                                  key=skey(PAGE, "epochs")))  # fmt: skip
study_name = cols[4].text_input(
    i18n.t("Study name"),
    "my-search",
    max_chars=MAX_STUDY_NAME,
    key=skey(PAGE, "study"),
    help=i18n.t(
        "Trials go to the study of this name in the server's study database, which the "
        "server's operator sets (PLAYGROUND_SEARCH_DB). Workers on other machines add trials "
        "to the same study with python -m engine search --storage <that database> --study "
        "<name>."
    ),
)
search_view.keep_edits(space_key, table)
try:
    space = search_view.space_from_table(pd.DataFrame(table), objective, epochs)
    space.check_switches(base)  # a knob the base config switches off: said before Start
except ConfigError as e:
    space = None
    st.error(
        i18n.t("The search space is not valid: {error}").format(error=plain(i18n.message(str(e)))),
        icon=":material/edit:",
    )

key = skey(PAGE, "run")
search = st.session_state.get(key)
buttons = st.columns([1.4, 1, 3])
busy = search is not None and search.searching
if buttons[0].button(
    i18n.t("Start or resume"),
    key=skey(PAGE, "start"),
    type="primary",
    disabled=space is None or busy,
):
    try:
        study = make_study(default_storage(), study_name, sampler, space=space)
        st.session_state[key] = search = search_view.SearchRun(study, base, space, trials)
        search.searching = True
    except ConfigError as e:
        st.error(plain(i18n.message(str(e))), icon=":material/error:")  # names the study
if (
    search is not None
    and search.searching
    and buttons[1].button(i18n.t("Stop"), key=skey(PAGE, "stop"))
):
    search.searching = False
    st.rerun()

st.header(i18n.t("3. Results"))
search_view.search_area(key, search_view.draw_results)
search = st.session_state.get(key)
if search is not None:
    best = search_view.best(search)
    if best is not None:
        target = page(trainer_page(best.data.dataset) or PLAYGROUND.key)
        title = i18n.page_title(target.key, target.title)
        # "the Playground" but "MNIST digits", as said in a sentence
        label = (
            i18n.t("Open the best config in {page}")
            if target is MNIST
            else i18n.t("Open the best config in the {page}")
        ).format(page=title)
        cols = st.columns(2)
        if cols[0].button(label, key=skey(PAGE, "best")):
            open_config_in_page(target.key, best.to_flat())
        ids = search_view.best_run_ids(search)
        if len(ids) > 1 and cols[1].button(
            i18n.t("Compare the {n} best trials").format(n=len(ids)), key=skey(PAGE, "compare")
        ):
            open_in_compare(ids)
        st.caption(
            i18n.t(
                "Every trial that trained to the end is also in Runs (named after the study), "
                "to compare, evaluate or export."
            )
        )
        # Coarse to fine ("Deep Learning from Scratch" 6.5): search wide, then again inside
        # the span of the best trials.
        cols = st.columns([1, 3])
        k = int(cols[0].number_input(i18n.t("Best trials"), 2, 50, 5, key=skey(PAGE, "narrow.k")))
        cols[1].button(
            i18n.t("Narrow the space to the best {k} trials").format(k=k),
            key=skey(PAGE, "narrow"),
            on_click=search_view.narrow_space,
            args=(space_key, search, k),
            help=i18n.t(
                "Each range shrinks to the span of the best trials' values and each list to "
                "the choices they used: the next trials search there (coarse to fine)."
            ),
        )
