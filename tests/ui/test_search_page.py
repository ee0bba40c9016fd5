"""The Search page as a visitor on a shared server uses it (issue 10, items 2 and 3): a study
is chosen by name, the storage is the server's, a hostile name or a huge grid is refused with a
message, and the page's search-space table parses any cells into a Space or a one-line error."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from app_helpers import assert_clean, open_page, unplain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from engine import search
from engine.config import field_paths
from engine.registry import ConfigError
from engine.store import RunStore
from ui import search_view


def playground_start(at: AppTest) -> None:
    """Search from the Playground's opening config (tiny runs), 1 trial of 1 epoch."""
    names = at.selectbox(key="search.source").options
    at.selectbox(key="search.source").set_value(
        next(n for n in names if "TensorFlow Playground's start" in n)
    ).run()
    at.number_input(key="search.trials").set_value(1).run()
    at.number_input(key="search.epochs").set_value(1).run()


def errors(at: AppTest) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    return [unplain(e.value) for e in at.error]  # as a reader sees them


def test_visitors_name_a_study_in_the_servers_storage(tmp_path: Path, monkeypatch) -> None:
    """No Storage box: the study '../../x' is a name in $PLAYGROUND_SEARCH_DB, no path."""
    monkeypatch.setattr(search.limits, "MAX_TRIALS", 7)
    at = open_page("search")
    assert_clean(at)
    assert [t.label for t in at.text_input] == ["Study name"]
    assert at.text_input(key="search.study").max_chars == search.MAX_STUDY_NAME
    assert at.number_input(key="search.trials").max == 7  # the server's limit
    playground_start(at)
    at.text_input(key="search.study").set_value("../../x").run()
    at.button(key="search.start").click().run()
    for _ in range(4):
        if not at.session_state["search.run"].searching:
            break
        at.run()
    assert_clean(at)
    assert at.session_state["search.run"].done_here == 1
    storage = search.default_storage()
    assert storage == f"sqlite:///{tmp_path / 'search.db'}"  # the server's setting
    assert optuna.study.get_all_study_names(storage) == ["../../x"]
    assert not [p for p in tmp_path.parent.parent.rglob("x") if p.name == "x"]


def test_a_hostile_study_name_is_cut_or_refused() -> None:
    """Whatever a browser sends, the name used has at most 100 characters (Streamlit cuts a
    text input at max_chars on the server); a control character is refused with a message."""
    at = open_page("search")
    playground_start(at)
    at.text_input(key="search.study").set_value("x" * 10_000).run()
    assert at.text_input(key="search.study").value == "x" * search.MAX_STUDY_NAME
    at.text_input(key="search.study").set_value("a\tb").run()
    at.button(key="search.start").click().run()
    shown = errors(at)
    assert len(shown) == 1 and "cannot hold control characters" in shown[0]
    assert "search.run" not in at.session_state
    assert optuna.study.get_all_study_names(search.default_storage()) == []


def test_the_page_refuses_a_storage_that_is_the_run_store(tmp_path: Path, monkeypatch) -> None:
    """An operator who points both variables at one file gets an error, and the runs stay."""
    monkeypatch.setenv("PLAYGROUND_SEARCH_DB", os.environ["PLAYGROUND_RUNS_DB"])
    at = open_page("search")
    playground_start(at)
    at.button(key="search.start").click().run()
    shown = errors(at)
    assert len(shown) == 1 and "is the run store's database" in shown[0]
    assert RunStore().count() == 0  # still opens: no Optuna tables were added


def cube(cells: int) -> pd.DataFrame:
    """Three int rows with `cells` grid values each."""
    values = ", ".join(str(v) for v in range(1, cells + 1))
    rows = [
        {"field": f, "type": "int", "low": None, "high": None, "log": False, "choices": "",
         "grid": values}
        for f in ("train.batch_size", "train.epochs", "train.early_stopping_patience")
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(search_view.SPACE_COLUMNS))


