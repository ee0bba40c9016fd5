"""Warm the server up before its first visitor.

`app.py` starts `start()` when the server starts (st.App's lifespan). Without it the first
session after a restart paid for importing torch, pandas, Altair and the app's modules and
for torch's first operations, about 6 s on a 2-core machine, before its first chart. Every
session's script (`shell.py`) calls `wait()` first, so no page imports a module while this
thread is halfway through importing it.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading

_done = threading.Event()
_started = False
_lock = threading.Lock()
_LOG = logging.getLogger(__name__)


def start() -> None:
    """Begin warming up in a background thread (once per process)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_warm_up, name="playground-preload", daemon=True).start()


def wait(timeout_s: float = 60.0) -> bool:
    """Block until the warm-up has finished (at once if none was started); True if done."""
    return _done.wait(timeout_s) if _started else True


def _warm_up() -> None:
    try:
        import torch

        torch.set_num_threads(1)  # this thread trains a little below: one thread, as everywhere
        import ui

        for module in pkgutil.iter_modules(ui.__path__):
            importlib.import_module(f"ui.{module.name}")
        from engine.config import Config
        from engine.trainer import Trainer

        Trainer(Config().replace(device="cpu")).step(5)  # torch's first ops are slow
    except Exception:  # a failed warm-up only costs the first visitor time
        _LOG.exception("warming up failed; the first session will load what it needs")
    finally:
        _done.set()
