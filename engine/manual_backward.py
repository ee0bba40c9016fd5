"""Gradients of a plain MLP written out by hand: the same numbers as autograd, less overhead.

For the small networks of the Playground a training step costs torch's per-operation overhead,
not arithmetic. Autograd records every operation of the forward pass and then replays the graph:
for TensorFlow Playground's 2-4-2-2 network on batches of 10, `loss.backward()` alone took
~160 µs of a ~360 µs step on one CPU core. For the common case, a stack of Linear layers with
an elementwise activation and nothing else (no normalization, dropout, residual connections,
maxout or learned activation), the backward pass is a handful of matrix products, written out
here (one matmul for the weights' gradient, one sum for the bias, one matmul back to the layer's
input, one ATen backward kernel per activation). Each gradient goes through the ATen kernel
autograd itself runs for that operation (`tanh_backward`, `nll_loss_backward`, ...), so the
numbers agree with autograd's to rounding; tests check that for every eligible activation
and loss.

`ManualMLPStep.for_model` decides eligibility from the modules themselves (every parameter
must belong to one of the Linear layers it differentiates), so a network with anything else
in it simply keeps using autograd. The Trainer then treats both paths alike: penalties,
gradient clipping, probes, the optimizer, the schedule and max-norm see the same `.grad`s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.activations import ACTIVATIONS
from engine.losses import LOSSES

Backward = Callable[[Tensor, Tensor, Tensor], Tensor]


class ManualMLPStep:
    """Loss and parameter gradients of one batch for a plain MLP, without autograd.

    `layers`: the Linear layers input to output (the last is the output layer); `acts`: the
    activation module after each hidden layer (called as modules, so the probes' forward hooks
    see them as in an autograd step); `backward`: the activation's gradient kernel."""

    def __init__(
        self,
        layers: Sequence[nn.Linear],
        acts: Sequence[nn.Module],
        backward: Backward,
        value_and_grad: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]],
    ) -> None:
        self.layers = list(layers)
        # The parameters, read once: nn.Module's attribute lookup costs more than the matrix
        # products of a toy network. (The optimizer and load_state_dict update these tensors
        # in place; a plain Linear never swaps them.)
        self.params = [(layer.weight, layer.bias) for layer in self.layers]
        self.acts = list(acts)
        self.backward = backward
        self.value_and_grad = value_and_grad

    @classmethod
    def for_model(
        cls, model: nn.Module, activation: str, loss: str, task: str
    ) -> ManualMLPStep | None:
        """The manual step for `model`, or None when it has anything this file does not
        differentiate by hand (then autograd trains it)."""
        from engine.models import Block, Network  # engine.models imports the registries

        act_entry, loss_entry = ACTIVATIONS.get(activation), LOSSES.get(loss)
        backward = act_entry.extra.get("backward")
        if backward is None or task not in loss_entry.extra.get("manual_tasks", ()):
            return None
        if not isinstance(model, Network) or not isinstance(model.head, nn.Linear):
            return None
        if not all(isinstance(m, nn.Flatten) for m in model.stem):
            return None
        layers: list[nn.Linear] = []
        acts: list[nn.Module] = []
        for block in model.blocks:
            if type(block) is not Block or type(block.layer) is not nn.Linear:
                return None  # a residual block, a DropConnect layer, ...
            if not all(isinstance(m, nn.Identity) for m in (block.norm, block.drop, block.pool)):
                return None
            layers.append(block.layer)
            acts.append(block.act)
        layers.append(model.head)
        covered = {id(p) for layer in layers for p in layer.parameters(recurse=False)}
        if covered != {id(p) for p in model.parameters()}:
            return None  # a parameter elsewhere (a learned slope, say) needs autograd
        return cls(layers, acts, backward, loss_entry.extra["value_and_grad"])

    @torch.no_grad()
    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        """Forward pass on the batch (x, y), then set every parameter's `.grad` to the mean
        loss's gradient (replacing what was there, like `zero_grad(set_to_none=True)`
        followed by `backward()`). Returns the mean loss."""
        params = self.params
        h = x.reshape(len(x), -1)  # (batch, features): the MLP's Flatten
        inputs: list[Tensor] = []  # each layer's input
        pre: list[Tensor] = []  # each hidden layer's pre-activation
        for (w, b), act in zip(params[:-1], self.acts, strict=True):  # hidden layers
            inputs.append(h)
            z = F.linear(h, w, b)  # (batch, units)
            pre.append(z)
            # through the module (its hooks) only while the probes listen: a module call
            # costs a few us more than its forward
            h = act(z) if act._forward_hooks else act.forward(z)
        inputs.append(h)
        w, b = params[-1]
        loss, grad = self.value_and_grad(F.linear(h, w, b), y)  # grad: (batch, outputs)
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            w.grad = grad.t().mm(inputs[i])  # (out, in)
            if b is not None:
                b.grad = grad.sum(0)
            if i:  # back through this layer, then the activation before it
                grad = self.backward(grad.mm(w), pre[i - 1], inputs[i])  # (batch, in)
        return loss
