"""The run store as the pages use it: saving runs as they end, and opening a stored run back
into its trainer page.

Trainer pages, labs and sweeps save a run when it finishes, stops early or diverges, and when
the student discards a run that trained (Reset, or a change that starts a new network). A store that
cannot be used (a corrupt file, say) never breaks training: the page says why and goes on.
"""

from __future__ import annotations

import streamlit as st

from engine.data import DATASETS
from engine.store import RunRecord, RunStore, StoreError
from engine.trainer import Trainer
from ui.controls import points_key, values_key
from ui.live import LiveRun, make_live, run_key
from ui.state import skey

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


def save_run(run: LiveRun) -> None:
    """Store every trainer of `run` that trained and is not stored yet (pages that save)."""
    if not run.store_page:
        return
    for i, t in enumerate(run.trainers):
        if t.step_count == 0 or run.saved_steps.get(i) == t.step_count:
            continue  # untrained, or stored as it is (a reopened run that trained on is new)
        try:
            label = run.labels[i] if i < len(run.labels) else None
            run.saved[i] = RunStore().save(t, page=run.store_page, label=label)
            run.saved_steps[i] = t.step_count
        except StoreError as e:
            run.store_error = f"This run could not be saved: {e}"
            return
        except Exception as e:  # never lose the training because saving failed
            run.store_error = f"This run could not be saved ({type(e).__name__}: {e})."
            return


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
    for key in [k for k in st.session_state if str(k).startswith(skey(page, "w."))]:
        del st.session_state[key]  # the widgets show the stored values
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
    for key in [k for k in st.session_state if str(k).startswith(skey(cfg_page, "w."))]:
        del st.session_state[key]
    st.session_state.pop(run_key(cfg_page), None)
    st.switch_page(PAGE_PATHS[cfg_page])
