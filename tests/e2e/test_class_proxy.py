"""A class through the proxy: two replicas behind nginx, as `make serve-class` runs them
(deploy/serve_class.py). The page renders and trains through the proxy (the live view's
/api/live long polls reach the replica holding the session, else they would answer 404), each
browser stays on the replica its cookie names, new browsers take the replicas in turn, and a
replica past its session cap shows the "server is full" page until a session leaves.

Needs nginx (`apt-get install nginx`, which .ci/run does): skipped without it, except in CI.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import (
    ARTIFACTS,
    click_button,
    metric_value,
    number,
    press,
    wait_for_app,
    wait_until,
)
from playwright.sync_api import Browser, BrowserContext, Page

from deploy.serve_class import COOKIE, nginx_binary, serve

PLAYGROUND = "/playground?train.epochs=100000"  # long enough to play throughout a test
MAX_SESSIONS = 2  # per replica, for the cap test
FULL = "This server is full"


def _free_ports(n: int) -> int:
    """A port p with p..p+n-1 all free now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65536:
            continue
        try:
            for p in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    raise RuntimeError("no run of free ports")


@pytest.fixture(scope="module")
def class_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two replicas behind nginx on free ports, with throwaway run and search stores."""
    if nginx_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx not found: .ci/run installs it (apt-get install nginx)")
        pytest.skip("nginx not installed (apt-get install nginx)")
    stores = tmp_path_factory.mktemp("class-stores")
    env = dict(
        os.environ,
        PLAYGROUND_RUNS_DB=str(stores / "runs.db"),
        PLAYGROUND_SEARCH_DB=str(stores / "search.db"),
    )
    port = _free_ports(3)
    logs = ARTIFACTS / "class-proxy"
    with serve(2, port, max_sessions=MAX_SESSIONS, env=env, log_dir=logs) as cls:
        yield cls.url


def _context(browser: Browser, url: str, route: str | None = None) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if route:
        context.add_cookies([{"name": COOKIE, "value": route, "url": url}])
    return context


def _route(context: BrowserContext) -> str:
    values = [c["value"] for c in context.cookies() if c["name"] == COOKIE]
    assert len(values) == 1, context.cookies()
    return values[0]


def _open(context: BrowserContext, url: str) -> tuple[Page, list[tuple[int, str]]]:
    """The Playground in a new tab; the list collects (status, replica) of its live polls."""
    page = context.new_page()
    polls: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda r: (
            polls.append((r.status, r.headers.get("x-playground-replica", "")))
            if "/api/live/" in r.url
            else None
        ),
    )
    page.goto(f"{url}{PLAYGROUND}")
    wait_for_app(page, 90_000)
    return page, polls


def _plays(page: Page, polls: list[tuple[int, str]], route: str) -> None:
    """Play trains: the step counter the live view shows grows, and every live poll was
    answered by the session's own replica."""
    click_button(page, "Play")
    first = wait_until(
        lambda: number(metric_value(page, "Steps", 60)), 60, what="the first trained steps"
    )
    wait_until(
        lambda: number(metric_value(page, "Steps")) > first, 60, what="more steps as it plays"
    )
    assert polls, "the live view pulled no frames"
    assert all(status in (200, 204) for status, _ in polls), polls
    assert {replica for _, replica in polls} == {route}
    click_button(page, "Pause")


def test_the_playground_renders_and_trains_through_the_proxy(browser: Browser, class_url: str):
    context = _context(browser, class_url)
    try:
        page, polls = _open(context, class_url)
        route = _route(context)  # the replica nginx chose, set as a cookie
        assert route in ("r1", "r2")
        assert page.get_by_role("button", name="Play", exact=True).count()
        _plays(page, polls, route)
        assert _route(context) == route
    finally:
        context.close()


def test_browsers_stay_on_their_replicas_and_new_ones_take_turns(browser: Browser, class_url: str):
    first, second = _context(browser, class_url), _context(browser, class_url)
    try:
        page_a, polls_a = _open(first, class_url)
        page_b, polls_b = _open(second, class_url)
        route_a, route_b = _route(first), _route(second)
        assert {route_a, route_b} == {"r1", "r2"}  # two new browsers, two replicas
        _plays(page_a, polls_a, route_a)
        _plays(page_b, polls_b, route_b)
        assert (_route(first), _route(second)) == (route_a, route_b)
    finally:
        first.close()
        second.close()


def test_a_replica_past_its_cap_says_it_is_full_until_a_session_leaves(
    browser: Browser, class_url: str
):
    contexts = [_context(browser, class_url, "r1") for _ in range(MAX_SESSIONS + 1)]
    try:
        pages = [_open(c, class_url)[0] for c in contexts[:MAX_SESSIONS]]
        for page in pages:
            assert not page.get_by_text(FULL).count()
        late = contexts[-1].new_page()
        late.goto(f"{class_url}{PLAYGROUND}")
        wait_for_app(late, 90_000)
        message = late.get_by_text(FULL).inner_text()
        assert f"full ({MAX_SESSIONS} students)" in message
        assert not late.get_by_role("button", name="Play", exact=True).count()

        contexts[0].close()  # a student leaves: the slot frees once the runtime sees it

        def admitted() -> bool:
            if late.get_by_role("button", name="Play", exact=True).count():
                return True
            press(late, lambda: click_button(late, "Try again"), 90_000)
            return bool(late.get_by_role("button", name="Play", exact=True).count())

        wait_until(admitted, 60, interval_s=1.0, what="the late student getting the app")
        assert not late.get_by_text(FULL).count()
        assert _route(contexts[-1]) == "r1"
    finally:
        for c in contexts:
            c.close()


def test_nginx_config_keeps_websockets_and_long_polls_open() -> None:
    """The generated config passes websocket upgrades on and does not cut long-lived
    connections at nginx's 60 s default (a cut websocket drops the student's session)."""
    from deploy.serve_class import nginx_config

    text = nginx_config([9001, 9002], "127.0.0.1:9000", Path("/tmp/run"))
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_read_timeout 1d;" in text
    assert "proxy_buffering off;" in text
    assert "server 127.0.0.1:9002 backup;" in text  # r1's backup
