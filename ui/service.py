"""The training service: one thread per server process trains every playing run in fair turns
and publishes each run's latest picture as a frame the browser pulls.

Why not a Streamlit fragment that reruns itself every tick? Measured on the 2-core machine,
every fragment rerun cost ~25 ms of server CPU and ~30-45 ms of the browser's (React re-renders
every element of the page on each run), whatever it drew: eight sessions at two redraws a
second left neither the server nor the browsers time to train or draw. Here a redraw is one
small JSON frame built after a training slice (a few ms) and fetched by the live view component
(assets/components/liveview.js) from a route of the server (`/api/live/<token>`, see app.py);
the Streamlit page itself stays idle while a run plays, so nothing on it fades or jumps, and a
press (Pause, a knob) is an ordinary rerun that applies between two slices.

Ownership: a session's runs share one lock (`LiveRun.lock`). The service trains a slice only
while holding it; every script run of the session holds it too (shell.py wraps each page run;
callbacks and fragments take it), so training never overlaps anything else touching the model.
Fairness: the service serves the ready run it served least recently, each for a slice that
shrinks as more runs play (a round of all of them takes about ROUND_S). A run is trained only
while its page is open: a browser that stopped pulling frames (a closed tab) for VIEWER_TIMEOUT_S
is skipped, so it costs nothing until its page asks again (and a run is trained only once a
browser has asked for its frames: under AppTest, where none does, the page plays the turns).
Leaving: every LEFT_CHECK_S the service stores and stops the runs whose browser session has
left (Streamlit's runtime no longer counts it as active), so a run trained in a tab that was
closed mid-run is in the run store, not lost with the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response

from ui import live, liveview
from ui.live import LiveRun
from ui.routes import LIVE_FRAMES

LOG = logging.getLogger(__name__)
ROUND_S = 0.25  # every playing run trains a slice (and publishes a frame) about this often
MAX_SLICE_S = 0.05  # a run alone: a frame about every 55 ms
MIN_SLICE_S = 0.01
FRAME_S = 0.1  # a run at a limited speed gets a turn this often
BUSY_RETRY_S = 0.02  # a run whose session is busy is tried again after this
VIEWER_TIMEOUT_S = 5.0  # no frame asked for this long: the page is closed, stop training it
LEFT_CHECK_S = 5.0  # how often the service looks for runs whose session has left
LONG_POLL_S = 2.0  # a frame request waits this long for a new frame before answering 204
# Waiting requests per stream: a page has one in flight (two while a rerun replaces its view);
# a client opening hundreds would each hold a socket and a waiter for LONG_POLL_S.
MAX_WAITERS = 4
STATS_LOG = os.environ.get("PLAYGROUND_SERVICE_STATS") == "1"

Frame = dict[str, Any]
Builder = Callable[[LiveRun], Frame]


@dataclass(eq=False)
class Stream:
    """One playing run's frames: the browser asks for frames newer than `frame_no`."""

    token: str
    run_ref: weakref.ref  # the session owns the run: a closed session lets it go
    builder: Builder  # the page's live view data of a run, without its static parts
    frame_no: int = 0
    frame: bytes = b""
    seen: float = 0.0  # last frame request: none yet, no training (a browser must be there)
    served: float = 0.0  # last turn
    retry_at: float = 0.0  # its session was busy (a page run held the lock): not before then
    alive: bool = True
    session_id: str | None = None  # the browser session whose page plays the run
    # Requests waiting for the next frame: (event loop, event), woken by `publish` (a request
    # sleeps until then instead of polling, which took the GIL from training 50 times a
    # second per viewer).
    waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=set)

    def wake(self) -> None:
        """Wake the requests waiting for a frame (from any thread)."""
        for loop, event in list(self.waiters):
            loop.call_soon_threadsafe(event.set)

    @property
    def run(self) -> LiveRun | None:
        return self.run_ref()

    def ready(self, now: float) -> bool:
        """Playing, watched, and (at a limited speed) due for its next turn."""
        run = self.run
        if run is None or not run.playing or now - self.seen > VIEWER_TIMEOUT_S:
            return False
        if now < self.retry_at:
            return False
        return run.speed is None or now - self.served >= FRAME_S


