"""Dropout variants by name (the `model.dropout` choices).

Entry extra `where` says where the model places the module:
- "activation": after each hidden block's activation (dropout, spatial, dropblock);
- "weights": the hidden Linear/Conv layers themselves drop weights (dropconnect);
- "branch": on the residual branch of each residual block (droppath);
- "input": on the input images (cutout).
Build signature: `build(cfg: ModelConfig, generator: torch.Generator | None) -> nn.Module`
(for "weights" the model builds DropConnect layers itself and `build` is unused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from engine.layers.dropout import Cutout, DropBlock, Dropout, DropPath, SpatialDropout
from engine.registry import FEED_FORWARD, Registry

if TYPE_CHECKING:
    from engine.config import ModelConfig

DropBuild = Callable[["ModelConfig", torch.Generator | None], nn.Module]
DROPOUTS: Registry[DropBuild] = Registry("dropout variant", "model.dropout")

DROPOUTS.add(
    "none", lambda m, g: nn.Identity(), label="None", help="No dropout.", where="activation"
)
DROPOUTS.add(
    "dropout",
    lambda m, g: Dropout(m.dropout_rate, generator=g),
    label="Dropout (inverted)",
    help="Zero each hidden unit with probability p, scale the rest by 1/(1-p) "
    "(Srivastava et al. 2014).",
    params=("dropout_rate",),
    where="activation",
    applies_to=FEED_FORWARD,
)
DROPOUTS.add(
    "dropconnect",
    lambda m, g: nn.Identity(),
    label="DropConnect",
    help="Zero individual weights instead of units (Wan et al. 2013).",
    params=("dropout_rate",),
    where="weights",
    applies_to=FEED_FORWARD,
)
DROPOUTS.add(
    "spatial",
    lambda m, g: SpatialDropout(m.dropout_rate, generator=g),
    label="Spatial dropout",
    help="Drop whole feature maps, since neighbouring pixels are correlated (Tompson et al. 2015).",
    params=("dropout_rate",),
    applies_to=("cnn",),
    where="activation",
)
DROPOUTS.add(
    "dropblock",
    lambda m, g: DropBlock(m.dropout_rate, m.block_size, generator=g),
    label="DropBlock",
    help="Drop contiguous square regions of feature maps (Ghiasi et al. 2018).",
    params=("dropout_rate", "block_size"),
    applies_to=("cnn",),
    where="activation",
)
DROPOUTS.add(
    "droppath",
    lambda m, g: DropPath(m.dropout_rate, generator=g),
    label="DropPath (stochastic depth)",
    help="Skip a whole residual block for some examples (Huang et al. 2016); needs residual.",
    params=("dropout_rate",),
    applies_to=("mlp",),
    where="branch",
)
DROPOUTS.add(
    "cutout",
    lambda m, g: Cutout(m.cutout_size, generator=g),
    label="Cutout",
    help="Blank a random square of each training image (DeVries & Taylor 2017).",
    params=("cutout_size",),
    where="input",
    needs_images=True,
    applies_to=FEED_FORWARD,
)
