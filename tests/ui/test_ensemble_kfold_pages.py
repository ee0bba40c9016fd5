"""The Evaluation page's ensemble of stored runs and the Compare page's k-fold
cross-validation, in English and in Chinese: the ensemble's accuracy next to each member's,
runs of other data refused with the reason, k folds trained with progress and summed up."""

from __future__ import annotations

import pytest
from app_helpers import assert_clean, open_page, unplain
from zh_check import HAN, ZH, english_words, shown_texts, untranslated

from engine.config import Config
from engine.ensemble import combine
from engine.store import RunStore
from engine.trainer import Trainer
from ui.text import plain

TINY = {"device": "cpu", "data.n_samples": 120, "model.hidden": [6, 4], "train.epochs": 2}
MODULES = (
    "app_pages/evaluation.py",
    "app_pages/compare.py",
    "ui/evaluation_view.py",
    "ui/kfold_view.py",
)


def store_runs(*changes: dict) -> list[int]:
    """Tiny circle runs with these changes, trained and stored; their ids."""
    store = RunStore()  # PLAYGROUND_RUNS_DB points into this test's tmp folder
    ids = []
    for change in changes:
        t = Trainer(Config().replace(**{**TINY, **change}))
        t.run()
        ids.append(store.save(t, page="pg"))
    return ids


def without_run_names(texts: list[str]) -> list[str]:
    names = [r.name for r in RunStore().list()]
    names += [plain(name) for name in names]
    return [t for t in texts if not any(name in t for name in names)]


def assert_chinese(at) -> list[str]:
    assert_clean(at)
    texts = without_run_names(shown_texts(at))
    left = english_words(texts)
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))
    return texts


def pick_ensemble(at, ids: list[int]):
    at.radio(key="eval.mode").set_value("ensemble").run()
    at.multiselect(key="eval.members").set_value(ids).run()
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_ensemble_shows_its_accuracy_next_to_its_members(lang: str) -> None:
    a, b, other = store_runs({"train.lr": 0.03}, {"train.lr": 0.3}, {"seed": 1})
    at = open_page("evaluation", {"lang": lang} if lang == "zh" else None)
    at.radio(key="eval.mode").set_value("ensemble").run()
    assert_clean(at)
    assert len(at.info) == 1  # asks for two or more runs
    pick_ensemble(at, [a, b])
    assert_clean(at)
    store = RunStore()
    expected = combine((f"#{i}", store.load_trainer(i)) for i in (a, b))
    table = at.table[0].value
    accuracy = "accuracy" if lang == "en" else ZH["text"]["accuracy"]
    shown = list(table[accuracy])
    assert shown == [f"{m.accuracy:.2%}" for m in expected.members] + [f"{expected.accuracy:.2%}"]
    metric = "Accuracy" if lang == "en" else ZH["text"]["Accuracy"]
    assert next(m.value for m in at.metric if m.label == metric) == f"{expected.accuracy:.2%}"
    assert len(at.get("vega_lite_chart")) >= 3  # confusion, ROC, precision-recall
    if lang == "zh":
        assert_chinese(at)
    # a run of other points (another seed) is refused, saying which runs differ
    at.multiselect(key="eval.members").set_value([a, other]).run()
    assert not at.exception and len(at.error) == 1
    said = unplain(at.error[0].value)
    assert f"#{a}" in said and f"#{other}" in said
    if lang == "en":
        assert "scored on different examples" in said
    else:
        assert "不同的样本" in said and not english_words([said.replace("#", " ")])
    assert not at.table  # nothing drawn for a refused ensemble
    # back to one run: the page shows one run's evaluation again
    at.radio(key="eval.mode").set_value("one").run()
    assert_clean(at)
    assert "eval.ensemble" not in at.session_state


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compare_cross_validates_a_stored_config(lang: str) -> None:
    (run_id,) = store_runs({})
    at = open_page("compare", {"lang": lang} if lang == "zh" else None)
    assert_clean(at)
    at.number_input(key="compare.kfold.k").set_value(3).run()
    at.button(key="compare.kfold.start").click().run()
    assert_clean(at)
    job = at.session_state["compare.kfold.run"]
    assert job.running and len(job.result.folds) < 3  # a fold a tick at most
    progress = at.get("progress")
    assert len(progress) == 1 and 0 < progress[0].proto.value < 100
    for _ in range(20):  # a tick trains half a second; the tiny folds take a few
        if not job.running:
            break
        at.run()
        job = at.session_state["compare.kfold.run"]
    assert_clean(at)
    assert not job.running and job.job is None and job.source == run_id  # its data let go
    result = job.result
    assert len(result.folds) == 3
    table = at.table[-1].value
    assert len(table) == 3
    acc_mean, acc_std = result.mean("val_acc"), result.std("val_acc")
    metric = "Validation accuracy (mean ± std)"
    label = metric if lang == "en" else ZH["text"][metric]
    assert next(m.value for m in at.metric if m.label == label) == (
        f"{acc_mean:.1%} ± {acc_std * 100:.1f}"
    )
    captions = [c.value for c in at.caption]
    low, high = min(result.scores("val_acc")), max(result.scores("val_acc"))
    assert any(f"{low:.1%}" in c and f"{high:.1%}" in c for c in captions)
    if lang == "zh":
        assert_chinese(at)


