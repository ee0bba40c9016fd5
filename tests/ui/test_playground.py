"""The Playground page through AppTest: controls, the live loop, URL state, uploads, limits.

Under AppTest no browser pulls the live view's frames, so one `.run()` of a playing page
plays one turn of the training service: a training slice, then its frame.
"""

from __future__ import annotations

import base64
from pathlib import Path

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
from streamlit.testing.v1 import AppTest

import ui.live
from engine.config import Config
from engine.data.toy import spiral
from engine.data.uploads import points_to_csv

PAGE = "pg"


def key(path: str) -> str:
    return f"{PAGE}.w.{path}"


@pytest.fixture
def at() -> AppTest:
    page = open_page("playground")
    assert_clean(page)
    return page


def play(at: AppTest) -> AppTest:
    return at.button(key="pg.run.btn.play").click().run()


def test_loads_with_tf_playground_defaults_and_an_untrained_picture(at: AppTest) -> None:
    v = values(at, PAGE)
    assert v["data.dataset"] == "circle" and v["model.hidden"] == (4, 2)
    assert v["train.optimizer"] == "sgd" and v["train.lr"] == 0.03
    assert metric(at, "Epoch") == "0.00" and metric(at, "Steps") == "0"
    assert [b.label for b in at.button][:4] == ["Play", "Step", "Reset", "New data"]
    # the network (inputs x1, x2; layers of 4 and 2; the output) and the decision boundary
    # with the 250 training points, before any training
    view = live_view(at, "pg.run.view")
    assert [c["n"] for c in view["columns"]] == [2, 4, 2, 1]
    assert view["columns"][0]["labels"] == ["x₁", "x₂"]
    assert view["output"]["res"] == 64 and view["frame"] == 0
    assert len(base64.b64decode(view["train"]["labels"])) == 250
    assert not at.query_params  # the page's own defaults need no link parameters


def test_each_tick_trains_and_redraws_until_paused(at: AppTest) -> None:
    play(at)
    first = run_of(at, PAGE).trainer.step_count
    assert first > 0 and run_of(at, PAGE).playing
    at.run()
    second = run_of(at, PAGE).trainer.step_count
    assert second > first
    # A tick draws first, then trains: it shows where the previous tick ended.
    assert metric(at, "Steps") == f"{first:,}" and live_view(at, "pg.run.view")["frame"] == first
    assert metric(at, "Training loss") != "–"
    at.button(key="pg.run.btn.play").click().run()  # Pause
    paused = run_of(at, PAGE).trainer.step_count
    at.run()
    assert run_of(at, PAGE).trainer.step_count == paused and not run_of(at, PAGE).playing


def test_step_trains_one_epoch_and_reset_starts_over(at: AppTest) -> None:
    at.button(key="pg.run.btn.step").click().run()
    run = run_of(at, PAGE)
    assert run.trainer.step_count == run.trainer.steps_per_epoch
    assert metric(at, "Epoch") == "1.00"
    at.button(key="pg.run.btn.reset").click().run()
    assert run_of(at, PAGE).trainer.step_count == 0 and run_of(at, PAGE) is not run


def test_learning_rate_and_l2_apply_live_but_the_architecture_resets(at: AppTest) -> None:
    at.button(key="pg.run.btn.step").click().run()
    run = run_of(at, PAGE)
    steps = run.trainer.step_count
    at.select_slider(key=key("train.lr")).set_value(0.1).run()
    at.select_slider(key=key("train.l2")).set_value(0.001).run()
    assert run_of(at, PAGE) is run and run.trainer.step_count == steps  # same network
    assert run.trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    assert run.trainer.cfg.train.l2 == 0.001
    at.text_input(key=key("model.hidden")).input("6, 6, 6").run()
    assert run_of(at, PAGE) is not run and run_of(at, PAGE).trainer.step_count == 0
    assert run_of(at, PAGE).trainer.cfg.model.hidden == (6, 6, 6)


