"""The regularization lab's view of augmented samples (ui/augment_view.py), in English and
Chinese, and the augmentation knobs' texts and refusal in Chinese."""

from __future__ import annotations

import re

import numpy as np
import pytest
from app_helpers import assert_clean, open_page
from zh_check import english_words, shown_texts, untranslated

from engine.config import Config
from engine.data.augment import Augment
from engine.registry import ConfigError
from ui import i18n
from ui.augment_view import DRAWS, draws, example_digit

PAGE = "lab_reg"
SMALL = {"data.train_subset": "100"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def captions(at) -> list[str]:
    return [img.caption for image in at.get("image") for img in image.proto.imgs]


def urls(at) -> list[str]:
    return [img.url for image in at.get("image") for img in image.proto.imgs]


def test_the_augmentation_run_shows_one_digit_under_several_draws() -> None:
    at = open_page("lab_regularization", SMALL)
    assert_clean(at)
    assert "Data augmentation: what the network trains on" in [s.value for s in at.subheader]
    rows = [c for c in captions(at) if c.startswith("data augmentation:")]
    assert rows == [f"data augmentation: the digit as it is, then {DRAWS} random draws"]
    before = urls(at)
    at.selectbox(key=f"{PAGE}.aug.digit").set_value(7).run()
    assert_clean(at)
    assert urls(at) != before  # another digit, another picture
    at.multiselect(key=f"{PAGE}.variants").set_value(["no regularization"]).run()
    assert_clean(at)
    assert not [c for c in captions(at) if c.startswith("data augmentation:")]
    assert any("None of these runs augments" in c.value for c in at.caption)


def test_the_view_draws_in_chinese_without_english() -> None:
    at = open_page("lab_regularization", {"lang": "zh", **SMALL})
    assert_clean(at)
    zh = i18n.table("zh")["text"]
    assert zh["Data augmentation: what the network trains on"] in [s.value for s in at.subheader]
    assert f"数据增强：原始的数字，然后是 {DRAWS} 次随机抽样" in captions(at)
    texts = [t for t in shown_texts(at) if "增强" in t or "抽样" in t]
    assert texts and not english_words(texts)
    assert not untranslated(["ui/augment_view.py", "app_pages/lab_regularization.py"])


def test_draws_are_seeded_digits_that_differ_from_the_original() -> None:
    image = example_digit(3)
    aug = Augment(shift=2.0, rotation=10.0)
    out = draws(image, aug, seed=0, n=4)
    assert out.shape == (4, 28, 28) and out.dtype == np.uint8
    assert np.array_equal(out, draws(image, aug, seed=0, n=4))
    assert all(not np.array_equal(copy, image) for copy in out)
    assert abs(int(out.astype(int).sum()) / 4 - int(image.astype(int).sum())) < 0.2 * image.sum()


@pytest.mark.parametrize("path", ["train.augment_shift", "train.augment_elastic"])
def test_the_refusal_for_points_and_the_knobs_speak_chinese(path: str) -> None:
    with pytest.raises(ConfigError) as e:
        Config().replace(**{path: 1.0})  # circle points
    english = str(e.value)
    shown = i18n.message(english, "zh")
    assert HAN.search(shown) and "数据增强" in shown and shown.startswith(path)
    assert i18n.message(english, "en") == english
    fields = i18n.table("zh")["fields"][path]
    assert HAN.search(fields["label"]) and HAN.search(fields["help"])


def test_the_mnist_pages_sliders_set_the_augmentation_a_link_carries() -> None:
    at = open_page("mnist", {**SMALL, "train.augment_rotation": "15"})
    assert_clean(at)
    assert at.session_state["mnist.values"]["train.augment_rotation"] == 15.0
    slider = at.slider(key="mnist.w.train.augment_rotation")
    assert slider.label == "Random rotation (degrees)" and slider.value == 15.0
    at.slider(key="mnist.w.train.augment_shift").set_value(1.5).run()
    assert_clean(at)
    assert at.session_state["mnist.run"].trainer.cfg.train.augment_shift == 1.5