class TrainingService:
    """The thread that trains playing runs in turns and publishes their frames."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._streams: dict[str, Stream] = {}
        self._thread: threading.Thread | None = None
        # What the turns cost, for bench/bench_live.py (PLAYGROUND_SERVICE_STATS=1 logs it).
        self.stats: dict[str, Any] = {}
        self._reset_stats()
        self._stats_at = time.monotonic()
        self._left_at = time.monotonic()

    # Streams -------------------------------------------------------------------------------

    def stream(self, run: LiveRun, builder: Builder) -> Stream:
        """The run's stream (made on first use), now publishing frames made by `builder`."""
        with self._lock:
            stream = run.cache.get("stream")
            if stream is None or not stream.alive:
                stream = Stream(secrets.token_urlsafe(16), weakref.ref(run), builder)
                stream.session_id = _session_id()
                run.cache["stream"] = stream
                self._streams[stream.token] = stream
            stream.builder = builder
            self._start()
            self._lock.notify_all()
            return stream

    def get(self, token: str) -> Stream | None:
        with self._lock:
            return self._streams.get(token)

    def close(self, run: LiveRun) -> None:
        """Stop publishing a discarded run's frames."""
        with self._lock:
            stream = run.cache.pop("stream", None)
            if stream is not None:
                stream.alive = False
                self._streams.pop(stream.token, None)
                stream.wake()

    def playing(self) -> int:
        """Runs that are playing with their page open, now."""
        now = time.monotonic()
        with self._lock:
            return sum(
                bool(s.run and s.run.playing) and now - s.seen <= VIEWER_TIMEOUT_S
                for s in self._streams.values()
            )

    def wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    # Turns ---------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="training-service", daemon=True)
            self._thread.start()

    def _next(self) -> tuple[Stream, int] | None:
        """The ready stream served least recently and how many are ready; None after a short
        wait if none is (the caller asks again)."""
        with self._lock:
            now = time.monotonic()
            for token, s in list(self._streams.items()):
                if s.run is None:  # its session is gone
                    s.alive = False
                    del self._streams[token]
            ready = [s for s in self._streams.values() if s.ready(now)]
            if not ready:
                self._lock.wait(timeout=BUSY_RETRY_S)
                return None
            return min(ready, key=lambda s: s.served), len(ready)

    def _loop(self) -> None:
        while True:
            if time.monotonic() - self._left_at > LEFT_CHECK_S:
                self._left_at = time.monotonic()
                self.retire_left()
            picked = self._next()
            if picked is None:
                continue
            stream, ready = picked
            try:
                self.turn(stream, ready)
            except Exception:  # never let one run's failure stop every other run
                LOG.exception("training service: a turn failed")
                time.sleep(FRAME_S)

    def retire_left(self) -> list[LiveRun]:
        """Store and stop the runs whose browser session has left (a closed tab), so a run
        trained and never reset is not lost with the session, and it stops holding a
        stream. Streamlit keeps a left session's state a while for a reconnecting tab; the
        run itself goes with that state. Returns the runs retired."""
        from ui.sessions import session_active

        now = time.monotonic()
        with self._lock:
            left = [
                s
                for s in self._streams.values()
                if s.session_id is not None
                and now - s.seen > VIEWER_TIMEOUT_S
                and not session_active(s.session_id)
            ]
        retired = []
        for stream in left:
            run = stream.run
            if run is None:
                continue
            with run.lock:
                run.playing = False
                live.save_run(run)
            self.close(run)
            retired.append(run)
        return retired

    def turn(self, stream: Stream, ready: int = 1) -> None:
        """One turn of a run: a training slice, then its frame. The slot first, then the
        session's lock, without waiting for it: a session busy with a page run (a press, a
        chart) is skipped this round, and no lock is ever waited for while a slot is held."""
        run = stream.run
        if run is None:
            return
        stream.served = time.monotonic()
        with live.training_slot(run) as got:
            if not got or not run.lock.acquire(blocking=False):
                # its page is running (a press, the charts): come back after a short while
                # rather than spin and take the CPU from the very thread holding the lock
                stream.retry_at = time.monotonic() + BUSY_RETRY_S
                self.stats["busy"] += 1
                return
            try:
                if not run.playing:
                    # paused by a press since it was picked: that press's rerun redraws the
                    # page, and a frame now would only rerun it once more ("stopped")
                    return
                start = time.perf_counter()
                steps = run.steps
                budget = min(MAX_SLICE_S, max(MIN_SLICE_S, ROUND_S / ready))
                live.train_slice(run, budget)
                trained = time.perf_counter()
                self.publish(stream)
                frame_s = time.perf_counter() - trained
                self._count(stream, trained - start, frame_s, run.steps - steps)
            finally:
                run.lock.release()

    def _reset_stats(self) -> None:
        self.stats = {"turns": 0, "busy": 0, "steps": 0, "train_s": 0.0, "frame_s": 0.0,
                      "by_run": {}}  # fmt: skip

    def _count(self, stream: Stream, train_s: float, frame_s: float, steps: int) -> None:
        self.stats["turns"] += 1
        self.stats["steps"] += steps
        self.stats["train_s"] += train_s
        self.stats["frame_s"] += frame_s
        by_run = self.stats["by_run"]  # steps per run (token prefix): is it fair?
        by_run[stream.token[:6]] = by_run.get(stream.token[:6], 0) + steps
        now = time.monotonic()
        if STATS_LOG and now - self._stats_at >= 5.0:
            # "at": the window's end on the wall clock, so that a benchmark can count only the
            # windows that lie wholly inside its own measured period
            window = {"seconds": round(now - self._stats_at, 3), "at": round(time.time(), 3)}
            line = json.dumps({**self.stats, **window})
            LOG.warning("training service stats: %s", line)
            self._reset_stats()
            self._stats_at = now

    def publish(self, stream: Stream) -> None:
        """Build the run's frame now (the caller holds the run's lock). A frame that cannot
        be built stops the run with the reason, rather than freezing its picture."""
        run = stream.run
        if run is None:
            return
        try:
            frame = stream.builder(run)
        except Exception as e:
            LOG.exception("training service: a frame failed")
            run.playing = False
            run.error = f"The live view stopped: {type(e).__name__}: {e}"
            frame = {}
        frame["frame_no"] = stream.frame_no + 1
        frame["playing"] = run.playing
        stream.frame = liveview.to_json(frame)
        stream.frame_no += 1
        stream.wake()


