"""Runs and Compare pages through AppTest, against a real (temporary) SQLite run store."""

from __future__ import annotations

import json

import pytest
from app_helpers import (
    assert_clean,
    assert_every_chart_has_data,
    open_page,
    run_of,
    shown,
    unplain,
    values,
)
from streamlit.testing.v1 import AppTest

from engine.config import Config
from engine.store import RunStore
from engine.trainer import Trainer
from ui.text import plain

TINY = {"device": "cpu", "model.hidden": [6, 4], "train.epochs": 3}


def stored(n: int = 2) -> RunStore:
    store = RunStore()  # PLAYGROUND_RUNS_DB points into this test's tmp folder
    for lr in (0.01, 0.1)[:n]:
        t = Trainer(Config().replace(**{**TINY, "train.lr": lr}))
        t.run()
        store.save(t, page="pg")
    return store


def test_a_finished_playground_run_is_saved_and_listed() -> None:
    at = open_page("playground", {"train.epochs": "2", "model.hidden": "4"})
    at.button(key="pg.run.btn.play").click().run()
    for _ in range(30):
        if not run_of(at, "pg").playing:
            break
        at.run()
    run = run_of(at, "pg")
    assert run.trainer.status == "finished" and run.saved == {0: 1}
    assert any("Saved in the run store as run #1" in shown(c) for c in at.caption)
    runs = open_page("runs")
    assert_clean(runs)
    table = runs.dataframe[0].value
    assert list(table["#"]) == [1] and table["status"][0] == "finished"


def test_reset_saves_a_run_that_trained_and_skips_one_that_did_not() -> None:
    at = open_page("playground")
    at.button(key="pg.run.btn.reset").click().run()
    assert RunStore().count() == 0
    at.button(key="pg.run.btn.step").click().run()
    at.button(key="pg.run.btn.reset").click().run()
    assert RunStore().count() == 1 and RunStore().list()[0].status == "stopped"
    assert [shown(t) for t in at.toast] == ["Saved in the run store as run #1 (see Runs)."]


def test_open_a_stored_run_back_in_its_page() -> None:
    store = stored(1)
    record = store.get(store.list()[0].id)
    at = open_page("runs")
    at.button(key="runs.open").click().run()
    assert_clean(at)
    run = run_of(at, "pg")
    assert run.trainer.step_count == record.steps
    assert values(at, "pg")["train.lr"] == record.config["train"]["lr"]
    assert len(run.trainer.history.evals) == len(record.history["evals"])


def test_rename_delete_search_and_export() -> None:
    store = stored(2)
    at = open_page("runs")
    assert len(at.dataframe[0].value) == 2
    newest = store.list()[0].id
    at.text_input(key=f"runs.name.{newest}").input("my best run").run()
    at.button(key="runs.rename").click().run()
    assert store.get(newest).name == "my best run"
    at.text_input(key="runs.q").input("best").run()
    assert list(at.dataframe[0].value["name"]) == ["my best run"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Config (JSON)", "Metrics (CSV)", "Weights (state_dict)", "PyTorch script",
                      "All (zip)"]  # fmt: skip
    at.button(key="runs.delete").click().run()
    assert store.count() == 1


def test_runs_filter_by_where_they_came_from_and_delete_the_listed_ones() -> None:
    store = stored(2)  # two Playground runs
    t = Trainer(Config().replace(**TINY))
    t.run()
    lab = store.save(t, page="lab_reg", label="dropout 0.5")
    at = open_page("runs")
    pills = at.button_group(key="runs.from")
    assert list(pills.options) == ["Regularization lab", "Playground"]
    pills.set_value(["lab_reg"]).run()
    assert list(at.dataframe[0].value["#"]) == [lab]
    assert list(at.dataframe[0].value["from"]) == ["Regularization lab"]
    at.button(key="runs.delete_listed").click().run()
    assert_clean(at)
    assert store.count() == 2 and store.pages() == ["pg"]
    assert "runs.from" not in [w.key for w in at.button_group]  # one origin left: no filter
    at.text_input(key="runs.q").input("nothing like this").run()
    assert any("No stored run matches" in shown(i) for i in at.info)


def test_import_a_config_and_refuse_a_bad_one() -> None:
    at = open_page("runs")
    upload = next(u for u in at.file_uploader if u.key == "runs.import")
    upload.set_value(("bad.json", b'{"train": {"lr": "fast"}}', "application/json")).run()
    assert any("bad.json" in shown(e) and "train.lr" in shown(e) for e in at.error)
    cfg = Config().replace(**{"data.dataset": "mnist", "train.lr": 0.003})
    upload = next(u for u in at.file_uploader if u.key == "runs.import")
    upload.set_value(("good.json", cfg.to_json().encode(), "application/json")).run()
    assert any("valid config" in shown(s) for s in at.success)
    at.button(key="runs.import.open").click().run()
    assert_clean(at)
    assert values(at, "mnist")["train.lr"] == 0.003


