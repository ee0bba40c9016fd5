"""Entry point: `streamlit run app.py`. Page config, navigation sections, then the chosen page."""

import streamlit as st
import torch

# Once per process, before any training: the playground's networks are small, and on a shared
# server (2 cores, several sessions) one intra-op thread per training is several times faster
# than torch's default of one thread per core fighting over the same cores.
torch.set_num_threads(1)

st.set_page_config(page_title="Neural-network playground", layout="wide")

# Sections in the order the sidebar shows them; later sections (Train, Labs, Experiments,
# Learn) are added here as their pages are written.
PAGES = {
    "Home": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
}

st.navigation(PAGES).run()
