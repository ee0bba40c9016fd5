"""What a CNN's convolutions see: the first layer's kernels, and one input's feature maps after
every conv, activation and pooling layer (forward hooks on the network's blocks).

Pure torch + numpy. Sizes are bounded: at most `max_maps` channels of each layer are kept,
the first ones, so map i of the first conv layer is kernel i slid over the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from engine.models import Block, Network, Residual, unchanged
from engine.recurrent import RecurrentBlock

Array = np.ndarray[Any, Any]
MAX_MAPS = 16  # channels kept per layer: what a page can show of one digit at a glance
KINDS = ("conv", "activation", "pool")  # the stages of a block, input to output


@dataclass(frozen=True)
class Stage:
    """One layer's output for one input: `maps` (n, h, w) are its first n channels of `shape`
    (channels, h, w); `block` counts conv blocks from 1."""

    kind: str  # "conv" (the convolution's output), "activation" (after it) or "pool"
    block: int
    shape: tuple[int, int, int]
    maps: Array

    @property
    def name(self) -> str:
        """ "conv 1", "activation 1", "pool 1"."""
        return f"{self.kind} {self.block}"


def is_cnn(model: nn.Module) -> bool:
    """Whether the network has conv blocks (the views here need them)."""
    return isinstance(model, Network) and any(
        not isinstance(b, RecurrentBlock) and isinstance(_inner(b).layer, nn.Conv2d)
        for b in model.hidden_blocks()
    )


def _inner(block: Block | Residual | RecurrentBlock) -> Block:
    """The conv block itself (inside its residual wrapper); a recurrent layer is none."""
    if isinstance(block, RecurrentBlock):
        raise ValueError("a recurrent layer has no convolution")
    return block.block if isinstance(block, Residual) else block


def first_kernels(model: Network, max_kernels: int = 64) -> Array:
    """The first conv layer's weights (out, in, k, k) as float32, at most `max_kernels` of
    them; a ValueError for a network without conv layers."""
    if not is_cnn(model):
        raise ValueError("the network has no convolution layers")
    layer = _inner(model.hidden_blocks()[0]).layer
    with torch.no_grad():  # weight norm computes `weight` from its parts: no graph needed
        w = layer.weight[:max_kernels].detach().float().cpu().clone()  # not a view
    return w.numpy()


def feature_maps(model: Network, x: Tensor, max_maps: int = MAX_MAPS) -> list[Stage]:
    """One input's feature maps after every conv layer, its activation and (if the block
    pools) its pooling, input to output, in evaluation mode (no dropout; BatchNorm's running
    statistics), leaving the model as it was. `x` is one model input (c, h, w) or (1, c, h, w).
    """
    if not is_cnn(model):
        raise ValueError("the network has no convolution layers")
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.shape[0] != 1:
        raise ValueError(f"feature_maps takes one input, got a batch of {x.shape[0]}")
    seen: list[Stage] = []
    handles = []

    def keep(kind: str, block: int) -> Callable[[nn.Module, Any, Tensor], None]:
        def hook(_module: nn.Module, _inputs: Any, out: Tensor) -> None:
            c, h, w = out.shape[1:]
            maps = out[0, :max_maps].detach().float().cpu().clone().numpy()  # an in-place op next
            seen.append(Stage(kind, block, (c, h, w), maps))

        return hook

    for i, b in enumerate(model.hidden_blocks(), start=1):
        inner = _inner(b)
        parts = [("conv", inner.layer), ("activation", inner.act)]
        if not isinstance(inner.pool, nn.Identity):
            parts.append(("pool", inner.pool))
        handles += [m.register_forward_hook(keep(kind, i)) for kind, m in parts]
    device = next(model.parameters()).device
    try:
        with unchanged(model), torch.no_grad():
            model.eval()
            model(x.to(device))
    finally:
        for h in handles:
            h.remove()
    return seen
