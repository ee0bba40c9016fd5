"""Activation functions by name, built on `torch.nn`.

Entry extras used by the probes and the model:
- `bounds=(lo, hi)`: the activation saturates at these output values (sigmoid, tanh), so the
  probes report the fraction of units near them, where gradients vanish;
- `can_die=True`: ReLU-like units whose pre-activation is negative for every input pass no
  gradient ("dead units"), so the probes report that fraction;
- `maxout=True`: the layer before it must produce `maxout_pieces` times more units;
- `backward(grad, pre, post)`: the gradient with respect to the pre-activation, given the one
  with respect to the output, through the same ATen kernel autograd uses (so the results are
  the same). engine/manual_backward.py uses it to train plain MLPs without autograd's
  overhead; entries without it (a learned slope, maxout) always train through autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from engine.layers.maxout import Maxout
from engine.registry import FEED_FORWARD, Registry

if TYPE_CHECKING:
    from engine.config import ModelConfig

ACTIVATIONS: Registry[Callable[[ModelConfig], nn.Module]] = Registry(
    "activation", "model.activation"
)
aten = torch.ops.aten
# SELU's constants (Klambauer et al. 2017), as torch.nn.SELU uses them.
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _identity_backward(grad: Tensor, pre: Tensor, post: Tensor) -> Tensor:
    return grad


ACTIVATIONS.add(
    "linear",
    lambda m: nn.Identity(),
    label="Linear (none)",
    help="No non-linearity: any depth collapses to one linear map.",
    backward=_identity_backward,
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "sigmoid",
    lambda m: nn.Sigmoid(),
    label="Sigmoid",
    help="1/(1+e^-x) in (0, 1); saturates at both ends and is not zero-centred.",
    bounds=(0.0, 1.0),
    backward=lambda g, pre, post: aten.sigmoid_backward(g, post),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "tanh",
    lambda m: nn.Tanh(),
    label="Tanh",
    help="Zero-centred sigmoid in (-1, 1); saturates for large |x|.",
    bounds=(-1.0, 1.0),
    backward=lambda g, pre, post: aten.tanh_backward(g, post),
)
ACTIVATIONS.add(
    "relu",
    lambda m: nn.ReLU(),
    label="ReLU",
    help="max(0, x): no saturation for x > 0, but units can die (Nair & Hinton 2010).",
    can_die=True,
    backward=lambda g, pre, post: aten.threshold_backward(g, post, 0),
    applies_to=(*FEED_FORWARD, "rnn"),
)
ACTIVATIONS.add(
    "leaky_relu",
    lambda m: nn.LeakyReLU(0.01),
    label="Leaky ReLU",
    help="ReLU with slope 0.01 for x < 0, so no unit is ever fully dead (Maas et al. 2013).",
    can_die=True,
    backward=lambda g, pre, post: aten.leaky_relu_backward(g, pre, 0.01, False),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "prelu",
    lambda m: nn.PReLU(),
    label="PReLU",
    help="Leaky ReLU whose negative slope is learned (He et al. 2015).",
    can_die=True,
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "elu",
    lambda m: nn.ELU(),
    label="ELU",
    help="Smooth negative part e^x - 1 pushes mean activations toward 0 (Clevert et al. 2016).",
    can_die=True,
    backward=lambda g, pre, post: aten.elu_backward(g, 1.0, 1, 1, False, pre),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "selu",
    lambda m: nn.SELU(),
    label="SELU",
    help="Scaled ELU that self-normalizes with LeCun-normal init (Klambauer et al. 2017).",
    can_die=True,
    backward=lambda g, pre, post: aten.elu_backward(g, SELU_ALPHA, SELU_SCALE, 1, False, pre),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "gelu",
    lambda m: nn.GELU(),
    label="GELU",
    help="x·Φ(x), a smooth ReLU used in Transformers (Hendrycks & Gimpel 2016).",
    can_die=True,
    backward=lambda g, pre, post: aten.gelu_backward(g, pre),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "silu",
    lambda m: nn.SiLU(),
    label="SiLU / Swish",
    help="x·sigmoid(x), smooth and non-monotonic (Ramachandran et al. 2017).",
    can_die=True,
    backward=lambda g, pre, post: aten.silu_backward(g, pre),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "softplus",
    lambda m: nn.Softplus(),
    label="Softplus",
    help="log(1+e^x), a smooth ReLU that never outputs exactly zero.",
    backward=lambda g, pre, post: aten.softplus_backward(g, pre, 1, 20),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "mish",
    lambda m: nn.Mish(),
    label="Mish",
    help="x·tanh(softplus(x)), smooth and self-regularizing (Misra 2019).",
    can_die=True,
    backward=lambda g, pre, post: aten.mish_backward(g, pre),
    applies_to=FEED_FORWARD,
)
ACTIVATIONS.add(
    "maxout",
    lambda m: Maxout(m.maxout_pieces),
    label="Maxout",
    help="Max over k linear pieces per unit, a learned convex activation (Goodfellow et al. 2013).",
    params=("maxout_pieces",),
    maxout=True,
    applies_to=FEED_FORWARD,
)
