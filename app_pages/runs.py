"""Runs: every stored run, to search, rename, delete, export, or open back in its page."""

import pandas as pd
import streamlit as st

from engine import export
from engine.registry import ConfigError
from engine.store import StoreError
from ui import i18n
from ui.navigation import LAB_INIT, RUNS, page
from ui.runstore import (
    open_config_in_page,
    open_in_page,
    open_store,
    origin,
    page_for,
    status_label,
    trainer_page,
)
from ui.state import skey
from ui.text import plain

PAGE = RUNS.key


def title_of(key: str) -> str:
    """A page's title in the session's language, for "Open in ..."."""
    entry = page(key)
    return i18n.page_title(entry.key, entry.title)


def error_text(e: Exception) -> str:
    """An engine's error message in the session's language, shown as text (it may quote a
    run name or a file name)."""
    return plain(i18n.message(str(e)))


st.title(i18n.page_title(PAGE, "Runs"))
st.caption(
    i18n.t(
        "The trainer pages, the labs, sweeps and searches keep every run that finishes, stops "
        "early or diverges, and every trained run you reset or replace. They stay here across "
        "restarts of the app."
    )
)
store = open_store()
if store is None:
    st.stop()
total = store.count()
st.caption(
    i18n.t("Stored in `{location}` ({total} runs).").format(location=store.location, total=total)
)

query = st.text_input(
    i18n.t("Search"),
    key=skey(PAGE, "q"),
    placeholder=i18n.t("name, dataset or optimizer, e.g. mnist adam"),
)
origins = store.pages()
picked: list[str] = []
if len(origins) > 1:
    picked = st.pills(
        i18n.t("From"),
        origins,
        selection_mode="multi",
        format_func={p: origin(p) for p in origins}.__getitem__,
        key=skey(PAGE, "from"),
        help=i18n.t("Show only the runs trained on these pages (none picked: all)."),
    )
records = store.list(search=query or None, pages=picked or None)
if not records:
    if total:
        st.info(
            i18n.t("No stored run matches. Clear the search or the filters above."),
            icon=":material/search_off:",
        )
    else:
        st.info(
            i18n.t(
                "No runs yet. Train something on the Playground, the MNIST page or a lab: a "
                "run is saved when it finishes."
            ),
            icon=":material/inbox:",
        )
