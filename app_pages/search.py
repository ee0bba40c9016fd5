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
from engine.presets import list_presets
from engine.registry import ConfigError
from engine.search import SAMPLERS, default_storage, make_study
from engine.search.limits import MAX_STUDY_NAME, MAX_TRIALS
from ui import search_view
from ui.controls import values_key
from ui.navigation import MNIST, PLAYGROUND, SEARCH, TRAINERS, page
from ui.runstore import open_config_in_page, open_in_compare, open_store, trainer_page
from ui.state import skey
from ui.text import plain

PAGE = SEARCH.key
st.title("Hyperparameter search")
st.caption(
    "Optuna proposes settings (random, grid, or TPE, which models the results so far), trains "
    "each for a few epochs, and stops hopeless trials early (median pruning). Several "
    "machines can work one study from the command line; see the README."
)

st.header("1. What to tune")
sources: dict[str, Config] = {}
for entry in TRAINERS:
    values = st.session_state.get(values_key(entry.key))
    if values:
        with contextlib.suppress(ConfigError):
            sources[f"The {entry.title} page's current settings"] = Config.from_flat(values)
for folder, where in (("mnist", "MNIST"), ("playground", "Playground")):
    for p in list_presets(folder):
        sources[f"{where} preset: {p.title}"] = p.config
store = open_store()
if store is not None:
    for r in store.list(limit=30):
        sources[f"Stored run #{r.id}: {r.name}"] = Config.from_dict(r.config)
names = list(sources)
default = next((i for i, n in enumerate(names) if n.startswith("MNIST preset")), 0)
source = st.selectbox("Start from", names, index=default, key=skey(PAGE, "source"))
base = sources[source]
st.caption(f"{base.model.arch} {list(base.model.hidden)} on {base.data.dataset}, "
           f"{base.train.optimizer} lr {base.train.lr:g}, {base.train.epochs} epochs.")  # fmt: skip

st.header("2. The search space")
st.caption(
    "One row per setting. float/int: a range (log for rates); categorical: comma-separated "
    "choices; widths: hidden layers, with the width range in low/high and the depth range in "
    "choices (e.g. 1, 3). Grid values (for the grid sampler) are comma-separated."
)
space_key = skey(PAGE, f"space.{source}")
table = st.data_editor(
    search_view.default_space(base),
    key=space_key,
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config={
        "field": st.column_config.SelectboxColumn("setting", options=field_paths(), required=True),
        "type": st.column_config.SelectboxColumn(options=list(search_view.TYPES), required=True),
        "low": st.column_config.NumberColumn(format="%g"),
        "high": st.column_config.NumberColumn(format="%g"),
        "log": st.column_config.CheckboxColumn("log scale"),
        "choices": st.column_config.TextColumn("choices / depth"),
        "grid": st.column_config.TextColumn("grid values"),
    },
)
cols = st.columns(5)
objective = cols[0].selectbox(
    "Objective", ["val_acc", "val_loss"], key=skey(PAGE, "objective"),
    format_func={"val_acc": "validation accuracy (max)", "val_loss": "validation loss (min)"}.get,
)  # fmt: skip
sampler = cols[1].selectbox("Sampler", list(SAMPLERS), key=skey(PAGE, "sampler"))
most = min(500, MAX_TRIALS)
trials = int(cols[2].number_input("Trials", 1, most, min(12, most), key=skey(PAGE, "trials")))
epochs = int(cols[3].number_input("Epochs per trial", 1, 200, min(base.train.epochs, 5),
                                  key=skey(PAGE, "epochs")))  # fmt: skip
study_name = cols[4].text_input(
    "Study name",
    "my-search",
    max_chars=MAX_STUDY_NAME,
    key=skey(PAGE, "study"),
    help="Trials go to the study of this name in the server's study database, which the "
    "server's operator sets (PLAYGROUND_SEARCH_DB). Workers on other machines add trials to "
    "the same study with python -m engine search --storage <that database> --study <name>.",
)
try:
    space = search_view.space_from_table(pd.DataFrame(table), objective, epochs)
except ConfigError as e:
    space = None
    st.error(f"The search space is not valid: {plain(e)}", icon=":material/edit:")

key = skey(PAGE, "run")
search = st.session_state.get(key)
buttons = st.columns([1.4, 1, 3])
busy = search is not None and search.searching
if buttons[0].button(
    "Start or resume", key=skey(PAGE, "start"), type="primary", disabled=space is None or busy
):
    try:
        study = make_study(default_storage(), study_name, sampler, space=space)
        st.session_state[key] = search = search_view.SearchRun(study, base, space, trials)
        search.searching = True
    except ConfigError as e:
        st.error(str(e), icon=":material/error:")
if search is not None and search.searching and buttons[1].button("Stop", key=skey(PAGE, "stop")):
    search.searching = False
    st.rerun()

st.header("3. Results")
search_view.search_area(key, search_view.draw_results)
search = st.session_state.get(key)
if search is not None:
    best = search_view.best(search)
    if best is not None:
        target = page(trainer_page(best.data.dataset) or PLAYGROUND.key)
        label = target.title if target is MNIST else f"the {target.title}"  # as said in a sentence
        cols = st.columns(2)
        if cols[0].button(f"Open the best config in {label}", key=skey(PAGE, "best")):
            open_config_in_page(target.key, best.to_flat())
        ids = search_view.best_run_ids(search)
        if len(ids) > 1 and cols[1].button(
            f"Compare the {len(ids)} best trials", key=skey(PAGE, "compare")
        ):
            open_in_compare(ids)
        st.caption(
            "Every trial that trained to the end is also in Runs (named after the study), to "
            "compare, evaluate or export."
        )