def test_too_many_steps_are_refused_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    store_runs({})
    monkeypatch.setenv("PLAYGROUND_MAX_KFOLD_STEPS", "5")
    at = open_page("compare", {"lang": "zh"})
    at.button(key="compare.kfold.start").click().run()
    assert not at.exception and len(at.error) == 1
    said = unplain(at.error[0].value)
    assert "PLAYGROUND_MAX_KFOLD_STEPS" in said and "共 30 步" in said and "最多允许 5 步" in said
    assert "compare.kfold.run" not in at.session_state


def test_every_text_these_parts_translate_has_chinese() -> None:
    missing = untranslated(MODULES)
    assert not missing, "\n".join(missing)


def engine_messages() -> list[str]:
    """Every refusal engine/ensemble.py and engine/kfold.py make, made by the real code."""
    from engine import kfold
    from engine.ensemble import MAX_MEMBERS, EnsembleError
    from engine.kfold import KFold
    from engine.registry import ConfigError

    def made(call) -> str:
        try:
            call()
        except (EnsembleError, ConfigError) as e:
            return str(e)
        raise AssertionError("no refusal")

    def trainer(**change) -> Trainer:  # untrained: combine only scores
        return Trainer(Config().replace(**{**TINY, **change}))

    a = trainer()
    cfg = Config().replace(**TINY)
    return [
        made(lambda: combine([("#1", a)])),
        made(lambda: combine([(f"#{i}", a) for i in range(MAX_MEMBERS + 1)])),
        made(lambda: combine([("#1", a), ("#2", trainer(seed=3))])),
        made(lambda: combine([("#1", a), ("#2", trainer(**{"data.dataset": "spiral3"}))])),
        made(lambda: combine([("#1", trainer(**{"data.dataset": "reg_plane",
                                                 "train.loss": "mse"})), ("#2", a)])),
        made(lambda: KFold.start(cfg, 11)),
        made(lambda: KFold.start(cfg.replace(**{"data.n_samples": 10}), 10)),
        made(lambda: KFold.start(cfg.replace(**{"train.epochs": 5000}), 10)),
        made(lambda: kfold.check(cfg, 2, 10**6, 10**12)),
    ]  # fmt: skip


def test_the_engines_refusals_read_in_chinese() -> None:
    from ui import i18n

    for english in engine_messages():
        shown = i18n.message(english, "zh")
        assert shown != english and HAN.search(shown), english
        left = english_words([shown.replace("PLAYGROUND_MAX_KFOLD_STEPS", "")])
        assert not left or set(left) <= {"kfold"}, (english, shown)
