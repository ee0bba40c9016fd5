"""The four lab pages through AppTest: every experiment loads its walkthrough and settings,
its runs train side by side on the same data, and every view draws."""

from __future__ import annotations

import pytest
from app_helpers import (
    assert_clean,
    assert_every_chart_has_data,
    live_view,
    open_page,
    shown,
    values,
)
from streamlit.testing.v1 import AppTest

from engine.presets import list_presets
from engine.store import RunStore

LABS = {
    "lab_init": ("lab_init", "labs/init", ["Layers now", "Gradients"]),
    "lab_regularization": ("lab_reg", "labs/regularization", ["Weights", "Boundaries"]),
    "lab_normalization": ("lab_norm", "labs/normalization", ["Grid", "Layers now", "Gradients"]),
    "lab_optimizers": ("lab_opt", "labs/optimizers", ["Learning rate"]),
    "lab_sequences": ("lab_seq", "labs/sequences", ["Memory by length", "Gradient through time",
                                                    "Gates", "Gradients"]),
}  # fmt: skip


def comparison(at: AppTest, key: str):
    return at.session_state[f"{key}.cmp.main"]


def choose_experiment(at: AppTest, key: str, name: str) -> None:
    at.selectbox(key=f"{key}.experiment").set_value(name).run()


@pytest.mark.parametrize("page", list(LABS))
def test_every_experiment_loads_trains_side_by_side_and_draws_every_view(page: str) -> None:
    key, folder, tabs = LABS[page]
    at = open_page(page)
    assert_clean(at)
    for preset in list_presets(folder):
        choose_experiment(at, key, preset.name)
        assert_clean(at)
        # the walkthrough is on the page and the base config is in the sidebar
        texts = " ".join(m.value for m in at.markdown) + " ".join(shown(i) for i in at.info)
        assert preset.summary in texts and preset.look_for in texts, preset.name
        assert values(at, key) == preset.config.to_flat(), preset.name
        assert at.query_params.get("view.experiment", list_presets(folder)[0].name) == preset.name
        run = comparison(at, key)
        assert run.labels == [v.label for v in preset.variants], preset.name
        # same seed, same data: runs with the same data settings see identical training tensors
        # (a sequence experiment's variants may change the sequences' length)
        first = {}
        for t in run.trainers:
            x = first.setdefault(t.cfg.data, t.train_split.x)
            assert t.train_split.x is x or t.train_split.x.equal(x), preset.name
        at.button(key=f"{key}.cmp.main.btn.step").click().run()
        assert_clean(at)
        run = comparison(at, key)
        for t in run.trainers:  # one epoch each, unless it diverged (and stopped, saying so)
            epoch = min(t.steps_per_epoch, t.total_steps)
            assert t.step_count == epoch or t.status == "diverged", preset.name
        summary = live_view(at, f"{key}.cmp.main.view")  # the runs side by side
        assert [row[0] for row in summary["rows"]] == run.labels
        assert summary["columns"][:3] == ["run", "epoch", "status"]
        assert len(at.get("vega_lite_chart")) >= 1  # overlaid curves
        assert_every_chart_has_data(at, f"{preset.name}: Curves")
        for tab in tabs:
            at.session_state[f"{key}.cmp.main.tab"] = tab
            at.run()
            assert_clean(at)
            assert_every_chart_has_data(at, f"{preset.name}: {tab}")
        at.session_state[f"{key}.cmp.main.tab"] = "Curves"


def test_init_lab_shows_each_init_at_initialization_before_training() -> None:
    at = open_page("lab_init")
    run = comparison(at, "lab_init")
    assert all(t.step_count == 0 for t in run.trainers)
    init = run.cache["init"]
    assert list(init) == run.labels
    std = {
        label: [la["post"]["std"] for la in layers if la.get("post")]
        for label, layers in init.items()
    }
    assert std["N(0, 0.01)"][-1] < 1e-3 * std["N(0, 0.01)"][0]  # vanishes with depth
    assert min(std["N(0, 1)"]) > 0.9  # saturated: tanh outputs near +-1
    assert 0.1 < std["Xavier"][-1] < 0.9
    at.radio(key="lab_init.part").set_value("weight").run()
    assert_clean(at)


def test_lab_runs_that_trained_are_stored_under_their_variant_labels() -> None:
    at = open_page("lab_init")
    at.button(key="lab_init.cmp.main.btn.reset").click().run()
    assert RunStore().count() == 0  # nothing trained, nothing stored
    at.button(key="lab_init.cmp.main.btn.step").click().run()
    labels = comparison(at, "lab_init").labels
    at.button(key="lab_init.cmp.main.btn.reset").click().run()
    records = RunStore().list()
    assert sorted(r.name.split(" · ")[0] for r in records) == sorted(labels)
    ids = ", ".join(f"#{i}" for i in range(1, len(labels) + 1))
    assert any(f"as run {ids}" in shown(t) for t in at.toast)
    assert {r.page for r in records} == {"lab_init"} and {r.status for r in records} == {"stopped"}
    runs = open_page("runs")
    assert_clean(runs)
    assert set(runs.dataframe[0].value["from"]) == {"Initialization lab"}
    # standard-normal inputs: no trainer page trains them, so the page says so instead
    assert "runs.open" not in [b.key for b in runs.button]
    assert any("no trainer page trains those" in shown(c) for c in runs.caption)


