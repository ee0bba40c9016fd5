"""The optimizer race on analytic surfaces: pick a surface and a start, edit the racers (each
an optimizer with its own learning rate and settings), see every path on one contour map and
the loss against the step."""

from __future__ import annotations

import html
import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from engine.config import TrainConfig
from engine.optimizers import OPTIMIZERS
from engine.presets import Preset
from engine.registry import ConfigError
from engine.surfaces import SURFACES, Path, Racer, race, shaded, surface_grid
from ui import charts, i18n, images
from ui.state import skey
from ui.text import plain

MAP_WIDTH = 560
COLUMNS = ("label", "optimizer", "lr", "momentum", "beta1", "beta2", "rho")


def racer_rows(preset: Preset, tr: Callable[[str], str] = str) -> pd.DataFrame:
    """The experiment's racers as editable rows, their names put through `tr` (the names
    are the student's to edit: they start in the page's language)."""
    rows = []
    for v in preset.variants:
        t = v.config.train
        rows.append(
            {
                "label": tr(v.label),
                "optimizer": t.optimizer,
                "lr": t.lr,
                "momentum": t.momentum,
                "beta1": t.betas[0],
                "beta2": t.betas[1],
                "rho": t.rho,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def racers_from(df: pd.DataFrame) -> tuple[list[Racer], list[str]]:
    """Racers from the edited table, and a message for every row that is not valid."""
    racers, problems = [], []
    for i, row in df.reset_index(drop=True).iterrows():
        if not isinstance(row.get("optimizer"), str) or row.get("optimizer") not in OPTIMIZERS:
            problems.append(i18n.t("row {n}: choose an optimizer").format(n=i + 1))
            continue
        try:
            train = TrainConfig(
                optimizer=row["optimizer"],
                lr=float(row["lr"]),
                momentum=float(row["momentum"]),
                betas=(float(row["beta1"]), float(row["beta2"])),
                rho=float(row["rho"]),
            )
        except (ConfigError, TypeError, ValueError) as e:
            name = row.get("label") or row["optimizer"]
            problems.append(
                i18n.t("row {n} ({name}): {error}").format(
                    n=i + 1, name=name, error=i18n.message(str(e))
                )
            )
            continue
        label = str(row.get("label") or "").strip() or f"{row['optimizer']} lr={train.lr:g}"
        racers.append(Racer(label, train))
    return racers, problems


@st.cache_data(max_entries=64, show_spinner=False)
def _race(name: str, start: tuple[float, float], racers_json: str, steps: int) -> list[Path]:
    """Cached: the same race (a pure function of its inputs) for every session."""
    specs = json.loads(racers_json)
    racers = [Racer(s["label"], TrainConfig(**s["train"])) for s in specs]
    return race(name, start, racers, steps)


def _racers_json(racers: list[Racer]) -> str:
    specs = []
    for r in racers:
        t = r.train
        train = {"optimizer": t.optimizer, "lr": t.lr, "momentum": t.momentum,
                 "betas": list(t.betas), "rho": t.rho}  # fmt: skip
        specs.append({"label": r.label, "train": train})
    return json.dumps(specs)


@st.cache_data(max_entries=16, show_spinner=False)
def _background(name: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The surface's contour map as an RGB array, and its pixel size."""
    x0, x1, y0, y1 = SURFACES.get(name).extra["extent"]
    height = max(200, int(MAP_WIDTH * (y1 - y0) / (x1 - x0)))
    _, _, z = surface_grid(name, 240)
    img = images.contour_image(shaded(name, z), (MAP_WIDTH, height), levels=24)
    return np.asarray(img), (MAP_WIDTH, height)


def _optimizer_names() -> Callable[[str], str] | None:
    """How the racers' optimizer column shows its values: the registry's names in English, as
    it always has ("sgd", "momentum"), their translated labels in another language."""
    if i18n.lang() == i18n.DEFAULT:
        return None
    labels = {
        n: i18n.entry_label("train.optimizer", n, OPTIMIZERS.get(n).label)
        for n in OPTIMIZERS.names()
    }
    return labels.__getitem__


def race_section(page: str, preset: Preset) -> None:
    """Controls, the map with every path up to a chosen step, and the loss curves."""
    name = str(preset.lab.get("surface", "quadratic"))
    entry = SURFACES.get(name)
    start_default = preset.lab.get("start", entry.extra["start"])
    cols = st.columns([2, 1, 1, 1])
    labels = {
        n: i18n.entry_label("lab.surface", n, SURFACES.get(n).label) for n in SURFACES.names()
    }
    name = cols[0].selectbox(
        i18n.t("Surface"),
        SURFACES.names(),
        index=SURFACES.names().index(name),
        format_func=labels.__getitem__,
        key=skey(page, f"surface.{preset.name}"),
    )
    entry = SURFACES.get(name)
    x0, x1, y0, y1 = entry.extra["extent"]
    if name != preset.lab.get("surface"):
        start_default = entry.extra["start"]
    sx = cols[1].number_input(
        i18n.t("Start x"),
        x0,
        x1,
        float(start_default[0]),
        key=skey(page, f"sx.{preset.name}.{name}"),
    )
    sy = cols[2].number_input(
        i18n.t("Start y"),
        y0,
        y1,
        float(start_default[1]),
        key=skey(page, f"sy.{preset.name}.{name}"),
    )
    steps = int(
        cols[3].number_input(
            i18n.t("Steps"),
            1,
            5000,
            int(preset.lab.get("steps", 200)),
            key=skey(page, f"steps.{preset.name}"),
        )
    )
    st.caption(i18n.entry_help("lab.surface", name, entry.help))
    table = st.data_editor(
        racer_rows(preset, i18n.t),
        key=skey(page, f"racers.{preset.name}"),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "label": st.column_config.TextColumn(i18n.t("name")),
            "optimizer": st.column_config.SelectboxColumn(
                i18n.t("optimizer"),
                options=OPTIMIZERS.names(),
                required=True,
                format_func=_optimizer_names(),
            ),
            "lr": st.column_config.NumberColumn(
                i18n.t("learning rate"), min_value=0.0, format="%g"
            ),
            "momentum": st.column_config.NumberColumn(
                i18n.t("momentum"), min_value=0.0, max_value=0.999
            ),
            "beta1": st.column_config.NumberColumn("β₁ (Adam)", min_value=0.0, max_value=0.9999),
            "beta2": st.column_config.NumberColumn("β₂ (Adam)", min_value=0.0, max_value=0.9999),
            "rho": st.column_config.NumberColumn(
                i18n.t("ρ (RMSProp)"), min_value=0.0, max_value=0.9999
            ),
        },
    )
    racers, problems = racers_from(table)
    for problem in problems:
        st.warning(plain(problem), icon=":material/edit:")  # names a row's typed name
    if not racers:
        return
    paths = _race(name, (float(sx), float(sy)), _racers_json(racers), steps)
    draw_race(page, preset, name, paths)


def draw_race(page: str, preset: Preset, name: str, paths: list[Path]) -> None:
    """The map with the paths up to the chosen step, a legend, and the loss curves."""
    entry = SURFACES.get(name)
    longest = max(len(p.xy) for p in paths) - 1
    upto = st.slider(
        i18n.t("Show the paths up to step"), 0, max(1, longest), max(1, longest),
        key=skey(page, f"upto.{preset.name}.{name}.{longest}"),
    )  # fmt: skip
    background, _ = _background(name)
    img = images.draw_paths(
        images.Image.fromarray(background),
        [p.xy[: upto + 1] for p in paths],
        entry.extra["extent"],
        marks=entry.extra["minima"],
    )
    cols = st.columns([3, 2])
    with cols[0]:
        st.image(
            images.to_jpeg(img),
            output_format="JPEG",
            width="stretch",  # a fixed width ran under the legend in a narrow column
            caption=i18n.t(
                "Contours of the surface (dark is low; log-scaled where it is steep). Square: "
                "the start; dots: where each optimizer is; crosses: the global minima."
            ),
        )
    with cols[1]:
        st.markdown(legend_html(paths, upto, i18n.t("loss")), unsafe_allow_html=True)
        for p in paths:
            if p.diverged:
                colon = i18n.t(": ")  # "：" in Chinese
                shown = f"{p.label}{colon}{i18n.message(p.message)}"
                st.warning(plain(shown), icon=":material/warning:")  # the name is typed text
    charts.show(
        charts.race_loss_chart,
        race_table(paths),
        entry.extra["log_color"] or _positive(paths),
        tuple(p.label for p in paths),  # the colour of each racer: its path's on the map
    )


def _positive(paths: list[Path]) -> bool:
    return all(np.all(p.loss > 0) for p in paths)


def race_table(paths: list[Path]) -> pd.DataFrame:
    """(step, loss, optimizer) of every path, thinned to at most ~300 points each."""
    frames = []
    for p in paths:
        steps = np.arange(len(p.loss))
        idx = np.unique(np.linspace(0, len(p.loss) - 1, min(len(p.loss), 300)).astype(int))
        frames.append(pd.DataFrame({"step": steps[idx], "loss": p.loss[idx], "optimizer": p.label}))
    return pd.concat(frames, ignore_index=True)


def legend_html(paths: list[Path], upto: int, loss: str = "loss") -> str:
    """Coloured names with where each path is at the chosen step (`loss`: the word shown)."""
    lines = []
    for k, p in enumerate(paths):
        r, g, b = images.PATH_COLORS[k % len(images.PATH_COLORS)]
        i = min(upto, len(p.xy) - 1)
        x, y = p.xy[i]
        swatch = f"<span style='color: rgb({r},{g},{b}); font-size: 1.3em'>●</span>"
        name = html.escape(p.label)  # names come from the editable table
        lines.append(f"{swatch} <b>{name}</b>: ({x:.3g}, {y:.3g}), {loss} {p.loss[i]:.3g}")
    return "<br>".join(lines)
