"""The hyperparameter search page's parts: the search-space table, the live search (one
Optuna trial per tick, so the charts fill in as trials finish) and its charts."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import optuna
import pandas as pd
import streamlit as st

from engine.config import Config, field_info, registries
from engine.data import Dataset, build_dataset
from engine.presets import Preset
from engine.registry import ConfigError
from engine.search import (
    PARAM_TYPES,
    Param,
    Space,
    Widths,
    best_config,
    best_so_far,
    narrowed,
    run_search,
    trials_table,
)
from engine.store import RunStore, StoreError
from ui import charts, i18n
from ui.live import tick_while_busy, training_slot
from ui.runstore import status_label
from ui.state import skey
from ui.text import plain
from ui.widgets import field_label

# Optuna logs every finished trial at INFO; the page shows them, the server log needs not.
optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE_COLUMNS = ("field", "type", "low", "high", "log", "choices", "grid")
TYPES = PARAM_TYPES  # the type column's choices


def describe(cfg: Config) -> str:
    """One line on a config: network, data, optimizer, learning rate, epochs."""
    return i18n.t("{arch} {hidden} on {dataset}, {optimizer} lr {lr}, {epochs} epochs.").format(
        arch=i18n.choice_label("model.arch", cfg.model.arch, cfg.model.arch),
        hidden=list(cfg.model.hidden),
        dataset=value_label("data.dataset", cfg.data.dataset),
        optimizer=value_label("train.optimizer", cfg.train.optimizer),
        lr=f"{cfg.train.lr:g}",
        epochs=cfg.train.epochs,
    )


def knob_label(path: str) -> str:
    """A searched setting as the page names it (`ui.widgets.field_label`), in the session's
    language; a widths knob ("model.hidden.depth") with the part in brackets."""
    base, _, part = path.rpartition(".")
    if part in ("depth", "width") and field_label(base) != base:
        label = i18n.field_label(base, field_label(base))
        if part == "depth":
            return i18n.t("{setting} (number of layers)").format(setting=label)
        return i18n.t("{setting} (width)").format(setting=label)
    return i18n.field_label(path, field_label(path))


def value_label(path: str, value: Any) -> str:
    """A setting's value as shown: a component's name ("adam") by its label in Chinese, in
    English as the engine writes it (the trials table shows the names)."""
    text = str(value)
    if path in registries():
        return i18n.entry_label(path, text, text)
    return i18n.choice_label(path, text, text)


def type_labels() -> dict[str, str]:
    """The search-space table's types as shown (the cells keep the engine's names)."""
    words = {
        "float": i18n.t("float"),
        "int": i18n.t("int"),
        "categorical": i18n.t("categorical"),
        "widths": i18n.t("widths"),
    }
    return {kind: words.get(kind, kind) for kind in TYPES}


def objective_label(objective: str) -> str:
    """The metric a search optimizes, as its charts and table name it."""
    return {"val_acc": i18n.t("val_acc"), "val_loss": i18n.t("val_loss")}.get(objective, objective)


def default_space(cfg: Config) -> pd.DataFrame:
    """A sensible first search space for `cfg`: learning rate (log), optimizer, and the
    network's size and dropout."""
    images = cfg.data.dataset.startswith("mnist")
    rows = [
        {"field": "train.lr", "type": "float", "low": 1e-4, "high": 0.3, "log": True},
        {"field": "train.optimizer", "type": "categorical", "choices": "sgd, momentum, adam"},
        {"field": "model.hidden", "type": "widths", "low": 16 if images else 2,
         "high": 256 if images else 16, "log": True, "choices": "1, 3"},
    ]  # fmt: skip
    if images:
        # the rate only where a trial turns dropout on (engine.search samples it define-by-run)
        rows.append({"field": "model.dropout", "type": "categorical", "choices": "none, dropout"})
        rows.append({"field": "model.dropout_rate", "type": "float", "low": 0.1, "high": 0.5})
    df = pd.DataFrame(rows, columns=list(SPACE_COLUMNS))
    # text columns must hold text (not NaN floats) for the editor to accept typing in them
    for col in ("choices", "grid"):
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    df["log"] = df["log"].fillna(False).astype(bool)
    return df


