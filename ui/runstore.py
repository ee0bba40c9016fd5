"""The run store as the pages use it: opening it, naming where a stored run came from, and
opening stored runs (or a config) back in a page: a run in its trainer page, runs in Compare.

A store that cannot be used (a corrupt file, say) never breaks a page: it says why and goes
on. Saving a live run as it ends is the live run's own business (`ui.live.save_run`).
"""

from __future__ import annotations

import streamlit as st

from engine.data import DATASETS
from engine.store import RunRecord, RunStore, StoreError
from engine.trainer import Trainer
from ui import i18n
from ui.controls import points_key, values_key
from ui.live import LiveRun, make_live, run_key
from ui.navigation import COMPARE, MNIST, PAGES, PLAYGROUND, TRAINERS, page
from ui.state import forget, skey

SWEEPS = "sweep"  # the `page` the Compare page's sweeps are stored under
# Where a stored run was trained, by the `page` it was saved under, for the Runs table: a
# page's key, the Compare page's sweeps, or the command line (engine.store's default).
ORIGINS = {
    **{p.key: p.origin for p in PAGES},
    SWEEPS: f"{COMPARE.title}: sweep",
    "cli": "command line",
}
COMPARED = skey(COMPARE.key, "runs")


def origin(key: str) -> str:
    """`ORIGINS[key]` in the session's language (the stored `page` itself if unknown)."""
    entry = next((p for p in PAGES if p.key == key), None)
    if entry is not None:
        title = i18n.page_title(entry.key, entry.title)
        return i18n.t("{title} lab").format(title=title) if entry.section == "Labs" else title
    if key == SWEEPS:
        return i18n.t("{page}: sweep").format(page=i18n.page_title(COMPARE.key, COMPARE.title))
    return i18n.t("command line") if key == "cli" else key


def status_label(status: str) -> str:
    """A run's or a search trial's status word (engine.trainer.STATUSES, the store's
    "stopped", a trial's "pruned" or "invalid") in the session's language."""
    words = {
        "ready": i18n.t("ready"),
        "running": i18n.t("running"),
        "finished": i18n.t("finished"),
        "early_stopped": i18n.t("early_stopped"),
        "stopped": i18n.t("stopped"),
        "diverged": i18n.t("diverged"),
        "pruned": i18n.t("pruned"),  # a search trial's (engine.search.trials)
        "invalid": i18n.t("invalid"),
    }
    return words.get(status, status)  # the stored runs the Compare page shows (their ids)


def open_store() -> RunStore | None:
    """The run store (default path, or $PLAYGROUND_RUNS_DB), or None after showing why not."""
    try:
        return RunStore()
    except StoreError as e:
        text = i18n.t("The run store cannot be used: {error}").format(error=i18n.message(str(e)))
        st.error(text, icon=":material/database:")
        return None


def trainer_page(dataset: str) -> str | None:
    """The trainer page that trains `dataset`: MNIST digits for images, the Playground for
    2-D points, None for the labs' own data (standard-normal inputs)."""
    if dataset not in DATASETS:
        return None
    extra = DATASETS.get(dataset).extra
    return MNIST.key if extra["images"] else PLAYGROUND.key if extra["points2d"] else None


def page_for(record: RunRecord) -> str | None:
    """The trainer page a stored run opens in: where it was trained, else by its data (None
    when no trainer page trains its data)."""
    if record.page in {p.key for p in TRAINERS}:
        return record.page
    return trainer_page(record.config.get("data", {}).get("dataset", "circle"))


def open_in_page(store: RunStore, run_id: int) -> None:
    """Load a stored run (weights, history) into its trainer page and go there."""
    record = store.get(run_id)
    key = page_for(record)
    if key is None:
        raise StoreError(f"no trainer page trains the {record.config['data']['dataset']} data")
    trainer: Trainer = make_live(store.load_trainer(run_id))
    st.session_state[values_key(key)] = trainer.cfg.to_flat()
    forget(key, "w.")  # the widgets show the stored values
    points = store.points(run_id)
    if points is not None:
        st.session_state[points_key(key)] = points
    st.session_state[run_key(key)] = LiveRun(
        [trainer],
        store_page=key,
        saved={0: run_id},
        saved_steps={0: trainer.step_count},
    )
    st.switch_page(page(key).path)


def open_config_in_page(cfg_page: str, flat: dict) -> None:
    """Put a config (imported, or the best of a search) into a trainer page, untrained."""
    st.session_state[values_key(cfg_page)] = flat
    forget(cfg_page, "w.")
    st.session_state.pop(run_key(cfg_page), None)
    st.switch_page(page(cfg_page).path)


def open_in_compare(run_ids: list[int]) -> None:
    """Show these stored runs side by side on the Compare page, and go there."""
    st.session_state[COMPARED] = run_ids
    st.switch_page(COMPARE.path)
