"""Compare: stored runs side by side, a sweep of one knob with everything else fixed, and
k-fold cross-validation of a stored run's config."""

import streamlit as st

from engine.config import Config, field_info, field_paths, parse_value
from engine.registry import ConfigError
from engine.store import StoreError
from ui import charts, compare, i18n, kfold_view, stored_compare
from ui.labs import Lab, comparison
from ui.navigation import COMPARE
from ui.runstore import COMPARED, SWEEPS, open_store
from ui.state import skey
from ui.text import plain
from ui.widgets import field_label

PAGE = COMPARE.key
setting_label = stored_compare.setting_label  # in the session's language

st.title(i18n.page_title(PAGE, "Compare"))
store = open_store()
if store is None:
    st.stop()

st.header(i18n.t("Stored runs"))
records = store.list(limit=500)
by_id = {r.id: r for r in records}
if COMPARED not in st.session_state:  # the Search page may have chosen the runs already
    st.session_state[COMPARED] = list(by_id)[:2]
st.session_state[COMPARED] = [i for i in st.session_state[COMPARED] if i in by_id]
chosen = st.multiselect(
    i18n.t("Runs"),
    list(by_id),
    format_func=lambda i: f"#{i} {by_id[i].name}",
    key=COMPARED,
    help=i18n.t("Runs are saved by the trainer pages, labs, sweeps and searches; see Runs."),
)
if not records:
    st.info(i18n.t("No stored runs yet: train on the Playground, the MNIST page or a lab first."))
elif chosen:
    picked = [store.get(i) for i in chosen]
    st.table(stored_compare.shown(stored_compare.final_table(picked)), hide_index=True)
    cols = st.columns(2)
    loss = stored_compare.stored_curves(picked, "loss")
    if len(loss):
        splits, runs = charts.splits_present(loss), tuple(dict.fromkeys(loss["run"]))
        charts.show(compare.curves_chart, loss, "Loss", False, splits, runs, where=cols[0])
    acc = stored_compare.stored_curves(picked, "acc")
    if len(acc):
        splits, runs = charts.splits_present(acc), tuple(dict.fromkeys(acc["run"]))
        charts.show(compare.curves_chart, acc, "Accuracy", False, splits, runs, where=cols[1])
    if len(picked) > 1:
        st.markdown(i18n.t("**Settings that differ**"))
        diff = stored_compare.config_diff(picked)
        if len(diff):
            st.table(stored_compare.shown(diff), hide_index=True)
        else:
            st.caption(
                i18n.t("These runs have identical configs (a repeat, or a different session).")
            )

st.header(i18n.t("Sweep one knob"))
st.caption(
    i18n.t(
        "Train copies of one config that differ in a single setting: same seed, so the same "
        "data, initial weights and batches. The runs are saved when they finish."
    )
)
if not records:
    st.stop()
base_id = st.selectbox(
    i18n.t("Start from the config of"),
    list(by_id),
    format_func=lambda i: f"#{i} {by_id[i].name}",
    key=skey(PAGE, "base"),
)
base = Config.from_dict(store.get(base_id).config)
cols = st.columns([1, 2])
paths = [p for p in field_paths() if p not in ("device",)]
path = cols[0].selectbox(
    i18n.t("Setting"),
    paths,
    index=paths.index("train.lr"),
    format_func={p: setting_label(p) for p in paths}.__getitem__,
    key=skey(PAGE, "field"),
)
info = field_info(path)
# Values are separated by semicolons, as the label and the hint say; a list-valued setting
# (hidden widths "8, 8") needs them, and for any other a comma-separated list works too.
listed = isinstance(base.get(path), tuple)
hint = (
    "; ".join(map(str, info["choices"][:6]))
    if info.get("choices")
    else i18n.t("e.g. 8, 8; 16, 16")
    if listed
    else i18n.t("e.g. 0.001; 0.01; 0.1")
)
text = cols[1].text_input(
    i18n.t("Values of {setting}, separated by semicolons").format(setting=setting_label(path)),
    key=skey(PAGE, f"values.{path}"),
    max_chars=400,  # eight values at most are used; a visitor's megabyte is not parsed
    placeholder=hint,
    help=i18n.field_help(path, info["help"]),
)
runs = []
separator = ";" if listed or ";" in text else ","
for part in [p.strip() for p in text.split(separator) if p.strip()]:
    try:
        runs.append(
            # the label is the sweep's key (ui.lifecycle rebuilds a sweep whose labels change):
            # English in both languages, so that a language switch keeps a trained sweep
            (f"{field_label(path)} = {part}", base.replace(**{path: parse_value(path, part)}))
        )
    except ConfigError as e:
        st.warning(plain(f"{part}: {i18n.message(str(e))}"), icon=":material/edit:")
if len(runs) > 8:
    st.warning(i18n.t("At most 8 values at once: the first 8 are used."))
    runs = runs[:8]
if runs:
    comparison(Lab(PAGE, ()), "sweep", runs, store_page=SWEEPS)
elif not text:
    st.caption(i18n.t("Type two or more values to compare."))

st.header(i18n.t("Cross-validate a config (k-fold)"))
st.caption(
    i18n.t(
        "Split a run's training data (its training and validation examples; the test set is "
        "not used) into k folds, train k copies of its config, each on all folds but one, and "
        "score each on the fold it did not see. The spread of the k scores shows how much one "
        "validation score depends on which examples it happens to hold. On the MNIST page's "
        "starting network, 10 folds of 500 images scored from 92.2% to 95.6% (two seeds; "
        "standard deviation 1.0 to 1.1 points): one 500-image validation score is good to "
        "about ±2 points."
    )
)
kfold_id = st.selectbox(
    i18n.t("Cross-validate the config of"),
    list(by_id),
    format_func=lambda i: f"#{i} {by_id[i].name}",
    key=skey(PAGE, "kfold.base"),
)
try:
    kfold_cfg = Config.from_dict(by_id[kfold_id].config)
    kfold_points = store.points(kfold_id) if kfold_cfg.data.dataset == "uploaded" else None
except (ConfigError, StoreError) as e:
    st.error(plain(i18n.message(str(e))), icon=":material/error:")
else:
    kfold_view.start_controls(PAGE, kfold_id, kfold_cfg, kfold_points)
kfold_view.area(PAGE)
