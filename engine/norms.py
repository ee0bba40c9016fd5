"""Normalization layers by name, built on `torch.nn`.

Entry build signature: `build(arch, width, cfg) -> nn.Module`, where `arch` is "mlp" (input
(batch, width)) or "cnn" (input (batch, width, h, w)). `weight_norm` is not a layer but a
reparametrization of the preceding Linear/Conv weight (extra `reparam=True`); the model applies
it with `torch.nn.utils.parametrizations.weight_norm`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import nn

from engine.registry import FEED_FORWARD, Registry

if TYPE_CHECKING:
    from engine.config import ModelConfig

NormBuild = Callable[[str, int, "ModelConfig"], nn.Module]
NORMS: Registry[NormBuild] = Registry("normalization", "model.norm")


def _batch(arch: str, width: int, m: ModelConfig) -> nn.Module:
    return nn.BatchNorm1d(width) if arch == "mlp" else nn.BatchNorm2d(width)


def _layer(arch: str, width: int, m: ModelConfig) -> nn.Module:
    # For conv maps, LayerNorm over (C, H, W) is GroupNorm with one group (Wu & He 2018, fig. 2).
    return nn.LayerNorm(width) if arch == "mlp" else nn.GroupNorm(1, width)


NORMS.add("none", lambda a, w, m: nn.Identity(), label="None", help="No normalization layer.")
NORMS.add(
    "batch",
    _batch,
    label="BatchNorm",
    help="Standardize each unit over the batch, then scale and shift (Ioffe & Szegedy 2015).",
    needs_batch_gt_1=True,
    applies_to=FEED_FORWARD,
)
NORMS.add(
    "layer",
    _layer,
    label="LayerNorm",
    help="Standardize over the units of each example; independent of batch size (Ba et al. 2016).",
    applies_to=FEED_FORWARD,
)
NORMS.add(
    "group",
    lambda a, w, m: nn.GroupNorm(m.norm_groups, w),
    label="GroupNorm",
    help="Standardize within groups of channels per example; fine with tiny batches "
    "(Wu & He 2018).",
    params=("norm_groups",),
    applies_to=FEED_FORWARD,
)
NORMS.add(
    "instance",
    lambda a, w, m: nn.InstanceNorm2d(w, affine=True),
    label="InstanceNorm",
    help="Standardize each channel of each image on its own (Ulyanov et al. 2016).",
    applies_to=("cnn",),
)
NORMS.add(
    "local_response",
    lambda a, w, m: nn.LocalResponseNorm(size=5),
    label="Local response norm",
    help="Divide by activity of neighbouring channels, as in AlexNet (Krizhevsky et al. 2012).",
    applies_to=("cnn",),
)
NORMS.add(
    "weight_norm",
    lambda a, w, m: nn.Identity(),
    label="Weight norm",
    help="Reparametrize each weight vector as g·v/|v| to decouple length and direction "
    "(Salimans & Kingma 2016).",
    reparam=True,
    applies_to=FEED_FORWARD,
)
