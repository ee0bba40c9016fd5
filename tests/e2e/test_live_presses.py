"""Presses at random moments, as a class makes them: Play, Pause, Step, Reset, New data, the
speed and the learning rate, 0-3 s apart, on the Playground and on MNIST. Every press must
have its effect (Pause stops the step counter, Step adds one epoch, Reset starts at 0, ...)
and no press may crash the page, whatever the live view was doing when it came."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest
from e2e_helpers import (
    EXCEPTION,
    metric_value,
    number,
    press,
    screenshot,
    wait_for_app,
    wait_until,
)
from playwright.sync_api import Page, expect

PRESSES = 24  # with the fixed seed, every action comes at least twice on both pages


def steps(page: Page) -> int:
    return int(number(metric_value(page, "Steps")))


def playing(page: Page) -> bool:
    return page.get_by_role("button", name="Pause", exact=True).count() > 0


def counter_stands_still(page: Page) -> int:
    """The step counter does not move for a second (paused); returns it."""
    first = steps(page)
    page.wait_for_timeout(1000)
    assert steps(page) == first, "the step counter moved while paused"
    return first


class Presser:
    """Random presses with their expected effects on one trainer page."""

    def __init__(self, page: Page, per_epoch: int, slowest: float, new_data: bool) -> None:
        self.page = page
        self.per_epoch = per_epoch
        self.slowest = slowest  # epochs per second
        self.actions: dict[str, Callable[[], None]] = {
            "play": self.play,
            "pause": self.pause,
            "step": self.step,
            "reset": self.reset,
            "speed": self.speed,
            "learning rate": self.learning_rate,
        }
        if new_data:
            self.actions["new data"] = self.new_data

    def click(self, name: str) -> None:
        """Press a button and wait until the page has redrawn after it."""
        press(self.page, self.page.get_by_role("button", name=name, exact=True).first.click)

    def play(self) -> None:
        if playing(self.page):
            return self.pause()
        before = steps(self.page)
        self.click("Play")
        expect(self.page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
        wait_until(lambda: steps(self.page) > before, 20, 0.1, "steps after Play")

    def pause(self) -> None:
        if not playing(self.page):
            return self.play()
        self.click("Pause")
        expect(self.page.get_by_role("button", name="Play", exact=True)).to_be_visible()
        counter_stands_still(self.page)

    def step(self) -> None:
        was_playing = playing(self.page)
        before = steps(self.page)
        self.click("Step")
        expect(self.page.get_by_role("button", name="Play", exact=True)).to_be_visible()
        after = counter_stands_still(self.page)
        if was_playing:
            assert after >= before + self.per_epoch
        else:
            assert after == before + self.per_epoch, "Step trains exactly one epoch"

    def reset(self) -> None:
        self.click("Reset")
        wait_until(lambda: steps(self.page) == 0, 20, 0.1, "Reset to clear the counter")
        assert not playing(self.page)

    def seed(self) -> int:
        """The seed in the address bar (Streamlit rewrites it with history.replaceState)."""
        url = self.page.evaluate("() => window.location.href")
        found = re.search(r"[?&]seed=(\d+)", url)
        return int(found.group(1)) if found else 0

    def new_data(self) -> None:
        seed = self.seed()
        self.click("New data")
        wait_until(lambda: steps(self.page) == 0, 20, 0.1, "New data to reset the counter")
        wait_until(lambda: self.seed() == seed + 1, 20, 0.1, "the new seed in the link")

    def speed(self) -> None:
        """Slow down to the slowest speed and back: meanwhile a playing run still moves, at
        about that many epochs a second."""
        main = self.page.get_by_test_id("stMain")  # the sidebar has the language switch
        choices = main.get_by_test_id("stButtonGroup").first.get_by_role("radio")
        press(self.page, choices.nth(3).click)  # the slowest
        if playing(self.page):
            start = steps(self.page)
            self.page.wait_for_timeout(2000)
            moved = steps(self.page) - start
            assert 0 < moved <= (2 * self.slowest + 1) * self.per_epoch, moved
        press(self.page, choices.nth(0).click)  # Max

    def learning_rate(self) -> None:
        """A knob that applies to the running network: the run goes on from where it was."""
        before = steps(self.page)
        slider = self.page.get_by_test_id("stSlider").filter(has_text="Learning rate")
        key = random.choice(["ArrowLeft", "ArrowRight"])
        press(self.page, lambda: slider.get_by_role("slider").press(key))
        assert steps(self.page) >= before, "a learning-rate change must not reset the run"


@pytest.mark.parametrize(
    ("path", "per_epoch", "slowest", "new_data"),
    [
        ("playground?train.epochs=100000", 25, 1.0, True),
        ("mnist?train.epochs=1000", 35, 0.1, False),
    ],
    ids=["playground", "mnist"],
)
def test_random_presses_each_have_their_effect_and_never_crash(
    app_url: str, page: Page, path: str, per_epoch: int, slowest: float, new_data: bool
) -> None:
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, timeout_ms=60_000)
    rng = random.Random(9)  # a fixed sequence, so a failure can be replayed
    presser = Presser(page, per_epoch, slowest, new_data)
    done: list[str] = []
    for _ in range(PRESSES):
        name = rng.choice(sorted(presser.actions))
        try:
            presser.actions[name]()
        except AssertionError as e:
            screenshot(page, f"presses-{path.split('?')[0]}")
            raise AssertionError(f"after presses {done}, '{name}': {e}") from e
        done.append(name)
        assert page.locator(EXCEPTION).count() == 0, f"an exception after {done}"
        time.sleep(rng.uniform(0, 3))
    assert page.locator(EXCEPTION).count() == 0
    assert all(done.count(name) >= 2 for name in presser.actions), done  # each was tried
