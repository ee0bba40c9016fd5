"""The live training loop: a fragment that reruns itself while playing (DESIGN section 5).

Each tick trains for a short time budget, then redraws from the trainer's history; the
browser's timer asks for the next tick every TICK_S seconds. A tick that overruns simply
starts the next one at once (Streamlit queues fragment reruns), so the budget is what is left
of TICK_S after the last redraw. One process-wide semaphore caps how many sessions train at
the same moment; a session that cannot get a slot shows "queued" and tries again next tick.
Each run has a step cap and a training-time cap so one tab cannot hold a shared server.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import torch

from engine.config import Config
from engine.data import Dataset, build_dataset
from engine.trainer import Trainer, can_apply_live
from ui.state import skey

TICK_S = 0.3  # seconds between redraws while playing (>= 3 redraws a second)
MIN_BUDGET_S = 0.08  # always train at least this long per tick
# How long a tick waits for a training slot before showing "queued". Slots free up every
# tick (about TICK_S), and waiting is cheap, while giving up means a full redraw with nothing
# new to show, which on a busy server takes CPU from the sessions that are training.
QUEUE_WAIT_S = 3.0
MAX_PROBES = 400  # probe frames kept per live run (older ones are thinned out)


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# Caps, overridable per server: PLAYGROUND_MAX_TRAININGS sessions ticking at once (default 1:
# all sessions share one Python process and its GIL, so taking turns is fastest; see
# `live_area`), PLAYGROUND_MAX_STEPS steps and PLAYGROUND_MAX_TRAIN_SECONDS seconds of
# training per run.
MAX_TRAININGS = int(_env_number("PLAYGROUND_MAX_TRAININGS", 1))
MAX_STEPS = int(_env_number("PLAYGROUND_MAX_STEPS", 2_000_000))
MAX_TRAIN_SECONDS = _env_number("PLAYGROUND_MAX_TRAIN_SECONDS", 1800)


class Slots:
    """A fair counting semaphore shared by every session: slots are handed over in the
    order they were asked for. (threading.Semaphore lets the thread that just released
    take the slot straight back, and a playing session asks again at once, so one session
    could keep the slot for many ticks in a row.)"""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._lock:
            if self.active < self.limit and not self._waiting:
                self.active += 1
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True  # the releasing thread counted us in
        with self._lock:
            if turn.is_set():  # handed over just as we timed out
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # hand the slot over; `active` is unchanged
            else:
                self.active -= 1


@st.cache_resource
def training_slots() -> Slots:
    """The one semaphore of this server process (cache_resource: shared by all sessions)."""
    return Slots(max(1, MAX_TRAININGS))


@dataclass
class LiveRun:
    """One page's run in one session: its trainer(s) plus what the live loop needs.

    A trainer page has one trainer; a lab compares several side by side (`labels` name
    them), trained in turn within each tick so that they advance together.
    """

    trainers: list[Trainer]
    labels: list[str] = field(default_factory=list)
    store_page: str | None = None  # pages that save their runs: the store's `page`
    saved: dict[int, int] = field(default_factory=dict)  # trainer index -> stored run id
    saved_steps: dict[int, int] = field(default_factory=dict)  # ... and its steps when saved
    store_error: str = ""  # why saving failed (shown; training is never affected)
    playing: bool = False
    queued: bool = False
    ticks: int = 0
    draw_s: float = 0.1  # how long the last redraw took
    notice: str = ""  # why the run stopped by itself (cap, divergence, end), for the page
    error: str = ""  # an unexpected failure during training, shown instead of a traceback
    cache: dict[str, Any] = field(default_factory=dict)  # page results tied to this run

    @property
    def trainer(self) -> Trainer:
        """The (first) trainer: the only one on a trainer page."""
        return self.trainers[0]

    @property
    def cfg(self) -> Config:
        return self.trainer.cfg

    @property
    def done(self) -> bool:
        return all(t.done for t in self.trainers)

    @property
    def steps(self) -> int:
        return sum(t.step_count for t in self.trainers)

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.trainers)


def run_key(page: str) -> str:
    return skey(page, "run")


def get_run(page: str) -> LiveRun | None:
    return st.session_state.get(run_key(page))


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
            run.trainer.apply_live(cfg)
            return run, False
        _save(run)  # the old network trained: keep it in the store before replacing it
    dataset = make_dataset(cfg) if make_dataset else None
    run = LiveRun([_live_trainer(cfg, dataset)], store_page=page)
    st.session_state[run_key(page)] = run
    return run, True


def _live_trainer(cfg: Config, dataset: Dataset | None) -> Trainer:
    return make_live(Trainer(cfg, dataset=dataset, max_probes=MAX_PROBES))


def make_live(trainer: Trainer) -> Trainer:
    """Give a trainer the live loop's settings: probes (cadence set per tick in `advance`)
    and a bounded probe history."""
    trainer.max_probes = MAX_PROBES
    trainer.enable_probes(1)
    return trainer


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
        _save(run)  # a trained sweep being replaced goes to the store first
    run = LiveRun(trainers, wanted[0], store_page=store_page)
    st.session_state[key] = run
    return run, True


def reset_run(page: str) -> None:
    discard(run_key(page))


def discard(key: str) -> None:
    """Drop the run under `key`, saving it first if it trained and its page saves runs."""
    run = st.session_state.pop(key, None)
    if run is not None:
        _save(run)


def _save(run: LiveRun) -> None:
    """Store a run that is being discarded, and say so in a toast: its page is about to show
    a fresh run, so the "saved as" caption would never be seen."""
    from ui.runstore import save_run  # ui.runstore imports this module

    before = dict(run.saved)
    save_run(run)
    new = [i for k, i in run.saved.items() if before.get(k) != i]
    if new:
        ids = ", ".join(f"#{i}" for i in new)
        st.toast(f"Saved in the run store as run {ids} (see Runs).", icon=":material/database:")
    elif run.store_error:
        st.toast(run.store_error, icon=":material/warning:")


@contextmanager
def training_slot(run: LiveRun) -> Iterator[bool]:
    """Hold one of the server's training slots for a tick (yields False, and marks the run
    queued, if none frees up within QUEUE_WAIT_S)."""
    slots = training_slots()
    got = slots.acquire(QUEUE_WAIT_S)
    run.queued = not got
    try:
        yield got
    finally:
        if got:
            slots.release()


def advance(run: LiveRun, budget_s: float) -> None:
    """Train for up to `budget_s` (the caller holds a training slot), shared equally by the
    run's unfinished trainers; stop playing at the end or at a cap, and turn an unexpected
    failure into a message."""
    # torch's intra-op thread count is per OS thread (OpenMP), and a fragment rerun may run in
    # a fresh thread that app.py's set_num_threads(1) never reached: set it where we train.
    torch.set_num_threads(1)
    active = [t for t in run.trainers if not t.done]
    share = budget_s / max(1, len(active))
    try:
        for trainer in active:
            # About two probe frames per tick whatever the speed: histograms stay fresh and
            # the probe cost stays a small, constant share of the tick.
            rate = trainer.step_count / trainer.seconds if trainer.seconds > 0.05 else 100.0
            trainer.probe_every = max(1, int(rate * share / 2))
            trainer.run_for(share)
    except Exception as e:  # a bug or a device failure: stop and say so, keep the charts
        run.playing = False
        run.error = f"Training stopped: {type(e).__name__}: {e}"
        return
    run.ticks += 1
    check_stop(run)


def check_stop(run: LiveRun) -> None:
    """Pause at the end of the run(s), on divergence, or at a session cap, saying why."""
    if run.done:
        run.playing = False
        run.notice = run.trainer.message if len(run.trainers) == 1 else "All runs finished."
        _save(run)
    elif run.steps >= MAX_STEPS:
        run.playing = False
        run.notice = (
            f"Paused: this run reached the server's cap of {MAX_STEPS:,} steps. "
            "Reset to start a new run."
        )
    elif run.seconds >= MAX_TRAIN_SECONDS:
        run.playing = False
        run.notice = (
            f"Paused: this run reached the server's cap of {MAX_TRAIN_SECONDS / 60:.0f} minutes "
            "of training. Reset to start a new run."
        )


def live_area(page: str, draw: Callable[[LiveRun], None], key: str | None = None) -> None:
    """The self-rerunning fragment: one tick of training (while playing), then `draw`.

    `key` is the session key of the run (default: the page's trainer run)."""
    key = key or run_key(page)
    run = st.session_state.get(key)
    if run is None:
        return
    every = TICK_S if run.playing else None

    @st.fragment(run_every=every)
    def tick() -> None:
        run = st.session_state.get(key)
        if run is None:
            return
        if run.playing:
            # The slot covers the redraw too: Python's GIL lets one thread run Python at a
            # time, and a training step hands the GIL back at every torch op, so a session
            # drawing beside one that trains made the trainer wait up to 5 ms per op (a
            # "convoy"): four sessions trained at 5-30 steps/s each. Taking turns, each tick
            # runs at full speed.
            with training_slot(run) as got:
                if got:
                    advance(run, max(MIN_BUDGET_S, TICK_S - run.draw_s))
                _timed_draw(run, draw)
        else:
            _timed_draw(run, draw)
        if every is not None and not run.playing:
            st.rerun()  # a full rerun, so the fragment is redefined without its timer
        if run.playing and _in_fragment_rerun() and not st.get_option("global.appTest"):
            # Start the next tick now rather than at the browser's next timer event: the timer
            # fires every TICK_S whether or not a tick is running, and one that fires during a
            # tick is dropped, so ticks as long as TICK_S would run only every 2 * TICK_S.
            # A click (Pause, a control) still gets in: a full rerun request preempts this.
            # Under AppTest one .run() stays one tick.
            st.rerun(scope="fragment")

    tick()


def _timed_draw(run: LiveRun, draw: Callable[[LiveRun], None]) -> None:
    start = time.perf_counter()
    draw(run)
    run.draw_s = time.perf_counter() - start


def _in_fragment_rerun() -> bool:
    """Whether this run is a fragment-only rerun (Streamlit refuses a fragment-scoped rerun
    from a fragment drawn during a full-page run; the browser's timer covers that tick)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def step_epoch(run: LiveRun) -> None:
    """Train exactly one epoch of every trainer now (the Step button), under the same slot
    and caps."""
    with training_slot(run) as got:
        if not got:
            return
        torch.set_num_threads(1)  # see `advance`
        for trainer in run.trainers:
            trainer.step(trainer.steps_per_epoch)
    check_stop(run)
