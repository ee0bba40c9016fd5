"""Benchmark: the live Playground page in a real browser against the bare engine.

Starts `streamlit run app.py`, opens the Playground in headless Chromium (Debian's, through
Playwright), presses Play and samples the page's step counter every 50 ms. It prints:

- time to the first picture and the first chart after opening the page (the first session
  of a fresh server, opened once its warm-up (ui/preload.py: torch, the app's modules) has
  had WARM_UP_S to run, and a later session);
- steps per second while playing, as a ratio to a bare torch loop training the same network
  on the same batches (target: at least 0.60), and redraws per second (target: at least 3);
- with four browser sessions playing at once: each one's steps per second and errors.

The browser runs on the same machine as the server, so its rendering competes for the same
cores: on a 2-core machine the figures are a lower bound of what a student's laptop sees.
Run on purpose: `python -m bench.bench_live` (not a test; timings are noisy).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import torch
from playwright.sync_api import Page, sync_playwright

from bench.bench_trainer import time_bare
from engine.config import Config
from engine.presets import list_presets

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# The servers' output, for the traceback behind any error a page shows.
SERVER_LOG = ROOT / "test-artifacts" / "bench-live-server.log"
# Seconds between the server answering and the first session: its warm-up takes about 6 s.
WARM_UP_S = 10.0
# The Playground's opening network (TF Playground's), and a bigger one: the spiral preset.
CASES = {
    "circle 2-4-2-2, SGD": "",
    "spiral 2-8-8-8-2, Adam": "?data.dataset=spiral&model.hidden=8,8,8&train.optimizer=adam"
    "&train.lr=0.01",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(cpus: set[int] | None):
    """`streamlit run app.py` on a free port, on `cpus` if given; yields its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.fileWatcherType", "none"]  # fmt: skip
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = open(SERVER_LOG, "a")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def steps_shown(page: Page) -> int:
    box = page.get_by_test_id("stMetric").filter(has_text="Steps")
    texts = box.get_by_test_id("stMetricValue").all_inner_texts()
    return int(texts[-1].replace(",", "")) if texts else 0


def time_first_paint(page: Page, url: str) -> tuple[float, float]:
    """Seconds from navigation to the first picture (network and decision boundary), and
    from pressing Play to the first drawn curve."""
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("[data-testid='stImage'] img", timeout=120_000)
    first_image = time.perf_counter() - start
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    start = time.perf_counter()
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, "
                           "[data-testid='stVegaLiteChart'] svg", timeout=120_000)  # fmt: skip
    curve = time.perf_counter() - start
    page.get_by_role("button", name="Pause", exact=True).click()
    return first_image, curve


def measure_playing(pages: list[Page], seconds: float) -> list[tuple[float, float]]:
    """Press Play on every page, then sample their step counters: (steps/s, redraws/s)."""
    for p in pages:
        p.get_by_role("button", name="Play", exact=True).click()
    time.sleep(2.0)  # let the first ticks settle
    first = [steps_shown(p) for p in pages]
    changes = [0] * len(pages)
    last = list(first)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i, p in enumerate(pages):
            now = steps_shown(p)
            if now != last[i]:
                changes[i] += 1
                last[i] = now
        time.sleep(0.05 / len(pages))
    elapsed = time.perf_counter() - start
    for p in pages:
        p.get_by_role("button", name="Pause", exact=True).click()
    return [((last[i] - first[i]) / elapsed, changes[i] / elapsed) for i in range(len(pages))]


def bare_steps_per_s(query: str) -> float:
    """The same network and batches trained by a bare torch loop (see bench_trainer)."""
    cfg = list_presets("playground")[0].config  # what the Playground opens on
    if query:
        cfg, _ = Config.from_query(
            dict(p.split("=") for p in query.lstrip("?").split("&")), base=cfg
        )
    changes = {path: cfg.get(path) for path in ("data.dataset", "model.hidden",
               "train.optimizer", "train.lr", "train.batch_size", "data.noise")}  # fmt: skip
    changes = {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}
    changes["device"] = "cpu"
    steps = 3000
    best = min(time_bare(changes, steps) for _ in range(3))
    return steps / best


def run_browser_checks(url: str, seconds: float, bare: dict[str, float]) -> None:
    """Everything measured through the browser against one running server."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)

        def new_page() -> Page:
            return browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

        time.sleep(WARM_UP_S)  # as a class opens a server started before the lesson
        cold = time_first_paint(new_page(), f"{url}/playground")
        warm = time_first_paint(new_page(), f"{url}/playground")
        print("  Playground first paint (target: first chart within 3 s of opening the page):")
        for name, (picture, curve) in (
            (f"first session (server up {WARM_UP_S:g} s)", cold),
            ("a new session", warm),
        ):
            print(f"    {name:30s} picture {picture:5.2f} s, first curve {curve:4.2f} s after Play")
        print(
            f"  One session playing for {seconds:.0f} s (targets: >= 0.60 of bare, >= 3 redraws/s):"
        )
        for name, query in CASES.items():
            page = new_page()
            page.goto(f"{url}/playground{query}")
            page.wait_for_selector(IDLE, state="attached", timeout=60_000)
            ((rate, redraws),) = measure_playing([page], seconds)
            print(f"    {name:24s} bare {bare[name]:5.0f} steps/s, live {rate:5.0f} steps/s: "
                  f"ratio {rate / bare[name]:4.2f}, {redraws:3.1f} redraws/s")  # fmt: skip
            page.context.close()
        pages = [new_page() for _ in range(4)]
        for page in pages:
            page.goto(f"{url}/playground")
            page.wait_for_selector(IDLE, state="attached", timeout=60_000)
        results = measure_playing(pages, seconds)
        shown = [page.locator("[data-testid='stException']") for page in pages]
        errors = sum(e.count() for e in shown)
        for e in shown:  # say what went wrong, not only how often
            for text in e.all_inner_texts():
                print("  error shown:", text.strip().replace("\n", " | ")[:2000])
        rates = ", ".join(f"{r:.0f}" for r, _ in results)
        print(f"  Four sessions playing at once: steps/s {rates}; "
              f"redraws/s {min(d for _, d in results):.1f} to {max(d for _, d in results):.1f}; "
              f"errors {errors}")  # fmt: skip
        browser.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="sampling time per measurement")
    args = p.parse_args()
    torch.set_num_threads(1)
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} not found: apt-get install chromium")
    bare = {name: bare_steps_per_s(query) for name, query in CASES.items()}
    cores = sorted(os.sched_getaffinity(0))
    setups = [("server and browser sharing all cores", None, None)]
    if len(cores) >= 2:
        # As when students' browsers run on their own machines: the server keeps one core.
        setups.append(("server on core 0, browser on the others", {cores[0]}, set(cores[1:])))
    for title, server_cpus, browser_cpus in setups:
        print(f"{title}:")
        all_cpus = set(cores)
        os.sched_setaffinity(0, browser_cpus or all_cpus)  # the browser inherits it
        with server(server_cpus) as url:
            run_browser_checks(url, args.seconds, bare)
        os.sched_setaffinity(0, all_cpus)


if __name__ == "__main__":
    main()
