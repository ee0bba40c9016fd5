"""The live training loop: a fragment that redraws, trains a slice, and reruns itself.

A tick first redraws what the run looks like now (the live pictures and numbers), then, while
playing, waits for its turn on the server and trains one slice; the next tick shows it. Drawing
first means everything the tick shows is sent within milliseconds of the tick starting, so
nothing on the page sits in Streamlit's "stale" state (and fades) while the model trains, and a
press that arrives during training finds the tick's drawing already complete.

One owner per session: the tick holds the run's lock while it draws and trains, and so does
every button callback and live knob change (ui/transport.py, `ensure_run`): a press applies
between ticks, never inside one. (The server also runs with `runner.fastReruns = false`, so a
press no longer starts a second script thread beside a tick that is still training; see
.streamlit/config.toml.)

Fair turns: all sessions share one Python process and its GIL, so they take turns (one
training slot by default) and each turn's slice shrinks as more sessions play, keeping a round
of turns near ROUND_S: one session alone redraws about ten times a second, eight still two to
three times. A speed limit (epochs per second, for narrating a lesson) trains only the steps
due since the last tick, and the browser's timer paces the ticks instead of a self-rerun.
The charts under the live view (curves, histograms, gradients) are a second fragment redrawn
at most every PANELS_EVERY_S seconds while playing.
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

from engine.config import Config
from engine.data import Dataset, build_dataset
from engine.trainer import Trainer, can_apply_live
from ui.state import skey

ROUND_S = 0.4  # a round of turns: every playing session trains a slice and redraws once
MAX_SLICE_S = 0.08  # a session alone: ~10 redraws a second
MIN_SLICE_S = 0.01  # however many play, a turn trains at least this long
FRAME_S = 0.1  # tick interval at a limited speed (the browser's timer)
KICK_S = 0.2  # the timer that starts the first tick after a full run (then ticks chain)
PANELS_EVERY_S = 1.0  # charts under the live view: redrawn at most this often while playing
PLAYER_WINDOW_S = 1.0  # a session that took a turn this recently counts as playing
# How long a tick waits for a training slot before showing "queued". Slots free up every
# slice, and waiting is cheap, while giving up means a redraw with nothing new to show, which
# on a busy server takes CPU from the sessions that are training.
QUEUE_WAIT_S = 3.0
MAX_PROBES = 400  # probe frames kept per live run (older ones are thinned out)
PROBES_PER_TICK = 2  # probe frames per slice: histograms stay fresh at a small, constant cost


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# Caps, overridable per server: PLAYGROUND_MAX_TRAININGS sessions training at once (default 1:
# all sessions share one Python process and its GIL, so taking turns is fastest; see
# `train_turn`), PLAYGROUND_MAX_STEPS steps and PLAYGROUND_MAX_TRAIN_SECONDS seconds of
# training per run.
MAX_TRAININGS = int(_env_number("PLAYGROUND_MAX_TRAININGS", 1))
MAX_STEPS = int(_env_number("PLAYGROUND_MAX_STEPS", 2_000_000))
MAX_TRAIN_SECONDS = _env_number("PLAYGROUND_MAX_TRAIN_SECONDS", 1800)


class Slots:
    """A fair counting semaphore shared by every session: slots are handed over in the
    order they were asked for. (threading.Semaphore lets the thread that just released
    take the slot straight back, and a playing session asks again at once, so one session
    could keep the slot for many ticks in a row.) It also keeps who took a turn lately, so
    that each turn's slice can shrink as more sessions play."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._turns: dict[int, float] = {}  # player id -> when it last got a turn

    def acquire(self, timeout: float, player: int | None = None) -> bool:
        got = self._acquire(timeout)
        if got and player is not None:
            with self._lock:
                self._turns[player] = time.monotonic()
        return got

    def _acquire(self, timeout: float) -> bool:
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

    def players(self) -> int:
        """Sessions that took a turn within the last PLAYER_WINDOW_S seconds, plus those
        waiting for one now (at least 1)."""
        now = time.monotonic()
        with self._lock:
            for player, when in list(self._turns.items()):
                if now - when > PLAYER_WINDOW_S:
                    del self._turns[player]
            return max(1, len(self._turns), len(self._waiting) + 1)


