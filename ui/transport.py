"""Play / Pause / Step / Reset, the speed control and "copy link" for a page's run, and the
run's status line.

The buttons sit outside the live fragment: pressing one reruns the whole page, which is what
switches the fragment's timer on or off. Their callbacks run before the page script, each
holding the run's lock (ui/live.py), so a press applies between two ticks, never inside one.
Play and Pause each say what they want (play, or pause) rather than toggling: a press made
on a label that was already out of date (the run had just finished, say) cannot flip the run
the wrong way.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui import i18n, liveview
from ui.controls import get_values, set_values
from ui.lifecycle import discard, reset_run
from ui.live import LiveRun, run_key, step_epoch
from ui.state import skey
from ui.urlstate import view_values

# Speed choices in epochs per second ("max": as fast as the server allows). A toy epoch is a
# few dozen small steps; an MNIST epoch takes a second or more, so its slow settings are lower.
TOY_SPEEDS = ("max", "20", "5", "1")
IMAGE_SPEEDS = ("max", "1", "0.3", "0.1")


def _set_playing(key: str, playing: bool) -> None:
    run = st.session_state.get(key)
    if run is None:
        return
    with run.lock:
        run.set_playing(playing)


def _step(key: str) -> None:
    run = st.session_state.get(key)
    if run is None or run.done:
        return
    with run.lock:
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
    speeds: tuple[str, ...] | None = None,
    more: Callable[[], None] | None = None,
) -> None:
    """The row of run buttons, the speed control and "copy link"; `blocked` (an invalid
    config) disables Play and Step; `new_data` adds TF Playground's "regenerate" button (toy
    data). `key` is the session key of the run (default: the page's trainer run); a lab with
    several comparisons gives each its own. `speeds` default to the toy or image choices by
    the run's data; `more` draws a page's own controls at the end of the row (its presets).
    The row wraps on a narrow screen rather than squeezing the labels."""
    key = key or run_key(page)
    playing = run is not None and run.playing
    done = run is not None and run.done
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(
            i18n.t("Pause") if playing else i18n.t("Play"),
            key=f"{key}.btn.play",
            icon=":material/pause:" if playing else ":material/play_arrow:",
            type="primary",
            on_click=_set_playing,
            args=(key, not playing),
            disabled=blocked or done,
            help=i18n.t("Train live; the pictures and charts update as it learns."),
        )
        st.button(
            i18n.t("Step"),
            key=f"{key}.btn.step",
            icon=":material/skip_next:",
            on_click=_step,
            args=(key,),
            disabled=blocked or done,
            help=i18n.t(step_help),
        )
        st.button(
            i18n.t("Reset"),
            key=f"{key}.btn.reset",
            icon=":material/replay:",
            on_click=_reset,
            args=(key,),
            help=i18n.t("Start again from freshly initialized weights (same seed: same start)."),
        )
        if new_data:
            st.button(
                i18n.t("New data"),
                key=skey(page, "btn.newdata"),
                icon=":material/casino:",
                on_click=_new_data,
                args=(page,),
                help=i18n.t(
                    "Draw new random points (the seed goes up by one, which also gives a "
                    "new random start) and reset."
                ),
            )
        speed = speed_control(page, speeds or speeds_for(run))
        if more is not None:
            more()
        liveview.copy_link(key=f"{key}.copylink", tr=i18n.t)
    if run is not None:
        with run.lock:
            run.speed = None if speed == "max" else float(speed)


def speeds_for(run: LiveRun | None) -> tuple[str, ...]:
    """Speed choices for a run: toy ones for 2-D points, image ones otherwise."""
    toy = run is None or run.trainer.data.train_xy is not None
    return TOY_SPEEDS if toy else IMAGE_SPEEDS


def speed_control(page: str, speeds: tuple[str, ...]) -> str:
    """Epochs per second the page's runs train at ("max", or one of `speeds`), kept in the
    view settings and so in the link (`view.speed=5`)."""
    views = view_values(page)
    if views.get("speed") not in speeds:
        views["speed"] = speeds[0]
    widget = skey(page, "wview.speed")
    if st.session_state.get(widget) not in speeds:
        st.session_state[widget] = views["speed"]
    views["speed"] = st.segmented_control(
        i18n.t("Speed (epochs per second)"),
        speeds,
        format_func={s: i18n.t("Max") if s == "max" else f"{s}/s" for s in speeds}.__getitem__,
        key=widget,
        required=True,
        label_visibility="collapsed",
        help=i18n.t(
            "Slow training down to talk a class through it: epochs per second of each run. "
            "Max trains as fast as the server allows."
        ),
    )
    return views["speed"]


def status_banner(run: LiveRun) -> None:
    """Why the run is not moving, if it is not: queued, finished, diverged, capped, failed.
    A side-by-side run (several trainers) says it in its table; here only what is shared."""
    t = run.trainer
    single = len(run.trainers) == 1
    if run.error:
        error = i18n.message(run.error)
        st.error(f"{error} {i18n.t('Press Reset to start again.')}", icon=":material/error:")
    elif single and t.status == "diverged":
        st.error(i18n.message(t.message), icon=":material/warning:")
    elif single and t.status == "finished":
        st.info(
            i18n.t(
                "Training finished: {epochs:,.0f} epochs ({steps:,} steps). Raise the number "
                "of epochs in the sidebar (Run) to keep going, or press Reset."
            ).format(epochs=t.epoch, steps=t.step_count),
            icon=":material/flag:",
        )
    elif run.notice:
        st.info(i18n.message(run.notice), icon=":material/info:")
    elif run.queued:
        text = (
            i18n.t(
                "Queued: the server is busy with other trainings; yours continues as soon as "
                "a slot frees up."
            )
            if single
            else i18n.t(
                "Queued: the server is busy with other trainings; these runs continue as soon "
                "as a slot frees up."
            )
        )
        st.warning(text, icon=":material/hourglass_top:")
    if run.store_error:
        st.warning(i18n.message(run.store_error), icon=":material/database:")
    elif run.store_page and run.saved:
        ids = ", ".join(f"#{i}" for i in run.saved.values())
        st.caption(
            i18n.t(
                "Saved in the run store as run {ids}: rename, export or compare it on Runs."
            ).format(ids=ids)
        )
