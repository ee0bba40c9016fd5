"""Weight initializers by name, built on `torch.nn.init`.

Each entry fills a weight tensor (Linear: (out, in); Conv: (out, in, k, k)) in place from a
seeded generator. Biases are set to zero by the model, except for `torch_default`, which keeps
PyTorch's own layer initialization untouched (biases included).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from engine.registry import Registry

InitFn = Callable[[Tensor, float, torch.Generator], object]  # fills the tensor in place
INITS: Registry[InitFn] = Registry("initializer", "model.init")


def _fan_in(w: Tensor) -> int:
    return nn.init._calculate_fan_in_and_fan_out(w)[0]


INITS.add(
    "zeros",
    lambda w, std, g: nn.init.zeros_(w),
    label="Zeros",
    help="All weights 0: every unit in a layer stays identical (the symmetry problem).",
)
INITS.add(
    "normal",
    lambda w, std, g: nn.init.normal_(w, 0.0, std, generator=g),
    label="Normal(0, std)",
    help="Gaussian with a fixed std: too small vanishes, too large explodes or saturates.",
    params=("init_std",),
)
INITS.add(
    "uniform",
    # a = sqrt(3) * std gives the uniform distribution the same std as 'normal'.
    lambda w, std, g: nn.init.uniform_(w, -math.sqrt(3) * std, math.sqrt(3) * std, generator=g),
    label="Uniform(±√3·std)",
    help="Uniform with the given std; behaves like 'normal' with the same std.",
    params=("init_std",),
)
INITS.add(
    "xavier_uniform",
    lambda w, std, g: nn.init.xavier_uniform_(w, generator=g),
    label="Xavier / Glorot uniform",
    help="Var = 2/(fan_in+fan_out): keeps signals steady through tanh/sigmoid (Glorot 2010).",
)
INITS.add(
    "xavier_normal",
    lambda w, std, g: nn.init.xavier_normal_(w, generator=g),
    label="Xavier / Glorot normal",
    help="Gaussian with var = 2/(fan_in+fan_out) (Glorot & Bengio 2010).",
)
INITS.add(
    "he_uniform",
    lambda w, std, g: nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
    label="He / Kaiming uniform",
    help="Var = 2/fan_in: compensates ReLU zeroing half the signal (He et al. 2015).",
)
INITS.add(
    "he_normal",
    lambda w, std, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
    label="He / Kaiming normal",
    help="Gaussian with var = 2/fan_in, the usual choice for ReLU nets (He et al. 2015).",
)
INITS.add(
    "lecun_normal",
    lambda w, std, g: nn.init.normal_(w, 0.0, 1.0 / math.sqrt(_fan_in(w)), generator=g),
    label="LeCun normal",
    help="Var = 1/fan_in (LeCun et al. 1998); the init SELU's self-normalization assumes.",
)
INITS.add(
    "orthogonal",
    lambda w, std, g: nn.init.orthogonal_(w, generator=g),
    label="Orthogonal",
    help="A random orthogonal matrix: preserves norms exactly in linear nets (Saxe et al. 2014).",
)
INITS.add(
    "torch_default",
    lambda w, std, g: None,
    label="PyTorch default",
    help="What nn.Linear/nn.Conv2d do by themselves: uniform with bound 1/sqrt(fan_in).",
)


def init_weight(name: str, weight: Tensor, std: float, generator: torch.Generator) -> None:
    """Fill `weight` in place with initializer `name` (no autograd tracking)."""
    with torch.no_grad():
        INITS.get(name).build(weight, std, generator)
