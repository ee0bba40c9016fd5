"""Every registry entry builds a network that runs forward/backward and takes a step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.activations import ACTIVATIONS
from engine.config import Config, ModelConfig
from engine.initializers import INITS
from engine.models import build_model
from engine.norms import NORMS
from engine.regularizers import DROPOUTS

MLP_SHAPE = (2,)
IMG_SHAPE = (1, 28, 28)


def _mlp_cfg(dataset: str = "circle", **model: object) -> ModelConfig:
    changes = {f"model.{k}": v for k, v in model.items()}
    return Config().replace(**{"data.dataset": dataset, **changes}).model


def _cnn_cfg(**model: object) -> ModelConfig:
    changes = {"data.dataset": "mnist", "model.arch": "cnn", "model.hidden": [4, 8]}
    changes.update({f"model.{k}": v for k, v in model.items()})
    return Config().replace(**changes).model


def _train_one_step(net: nn.Module, x: torch.Tensor, n_classes: int) -> None:
    y = torch.arange(len(x)) % n_classes
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    before = [p.detach().clone() for p in net.parameters()]
    net.train()
    loss = nn.functional.cross_entropy(net(x), y)
    assert torch.isfinite(loss)
    loss.backward()
    opt.step()
    changed = [
        not torch.equal(b, p.detach()) for b, p in zip(before, net.parameters(), strict=True)
    ]
    assert any(changed), "a training step must change some parameter"


def _cases(registry, field):
    out = []
    for entry in registry:
        for arch in entry.applies_to:
            out.append(pytest.param(field, entry.name, arch, id=f"{entry.name}-{arch}"))
    return out


COMPONENTS = (
    _cases(ACTIVATIONS, "activation")
    + _cases(NORMS, "norm")
    + _cases(DROPOUTS, "dropout")
    + _cases(INITS, "init")
)


@pytest.mark.parametrize(("field", "name", "arch"), COMPONENTS)
def test_every_component_builds_runs_and_steps(field: str, name: str, arch: str) -> None:
    extra: dict[str, object] = {field: name}
    if name == "droppath":
        extra["residual"] = True
    if field == "init" and name == "zeros":
        extra["bias"] = True
    dataset = "mnist" if name == "cutout" else "circle"
    m = _mlp_cfg(dataset, **extra, hidden=[8, 8]) if arch == "mlp" else _cnn_cfg(**extra)
    if name == "cutout" and arch == "mlp":
        shape = IMG_SHAPE  # cutout works on images, flattened afterwards by the MLP
    else:
        shape = MLP_SHAPE if arch == "mlp" else IMG_SHAPE
    net = build_model(m, shape, 3, seed=0)
    x = torch.randn(6, *shape)
    out = net(x)
    assert out.shape == (6, 3)
    _train_one_step(net, x, 3)
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x), net(x)), "eval mode must be deterministic"


def test_same_seed_same_weights_different_seed_different() -> None:
    m = _mlp_cfg(init="he_normal", hidden=[16, 16])
    a, b, c = (build_model(m, MLP_SHAPE, 2, seed=s) for s in (1, 1, 2))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.blocks[0].layer.weight, c.blocks[0].layer.weight)


def test_torch_default_init_is_seeded_and_leaves_global_rng_alone() -> None:
    m = _mlp_cfg(init="torch_default")
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = build_model(m, MLP_SHAPE, 2, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    b = build_model(m, MLP_SHAPE, 2, seed=5)
    assert torch.equal(a.blocks[0].layer.weight, b.blocks[0].layer.weight)


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        ("he_normal", (2 / 400) ** 0.5),
        ("xavier_normal", (2 / 800) ** 0.5),
        ("lecun_normal", (1 / 400) ** 0.5),
        ("normal", 0.05),
    ],
)
def test_initializers_have_their_textbook_std(init: str, expected_std: float) -> None:
    m = _mlp_cfg(init=init, init_std=0.05, hidden=[400, 400])
    net = build_model(m, (400,), 2, seed=0)
    w = net.blocks[1].layer.weight  # 400 x 400
    assert abs(w.std().item() - expected_std) < 0.03 * expected_std
    assert torch.all(net.blocks[1].layer.bias == 0)


def test_orthogonal_init_is_orthogonal() -> None:
    net = build_model(_mlp_cfg(init="orthogonal", hidden=[32, 32]), (32,), 2, seed=0)
    w = net.blocks[1].layer.weight
    assert torch.allclose(w @ w.T, torch.eye(32), atol=1e-5)


def test_maxout_widens_the_layer_by_its_pieces() -> None:
    net = build_model(_mlp_cfg(activation="maxout", maxout_pieces=3, hidden=[5]), (2,), 2, 0)
    assert net.blocks[0].layer.out_features == 15
    assert net.head.in_features == 5


def test_residual_mlp_adds_skip_connections() -> None:
    m = _mlp_cfg(residual=True, hidden=[8, 8, 4], init="zeros")
    net = build_model(m, (2,), 2, seed=0)
    x = torch.randn(3, 8)
    # With zero weights each residual branch outputs act(0); for tanh that is 0 -> identity.
    assert torch.allclose(net.blocks[1](x), x)
    assert isinstance(net.blocks[2].skip, nn.Linear)  # 8 -> 4 needs a projection


def test_norm_position_before_or_after_activation() -> None:
    x = torch.randn(64, 2)
    before = build_model(
        _mlp_cfg(norm="batch", norm_position="before", activation="relu"), (2,), 2, 0
    )
    after = build_model(
        _mlp_cfg(norm="batch", norm_position="after", activation="relu"), (2,), 2, 0
    )
    before.train(), after.train()
    h_before = before.blocks[0](x)
    h_after = after.blocks[0](x)
    assert (h_before >= 0).all()  # relu last: no negatives
    assert (h_after < 0).any()  # normalized after relu: centred, so negatives appear
    assert abs(h_after.mean().item()) < 1e-5


def test_weight_norm_reparametrizes_hidden_layers() -> None:
    net = build_model(_mlp_cfg(norm="weight_norm"), (2,), 2, 0)
    names = {n for n, _ in net.named_parameters()}
    assert any("parametrizations.weight.original0" in n for n in names)


def test_cnn_heads() -> None:
    dense = build_model(_cnn_cfg(head="dense"), IMG_SHAPE, 10, 0)
    gap = build_model(_cnn_cfg(head="gap"), IMG_SHAPE, 10, 0)
    x = torch.randn(2, *IMG_SHAPE)
    assert dense(x).shape == gap(x).shape == (2, 10)
    assert isinstance(gap.head[0], nn.Conv2d) and gap.head[0].kernel_size == (1, 1)
    avg = build_model(_cnn_cfg(pool="avg"), IMG_SHAPE, 10, 0)
    assert isinstance(avg.blocks[0].pool, nn.AvgPool2d)
