"""Evaluation: a classification run's accuracy, per-class precision, recall, F1 and
specificity, confusion matrix, ROC and precision-recall curves, and its mistakes."""

import streamlit as st

from engine.inspection import confusion_matrix, predict
from engine.metrics import evaluate_classifier
from engine.registry import ConfigError
from engine.store import StoreError
from ui import charts, evaluation_view
from ui.live import get_run
from ui.navigation import EVALUATION, TRAINERS
from ui.runstore import open_store
from ui.state import skey

PAGE = EVALUATION.key
st.title("Evaluation")
st.caption(
    "How good is a trained classifier, class by class? Numbers and curves come from "
    "scikit-learn's metrics on the held-out examples: the official test set for MNIST, the "
    "test points for 2-D data."
)

choices = {}
for entry in TRAINERS:
    run = get_run(entry.key)
    if run is not None and run.trainer.step_count and run.trainer.task == "classification":
        steps = run.trainer.step_count
        choices[f"The {entry.title} page's current run ({steps:,} steps)"] = ("live", entry.key)
store = open_store()
if store is not None:
    for r in store.list(limit=100):
        if r.config.get("data", {}).get("dataset") not in ("reg_plane", "reg_gauss"):
            choices[f"Stored run #{r.id}: {r.name}"] = ("stored", r.id)
if not choices:
    st.info(
        "Nothing to evaluate yet: train a classifier on the Playground or MNIST page, or pick a "
        "stored run once there is one.",
        icon=":material/inbox:",
    )
    st.stop()
name = st.selectbox("Run", list(choices), key=skey(PAGE, "run"))
kind, ref = choices[name]
try:
    trainer = get_run(ref).trainer if kind == "live" else store.load_trainer(ref)
except (StoreError, ConfigError) as e:
    st.error(f"Could not load this run: {e}", icon=":material/error:")
    st.stop()

split = trainer.test_split if trainer.test_split is not None else trainer.val_split
where = "test set" if trainer.test_split is not None else "test points"
n_classes = trainer.data.n_classes
labels = [str(k) for k in range(n_classes)]
p = predict(trainer.model, split)
report = evaluate_classifier(p.probs, p.target, labels)

st.subheader(f"On the {where} ({report.n:,} examples)")
evaluation_view.summary(report)
evaluation_view.per_class(report)
cols = st.columns([1, 1])
with cols[0]:
    st.markdown("**Confusion matrix** (rows: true class, columns: predicted)")
    matrix = confusion_matrix(p.target, p.pred, n_classes)
    st.altair_chart(charts.confusion_chart(matrix, labels, size=300), width="content")
evaluation_view.curves(report)
st.subheader("Misclassified, most confident first")
evaluation_view.wrong_examples(p.probs, split, trainer.data, labels)
