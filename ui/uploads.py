"""The Playground's "your own points" box: upload a CSV, or download the current points.

A valid file switches the dataset to `uploaded`; a bad one shows what is wrong and changes
nothing (the previous data and run stay).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine.data import DataError, Dataset
from engine.data.uploads import UploadedPoints, parse_points_csv, points_to_csv
from ui import i18n
from ui.controls import points_key, set_values
from ui.lifecycle import reset_run
from ui.state import skey
from ui.text import plain

MAX_UPLOAD_BYTES = 2_000_000


def get_points(page: str) -> UploadedPoints | None:
    return st.session_state.get(points_key(page))


def _on_upload(page: str) -> None:
    file = st.session_state.get(skey(page, "csv"))
    st.session_state.pop(skey(page, "csv_error"), None)
    if file is None:
        return
    try:
        points = parse_points_csv(file.getvalue(), max_bytes=MAX_UPLOAD_BYTES)
    except DataError as e:
        # the file name and the engine's (English) message apart: the message is translated
        # when shown, the name never
        st.session_state[skey(page, "csv_error")] = (file.name, str(e))
        return
    st.session_state[points_key(page)] = points
    set_values(page, {"data.dataset": "uploaded"})
    reset_run(page)


def upload_box(page: str, dataset: Dataset | None) -> None:
    """File uploader with its error message, and a download of the current points."""
    st.file_uploader(
        i18n.t("Upload a CSV of 2-D points: columns x1, x2, label"),
        type=["csv", "txt"],
        key=skey(page, "csv"),
        on_change=_on_upload,
        args=(page,),
        help=i18n.t(
            "One point per row; a header row is optional. Labels: 2 to 10 classes "
            "(numbers or names). Up to 20,000 rows and 2 MB."
        ),
    )
    error = st.session_state.get(skey(page, "csv_error"))
    if error:
        name, why = error
        st.error(
            i18n.t("Could not use this file. {error}").format(
                error=f"{plain(name)}: {plain(i18n.message(why))}"
            ),
            icon=":material/error:",
        )
    points = get_points(page)
    if points is not None:
        st.caption(
            i18n.t(
                "Loaded {n:,} points in {k} classes ({names}). Pick *Your own points (CSV)* "
                "as the dataset to train on them."
            ).format(
                n=len(points.y), k=points.n_classes, names=plain(", ".join(points.class_names))
            )  # the names are the file's own labels: visitor text, shown as text
        )
    if dataset is not None and dataset.train_xy is not None and dataset.task == "classification":
        xy = np.concatenate([dataset.train_xy, dataset.val_xy])
        y = np.concatenate([dataset.train.y.numpy(), dataset.val.y.numpy()])
        st.download_button(
            i18n.t("Download these points as CSV"),
            points_to_csv(xy, y),
            file_name=f"{dataset.name}.csv",
            mime="text/csv",
            icon=":material/download:",
            key=skey(page, "csv_download"),
        )