def test_a_variant_that_cannot_apply_says_why() -> None:
    at = open_page("lab_normalization")
    choose_experiment(at, "lab_norm", "3_tiny_batches")
    at.select_slider(key="lab_norm.w.train.batch_size").set_value(1).run()
    assert not at.exception
    assert any("cannot" in shown(e) for e in [*at.error, *at.warning])


def test_surface_races_draw_for_every_surface_experiment() -> None:
    at = open_page("lab_optimizers")
    for preset in list_presets("labs/surfaces"):
        at.selectbox(key="lab_opt.surface").set_value(preset.name).run()
        assert_clean(at)
        captions = [c for image in at.get("image") for c in [x.caption for x in image.proto.imgs]]
        assert any("Contours of the surface" in c for c in captions), preset.name
        assert any(m.value.startswith("<span") for m in at.markdown), "the legend"
        # the loss of every racer against step (it was blank: its colours had no domain)
        assert assert_every_chart_has_data(at, preset.name) >= 1


def test_racer_rows_round_trip_and_bad_rows_say_what_is_wrong() -> None:
    import pandas as pd

    from ui.surfaces_view import racer_rows, racers_from

    preset = list_presets("labs/surfaces")[0]
    racers, problems = racers_from(racer_rows(preset))
    assert not problems
    assert [(r.label, r.train.optimizer, r.train.lr) for r in racers] == [
        (v.label, v.config.train.optimizer, v.config.train.lr) for v in preset.variants
    ]
    bad = pd.DataFrame(
        [
            {"label": "x", "optimizer": "sgd", "lr": -1.0, "momentum": 0.9, "beta1": 0.9,
             "beta2": 0.999, "rho": 0.9},
            {"label": "y", "optimizer": None, "lr": 0.1, "momentum": 0.9, "beta1": 0.9,
             "beta2": 0.999, "rho": 0.9},
        ]
    )  # fmt: skip
    racers, problems = racers_from(bad)
    assert not racers
    assert "train.lr" in problems[0] and "choose an optimizer" in problems[1]


def test_landscape_of_a_raced_network() -> None:
    at = open_page("lab_optimizers")
    at.button(key="lab_opt.cmp.main.btn.step").click().run()
    at.button(key="lab_opt.cmp.main.btn.step").click().run()
    at.button(key="lab_opt.ls.go").click().run()
    assert_clean(at)
    captions = [c for image in at.get("image") for c in [x.caption for x in image.proto.imgs]]
    pca = next(c for c in captions if "PCA directions" in c)
    assert "explain" in pca and "%" in pca
    at.selectbox(key="lab_opt.ls.dirs").set_value("random").run()
    at.button(key="lab_opt.ls.go").click().run()
    assert_clean(at)
    captions = [c for image in at.get("image") for c in [x.caption for x in image.proto.imgs]]
    assert any("random filter-normalized directions" in c for c in captions)
    assert_every_chart_has_data(at, "landscape")


def test_regularization_modes_section_shows_the_variance_shift() -> None:
    at = open_page("lab_regularization")
    choose_experiment(at, "lab_reg", "5_dropout_batchnorm")
    at.button(key="lab_reg.cmp.main.btn.step").click().run()
    assert_clean(at)
    ratios = [t for t in at.table if "variance ratio" in t.value.columns]
    assert len(ratios) == 3  # BatchNorm, dropout, both
    dropout = ratios[1].value
    assert all(float(r) > 1.2 for r in dropout["variance ratio"])  # train mode: more variance


def test_runs_that_cannot_train_on_their_data_say_so() -> None:
    """A one-example training split with BatchNorm passes the config's checks and is refused
    by the Trainer (issue 10.6): the lab says why instead of crashing."""
    at = open_page("lab_normalization", {"data.train_subset": "1"})
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot train" in shown(e) for e in at.error)


def test_a_link_naming_an_experiment_opens_its_settings_and_stays_short() -> None:
    """A hand-written link (…/lab_normalization?view.experiment=3_tiny_batches) opened the
    walkthrough of the tiny batches over the first experiment's settings: batch-2 and
    batch-64 runs then trained alike. The experiment's config is now the link's base."""
    preset = next(p for p in list_presets("labs/normalization") if p.name == "3_tiny_batches")
    at = open_page("lab_normalization", {"view.experiment": preset.name})
    assert_clean(at)
    assert values(at, "lab_norm") == preset.config.to_flat()
    sizes = {t.cfg.train.batch_size for t in comparison(at, "lab_norm").trainers}
    assert sizes == {2, 64}
    assert not [k for k in at.query_params if not k.startswith("view.")]  # nothing else needed
    # a change shows in the link as a difference from the experiment's setup
    at.number_input(key="lab_norm.w.seed").set_value(3).run()
    assert at.query_params["seed"] == "3" and "model.hidden" not in at.query_params