def test_compare_shows_curves_final_numbers_and_only_the_differing_settings() -> None:
    stored(2)
    at = open_page("compare")
    assert_clean(at)
    assert len(at.table[0].value) == 2  # final numbers
    assert len(at.get("vega_lite_chart")) == 2  # loss and accuracy, overlaid
    assert_every_chart_has_data(at, "compare")
    diff = at.table[1].value
    assert list(diff["setting"]) == ["Learning rate"]  # what a student calls it, not train.lr


def test_sweep_one_knob_trains_variants_and_stores_them() -> None:
    stored(1)
    at = open_page("compare")
    at.selectbox(key="compare.field").set_value("train.lr").run()
    at.text_input(key="compare.values.train.lr").input("0.01; 0.3; fast").run()
    assert any("fast" in shown(w) for w in at.warning)
    run = at.session_state["compare.cmp.sweep"]
    assert run.labels == ["Learning rate = 0.01", "Learning rate = 0.3"]
    assert run.trainers[0].train_split.x is run.trainers[1].train_split.x
    at.button(key="compare.cmp.sweep.btn.play").click().run()
    for _ in range(40):
        if at.session_state["compare.cmp.sweep"].done:
            break
        at.run()
    assert at.session_state["compare.cmp.sweep"].done
    assert RunStore().count() == 3  # the first stored run and the two variants
    assert {r.page for r in RunStore().list()} == {"pg", "sweep"}


def test_the_sweep_hint_shows_the_separator_the_label_names_and_commas_work_too() -> None:
    """Issue 14.2: the hint used to say "e.g. 0.001, 0.01, 0.1" under a label asking for
    semicolons, and typing the hint gave "must be a number"."""
    stored(1)
    at = open_page("compare")
    at.selectbox(key="compare.field").set_value("train.lr").run()
    box = at.text_input(key="compare.values.train.lr")
    assert "semicolons" in box.label and ";" in box.placeholder and "," not in box.placeholder
    box.input("0.001, 0.01, 0.1").run()  # what the old hint showed
    assert not at.warning, [shown(w) for w in at.warning]
    assert at.session_state["compare.cmp.sweep"].labels == [
        "Learning rate = 0.001",
        "Learning rate = 0.01",
        "Learning rate = 0.1",
    ]
    at.selectbox(key="compare.field").set_value("model.hidden").run()
    box = at.text_input(key="compare.values.model.hidden")
    assert box.placeholder.count(";") == 1  # widths keep their commas inside one value
    box.input("8, 8; 16").run()
    assert at.session_state["compare.cmp.sweep"].labels == [
        "Neurons per hidden layer = 8, 8",
        "Neurons per hidden layer = 16",
    ]


def test_a_corrupt_store_is_reported_and_left_alone(tmp_path, monkeypatch: pytest.MonkeyPatch):
    bad = tmp_path / "broken.db"
    bad.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("PLAYGROUND_RUNS_DB", str(bad))
    at = open_page("runs")
    assert not at.exception
    assert any("cannot be used" in shown(e) for e in at.error)
    assert bad.read_bytes() == b"this is not a database" * 100
    pg = open_page("playground", {"train.epochs": "1", "model.hidden": "4"})
    pg.button(key="pg.run.btn.step").click().run()
    assert pg.session_state["pg.run"].trainer.done  # training is not affected
    assert any("could not be saved" in shown(w) for w in pg.warning)
    assert json.loads(json.dumps(pg.session_state["pg.run"].trainer.summary()))


def finish_search(at: AppTest) -> None:
    """Press Start and rerun until the search has run its trials."""
    at.button(key="search.start").click().run()
    for _ in range(6):
        if not at.session_state["search.run"].searching:
            break
        at.run()


def run_search(at: AppTest) -> None:
    """Start a 3-trial, 2-epoch search on the Playground's opening config and let it finish."""
    names = at.selectbox(key="search.source").options
    at.selectbox(key="search.source").set_value(
        next(n for n in names if "TensorFlow Playground's start" in n)
    ).run()
    at.number_input(key="search.trials").set_value(3).run()
    at.number_input(key="search.epochs").set_value(2).run()
    finish_search(at)


