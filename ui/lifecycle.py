"""A page's runs in the session, from start to replacement: the run for a config (kept while
only live-changeable knobs change), a side-by-side comparison, and discarding a run, which
stores it first if it trained and stops its frames.

This sits above both the live runs (ui/live.py) and the training service (ui/service.py),
which trains them and streams their frames: a run being replaced must be closed in the
service, and the service itself only needs what ui/live.py has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from engine.config import Config
from engine.data import Dataset, build_dataset
from engine.trainer import Trainer, can_apply_live
from ui import i18n
from ui.live import MAX_PROBES, LiveRun, get_run, make_live, run_key, save_run
from ui.service import service


def ensure_run(
    page: str, cfg: Config, make_dataset: Callable[[Config], Dataset] | None = None
) -> tuple[LiveRun, bool]:
    """The page's run for `cfg`: kept if only live-changeable knobs changed (learning rate,
    regularization, ...), rebuilt otherwise. Returns (run, was_reset)."""
    run = get_run(page)
    if run is not None:
        if run.cfg == cfg:
            return run, False
        if can_apply_live(run.cfg, cfg):
            with run.lock:  # never halfway through a training slice
                run.trainer.apply_live(cfg)
            return run, False
        _retire(run)  # the old network trained: keep it in the store before replacing it
    dataset = make_dataset(cfg) if make_dataset else None
    run = LiveRun([_live_trainer(cfg, dataset)], store_page=page)
    st.session_state[run_key(page)] = run
    return run, True


def _live_trainer(cfg: Config, dataset: Dataset | None) -> Trainer:
    return make_live(Trainer(cfg, dataset=dataset, max_probes=MAX_PROBES))


def ensure_comparison(
    key: str, runs: list[tuple[str, Config]], store_page: str | None = None
) -> tuple[LiveRun, bool]:
    """A side-by-side run of labelled configs under session key `key`, rebuilt whenever the
    list changes. Configs with the same data and seed share one Dataset object: identical
    data by construction, built once. Returns (run, was_reset)."""
    run: LiveRun | None = st.session_state.get(key)
    wanted = ([label for label, _ in runs], [cfg for _, cfg in runs])
    if run is not None and (run.labels, [t.cfg for t in run.trainers]) == wanted:
        return run, False
    shared: dict[tuple[Any, int], Dataset] = {}
    trainers = []
    for _, cfg in runs:
        data_key = (cfg.data, cfg.seed)
        if data_key not in shared:
            shared[data_key] = build_dataset(cfg.data, cfg.seed)
        trainers.append(_live_trainer(cfg, shared[data_key]))
    if run is not None:
        _retire(run)  # a trained sweep being replaced goes to the store first
    run = LiveRun(trainers, wanted[0], store_page=store_page)
    st.session_state[key] = run
    return run, True


def reset_run(page: str) -> None:
    discard(run_key(page))


def discard(key: str) -> None:
    """Drop the run under `key`, saving it first if it trained and its page saves runs."""
    run = st.session_state.pop(key, None)
    if run is not None:
        _retire(run)


def _retire(run: LiveRun) -> None:
    """A run being replaced: stop it, stop its frames, store it if it trained, and say so
    in a toast (its page is about to show a fresh run, so "saved as" would never be seen)."""
    with run.lock:
        run.playing = False
        before = dict(run.saved)
        save_run(run)
    service().close(run)
    new = [i for k, i in run.saved.items() if before.get(k) != i]
    if new:
        ids = ", ".join(f"#{i}" for i in new)
        text = i18n.t("Saved in the run store as run {ids} (see Runs).").format(ids=ids)
        st.toast(text, icon=":material/database:")
    elif run.store_error:
        st.toast(i18n.message(run.store_error), icon=":material/warning:")
