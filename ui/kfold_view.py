"""The Compare page's k-fold cross-validation of a stored run's config (engine/kfold.py): pick
k, train the k runs a slice per tick with a progress bar (holding a training slot, as a live
run does), then a table per fold, the mean ± standard deviation, and a sentence saying what
the spread means: how noisy one validation score is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from engine.config import Config
from engine.data import DataError
from engine.kfold import MAX_K, MIN_K, KFold, KFoldResult
from engine.registry import ConfigError
from ui import i18n
from ui.live import tick_while_busy, training_slot
from ui.runstore import status_label
from ui.state import skey
from ui.text import plain

SLICE_S = 0.5  # training per tick: the progress bar moves about twice a second
DEFAULT_K = 5


@dataclass
class KFoldRun:
    """A cross-validation of this session: which stored run's config, and the job."""

    source: int  # the stored run whose config is cross-validated
    job: KFold | None  # None once it ends: its data (47 MB for MNIST) is not kept
    result: KFoldResult
    running: bool = True
    queued: bool = False  # the last tick waited in vain for a training slot
    error: str = ""  # why it stopped early (an engine message, shown translated)

    def finish(self) -> None:
        if self.job is not None:
            self.result = self.job.result()
        self.job, self.running = None, False


def run_key(page: str) -> str:
    return skey(page, "kfold.run")


def start_controls(page: str, source: int, cfg: Config, points: Any = None) -> None:
    """The number of folds and the button that starts a cross-validation of `cfg`."""
    cols = st.columns([1, 2], vertical_alignment="bottom")
    k = cols[0].number_input(
        i18n.t("Folds (k)"),
        min_value=MIN_K,
        max_value=MAX_K,
        value=DEFAULT_K,
        step=1,
        key=skey(page, "kfold.k"),
        help=i18n.t("Each run trains on k − 1 folds and is scored on the one left out."),
    )
    if cols[1].button(
        i18n.t("Cross-validate"), key=skey(page, "kfold.start"), icon=":material/play_arrow:"
    ):
        try:
            job = KFold.start(cfg, int(k), points=points)
        except (ConfigError, DataError) as e:
            st.error(plain(i18n.message(str(e))), icon=":material/error:")
            return
        st.session_state[run_key(page)] = KFoldRun(source, job, job.result())


def area(page: str) -> None:
    """Trains the session's cross-validation while it runs (a fragment that reruns itself
    every KICK_S), then shows its results."""
    tick_while_busy(run_key(page), lambda r: r.running, one_slice, draw)


def one_slice(run: KFoldRun) -> None:
    """Train the current fold for SLICE_S while holding one of the server's training slots."""
    job = run.job
    if job is None:
        return
    with training_slot(run) as got:
        if not got:
            return
        try:
            job.step(SLICE_S)
        except (ConfigError, DataError, ValueError, RuntimeError) as e:
            run.error = f"Training stopped: {e}"
            run.finish()
            return
    run.result = job.result()
    if job.done:
        run.finish()


def draw(run: KFoldRun) -> None:
    result, job = run.result, run.job
    st.markdown(
        i18n.t("**{k}-fold cross-validation of run #{id}'s config** ({n:,} examples)").format(
            k=result.k, id=run.source, n=result.pool
        )
    )
    if job is not None:
        fold = min(len(job.scores) + 1, job.k)
        st.progress(job.progress, text=i18n.t("Training fold {i} of {k}").format(i=fold, k=job.k))
        if run.queued:
            st.caption(i18n.t("Waiting for the server: other runs are training."))
    if run.error:
        st.error(plain(i18n.message(run.error)), icon=":material/error:")
    if not result.folds:
        return
    st.table(folds_table(result), hide_index=True)
    if not run.running:
        summary(result)


def folds_table(result: KFoldResult) -> pd.DataFrame:
    """One row per fold: its number (from 1), training and validation examples, status,
    validation accuracy and loss."""
    rows = [
        {
            "fold": f.fold + 1,
            "trained on": f"{f.n_train:,}",
            "scored on": f"{f.n_val:,}",
            "status": status_label(f.status),
            "validation accuracy": "–" if f.val_acc is None else f"{f.val_acc:.1%}",
            "validation loss": "–" if f.val_loss is None else f"{f.val_loss:.4f}",
        }
        for f in result.folds
    ]
    df = pd.DataFrame(rows)
    if all(f.val_acc is None for f in result.folds):  # regression, or every run diverged
        df = df.drop(columns="validation accuracy")
    return df.rename(columns={c: i18n.t(c) for c in df.columns})


def summary(result: KFoldResult) -> None:
    """Mean ± std of the scores and a sentence putting the spread in context."""
    acc_mean, acc_std = result.mean("val_acc"), result.std("val_acc")
    loss_mean, loss_std = result.mean("val_loss"), result.std("val_loss")
    cols = st.columns(2)
    if acc_mean is not None:
        shown = f"{acc_mean:.1%}" + ("" if acc_std is None else f" ± {acc_std * 100:.1f}")
        cols[0].metric(i18n.t("Validation accuracy (mean ± std)"), shown)
    if loss_mean is not None:
        shown = f"{loss_mean:.4f}" + ("" if loss_std is None else f" ± {loss_std:.4f}")
        cols[1].metric(i18n.t("Validation loss (mean ± std)"), shown)
    scores = result.scores("val_acc")
    n_val = min(f.n_val for f in result.folds)
    if acc_std is not None and len(scores) >= 2:
        st.caption(
            i18n.t(
                "The {k} validation accuracies range from {low} to {high}: the standard "
                "deviation is {std} percentage points. That spread is how noisy one validation "
                "score on about {n:,} examples is: two runs whose scores differ by less than "
                "about {two} points (twice the spread) may differ only by chance."
            ).format(
                k=len(scores),
                low=f"{min(scores):.1%}",
                high=f"{max(scores):.1%}",
                std=f"{acc_std * 100:.1f}",
                n=n_val,
                two=f"{2 * acc_std * 100:.1f}",
            )
        )
    diverged = sum(f.status == "diverged" for f in result.folds)
    if diverged:
        st.warning(
            i18n.t("{n} of the {k} runs diverged: they have no score and are left out.").format(
                n=diverged, k=result.k
            ),
            icon=":material/warning:",
        )
