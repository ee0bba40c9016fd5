"""Evaluation: a classification run's accuracy, per-class precision, recall, F1 and
specificity, confusion matrix, ROC and precision-recall curves, and its mistakes."""

import streamlit as st

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
store = open_store()
if store is not None:
    for r in store.list(limit=100):
        if r.config.get("data", {}).get("dataset") not in ("reg_plane", "reg_gauss"):
            name = f"Stored run #{r.id}: {r.name}"
            choices[name] = ("stored", r.id)
            shown[name] = i18n.t("Stored run #{id}: {name}").format(id=r.id, name=r.name)
if not choices:
    st.info(
        i18n.t(
            "Nothing to evaluate yet: train a classifier on the Playground or MNIST page, or "
            "pick a stored run once there is one."
        ),
        icon=":material/inbox:",
    )
    st.stop()
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

split = trainer.test_split if trainer.test_split is not None else trainer.val_split
n_classes = trainer.data.n_classes
labels = [str(k) for k in range(n_classes)]
p = predict(trainer.model, split)
report = evaluate_classifier(p.probs, p.target, labels)

if trainer.test_split is not None:
    st.subheader(i18n.t("On the test set ({n:,} examples)").format(n=report.n))
else:
    st.subheader(i18n.t("On the test points ({n:,} examples)").format(n=report.n))
evaluation_view.summary(report)
evaluation_view.per_class(report)
cols = st.columns([1, 1])
with cols[0]:
    st.markdown(i18n.t("**Confusion matrix** (rows: true class, columns: predicted)"))
    matrix = confusion_matrix(p.target, p.pred, n_classes)
    evaluation_view.translated_chart(charts.confusion_chart(matrix, labels, size=300))
evaluation_view.curves(report)
if n_classes == 2:
    evaluation_view.threshold(report, p.probs, p.target, skey(PAGE, "threshold"))
st.subheader(i18n.t("Misclassified, most confident first"))
evaluation_view.wrong_examples(p.probs, split, trainer.data, labels)
