"""Stored runs side by side (the Compare page): their final numbers, the settings in which they
differ, and their curves for overlaying with ui/compare.py's chart."""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine.config import Config, field_paths, format_value
from engine.trainer import History
from ui import charts, i18n
from ui.compare import number, percent
from ui.runstore import status_label
from ui.text import plain
from ui.widgets import field_label


def stored_curves(records: list[Any], metric: str) -> pd.DataFrame:
    """(epoch, value, split, run) of stored runs' evaluations, for the overlaid curves."""
    frames = []
    for r in records:
        h = History(**{k: r.history.get(k, []) for k in ("step", "loss", "lr", "evals", "probes")})
        df = charts.curves_table(h, 1, metric, "validation")
        frames.append(df[df.split != "minibatch"].assign(run=f"#{r.id}"))  # names: in the table
    if not frames:
        return pd.DataFrame(columns=["epoch", "value", "split", "run"])
    return pd.concat(frames, ignore_index=True)


def config_diff(records: list[Any]) -> pd.DataFrame:
    """Only the config fields whose values differ between the runs: one row per field."""
    cfgs = [Config.from_dict(r.config) for r in records]
    rows = []
    for path in field_paths():
        vals = [c.get(path) for c in cfgs]
        if any(v != vals[0] for v in vals[1:]):
            rows.append(
                {
                    "setting": setting_label(path),
                    **{f"#{r.id}": _show(v) for r, v in zip(records, vals, strict=True)},
                }
            )
    return pd.DataFrame(rows)


def setting_label(path: str) -> str:
    """What a person calls a setting, in the session's language ("学习率" for train.lr)."""
    return i18n.field_label(path, field_label(path))


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """`final_table` or `config_diff` as the page shows it: column names and status words in
    the session's language (run numbers, names and values as they are)."""
    columns = {
        "run": i18n.t("run"),
        "name": i18n.t("name"),
        "status": i18n.t("status"),
        "steps": i18n.t("steps"),
        "seconds": i18n.t("seconds"),
        "validation loss": i18n.t("validation loss"),
        "validation accuracy": i18n.t("validation accuracy"),
        "test accuracy": i18n.t("test accuracy"),
        "setting": i18n.t("setting"),
    }
    out = table.rename(columns=columns)
    status = columns["status"]
    if status in out.columns:
        out[status] = out[status].map(status_label)
    return out


def _show(value: Any) -> str:
    """A config value for reading: floats to 4 significant digits, widths as 8-8-4."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return "-".join(map(str, value))
    return format_value(value)


def final_table(records: list[Any]) -> pd.DataFrame:
    """Where each stored run ended."""
    return pd.DataFrame(
        [
            {
                "run": f"#{r.id}",
                "name": plain(r.name),  # st.table renders Markdown; a name is text
                "status": r.status,
                "steps": r.steps,
                "seconds": f"{r.seconds:.1f}",
                "validation loss": number(r.val_loss),
                "validation accuracy": percent(r.val_acc),
                "test accuracy": percent(r.test_acc),
            }
            for r in records
        ]
    )