else:
    table = pd.DataFrame(
        [
            {
                "#": r.id,
                "name": r.name,
                "from": origin(r.page),
                "created (UTC)": r.created[:19].replace("T", " "),
                "status": status_label(r.status),
                "steps": r.steps,
                "validation accuracy": "" if r.val_acc is None else f"{r.val_acc:.1%}",
                "test accuracy": "" if r.test_acc is None else f"{r.test_acc:.1%}",
            }
            for r in records
        ]
    )
    columns = {
        "name": i18n.t("name"),
        "from": i18n.t("from"),
        "created (UTC)": i18n.t("created (UTC)"),
        "status": i18n.t("status"),
        "steps": i18n.t("steps"),
        "validation accuracy": i18n.t("validation accuracy"),
        "test accuracy": i18n.t("test accuracy"),
    }
    st.dataframe(table.rename(columns=columns), hide_index=True, width="stretch")
    n = len(records)
    if n == 1:
        delete_label = i18n.t("Delete the run listed")
        question = i18n.t(
            "Delete the run listed and their weights for good? Narrow the list with the search "
            "and the filters first to keep the others."
        )
    else:
        delete_label = i18n.t("Delete the {n} runs listed").format(n=n)
        question = i18n.t(
            "Delete the {n} runs listed and their weights for good? Narrow the list with the "
            "search and the filters first to keep the others."
        ).format(n=n)
    with st.popover(delete_label, icon=":material/delete_sweep:"):
        st.write(question)
        if st.button(i18n.t("Delete them"), key=skey(PAGE, "delete_listed"), type="primary"):
            try:
                store.delete_many([r.id for r in records])
                st.rerun()
            except StoreError as e:
                st.error(error_text(e))
    by_id = {r.id: r for r in records}
    chosen = st.selectbox(
        i18n.t("Run"),
        list(by_id),
        format_func=lambda i: f"#{i} {by_id[i].name}",
        key=skey(PAGE, "run"),
    )
    record = store.get(chosen)
    cols = st.columns([1.4, 1, 1.2, 2])
    target = page_for(record)
    if target is None:
        cols[0].caption(
            i18n.t(
                "Trained on the labs' standard-normal inputs: no trainer page trains those. "
                "Compare it, or export it below."
            )
        )
    elif cols[0].button(
        i18n.t("Open in {page}").format(page=title_of(target)),
        key=skey(PAGE, "open"),
        type="primary",
    ):
        try:
            open_in_page(store, chosen)
        except (StoreError, ConfigError) as e:
            st.error(
                i18n.t("Could not open run #{id}: {error}").format(id=chosen, error=error_text(e))
            )
    with cols[1].popover(i18n.t("Rename")):
        new_name = st.text_input(i18n.t("New name"), record.name, key=skey(PAGE, f"name.{chosen}"))
        if st.button(i18n.t("Save the name"), key=skey(PAGE, "rename")):
            try:
                store.rename(chosen, new_name)
                st.rerun()
            except StoreError as e:
                st.error(error_text(e))
    with cols[2].popover(i18n.t("Delete")):
        st.write(i18n.t("Delete run #{id} and its weights for good?").format(id=chosen))
        if st.button(i18n.t("Delete"), key=skey(PAGE, "delete"), type="primary"):
            try:
                store.delete(chosen)
                st.rerun()
            except StoreError as e:
                st.error(error_text(e))

    st.subheader(i18n.t("Export"))
    slug = export.slug(record)
    dl = st.columns(5)
    dl[0].download_button(
        i18n.t("Config (JSON)"), export.config_json(record), f"{slug}.json", "application/json",
        key=skey(PAGE, "dl.config"),
    )  # fmt: skip
    dl[1].download_button(
        i18n.t("Metrics (CSV)"), export.metrics_csv(record), f"{slug}.csv", "text/csv",
        key=skey(PAGE, "dl.csv"),
    )  # fmt: skip
    if record.has_weights:
        try:
            weights = export.weights_bytes(store, chosen)
            script = export.pytorch_script(record, i18n.t)  # its prose in the reader's language
            bundle = export.bundle_zip(store, chosen, i18n.t)
        except (export.ExportError, ConfigError, StoreError) as e:
            st.warning(
                i18n.t("This run's weights cannot be exported: {error}").format(
                    error=error_text(e)
                ),
                icon=":material/warning:",
            )
            weights = script = bundle = None
    if record.has_weights and weights is not None:
        dl[2].download_button(
            i18n.t("Weights (state_dict)"), weights, f"{slug}.pt",
            "application/octet-stream", key=skey(PAGE, "dl.weights"),
        )  # fmt: skip
        dl[3].download_button(
            i18n.t("PyTorch script"), script, f"{slug}.py", "text/x-python",
            key=skey(PAGE, "dl.script"),
        )  # fmt: skip
        dl[4].download_button(
            i18n.t("All (zip)"), bundle, f"{slug}.zip", "application/zip",
            key=skey(PAGE, "dl.zip"),
        )  # fmt: skip
    st.caption(
        i18n.t(
            "The script rebuilds the network with plain PyTorch and loads the weights file: "
            "put both in one folder and run `python script.py`."
        )
    )

st.subheader(i18n.t("Import a config"))
file = st.file_uploader(
    i18n.t("A run config or preset (JSON), e.g. one exported above"),
    type=["json"],
    key=skey(PAGE, "import"),
)
if file is not None:
    try:
        cfg = export.import_config(file.getvalue())
    except ConfigError as e:
        st.error(
            i18n.t("{file} is not a usable config: {error}").format(
                file=plain(file.name), error=error_text(e)
            ),
            icon=":material/error:",
        )
    else:
        target = trainer_page(cfg.data.dataset)
        # the engine's names in English (as they were), their labels in Chinese
        arch = i18n.choice_label("model.arch", cfg.model.arch, cfg.model.arch)
        dataset = i18n.entry_label("data.dataset", cfg.data.dataset, cfg.data.dataset)
        st.success(
            i18n.t("{file}: a valid config ({arch} on {dataset}).").format(
                file=plain(file.name), arch=arch, dataset=dataset
            ),
            icon=":material/check:",
        )
        if target is None:
            st.info(
                i18n.t(
                    "No trainer page trains the {dataset} data: it is one of the labs' own "
                    "datasets. Open the {lab} to use standard-normal inputs."
                ).format(dataset=dataset, lab=origin(LAB_INIT.key)),
                icon=":material/info:",
            )
        elif st.button(
            i18n.t("Open in {page}").format(page=title_of(target)),
            key=skey(PAGE, "import.open"),
            type="primary",
        ):
            open_config_in_page(target, cfg.to_flat())
