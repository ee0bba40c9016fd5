"""Benchmark: the live Playground in real browsers, alone and as a class sharing one core.

Starts `streamlit run app.py` pinned to one core, opens the Playground in headless Chromium
(Debian's, through Playwright) on the other core(s), presses Play and watches the live view
with the page-side sampler the browser tests use (tests/e2e/live_sampler.js): every redraw of
the live view, and every 50 ms whether a picture is missing, the content below moved, or
something on the page is faded (Streamlit's "stale" state). It prints:

- time to the first picture after opening the page, and to the first frame after Play;
- one session playing the default Playground (TF Playground's network): redraws per second
  and epochs per second (targets: >= 10 and >= 60), and its steps per second against a bare
  torch loop training the same network on the same batches;
- N = 1, 2, 4 and 8 sessions playing at once: each one's redraws and epochs per second
  (targets at N = 8: every session >= 2 and >= 10, no errors), the server's CPU, what its
  training service did (share of the core spent training, CPU per frame built), and the
  sampler's counts (targets: no missing picture, no jump, <= 10% of samples faded).

The browsers run on the same machine, on the core(s) the server does not use: on a 2-core
machine eight headless Chromium pages share one core (software compositing), a harder spot
than a class with a machine each. Run on purpose: `python -m bench.bench_live` (not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import torch
from playwright.sync_api import Browser, Page, sync_playwright

from bench.bench_trainer import time_bare
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
SAMPLER = (ROOT / "tests" / "e2e" / "live_sampler.js").read_text()
# The servers' output (the training service's statistics, the traceback of any error a page
# shows) goes here.
SERVER_LOG = ROOT / "test-artifacts" / "bench-live-server.log"
WARM_UP_S = 10.0  # seconds between the server answering and the first session (its warm-up)
SETTLE_S = 3.0  # after the last Play, before measuring
# Long enough not to finish while measured; TF Playground's network otherwise (the page's
# first preset: circle, 2-4-2-2 tanh, SGD, batch 10, 25 steps an epoch).
PLAYGROUND = "/playground?train.epochs=100000"
STEPS_PER_EPOCH = 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(cpus: set[int]):
    """`streamlit run app.py` on a free port, pinned to `cpus`; yields (url, pid)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.fileWatcherType", "none"]  # fmt: skip
    env = dict(os.environ, PLAYGROUND_SERVICE_STATS="1", PYTHONUNBUFFERED="1")
    SERVER_LOG.parent.mkdir(exist_ok=True)
    log = open(SERVER_LOG, "a")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_stats(since: int) -> list[dict[str, float]]:
    """The training service's statistics logged since byte `since` of the server log."""
    text = SERVER_LOG.read_text(errors="replace")[since:]
    found = re.finditer(r"training service stats: (\{.*\})", text)
    return [json.loads(m.group(1)) for m in found]


def steps_shown(page: Page) -> int:
    """The live view's step counter."""
    text = page.locator(".nv-metric[data-label='Steps'] .nv-metric-value").inner_text()
    return int(text.replace(",", ""))


