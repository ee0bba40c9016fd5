"""The Trainer: step-wise, seeded, divergence-safe, early stopping, checkpoints, probes."""

from __future__ import annotations

import math

import pytest
import torch

from engine.config import Config
from engine.trainer import Trainer
from tests.engine.tiny import measured
from tests.engine.tiny import tiny as small


def test_same_config_gives_identical_history() -> None:
    cfg = small(**{"model.dropout": "dropout", "model.dropout_rate": 0.2})
    a, b = Trainer(cfg), Trainer(cfg)
    a.run(), b.run()
    assert a.history.loss == b.history.loss
    assert measured(a.history.evals) == measured(b.history.evals)


def test_changing_only_the_optimizer_keeps_data_init_and_batches() -> None:
    a = Trainer(small())
    b = Trainer(small(**{"train.optimizer": "sgd", "train.lr": 0.5}))
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)
    for _ in range(3):
        xa, ya = a.next_batch()
        xb, yb = b.next_batch()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        a.step_count += 1
        b.step_count += 1


def test_step_is_incremental_and_stops_at_the_end() -> None:
    t = Trainer(small())
    assert t.status == "ready"
    assert t.step(3) == 3
    assert t.step_count == 3 and t.status == "running"
    assert t.steps_per_epoch == 5  # 100 training points / batch 20
    t.run()
    assert t.status == "finished"
    assert t.step_count == t.total_steps == 25
    assert t.step(10) == 0
    assert [e["step"] for e in t.history.evals] == [5, 10, 15, 20, 25]
    assert len(t.history.loss) == 25


def test_run_for_returns_after_its_time_budget() -> None:
    t = Trainer(small(**{"train.epochs": 10_000}))
    taken = t.run_for(0.2)
    assert 0 < taken < t.total_steps
    assert not t.done


def test_training_learns_the_circle() -> None:
    t = Trainer(small(**{"data.n_samples": 400, "train.epochs": 40, "model.hidden": [16, 16]}))
    s = t.run()
    assert s["val_acc"] >= 0.95
    assert t.history.evals[-1]["train_loss"] < t.history.evals[0]["train_loss"]


def test_divergence_stops_with_a_clear_status_instead_of_raising() -> None:
    # Linear regression with plain SGD and a learning rate far past 2/curvature explodes.
    cfg = small(
        **{
            "data.dataset": "reg_plane",
            "train.loss": "mse",
            "train.optimizer": "sgd",
            "train.lr": 5.0,
            "model.activation": "linear",
            "train.epochs": 50,
        }
    )
    t = Trainer(cfg)
    s = t.run()
    assert s["status"] == "diverged" == t.status
    assert "diverged at step" in t.message and "learning rate" in t.message
    assert t.step_count < t.total_steps
    assert t.step(5) == 0  # stays stopped
    assert not math.isfinite(t.history.loss[-1])


def test_an_evaluation_loss_that_is_not_finite_stops_the_run_as_diverged() -> None:
    # After a huge step the weights can hold inf while every unit of a batch is dead, so the
    # batches' loss stays finite; the evaluation's nan must still stop the run and say so.
    t = Trainer(small())
    t.step(1)
    with torch.no_grad():
        next(t.model.parameters()).fill_(math.inf)
    t.evaluate()
    assert t.status == "diverged" and t.done
    assert "the loss became nan" in t.message and "learning rate" in t.message


def test_early_stopping_restores_the_best_weights() -> None:
    # A big net on few noisy points overfits: validation loss rises after a while.
    cfg = small(
        **{
            "data.n_samples": 60,
            "data.noise": 0.5,
            "model.hidden": [64, 64],
            "train.epochs": 400,
            "train.lr": 0.01,
            "train.batch_size": 10,
            "train.early_stopping_patience": 5,
        }
    )
    t = Trainer(cfg)
    s = t.run()
    assert s["status"] == "early_stopped"
    assert s["steps"] < t.total_steps
    best = min(e["val_loss"] for e in t.history.evals)
    assert t.metrics(t.val_split)["loss"] == pytest.approx(best, rel=1e-5)
    assert f"step {s['best_step']}" in t.message


