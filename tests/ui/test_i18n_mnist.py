"""The MNIST page entirely in Chinese with lang=zh (issue 12): the sidebar, the presets, the
live digits, every tab, the test results (confusion matrix), "try your own digit" (upload, its
errors, the drawing pad's messages) and the full-set download have no English word left but
names and formulas; the engine's messages a student can trigger here come out in Chinese."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from app_helpers import assert_clean, live_view, open_page, run_of, shown
from PIL import Image
from streamlit.testing.v1 import AppTest
from zh_check import ALLOWED, HAN, ZH, english_words, shown_texts, untranslated

from engine.config import Config
from engine.data import DataError, mnist
from engine.data.digits import preprocess_digit, preprocess_ink
from engine.registry import ConfigError
from ui import i18n, images, mnist_view

PAGE = "mnist"
MODULES = ("app_pages/mnist.py", "ui/mnist_view.py", "ui/images.py", "ui/preload.py")


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def a_digit() -> bytes:
    """An official test digit, enlarged, dark on light as a photo of paper would be."""
    digit = 255 - mnist.load_embedded().test_x[0]
    return png(np.asarray(Image.fromarray(digit).resize((140, 140))))


def upload(at: AppTest, name: str, data: bytes) -> None:
    field = next(u for u in at.file_uploader if u.key == f"{PAGE}.digit")
    field.set_value((name, data, "image/png")).run()


def walk(at: AppTest, tab_label: dict[str, str]) -> list[str]:
    """Two steps, the test set scored, every tab opened, a digit and a broken file uploaded:
    every text shown on the way."""
    for _ in range(2):
        at.button(key=f"{PAGE}.run.btn.step").click().run()
    texts = shown_texts(at)
    at.button(key=f"{PAGE}.btn.score").click().run()
    assert_clean(at)
    texts += shown_texts(at)
    for tab in ("Inside the network", "Gradients"):  # only the open tab is drawn
        at.session_state[f"{PAGE}.tab"] = tab_label[tab]  # a tab's state is its shown label
        at.run()
        assert_clean(at)
        texts += shown_texts(at)
    upload(at, "seven.png", a_digit())
    assert_clean(at)
    texts += shown_texts(at)
    upload(at, "notes.png", b"this is not an image")
    assert not at.exception and len(at.error) == 1
    return texts + shown_texts(at)


def test_the_mnist_page_in_chinese_shows_no_english() -> None:
    at = open_page(PAGE, {"lang": "zh"})
    assert_clean(at)
    texts = walk(at, ZH["text"])
    assert run_of(at, PAGE).trainer.step_count > 0
    shown_somewhere = "\n".join(texts)
    reached = (
        "**Most confidently wrong**: true digit → what the network read (how sure).",
        "true digit",  # the confusion matrix
        "probability",  # the uploaded digit's
        "Gradient norm by depth",  # the last tab
    )
    for drawn in reached:
        assert ZH["text"][drawn] in shown_somewhere, drawn
    assert ZH["text"]["Could not read {name}: {error}"].split("{")[0] in shown_somewhere
    assert len(texts) > 150
    left = english_words(texts)
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))


def test_the_collector_finds_english() -> None:
    """The check above would catch English: the same walk in English is full of it."""
    at = open_page(PAGE)
    left = english_words(walk(at, {t: t for t in ("Inside the network", "Gradients")}))
    for word in ("Confusion", "validation", "digit", "Prediction", "predicted", "probability"):
        assert word in left or word in ALLOWED, word


def test_the_full_set_download_and_its_failure_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(mnist.URL_ENV, "http://127.0.0.1:9/")  # the discard port: refused
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    at = open_page(PAGE, {"lang": "zh", "data.dataset": "mnist_full"})
    assert_clean(at)
    at.button(key=f"{PAGE}.btn.download").click().run()
    assert not at.exception
    (error,) = at.error
    assert shown(error).startswith("下载失败：无法下载 http://127.0.0.1:9/"), shown(error)
    left = english_words(shown_texts(at))
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))


def engine_messages() -> list[str]:
    """Messages the engine gives for what a student does on this page (made by the engine
    itself, so a change of its wording shows up here)."""
    out = []
    for flat in (
        {"data.dataset": "mnist", "model.arch": "cnn", "model.hidden": (4, 4, 4, 4, 4)},
        {"data.dataset": "mnist", "model.hidden": (4096, 4096)},
        {
            "data.dataset": "mnist",
            "model.arch": "cnn",
            "model.hidden": (256, 256),
            "train.batch_size": 4096,
        },
        {"data.dataset": "mnist", "model.norm": "batch", "train.batch_size": 1},
        {
            "data.dataset": "mnist",
            "model.norm": "group",
            "model.norm_groups": 3,
            "model.hidden": (10,),
        },
    ):
        with pytest.raises(ConfigError) as e:
            Config.from_flat({**Config().to_flat(), **flat})
        out.append(str(e.value))
    white = np.full((60, 60), 255)
    for data in (b"", b"this is not an image", png(white)):
        with pytest.raises(DataError) as e:
            preprocess_digit(data)
        out.append(str(e.value))
    with pytest.raises(DataError) as e:
        preprocess_ink(np.zeros((112, 112), np.uint8))
    out.append(str(e.value))
    for ink in ({}, {"pixels": "x" * 10**6}, {"pixels": "%%%"}, {"pixels": "AAAA"}):
        with pytest.raises(DataError) as e:
            mnist_view.decode_ink(ink)
        out.append(str(e.value))
    return out


def test_the_engine_messages_a_student_meets_here_come_in_chinese() -> None:
    messages = engine_messages()
    assert len(messages) == 13
    for text in messages:
        assert HAN.search(i18n.message(text, "zh")), text
        assert i18n.message(text, "en") == text
    # the drawing pad shows one as a sentence of its own, in either language
    empty = messages[8]
    assert (
        mnist_view._sentence(empty)
        == "The drawing is empty: draw one digit, large, in the middle of the pad."
    )
    assert mnist_view._sentence(i18n.message(empty, "zh")).endswith("中间写一个大一点的数字。")


def test_every_text_the_mnist_page_translates_has_chinese() -> None:
    missing = untranslated(MODULES)
    assert not missing, "\n".join(missing)
    titles = mnist_view.CHART_TITLES.values()  # looked up through a table, not a literal
    assert all(HAN.search(ZH["text"][title]) for title in titles)


def test_pictures_draw_chinese_with_a_chinese_font() -> None:
    """A picture with Chinese text draws it with a CJK font (Pillow's own font would draw
    empty boxes); without one it still draws, with the default font."""
    if images.cjk_font_file() is None:
        pytest.skip("no Chinese font installed (fonts-noto-cjk)")
    assert "CJK" in images._font(13, "隐藏层").getname()[0]
    assert "CJK" not in images._font(13, "hidden 1").getname()[0]
    tile = Image.new("RGB", (8, 8), "white")
    img = images.network_diagram([[tile], [tile]], ["输入", "输出层"], [None], [0, 3], lang="zh")
    assert img.size[0] > 0


def test_without_a_chinese_font_pictures_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "cjk_font_file", lambda: ("/no/such/font.ttc", 0))
    assert images._font(13, "隐藏层") is not None  # the default font, no exception
    monkeypatch.setattr(images, "cjk_font_file", lambda: None)
    tile = Image.new("RGB", (8, 8), "white")
    images.network_diagram([[tile], [tile]], ["输入", "输出层"], [None], [0, 3], lang="zh")


def test_the_drawing_pads_result_follows_a_language_switch() -> None:
    """The pad's result is worded when the drawing arrives; switched to Chinese, the page words
    the same drawing's result again (its steps and its reading) rather than keep English."""
    at = open_page(PAGE)
    at.button(key=f"{PAGE}.run.btn.step").click().run()
    digit = Image.fromarray(mnist.load_embedded().test_x[0]).resize((112, 112))
    pixels = base64.b64encode(np.asarray(digit).tobytes()).decode()
    at.session_state[f"{PAGE}.pad"] = {"ink": {"n": 1, "pixels": pixels}}  # as a stroke sends
    english = {"message": "The network reads 7 (90% sure).", "steps": [], "lang": "en"}
    at.session_state[f"{PAGE}.pad.result"] = english
    at.session_state["lang"] = "zh"
    at.run()
    assert_clean(at)
    pad = live_view(at, f"{PAGE}.pad")
    reads = ZH["text"]["The network reads {digit} ({sure:.0%} sure)."]
    assert pad["message"].startswith(reads.split("{")[0]) and not pad["error"]
    steps = ("ink cropped", "fit in 20×20", "centred in 28×28")
    assert [s["label"] for s in pad["steps"]] == [ZH["text"][s] for s in steps]
