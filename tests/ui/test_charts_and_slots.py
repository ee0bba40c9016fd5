"""Chart builders make valid Vega-Lite from real trainer output, and the training slots that
sessions take turns on are fair and time out cleanly."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.config import Config
from engine.trainer import Trainer
from ui import charts
from ui.live import Slots


@pytest.fixture(scope="module")
def trained() -> Trainer:
    cfg = Config().replace(**{"device": "cpu", "model.hidden": [6, 4], "train.epochs": 4})
    t = Trainer(cfg, probe_every=5)
    t.run()
    return t


def test_every_chart_is_valid_vega_lite_on_real_history(trained: Trainer) -> None:
    t = trained
    layers = t.history.probes[-1]["layers"]
    loss = charts.curves_table(t.history, t.steps_per_epoch, "loss", "test")
    built = [
        charts.curves_chart(loss, "Loss", False, charts.splits_present(loss)),
        charts.curves_chart(loss, "Loss", True, charts.splits_present(loss)),
        charts.histogram_chart(charts.histogram_table(layers, "post"), "Activations"),
        charts.grad_norms_chart(charts.grad_norms_table(t.history.probes)),
        charts.grad_depth_chart(charts.grad_depth_table(layers)),
        charts.lr_chart(charts.lr_table(t.history, t.steps_per_epoch)),
        charts.confusion_chart(np.array([[5, 1], [2, 7]]), ["0", "1"]),
        charts.probabilities_chart(np.array([0.2, 0.8]), ["0", "1"]),
    ]
    for chart in built:
        chart.to_dict(validate=True)  # raises on a spec Vega-Lite would reject


def test_curves_table_has_both_splits_and_the_minibatch_loss(trained: Trainer) -> None:
    t = trained
    df = charts.curves_table(t.history, t.steps_per_epoch, "loss", "test")
    assert charts.splits_present(df) == ("training", "test", "minibatch")
    assert len(df[df.split == "training"]) == len(t.history.evals)
    acc = charts.curves_table(t.history, t.steps_per_epoch, "acc", "validation")
    assert set(acc.split) == {"training", "validation"} and acc.value.between(0, 1).all()


def test_downsample_averages_buckets_and_skips_nan() -> None:
    x = list(range(1000))
    y = [float("nan") if i % 10 == 0 else float(i) for i in range(1000)]
    bx, by = charts.downsample(x, y, max_points=100)
    assert len(bx) == 100 and bx[0] == pytest.approx(4.5)
    assert by[0] == pytest.approx(np.mean([i for i in range(10) if i % 10]))
    assert charts.downsample([1, 2], [3, 4]) == ([1, 2], [3, 4])


def test_format_stats_shows_percentages_and_blanks() -> None:
    import pandas as pd

    df = pd.DataFrame(
        {"layer": ["h1"], "saturated": [0.25], "dead": [None], "gradient norm": [0.00123456]}
    )
    out = charts.format_stats(df)
    assert out.iloc[0].tolist() == ["h1", "25.0%", "", "0.00123"]


def test_slots_are_handed_over_in_the_order_asked() -> None:
    slots = Slots(1)
    assert slots.acquire(0)
    order: list[int] = []

    def worker(i: int) -> None:
        assert slots.acquire(5)
        order.append(i)
        time.sleep(0.01)
        slots.release()

    threads = []
    for i in range(4):
        th = threading.Thread(target=worker, args=(i,))
        th.start()
        threads.append(th)
        time.sleep(0.05)  # queue up in a known order
    slots.release()
    for th in threads:
        th.join(5)
    assert order == [0, 1, 2, 3]
    assert slots.acquire(0)  # all handed back: free again
    slots.release()


def test_a_released_slot_cannot_be_taken_back_over_a_waiter() -> None:
    slots = Slots(1)
    assert slots.acquire(0)
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire(5)))
    waiter.start()
    time.sleep(0.05)
    slots.release()
    assert not slots.acquire(0)  # the waiter was first in line
    waiter.join(5)
    assert got == [True]


def test_waiting_gives_up_after_the_timeout_and_leaves_no_trace() -> None:
    slots = Slots(2)
    assert slots.acquire(0) and slots.acquire(0)
    assert not slots.acquire(0.05)
    slots.release()
    assert slots.acquire(0)  # the timed-out waiter did not swallow the freed slot


def test_live_chart_templates_do_not_depend_on_the_data(trained: Trainer) -> None:
    """charts.show builds each chart's spec once from an empty table and reuses it: a builder
    whose spec depended on the data (say, colours from the names in it) would draw wrong
    charts. Every builder the pages use must give the same spec for empty and real data."""
    import json

    import pandas as pd

    from ui import compare
    from ui.live import LiveRun

    t = trained
    layers = t.history.probes[-1]["layers"]
    loss = charts.curves_table(t.history, t.steps_per_epoch, "loss", "test")
    run = LiveRun([t, t], ["a", "b"])
    runs = {"a": layers, "b": layers}
    race = pd.DataFrame({"step": [0, 1], "loss": [2.0, 1.0], "optimizer": ["SGD", "SGD"]})
    grid = pd.DataFrame({"epoch": [1.0], "value": [0.5], "split": ["training"],
                         "panel": ["0.1"], "colour": ["batch"]})  # fmt: skip
    cmp = compare.curves(run, "loss")
    cases = [
        (charts.curves_chart, loss, ("Loss", False, charts.splits_present(loss))),
        (charts.histogram_chart, charts.histogram_table(layers, "post"), ("x",)),
        (charts.grad_norms_chart, charts.grad_norms_table(t.history.probes), ()),
        (charts.grad_depth_chart, charts.grad_depth_table(layers), ()),
        (charts.lr_chart, charts.lr_table(t.history, t.steps_per_epoch), ()),
        (
            charts.histogram_grid_chart,
            charts.run_histograms_table(runs, "post"),
            ("x", ("a", "b"), 3),
        ),
        (charts.depth_chart, charts.depth_table(runs, "std"), ("std", True, False, ("b", "a"))),
        (charts.grad_time_chart, charts.grad_time_table({"a": t.history.probes}), ()),
        (charts.race_loss_chart, race, (True, ("SGD",))),
        (charts.grid_chart, grid, ("init_std", "norm")),
        (compare.curves_chart, cmp, ("Loss", False, charts.splits_present(cmp), ("a", "b"))),
        (
            charts.runs_lr_chart,
            charts.lr_table(t.history, t.steps_per_epoch).assign(run="a"),
            (("a",),),
        ),
        (charts.line_landscape_chart, pd.DataFrame({"alpha": [0.0, 1.0], "loss": [2.0, 0.1]}), ()),
    ]
    for build, df, params in cases:
        assert len(df), build.__name__
        direct = charts.spec(build(df, *params))
        template = json.loads(charts._template(build, tuple(df.columns), tuple(params)))
        assert template == direct, build.__name__


def test_compared_curves_name_only_the_splits_they_draw(trained: Trainer) -> None:
    from ui import compare
    from ui.live import LiveRun

    df = compare.curves(LiveRun([trained, trained], ["a", "b"]), "acc", "test")
    assert charts.splits_present(df) == ("training", "test")
    spec = charts.spec(compare.curves_chart(df, "Accuracy", False, charts.splits_present(df)))
    dash = spec["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["training", "test"] and dash["range"] == [[1, 0], [5, 3]]
    assert spec["encoding"]["color"]["legend"]["columns"] == 3  # runs wrap, none cut off


def test_every_run_coloured_chart_colours_runs_in_the_order_given(trained: Trainer) -> None:
    from ui import compare
    from ui.live import LiveRun

    order = ("He", "Xavier", "N(0, 1)")
    run = LiveRun([trained] * 3, list(order))
    layers = trained.history.probes[-1]["layers"]
    built = [
        compare.curves_chart(compare.curves(run, "loss"), "Loss", False, ("training",), order),
        charts.depth_chart(
            charts.depth_table(dict.fromkeys(order, layers), "std"), "s", runs=order
        ),
        charts.runs_lr_chart(charts.lr_table(trained.history, 1).assign(run="He"), order),
    ]
    for chart in built:
        color = charts.spec(chart)["encoding"]["color"]
        assert color["sort"] == list(order) and color["scale"]["domain"] == list(order)
        assert color["scale"]["range"] == charts.RUN_PALETTE[:3]  # three distinct hues


def test_runs_of_different_batch_sizes_are_drawn_against_steps() -> None:
    """Issue 14.8: the tiny-batch experiment's batch-2 curves filled the first 0.7 of a
    21-epoch axis (the runs share 1,500 steps, not epochs); runs that differ in steps per
    epoch are now drawn against steps, and runs that do not stay on epochs."""
    import json

    from ui import compare
    from ui.live import LiveRun

    base = Config().replace(
        **{"device": "cpu", "data.n_samples": 200, "model.hidden": (4,), "train.steps": 20,
           "train.eval_every": 10}
    )  # fmt: skip
    small, large = (Trainer(base.replace(**{"train.batch_size": b})) for b in (2, 20))
    for t in (small, large):
        t.run()
    mixed = LiveRun([small, large], ["batch 2", "batch 20"])
    assert compare.x_measure(mixed) == "step"
    assert compare.x_measure(LiveRun([large, large], ["a", "b"])) == "epoch"
    df = compare.curves(mixed, "loss")
    ends = df.groupby("run")["step"].max()
    assert ends["batch 2"] == ends["batch 20"] == 20  # the same span on the shared axis
    assert (
        df.groupby("run")["epoch"].max()["batch 2"] < df.groupby("run")["epoch"].max()["batch 20"]
    )
    spec = charts.spec(compare.curves_chart(df, "Loss", False, ("training",), (), 240, "step"))
    assert spec["encoding"]["x"]["field"] == "step"
    assert json.dumps(spec).count('"epoch"') == 0
