"""Messages the engine and the training thread make (divergence, early stopping, the server's
caps and budget, a bad link, a bad CSV file) are shown in Chinese with lang=zh (issue 12): the
engine keeps writing English, and `i18n.message` matches them against the "messages" templates
of assets/i18n/zh/. Each message here is made by the real code that makes it, so a reworded
engine message that no template fits any more fails here."""

from __future__ import annotations

import re

import pytest
from app_helpers import assert_clean, open_page

from engine.budget import check
from engine.config import Config
from engine.data.errors import DataError
from engine.data.uploads import parse_points_csv
from engine.registry import ConfigError
from engine.trainer import Trainer
from tests.engine.tiny import tiny
from ui import i18n, live
from ui.live import LiveRun, check_stop

HAN = re.compile(r"[\u4e00-\u9fff]")
# Three English words in a row: a sentence left untranslated (names, paths, values and lists
# such as "x1, x2, label" or "linear, sigmoid" are not).
SENTENCE = re.compile(r"\b[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}\b")
SLOT = re.compile(r"\{(\w+)\}")


def assert_chinese(english: str) -> None:
    shown = i18n.message(english, "zh")
    assert HAN.search(shown), f"no template fits: {english!r}"
    assert not SENTENCE.search(shown), f"English left in {shown!r} (from {english!r})"
    assert i18n.message(english, "en") == english


def csv_error(data: bytes) -> str:
    pad = b"".join(b"%d,%d,%d\n" % (i, i, i % 2) for i in range(12))
    with pytest.raises(DataError) as e:
        parse_points_csv(data + pad if data else data)
    return str(e.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",  # empty
        b"1,2\n",  # two columns
        b"1;2;0;4\n",  # four, with semicolons
        b"1,abc,0\n",  # not a number
        b"1,,0\n",  # empty column
        b"1,inf,0\n",  # not finite
        b"1e400,2,0\n",  # too large
        b"1,2,\n",  # no label
        b"1,2,0.5\n",  # a measured value as label
        b"\xff,1,0\n",  # not UTF-8
    ],
)
def test_a_bad_csv_files_message_is_shown_in_chinese(data: bytes) -> None:
    assert_chinese(csv_error(data))


def test_too_few_rows_in_chinese() -> None:
    with pytest.raises(DataError) as e:
        parse_points_csv(b"1,2,0\n3,4,1\n")
    assert_chinese(str(e.value))


@pytest.mark.parametrize(
    "changes",
    [
        {"model.hidden": (4096,) * 8},  # too many parameters
        {"data.n_samples": 100_000, "data.input_dim": 1000, "data.dataset": "normal_noise"},
    ],
)
def test_the_servers_budget_speaks_chinese(changes: dict) -> None:
    with pytest.raises(ConfigError) as e:
        check(Config().replace(**changes))
    assert_chinese(str(e.value))


def test_the_trainers_own_messages_speak_chinese() -> None:
    finished = Trainer(tiny())
    finished.run()
    assert finished.message.startswith("finished")
    assert_chinese(finished.message)

    diverged = Trainer(tiny())
    diverged._diverged(float("nan"), 10.0)
    assert_chinese(diverged.message)

    # the weights never move (lr 1e-30): no evaluation is better than the first, so it stops
    stopped = Trainer(tiny(**{"train.lr": 1e-30, "train.early_stopping_patience": 2}))
    stopped.run()
    assert stopped.status == "early_stopped", stopped.message
    assert_chinese(stopped.message)


def test_the_servers_caps_speak_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    run = LiveRun(trainers=[Trainer(tiny())])
    monkeypatch.setattr(live, "MAX_STEPS", 0)
    check_stop(run)
    assert_chinese(run.notice)
    monkeypatch.setattr(live, "MAX_STEPS", 10**9)
    monkeypatch.setattr(live, "MAX_TRAIN_SECONDS", -1)
    check_stop(run)
    assert_chinese(run.notice)


def test_a_bad_links_notices_are_shown_in_chinese() -> None:
    link = {
        "lang": "zh",
        "train.lr": "abc",
        "data.noise": "-1",
        "no.such": "1",
        "model.activation": "nope",
        "model.arch": "cnn",
        "model.hidden": ",".join(["4096"] * 8),
    }
    at = open_page("playground", link)
    assert_clean(at)
    shown = [w.value for w in at.warning]
    assert len(shown) >= 5, shown
    for text in shown:
        assert HAN.search(text) and not SENTENCE.search(text.replace("\\", "")), text


def test_templates_fill_their_slots_with_translated_parts() -> None:
    wrapped = "Training stopped: ConfigError: model.hidden: give at least one hidden layer width"
    shown = i18n.message(wrapped, "zh")
    assert shown.startswith(i18n.message("Training stopped: {error}", "zh").split("{")[0])
    assert "model.hidden" in shown and HAN.search(shown.split("model.hidden")[-1])
    assert i18n.message("no template fits this", "zh") == "no template fits this"
    assert (
        i18n.message("All runs finished.", "zh") == i18n.table("zh")["text"]["All runs finished."]
    )


def test_every_template_keeps_the_slots_of_its_english() -> None:
    """A Chinese template with a slot its English lacks could never be filled."""
    for english, chinese in i18n.table("zh")["messages"].items():
        assert set(SLOT.findall(chinese)) <= set(SLOT.findall(english)), english
        assert HAN.search(chinese), english


def test_a_search_space_refused_for_a_switched_off_knob_speaks_chinese() -> None:
    from engine.search import Space, objective

    for params in (
        [{"field": "model.dropout_rate", "type": "float", "low": 0, "high": 0.5}],
        [
            {"field": "train.momentum", "type": "float", "low": 0.5, "high": 0.9},
            {"field": "train.optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
        ],
    ):
        with pytest.raises(ConfigError) as e:
            objective(Config(), Space.from_dict({"params": params}))
        assert_chinese(str(e.value))
