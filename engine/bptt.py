"""What backpropagation through time does inside a recurrent network: the gradient that reaches
each step, and the LSTM's and GRU's gates over a sequence (engine/recurrent.py keeps both on
request).

The gradient is taken of the loss on one batch with respect to each step's state: the RNN's
net input z_t (the notes' error term delta_t = dL/dz_t), the LSTM's cell c_t, the GRU's h_t. In
a vanilla tanh RNN it shrinks by about the factor |W_hh diag(tanh')| per step back, so the
first steps of a long sequence get almost none (vanishing gradients); the LSTM's cell carries it
through the forget gate. The pass runs in training mode, so truncated BPTT (train.bptt) shows
as steps that get exactly zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.models import Network, unchanged
from engine.recurrent import GATE_NAMES, RecurrentBlock

Array = np.ndarray


def recurrent_blocks(model: Network) -> list[RecurrentBlock]:
    """The model's recurrent layers, input to output ([] for an MLP or a CNN)."""
    return [b for b in model.hidden_blocks() if isinstance(b, RecurrentBlock)]


def state_gradients(
    model: Network, x: Tensor, y: Tensor, loss_fn: Callable[[Tensor, Tensor], Tensor]
) -> list[Array]:
    """Per recurrent layer, (T,): the mean over the batch of ||dL/d state_t|| at every step t.

    Leaves no trace: buffers, dropout state, the mode and the gradients are as before."""
    blocks = recurrent_blocks(model)
    if not blocks:
        return []
    with unchanged(model):
        model.train()
        model.zero_grad(set_to_none=True)
        for b in blocks:
            b.keep_states = True
        try:
            loss_fn(model(x), y).backward()
            out = []
            for b in blocks:
                grads = [s.grad if s.grad is not None else torch.zeros_like(s) for s in b.states]
                g = torch.stack(grads, dim=1)  # (batch, T, units)
                out.append(g.norm(dim=2).mean(dim=0).cpu().numpy())
            return out
        finally:
            for b in blocks:
                b.keep_states, b.states = False, []
            model.zero_grad(set_to_none=True)


@dataclass(frozen=True)
class GateTrace:
    """The first recurrent layer's gates on one sequence: `values[gate]` is (T, units) in
    (0, 1); `names` in the cell's order (LSTM: input, forget, output; GRU: reset, update)."""

    cell: str
    names: tuple[str, ...]
    values: dict[str, Array]


def gate_trace(model: Network, x: Tensor) -> GateTrace | None:
    """The gates of the first recurrent layer while it reads the one sequence `x` (T, inputs);
    None for a vanilla RNN (no gates) or a network without recurrent layers."""
    blocks = recurrent_blocks(model)
    if not blocks or blocks[0].cell == "rnn":
        return None
    block = blocks[0]
    names = GATE_NAMES[block.cell]
    was_training = model.training
    model.eval()
    block.keep_gates = True
    try:
        with torch.no_grad():
            model(x.unsqueeze(0))
        stacked = torch.stack(block.gates)  # (T, gates, 1, units)
    finally:
        block.keep_gates, block.gates = False, []
        model.train(was_training)
    values = {n: stacked[:, k, 0].cpu().numpy() for k, n in enumerate(names)}
    return GateTrace(block.cell, names, values)
