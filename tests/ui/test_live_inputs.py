"""What a visitor's browser sends the live views, fuzzed: the drawing pad's ink and the frame
requests. Anything gets a clear answer (an error saying what was wrong, a status code) and
nothing else: no exception, no allocation beyond the size budget."""

from __future__ import annotations

import asyncio
import base64
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from engine.data import DataError
from ui.mnist_view import MAX_INK_CHARS, decode_ink
from ui.service import MAX_WAITERS, Stream, frame_endpoint, service

ink_messages = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=50),
    st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=80))),
    st.binary(max_size=300).map(lambda b: {"n": 1, "pixels": base64.b64encode(b).decode()}),
)


@settings(max_examples=200, deadline=None)
@given(ink_messages)
def test_any_pad_message_decodes_or_says_why(message: object) -> None:
    try:
        ink = decode_ink(message)
    except DataError as e:
        assert str(e)  # says what was wrong
        return
    assert ink is None or (ink.dtype == np.uint8 and ink.shape[0] == ink.shape[1] >= 8)


def test_an_oversized_drawing_is_refused_before_decoding() -> None:
    huge = "A" * (MAX_INK_CHARS + 4)
    with pytest.raises(DataError, match="too large"):
        decode_ink({"n": 1, "pixels": huge})


def test_a_drawing_decodes_to_its_square() -> None:
    square = np.zeros((112, 112), dtype=np.uint8)
    square[20:90, 50:60] = 255
    ink = decode_ink({"n": 3, "pixels": base64.b64encode(square.tobytes()).decode()})
    assert ink.shape == (112, 112) and int(ink.sum()) == int(square.sum())
    assert decode_ink({"n": 4, "pixels": ""}) is None  # cleared


def _get(path: str, query: str) -> int:
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
             "headers": [], "path_params": {"token": path.rsplit("/", 1)[-1]}}  # fmt: skip
    # In a thread of its own: when the browser tests run first, Playwright's sync API keeps
    # an event loop running in this one, and asyncio.run refuses to start another there.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(frame_endpoint(Request(scope)))).result().status_code


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.text(max_size=20))
def test_frame_requests_with_any_token_or_frame_number_get_a_status(token: str, after: str) -> None:
    status = _get(f"/api/live/{token}", f"after={after}")
    assert status in (400, 404)  # no stream has this token


class _Idle:
    """Stands for a run that is not playing: the service's thread, if running, skips it."""

    playing = False


def test_a_client_cannot_pile_up_waiting_requests_on_one_stream() -> None:
    """Each waiting frame request holds a socket and a waiter: past MAX_WAITERS on one stream
    the next is answered at once with 429 (a page has one in flight)."""
    svc, idle = service(), _Idle()
    stream = Stream("t" * 22, weakref.ref(idle), lambda run: {})
    with svc._lock:
        svc._streams[stream.token] = stream
    try:
        stream.waiters.update((None, object()) for _ in range(MAX_WAITERS))  # already waiting
        assert _get(f"/api/live/{stream.token}", "after=0") == 429
        stream.waiters.clear()
        stream.frame_no, stream.frame = 1, b"{}"
        assert _get(f"/api/live/{stream.token}", "after=0") == 200  # a new frame: no wait
    finally:
        with svc._lock:
            svc._streams.pop(stream.token, None)
