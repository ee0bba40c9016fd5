"""One-click presets: load a shipped config (assets/presets/) into a page's controls."""

from __future__ import annotations

import streamlit as st

from engine.presets import Preset
from ui.controls import set_values
from ui.live import reset_run
from ui.state import skey


def _load(page: str, presets: dict[str, Preset]) -> None:
    name = st.session_state.get(skey(page, "preset"))
    if name in presets:
        set_values(page, presets[name].config.to_flat())
        reset_run(page)
        st.session_state[skey(page, "preset_loaded")] = name


def preset_picker(page: str, presets: list[Preset]) -> None:
    """A select box of presets with their summaries and a Load button."""
    if not presets:
        return
    by_name = {p.name: p for p in presets}
    with st.expander("Presets: classic experiments in one click", icon=":material/science:"):
        cols = st.columns([3, 1], vertical_alignment="bottom")
        with cols[0]:
            name = st.selectbox(
                "Preset",
                list(by_name),
                format_func=lambda n: by_name[n].title,
                key=skey(page, "preset"),
            )
        with cols[1]:
            st.button(
                "Load preset",
                key=skey(page, "btn.preset"),
                on_click=_load,
                args=(page, by_name),
                icon=":material/download_done:",
                width="stretch",
            )
        st.caption(by_name[name].summary)
        loaded = st.session_state.get(skey(page, "preset_loaded"))
        if loaded in by_name:
            st.success(f"Loaded “{by_name[loaded].title}”. Press Play.", icon=":material/check:")
