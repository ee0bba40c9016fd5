"""Runs: every stored run, to search, rename, delete, export, or open back in its page."""

import pandas as pd
import streamlit as st

from engine import export
from engine.registry import ConfigError
from engine.store import StoreError
from ui.navigation import LAB_INIT, RUNS, page
from ui.runstore import (
    ORIGINS,
    open_config_in_page,
    open_in_page,
    open_store,
    page_for,
    trainer_page,
)
from ui.state import skey
from ui.text import plain

PAGE = RUNS.key

st.title("Runs")
st.caption(
    "The trainer pages, the labs, sweeps and searches keep every run that finishes, stops "
    "early or diverges, and every trained run you reset or replace. They stay here across "
    "restarts of the app."
)
store = open_store()
if store is None:
    st.stop()
total = store.count()
st.caption(f"Stored in `{store.location}` ({total} runs).")

query = st.text_input(
    "Search", key=skey(PAGE, "q"), placeholder="name, dataset or optimizer, e.g. mnist adam"
)
origins = store.pages()
picked: list[str] = []
if len(origins) > 1:
    picked = st.pills(
        "From",
        origins,
        selection_mode="multi",
        format_func=lambda p: ORIGINS.get(p, p),
        key=skey(PAGE, "from"),
        help="Show only the runs trained on these pages (none picked: all).",
    )
records = store.list(search=query or None, pages=picked or None)
if not records:
    if total:
        st.info(
            "No stored run matches. Clear the search or the filters above.",
            icon=":material/search_off:",
        )
    else:
        st.info(
            "No runs yet. Train something on the Playground, the MNIST page or a lab: a run is "
            "saved when it finishes.",
            icon=":material/inbox:",
        )
else:
    table = pd.DataFrame(
        [
            {
                "#": r.id,
                "name": r.name,
                "from": ORIGINS.get(r.page, r.page),
                "created (UTC)": r.created[:19].replace("T", " "),
                "status": r.status,
                "steps": r.steps,
                "validation accuracy": "" if r.val_acc is None else f"{r.val_acc:.1%}",
                "test accuracy": "" if r.test_acc is None else f"{r.test_acc:.1%}",
            }
            for r in records
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    listed = "the run listed" if len(records) == 1 else f"the {len(records)} runs listed"
    with st.popover(f"Delete {listed}", icon=":material/delete_sweep:"):
        st.write(
            f"Delete {listed} and their weights for good? Narrow the list with the search and "
            "the filters first to keep the others."
        )
        if st.button("Delete them", key=skey(PAGE, "delete_listed"), type="primary"):
            try:
                store.delete_many([r.id for r in records])
                st.rerun()
            except StoreError as e:
                st.error(str(e))
    by_id = {r.id: r for r in records}
    chosen = st.selectbox(
        "Run", list(by_id), format_func=lambda i: f"#{i} {by_id[i].name}", key=skey(PAGE, "run")
    )
    record = store.get(chosen)
    cols = st.columns([1.4, 1, 1.2, 2])
    target = page_for(record)
    if target is None:
        cols[0].caption(
            "Trained on the labs' standard-normal inputs: no trainer page trains those. "
            "Compare it, or export it below."
        )
    elif cols[0].button(f"Open in {page(target).title}", key=skey(PAGE, "open"), type="primary"):
        try:
            open_in_page(store, chosen)
        except (StoreError, ConfigError) as e:
            st.error(f"Could not open run #{chosen}: {e}")
    with cols[1].popover("Rename"):
        new_name = st.text_input("New name", record.name, key=skey(PAGE, f"name.{chosen}"))
        if st.button("Save the name", key=skey(PAGE, "rename")):
            try:
                store.rename(chosen, new_name)
                st.rerun()
            except StoreError as e:
                st.error(str(e))
    with cols[2].popover("Delete"):
        st.write(f"Delete run #{chosen} and its weights for good?")
        if st.button("Delete", key=skey(PAGE, "delete"), type="primary"):
            try:
                store.delete(chosen)
                st.rerun()
            except StoreError as e:
                st.error(str(e))

    st.subheader("Export")
    slug = export.slug(record)
    dl = st.columns(5)
    dl[0].download_button(
        "Config (JSON)", export.config_json(record), f"{slug}.json", "application/json",
        key=skey(PAGE, "dl.config"),
    )  # fmt: skip
    dl[1].download_button(
        "Metrics (CSV)", export.metrics_csv(record), f"{slug}.csv", "text/csv",
        key=skey(PAGE, "dl.csv"),
    )  # fmt: skip
    if record.has_weights:
        try:
            weights = export.weights_bytes(store, chosen)
            script = export.pytorch_script(record)
            bundle = export.bundle_zip(store, chosen)
        except (export.ExportError, ConfigError, StoreError) as e:
            st.warning(f"This run's weights cannot be exported: {e}", icon=":material/warning:")
            weights = script = bundle = None
    if record.has_weights and weights is not None:
        dl[2].download_button(
            "Weights (state_dict)", weights, f"{slug}.pt",
            "application/octet-stream", key=skey(PAGE, "dl.weights"),
        )  # fmt: skip
        dl[3].download_button(
            "PyTorch script", script, f"{slug}.py", "text/x-python",
            key=skey(PAGE, "dl.script"),
        )  # fmt: skip
        dl[4].download_button(
            "All (zip)", bundle, f"{slug}.zip", "application/zip",
            key=skey(PAGE, "dl.zip"),
        )  # fmt: skip
    st.caption(
        "The script rebuilds the network with plain PyTorch and loads the weights file: put "
        "both in one folder and run `python script.py`."
    )

st.subheader("Import a config")
file = st.file_uploader(
    "A run config or preset (JSON), e.g. one exported above",
    type=["json"],
    key=skey(PAGE, "import"),
)
if file is not None:
    try:
        cfg = export.import_config(file.getvalue())
    except ConfigError as e:
        st.error(f"{plain(file.name)} is not a usable config: {plain(e)}", icon=":material/error:")
    else:
        target = trainer_page(cfg.data.dataset)
        st.success(
            f"{file.name}: a valid config ({cfg.model.arch} on {cfg.data.dataset}).",
            icon=":material/check:",
        )
        if target is None:
            st.info(
                f"No trainer page trains the {cfg.data.dataset} data: it is one of the labs' "
                f"own datasets. Open the {LAB_INIT.origin} to use standard-normal inputs.",
                icon=":material/info:",
            )
        elif st.button(
            f"Open in {page(target).title}", key=skey(PAGE, "import.open"), type="primary"
        ):
            open_config_in_page(target, cfg.to_flat())