def test_search_runs_trials_live_and_opens_the_best_config() -> None:
    at = open_page("search")
    assert_clean(at)
    run_search(at)
    assert_clean(at)
    search = at.session_state["search.run"]
    assert search.done_here == 3 and not search.searching
    assert any("3 trials in all" in shown(c) for c in at.caption)
    best_table = at.table[-1].value
    assert {"number", "value", "Learning rate"} <= set(best_table.columns)
    assert len(at.get("vega_lite_chart")) == 2  # metric by knob, best so far
    assert_every_chart_has_data(at, "search")
    at.button(key="search.best").click().run()
    assert_clean(at)
    best = values(at, "pg")
    assert best["train.lr"] == search.study.best_params["train.lr"]


def test_search_space_errors_name_the_row() -> None:
    import pandas as pd

    from engine.registry import ConfigError
    from ui.search_view import space_from_table

    bad = pd.DataFrame([{"field": "train.lr", "type": "float", "low": 0.0, "high": 0.1,
                         "log": True, "choices": "", "grid": ""}])  # fmt: skip
    with pytest.raises(ConfigError, match="low"):
        space_from_table(bad, "val_acc", 2)


def test_evaluation_of_a_stored_run_matches_scikit_learn() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    from engine.inspection import predict

    store = stored(1)
    record = store.list()[0]
    at = open_page("evaluation")
    assert_clean(at)
    trainer = store.load_trainer(record.id)
    p = predict(trainer.model, trainer.val_split)
    assert at.metric[0].value == f"{accuracy_score(p.target, p.pred):.2%}"
    assert at.metric[1].value == f"{f1_score(p.target, p.pred, average='macro'):.1%}"
    classes = at.table[0].value
    assert list(classes["label"])[:2] == ["0", "1"] and "specificity" in classes.columns
    assert len(at.get("vega_lite_chart")) >= 3  # confusion, ROC, precision-recall
    assert_every_chart_has_data(at, "evaluation")


def test_evaluation_of_a_lab_run_on_standard_normal_inputs() -> None:
    from engine.presets import list_presets

    preset = list_presets("labs/init")[0]
    assert preset.config.data.dataset == "normal_noise"
    t = Trainer(preset.config.replace(**{"device": "cpu", "train.steps": 3}))
    t.run()
    RunStore().save(t, page="lab_init", label="He")
    at = open_page("evaluation")
    assert_clean(at)  # no 2-D points to show: the wrong ones are listed by example number
    wrong = at.table[-1].value
    assert list(wrong.columns) == ["example", "true", "predicted", "confidence"]


def test_evaluation_offers_no_regression_run_to_score() -> None:
    """A sequences-lab run (the adding problem: a regression) has no classes; the page leaves
    it out and says what to do instead of failing on it."""
    from engine.presets import list_presets

    preset = list_presets("labs/sequences")[0]
    t = Trainer(preset.config.replace(**{"device": "cpu", "train.steps": 2}))
    t.run()
    RunStore().save(t, page="lab_seq", label="RNN, 50 steps")
    at = open_page("evaluation")
    assert_clean(at)
    assert any("Nothing to evaluate yet" in shown(i) for i in at.info)


def test_search_trials_are_stored_and_the_best_compared() -> None:
    at = open_page("search")
    run_search(at)
    stored_runs = RunStore().list()
    assert len(stored_runs) == 3 and {r.page for r in stored_runs} == {"search"}
    assert all(r.name.startswith("my-search trial") for r in stored_runs)
    at.button(key="search.compare").click().run()
    assert_clean(at)
    chosen = at.multiselect(key="compare.runs").value
    search = at.session_state["search.run"]
    best_run = search.study.best_trial.user_attrs["run_id"]
    assert chosen[0] == best_run and len(chosen) == 3


def test_a_run_name_is_shown_as_text_in_compare() -> None:
    """Compare's table renders Markdown (st.table): a stored run's name must not become a
    link or an image there (issue 10.7)."""
    store = stored(2)
    hostile = "[log in again](http://example.invalid) ![x](http://example.invalid/x.png)"
    store.rename(1, hostile)
    at = open_page("compare")
    assert_clean(at)
    names = list(at.table[0].value["name"])
    assert plain(hostile) in names
    assert unplain(plain(hostile)) == hostile  # what a reader sees is the name as typed


