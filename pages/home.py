"""Home page: what the playground is and what works today."""

import streamlit as st

st.title("Neural-network playground")

st.markdown(
    "Train neural networks live, in the browser, on toy 2-D data sets or on MNIST "
    "handwritten digits. You choose how each network is initialized, activated, normalized, "
    "regularized and optimized. Then you look inside while it trains: activation histograms, "
    "loss surfaces, and training and validation curves."
)

st.subheader("Already works: the command line")
st.markdown(
    "The pages of this app are still being built. The engine behind them can already train "
    "from the command line: run a shipped preset, or print the default run configuration, "
    "edit it, and train it. Each evaluation prints one line of JSON."
)
st.code(
    "python -m engine train assets/presets/mnist_mlp.json\n"
    "python -m engine config > my.json\n"
    "python -m engine train my.json --set train.lr=0.1 --probes",
    language="bash",
)