_service: TrainingService | None = None
_service_lock = threading.Lock()


def service() -> TrainingService:
    """The one training service of this server process."""
    global _service
    with _service_lock:
        if _service is None:
            _service = TrainingService()
        return _service


async def frame_endpoint(request: Request) -> Response:
    """GET /api/live/<token>?after=N: the run's latest frame once it is newer than N (a long
    poll: the request waits up to LONG_POLL_S), 204 if none came, 404 for an unknown token
    (the run was reset, or the server restarted: the page reruns and gets a new one)."""
    stream = service().get(request.path_params["token"])
    if stream is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    try:
        after = int(request.query_params.get("after", "-1"))
    except ValueError:
        return Response("after: expected a frame number", status_code=400)
    stream.seen = time.monotonic()
    service().wake()
    if stream.frame_no <= after and stream.alive:
        if len(stream.waiters) >= MAX_WAITERS:
            return Response(
                f"at most {MAX_WAITERS} requests may wait for one run's frames",
                status_code=429,
                headers={"Cache-Control": "no-store", "Retry-After": "1"},
            )
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        stream.waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), LONG_POLL_S)
        except TimeoutError:
            pass
        finally:
            stream.waiters.discard(waiter)
            stream.seen = time.monotonic()
    if stream.frame_no <= after or not stream.alive:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return Response(
        stream.frame, media_type="application/json", headers={"Cache-Control": "no-store"}
    )


def live_view(page: str, view: Callable[[LiveRun, bool], Frame], key: str | None = None) -> None:
    """A run's live view: drawn by this run of the page from `view(run, True)`, then, while
    the run plays, kept current by the service's frames, `view(run, False)` (the same without
    the parts that never change while it plays, such as the data points). `view` runs in the
    service's thread too, so it must not call Streamlit.

    When a frame says the run stopped by itself (the end, a divergence, a cap), the component
    reruns the page, which then shows why. Under AppTest no browser pulls frames: each
    script run then plays the run's turn itself, after drawing (the same turn), and reruns
    when the turn stopped the run."""
    key = key or live.run_key(page)
    run: LiveRun | None = st.session_state.get(key)
    if run is None:
        return
    data = view(run, True)
    stream = None
    if run.playing:
        stream = service().stream(run, lambda r: view(r, False))
        data["stream"] = {"url": LIVE_FRAMES.format(token=stream.token), "after": stream.frame_no}
    liveview.show(data, key=f"{key}.view", on_stopped_change=_nothing)
    if stream is not None and _under_app_test():
        service().turn(stream)
        if not run.playing:
            st.rerun()  # what the component's "stopped" trigger does in a browser


def _session_id() -> str | None:
    """The session of this script run, where there is a real server to ask about it later
    (None under AppTest and outside a script run: nothing to check)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None and runtime.exists() else None


def _under_app_test() -> bool:
    """Whether this script runs under Streamlit's AppTest (no browser pulls frames there).
    AppTest patches `streamlit.config.get_option` (st.get_option is another binding of it,
    which the patch does not reach)."""
    from streamlit import config

    return bool(config.get_option("global.appTest"))


def _nothing() -> None:
    """The component's "stopped" trigger needs no callback: the rerun it causes redraws."""


def charts_every() -> float:
    """Seconds between redraws of the charts under a live view while it plays: one for a
    run playing alone, four more for every other run playing on this server. A chart redraw
    is a Streamlit rerun, which costs the browser (it re-renders the page) and the server
    far more than a frame of the live view, whose small loss chart keeps up meanwhile:
    measured with eight sessions on one core, redrawing every 12 s still took a third of
    the browsers' core and their redraw rate fell from 3 to 2 a second."""
    return max(1.0, 4.0 * service().playing() - 3.0)
