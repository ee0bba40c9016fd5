"""Live runs: what a page trains while the student watches, and how one slice is trained.

A `LiveRun` holds a page's trainer(s) and its play state. The training itself happens in the
training service (ui/service.py: one thread per server process, fair turns, frames pulled by
the browser); this module has what the service, the buttons and the pages share: a trainer
made live, storing a run as it ends, one training slice under the server's training slots, the
speed limit, the caps, and the charts fragment under a live view. Building and replacing a
page's runs is ui/lifecycle.py's, above the service (a replaced run's frames must stop).

One owner per session: a session's runs share one lock (`session_lock`), held by every script
run of the session (shell.py), by button callbacks and by the charts fragment, and by the
service while it trains a slice. So a press or a knob change applies between two slices, and
nothing that reads a model (a histogram, the test score, a landscape) ever sees it halfway
through a step. (The server also runs with `runner.fastReruns = false`, so a press does not
start a second script thread beside one still running; see .streamlit/config.toml.)
"""

from __future__ import annotations

import math
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
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engine.config import Config
from engine.store import RunStore, StoreError
from engine.trainer import Trainer
from ui.state import skey

KICK_S = 0.2  # a background job's fragment interval while it works (a trial, a slice a tick)
# How long a training (a service turn, a Step, a search trial) waits for a training slot
# before giving up and saying "queued". Slots free up every slice.
QUEUE_WAIT_S = 3.0
MAX_PROBES = 400  # probe frames kept per live run (older ones are thinned out)
# A probe (histograms, gradient norms) every PROBE_S of a run's training, at most one a slice:
# a probe of a toy network costs about five steps' time (~1.5 ms), and the charts that show
# them redraw once a second at most.
PROBE_S = 0.1
LOCK_KEY = "live.lock"


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# Caps, overridable per server: PLAYGROUND_MAX_TRAININGS trainings at once (default 1: all
# sessions share one Python process and its GIL, so taking turns is fastest; a second one only
# makes each wait for the GIL at every torch op), PLAYGROUND_MAX_STEPS steps and
# PLAYGROUND_MAX_TRAIN_SECONDS seconds of training per run.
MAX_TRAININGS = int(_env_number("PLAYGROUND_MAX_TRAININGS", 1))
MAX_STEPS = int(_env_number("PLAYGROUND_MAX_STEPS", 2_000_000))
MAX_TRAIN_SECONDS = _env_number("PLAYGROUND_MAX_TRAIN_SECONDS", 1800)


class Slots:
    """A fair counting semaphore shared by every trainer: slots are handed over in the
    order they were asked for. (threading.Semaphore lets the thread that just released
    take the slot straight back, so one trainer could keep it many turns in a row.)"""

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


_slots = Slots(max(1, MAX_TRAININGS))


def training_slots() -> Slots:
    """The one semaphore of this server process, shared by every session and the training
    service (a module global rather than st.cache_resource: the service's thread has no
    Streamlit script context)."""
    return _slots


@dataclass
class LiveRun:
    """One page's run in one session: its trainer(s) plus what the live view needs.

    A trainer page has one trainer; a lab compares several side by side (`labels` name
    them), trained in turn within each slice so that they advance together. `lock` is the
    session's (see the module docstring); `cache` keeps page results tied to this run.
    """

    trainers: list[Trainer]
    labels: list[str] = field(default_factory=list)
    store_page: str | None = None  # pages that save their runs: the store's `page`
    saved: dict[int, int] = field(default_factory=dict)  # trainer index -> stored run id
    saved_steps: dict[int, int] = field(default_factory=dict)  # ... and its steps when saved
    store_error: str = ""  # why saving failed (shown; training is never affected)
    playing: bool = False
    queued: bool = False  # the last training waited in vain for a slot
    speed: float | None = None  # epochs per second per trainer; None: as fast as it goes
    paced_at: float | None = None  # when a speed-limited run last trained (monotonic)
    due: list[float] = field(default_factory=list)  # fractional steps owed, per trainer
    notice: str = ""  # why the run stopped by itself (cap, divergence, end), for the page
    error: str = ""  # an unexpected failure during training, shown instead of a traceback
    cache: dict[Any, Any] = field(default_factory=dict)
    # the session's lock, so that every run of a session shares it (see `session_lock`)
    lock: Any = field(default_factory=lambda: session_lock(), repr=False, compare=False)

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

    def set_playing(self, playing: bool) -> None:
        """Play or pause (a finished run stays paused); clears the last stop's message."""
        self.playing = playing and not self.done
        self.paced_at = None  # a speed limit counts from now, not from before the pause
        if self.playing:
            self.notice = self.error = ""


def run_key(page: str) -> str:
    return skey(page, "run")


