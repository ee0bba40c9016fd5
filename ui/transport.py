"""Play / Pause / Step / Reset for a trainer page, and the run's status line.

The buttons sit outside the live fragment: pressing one reruns the whole page, which is what
switches the fragment's timer on or off. Their callbacks run before the page script, so the
state they change is what the page then draws.
"""

from __future__ import annotations

import streamlit as st

from ui.controls import get_values, set_values
from ui.live import LiveRun, discard, reset_run, run_key, step_epoch
from ui.state import skey


def _toggle_play(key: str) -> None:
    run = st.session_state.get(key)
    if run is None or run.done:
        return
    run.playing = not run.playing
    run.notice = run.error = ""


def _step(key: str) -> None:
    run = st.session_state.get(key)
    if run is None or run.done:
        return
    run.playing = False
    step_epoch(run)


def _reset(key: str) -> None:
    discard(key)


def _new_data(page: str) -> None:
    values = get_values(page)
    set_values(page, {"seed": (values["seed"] + 1) % (2**31 - 1)})
    reset_run(page)


def transport(
    page: str,
    run: LiveRun | None,
    blocked: bool,
    new_data: bool = False,
    key: str | None = None,
    step_help: str = "Train exactly one epoch, then pause.",
) -> None:
    """The row of run buttons; `blocked` (an invalid config) disables Play and Step;
    `new_data` adds TF Playground's "regenerate" button (toy data). `key` is the session key
    of the run (default: the page's trainer run); a lab with several comparisons gives each
    its own."""
    key = key or run_key(page)
    playing = run is not None and run.playing
    done = run is not None and run.done
    cols = st.columns([1.1, 1.3, 1, 1.4, 2.6], vertical_alignment="center")
    with cols[0]:
        st.button(
            "Pause" if playing else "Play",
            key=f"{key}.btn.play",
            icon=":material/pause:" if playing else ":material/play_arrow:",
            type="primary",
            on_click=_toggle_play,
            args=(key,),
            disabled=blocked or done,
            help="Train live; the charts update as it learns.",
            width="stretch",
        )
    with cols[1]:
        st.button(
            "Step",
            key=f"{key}.btn.step",
            icon=":material/skip_next:",
            on_click=_step,
            args=(key,),
            disabled=blocked or done,
            help=step_help,
            width="stretch",
        )
    with cols[2]:
        st.button(
            "Reset",
            key=f"{key}.btn.reset",
            icon=":material/replay:",
            on_click=_reset,
            args=(key,),
            help="Start again from freshly initialized weights (same seed: same start).",
            width="stretch",
        )
    if new_data:
        with cols[3]:
            st.button(
                "New data",
                key=skey(page, "btn.newdata"),
                icon=":material/casino:",
                on_click=_new_data,
                args=(page,),
                help="Draw new random points (the seed goes up by one, which also gives a "
                "new random start) and reset.",
                width="stretch",
            )


def status_banner(run: LiveRun) -> None:
    """Why the run is not moving, if it is not: queued, finished, diverged, capped, failed.
    A side-by-side run (several trainers) says it in its table; here only what is shared."""
    t = run.trainer
    single = len(run.trainers) == 1
    if run.error:
        st.error(run.error + " Press Reset to start again.", icon=":material/error:")
    elif single and t.status == "diverged":
        st.error(t.message, icon=":material/warning:")
    elif single and t.status == "finished":
        st.info(
            f"Training finished: {t.epoch:,.0f} epochs ({t.step_count:,} steps). Raise the "
            "number of epochs in the sidebar (Run) to keep going, or press Reset.",
            icon=":material/flag:",
        )
    elif run.notice:
        st.info(run.notice, icon=":material/info:")
    elif run.queued:
        whose = "yours continues" if single else "these runs continue"
        st.warning(
            f"Queued: the server is busy with other trainings; {whose} as soon as a slot frees up.",
            icon=":material/hourglass_top:",
        )
    if run.store_error:
        st.warning(run.store_error, icon=":material/database:")
    elif run.store_page and run.saved:
        ids = ", ".join(f"#{i}" for i in run.saved.values())
        st.caption(f"Saved in the run store as run {ids}: rename, export or compare it on Runs.")