def test_a_two_class_runs_threshold_moves_its_point_and_counts() -> None:
    """Issue 13.5: on a binary problem a threshold slider moves one point along the positive
    class's ROC and precision-recall curves and updates TP/FP/FN/TN, precision, recall, F1."""
    import json

    from engine.inspection import predict
    from engine.metrics import at_threshold

    store = stored(1)
    at = open_page("evaluation")
    assert_clean(at)
    trainer = store.load_trainer(store.list()[0].id)
    p = predict(trainer.model, trainer.val_split)

    def counts() -> dict[str, str]:
        return {m.label: m.value for m in at.metric if m.label in ("TP", "FP", "FN", "TN")}

    def dots() -> list[dict]:
        """The point layer's rows of each threshold chart (Streamlit sends layer data as
        named Arrow datasets)."""
        import pyarrow as pa

        out = []
        for chart in at.get("vega_lite_chart"):
            spec = json.loads(chart.proto.spec)
            tables = {
                d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets
            }
            for layer in spec.get("layer", []):
                if layer.get("mark", {}).get("type") == "point":
                    out += tables[layer["data"]["name"]].to_dict("records")
        return out

    slider = at.slider(key="eval.threshold")
    assert slider.value == 0.5
    for t in (0.1, 0.9):
        slider.set_value(t).run()
        assert_clean(at)
        point = at_threshold(p.probs, p.target, t)
        assert counts() == {"TP": f"{point.tp:,}", "FP": f"{point.fp:,}",
                            "FN": f"{point.fn:,}", "TN": f"{point.tn:,}"}  # fmt: skip
        roc_dot = dots()[0]
        assert roc_dot == {"x": pytest.approx(point.fpr), "y": pytest.approx(point.recall)}
    low, high = at_threshold(p.probs, p.target, 0.1), at_threshold(p.probs, p.target, 0.9)
    assert low.tp + low.fp > high.tp + high.fp  # a lower threshold calls more positives


def test_a_search_narrows_its_space_to_the_best_trials() -> None:
    """Issue 13.8: after a wide search, one press narrows the editor's space to the span of
    the best k trials; the next trials sample inside it (coarse to fine)."""
    from engine import search as engine_search
    from ui import search_view

    at = open_page("search")
    run_search(at)
    assert_clean(at)
    run = at.session_state["search.run"]
    at.number_input(key="search.narrow.k").set_value(2).run()
    at.button(key="search.narrow").click().run()
    assert_clean(at)
    expected = engine_search.narrowed(run.space, run.study, 2)
    source = at.selectbox(key="search.source").value
    table = at.session_state[f"search.space.{source}.start"]
    space = search_view.space_from_table(table, "val_acc", 2)
    assert space.params == expected.params
    lr = next(p for p in space.params if p.field == "train.lr")
    best_lrs = sorted((t for t in run.study.trials if t.value is not None), key=lambda t: -t.value)[
        :2
    ]
    assert lr.low == min(t.params["train.lr"] for t in best_lrs)
    assert lr.high == max(t.params["train.lr"] for t in best_lrs)
    assert lr.high - lr.low < 0.3 - 1e-4  # narrower than the default 1e-4..0.3


def test_the_books_search_preset_loads_its_space_and_random_sampler() -> None:
    """Issue 13.8: "Deep Learning from Scratch" 6.5 as a search preset: learning rate
    1e-6..1e-2 and weight decay 1e-8..1e-4, log-uniform, random search, 500 images."""
    from ui import search_view

    at = open_page("search")
    names = at.selectbox(key="search.source").options
    book = next(n for n in names if "Deep Learning from Scratch, 6.5" in n)
    at.selectbox(key="search.source").set_value(book).run()
    assert_clean(at)
    assert at.selectbox(key="search.sampler").value == "random"
    assert at.number_input(key="search.trials").value == 30
    assert at.number_input(key="search.epochs").value == 50
    table = at.session_state[f"search.space.{book}.start"]
    space = search_view.space_from_table(table, "val_acc", 50)
    assert [(p.field, p.low, p.high, p.log) for p in space.params] == [
        ("train.lr", 1e-6, 1e-2, True),
        ("train.weight_decay", 1e-8, 1e-4, True),
    ]
    assert any("500 MNIST training images" in m.value for m in at.markdown)
    # two short trials run from it
    at.number_input(key="search.trials").set_value(2).run()
    at.number_input(key="search.epochs").set_value(1).run()
    finish_search(at)
    assert_clean(at)
    assert at.session_state["search.run"].done_here == 2


def test_a_diverged_sweep_runs_typed_name_is_shown_as_text() -> None:
    """A sweep's run names hold what the visitor typed; the diverged warning shows them as
    typed, never as a Markdown link."""

    def script() -> None:
        from engine.config import Config
        from engine.trainer import Trainer
        from ui import compare
        from ui.live import LiveRun

        t = Trainer(Config().replace(**{"device": "cpu", "data.n_samples": 100}))
        t.status = "diverged"
        compare.diverged_warning(LiveRun([t], ["Learning rate = [log in](http://x.invalid)"]))

    at = AppTest.from_function(script).run(timeout=60)
    (warning,) = [w.value for w in at.warning]
    assert "[log in](http://x.invalid)" in unplain(warning)
    assert "](http" not in warning  # escaped: no link
