"""Home page: what the playground is, in three sentences, and a link to every page."""

import streamlit as st

st.title("Neural-network playground")

st.markdown(
    "Train neural networks live in your browser, on toy 2-D datasets or on MNIST handwritten "
    "digits. You choose how each network is initialized, activated, normalized, regularized "
    "and optimized. Then you watch what happens inside while it learns: every neuron, the "
    "activation histograms of each layer, the gradients, and the training and test curves."
)

st.subheader("Train")
cols = st.columns(2)
with cols[0]:
    st.page_link("app_pages/playground.py", label="Playground", icon=":material/scatter_plot:")
    st.caption(
        "TensorFlow-Playground-style: pick a 2-D dataset and a small network, press Play, "
        "and see the decision boundary and every neuron take shape. Upload your own points."
    )
with cols[1]:
    st.page_link("app_pages/mnist.py", label="MNIST digits", icon=":material/draw:")
    st.caption(
        "Train an MLP or a CNN on handwritten digits with live curves and histograms, see "
        "which digits it gets wrong, and test it on a digit you draw or photograph."
    )

st.subheader("Learn")
st.page_link("app_pages/components.py", label="Components", icon=":material/menu_book:")
st.caption(
    "Every initializer, activation, normalization, dropout variant, optimizer, schedule, "
    "loss and dataset the playground offers, with a one-line explanation and its source."
)

st.subheader("From a script")
st.markdown(
    "Everything the pages do, the engine does from the command line too: each evaluation "
    "prints one line of JSON."
)
st.code(
    "python -m engine train assets/presets/mnist_mlp.json\n"
    "python -m engine config > my.json\n"
    "python -m engine train my.json --set train.lr=0.1 --probes",
    language="bash",
)
