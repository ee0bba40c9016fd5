"""The sidebar's controls against the engine's table: the choices a select box offers are the
ones the config accepts, and a field the widget table does not list still gets a widget."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine.config import Config, ConfigError, field_info, field_paths, registries
from engine.registry import ARCHS, registry_for
from ui.controls import _derived_spec, options_for
from ui.widgets import SPECS


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dataset", registry_for("data.dataset").names())
def test_the_sidebar_offers_exactly_the_choices_the_config_accepts(arch: str, dataset: str) -> None:
    """Every architecture x dataset x registry field: a choice is offered if and only if a
    config with it passes the check, and one not offered is refused at its own field (with
    residual connections on an MLP, which droppath needs, and mse for a regression set)."""
    task = registry_for("data.dataset").get(dataset).extra["task"]
    values = {
        **Config().to_flat(),
        "data.dataset": dataset,
        "model.arch": arch,
        "train.loss": "mse" if task == "regression" else "cross_entropy",
    }
    arch_offered = arch in options_for("model.arch", values, ())
    for path in ["model.arch", *(p for p in registries() if p != "data.dataset")]:
        if path != "model.arch" and not arch_offered:
            continue  # a CNN on points: every such config is refused at model.arch
        offered = options_for(path, values, ())
        for name in field_info(path)["choices"]:
            changes = {**values, path: name}
            changes["model.residual"] = changes["model.arch"] == "mlp"
            try:
                Config.from_flat(changes)
                refused_at = None
            except ConfigError as e:
                refused_at = e.field
            assert (name in offered) == (refused_at is None), (path, name, arch, dataset)
            assert refused_at in (None, path), (path, name, arch, dataset, refused_at)


def _every_derived_widget() -> None:
    """Draw every field whose widget can follow from its type, with the widget table empty."""
    from unittest.mock import patch

    from engine.config import Config, field_paths
    from ui.controls import Group, PageControls, _derived_spec, render_controls, values_key
    from ui.widgets import SPECS

    with patch.dict(SPECS, clear=True):
        paths = []
        for path in field_paths():
            try:
                _derived_spec(path)
            except LookupError:
                continue
            paths.append(path)
        import streamlit as st

        st.session_state.setdefault(values_key("t"), Config().replace(device="cpu").to_flat())
        pc = PageControls("t", Config(), (Group("All", tuple(paths)),), ("circle", "mnist"))
        cfg, error = render_controls(pc)
        st.write(f"config ok: {cfg is not None}, error: {error}")


def test_a_field_missing_from_the_widget_table_still_gets_a_widget() -> None:
    """ui/widgets.py's claim: a new knob of a single value or a list of choices needs no UI
    edit; only a list of numbers (widths, a pair) needs an entry in SPECS."""
    derived = {}
    for path in field_paths():
        try:
            derived[path] = _derived_spec(path).kind
        except LookupError:
            derived[path] = None
    assert [p for p, kind in derived.items() if kind is None] == ["model.hidden", "train.betas"]
    assert derived["data.features"] == "multiselect" and derived["model.bias"] == "toggle"
    assert derived["train.optimizer"] == "select" and derived["data.normalize"] == "select"
    assert derived["train.lr"] == "number" and derived["train.epochs"] == "int"

    at = AppTest.from_function(_every_derived_widget, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.markdown[-1].value == "config ok: True, error: None"
    drawn = {
        w.key.removeprefix("t.w.")
        for kind in ("selectbox", "multiselect", "toggle", "number_input")
        for w in at.get(kind)
    }
    assert "train.lr" in drawn and "data.features" in drawn and "model.bias" in drawn
    assert SPECS  # the table itself is back once the script is done