def test_only_the_settings_a_choice_reads_are_shown(at: AppTest) -> None:
    def shown(path: str) -> bool:
        return any(w.key == key(path) for w in at.get("slider") + at.get("number_input")) or any(
            w.key == key(path) for w in at.select_slider
        )

    assert not shown("train.momentum")
    at.selectbox(key=key("train.optimizer")).select("momentum").run()
    assert shown("train.momentum")
    at.selectbox(key=key("train.optimizer")).select("adam").run()
    assert not shown("train.momentum")
    assert [n.key for n in at.number_input if n.key.startswith(key("train.betas"))] == [
        key("train.betas") + ".0",
        key("train.betas") + ".1",
    ]
    assert not shown("model.init_std")
    at.selectbox(key=key("model.init")).select("normal").run()
    assert shown("model.init_std")
    at.selectbox(key=key("model.norm")).select("group").run()
    assert shown("model.norm_groups")
    assert not shown("train.decay_steps")
    at.selectbox(key=key("train.schedule")).select("cosine").run()
    assert shown("train.decay_steps")
    assert_clean(at)


def test_every_choice_of_every_select_box_runs(at: AppTest) -> None:
    """Each registry choice the sidebar offers builds a trainer and survives a tick."""
    at.text_input(key=key("model.hidden")).input("4, 4").run()
    for path in (
        "data.dataset", "model.activation", "model.init", "model.norm", "model.dropout",
        "train.optimizer", "train.schedule", "data.normalize", "device",
    ):  # fmt: skip
        box = at.selectbox(key=key(path))
        original = box.value
        for option in box.options:
            at.selectbox(key=key(path)).select(option).run()
            assert not at.exception, (path, option, [e.value for e in at.exception])
            errors = [shown(e) for e in at.error]
            if (path, values(at, PAGE)[path]) == (
                "model.dropout",
                "droppath",
            ):  # needs residual blocks: says so
                assert errors and "model.residual" in errors[0]
            else:
                assert not errors, (path, option, errors)
        at.selectbox(key=key(path)).select(original).run()
    play(at)
    assert run_of(at, PAGE).trainer.step_count > 0
    assert_clean(at)


def test_every_other_control_changes_the_config(at: AppTest) -> None:
    changes = [
        ("select_slider", "data.n_samples", 200, "data.n_samples"),
        ("slider", "data.noise", 0.25, "data.noise"),
        ("slider", "data.train_fraction", 0.7, "data.train_fraction"),
        ("number_input", "seed", 5, "seed"),
        ("toggle", "model.residual", True, "model.residual"),
        ("toggle", "model.bias", False, "model.bias"),
        ("select_slider", "train.l1", 0.0001, "train.l1"),
        ("select_slider", "train.max_norm", 2.0, "train.max_norm"),
        ("number_input", "train.early_stopping_patience", 5, "train.early_stopping_patience"),
        ("select_slider", "train.weight_decay", 0.001, "train.weight_decay"),
        ("select_slider", "train.batch_size", 32, "train.batch_size"),
        ("select_slider", "train.grad_clip", 1.0, "train.grad_clip"),
        ("number_input", "train.epochs", 50, "train.epochs"),
    ]
    for kind, path, value, field in changes:
        getattr(at, kind)(key=key(path)).set_value(value).run()
        assert_clean(at)
        assert Config.from_flat(values(at, PAGE)).get(field) == value, path
        assert run_of(at, PAGE).trainer.cfg.get(field) == value, path
    at.multiselect(key=key("data.features")).set_value(["x1", "x2", "x1^2"]).run()
    assert run_of(at, PAGE).trainer.cfg.data.features == ("x1", "x2", "x1^2")
    assert run_of(at, PAGE).trainer.train_split.x.shape[1] == 3


def test_bad_widths_and_refused_combinations_say_why(at: AppTest) -> None:
    at.text_input(key=key("model.hidden")).input("8, lots").run()
    assert any("whole numbers" in shown(e) for e in at.error)
    assert values(at, PAGE)["model.hidden"] == (4, 2)  # the last good value stays
    at.text_input(key=key("model.hidden")).input("4, 2").run()
    at.selectbox(key=key("model.norm")).select("batch").run()
    at.select_slider(key=key("train.batch_size")).set_value(1).run()
    assert any("batch_size >= 2" in shown(e) for e in at.error)
    assert at.button(key="pg.run.btn.play").disabled