def session_lock() -> Any:
    """The lock of this session's runs (made on first use). Outside a script run (a unit
    test, a benchmark driving runs directly) there is no session: a lock of its own."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return threading.RLock()
    return st.session_state.setdefault(LOCK_KEY, threading.RLock())


def get_run(page: str) -> LiveRun | None:
    return st.session_state.get(run_key(page))


def make_live(trainer: Trainer) -> Trainer:
    """Give a trainer the live view's settings: probes (cadence set per slice in
    `train_slice`) and a bounded probe history."""
    trainer.max_probes = MAX_PROBES
    trainer.enable_probes(1)
    return trainer


def save_run(run: LiveRun) -> None:
    """Store every trainer of `run` that trained and is not stored yet (pages that save).

    Trainer pages, labs and sweeps save a run when it finishes, stops early or diverges, and
    when the student discards a run that trained (Reset, or a change that starts a new
    network). A store that cannot be used (a corrupt file, say) never breaks training: the
    run keeps why in `store_error`, which its page shows, and goes on."""
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


@contextmanager
def training_slot(run: Any) -> Iterator[bool]:
    """Hold one of the server's training slots (yields False, and marks `run` queued, if none
    frees up within QUEUE_WAIT_S)."""
    slots = training_slots()
    got = slots.acquire(QUEUE_WAIT_S)
    run.queued = not got
    try:
        yield got
    finally:
        if got:
            slots.release()


def steps_due(run: LiveRun) -> list[int] | None:
    """Under a speed limit, the steps each trainer owes at `run.speed` epochs per second
    since it last trained; None when the run trains as fast as it can."""
    if run.speed is None:
        return None
    now = time.monotonic()
    elapsed = 0.0 if run.paced_at is None else min(now - run.paced_at, 1.0)
    run.paced_at = now
    if len(run.due) != len(run.trainers):
        run.due = [1.0] * len(run.trainers)  # the first turn after Play takes a step at once
    owed = []
    for i, t in enumerate(run.trainers):
        run.due[i] += run.speed * t.steps_per_epoch * elapsed
        whole = math.floor(run.due[i])
        run.due[i] -= whole
        owed.append(whole)
    return owed


def train_slice(run: LiveRun, budget_s: float) -> None:
    """Train for up to `budget_s` (the caller holds a training slot and the run's lock),
    shared equally by the run's unfinished trainers, or under a speed limit the steps due
    (within the same budget); stop playing at the end or at a cap, and turn an unexpected
    failure into a message."""
    # torch's intra-op thread count is per OS thread (OpenMP), and the service thread or a
    # script thread may be one that shell.py's set_num_threads(1) never reached: set it here.
    torch.set_num_threads(1)
    steps = steps_due(run)
    active = [(i, t) for i, t in enumerate(run.trainers) if not t.done]
    share = budget_s / max(1, len(active))
    try:
        for i, trainer in active:
            rate = trainer.step_count / trainer.seconds if trainer.seconds > 0.05 else 100.0
            expected = rate * max(share, PROBE_S) if steps is None else steps[i]
            trainer.probe_every = max(1, int(expected))
            if steps is None:
                trainer.run_for(share)
            elif steps[i]:
                _run_steps(trainer, steps[i], share)
    except Exception as e:  # a bug or a device failure: stop and say so, keep the charts
        run.playing = False
        run.error = f"Training stopped: {type(e).__name__}: {e}"
        return
    check_stop(run)


def _run_steps(trainer: Trainer, n: int, seconds: float) -> None:
    """`n` steps, or fewer if they take longer than `seconds` (a slow network at a speed it
    cannot reach trains as fast as it can, rather than falling ever further behind)."""
    deadline = time.perf_counter() + seconds
    for _ in range(n):
        if not trainer.step(1) or time.perf_counter() >= deadline:
            break


def check_stop(run: LiveRun) -> None:
    """Pause at the end of the run(s), on divergence, or at a session cap, saying why. A run
    that ends is stored (its page says "saved as run #N" when it redraws)."""
    if run.done:
        run.playing = False
        run.notice = run.trainer.message if len(run.trainers) == 1 else "All runs finished."
        save_run(run)
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


def step_epoch(run: LiveRun) -> None:
    """Train exactly one epoch of every trainer now (the Step button), under the same slot
    and caps. (The slot first, then the lock: the training service takes them in that order,
    and never waits for a lock while it holds a slot.)"""
    with training_slot(run) as got, run.lock:
        if not got:
            return
        torch.set_num_threads(1)  # see `train_slice`
        for trainer in run.trainers:
            trainer.step(trainer.steps_per_epoch)
        check_stop(run)


def panels_area(
    page: str,
    panels: Callable[[LiveRun], None],
    key: str | None = None,
    every: Callable[[], float] = lambda: 1.0,
) -> None:
    """The charts under a live view (curves, histograms, gradients): a fragment of its own,
    redrawn every `every()` seconds while the run plays, by a ticker (ui/liveview.py) that
    asks again each time, so the pace follows the server's load: a chart costs the browser
    and the server far more to redraw than a frame of the live view. It holds the session's
    lock, so no training slice runs while it reads the model.

    `key` is the session key of the run (default: the page's trainer run)."""
    key = key or run_key(page)
    if st.session_state.get(key) is None:
        return

    @st.fragment
    def charts() -> None:
        run = st.session_state.get(key)
        if run is None:
            return
        with run.lock:
            panels(run)
            playing = run.playing
        if playing:
            from ui import liveview  # ui.liveview is a leaf; imported here to keep this light

            liveview.ticker(f"{key}.charts_tick", every(), on_tick=_nothing)

    charts()


def _nothing() -> None:
    """The ticker's trigger needs no callback: the fragment rerun it causes is the point."""


def tick_while_busy(
    key: str, busy: Callable[[Any], bool], work: Callable[[Any], None], draw: Callable[[Any], None]
) -> None:
    """The session's job under `key` (a search, a cross-validation): while `busy(job)`, a
    fragment reruns itself every KICK_S, doing one `work(job)` unit and drawing; once it is
    done, one page rerun shows the results without the ticking fragment."""
    job = st.session_state.get(key)
    if job is None:
        return
    every = KICK_S if busy(job) else None

    @st.fragment(run_every=every)
    def tick() -> None:
        current = st.session_state.get(key)
        if current is None:
            return
        if busy(current):
            work(current)
        draw(current)
        if every is not None and not busy(current):
            st.rerun()

    tick()