@st.cache_resource
def training_slots() -> Slots:
    """The one semaphore of this server process (cache_resource: shared by all sessions)."""
    return Slots(max(1, MAX_TRAININGS))


def slice_seconds(players: int, draw_s: float) -> float:
    """How long one turn trains: a round of `players` turns (each a slice plus a redraw)
    takes about ROUND_S, within [MIN_SLICE_S, MAX_SLICE_S]."""
    return min(MAX_SLICE_S, max(MIN_SLICE_S, ROUND_S / players - draw_s))


@dataclass
class LiveRun:
    """One page's run in one session: its trainer(s) plus what the live loop needs.

    A trainer page has one trainer; a lab compares several side by side (`labels` name
    them), trained in turn within each tick so that they advance together. `lock` makes the
    tick and the buttons take turns on the run (see the module docstring).
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
    draw_s: float = 0.01  # how long the last redraw took
    speed: float | None = None  # epochs per second per trainer; None: as fast as it goes
    paced_at: float | None = None  # when a speed-limited run last trained (monotonic)
    due: list[float] = field(default_factory=list)  # fractional steps owed, per trainer
    notice: str = ""  # why the run stopped by itself (cap, divergence, end), for the page
    error: str = ""  # an unexpected failure during training, shown instead of a traceback
    cache: dict[str, Any] = field(default_factory=dict)  # page results tied to this run
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

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
            with run.lock:  # between ticks: never halfway through a training slice
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
    """Give a trainer the live loop's settings: probes (cadence set per slice in
    `train_slice`) and a bounded probe history."""
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
        with run.lock:
            run.playing = False
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
    """Hold one of the server's training slots for a turn (yields False, and marks the run
    queued, if none frees up within QUEUE_WAIT_S)."""
    slots = training_slots()
    got = slots.acquire(QUEUE_WAIT_S, player=id(run))
    run.queued = not got
    try:
        yield got
    finally:
        if got:
            slots.release()


def train_turn(run: LiveRun) -> None:
    """Wait for a training slot, then train one slice: as long as the number of playing
    sessions allows (`slice_seconds`), or, under a speed limit, the steps due since the
    last turn."""
    with training_slot(run) as got:
        if not got:
            return
        if run.speed is None:
            budget = slice_seconds(training_slots().players(), run.draw_s)
            train_slice(run, budget)
        else:
            train_slice(run, MAX_SLICE_S, steps=_steps_due(run))


def _steps_due(run: LiveRun) -> list[int]:
    """Steps each trainer owes at `run.speed` epochs per second since it last trained."""
    now = time.monotonic()
    elapsed = 0.0 if run.paced_at is None else min(now - run.paced_at, 1.0)
    run.paced_at = now
    if len(run.due) != len(run.trainers):
        run.due = [1.0] * len(run.trainers)  # the first tick after Play takes a step at once
    owed = []
    for i, t in enumerate(run.trainers):
        run.due[i] += (run.speed or 0.0) * t.steps_per_epoch * elapsed
        whole = math.floor(run.due[i])
        run.due[i] -= whole
        owed.append(whole)
    return owed


def train_slice(run: LiveRun, budget_s: float, steps: list[int] | None = None) -> None:
    """Train for up to `budget_s` (the caller holds a training slot), shared equally by the
    run's unfinished trainers, or at most `steps[i]` steps of trainer i; stop playing at the
    end or at a cap, and turn an unexpected failure into a message."""
    # torch's intra-op thread count is per OS thread (OpenMP), and a fragment rerun may run in
    # a fresh thread that app.py's set_num_threads(1) never reached: set it where we train.
    torch.set_num_threads(1)
    active = [(i, t) for i, t in enumerate(run.trainers) if not t.done]
    share = budget_s / max(1, len(active))
    try:
        for i, trainer in active:
            rate = trainer.step_count / trainer.seconds if trainer.seconds > 0.05 else 100.0
            expected = rate * share if steps is None else steps[i]
            trainer.probe_every = max(1, int(expected / PROBES_PER_TICK))
            if steps is None:
                trainer.run_for(share)
            elif steps[i]:
                _run_steps(trainer, steps[i], share)
    except Exception as e:  # a bug or a device failure: stop and say so, keep the charts
        run.playing = False
        run.error = f"Training stopped: {type(e).__name__}: {e}"
        return
    run.ticks += 1
    check_stop(run)


def _run_steps(trainer: Trainer, n: int, seconds: float) -> None:
    """`n` steps, or fewer if they take longer than `seconds` (a slow network at a speed it
    cannot reach trains as fast as it can, rather than falling ever further behind)."""
    deadline = time.perf_counter() + seconds
    for _ in range(n):
        if not trainer.step(1) or time.perf_counter() >= deadline:
            break


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
    """The live fragment: each tick runs `draw`, then, while playing, a training turn.

    `key` is the session key of the run (default: the page's trainer run)."""
    key = key or run_key(page)
    run: LiveRun | None = st.session_state.get(key)
    if run is None:
        return
    playing = run.playing
    paced = run.speed is not None
    every = (FRAME_S if paced else KICK_S) if playing else None

    @st.fragment(run_every=every)
    def tick() -> None:
        run = st.session_state.get(key)
        if run is None:
            return
        with run.lock:
            _timed_draw(run, draw)
            if run.playing and _connected():
                train_turn(run)
        if playing and not run.playing:
            st.rerun()  # stopped by itself: a full rerun redraws it and its buttons
        # Start the next tick now rather than at the browser's next timer event: a timer tick
        # would wait for a round trip to the browser. A click (Pause, a control) still gets
        # in: its full rerun request preempts this one. Under AppTest one .run() stays one
        # tick.
        chain = run.playing and not paced and _last_fragment_of_run() and _connected()
        if chain and not st.get_option("global.appTest"):
            st.rerun(scope="fragment")

    tick()


def panels_area(page: str, panels: Callable[[LiveRun], None], key: str | None = None) -> None:
    """The charts under a live view (curves, histograms, gradients): a fragment of its own,
    redrawn at most every PANELS_EVERY_S seconds while the run plays. Charts cost more to
    build and send than the live pictures, and nobody reads a histogram ten times a second.
    """
    key = key or run_key(page)
    run: LiveRun | None = st.session_state.get(key)
    if run is None:
        return

    @st.fragment(run_every=PANELS_EVERY_S if run.playing else None)
    def charts() -> None:
        run = st.session_state.get(key)
        if run is not None:
            with run.lock:
                panels(run)

    charts()


def _timed_draw(run: LiveRun, draw: Callable[[LiveRun], None]) -> None:
    start = time.perf_counter()
    draw(run)
    run.draw_s = time.perf_counter() - start


def in_fragment_rerun() -> bool:
    """Whether this run is a fragment-only rerun (Streamlit refuses a fragment-scoped rerun
    from a fragment drawn during a full-page run; the browser's timer covers that tick)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def _last_fragment_of_run() -> bool:
    """Whether this is a fragment rerun and no other fragment is queued after this one in it
    (the panels' timer tick, say): a fragment-scoped rerun ends the whole run, and would drop
    it. If one is, the browser's timer (KICK_S) starts the next live tick instead."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    queued = ctx.fragment_ids_this_run if ctx else None
    if not queued:
        return False
    try:  # Streamlit's own record of the fragment running now (not a public API)
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

        return queued[-1] == ThreadState.get().fragment_id
    except (ImportError, AttributeError):
        return len(queued) == 1


def _connected() -> bool:
    """Whether this session's browser is still connected. A closed tab must not go on
    training (and rerunning itself) on a shared server until the run's time cap."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists() or st.get_option("global.appTest"):
        return True
    return Runtime.instance().is_active_session(ctx.session_id)


def step_epoch(run: LiveRun) -> None:
    """Train exactly one epoch of every trainer now (the Step button), under the same slot
    and caps."""
    with run.lock, training_slot(run) as got:
        if not got:
            return
        torch.set_num_threads(1)  # see `train_slice`
        for trainer in run.trainers:
            trainer.step(trainer.steps_per_epoch)
        check_stop(run)