def space_to_edit(key: str, cfg: Config, preset: Preset | None = None) -> pd.DataFrame:
    """The table the search-space editor under `key` starts from: a search preset's space or
    `default_space(cfg)`, or, once the language has changed, the table as last edited. The
    editor's column labels are part of its identity, so a new language draws a new editor;
    starting it from the edits keeps them (a language switch must not reset what the student
    typed)."""
    start, edited, lang = f"{key}.start", f"{key}.edited", f"{key}.lang"
    if start not in st.session_state:
        st.session_state[start] = (
            space_table(Space.from_dict(preset.lab["space"])) if preset else default_space(cfg)
        )
    if st.session_state.get(lang, i18n.lang()) != i18n.lang() and edited in st.session_state:
        st.session_state[start] = st.session_state[edited]
    st.session_state[lang] = i18n.lang()
    return st.session_state[start]


def space_table(space: Space) -> pd.DataFrame:
    """`space` as the editor's table (what `space_from_table` reads back)."""

    def listed(values: Any) -> str:
        return ", ".join(map(str, values)) if values else ""

    rows = []
    for p in space.params:
        row = {"field": p.field, "type": p.type, "log": bool(p.log), "grid": listed(p.grid)}
        if isinstance(p, Widths):
            (d0, d1), (w0, w1) = p.depth or (1, 1), p.width or (1, 1)
            row.update(low=w0, high=w1, choices=f"{d0}, {d1}")
        elif p.type == "categorical":
            row["choices"] = listed(p.choices)
        else:
            row.update(low=p.low, high=p.high)
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(SPACE_COLUMNS))
    for col in ("choices", "grid"):
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    df["log"] = df["log"].fillna(False).astype(bool)
    return df


def narrow_space(key: str, search: SearchRun, k: int) -> None:
    """Replace the editor's table under `key` by the search's space narrowed to its best `k`
    trials (the editor starts again from it; the study goes on in the smaller space)."""
    try:
        space = narrowed(search.space, search.study, k)
    except ValueError as e:
        st.toast(i18n.message(str(e)), icon=":material/warning:")
        return
    table = space_table(space)
    st.session_state[f"{key}.start"] = table
    st.session_state.pop(key, None)  # the editor's own edits were made to the old table
    keep_edits(key, table)
    st.toast(i18n.t("The space now spans the best {k} trials.").format(k=k))


def apply_search_preset(page: str, searches: dict[str, Preset]) -> None:
    """When a search preset is chosen as the source, its sampler, trials and epochs become
    the page's (the space comes with the editor, `space_to_edit`)."""
    preset = searches.get(st.session_state.get(skey(page, "source"), ""))
    if preset is None:
        return
    for name in ("sampler", "trials", "epochs"):
        if name in preset.lab:
            st.session_state[skey(page, name)] = preset.lab[name]


def keep_edits(key: str, table: Any) -> None:
    """Remember the editor's table as edited (see `space_to_edit`)."""
    st.session_state[f"{key}.edited"] = pd.DataFrame(table)


def _numbers(text: Any) -> list[float] | None:
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return None
    out = []
    for v in str(text).replace(";", ",").split(","):
        if v.strip():
            out.append(float(v))
            if not math.isfinite(out[-1]):
                raise ValueError(f"{v.strip()[:20]} is not a finite number")
    return out


def space_from_table(df: pd.DataFrame, objective: str, max_epochs: int | None) -> Space:
    """The edited table as a Space (ConfigError naming the row and column on bad input).

    For a `widths` row, low/high are the width range and `choices` holds the depth range
    ("1, 3"); `grid` lists values for the grid sampler."""
    params = []
    for i, row in df.reset_index(drop=True).iterrows():
        where = f"row {i + 1}"
        path = str(row.get("field") or "").strip()
        kind = str(row.get("type") or "").strip()
        if not path:
            continue
        try:
            grid = _numbers(row.get("grid"))
            low = None if pd.isna(row.get("low")) else float(row["low"])
            high = None if pd.isna(row.get("high")) else float(row["high"])
            log = bool(row.get("log")) if not pd.isna(row.get("log")) else False
            if kind == "categorical":
                choices = [c.strip() for c in str(row.get("choices") or "").split(",") if c.strip()]
                d: dict[str, Any] = {"field": path, "type": kind, "choices": choices}
            elif kind == "widths":
                depth = _numbers(row.get("choices")) or [1, 3]
                d = {"field": path, "type": kind, "depth": [int(depth[0]), int(depth[-1])],
                     "width": [int(low or 8), int(high or 64)], "log": log}  # fmt: skip
            else:
                d = {"field": path, "type": kind, "low": low, "high": high, "log": log}
            if grid:
                d["grid"] = [int(g) for g in grid] if kind in ("int", "widths") else grid
            params.append(Param.from_dict(d, where=f"space.params[{len(params)}]"))
        except (TypeError, ValueError, OverflowError) as e:  # "abc", "nan", "1e400" as an int
            raise ConfigError(where, f"{e}") from None
    return Space(tuple(params), objective=objective, max_epochs=max_epochs)