def test_settings_round_trip_through_the_link(at: AppTest) -> None:
    at.selectbox(key=key("data.dataset")).select("spiral").run()
    at.select_slider(key=key("train.lr")).set_value(0.003).run()
    at.text_input(key=key("model.hidden")).input("8, 8, 8").run()
    at.selectbox(key=key("model.activation")).select("relu").run()
    at.toggle(key="pg.wview.test_points").set_value(True).run()
    link = dict(at.query_params)
    assert link["data.dataset"] == "spiral" and link["view.test_points"] == "true"

    other = open_page("playground", link)  # a new session opening the shared link
    assert_clean(other)
    assert values(other, PAGE) == values(at, PAGE)
    assert other.toggle(key="pg.wview.test_points").value is True
    a, b = run_of(at, PAGE).trainer, run_of(other, PAGE).trainer
    assert a.data.train.x.equal(b.data.train.x)  # same data
    assert all(p.equal(q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))


def test_garbage_link_parameters_fall_back_with_a_notice() -> None:
    at = open_page(
        "playground",
        {
            "train.lr": "fast",
            "model.hidden": "-3",
            "nonsense": "1",
            "view.discretize": "perhaps",
            "data.dataset": "mnist",
            "data.noise": "7",
        },
    )
    assert not at.exception
    notices = " ".join(shown(w) for w in at.warning)
    for word in ("train.lr", "model.hidden", "nonsense", "view.discretize", "mnist", "noise"):
        assert word in notices, word
    assert Config.from_flat(values(at, PAGE)).train.lr == 0.03
    assert run_of(at, PAGE).trainer.step_count == 0  # the page works with the defaults


@pytest.mark.parametrize("hidden", [",".join(["8"] * 200), ",".join(["4096"] * 32)])
def test_a_link_cannot_ask_for_a_network_beyond_the_budget(hidden: str) -> None:
    """Issue 10.2: 200 layers (past the sidebar's 32) or 32 x 4096 (7.7 GB) in a link are
    refused with a notice naming the field; the page opens with the network it had."""
    at = open_page("playground", {"model.hidden": hidden})
    assert not at.exception
    notices = " ".join(shown(w) for w in at.warning)
    assert "model.hidden" in notices and ("32 hidden layers" in notices or "allows" in notices)
    kept = values(at, PAGE)["model.hidden"]
    assert len(kept) <= 32 and sum(kept) < 1000
    assert sum(p.numel() for p in run_of(at, PAGE).trainer.model.parameters()) < 10_000


def test_csv_upload_trains_on_the_points_and_a_bad_file_changes_nothing(at: AppTest) -> None:
    upload = next(u for u in at.file_uploader if u.key == "pg.csv")
    upload.set_value(("bad.csv", b"x1,x2,label\n1,2\n", "text/csv")).run()
    assert any("bad.csv" in shown(e) for e in at.error)
    assert values(at, PAGE)["data.dataset"] == "circle"

    import numpy as np

    xy, y = spiral(200, 0.0, np.random.default_rng(1))
    upload = next(u for u in at.file_uploader if u.key == "pg.csv")
    upload.set_value(("mine.csv", points_to_csv(xy, y), "text/csv")).run()
    assert not at.error
    assert values(at, PAGE)["data.dataset"] == "uploaded"
    run = run_of(at, PAGE)
    assert len(run.trainer.data.train.y) + len(run.trainer.data.val.y) == 200
    play(at)
    assert run_of(at, PAGE).trainer.step_count > 0
    assert "data.dataset" not in at.query_params  # a link cannot carry the file


def test_divergence_shows_a_message_and_keeps_the_charts(at: AppTest) -> None:
    at.selectbox(key=key("model.activation")).select("linear").run()
    at.select_slider(key=key("train.lr")).set_value(10.0).run()
    at.selectbox(key=key("model.init")).select("normal").run()
    at.select_slider(key=key("model.init_std")).set_value(3.0).run()
    play(at)
    for _ in range(5):
        if run_of(at, PAGE).trainer.status == "diverged":
            break
        at.run()
    assert run_of(at, PAGE).trainer.status == "diverged"
    assert not at.exception
    assert any("diverged" in shown(e) and "learning rate" in shown(e) for e in at.error)
    assert live_view(at, "pg.run.view")["columns"] and not run_of(at, PAGE).playing


def test_a_full_server_shows_queued_and_trains_when_a_slot_frees(at: AppTest) -> None:
    slots = ui.live.training_slots()
    held = 0
    while slots.acquire(0):
        held += 1
    try:
        play(at)
        assert run_of(at, PAGE).queued and run_of(at, PAGE).trainer.step_count == 0
        at.run()  # the next tick says so (a tick draws before its turn)
        assert any("Queued" in shown(w) for w in at.warning)
    finally:
        for _ in range(held):
            slots.release()
    at.run()
    assert not run_of(at, PAGE).queued and run_of(at, PAGE).trainer.step_count > 0


