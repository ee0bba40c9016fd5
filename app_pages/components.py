"""Components: every registry entry the playground offers, with its one-line explanation."""

import pandas as pd
import streamlit as st

from engine.config import field_info, registries
from engine.rules import works_with
from ui.i18n import entry_help, entry_label, field_help, t

st.title(t("Components"))
st.markdown(
    t(
        "Each choice in the sidebars comes from one of these tables. The *settings* column "
        "names the extra knobs a choice shows (for example, momentum for SGD with momentum); "
        "*works with* says which networks it fits."
    )
)

TITLES = {
    "data.dataset": "Datasets",
    "model.init": "Weight initialization",
    "model.activation": "Activations",
    "model.norm": "Normalization",
    "model.dropout": "Dropout and its variants",
    "train.optimizer": "Optimizers",
    "train.schedule": "Learning-rate schedules",
    "train.loss": "Losses",
}

for path, registry in registries().items():
    st.subheader(t(TITLES.get(path, registry.kind.capitalize())))
    st.caption(field_help(path, field_info(path)["help"]))
    rows = [
        {
            # names and settings are what a config file or a link writes: shown as code
            t("name"): f"`{e.name}`",
            t("label"): entry_label(path, e.name, e.label),
            t("what it does"): entry_help(path, e.name, e.help),
            t("settings"): ", ".join(f"`{p}`" for p in e.params),
            # the rule the config enforces: a CNN needs images, so 2-D datasets say MLP only
            t("works with"): " / ".join(a.upper() for a in works_with(path, e.name)),
        }
        for e in registry
    ]
    st.table(pd.DataFrame(rows), hide_index=True)
