"""The hand-written MLP gradients (engine/manual_backward.py) against autograd, the oracle."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.activations import ACTIVATIONS
from engine.config import Config, ModelConfig
from engine.losses import LOSSES
from engine.manual_backward import ManualMLPStep
from engine.models import build_model
from engine.trainer import Trainer

MANUAL_ACTIVATIONS = [e.name for e in ACTIVATIONS if "backward" in e.extra]
MANUAL_LOSSES = [(e.name, task) for e in LOSSES for task in e.extra.get("manual_tasks", ())]


def _net(activation: str, hidden: tuple[int, ...], n_in: int, n_out: int, bias: bool = True):
    m = ModelConfig(hidden=hidden, activation=activation, bias=bias, init="xavier_normal")
    return build_model(m, (n_in,), n_out, seed=3)


def _batch(task: str, n: int, n_in: int, n_out: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n_in, generator=g) * 2
    y = torch.randint(0, n_out, (n,), generator=g) if task == "classification" else None
    if y is None:
        y = torch.randn(n, generator=g)
    return x, y


def _compare(net, activation: str, loss: str, task: str, x, y) -> None:
    """The manual step's loss and every gradient equal autograd's."""
    step = ManualMLPStep.for_model(net, activation, loss, task)
    assert step is not None
    manual_loss = step(x, y)
    manual = {name: p.grad.clone() for name, p in net.named_parameters()}
    for p in net.parameters():
        p.grad = None
    oracle_loss = LOSSES.get(loss).build(x.shape[1])(net(x), y)
    oracle_loss.backward()
    assert torch.allclose(manual_loss, oracle_loss, rtol=1e-6, atol=1e-7)
    for name, p in net.named_parameters():
        assert torch.allclose(manual[name], p.grad, rtol=1e-5, atol=1e-7), name


@pytest.mark.parametrize("activation", MANUAL_ACTIVATIONS)
@pytest.mark.parametrize(("loss", "task"), MANUAL_LOSSES)
def test_every_activation_with_a_backward_matches_autograd(
    activation: str, loss: str, task: str
) -> None:
    n_out = 3 if task == "classification" else 1
    net = _net(activation, (5, 4), 3, n_out)
    x, y = _batch(task, 16, 3, n_out)
    _compare(net, activation, loss, task, x, y)


@settings(max_examples=40, deadline=None)
@given(
    activation=st.sampled_from(MANUAL_ACTIVATIONS),
    hidden=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    n_in=st.integers(1, 6),
    classes=st.integers(2, 4),
    batch=st.integers(1, 12),
    bias=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_any_plain_mlp_shape_matches_autograd(
    activation: str, hidden: list[int], n_in: int, classes: int, batch: int, bias: bool, seed: int
) -> None:
    net = _net(activation, tuple(hidden), n_in, classes, bias)
    x, y = _batch("classification", batch, n_in, classes, seed)
    _compare(net, activation, "cross_entropy", "classification", x, y)


@pytest.mark.parametrize(
    "changes",
    [
        {"model.norm": "batch"},
        {"model.dropout": "dropout"},
        {"model.dropout": "dropconnect"},
        {"model.residual": True, "model.hidden": [4, 4]},
        {"model.activation": "prelu"},
        {"model.activation": "maxout"},
        {"model.norm": "weight_norm"},
        {"train.loss": "mse"},  # the Brier score of a classification: autograd
        {"data.dataset": "mnist", "model.arch": "cnn", "model.hidden": [4]},
    ],
)
def test_anything_else_trains_through_autograd(changes: dict) -> None:
    cfg = Config().replace(**{"device": "cpu", **changes})
    t = Trainer(cfg)
    assert t._manual is None
    t.step(3)  # and it trains
    assert t.step_count == 3


def test_the_playground_network_takes_the_manual_path() -> None:
    for dataset, loss in (("circle", "cross_entropy"), ("reg_plane", "mse")):
        t = Trainer(
            Config().replace(**{"device": "cpu", "data.dataset": dataset, "train.loss": loss})
        )
        assert t._manual is not None, dataset


@pytest.mark.parametrize(
    "changes",
    [
        {"train.optimizer": "sgd", "train.lr": 0.1},
        {"train.optimizer": "adam", "train.l1": 1e-3, "train.l2": 1e-2, "train.grad_clip": 0.5},
        {"model.activation": "relu", "train.max_norm": 1.0, "train.optimizer": "momentum"},
        {"data.dataset": "reg_plane", "train.loss": "mse", "model.activation": "softplus"},
    ],
)
def test_trainer_curves_match_autograd_with_penalties_clipping_and_probes(changes: dict) -> None:
    cfg = Config().replace(
        **{"device": "cpu", "train.steps": 60, "train.eval_every": 20, **changes}
    )
    manual, oracle = Trainer(cfg, probe_every=7), Trainer(cfg, probe_every=7, manual_backward=False)
    assert manual._manual is not None and oracle._manual is None
    manual.run(), oracle.run()
    assert manual.history.loss == pytest.approx(oracle.history.loss, rel=1e-4, abs=1e-6)
    for a, b in zip(manual.history.evals, oracle.history.evals, strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4, abs=1e-6)
    # the probes saw the manual forward pass: same activation histograms and gradient norms
    for fa, fb in zip(manual.history.probes, oracle.history.probes, strict=True):
        for la, lb in zip(fa["layers"], fb["layers"], strict=True):
            assert la.get("post", {}).get("counts") == lb.get("post", {}).get("counts")
            assert la["grad_norm"] == pytest.approx(lb["grad_norm"], rel=1e-4, abs=1e-7)