def test_the_step_cap_pauses_with_a_reason(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui.live, "MAX_STEPS", 50)
    play(at)
    # a tick trains for a time budget, so a loaded machine needs more than one to reach 50
    for _ in range(50):
        at.run()
        if not run_of(at, PAGE).playing:
            break
    run = run_of(at, PAGE)
    assert not run.playing and run.trainer.step_count >= 50
    assert any("cap of 50 steps" in shown(i) for i in at.info)


def test_every_preset_loads_and_trains(at: AppTest) -> None:
    names = at.selectbox(key="pg.preset").options
    assert len(names) >= 6
    for name in names:
        at.selectbox(key="pg.preset").select(name).run()
        at.button(key="pg.btn.preset").click().run()
        assert_clean(at)
        assert any("Loaded" in shown(t) for t in at.toast)
        at.button(key="pg.run.btn.step").click().run()
        assert run_of(at, PAGE).trainer.step_count > 0, name


def test_each_view_tab_draws_only_when_open(at: AppTest) -> None:
    at.button(key="pg.run.btn.step").click().run()
    assert len(at.get("vega_lite_chart")) == 2  # Curves: loss and accuracy
    assert_every_chart_has_data(at, "Curves")
    at.session_state["pg.tab"] = "Inside the network"
    at.run()
    assert_clean(at)
    assert len(at.table) == 1 and len(at.get("vega_lite_chart")) == 1  # histograms only
    assert_every_chart_has_data(at, "Inside the network")
    layers = at.table[0].value
    assert list(layers["layer"]) == ["hidden 1", "hidden 2", "output"]
    at.radio(key="pg.part").set_value("weight").run()
    assert_clean(at)
    at.session_state["pg.tab"] = "Gradients"
    at.run()
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 2 and not at.table  # by depth and over time
    # the gradient norm by depth a walkthrough points to (it was blank: bars on a log scale)
    assert_every_chart_has_data(at, "Gradients")


def test_the_files_class_names_are_shown_as_typed_text() -> None:
    """Class labels come from the visitor's file: a Markdown link there stays typed text."""
    from app_helpers import open_page, unplain

    from engine.data.uploads import parse_points_csv
    from ui.controls import points_key

    link = "[click](https://evil.example)"
    rows = "x1,x2,label\n" + "".join(
        f"{i / 10},{-i / 10},{link if i % 2 else 'b'}\n" for i in range(20)
    )
    at = open_page("playground")
    at.session_state[points_key("pg")] = parse_points_csv(rows.encode())
    at.run()
    raw = [str(c.value) for c in at.caption if "points in 2 classes" in unplain(str(c.value))]
    assert raw, [str(c.value) for c in at.caption]
    assert link in unplain(raw[0])  # a reader sees exactly the file's label
    assert link not in raw[0]  # but Markdown gets it escaped, so it is no link


def test_an_uploaded_files_class_names_label_the_boundary_legend_and_survive_a_restore(
    tmp_path: Path,
) -> None:
    """Issue 14.5: three named classes train and the legend says their names, not
    "class 0/1/2"; a checkpoint (the run store's format) keeps them."""
    import json

    from app_helpers import open_page

    from engine.data.uploads import parse_points_csv
    from engine.trainer import Trainer
    from ui.controls import points_key

    rows = "x1,x2,label\n" + "".join(
        f"{i % 7 - 3},{i % 5 - 2},{['setosa', 'versicolor', 'virginica'][i % 3]}\n"
        for i in range(60)
    )
    at = open_page("playground")
    at.session_state[points_key("pg")] = parse_points_csv(rows.encode())
    at.run()
    at.selectbox(key="pg.w.data.dataset").set_value("uploaded").run()
    at.button(key="pg.run.btn.step").click().run()
    trainer = run_of(at, "pg").trainer
    assert trainer.cfg.data.dataset == "uploaded" and trainer.step_count > 0
    legend = next(
        json.loads(e.proto.json)["legend"]
        for e in at.get("bidi_component")
        if "legend" in json.loads(e.proto.json or "{}")
    )
    for name in ("setosa", "versicolor", "virginica"):
        assert name in legend, legend
    assert "class 0" not in legend

    path = trainer.save(tmp_path / "run.pt")
    assert Trainer.load(path).data.class_names == ("setosa", "versicolor", "virginica")
