"""The server's warm-up (ui/preload.py) and the entry point that starts it (app.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WARM_UP = """
import sys
from ui import preload
assert preload.wait(0), "no warm-up started: wait returns at once"
assert "torch" not in sys.modules
preload.start()
preload.start()  # once per process
assert preload.wait(300), "the warm-up did not finish"
missing = [m for m in ("torch", "altair", "ui.live", "ui.toy_view", "engine.trainer")
           if m not in sys.modules]
assert not missing, missing
import threading
assert [t.name for t in threading.enumerate()].count("playground-preload") == 0
print("ok")
"""


def test_the_warm_up_loads_torch_and_the_app_modules_once_in_the_background() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WARM_UP], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_streamlit_run_app_py_finds_the_app_that_serves_shell_py() -> None:
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"
    assert (ROOT / "shell.py").is_file()
