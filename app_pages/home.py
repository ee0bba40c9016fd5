"""Home page: what the playground is, in three sentences, and a link to every page."""

import streamlit as st

from ui.i18n import page_blurb, page_title, section_title, t
from ui.navigation import LAB_INIT, PAGES, PLAYGROUND, SECTIONS

st.title(t("Neural-network playground"))

st.markdown(
    t(
        "Train neural networks live in your browser, on toy 2-D datasets or on MNIST handwritten "
        "digits. You choose how each network is initialized, activated, normalized, regularized "
        "and optimized. Then you watch what happens inside while it learns: every neuron, the "
        "activation histograms of each layer, the gradients, and the training and test curves."
    )
)

# A first step for a newcomer: both pages open on their first experiment.
START = (
    (PLAYGROUND, "1. Train your first network", ":material/play_arrow:",
     "The Playground opens on TensorFlow Playground's first experiment: press Play and watch "
     "a small network learn to separate a circle from a ring."),
    (LAB_INIT, "2. Your first lesson: initialization", ":material/school:",
     "A guided walkthrough: why the scale of the starting weights decides whether a deep "
     "network can learn at all."),
)  # fmt: skip
with st.container(border=True):
    st.subheader(t("Start here"))
    for col, (entry, label, icon, blurb) in zip(st.columns(2), START, strict=True):
        col.page_link(entry.path, label=t(label), icon=icon)
        col.caption(t(blurb))

for section in SECTIONS:
    st.subheader(section_title(section))
    entries = [p for p in PAGES if p.section == section]
    cols = st.columns(2)
    for i, entry in enumerate(entries):
        with cols[i % 2]:
            st.page_link(entry.path, label=page_title(entry.key, entry.title), icon=entry.icon)
            st.caption(page_blurb(entry.key, entry.blurb))

st.subheader(t("From a script"))
st.markdown(
    t(
        "Everything the pages do, the engine does from the command line too: each evaluation "
        "prints one line of JSON."
    )
)
st.code(
    "python -m engine train assets/presets/mnist_mlp.json\n"
    "python -m engine config > my.json\n"
    "python -m engine train my.json --set train.lr=0.1 --probes",
    language="bash",
)
