"""One-click presets: load a shipped config (assets/presets/) into a page's controls."""

from __future__ import annotations

import streamlit as st

from engine.presets import Preset
from ui.controls import set_values
from ui.lifecycle import reset_run
from ui.state import skey


def _load(page: str, presets: dict[str, Preset]) -> None:
    name = st.session_state.get(skey(page, "preset"))
    if name in presets:
        set_values(page, presets[name].config.to_flat())
        reset_run(page)
        st.toast(f"Loaded “{presets[name].title}”. Press Play.", icon=":material/check:")


def preset_picker(page: str, presets: list[Preset]) -> None:
    """A "Presets" button opening a select box of presets, each with its summary, and a
    Load button (pages put it in their row of run buttons)."""
    if not presets:
        return
    by_name = {p.name: p for p in presets}
    with st.popover("Presets", icon=":material/science:", help="Classic experiments in one click"):
        name = st.selectbox(
            "Preset",
            list(by_name),
            format_func=lambda n: by_name[n].title,
            key=skey(page, "preset"),
        )
        st.caption(by_name[name].summary)
        st.button(
            "Load preset",
            key=skey(page, "btn.preset"),
            on_click=_load,
            args=(page, by_name),
            icon=":material/download_done:",
            type="primary",
        )
