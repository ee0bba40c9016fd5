"""Serve the playground to a class: K Streamlit processes (replicas) behind nginx on one port.

    python -m deploy.serve_class --replicas 2 --port 8501     # what `make serve-class` runs

One Python process trains on one core (the GIL), so a class needs several processes to use
several cores. Replica i listens on 127.0.0.1:PORT+i; nginx listens on PORT and keeps each
browser on one replica with a cookie (deploy/nginx.conf.template, docs/deploy.md). nginx runs in
the foreground as the invoking user from a run folder of its own; Ctrl-C stops everything.
Each replica admits at most --max-sessions sessions (PLAYGROUND_MAX_SESSIONS) and shares the
run store and search studies of the environment (PLAYGROUND_RUNS_DB, ...), as `make run` does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
COOKIE = "playground_replica"
START_TIMEOUT_S = 120.0  # a replica imports torch and warms up; slow on a busy 2-core host


@dataclass
class Class:
    """A running class server: its URL, the replicas' URLs and the processes."""

    url: str
    replicas: list[str]
    run_dir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    def replica_pids(self) -> list[int]:
        return [p.pid for p in self.procs[:-1]]


def nginx_binary() -> str | None:
    """nginx on PATH or in /usr/sbin (Debian's package; not on a normal user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_config(ports: list[int], listen: str, run_dir: Path) -> str:
    """The nginx configuration for replicas on 127.0.0.1:`ports`, listening on `listen`."""
    routes = [f"r{i + 1}" for i in range(len(ports))]
    addresses = [f"127.0.0.1:{p}" for p in ports]
    route_to_upstream = [f"        {r} replica_{r};" for r in routes]
    # after a failover $upstream_addr lists every address tried: the last one answered
    escaped = [a.replace(".", "\\.") for a in addresses]
    address_to_route = [f"        ~(^|\\s){e}$ {r};" for r, e in zip(routes, escaped, strict=True)]
    pool = [f"        server {a};" for a in addresses]
    upstreams = []
    for r, a in zip(routes, addresses, strict=True):
        backups = "".join(f"        server {b} backup;\n" for b in addresses if b != a)
        upstreams.append(f"    upstream replica_{r} {{\n        server {a};\n{backups}    }}")
    fields = {
        "@RUN_DIR@": str(run_dir),
        "@LISTEN@": listen,
        "@COOKIE@": COOKIE,
        "@ROUTE_TO_UPSTREAM@": "\n".join(route_to_upstream),
        "@ADDRESS_TO_ROUTE@": "\n".join(address_to_route),
        "@POOL_SERVERS@": "\n".join(pool),
        "@REPLICA_UPSTREAMS@": "\n".join(upstreams),
    }
    text = TEMPLATE.read_text()
    for name, value in fields.items():
        text = text.replace(name, value)
    return text


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _replica(port: int, env: dict[str, str], log: Path, cpus: set[int] | None) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",  # reached only through nginx
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log, "a") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )  # fmt: skip


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@contextmanager
def serve(
    replicas: int,
    port: int,
    *,
    listen: str = "127.0.0.1",
    max_sessions: int | None = None,
    pin: list[set[int]] | None = None,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[Class]:
    """Start `replicas` app processes on port+1.. and nginx on `port`; stop them on exit.

    `pin[i]`: the CPUs replica i runs on (none: any). `env`: the replicas' environment (default
    this process's). Logs go to `log_dir` (default the run folder) as replica-<i>.log."""
    if replicas < 1:
        raise ValueError("--replicas: at least 1")
    nginx = nginx_binary()
    if nginx is None:
        raise RuntimeError("nginx not found: install it (apt-get install nginx)")
    run_dir = Path(tempfile.mkdtemp(prefix="playground-class-"))
    logs = log_dir or run_dir
    logs.mkdir(parents=True, exist_ok=True)
    ports = [port + i + 1 for i in range(replicas)]
    base_env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    if max_sessions is not None:
        base_env["PLAYGROUND_MAX_SESSIONS"] = str(max_sessions)
    procs: list[subprocess.Popen] = []
    try:
        for i, p in enumerate(ports):
            cpus = pin[i % len(pin)] if pin else None
            procs.append(_replica(p, base_env, logs / f"replica-{i + 1}.log", cpus))
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        deadline = time.monotonic() + START_TIMEOUT_S
        for i, (url, proc) in enumerate(zip(urls, procs, strict=True)):
            while not healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (logs / f"replica-{i + 1}.log").read_text(errors="replace")
                    raise RuntimeError(f"replica {i + 1} ({url}) did not start:\n{log[-3000:]}")
                time.sleep(0.25)
        conf = run_dir / "nginx.conf"
        conf.write_text(nginx_config(ports, f"{listen}:{port}", run_dir))
        nginx_cmd = [nginx, "-p", str(run_dir), "-c", str(conf), "-e", "stderr"]
        with open(logs / "nginx.log", "a") as out:
            procs.append(subprocess.Popen(nginx_cmd, stdout=out, stderr=subprocess.STDOUT))
        host = "127.0.0.1" if listen in ("0.0.0.0", "[::]") else listen
        url = f"http://{host}:{port}"
        deadline = time.monotonic() + 30
        while not healthy(url):
            if procs[-1].poll() is not None or time.monotonic() > deadline:
                log = (logs / "nginx.log").read_text(errors="replace")
                raise RuntimeError(f"nginx did not start on {listen}:{port}:\n{log[-3000:]}")
            time.sleep(0.1)
        yield Class(url, urls, run_dir, procs)
    finally:
        _stop(procs[::-1])  # nginx first: no new requests to replicas that are stopping
        if log_dir is None:
            print(f"logs kept in {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--replicas", type=int, default=2, help="app processes (about one per core)")
    p.add_argument("--port", type=int, default=8501, help="nginx's port; replicas use PORT+1..")
    p.add_argument("--listen", default="0.0.0.0", help="nginx's address (default: every one)")
    p.add_argument(
        "--max-sessions",
        type=int,
        default=None,
        help="sessions per replica (default $PLAYGROUND_MAX_SESSIONS, else 16)",
    )
    p.add_argument("--pin", action="store_true", help="pin replica i to core i (mod cores)")
    args = p.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    pin = [{c} for c in cores] if args.pin else None
    # Ctrl-C or a stop from the host: leave the `with` below, which stops every process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started in background
    try:
        with serve(
            args.replicas, args.port, listen=args.listen, max_sessions=args.max_sessions,
            pin=pin,
        ) as cls:  # fmt: skip
            print(f"serving {args.replicas} replicas on {cls.url} (logs in {cls.run_dir}); "
                  "Ctrl-C stops", flush=True)  # fmt: skip
            while all(proc.poll() is None for proc in cls.procs):
                time.sleep(0.5)
            sys.exit("a replica or nginx stopped; see the logs above")
    except KeyboardInterrupt:
        pass
    except (RuntimeError, ValueError) as e:
        sys.exit(f"serve-class: {e}")


if __name__ == "__main__":
    main()
