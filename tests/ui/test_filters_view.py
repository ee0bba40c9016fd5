"""The MNIST page's "Filters" tab (issue 13): with the CNN preset it shows the first layer's
kernels and a chosen validation digit's feature maps layer by layer, in either language; an
MLP has no such tab."""

from __future__ import annotations

import numpy as np
from app_helpers import assert_clean, open_page, run_of
from streamlit.testing.v1 import AppTest
from zh_check import ZH, english_words, shown_texts, untranslated

from engine.presets import list_presets
from ui import filters_view

PAGE = "mnist"


def cnn_page(query: dict[str, str] | None = None) -> AppTest:
    """The MNIST page opened on a link to the CNN preset, one step taken."""
    presets = {p.name: p.config for p in list_presets(PAGE)}
    link = presets["2_cnn"].to_query(base=presets[next(iter(presets))])
    at = open_page(PAGE, {**link, **(query or {})})
    at.button(key=f"{PAGE}.run.btn.step").click().run()
    assert_clean(at)
    assert run_of(at, PAGE).trainer.cfg.model.hidden == (16, 32)
    return at


def open_tab(at: AppTest, label: str) -> None:
    assert label in [tab.label for tab in at.tabs]
    at.session_state[f"{PAGE}.tab"] = label  # a tab's state is its shown label
    at.run()
    assert_clean(at)


def captions(at: AppTest) -> list[str]:
    return [img.caption for image in at.get("image") for img in image.proto.imgs]


def test_the_filters_tab_shows_kernels_and_each_layers_maps() -> None:
    at = cnn_page()
    open_tab(at, "Filters")
    shown = captions(at)
    assert len(shown) == 6, shown  # the digit, the kernels, conv and pool of both blocks
    assert shown[2:] == [
        "Convolution 1: 16 maps of 28×28",
        "Activation and pooling 1: 16 maps of 14×14",
        "Convolution 2: 32 maps of 14×14 (the first 16 shown)",
        "Activation and pooling 2: 32 maps of 7×7 (the first 16 shown)",
    ]
    assert any("kernels (3×3 weights each)" in c.value for c in at.caption)
    # another digit: its own label in the caption
    t = run_of(at, PAGE).trainer
    at.number_input(key=f"{PAGE}.filters.digit").set_value(7).run()
    assert_clean(at)
    assert captions(at)[0].startswith(f"A {int(t.val_split.y[7])}, read as ")
    # an MLP has no kernels: switched to one with the tab open, the tab goes, the page draws
    at.selectbox(key=f"{PAGE}.w.model.arch").select("mlp").run()
    assert_clean(at)
    assert "Filters" not in [tab.label for tab in at.tabs]


def test_the_pictures_are_crisp_and_share_one_scale() -> None:
    """Each kernel weight is a solid square of the picture, and the largest weight of all the
    kernels is full blue or full orange (one scale for every kernel)."""
    maps = np.array([[[0.5, -1.0], [0.0, 0.25]], [[2.0, 0.0], [0.0, -0.5]]], dtype=np.float32)
    img = np.asarray(filters_view.mosaic(maps, cell=20))
    gap = filters_view.GAP
    assert img.shape == (gap + 20 + gap, 2 * (20 + gap) + gap, 3)
    first = img[gap : gap + 20, gap : gap + 20]
    assert (first[:10, :10] == first[0, 0]).all()  # nearest: one colour per value
    second = img[gap : gap + 20, 2 * gap + 20 : 2 * gap + 40]
    assert tuple(second[0, 0]) == (8, 119, 189)  # 2.0, the largest: full blue
    assert tuple(first[0, 10]) != (245, 147, 34)  # -1.0 is half of it: not full orange
    assert tuple(first[10, 0]) == (255, 255, 255)  # 0: white


def test_the_filters_tab_in_chinese_has_no_english() -> None:
    assert not untranslated(("ui/filters_view.py",))
    at = cnn_page({"lang": "zh"})
    open_tab(at, ZH["text"]["Filters"])
    texts = shown_texts(at)
    assert ZH["text"]["**Kernels of the first convolution layer**"] in texts
    assert len(captions(at)) == 6
    left = english_words(texts)
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))
