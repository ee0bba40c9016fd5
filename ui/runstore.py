"""The run store as the pages use it: opening it, naming where a stored run came from, and
opening a stored run (or a config) back into its trainer page.

A store that cannot be used (a corrupt file, say) never breaks a page: it says why and goes
on. Saving a live run as it ends is the live run's own business (`ui.live.save_run`).
"""

from __future__ import annotations

import streamlit as st

from engine.data import DATASETS
from engine.store import RunRecord, RunStore, StoreError
from engine.trainer import Trainer
from ui.controls import points_key, values_key
from ui.live import LiveRun, make_live, run_key
from ui.state import forget

PAGE_PATHS = {"pg": "app_pages/playground.py", "mnist": "app_pages/mnist.py"}
# Where a stored run was trained, by the `page` it was saved under, for the Runs table.
ORIGINS = {
    "pg": "Playground",
    "mnist": "MNIST digits",
    "lab_init": "Initialization lab",
    "lab_opt": "Optimizers lab",
    "lab_norm": "Normalization lab",
    "lab_reg": "Regularization lab",
    "sweep": "Compare: sweep",
    "search": "Search",
    "cli": "command line",
}


def open_store() -> RunStore | None:
    """The run store (default path, or $PLAYGROUND_RUNS_DB), or None after showing why not."""
    try:
        return RunStore()
    except StoreError as e:
        st.error(f"The run store cannot be used: {e}", icon=":material/database:")
        return None


PAGE_TITLES = {page: ORIGINS[page] for page in PAGE_PATHS}  # the trainer pages' titles


def trainer_page(dataset: str) -> str | None:
    """The trainer page that trains `dataset`: MNIST digits for images, the Playground for
    2-D points, None for the labs' own data (standard-normal inputs)."""
    if dataset not in DATASETS:
        return None
    extra = DATASETS.get(dataset).extra
    return "mnist" if extra["images"] else "pg" if extra["points2d"] else None


def page_for(record: RunRecord) -> str | None:
    """The trainer page a stored run opens in: where it was trained, else by its data (None
    when no trainer page trains its data)."""
    if record.page in PAGE_PATHS:
        return record.page
    return trainer_page(record.config.get("data", {}).get("dataset", "circle"))


def open_in_page(store: RunStore, run_id: int) -> None:
    """Load a stored run (weights, history) into its trainer page and go there."""
    record = store.get(run_id)
    page = page_for(record)
    if page is None:
        raise StoreError(f"no trainer page trains the {record.config['data']['dataset']} data")
    trainer: Trainer = make_live(store.load_trainer(run_id))
    st.session_state[values_key(page)] = trainer.cfg.to_flat()
    forget(page, "w.")  # the widgets show the stored values
    points = store.points(run_id)
    if points is not None:
        st.session_state[points_key(page)] = points
    st.session_state[run_key(page)] = LiveRun(
        [trainer],
        store_page=page,
        saved={0: run_id},
        saved_steps={0: trainer.step_count},
    )
    st.switch_page(PAGE_PATHS[page])


def open_config_in_page(cfg_page: str, flat: dict) -> None:
    """Put a config (imported, or the best of a search) into a trainer page, untrained."""
    st.session_state[values_key(cfg_page)] = flat
    forget(cfg_page, "w.")
    st.session_state.pop(run_key(cfg_page), None)
    st.switch_page(PAGE_PATHS[cfg_page])