def test_a_grid_over_the_limit_is_refused_before_it_is_built(monkeypatch) -> None:
    """30^3 = 27,000 grid points (1000^3 on the command line took 6 GB): refused, with the
    limit, before the sampler lists them."""
    monkeypatch.setattr(search_view, "default_space", lambda cfg: cube(30))
    at = open_page("search")
    playground_start(at)
    at.selectbox(key="search.sampler").set_value("grid").run()
    at.button(key="search.start").click().run()
    shown = errors(at)
    assert len(shown) == 1
    assert "the grid has 27,000 combinations; the limit is 10,000" in shown[0]
    assert "search.run" not in at.session_state


# --------------------------------------------------------------------------------------------
# The search-space table, fuzzed

TEXT_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["1e400", "-1e400", "nan", "inf", "0x10", "1_000", "", " ", "1,,2", ";"]),
    st.text(max_size=8),
)
CELLS = {
    "field": st.one_of(st.sampled_from(field_paths()), st.text(max_size=12), st.none()),
    "type": st.one_of(st.sampled_from(search_view.TYPES), st.text(max_size=8), st.none()),
    "low": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    "high": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    "log": st.one_of(st.booleans(), st.none()),
    "choices": st.one_of(
        st.lists(TEXT_NUMBERS, max_size=5).map(", ".join),
        st.lists(st.sampled_from(["sgd", "adam", "relu", "x", "1", "3"]), max_size=4).map(
            ", ".join
        ),
    ),
    "grid": st.lists(TEXT_NUMBERS, max_size=6).map(", ".join),
}
ROWS = st.fixed_dictionaries({k: v for k, v in CELLS.items()})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROWS, max_size=4), st.sampled_from(["val_acc", "val_loss"]))
def test_any_table_gives_a_space_or_one_line_error(rows: list[dict[str, Any]], objective) -> None:
    df = pd.DataFrame(rows, columns=list(search_view.SPACE_COLUMNS))
    try:
        space = search_view.space_from_table(df, objective, 2)
    except ConfigError as e:
        assert "\n" not in str(e) and len(str(e)) < 2000, str(e)
        return
    try:
        size = space.grid_size()
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    assert isinstance(size, int) and size >= 1
    if size <= search.MAX_GRID:
        assert math.prod(len(v) for v in space.grid().values()) == size


def test_the_default_mnist_space_tunes_the_dropout_rate_only_with_dropout_on() -> None:
    """Issue 14.1: the default space used to vary model.dropout_rate while every trial had
    dropout "none" (the page then reported a 'best rate' that did nothing). Now it searches
    the dropout too, and a hand-written rate without it is refused."""
    from engine.presets import list_presets

    base = list_presets("mnist")[0].config
    assert base.model.dropout == "none"
    space = search_view.space_from_table(search_view.default_space(base), "val_acc", 1)
    fields = [p.field for p in space.params]
    assert "model.dropout" in fields and "model.dropout_rate" in fields
    space.check_switches(base)  # accepted
    alone = search.Space(tuple(p for p in space.params if p.field != "model.dropout"))
    try:
        alone.check_switches(base)
    except ConfigError as e:
        assert "model.dropout" in str(e)
    else:
        raise AssertionError("a rate without its switch was accepted")


def test_a_space_varying_a_switched_off_knob_is_refused_before_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 14.1 on the page: a rate row without its dropout row says why, and Start waits."""
    rows = [{"field": "model.dropout_rate", "type": "float", "low": 0.1, "high": 0.5,
             "log": False, "choices": "", "grid": ""}]  # fmt: skip
    table = pd.DataFrame(rows, columns=list(search_view.SPACE_COLUMNS))
    monkeypatch.setattr(search_view, "default_space", lambda cfg: table)
    at = open_page("search")
    names = at.selectbox(key="search.source").options
    at.selectbox(key="search.source").set_value(
        next(n for n in names if "TensorFlow Playground's start" in n)
    ).run()
    shown = errors(at)
    assert any("model.dropout " in e and "would change nothing" in e for e in shown), shown
    assert at.button(key="search.start").disabled