@dataclass
class SearchRun:
    """A search in progress in this session: the study and how many trials to run here."""

    study: optuna.Study
    base: Config
    space: Space
    target: int  # trials to run in this session
    done_here: int = 0
    searching: bool = False
    queued: bool = False  # waiting for a training slot (the server is busy)
    error: str = ""
    seconds: float = 0.0
    datasets: dict[Any, Dataset] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.done_here >= self.target


def one_trial(search: SearchRun) -> None:
    """Run one trial (holding a training slot, like a live tick), then stop at the target."""
    key = (search.base.data, search.base.seed)
    if key not in search.datasets:
        search.datasets = {key: build_dataset(search.base.data, search.base.seed)}
    with training_slot(search) as got:  # type: ignore[arg-type]  # it only sets .queued
        if not got:
            return
        start = time.perf_counter()
        try:
            run_search(
                search.base,
                search.space,
                search.study,
                1,
                dataset=search.datasets[key],
                on_trained=lambda trial, trainer: keep(search, trial, trainer),
            )
        except (ConfigError, ValueError, RuntimeError) as e:
            search.error = f"The search stopped: {e}"  # shown through i18n.message
            search.searching = False
            return
        search.seconds += time.perf_counter() - start
    search.done_here += 1
    if search.finished:
        search.searching = False


def keep(search: SearchRun, trial: optuna.Trial, trainer: Any) -> None:
    """Store a trained trial in the run store (so Compare and Evaluation can open it) and
    note its run id on the trial; a store that cannot be used just skips this."""
    try:
        run_id = RunStore().save(
            trainer, name=f"{search.study.study_name} trial {trial.number}", page="search"
        )
    except StoreError:
        return
    trial.set_user_attr("run_id", run_id)


def search_area(key: str, draw: Any) -> None:
    """The fragment that runs a trial per tick while searching, then redraws."""
    tick_while_busy(key, lambda s: s.searching, one_trial, draw)


def table(search: SearchRun) -> pd.DataFrame:
    return pd.DataFrame(trials_table(search.study))


def draw_results(search: SearchRun) -> None:
    """Metric against each searched knob, best so far, the best trials."""
    df = table(search)
    objective = search.space.objective
    st.caption(
        i18n.t(
            "Study '{study}': {n} trials in all, {done} of {target} run here in {seconds} s."
        ).format(
            study=plain(search.study.study_name),
            n=len(df),
            done=search.done_here,
            target=search.target,
            seconds=f"{search.seconds:.0f}",
        )
    )
    if search.error:
        st.error(plain(i18n.message(search.error)), icon=":material/error:")
    if not len(df):
        st.caption(i18n.t("Trials appear here as they finish."))
        return
    complete = df[df["state"] == "COMPLETE"]
    numeric = [k for k in search.space.names if k in df.columns and not _is_text(df[k])]
    if len(complete) and numeric:
        logged = log_knobs(search.space)
        long = pd.concat(
            [
                pd.DataFrame(
                    {
                        # a log-range knob is plotted as log10 (one axis type per chart)
                        "knob": i18n.t("log10 {setting}").format(setting=knob_label(k))
                        if k in logged
                        else knob_label(k),
                        "value": np.log10(complete[k].astype(float))
                        if k in logged
                        else complete[k],
                        "metric": complete[objective],
                        "trial": complete["number"],
                    }
                )
                for k in numeric
            ],
            ignore_index=True,
        )
        st.altair_chart(knob_chart(long, objective_label(objective)), width="content")
    best = pd.DataFrame(best_so_far(search.study))
    if len(best):
        st.altair_chart(best_chart(best, objective_label(objective)), width="stretch")
    shown = df.sort_values("value", ascending=search.space.direction == "minimize").head(10)
    knobs = [k for k in search.space.names if k in df.columns]
    keep = ["number", "run_id", "state", "status", "value", *knobs, "val_acc", "val_loss",
            "seconds"]  # fmt: skip
    st.markdown(i18n.t("**Best trials**"))
    best_table = shown[[c for c in keep if c in shown.columns]].map(_fmt)
    for k in knobs:
        if _is_text(df[k]):  # a component's name: its label in Chinese
            best_table[k] = best_table[k].map(lambda v, k=k: value_label(k, v) if v else v)
    best_table["state"] = best_table["state"].map(lambda v: state_label(v) if v else v)
    best_table["status"] = best_table["status"].map(lambda v: status_label(v) if v else v)
    columns = {
        "number": i18n.t("number"),
        "run_id": i18n.t("run_id"),
        "state": i18n.t("state"),
        "status": i18n.t("status"),
        "value": i18n.t("value"),
        "val_acc": i18n.t("val_acc"),
        "val_loss": i18n.t("val_loss"),
        "seconds": i18n.t("seconds"),
        **{k: knob_label(k) for k in knobs},
    }
    st.table(best_table.rename(columns=columns), hide_index=True)


