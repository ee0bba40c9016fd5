"""The convolution views' numbers: the first layer's kernels and one digit's feature maps after
every conv, activation and pooling layer of the MNIST page's CNN preset."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.config import Config
from engine.data import mnist
from engine.filters import feature_maps, first_kernels, is_cnn
from engine.models import Network, build_model
from engine.presets import list_presets

CNN = next(p for p in list_presets("mnist") if p.name == "2_cnn").config


def network(cfg: Config = CNN) -> Network:
    return build_model(cfg.model, (1, 28, 28), 10, seed=3)


def digit() -> torch.Tensor:
    """An official test digit, scaled as the models read it (1, 28, 28)."""
    x = torch.tensor(mnist.load_embedded().test_x[0], dtype=torch.float32)
    return ((x - 33.3) / 78.6).unsqueeze(0)


def model_with(**model: object) -> Network:
    return network(dataclasses.replace(CNN, model=dataclasses.replace(CNN.model, **model)))


def test_the_preset_cnns_kernels_and_maps_have_its_shapes() -> None:
    net = network()
    assert CNN.model.hidden == (16, 32) and CNN.model.kernel_size == 3
    assert first_kernels(net).shape == (16, 1, 3, 3)
    stages = feature_maps(net, digit(), max_maps=8)
    shapes = [(s.name, s.shape, s.maps.shape) for s in stages]
    assert shapes == [
        ("conv 1", (16, 28, 28), (8, 28, 28)),  # at most 8 maps kept of 16
        ("activation 1", (16, 28, 28), (8, 28, 28)),
        ("pool 1", (16, 14, 14), (8, 14, 14)),  # 2x2 pooling halves each side
        ("conv 2", (32, 14, 14), (8, 14, 14)),
        ("activation 2", (32, 14, 14), (8, 14, 14)),
        ("pool 2", (32, 7, 7), (8, 7, 7)),
    ]
    assert all(s.maps.dtype == np.float32 for s in stages)


def test_the_first_maps_are_the_kernels_slid_over_the_digit() -> None:
    """conv 1 is a direct conv2d of the input with the kernels shown (same padding), and pool 1
    the ReLU's output max-pooled: what the captions tell the student."""
    net = network()
    x = digit()
    stages = {s.name: s.maps for s in feature_maps(net, x)}
    w = torch.from_numpy(first_kernels(net))
    bias = net.blocks[0].layer.bias
    direct = F.conv2d(x.unsqueeze(0), w, bias.detach(), padding=1)[0]
    np.testing.assert_allclose(stages["conv 1"], direct.numpy(), atol=1e-5)
    pooled = F.max_pool2d(direct.relu(), 2)
    np.testing.assert_allclose(stages["pool 1"], pooled.numpy(), atol=1e-5)
    assert stages["activation 1"].min() >= 0  # ReLU


def test_looking_leaves_the_network_as_it_was() -> None:
    """No hook stays behind, the mode and the dropout stream are unchanged, and an MLP or a
    batch is refused."""
    net = model_with(dropout="dropout", dropout_rate=0.5, norm="batch")
    net.train()
    gen = net.dropout_generator.get_state()
    stats = [b.clone() for b in net.buffers()]
    feature_maps(net, digit().unsqueeze(0))
    assert net.training and torch.equal(net.dropout_generator.get_state(), gen)
    assert all(torch.equal(a, b) for a, b in zip(stats, net.buffers(), strict=True))
    assert not any(m._forward_hooks for m in net.modules())
    mlp = build_model(Config().model, (1, 28, 28), 10, seed=0)
    assert not is_cnn(mlp)
    with pytest.raises(ValueError, match="no convolution"):
        feature_maps(mlp, digit())
    with pytest.raises(ValueError, match="one input"):
        feature_maps(net, digit().repeat(2, 1, 1, 1))


def test_blocks_without_pooling_and_maxout_widths() -> None:
    """No pooling: no pool stage and the maps keep their size; maxout: the conv computes
    `pieces` maps per channel that the activation reduces to one."""
    stages = feature_maps(model_with(pool="none", hidden=(4, 4)), digit())
    assert [(s.name, s.shape) for s in stages] == [
        ("conv 1", (4, 28, 28)),
        ("activation 1", (4, 28, 28)),
        ("conv 2", (4, 28, 28)),
        ("activation 2", (4, 28, 28)),
    ]
    net = model_with(activation="maxout", maxout_pieces=2, hidden=(4,))
    first = feature_maps(net, digit())[:2]
    assert [s.shape[0] for s in first] == [8, 4]
    assert first_kernels(net).shape == (8, 1, 3, 3)


def test_the_kernels_are_a_copy_that_training_does_not_change() -> None:
    """The arrays are the weights at the time of the call: a view would change under the
    caller as the optimizer updates the parameter in place."""
    net = network()
    before = first_kernels(net)
    with torch.no_grad():
        net.blocks[0].layer.weight.add_(1.0)
    assert np.allclose(first_kernels(net), before + 1.0, atol=1e-6)