def test_checkpoint_resumes_bit_for_bit_even_with_dropout(tmp_path) -> None:
    cfg = small(**{"model.dropout": "dropout", "model.dropout_rate": 0.2})
    full = Trainer(cfg)
    full.run()
    half = Trainer(cfg)
    half.step(12)  # mid-epoch on purpose
    resumed = Trainer.load(half.save(tmp_path / "run.pt"))
    assert resumed.step_count == 12
    resumed.run()
    assert resumed.history.loss == full.history.loss
    assert measured(resumed.history.evals) == measured(full.history.evals)
    for a, b in zip(resumed.model.parameters(), full.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_checkpoint_rejects_other_files(tmp_path) -> None:
    bad = tmp_path / "x.pt"
    torch.save({"hello": 1}, bad)
    with pytest.raises(ValueError, match="not a playground checkpoint"):
        Trainer.load(bad)


def test_probes_summarize_each_layer_at_the_chosen_interval() -> None:
    t = Trainer(small(**{"model.activation": "relu"}), probe_every=5)
    t.run()
    assert [p["step"] for p in t.history.probes] == [5, 10, 15, 20, 25]
    layers = t.history.probes[0]["layers"]
    assert [row["layer"] for row in layers] == ["hidden 1", "hidden 2", "output"]
    h1 = layers[0]
    assert sum(h1["pre"]["counts"]) == 20 * 8  # batch x units, all values binned
    assert len(h1["pre"]["edges"]) == len(h1["pre"]["counts"]) + 1
    assert 0.0 <= h1["dead"] <= 1.0 and h1["saturated"] is None
    assert h1["grad_norm"] > 0 and h1["weight_norm"] > 0 and h1["update_ratio"] > 0
    # edges are fixed after the first probe so frames are comparable
    assert t.history.probes[-1]["layers"][0]["pre"]["edges"] == h1["pre"]["edges"]


def test_l1_and_l2_penalties_enter_the_gradient() -> None:
    base = Trainer(small())
    l2 = Trainer(small(**{"train.l2": 0.1}))
    pen = l2.penalty()
    w = l2.model.penalized_weights()
    assert pen.detach().item() == pytest.approx(
        0.5 * 0.1 * sum(float((x.detach() ** 2).sum()) for x in w), rel=1e-5
    )
    assert base.penalty() is None


def test_max_norm_caps_each_units_incoming_weights() -> None:
    t = Trainer(small(**{"train.max_norm": 0.5, "model.init": "normal", "model.init_std": 1.0}))
    t.step(1)
    for _, layer in t.model.weight_layers():
        assert layer.weight.norm(dim=1).max().item() <= 0.5 + 1e-5


def test_empty_validation_split_reports_no_metrics() -> None:
    cfg = Config().replace(
        **{
            "device": "cpu",
            "data.dataset": "mnist",
            "data.val_fraction": 0.0,
            "data.train_subset": 256,
            "model.hidden": [16],
            "train.batch_size": 64,
            "train.epochs": 1,
            "train.early_stopping_patience": 2,
        }
    )
    s = Trainer(cfg).run()
    assert s["status"] == "finished"
    assert s["val_loss"] is None and s["val_acc"] is None
    assert s["train_acc"] is not None and s["test_acc"] is not None


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"data.n_samples": 10, "data.train_fraction": 0.05}, "data.n_samples 10"),
        ({"data.dataset": "mnist", "data.train_subset": 1}, "data.train_subset 1"),
    ],
    ids=["toy-split-of-1", "mnist-subset-1"],
)
def test_batchnorm_on_a_one_example_split_is_refused_before_training(changes, names) -> None:
    """Validation checks train.batch_size, but the batch used is at most the training split:
    torch failed mid-run with 'Expected more than 1 value per channel'."""
    from engine.registry import ConfigError

    cfg = small(**{"model.norm": "batch", **changes})
    with pytest.raises(ConfigError) as info:
        Trainer(cfg)
    assert info.value.field == "model.norm"
    assert "at least 2 training examples" in str(info.value) and names in str(info.value)
    t = Trainer(cfg.replace(**{"model.norm": "layer"}))  # no batch statistics: trains
    t.step(2)
    assert t.step_count == 2


def test_probe_at_init_refuses_batchnorm_with_one_example() -> None:
    from engine.probes import probe_at_init
    from engine.registry import ConfigError

    t = Trainer(small(**{"model.norm": "batch"}))
    x, y = t.train_split.x, t.train_split.y
    with pytest.raises(ConfigError, match="at least 2 examples"):
        probe_at_init(t.model, "tanh", x[:1], y[:1], t.loss_fn)
    assert len(probe_at_init(t.model, "tanh", x[:2], y[:2], t.loss_fn)) == 3


def test_a_pickled_checkpoint_is_not_a_checkpoint_and_no_retry_is_advised(tmp_path) -> None:
    """torch's refusal advises retrying with weights_only=False, which would run the file."""
    import pathlib

    evil = tmp_path / "evil.pt"
    torch.save({"format": 1, "x": pathlib.PurePosixPath("a")}, evil)
    with pytest.raises(ValueError) as info:
        Trainer.load(evil)
    message = str(info.value)
    assert "not a playground checkpoint" in message
    assert "weights_only" not in message and "\n" not in message
