"""The MNIST page through AppTest: MLP/CNN controls, live ticks, the full-set download from a
local mirror, test results at the end, and "try your own digit"."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from app_helpers import (
    assert_clean,
    assert_every_chart_has_data,
    live_view,
    metric,
    open_page,
    run_of,
    shown,
    values,
)
from PIL import Image
from streamlit.testing.v1 import AppTest

from engine.data import mnist

PAGE = "mnist"


def key(path: str) -> str:
    return f"{PAGE}.w.{path}"


@pytest.fixture
def at() -> AppTest:
    page = open_page("mnist")
    assert_clean(page)
    return page


def test_loads_an_mlp_on_the_built_in_digits_and_trains_live(at: AppTest) -> None:
    v = values(at, PAGE)
    assert v["data.dataset"] == "mnist" and v["model.arch"] == "mlp"
    at.button(key="mnist.run.btn.play").click().run()
    run = run_of(at, PAGE)
    assert run.playing and run.trainer.step_count > 0
    before = run.trainer.step_count
    at.run()
    assert run_of(at, PAGE).trainer.step_count > before
    assert metric(at, "Steps") == f"{before:,}"  # a tick draws, then trains
    # the live validation grid: 50 digits, each with its prediction and confidence
    grid = live_view(at, "mnist.run.view")
    labels, pred = (np.frombuffer(base64.b64decode(grid[k]), np.uint8) for k in ("labels", "pred"))
    assert len(labels) == len(pred) == 50 and len(base64.b64decode(grid["images"])) == 50 * 784
    right = int((labels == pred).sum())
    assert grid["caption"].startswith(f"{right} of 50 validation digits right")
    # each digit says what the network read and how sure it was (issue 14.4): the argmax of
    # ten probabilities is at least 10%
    conf = np.frombuffer(base64.b64decode(grid["conf"]), np.uint8)
    assert len(conf) == 50 and conf.min() >= 10 and conf.max() <= 100


def test_cnn_controls_appear_and_the_cnn_trains(at: AppTest) -> None:
    assert not any(s.key == key("model.pool") for s in at.selectbox)
    at.selectbox(key=key("model.arch")).select("cnn").run()
    at.text_input(key=key("model.hidden")).input("4, 8").run()
    assert any(s.key == key("model.pool") for s in at.selectbox)
    assert any(s.key == key("model.kernel_size") for s in at.select_slider)
    dropouts = at.selectbox(key=key("model.dropout")).options
    assert any("Spatial" in o for o in dropouts) and any("DropBlock" in o for o in dropouts)
    at.button(key="mnist.run.btn.step").click().run()
    assert_clean(at)
    run = run_of(at, PAGE)
    assert run.trainer.cfg.model.arch == "cnn" and run.trainer.step_count > 0


def test_a_finished_run_scores_the_test_set(at: AppTest) -> None:
    at.number_input(key=key("train.epochs")).set_value(1).run()
    at.button(key="mnist.run.btn.play").click().run()
    for _ in range(40):
        if run_of(at, PAGE).trainer.done:
            break
        at.run()
    at.run()
    run = run_of(at, PAGE)
    assert run.trainer.status == "finished" and not run.playing
    accuracy = float(metric(at, "Test accuracy").rstrip("%")) / 100
    assert accuracy > 0.8
    assert accuracy == pytest.approx(run.trainer.summary()["test_acc"], abs=1e-4)
    assert any("finished" in shown(i) for i in at.info)
    assert_every_chart_has_data(at, "test results")  # curves and the confusion matrix
    for tab in ("Inside the network", "Gradients"):
        at.session_state["mnist.tab"] = tab
        at.run()
        assert_every_chart_has_data(at, tab)
    assert any(m.value.startswith("**Most confidently wrong**") for m in at.markdown)


def digit_png(index: int, invert: bool = True) -> bytes:
    """An official test digit, enlarged and (by default) dark on light, as a photo would be."""
    digit = mnist.load_embedded().test_x[index]
    img = Image.fromarray(255 - digit if invert else digit).resize((140, 140), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_your_own_digit_shows_the_steps_and_the_prediction(at: AppTest) -> None:
    at.number_input(key=key("train.epochs")).set_value(3).run()
    at.button(key="mnist.run.btn.play").click().run()
    while run_of(at, PAGE).playing:
        at.run()
    upload = next(u for u in at.file_uploader if u.key == "mnist.digit")
    label = int(mnist.load_embedded().test_y[0])
    upload.set_value(("seven.png", digit_png(0), "image/png")).run()
    assert_clean(at)
    assert metric(at, "Prediction") == str(label)

    upload = next(u for u in at.file_uploader if u.key == "mnist.digit")
    upload.set_value(("notes.png", b"this is not an image", "image/png")).run()
    assert not at.exception
    assert any("notes.png" in shown(e) and "PNG or JPEG" in shown(e) for e in at.error)


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local HTTP mirror serving 'full' training files made of the embedded 5,000 images,
    with the checksums the download expects patched to match; the cache is a temp folder."""
    root = tmp_path / "www"
    root.mkdir()
    data = mnist.load_embedded()
    files = {
        mnist.TRAIN_IMAGES: idx(data.train_x, 0x0803),
        mnist.TRAIN_LABELS: idx(data.train_y, 0x0801),
    }
    for name, payload in files.items():
        (root / name).write_bytes(gzip.compress(payload))
    hashes = {n: "md5:" + hashlib.md5((root / n).read_bytes()).hexdigest() for n in files}
    monkeypatch.setattr(mnist, "FULL_HASHES", hashes)
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "cache"))
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def idx(arr: np.ndarray, magic: int) -> bytes:
    """IDX bytes: magic, dimensions (big-endian int32), then the uint8 data."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def test_full_set_downloads_with_progress_then_trains(
    mirror: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mnist.URL_ENV, mirror)
    at = open_page("mnist", {"data.dataset": "mnist_full"})
    assert any("not on this machine" in shown(i) for i in at.info)
    assert at.button(key="mnist.run.btn.play").disabled
    at.button(key="mnist.btn.download").click().run()
    assert_clean(at)
    run = run_of(at, PAGE)
    assert run.trainer.cfg.data.dataset == "mnist_full"
    assert len(run.trainer.train_split.y) + len(run.trainer.val_split.y) == 5000
    at.button(key="mnist.run.btn.step").click().run()
    assert run_of(at, PAGE).trainer.step_count > 0


def test_failed_download_says_so_and_the_built_in_set_still_works(
    mirror: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mnist.URL_ENV, mirror + "missing/")
    at = open_page("mnist", {"data.dataset": "mnist_full"})
    at.button(key="mnist.btn.download").click().run()
    assert not at.exception
    assert any("Download failed" in shown(e) and "HTTP 404" in shown(e) for e in at.error)
    at.selectbox(key=key("data.dataset")).select("mnist").run()
    assert_clean(at)
    at.button(key="mnist.run.btn.step").click().run()
    assert run_of(at, PAGE).trainer.step_count > 0


def test_link_round_trip_and_garbage() -> None:
    link = {"model.arch": "cnn", "model.hidden": "4,8", "train.lr": "0.003", "model.pool": "avg"}
    at = open_page("mnist", link)
    assert_clean(at)
    cfg = run_of(at, PAGE).trainer.cfg
    assert (cfg.model.arch, cfg.model.hidden, cfg.train.lr) == ("cnn", (4, 8), 0.003)
    assert dict(at.query_params) == link
    bad = open_page("mnist", {"model.arch": "rnn", "data.dataset": "circle", "seed": "x"})
    assert not bad.exception
    notices = " ".join(shown(w) for w in bad.warning)
    assert "model.arch" in notices and "circle" in notices and "seed" in notices
    assert values(bad, PAGE)["model.arch"] == "mlp"
