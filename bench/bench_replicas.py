"""Benchmark: a class on one replica vs two replicas behind the proxy (`make serve-class`).

Eight headless browser sessions play the Playground (bench_live's page and sampler) against
(a) one replica pinned to one core and (b) two replicas pinned to two cores, both through nginx
(deploy/serve_class.py) so that only the replica count differs. It prints, for each:

- every session's redraws and epochs per second, and the replica it was kept on;
- the total epochs per second of all sessions, and the ratio (b) / (a) (target >= 1.7: one
  Python process trains on one core, so two replicas should nearly double a class's training);
- each replica's memory: resident size idle after its warm-up, and per session playing.

With --mnist N it then opens N MNIST sessions on the one-replica setup and prints the memory
each adds. The browsers run on the cores the replicas do not use (bench_live does the same):
on a machine with fewer than four cores, (b) leaves them none, so they share the replicas'
cores and (b) is understated; the script says so. Run on purpose, on an idle machine:
`python -m bench.bench_replicas` (not a test; --seconds 12 --warm-up 3 for a quick try:
the totals need whole 5-second statistics windows inside the measured period).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from bench.bench_live import (
    ARGS,
    CHROMIUM,
    SAMPLER,
    SETTLE_S,
    STEPS_PER_EPOCH,
    open_playground,
    steps_shown,
)
from deploy.serve_class import COOKIE, nginx_binary, serve

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "test-artifacts" / "bench-replicas"
MNIST = "/mnist?train.epochs=1000"


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []


def lower_browsers(driver_pids: list[int]) -> None:
    """Run the browsers (everything under Playwright's driver) at the lowest priority, every
    thread of every process: on a machine without spare cores they then take only what the
    replicas leave, closer to a class whose browsers run on their own machines."""
    todo = list(driver_pids)
    while todo:
        pid = todo.pop()
        todo.extend(_children(pid))
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                os.setpriority(os.PRIO_PROCESS, int(task.name), 19)
        except OSError:
            pass  # it exited meanwhile


def driver_pids(replica_pids: list[int]) -> list[int]:
    """This process's children other than the replicas and nginx: Playwright's driver."""
    ours = set(_children(os.getpid()))
    keep = set(replica_pids)
    return [p for p in ours if p not in keep and "nginx" not in _cmdline(p)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


@dataclass
class Served:
    """What a replica's training service logged in the statistics windows that lie wholly
    inside a measured period: steps per second in all and per run (by its frames' token's
    first six characters, as the service logs it), and the seconds those windows cover."""

    rate: float
    seconds: float
    by_run: dict[str, float]


def trained_rate(log: Path, start: float, end: float) -> Served:
    """Steps per second a replica's training service logged in the statistics windows that
    lie wholly inside [start, end] (wall clock; PLAYGROUND_SERVICE_STATS=1: a line about
    every 5 s of training, with its length and end time).

    Only whole windows count: the one that straddles the start holds time before the
    browsers were frozen, and the ones after the end time after they were thawed, and in
    the two-replica setup both take the replicas' cores (that understated two replicas)."""
    text = log.read_text(errors="replace")
    stats = [json.loads(m.group(1)) for m in re.finditer(r"training service stats: (\{.*\})", text)]
    inside = [s for s in stats if s["at"] - s["seconds"] >= start and s["at"] <= end]
    seconds = max(1e-9, sum(s["seconds"] for s in inside))
    by_run: dict[str, float] = {}
    for s in inside:
        for run, steps in s["by_run"].items():
            by_run[run] = by_run.get(run, 0.0) + steps / seconds
    return Served(sum(s["steps"] for s in inside) / seconds, seconds, by_run)


def route(page: Page) -> str:
    """The replica the proxy keeps this page's browser on (its cookie)."""
    cookies = page.context.cookies()
    return next((c["value"] for c in cookies if c["name"] == COOKIE), "?")


class Poller(threading.Thread):
    """Pulls one session's frames the way the live view does (`?after=N` long polls, with
    the browser's replica cookie), from a thread of this process: a client that keeps the
    run watched and counts its redraws at next to no CPU."""

    def __init__(self, url: str, cookie: str) -> None:
        super().__init__(daemon=True)
        self.url, self.cookie = url, cookie
        self.after, self.frames, self.stop = 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            request = urllib.request.Request(
                f"{self.url}?after={self.after}", headers={"Cookie": self.cookie}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = response.read()
            except OSError:
                time.sleep(0.1)
                continue
            if body:
                self.after = json.loads(body).get("frame_no", self.after)
                self.frames += 1


def freeze(pids: list[int], frozen: bool) -> None:
    """Stop (SIGSTOP) or continue (SIGCONT) processes: frozen browsers keep their websockets
    open (their sessions stay) and take no CPU."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP if frozen else signal.SIGCONT)


def browser_pids(driver: list[int]) -> list[int]:
    """Every process below Playwright's driver (the browser and its renderers)."""
    found, todo = [], list(driver)
    while todo:
        pid = todo.pop()
        kids = _children(pid)
        found.extend(kids)
        todo.extend(kids)
    return found


BARE_LOOP = """
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
import torch
torch.set_num_threads(1)
from engine.config import Config
from engine.trainer import Trainer
t = Trainer(Config().replace(device="cpu", **{"train.epochs": 10000}))
t.step(200)
n, start = 0, time.perf_counter()
while time.perf_counter() - start < float(sys.argv[2]):
    t.step(100)
    n += 100
print(n / (time.perf_counter() - start))
"""


def bare_scaling(cores: list[int], seconds: float = 10.0) -> float:
    """What the machine itself gives: the Playground's default network trained in a bare loop
    by one process on one core, then by two processes on two cores at once; the ratio of
    their total steps per second (2.0 on two free physical cores; less where the two are
    hyperthreads or the host is shared). The replicas cannot scale past it."""

    def loops(on: list[int]) -> float:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", BARE_LOOP, str(c), str(seconds)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
            for c in on
        ]
        return sum(float(p.communicate()[0]) for p in procs)

    one, two = loops(cores[:1]), loops(cores[:2])
    print(f"bare loop: one process {one:.0f} steps/s; two processes on two cores {two:.0f} "
          f"steps/s in all ({two / one:.2f}x)")  # fmt: skip
    return two / one


def throttle(page: Page, rate: float) -> None:
    """Slow the page's renderer `rate` times (Chrome DevTools' CPU throttling): it still
    pulls every frame it can and keeps its run watched, at a fraction of the CPU."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})


def play_class(
    browser: Browser,
    url: str,
    sessions: int,
    seconds: float,
    lower: list[int] | None,
    on_start: Callable[[], None],
    throttle_rate: float = 0.0,
    pollers: Callable[[], list[int]] | None = None,
) -> list[dict]:
    """`sessions` pages play at once for `seconds`; each one's redraws and epochs per second.
    `lower`: Playwright's driver, whose browsers are set to the lowest priority; `on_start`
    is called as the measured window starts; `throttle_rate` > 1 slows every page's
    renderer that many times once it plays (see --throttle)."""
    pages = [open_playground(browser, url) for _ in range(sessions)]
    streams: list[list[str]] = [[] for _ in pages]  # each page's frame URLs, as it pulls them
    for page, got in zip(pages, streams, strict=True):
        page.on(
            "request",
            lambda r, got=got: got.append(r.url.split("?")[0]) if "/api/live/" in r.url else None,
        )
    if lower:
        lower_browsers(lower)  # the new pages' renderer processes too
    for page in pages:  # browsers at the lowest priority on a busy machine can be slow
        page.get_by_role("button", name="Play", exact=True).click(timeout=180_000)
    time.sleep(SETTLE_S)
    for page in pages:
        page.evaluate(SAMPLER, {"intervalMs": 50})
    # A throttled page reads its counters slowly: its steps come from the replicas' logs.
    shown = steps_shown if throttle_rate <= 1 and pollers is None else (lambda page: float("nan"))
    threads: list[Poller] = []
    if pollers is not None:  # light clients: the pages' own pulls, from threads, browsers frozen
        cookies = [
            "; ".join(f"{c['name']}={c['value']}" for c in p.context.cookies()) for p in pages
        ]
        threads = [Poller(u[-1], c) for u, c in zip(streams, cookies, strict=True) if u]
        for t in threads:
            t.start()
        frozen = pollers()
        freeze(frozen, True)
    first = [(time.perf_counter(), shown(page)) for page in pages]
    if throttle_rate > 1:
        for page in pages:
            throttle(page, throttle_rate)
    on_start()
    counted = [t.frames for t in threads]
    time.sleep(seconds)
    if threads:
        freeze(frozen, False)
        for t in threads:
            t.stop.set()
    last = [(time.perf_counter(), shown(page)) for page in pages]
    if threads:  # each stream's frames pulled per second, in place of the pages' redraws
        reports = [
            {"redraws": t.frames - c, "seconds": seconds}
            for t, c in zip(threads, counted, strict=True)
        ] + [{"redraws": float("nan"), "seconds": 1.0}] * (len(pages) - len(threads))
    else:
        reports = [page.evaluate("() => window.__liveSampler.report()") for page in pages]
    errors = sum(page.locator("[data-testid='stException']").count() for page in pages)
    result = []
    for page, got, r, (ta, sa), (tb, sb) in zip(pages, streams, reports, first, last, strict=True):
        result.append({
            "replica": route(page),
            "token": got[-1].rsplit("/", 1)[-1] if got else "",  # its run's frames
            "redraws": r["redraws"] / r["seconds"],
            "epochs": (sb - sa) / STEPS_PER_EPOCH / (tb - ta),
            "errors": errors,
            "page": page,
        })  # fmt: skip
    return result


def run_setup(
    name: str, replicas: int, server_cores: list[int], browser_cores: list[int], args
) -> float:
    """Serve `replicas` replicas (replica i on server_cores[i]), play the class from browsers
    on `browser_cores`; print the figures and return the total epochs per second."""
    os.sched_setaffinity(0, set(browser_cores))  # nginx and the browsers inherit it
    port = args.port + 10 * replicas
    pin = [{c} for c in server_cores]
    env = dict(os.environ, PLAYGROUND_SERVICE_STATS="1")
    logs = LOGS / name
    for old in logs.glob("*.log"):
        old.unlink()  # the service's statistics are read back from these
    with serve(replicas, port, pin=pin, log_dir=logs, max_sessions=1000, env=env) as cls:
        pids = cls.replica_pids()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            lower = driver_pids(pids) if args.nice_browsers else None
            if lower:
                lower_browsers(lower)
            # "idle after warm-up": the server's own warm-up, then one visit per replica (the
            # first page a process draws imports the app's modules, once), then a pause
            for _ in pids:
                open_playground(browser, cls.url).context.close()
            time.sleep(args.warm_up)
            idle = [rss_mb(pid) for pid in pids]
            replica_logs = [logs / f"replica-{i + 1}.log" for i in range(replicas)]
            window: list[float] = []

            def mark() -> None:
                window.append(time.time())

            frozen = (lambda: browser_pids(driver_pids(pids))) if args.light_clients else None
            result = play_class(
                browser, cls.url, args.sessions, args.seconds, lower, mark, args.throttle, frozen
            )
            window.append(window[0] + args.seconds)
            busy = [rss_mb(pid) for pid in pids]
            time.sleep(1)  # the last statistics line inside the window reaches its log
            counted = [trained_rate(log, *window) for log in replica_logs]
            if min(c.seconds for c in counted) < 1:
                print("  no whole 5-second statistics window in the measured period: "
                      "use --seconds 12 or more")  # fmt: skip
            served_epochs = sum(c.rate for c in counted) / STEPS_PER_EPOCH
            for session in result:  # each run's own steps, as its replica's service logged them
                key = session["token"][:6]
                steps = sum(c.by_run.get(key, 0.0) for c in counted) if key else float("nan")
                session["served"] = steps / STEPS_PER_EPOCH
            total = sum(s["epochs"] for s in result)
            print(f"{name}: {replicas} replica(s) on core(s) {server_cores}, browsers on "
                  f"{browser_cores}, {args.sessions} sessions")  # fmt: skip
            for s in result:
                print(f"  session on {s['replica']}: {s['redraws']:.1f} redraws/s, "
                      f"{s['epochs']:.1f} epochs/s shown, {s['served']:.1f} logged")  # fmt: skip
            for i, (a, b) in enumerate(zip(idle, busy, strict=True)):
                n = sum(s["replica"] == f"r{i + 1}" for s in result)
                per = (b - a) / n if n else float("nan")
                print(f"  replica r{i + 1}: {a:.0f} MB idle after warm-up, {b:.0f} MB with {n} "
                      f"sessions playing ({per:+.1f} MB per session)")  # fmt: skip
            print(f"  total {total:.1f} epochs/s as the pages showed them (the services logged "
                  f"{served_epochs:.1f} in {min(c.seconds for c in counted):.0f}+ s of whole "
                  f"windows); errors shown {result[0]['errors']}")  # fmt: skip
            for s in result:
                s["page"].context.close()
            if args.mnist and replicas == 1:
                mnist_memory(browser, cls.url, pids[0], args.mnist)
            browser.close()
    # Throttled pages read their step counters late: the services' own log is the measure.
    return served_epochs if args.throttle > 1 or args.light_clients else total


def mnist_memory(browser: Browser, url: str, pid: int, n: int) -> None:
    """Memory MNIST sessions add to their replica while they play: the first one (which also
    loads the digits into the process, once), then each of `n` more."""

    def play_mnist() -> Page:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{url}{MNIST}")
        # the first MNIST page of a process loads the digits: allow it time on a busy core
        page.get_by_role("button", name="Play", exact=True).first.click(timeout=180_000)
        return page

    time.sleep(2)
    before = rss_mb(pid)
    pages = [play_mnist()]
    time.sleep(10)
    first = rss_mb(pid)
    pages += [play_mnist() for _ in range(n)]
    time.sleep(10)
    after = rss_mb(pid)
    print(f"  MNIST: {before:.0f} MB -> {first:.0f} MB with one session playing, {after:.0f} MB "
          f"with {n + 1} ({(after - first) / n:+.1f} MB per session after the first)")  # fmt: skip
    for page in pages:
        page.context.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=30.0, help="sampling time per setup")
    p.add_argument("--sessions", type=int, default=8, help="browser sessions playing")
    p.add_argument("--warm-up", type=float, default=10.0, help="seconds before the class opens")
    p.add_argument("--mnist", type=int, default=0, help="MNIST sessions for the memory figure")
    p.add_argument("--port", type=int, default=18700, help="base port (nginx on PORT+10*K)")
    p.add_argument(
        "--nice-browsers",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="browsers at the lowest priority (on two cores they then starve: minutes a click)",
    )
    p.add_argument(
        "--throttle",
        type=float,
        default=None,
        help="slow every playing page's renderer this many times (DevTools CPU throttling), so "
        "that the browsers take little CPU from the replicas; default 20 on fewer than four "
        "cores, else off. Pages still pull frames and keep their runs watched; the totals are "
        "then the replicas' own logged epochs/s",
    )
    p.add_argument(
        "--light-clients",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="once every page plays, freeze the browsers (SIGSTOP: their sessions stay "
        "connected) and pull each session's frames from threads of this script, as the live "
        "view does: measures the replicas' throughput when the clients cost next to nothing "
        "(default on fewer than four cores, where real browsers take the second replica's core)",
    )
    args = p.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} not found: apt-get install chromium")
    if nginx_binary() is None:
        sys.exit("nginx not found: apt-get install nginx")
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        sys.exit("needs two cores at least (four for a fair measurement)")
    spare = cores[2:]  # the browsers' cores in both setups, so that only the replicas differ
    if args.throttle is None:
        args.throttle = 0.0
    if args.light_clients is None:  # real browsers need cores of their own to draw
        args.light_clients = not spare
    if args.light_clients:
        print(
            "light clients: once the pages play, the browsers are frozen and threads "
            "pull the frames (both setups alike); totals: the replicas' logged epochs/s"
        )
    machine = bare_scaling(cores)
    if args.throttle > 1:
        print(f"pages throttled {args.throttle:g}x once they play (both setups alike): "
              "the totals are the replicas' logged epochs/s")  # fmt: skip
    one = run_setup("one-replica", 1, cores[:1], spare or cores[1:], args)
    if not spare and args.throttle <= 1 and not args.light_clients:
        print("note: only two cores: with two replicas the browsers share the replicas' cores "
              "and take their time from training, so this understates two replicas; use four "
              "cores or more")  # fmt: skip
    two = run_setup("two-replicas", 2, cores[:2], spare or cores, args)
    os.sched_setaffinity(0, set(cores))
    ratio = two / one if one else float("nan")
    print(f"two replicas / one: {ratio:.2f}x total epochs/s (target >= 1.7); the machine's "
          f"own two loops / one: {machine:.2f}x, so the replicas reach {ratio / machine:.0%} of "
          "the machine's own scaling")  # fmt: skip


if __name__ == "__main__":
    main()