def open_playground(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{url}{PLAYGROUND}")
    page.wait_for_selector(IDLE, state="attached", timeout=120_000)
    return page


def time_first_paint(browser: Browser, url: str) -> tuple[float, float]:
    """Seconds from navigation to the live view's first picture, and from Play to the first
    frame streamed."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    start = time.perf_counter()
    page.goto(f"{url}{PLAYGROUND}")
    page.wait_for_selector("canvas.nv-out-canvas", timeout=120_000)
    picture = time.perf_counter() - start
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    start = time.perf_counter()
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('*')).some(h => h.shadowRoot && "
        "Number((h.shadowRoot.querySelector('.nv-root') || {dataset: {}}).dataset.frame) > 0)",
        timeout=60_000,
    )
    frame = time.perf_counter() - start
    page.context.close()
    return picture, frame


def measure(browser: Browser, url: str, pid: int, sessions: int, seconds: float) -> dict:
    """`sessions` pages play the default Playground at once; the live views are sampled."""
    pages = [open_playground(browser, url) for _ in range(sessions)]
    for page in pages:
        page.get_by_role("button", name="Play", exact=True).click()
    time.sleep(SETTLE_S)
    log_at = SERVER_LOG.stat().st_size
    for page in pages:
        page.evaluate(SAMPLER, {"intervalMs": 50})
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    first = [(time.perf_counter(), steps_shown(page)) for page in pages]
    time.sleep(seconds)
    last = [(time.perf_counter(), steps_shown(page)) for page in pages]
    cpu1, t1 = cpu_seconds(pid), time.perf_counter()
    reports = [page.evaluate("() => window.__liveSampler.report()") for page in pages]
    errors = [
        t for page in pages for t in page.locator("[data-testid='stException']").all_inner_texts()
    ]
    for page in pages:
        page.context.close()
    per = []
    for r, (ta, sa), (tb, sb) in zip(reports, first, last, strict=True):
        epochs = (sb - sa) / STEPS_PER_EPOCH / (tb - ta)  # as the page's counter showed them
        per.append({"redraws": r["redraws"] / r["seconds"], "epochs": epochs, **{
            k: r[k] for k in ("samples", "missing", "jumps", "stale")}})  # fmt: skip
    time.sleep(6)  # the next statistics line of the service covers the window
    stats = service_stats(log_at)
    turns = sum(s["turns"] for s in stats) or 1
    return {
        "sessions": per,
        "errors": errors,
        "server_cpu": (cpu1 - cpu0) / (t1 - t0),
        "train_share": sum(s["train_s"] for s in stats)
        / max(1e-9, sum(s["seconds"] for s in stats)),
        "frame_ms": 1000 * sum(s["frame_s"] for s in stats) / turns,
        "steps_per_s": sum(s["steps"] for s in stats) / max(1e-9, sum(s["seconds"] for s in stats)),
        "by_run": _by_run(stats),
    }


def _by_run(stats: list[dict]) -> list[int]:
    """Steps the service trained each run over the statistics' windows, fewest first."""
    total: dict[str, int] = {}
    for s in stats:
        for token, steps in s.get("by_run", {}).items():
            total[token] = total.get(token, 0) + steps
    return sorted(total.values())


def bare_steps_per_s() -> float:
    """The Playground's network trained by a bare torch loop on the same batches."""
    cfg = list_presets("playground")[0].config
    changes = {path: cfg.get(path) for path in ("data.dataset", "model.hidden",
               "model.activation", "train.optimizer", "train.lr", "train.batch_size",
               "data.noise")}  # fmt: skip
    changes = {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}
    changes["device"] = "cpu"
    steps = 3000
    return steps / min(time_bare(changes, steps) for _ in range(3))


def report(result: dict, n: int, bare: float | None = None) -> None:
    s = result["sessions"]
    redraws = ", ".join(f"{x['redraws']:.1f}" for x in s)
    epochs = ", ".join(f"{x['epochs']:.0f}" for x in s)
    samples = sum(x["samples"] for x in s)
    missing, jumps = sum(x["missing"] for x in s), sum(x["jumps"] for x in s)
    stale = sum(x["stale"] for x in s) / max(1, samples)
    print(f"  {n} session{'s' if n > 1 else ' '} playing: redraws/s {redraws}; epochs/s {epochs}")
    line = (f"      server {result['server_cpu']:.2f} cores, training {result['train_share']:.0%} "
            f"of it ({result['steps_per_s']:,.0f} steps/s in all), {result['frame_ms']:.1f} ms "
            f"per frame built; missing {missing}, jumps {jumps}, faded {stale:.1%} of "
            f"{samples} samples; errors {len(result['errors'])}")  # fmt: skip
    runs = result["by_run"]
    if len(runs) > 1:  # the service's own count: the pages' counters also carry their lag
        line += f"; steps trained per run, fewest/most {runs[0] / max(1, runs[-1]):.2f}"
    if bare:
        line += f"; {result['steps_per_s'] / bare:.2f} of a bare loop's steps/s"
    print(line)
    for text in result["errors"]:  # say what went wrong, not only how often
        print("      error shown:", text.strip().replace("\n", " | ")[:2000])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="sampling time per measurement")
    p.add_argument("--sessions", default="1,2,4,8", help="numbers of sessions to measure")
    args = p.parse_args()
    torch.set_num_threads(1)
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} not found: apt-get install chromium")
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        sys.exit("needs two cores: one for the server, the others for the browsers")
    bare = bare_steps_per_s()
    print(f"bare torch loop, TF Playground's network: {bare:,.0f} steps/s "
          f"({bare / STEPS_PER_EPOCH:.0f} epochs/s)")  # fmt: skip
    print(f"server on core {cores[0]}, browsers on core(s) {','.join(map(str, cores[1:]))}:")
    os.sched_setaffinity(0, set(cores[1:]))  # the browsers inherit it
    with server({cores[0]}) as (url, pid), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        time.sleep(WARM_UP_S)  # as a class opens a server started before the lesson
        picture, frame = time_first_paint(browser, url)
        print(f"  first paint: picture {picture:.2f} s after opening, first frame {frame:.2f} s "
              "after Play")  # fmt: skip
        for n in (int(x) for x in args.sessions.split(",")):
            result = measure(browser, url, pid, n, args.seconds)
            report(result, n, bare if n == 1 else None)
        browser.close()
    os.sched_setaffinity(0, set(cores))


if __name__ == "__main__":
    main()
