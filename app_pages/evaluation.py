"""Evaluation: a classification run's accuracy, per-class precision, recall, F1 and
specificity, confusion matrix, ROC and precision-recall curves, and its mistakes; or the same
for an ensemble of stored runs (their predicted probabilities averaged)."""

import streamlit as st

from engine.data import DATASETS
from engine.ensemble import MAX_MEMBERS
from engine.inspection import confusion_matrix, predict
from engine.metrics import evaluate_classifier
from engine.registry import ConfigError
from engine.store import StoreError
from ui import charts, evaluation_view, i18n
from ui.live import get_run
from ui.navigation import EVALUATION, TRAINERS
from ui.runstore import open_store
from ui.state import skey
from ui.text import plain

PAGE = EVALUATION.key
st.title(i18n.page_title(PAGE, "Evaluation"))
st.caption(
    i18n.t(
        "How good is a trained classifier, class by class? Numbers and curves come from "
        "scikit-learn's metrics on the held-out examples: the official test set for MNIST, "
        "the test points for 2-D data."
    )
)

# Keyed by the English label (the widget's value stays in both languages); `shown` is what
# the session's language says.
choices = {}
shown = {}
for entry in TRAINERS:
    run = get_run(entry.key)
    if run is not None and run.trainer.step_count and run.trainer.task == "classification":
        steps = run.trainer.step_count
        name = f"The {entry.title} page's current run ({steps:,} steps)"
        choices[name] = ("live", entry.key)
        shown[name] = i18n.t("The {page} page's current run ({steps:,} steps)").format(
            page=i18n.page_title(entry.key, entry.title), steps=steps
        )


def classifies(dataset: object) -> bool:
    """Whether a stored run's dataset is a classification set (the page scores classifiers;
    regression sets such as the adding problem's sequences have no classes to score)."""
    names = DATASETS.names()
    return dataset in names and DATASETS.get(str(dataset)).extra["task"] == "classification"


store = open_store()
stored_names = {}  # run id -> "#id name", the classification runs in the store
if store is not None:
    for r in store.list(limit=100):
        if classifies(r.config.get("data", {}).get("dataset")):
            name = f"Stored run #{r.id}: {r.name}"
            choices[name] = ("stored", r.id)
            shown[name] = i18n.t("Stored run #{id}: {name}").format(id=r.id, name=r.name)
            stored_names[r.id] = f"#{r.id} {r.name}"
if not choices:
    st.info(
        i18n.t(
            "Nothing to evaluate yet: train a classifier on the Playground or MNIST page, or "
            "pick a stored run once there is one."
        ),
        icon=":material/inbox:",
    )
    st.stop()
modes = {"one": i18n.t("One run"), "ensemble": i18n.t("Ensemble of stored runs")}
mode = st.radio(
    i18n.t("Evaluate"),
    list(modes),
    format_func=modes.__getitem__,
    horizontal=True,
    key=skey(PAGE, "mode"),
    help=i18n.t(
        "An ensemble averages the class probabilities several runs give each example, and "
        "predicts the class with the highest average."
    ),
)

if mode == "ensemble":
    if store is None:
        st.stop()  # open_store said why
    picked = st.multiselect(
        i18n.t("Stored runs to average"),
        list(stored_names),
        format_func=stored_names.__getitem__,
        max_selections=MAX_MEMBERS,
        key=skey(PAGE, "members"),
        placeholder=i18n.t("Pick two or more runs"),
    )
    if len(picked) < 2:
        st.info(
            i18n.t(
                "Pick two or more stored runs of the same data (the same dataset, and for 2-D "
                "points the same seed, number of points, noise and split). Networks and "
                "settings may differ: different mistakes are what an ensemble averages out."
            ),
            icon=":material/stacks:",
        )
        st.stop()
    ens = evaluation_view.ensemble_of(store, picked, skey(PAGE, "ensemble"))
    if ens is None:
        st.stop()  # the reason is shown
    split, data, probs, target = ens.split, ens.data, ens.probs, ens.target
    pred = probs.argmax(axis=1)
    on_test = ens.on_test
else:
    st.session_state.pop(skey(PAGE, "ensemble"), None)  # its members' data: not kept
    name = st.selectbox(
        i18n.t("Run"), list(choices), format_func=shown.__getitem__, key=skey(PAGE, "run")
    )
    kind, ref = choices[name]
    try:
        trainer = get_run(ref).trainer if kind == "live" else store.load_trainer(ref)
    except (StoreError, ConfigError) as e:
        st.error(
            i18n.t("Could not load this run: {error}").format(error=plain(i18n.message(str(e)))),
            icon=":material/error:",
        )
        st.stop()
    on_test = trainer.test_split is not None
    split = trainer.test_split if on_test else trainer.val_split
    data = trainer.data
    p = predict(trainer.model, split)
    probs, target, pred = p.probs, p.target, p.pred

n_classes = data.n_classes
labels = [str(k) for k in range(n_classes)]
report = evaluate_classifier(probs, target, labels)

if on_test:
    st.subheader(i18n.t("On the test set ({n:,} examples)").format(n=report.n))
else:
    st.subheader(i18n.t("On the test points ({n:,} examples)").format(n=report.n))
if mode == "ensemble":
    evaluation_view.ensemble_members(ens, stored_names)
evaluation_view.summary(report)
evaluation_view.per_class(report)
cols = st.columns([1, 1])
with cols[0]:
    st.markdown(i18n.t("**Confusion matrix** (rows: true class, columns: predicted)"))
    matrix = confusion_matrix(target, pred, n_classes)
    evaluation_view.translated_chart(charts.confusion_chart(matrix, labels, size=300))
evaluation_view.curves(report)
if n_classes == 2:
    evaluation_view.threshold(report, probs, target, skey(PAGE, "threshold"))
st.subheader(i18n.t("Misclassified, most confident first"))
evaluation_view.wrong_examples(probs, split, data, labels)
