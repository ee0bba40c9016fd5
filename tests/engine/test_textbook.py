"""Textbook behaviours, seen in the engine's own numbers.

Each test sets up the classic experiment for one claim about initialization, optimizers, batch
normalization, weight decay or dropout, and checks that the engine's probes, histories and
weights show it, with margins of a few times what the seeded runs need (the margins were checked
over several seeds while writing these tests; each test runs one). Sizes are small enough for
the file to take seconds on one CPU core.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import pytest
import torch

from engine.config import Config
from engine.probes import MAX_SUMMARY_VALUES, probe_at_init
from engine.trainer import Trainer


def config(base: dict[str, Any], **changes: Any) -> Config:
    return Config().replace(**{**base, "device": "cpu", **changes})


@functools.cache
def _trained(items: tuple[tuple[str, Any], ...]) -> Trainer:
    trainer = Trainer(config(dict(items)))
    trainer.run()
    assert trainer.status == "finished", trainer.message
    return trainer


def trained(base: dict[str, Any], **changes: Any) -> Trainer:
    """A trainer run to the end (cached: several tests share their baselines; don't mutate)."""
    d = {**base, **changes}
    return _trained(
        tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))
    )


def final(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The last evaluation row of a finished run."""
    return trained(base, **changes).history.evals[-1]


# ---------------------------------------------------------------------------------------------
# Initialization: one forward/backward pass at init through a deep MLP on standard-normal inputs

DEEP = {
    "data.dataset": "normal_noise",
    "data.n_samples": 1000,
    "data.noise": 0.0,
    "model.hidden": [100] * 8,
}
# 20 examples x 100 units = 2,000 values per layer, at most MAX_SUMMARY_VALUES, so the probe's
# mean and std use every value (larger batches are subsampled, which currently aliases with the
# layer width: see test_probe_std_is_the_std_of_all_units at the end).
N_PROBE = 20


def probe_deep(n: int = N_PROBE, **changes: Any) -> list[dict[str, Any]]:
    """Per-layer probe rows (8 hidden layers, then the output) at initialization."""
    cfg = config(DEEP, **changes)
    t = Trainer(cfg)
    x, y = t.train_split.x[:n], t.train_split.y[:n]
    return probe_at_init(t.model, cfg.model.activation, x, y, t.loss_fn)


def post_stds(rows: list[dict[str, Any]]) -> list[float]:
    return [r["post"]["std"] for r in rows[:-1]]  # hidden layers only


def test_tiny_normal_init_makes_tanh_activations_vanish_with_depth() -> None:
    """Weights N(0, 0.01²) on 100 inputs scale each layer's signal by about √100·0.01 = 0.1:
    the activations of a deep tanh net shrink geometrically towards zero (Glorot & Bengio 2010,
    fig. 3; the deeplearning.ai note "Initializing neural networks")."""
    rows = probe_deep(
        **{"model.activation": "tanh", "model.init": "normal", "model.init_std": 0.01}
    )
    stds = post_stds(rows)
    for shallower, deeper in itertools.pairwise(stds):
        assert deeper < 0.3 * shallower  # measured ~0.1x per layer
    assert stds[-1] < 1e-4 * stds[0]  # measured ~1e-7
    assert all(r["saturated"] == 0.0 for r in rows[:-1])


def test_large_normal_init_saturates_tanh_units() -> None:
    """Weights N(0, 1) on 100 inputs give pre-activations of std ~10: most tanh units sit at
    ±1, where the gradient vanishes (Glorot & Bengio 2010; deeplearning.ai note)."""
    rows = probe_deep(**{"model.activation": "tanh", "model.init": "normal", "model.init_std": 1.0})
    for r in rows[1:-1]:
        assert r["saturated"] > 0.7, r["layer"]  # measured ~0.88 in every layer
        assert r["post"]["std"] > 0.9  # the values pile up at -1 and +1


def test_xavier_init_keeps_tanh_activations_moderate_and_unsaturated() -> None:
    """Glorot/Xavier init (Var = 2/(fan_in+fan_out)) keeps the activation scale of a deep tanh
    net in a useful range: neither vanishing nor saturated (Glorot & Bengio 2010, fig. 6)."""
    rows = probe_deep(**{"model.activation": "tanh", "model.init": "xavier_normal"})
    stds = post_stds(rows)
    assert all(0.1 < s < 0.9 for s in stds), stds  # measured 0.24..0.64
    assert stds[-1] > stds[0] / 4  # measured ~0.4
    assert all(r["saturated"] < 0.25 for r in rows[:-1])  # layer 1: ~0.14
    assert all(r["saturated"] < 0.05 for r in rows[2:-1])  # deeper: < 0.005


def test_he_init_keeps_the_relu_activation_scale_over_depth() -> None:
    """He init (Var = 2/fan_in) makes up for ReLU zeroing half the signal, so the activation
    scale stays about constant over depth (He et al. 2015, §2.2)."""
    stds = post_stds(probe_deep(**{"model.activation": "relu", "model.init": "he_normal"}))
    assert all(stds[0] / 2 < s < 2 * stds[0] for s in stds), stds  # measured 0.63x..1.34x


@pytest.mark.parametrize(
    ("init", "std", "bound"),
    [("xavier_normal", 1.0, 0.25), ("normal", 0.01, 1e-4)],
    ids=["xavier", "normal_0.01"],
)
def test_smaller_inits_shrink_relu_activations_layer_by_layer(
    init: str, std: float, bound: float
) -> None:
    """Xavier's Var = 2/(fan_in+fan_out) = 1/fan_in here is half of what ReLU needs, so each
    layer halves the signal's variance: a factor 2^(-7/2) ~ 0.09 in std over 8 layers; a fixed
    std of 0.01 shrinks it ~14x per layer (He et al. 2015, §2.2 and fig. 3)."""
    stds = post_stds(
        probe_deep(**{"model.activation": "relu", "model.init": init, "model.init_std": std})
    )
    assert stds[7] < stds[3] < stds[0], stds
    assert stds[-1] < bound * stds[0]  # measured: xavier 0.06..0.13, normal_0.01 ~1e-8


def test_sigmoid_gradients_vanish_towards_the_input_and_residuals_restore_them() -> None:
    """In a deep sigmoid net each layer multiplies the backward signal by σ' <= 1/4 times the
    weights, so the first layer's gradient is orders of magnitude below the last one's
    (Bengio et al. 1994; Glorot & Bengio 2010, fig. 7); identity skip connections give the
    gradient a path around every block (He et al. 2016)."""
    act = {"model.activation": "sigmoid", "model.init": "xavier_normal"}

    def first_over_last(rows: list[dict[str, Any]]) -> float:
        return rows[0]["grad_norm"] / rows[-2]["grad_norm"]  # hidden 1 / hidden 8

    plain = first_over_last(probe_deep(**act))
    residual = first_over_last(probe_deep(**act, **{"model.residual": True}))
    assert plain < 1e-3  # measured 2e-5..5e-5
    assert residual > 0.05  # measured 0.14..2.2
    assert residual > 1000 * plain


def test_zero_init_never_breaks_the_symmetry_between_units() -> None:
    """With all weights zero every hidden unit computes and receives the same thing, so
    gradient descent can never make them differ; here (tanh(0) = 0) no weight moves at all and
    the network predicts the same class for every input (deeplearning.ai note; Goodfellow et
    al. 2016, §8.4)."""
    base = {
        "data.dataset": "circle",
        "model.hidden": [8, 8],
        "train.epochs": 10,
        "train.optimizer": "momentum",
        "train.lr": 0.1,
    }
    t = trained(base, **{"model.init": "zeros"})
    for _, layer in t.model.weight_layers():
        w = layer.weight.detach()
        assert torch.equal(w, torch.zeros_like(w))
    t.model.eval()
    with torch.no_grad():
        out = t.model(t.val_split.x)  # (n_val, 2)
    assert torch.equal(out, out[:1].expand_as(out))  # one answer for every input
    assert t.history.evals[-1]["val_acc"] < 0.6  # the share of one class: ~0.5
    moved = trained(base)  # the same run from xavier_uniform: measured 0.95..0.97
    assert moved.history.evals[-1]["val_acc"] > 0.9


# ---------------------------------------------------------------------------------------------
# Optimizers: the same MNIST MLP, initial weights and batches; only the update rule differs

OPT = {
    "data.dataset": "mnist",
    "model.hidden": [64],
    "model.activation": "tanh",
    "train.lr": 0.001,
    "train.batch_size": 32,
    "train.steps": 200,
    "train.eval_every": 200,
}


@pytest.mark.parametrize(
    ("optimizer", "factor"),
    [("momentum", 2.0), ("nesterov", 2.0), ("adam", 4.0), ("rmsprop", 4.0), ("nadam", 4.0)],
)
def test_momentum_and_adaptive_methods_beat_plain_sgd_at_a_small_learning_rate(
    optimizer: str, factor: float
) -> None:
    """At a learning rate too small for plain SGD, momentum (Polyak 1964; Sutskever et al.
    2013) and adaptive steps (Tieleman & Hinton 2012; Kingma & Ba 2015; Dozat 2016) reach a far
    lower training loss in the same 200 steps."""
    sgd = trained(OPT, **{"train.optimizer": "sgd"})
    other = trained(OPT, **{"train.optimizer": optimizer})
    assert other.history.loss[0] == sgd.history.loss[0]  # same init, same first batch
    sgd_loss = sgd.history.evals[-1]["train_loss"]  # measured 1.60..1.73
    # measured: momentum/nesterov 0.57..0.59 (2.8x lower), adam/rmsprop/nadam 0.24..0.29 (6x)
    assert other.history.evals[-1]["train_loss"] < sgd_loss / factor


def test_momentum_moves_like_sgd_with_a_step_of_lr_over_one_minus_beta() -> None:
    """Along a steady gradient, momentum β reaches the terminal velocity lr·g/(1-β): with
    β = 0.9 it trains like SGD at 10x the learning rate (Goodfellow et al. 2016, §8.3.2)."""
    momentum = final(OPT, **{"train.optimizer": "momentum", "train.momentum": 0.9})
    sgd_10x = final(OPT, **{"train.optimizer": "sgd", "train.lr": 10 * OPT["train.lr"]})
    sgd = final(OPT, **{"train.optimizer": "sgd"})
    assert momentum["train_loss"] == pytest.approx(sgd_10x["train_loss"], rel=0.1)  # ~1% apart
    assert sgd["train_loss"] > 2 * momentum["train_loss"]


@pytest.mark.parametrize(
    ("optimizer", "lo", "hi"),
    [("sgd", 0.99, 1.01), ("adagrad", 0.0, 0.7), ("rmsprop", 1.0, math.inf)],
)
def test_adagrad_steps_only_shrink_while_rmsprop_forgets(
    optimizer: str, lo: float, hi: float
) -> None:
    """The effective step |ΔW|/|∇W| of each layer, from the probes: SGD's is the learning
    rate; AdaGrad divides by the root of the sum of all past squared gradients, so its steps
    keep shrinking (Duchi et al. 2011); RMSProp's running average forgets old gradients, so its
    steps do not (Tieleman & Hinton 2012)."""
    cfg = config(OPT, **{"train.optimizer": optimizer, "train.lr": 0.01})
    t = Trainer(cfg, probe_every=5)
    t.run()
    # weight_norm is measured after the step and update_ratio = |ΔW|/|W before|: equal to
    # within the (tiny) change of |W| in one step
    steps = [
        [r["update_ratio"] * r["weight_norm"] / r["grad_norm"] for r in p["layers"]]
        for p in t.history.probes
    ]  # (probes, layers)
    assert len(steps) == 40
    for layer in range(len(steps[0])):
        early = sum(s[layer] for s in steps[:4]) / 4  # steps 5..20
        late = sum(s[layer] for s in steps[-4:]) / 4  # steps 185..200
        # measured late/early: sgd 1.00, adagrad 0.39..0.59, rmsprop 1.18..2.66
        assert lo < late / early < hi, (layer, early, late)
        if optimizer == "sgd":
            assert early == pytest.approx(0.01, rel=0.01)


# ---------------------------------------------------------------------------------------------
# Batch normalization

BN = {
    "data.dataset": "mnist",
    "model.hidden": [100] * 6,
    "train.batch_size": 32,
    "train.steps": 200,
    "train.eval_every": 200,
}


@pytest.mark.parametrize(
    "changes",
    [
        {"model.activation": "sigmoid", "train.optimizer": "sgd", "train.lr": 0.1},
        {
            "model.activation": "tanh",
            "model.init": "normal",
            "model.init_std": 0.01,
            "train.optimizer": "momentum",
            "train.lr": 0.01,
        },
    ],
    ids=["deep_sigmoid", "tanh_init_0.01"],
)
def test_batch_norm_trains_deep_nets_that_are_stuck_without_it(changes: dict[str, Any]) -> None:
    """A 6-layer sigmoid net under SGD, or a tanh net whose tiny init makes its signals vanish,
    stays at chance in 200 steps; standardizing each unit over the batch lets the same net
    train, whatever the weight scale (Ioffe & Szegedy 2015, §3.3 and §4.1)."""
    plain = final(BN, **changes)
    normed = final(BN, **changes, **{"model.norm": "batch"})
    # measured: plain loss 2.30..2.33 (ln 10 = 2.30 is chance), acc ~0.10
    assert plain["train_loss"] > 2.0 and plain["val_acc"] < 0.2
    # measured: loss 0.35..0.46, val acc 0.86..0.88
    assert normed["train_loss"] < plain["train_loss"] / 3
    assert normed["val_acc"] > 0.75


def test_batch_norm_uses_running_statistics_in_eval_mode() -> None:
    """In training BatchNorm standardizes with the batch's own mean and variance, so an
    example's output depends on the rest of its batch; at inference it uses the running
    (population) statistics, so each output depends on its own input only (Ioffe & Szegedy
    2015, §3.1)."""
    cfg = config(
        BN, **{"model.hidden": [32, 32], "model.norm": "batch", "train.steps": 50, "train.lr": 0.01}
    )
    t = Trainer(cfg)
    t.run()
    bn = t.model.blocks[0].norm
    assert isinstance(bn, torch.nn.BatchNorm1d)
    assert bn.running_mean.abs().max() > 0.01 and (bn.running_var - 1).abs().max() > 0.01
    x = t.val_split.x
    one, batch_a, batch_b = x[:1], x[:64], torch.cat([x[:1], x[64:127]])
    with torch.no_grad():
        t.model.eval()
        alone = t.model(one)[0]
        assert torch.allclose(t.model(batch_a)[0], alone, atol=1e-5)
        assert torch.allclose(t.model(batch_b)[0], alone, atol=1e-5)
        t.model.train()  # batch statistics (this also updates the running ones, so it is last)
        in_a, in_b = t.model(batch_a)[0], t.model(batch_b)[0]
    assert (in_a - in_b).abs().max() > 1e-2
    assert (in_a - alone).abs().max() > 1e-2


# ---------------------------------------------------------------------------------------------
# Weight decay, L2 and L1

WD = {
    "data.dataset": "mnist",
    "model.hidden": [64],
    "model.activation": "tanh",
    "train.optimizer": "sgd",
    "train.lr": 0.05,
    "train.batch_size": 32,
    "train.steps": 400,
    "train.eval_every": 400,
}


def weights(t: Trainer) -> torch.Tensor:
    """All weight-matrix entries (no biases), flattened."""
    return torch.cat([w.detach().flatten() for w in t.model.penalized_weights()])


@pytest.mark.parametrize("knob", ["train.weight_decay", "train.l2"])
def test_weight_decay_and_l2_shrink_the_weights(knob: str) -> None:
    """Weight decay pulls every weight towards zero in proportion to its size, so the trained
    weights end up much smaller (Krogh & Hertz 1992)."""
    plain = weights(trained(WD)).norm()  # measured 12.3
    decayed = weights(trained(WD, **{knob: 0.05})).norm()  # measured 5.5
    assert decayed < 0.6 * plain


def test_sgd_weight_decay_is_an_l2_penalty() -> None:
    """For plain SGD, decaying weights by lr·λ·w each step is the gradient step of the penalty
    λ/2·|w|², so the two give the same weights (Krogh & Hertz 1992; Loshchilov & Hutter 2019,
    who show this fails for Adam). Biases differ: weight decay shrinks them too."""
    by_decay = weights(trained(WD, **{"train.weight_decay": 0.05}))
    by_penalty = weights(trained(WD, **{"train.l2": 0.05}))
    assert by_decay.norm() == pytest.approx(by_penalty.norm().item(), rel=0.01)
    assert (by_decay - by_penalty).norm() < 0.05 * by_decay.norm()


def test_l1_makes_weights_sparse_where_l2_only_shrinks_them() -> None:
    """L1's pull towards zero has the same size for small weights as for large ones, so it
    drives many weights to (about) zero; L2's pull fades as a weight shrinks, so even an L2
    strength that shrinks the weights more overall leaves few near zero (Tibshirani 1996;
    Goodfellow et al. 2016, §7.1.2)."""
    l1 = weights(trained(WD, **{"train.l1": 2e-3}))
    l2 = weights(trained(WD, **{"train.l2": 0.05}))
    assert l2.norm() < l1.norm()  # L2 is the stronger shrinker here: 5.5 vs 6.6

    def near_zero(w: torch.Tensor) -> float:
        return (w.abs() < 1e-3).float().mean().item()

    # measured: L1 0.40, L2 0.033, no penalty 0.012
    assert near_zero(l1) > 0.25
    assert near_zero(l1) > 5 * near_zero(l2)


# ---------------------------------------------------------------------------------------------
# Dropout

DROP = {
    "data.dataset": "circle",
    "data.noise": 0.5,  # many labels flipped near the boundary: easy to memorize, bad to learn
    "data.n_samples": 1000,
    "data.train_fraction": 0.1,  # 100 training points, 900 validation points
    "model.hidden": [256, 256],
    "model.activation": "relu",
    "model.init": "he_normal",
    "model.dropout_rate": 0.5,
    "train.optimizer": "adam",
    "train.lr": 0.003,
    "train.steps": 1000,
    "train.eval_every": 1000,
}


def test_dropout_reduces_overfitting_on_a_small_noisy_training_set() -> None:
    """A big net memorizes 100 noisy points (high training accuracy, a large gap to validation
    and an overconfident validation loss). Dropping half the hidden units at random in each step
    keeps units from co-adapting to the noise: lower training accuracy, smaller gap, better
    validation accuracy and loss (Srivastava et al. 2014)."""
    plain = final(DROP)
    drop = final(DROP, **{"model.dropout": "dropout"})

    def gap(e: dict[str, Any]) -> float:
        return e["train_acc"] - e["val_acc"]

    # measured over 5 seeds: gap 0.20..0.29 without dropout, 0.00..0.14 with it
    assert gap(drop) < gap(plain) - 0.05
    assert drop["train_acc"] < plain["train_acc"] - 0.03  # 0.76..0.89 vs 0.91..1.00
    assert drop["val_acc"] > plain["val_acc"]  # by 0.02..0.06
    assert drop["val_loss"] < plain["val_loss"] / 1.5  # 0.5..1.0 vs 1.1..2.7


# ---------------------------------------------------------------------------------------------
# Probe numbers that a textbook check depends on


@pytest.mark.parametrize(
    "n",
    [
        N_PROBE,
        500,
    ],
)
def test_probe_std_is_the_std_of_all_units(n: int) -> None:
    """The probe's post-activation std is the std over every unit of the layer (what He et al.
    2015 reason about), not over a few units that the sampling happens to hit. With N_PROBE
    examples nothing is subsampled, which the initialization tests above rely on."""
    assert N_PROBE * DEEP["model.hidden"][0] <= MAX_SUMMARY_VALUES
    cfg = config(DEEP, **{"model.activation": "relu", "model.init": "he_normal"})
    t = Trainer(cfg)
    posts: list[torch.Tensor] = []
    hooks = [
        block.act.register_forward_hook(lambda m, i, out: posts.append(out.detach()))
        for block in t.model.blocks
    ]
    x, y = t.train_split.x[:n], t.train_split.y[:n]
    rows = probe_at_init(t.model, "relu", x, y, t.loss_fn)
    for h in hooks:
        h.remove()
    for row, post in zip(rows[:-1], posts, strict=True):  # hidden layers
        assert row["post"]["std"] == pytest.approx(post.std(correction=0).item(), rel=0.1)