def state_label(state: str) -> str:
    """An Optuna trial state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING) as shown."""
    words = {
        "COMPLETE": i18n.t("COMPLETE"),
        "PRUNED": i18n.t("PRUNED"),
        "FAIL": i18n.t("FAIL"),
        "RUNNING": i18n.t("RUNNING"),
        "WAITING": i18n.t("WAITING"),
    }
    return words.get(state, state)


def _is_text(s: pd.Series) -> bool:
    """A column of names (an optimizer, say) rather than numbers; pandas 3 gives text its
    own dtype, so test for numbers rather than for `object`."""
    return not pd.api.types.is_numeric_dtype(s)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def log_knobs(space: Space) -> set[str]:
    """Optuna names of the knobs searched on a log scale (plotted as log10)."""
    out = set()
    for p in space.params:
        if p.log:
            out |= {n for n in p.names if not n.endswith(".depth")}
    return out


def knob_chart(df: pd.DataFrame, objective: str):
    """The metric of every finished trial against each numeric knob searched; `objective`
    as shown (the y axis's title)."""
    return (
        alt.Chart(df, height=170, width=200)
        .mark_circle(size=60, opacity=0.8, color="#0877bd")
        .encode(
            x=alt.X("value:Q", title=None, scale=alt.Scale(zero=False)),
            y=alt.Y("metric:Q", title=objective, scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("trial:Q", title=i18n.t("trial")),
                alt.Tooltip("knob:N", title=i18n.t("setting")),
                # "value" is the objective's in the trials table: say whose it is here
                alt.Tooltip("value:Q", title=i18n.t("value of the setting")),
                alt.Tooltip("metric:Q", title=objective, format=".4g"),
            ],
        )
        .facet(facet=alt.Facet("knob:N", title=None, header=alt.Header(labelLimit=0)), columns=3)
        .resolve_scale(x="independent")
    )


def best_chart(df: pd.DataFrame, objective: str):
    """Best value so far against the trial number; `objective` as shown."""
    title = i18n.t("Best {objective} so far").format(objective=objective)
    return (
        alt.Chart(df, title=title, height=220, autosize=charts.FIT_WIDTH)
        .mark_line(point=True, color="#f59322", interpolate="step-after")
        .encode(
            x=alt.X("number:Q", title=i18n.t("trial")),
            y=alt.Y("best:Q", title=None, scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("number:Q", title=i18n.t("trial")),
                alt.Tooltip("best:Q", title=title, format=".4g"),
            ],
        )
    )


def field_help(path: str) -> str:
    try:
        return field_info(path)["help"]
    except ConfigError:
        return ""


def best_run_ids(search: SearchRun, k: int = 3) -> list[int]:
    """Run-store ids of the k best complete trials (those that were stored)."""
    df = table(search)
    if not len(df) or "run_id" not in df:
        return []
    done = df[(df["state"] == "COMPLETE") & df["run_id"].notna()]
    done = done.sort_values("value", ascending=search.space.direction == "minimize")
    return [int(i) for i in done["run_id"].head(k)]


def best(search: SearchRun) -> Config | None:
    try:
        return best_config(search.study)
    except ValueError:
        return None
